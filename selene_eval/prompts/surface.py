"""Surface perturbations of a prompt: the FormatSpread-style changes that should not matter, but may.

Sclar et al. (2023, "Quantifying Language Models' Sensitivity to Spurious Features in Prompt Design") vary
the *surface* of a prompt (the casing of field names, the separator after them, the spacing between
sections, how list items are marked) and find large swings in accuracy. A :class:`Surface` is one point in
that space; :func:`random_surface` draws one from a seed. The composed variant is then *saved* like any
other variant (its full template text), so a run never depends on re-drawing the same random numbers.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from selene_eval.errors import TemplateError

# Each dimension's first value is Selene's canonical choice.
CASINGS = ("as-is", "upper", "lower", "title")
SEPARATORS = (":", " -", " ::", " =", "")
SPACINGS = ("\n\n", "\n", "\n\n\n")
BULLETS = ("(1)", "1.", "1)", "[1]", "-", "*")
FENCES = ("```", "~~~", '"""')

_SPACING_NAMES = {"\n\n": "one blank line", "\n": "no blank line", "\n\n\n": "two blank lines"}


@dataclass(frozen=True)
class Surface:
    """How field names, separators, section spacing, rule bullets and fences are written.

    ``seed`` only names a drawn surface (``surface-<seed>``); it plays no part in rendering.
    """

    casing: str = CASINGS[0]
    separator: str = SEPARATORS[0]
    spacing: str = SPACINGS[0]
    bullet: str = BULLETS[0]
    fence: str = FENCES[0]
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, allowed in (
            ("casing", CASINGS),
            ("separator", SEPARATORS),
            ("spacing", SPACINGS),
            ("bullet", BULLETS),
            ("fence", FENCES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise TemplateError(f"Surface {name} {value!r} is not one of {', '.join(repr(v) for v in allowed)}.")

    @property
    def is_canonical(self) -> bool:
        """Whether every dimension has Selene's canonical value."""
        return self.without_seed() == Surface()

    @property
    def n_changed(self) -> int:
        """How many dimensions differ from Selene's canonical surface."""
        canonical = Surface()
        return sum(
            getattr(self, n) != getattr(canonical, n) for n in ("casing", "separator", "spacing", "bullet", "fence")
        )

    def without_seed(self) -> Surface:
        """The same surface without its name (for comparisons)."""
        data = asdict(self)
        data["seed"] = None
        return Surface(**data)

    def case(self, name: str) -> str:
        """A field name in this surface's casing."""
        if self.casing == "upper":
            return name.upper()
        if self.casing == "lower":
            return name.lower()
        if self.casing == "title":
            return name.title()
        return name

    def bullet_for(self, n: int) -> str:
        """The marker of the ``n``-th rule (1-based)."""
        if self.bullet in ("-", "*"):
            return self.bullet
        return self.bullet.replace("1", str(n))

    def describe(self) -> str:
        """The non-canonical dimensions in words, e.g. ``casing upper, separator ' ::'``."""
        canonical = Surface()
        parts = []
        for name in ("casing", "separator", "spacing", "bullet", "fence"):
            value = getattr(self, name)
            if value != getattr(canonical, name):
                shown = _SPACING_NAMES[value] if name == "spacing" else repr(value)
                parts.append(f"{name} {shown}")
        return ", ".join(parts) or "canonical surface"


def random_surface(seed: int) -> Surface:
    """A surface drawn from ``seed``: each dimension uniformly, re-drawn until at least two dimensions differ
    from canonical (one changed bullet alone says little about sensitivity to the surface).

    The same seed always gives the same surface (Python's ``random.Random`` is stable across versions for
    ``choice`` on a sequence).
    """
    if seed < 0:
        raise TemplateError(f"A surface seed must be 0 or more (got {seed}).")
    rng = random.Random(seed)
    while True:
        surface = Surface(
            casing=rng.choice(CASINGS),
            separator=rng.choice(SEPARATORS),
            spacing=rng.choice(SPACINGS),
            bullet=rng.choice(BULLETS),
            fence=rng.choice(FENCES),
            seed=seed,
        )
        if surface.n_changed >= 2:
            return surface
