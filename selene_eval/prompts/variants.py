"""Prompt variants as versioned data files.

A variant is a template for the judge's prompt plus the metadata that says what it is: the task it is for,
whether it needs a reference answer, which robustness axis it varies, and how its output labels map back to
canonical ones. Built-in variants live as YAML under ``prompts/templates/<task>/``; users may load Atla's
own YAML files (a single ``user_template`` key) or write their own.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError

TEMPLATES_DIR = Path(__file__).with_name("templates")

_RUBRIC_FIELDS: dict[TaskType, tuple[str, ...]] = {
    TaskType.ABSOLUTE: tuple(f"rubric_score_{n}_description" for n in range(1, 6)),
    TaskType.BINARY: ("rubric_yes_description", "rubric_no_description"),
    TaskType.PAIRWISE: (),
}
_RESPONSE_FIELDS: dict[TaskType, tuple[str, ...]] = {
    TaskType.ABSOLUTE: ("assistant_response",),
    TaskType.BINARY: ("assistant_response",),
    TaskType.PAIRWISE: ("assistant_response_a", "assistant_response_b"),
}
_COMMON_FIELDS = ("user_input", "rubric_objective", "reference_response", "context", "category")


def allowed_placeholders(task: TaskType) -> tuple[str, ...]:
    """Every ``{placeholder}`` a template for ``task`` may use (Atla's names plus ``context``/``category``)."""
    return _COMMON_FIELDS[:2] + _RESPONSE_FIELDS[task] + _RUBRIC_FIELDS[task] + _COMMON_FIELDS[2:]


def required_placeholders(task: TaskType) -> tuple[str, ...]:
    """Placeholders a template must use, or the judge would not see what it judges."""
    return ("user_input",) + _RESPONSE_FIELDS[task]


# Built-in variants are listed by axis in this order (see selene_eval.prompts.compose), then by id.
AXIS_ORDER = ("canonical", "layout", "order", "rubric", "labels", "role", "surface", "position", "combined")
_AXIS_RANK = {axis: rank for rank, axis in enumerate(AXIS_ORDER)}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class PromptVariant(BaseModel):
    """One prompt format. ``user_template`` (and optional ``system_template``) use ``{placeholder}`` fields.

    ``label_aliases`` maps words the variant asks the judge to answer with onto canonical labels (e.g.
    ``Pass`` -> ``yes``); canonical labels themselves always parse. ``value_format`` ``json`` writes every
    value JSON-escaped (for templates that lay the data out as a JSON object). ``swap_responses`` (pairwise)
    shows response B in the place of A and vice versa; the parsed label is mapped back, so a stored label
    always names the item's original A/B (see :mod:`selene_eval.prompts.compose`, axis ``position``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int = 1
    task: TaskType
    axis: str = "canonical"
    description: str = ""
    source: str = "builtin"
    system_template: str | None = None
    user_template: str = Field(min_length=1)
    label_aliases: dict[str, str] = Field(default_factory=dict)
    value_format: Literal["text", "json"] = "text"
    swap_responses: bool = False

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Placeholders used by the templates, in first-use order."""
        return _placeholders_of(self.system_template, self.user_template)

    @property
    def uses_reference(self) -> bool:
        """Whether rendering needs each item's reference answer."""
        return "reference_response" in self.placeholders

    @property
    def content_hash(self) -> str:
        """A short hash of everything that shapes the prompt or its parsing (not id or description)."""
        return _content_hash(
            self.task.value,
            self.system_template,
            self.user_template,
            tuple(sorted(self.label_aliases.items())),
            self.value_format,
            self.swap_responses,
        )

    def check(self) -> None:
        """Raise :class:`TemplateError` for a bad id, unknown placeholders or missing required ones."""
        if not _SLUG.fullmatch(self.id):
            raise TemplateError(
                f"Variant id {self.id!r} is not allowed: use 1-64 lower-case letters, digits, '.', '_' or '-'."
            )
        check_placeholders(self.placeholders, self.task, where=f"variant {self.id!r}")
        allowed = set(self.task.judge_labels)
        bad = {k: v for k, v in self.label_aliases.items() if v not in allowed}
        if bad:
            raise TemplateError(
                f"Variant {self.id!r} maps labels to {sorted(set(bad.values()))}, which a {self.task.value} judge "
                f"cannot give; map them to one of {', '.join(self.task.judge_labels)}."
            )
        if self.swap_responses and self.task is not TaskType.PAIRWISE:
            raise TemplateError(
                f"Variant {self.id!r} swaps responses A and B, but a {self.task.value} task has one response; "
                "remove 'swap_responses'."
            )


# Rendering a study asks for a variant's placeholders and hash once per item: computed once per template
# (a 10,000-item table took ~0.7 s re-parsing the same two templates). Errors are raised, never cached.


@lru_cache(maxsize=512)
def _placeholders_of(system_template: str | None, user_template: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for template in (system_template, user_template):
        if template:
            for name in _fields(template):
                found.setdefault(name, None)
    return tuple(found)


@lru_cache(maxsize=512)
def _content_hash(
    task: str,
    system_template: str | None,
    user_template: str,
    aliases: tuple[tuple[str, str], ...],
    value_format: str,
    swap_responses: bool,
) -> str:
    shape: dict[str, object] = {
        "task": task,
        "system": system_template,
        "user": user_template,
        "aliases": dict(aliases),
    }
    # Added only when not the default, so the hashes of variants that predate these fields stay put.
    if value_format != "text":
        shape["value_format"] = value_format
    if swap_responses:
        shape["swap_responses"] = True
    blob = json.dumps(shape, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def template_fields(template: str) -> list[str]:
    """The ``{name}`` fields of a ``str.format``-style template; rejects anything but plain names.

    Attribute access, indexing and conversions (``{x.y}``, ``{x[0]}``, ``{x!r}``) are refused: a template
    is user data and must not reach into Python objects.
    """
    return list(_fields(template))


@lru_cache(maxsize=512)
def _fields(template: str) -> tuple[str, ...]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"The template has an unmatched brace ({exc}); write a literal brace as '{{{{' or '}}}}'."
        ) from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(
                f"The template field {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                "is not a plain placeholder; use names like {user_input}, and write literal braces as '{{' and '}}'."
            )
        names.append(name)
    return tuple(names)


def check_placeholders(used: tuple[str, ...] | list[str], task: TaskType, *, where: str = "the template") -> None:
    """Raise :class:`TemplateError` if ``used`` has unknown names or lacks required ones for ``task``."""
    allowed = allowed_placeholders(task)
    unknown = [name for name in used if name not in allowed]
    missing = [name for name in required_placeholders(task) if name not in used]
    problems = []
    if unknown:
        problems.append(f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}")
    if missing:
        problems.append(f"missing required placeholder(s) {', '.join('{' + n + '}' for n in missing)}")
    if problems:
        raise TemplateError(
            f"In {where}: {'; '.join(problems)}. A {task.value} template may use: "
            + ", ".join("{" + n + "}" for n in allowed)
            + "."
        )


def _parse_variant(data: object, origin: str) -> PromptVariant:
    if not isinstance(data, dict):
        raise TemplateError(f"{origin} must be a YAML mapping with at least a 'user_template' key.")
    try:
        variant = PromptVariant.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise TemplateError(f"{origin}: field {where!r}: {first['msg']}.") from None
    variant.check()
    return variant


@cache
def builtin_variants(task: TaskType) -> tuple[PromptVariant, ...]:
    """The built-in variants for ``task``: canonical ones first, then by axis (``AXIS_ORDER``), then by id."""
    variants = []
    for path in sorted((TEMPLATES_DIR / task.value).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        variants.append(_parse_variant(data, f"Built-in template {path.name}"))
    return tuple(sorted(variants, key=lambda v: (_AXIS_RANK.get(v.axis, len(AXIS_ORDER)), v.id)))


def default_variant_ids(task: TaskType, has_reference: bool) -> list[str]:
    """Selene's canonical variant for the task: with the reference answer when the items have one.

    Pairwise tasks also get its position-swapped twin, so every item is judged in both orders (A/B and
    B/A) and position bias is measured from the start.
    """
    canonical = "selene-ref" if has_reference else "selene"
    if task is TaskType.PAIRWISE:
        return [canonical, f"{canonical}.position-swapped"]
    return [canonical]


def find_variant(
    variant_id: str, task: TaskType, custom: tuple[PromptVariant, ...] | list[PromptVariant] = ()
) -> PromptVariant:
    """The variant ``variant_id`` among ``custom`` ones (checked first) and the built-ins."""
    for variant in list(custom) + list(builtin_variants(task)):
        if variant.id == variant_id:
            return variant
    known = [v.id for v in list(custom) + list(builtin_variants(task))]
    raise TemplateError(f"No prompt variant {variant_id!r} for a {task.value} task; known: {', '.join(known)}.")


def load_template_text(
    text: str,
    task: TaskType,
    *,
    variant_id: str,
    origin: str = "the template",
    kind: str = "auto",
) -> PromptVariant:
    """Parse a template: Atla's YAML (a ``user_template`` key), our full variant YAML, or plain text.

    ``kind`` is ``yaml`` (the text must be such a YAML file), ``text`` (the text is the user template
    itself) or ``auto`` (YAML when it parses as a mapping with a ``user_template`` key, else plain text).
    """
    if kind not in {"auto", "yaml", "text"}:
        raise ValueError(f"kind must be auto, yaml or text, not {kind!r}")
    data: object = None
    if kind != "text":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            if kind == "yaml":
                mark = getattr(exc, "problem_mark", None)
                line = f" at line {mark.line + 1}" if mark is not None else ""
                raise TemplateError(f"{origin} is not valid YAML{line}; check its indentation and quoting.") from None
        if kind == "yaml" and not (isinstance(data, dict) and "user_template" in data):
            found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise TemplateError(
                f"{origin} has no 'user_template' key (found: {found or 'nothing'}); "
                "Atla's template files hold the prompt under 'user_template'."
            )
    if isinstance(data, dict) and "user_template" in data:
        only_template = set(data) == {"user_template"}
        data = {"id": variant_id, "task": task.value, "axis": "custom", **data}
        data.setdefault("source", "atla-yaml" if only_template else "custom")
        if str(data["task"]) != task.value:
            raise TemplateError(f"{origin} is for a {data['task']} task, but this study is a {task.value} task.")
    else:
        data = {"id": variant_id, "task": task.value, "axis": "custom", "source": "custom", "user_template": text}
    return _parse_variant(data, origin)


def load_template_file(path: str | Path, task: TaskType, *, variant_id: str | None = None) -> PromptVariant:
    """Read a template file (see :func:`load_template_text`); the variant id defaults to the file's stem.

    ``.yaml``/``.yml`` files must be YAML with a ``user_template`` key; other files may also be plain text.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"Cannot read template file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise TemplateError(f"Template file {path} is not UTF-8 text.") from None
    vid = variant_id or re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "custom"
    kind = "yaml" if path.suffix.lower() in {".yaml", ".yml"} else "auto"
    return load_template_text(text, task, variant_id=vid, origin=f"Template file {path.name}", kind=kind)
