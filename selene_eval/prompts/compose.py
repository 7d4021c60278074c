"""Composing prompt variants along named robustness axes.

Selene's canonical prompt is a fixed sequence of parts (task statement, rules, reply format, the data in
fenced blocks, the rubric, the reference answer). Every variant in the built-in library is that prompt with
one or more parts written differently, along one of these axes:

* ``layout``: how the data and rubric are marked up (``fenced`` = canonical, ``markdown`` headings,
  ``plain`` text, ``xml`` tags, ``json`` object with JSON-escaped values);
* ``order``: ``instruction-first`` (canonical), ``rubric-first``, ``response-first``;
* ``rubric``: ``full`` (canonical), ``objective-only``, ``scores-only`` (absolute and binary);
* ``labels``: the answer words (absolute ``numeric``/``verbal``; binary ``yes-no``/``pass-fail``/
  ``true-false``), mapped back to canonical labels through the variant's ``label_aliases``;
* ``role``: ``user`` (all in one user message, canonical) or ``system`` (statement, rules, format and
  rubric in a system message, the data in the user message);
* ``surface``: casing, separators, spacing, bullets and fences (:mod:`selene_eval.prompts.surface`);
* ``position`` (pairwise): ``a-b`` (canonical) or ``swapped``: the two responses change places when
  rendered and the parsed label is mapped back, so a stored label always means the original A/B.

:func:`compose` with every axis at its canonical value gives Selene's canonical template byte for byte (a
test checks it), so a composed variant differs from the canonical one exactly where its axes say. The
built-in variant files under ``templates/`` are written by :func:`write_library` from this module; the
files are the data the product loads, this module is how they were made.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError
from selene_eval.prompts.surface import Surface, random_surface
from selene_eval.prompts.variants import TEMPLATES_DIR, PromptVariant, builtin_variants

CANONICAL_LABELS = {TaskType.ABSOLUTE: "numeric", TaskType.BINARY: "yes-no", TaskType.PAIRWISE: "a-b"}

# axis -> values, canonical first. ``labels`` values depend on the task (see LABEL_SETS).
AXIS_VALUES: dict[str, tuple[str, ...]] = {
    "layout": ("fenced", "markdown", "plain", "xml", "json"),
    "order": ("instruction-first", "rubric-first", "response-first"),
    "rubric": ("full", "objective-only", "scores-only"),
    "role": ("user", "system"),
    "position": ("a-b", "swapped"),
}
AXES = ("layout", "order", "rubric", "labels", "role", "surface", "position")

AXIS_DESCRIPTIONS = {
    "layout": "how the data and rubric are marked up",
    "order": "the order of instruction, response(s) and rubric",
    "rubric": "how much of the rubric the judge sees",
    "labels": "the words the judge answers with",
    "role": "whether the instructions sit in a system message",
    "surface": "casing, separators, spacing, bullets and fences",
    "position": "which response is shown first (pairwise)",
}

# (answer word, canonical label) per label set; None = Selene's own words (no aliases needed).
LABEL_SETS: dict[TaskType, dict[str, tuple[tuple[str, str], ...] | None]] = {
    TaskType.ABSOLUTE: {
        "numeric": None,
        "verbal": (("Poor", "1"), ("Fair", "2"), ("Good", "3"), ("Very good", "4"), ("Excellent", "5")),
    },
    TaskType.BINARY: {
        "yes-no": None,
        "pass-fail": (("Pass", "yes"), ("Fail", "no")),
        "true-false": (("True", "yes"), ("False", "no")),
    },
    TaskType.PAIRWISE: {"a-b": None},
}

_VALUE_NAMES = {
    "markdown": "Markdown headings",
    "plain": "plain text without fences",
    "xml": "XML-style tags",
    "json": "a JSON object (values JSON-escaped)",
    "rubric-first": "rubric before the data",
    "response-first": "response before the instruction",
    "objective-only": "the objective only, no per-label descriptions",
    "scores-only": "per-label descriptions only, no objective",
    "verbal": "verbal ratings Poor ... Excellent, mapped to 1-5",
    "pass-fail": "Pass/Fail, mapped to yes/no",
    "true-false": "True/False, mapped to yes/no",
    "system": "statement, rules, format and rubric in a system message",
    "swapped": "responses A and B swapped when shown; the answer is mapped back",
}


@dataclass(frozen=True)
class Axes:
    """One choice per axis; the defaults are Selene's canonical prompt. ``labels=None`` = the task's own."""

    layout: str = "fenced"
    order: str = "instruction-first"
    rubric: str = "full"
    labels: str | None = None
    role: str = "user"
    surface: Surface = field(default_factory=Surface)
    position: str = "a-b"

    def changed(self, task: TaskType) -> dict[str, str]:
        """The non-canonical axes as ``axis -> value`` (surface: ``surface-<seed>`` or its description)."""
        out: dict[str, str] = {}
        for axis in ("layout", "order", "rubric", "labels", "role"):
            value = getattr(self, axis)
            canonical = CANONICAL_LABELS[task] if axis == "labels" else AXIS_VALUES[axis][0]
            if value is not None and value != canonical:
                out[axis] = value
        if not self.surface.is_canonical:
            out["surface"] = str(self.surface.seed) if self.surface.seed is not None else _surface_hash(self.surface)
        if self.position != "a-b":
            out["position"] = self.position
        return out


def _surface_hash(surface: Surface) -> str:
    return hashlib.sha256(repr(surface.without_seed()).encode()).hexdigest()[:6]


def check_axes(task: TaskType, axes: Axes) -> None:
    """Raise :class:`TemplateError` for a value an axis does not have, or an axis the task lacks."""
    for axis, values in AXIS_VALUES.items():
        value = getattr(axes, axis)
        if value not in values:
            raise TemplateError(f"The {axis} axis has no value {value!r}; choose one of {', '.join(values)}.")
    labels = axes.labels or CANONICAL_LABELS[task]
    if labels not in LABEL_SETS[task]:
        raise TemplateError(
            f"A {task.value} task has no label set {labels!r}; choose one of {', '.join(LABEL_SETS[task])}."
        )
    if task is TaskType.PAIRWISE and axes.rubric != "full":
        raise TemplateError("The rubric axis does not apply to pairwise tasks: their rubric is the objective alone.")
    if task is not TaskType.PAIRWISE and axes.position != "a-b":
        raise TemplateError("Position swap applies to pairwise tasks only.")


def applicable_axes(task: TaskType) -> dict[str, tuple[str, ...]]:
    """The axes (besides surface) and their values for ``task``, canonical value first."""
    out = {axis: values for axis, values in AXIS_VALUES.items()}
    out["labels"] = tuple(LABEL_SETS[task])
    if task is TaskType.PAIRWISE:
        del out["rubric"]
        del out["labels"]
    else:
        del out["position"]
    return {axis: out[axis] for axis in AXES if axis in out}


# --------------------------------------------------------------------------------------------------
# The canonical wording, part by part (see SELENE_FORMAT.md). ``{reading}``/``{where}`` etc. are filled here,
# not by the renderer; the ``{placeholder}`` fields of the template are written with doubled braces.


def _statement(task: TaskType, reference: bool, labels: str, where: str) -> str:
    if task is TaskType.ABSOLUTE:
        reading = (
            "the instruction, the response and the reference answer"
            if reference
            else "the instruction and the response"
        )
        if labels == "verbal":
            verdict, noun = "a rating that is one of Poor, Fair, Good, Very good or Excellent", "rating"
        else:
            verdict, noun = "a score that is an integer from 1 to 5", "score"
        return (
            f"You are judging how good a response to an instruction is. Read {reading}, then give written feedback "
            f"that assesses the response strictly against the score rubric{where}, followed by {verdict}. Reply "
            f"with the feedback and the {noun} only, without any other opening, closing or explanation."
        )
    if task is TaskType.BINARY:
        reading = (
            "the instruction, the response and the reference answer"
            if reference
            else "the instruction and the response"
        )
        words = {"yes-no": "Yes or No", "pass-fail": "Pass or Fail", "true-false": "True or False"}[labels]
        return (
            f"You are judging whether a response to an instruction meets a criterion. Read {reading}, then give "
            f"written feedback that assesses the response strictly against the rubric{where}, followed by a verdict "
            f"of {words}. Reply with the feedback and the verdict only, without any other opening, closing or "
            "explanation."
        )
    reading = (
        "the instruction, both responses and the reference answer"
        if reference
        else "the instruction and both responses"
    )
    return (
        "You are comparing two responses to the same instruction and deciding which one is better. Read "
        f"{reading}, then give written feedback that compares them against the rubric{where}, followed by your "
        "choice, A or B. Reply with the feedback and the choice only, without any other opening, closing or "
        "explanation."
    )


def _rules(task: TaskType, reference: bool) -> list[str]:
    if task is TaskType.PAIRWISE:
        rules = [
            "Prefer the response that follows the instruction best; weigh helpfulness, accuracy, level of detail "
            "and harmlessness as the rubric directs.",
            "The better response gives exactly what the instruction asks for, no more and no less.",
            "The order of the responses must not influence you: Response A and Response B are equally likely to "
            "be the better one.",
            "The length of a response must not influence you: a longer response is not better for being longer.",
            "Choose one response; do not say that both or neither are good.",
        ]
        if reference:
            rules.append("Use the reference answer as a guide to what a good response contains.")
        return rules
    if task is TaskType.ABSOLUTE:
        rules = ["Judge the response only by the standard the score rubric sets, not by a general notion of quality."]
        if reference:
            rules.append(
                "Use the reference answer as a guide to what a good response contains; a response need "
                "not copy its wording to deserve a high score."
            )
        return rules
    rules = ["Judge the response only by the criterion the rubric states, not by a general notion of quality."]
    if reference:
        rules.append(
            "Use the reference answer as a guide to what a correct response contains; a response need "
            "not copy its wording to meet the criterion."
        )
    return rules


def _result_words(task: TaskType, labels: str) -> str:
    return {
        "numeric": "an integer between 1 and 5",
        "verbal": "Poor, Fair, Good, Very good or Excellent",
        "yes-no": "Yes or No",
        "pass-fail": "Pass or Fail",
        "true-false": "True or False",
        "a-b": "A or B",
    }[labels]


def _rubric_lines(task: TaskType, labels: str) -> list[tuple[str, str]]:
    """(label word, placeholder) per rubric level."""
    if task is TaskType.ABSOLUTE:
        if labels == "verbal":
            words = [w for w, _ in LABEL_SETS[task]["verbal"] or ()]
        else:
            words = [f"Score {n}" for n in range(1, 6)]
        return [(w, f"rubric_score_{n}_description") for n, w in enumerate(words, start=1)]
    if task is TaskType.BINARY:
        pairs = LABEL_SETS[task][labels] or (("Yes", "yes"), ("No", "no"))
        return [(word, f"rubric_{label}_description") for word, label in pairs]
    return []


# --------------------------------------------------------------------------------------------------
# Layouts: how one data block is written.


@dataclass(frozen=True)
class _Block:
    """One piece of data: a field (``name`` + placeholder), the rubric, or the reference answer."""

    kind: str  # field | rubric | reference
    name: str
    placeholder: str = ""
    key: str = ""  # JSON / XML key


def _ph(name: str) -> str:
    return "{" + name + "}"


def _rubric_text(block: _Block, task: TaskType, labels: str, rubric: str, layout: str, s: Surface) -> list[str]:
    """The rubric's lines (objective and/or levels) in the layout."""
    objective = rubric in ("full", "objective-only") or task is TaskType.PAIRWISE
    levels = [] if rubric == "objective-only" else _rubric_lines(task, labels)
    lines: list[str] = []
    if layout == "xml":
        if objective:
            lines.append(f"<objective>{_ph('rubric_objective')}</objective>")
        lines += [f'<level label="{w}">{_ph(p)}</level>' for w, p in levels]
    elif layout == "markdown":
        if objective:
            lines.append(f"**Objective:** {_ph('rubric_objective')}")
        lines += [f"- **{w}:** {_ph(p)}" for w, p in levels]
    elif layout == "plain":
        if objective:
            lines.append(f"{s.case('Objective')}{s.separator} {_ph('rubric_objective')}")
        lines += [f"{w}{s.separator} {_ph(p)}" for w, p in levels]
    else:  # fenced (canonical)
        if objective:
            lines.append(f"[{_ph('rubric_objective')}]")
        lines += [f"{w}{s.separator} {_ph(p)}" for w, p in levels]
    return lines


def _render_blocks(blocks: list[_Block], task: TaskType, axes: Axes, labels: str) -> list[str]:
    """Each block as one section of text (JSON: all blocks as one object)."""
    s, layout = axes.surface, axes.layout
    if layout == "json":
        entries = []
        for b in blocks:
            if b.kind == "rubric":
                objective = axes.rubric in ("full", "objective-only") or task is TaskType.PAIRWISE
                levels = [] if axes.rubric == "objective-only" else _rubric_lines(task, labels)
                inner = ([f'"objective": "{_ph("rubric_objective")}"'] if objective else []) + [
                    f'"{w}": "{_ph(p)}"' for w, p in levels
                ]
                body = ",\n".join("    " + e for e in inner)
                entries.append(f'  "{b.key}": {{{{\n{body}\n  }}}}')
            else:
                entries.append(f'  "{b.key}": "{_ph(b.placeholder)}"')
        return ["{{\n" + ",\n".join(entries) + "\n}}"]
    out = []
    for b in blocks:
        name = s.case(b.name)
        if b.kind == "rubric":
            lines = _rubric_text(b, task, labels, axes.rubric, layout, s)
            if layout == "xml":
                out.append("<rubric>\n" + "\n".join(lines) + "\n</rubric>")
            elif layout == "markdown":
                out.append(f"### {name}\n\n" + "\n".join(lines))
            else:
                out.append(f"{name}{s.separator}\n" + "\n".join(lines))
        elif layout == "xml":
            out.append(f"<{b.key}>\n{_ph(b.placeholder)}\n</{b.key}>")
        elif layout == "markdown":
            out.append(f"### {name}\n\n{_ph(b.placeholder)}")
        elif layout == "plain" or b.kind == "reference":
            # Selene's canonical prompt shows the reference answer without a fence.
            out.append(f"{name}{s.separator}\n{_ph(b.placeholder)}")
        else:
            out.append(f"{name}{s.separator}\n{s.fence}\n{_ph(b.placeholder)}\n{s.fence}")
    return out


def _intro(layout: str) -> str:
    return {"markdown": "## Data", "json": "Here is the data, as JSON:"}.get(layout, "Here is the data:")


def _head(task: TaskType, reference: bool, axes: Axes, labels: str) -> list[str]:
    """Statement, rules and reply format, as sections."""
    s = axes.surface
    where = "" if axes.role == "system" else " below"
    statement = _statement(task, reference, labels, where)
    rules = "\n".join(f"{s.bullet_for(n)} {rule}" for n, rule in enumerate(_rules(task, reference), start=1))
    verb = "must" if task is TaskType.BINARY else "should"
    contract = f"**Reasoning:** <your feedback>\n\n**Result:** <{_result_words(task, labels)}>"
    if axes.layout == "markdown":
        return [
            statement,
            "## Rules of the evaluation\n\n" + rules,
            f"## Reply format\n\nYour reply {verb} strictly follow this format:\n" + contract,
        ]
    if axes.layout == "xml":
        return [
            statement,
            "<rules>\n" + rules + "\n</rules>",
            f"Your reply {verb} strictly follow this format:\n" + contract,
        ]
    return [
        statement,
        "Here are some rules of the evaluation:\n" + rules,
        f"Your reply {verb} strictly follow this format:\n" + contract,
    ]


def compose_templates(task: TaskType, reference: bool, axes: Axes) -> tuple[str | None, str]:
    """The ``(system_template, user_template)`` of the prompt with these axes."""
    check_axes(task, axes)
    labels = axes.labels or CANONICAL_LABELS[task]
    instruction = _Block("field", "Instruction", "user_input", "instruction")
    if task is TaskType.PAIRWISE:
        responses = [
            _Block("field", "Response A", "assistant_response_a", "response_a"),
            _Block("field", "Response B", "assistant_response_b", "response_b"),
        ]
    else:
        responses = [_Block("field", "Response", "assistant_response", "response")]
    rubric = _Block("rubric", "Score Rubrics", key="rubric")
    ref = [_Block("reference", "Reference answer", "reference_response", "reference_answer")] if reference else []
    fields = [instruction, *responses] if axes.order != "response-first" else [*responses, instruction]
    if axes.role == "system":
        system_data, user_data = [rubric], fields + ref
    elif axes.order == "rubric-first":
        system_data, user_data = [], [rubric] + fields + ref
    else:
        system_data, user_data = [], fields + [rubric] + ref
    gap = axes.surface.spacing
    head = _head(task, reference, axes, labels)
    if axes.role == "system":
        system = gap.join(head + _render_blocks(system_data, task, axes, labels))
        user = gap.join([_intro(axes.layout)] + _render_blocks(user_data, task, axes, labels))
        return system, user
    if axes.order == "rubric-first" and axes.layout != "json":
        # The rubric comes before "Here is the data:" so that the data still reads as one section.
        sections = (
            head
            + _render_blocks([rubric], task, axes, labels)
            + [_intro(axes.layout)]
            + _render_blocks(fields + ref, task, axes, labels)
        )
    else:
        sections = head + [_intro(axes.layout)] + _render_blocks(user_data, task, axes, labels)
    return None, gap.join(sections)


def variant_id_for(task: TaskType, reference: bool, axes: Axes) -> str:
    """``selene[-ref]`` followed by ``.axis-value`` per changed axis (a hash when that exceeds 64 characters)."""
    base = "selene-ref" if reference else "selene"
    parts = [f"{axis}-{value}" for axis, value in axes.changed(task).items()]
    vid = ".".join([base, *parts])
    if len(vid) > 64:
        vid = f"{base}.combined-{hashlib.sha256(vid.encode()).hexdigest()[:8]}"
    return vid


def compose(
    task: TaskType, reference: bool = False, axes: Axes | None = None, *, variant_id: str | None = None
) -> PromptVariant:
    """The variant of Selene's canonical prompt with ``axes`` changed; canonical axes give the canonical one."""
    axes = axes or Axes()
    system, user = compose_templates(task, reference, axes)
    labels = axes.labels or CANONICAL_LABELS[task]
    changed = axes.changed(task)
    if not changed:
        axis, description = "canonical", "Selene Mini's canonical prompt structure."
    else:
        axis = next(iter(changed)) if len(changed) == 1 else "combined"
        said = []
        for name, value in changed.items():
            if name == "surface":
                said.append(f"surface: {axes.surface.describe()}")
            else:
                said.append(f"{name}: {_VALUE_NAMES.get(value, value)}")
        description = (
            f"Selene's canonical prompt{' with a reference answer' if reference else ''}, changed along "
            + ("one axis" if len(changed) == 1 else f"{len(changed)} axes")
            + ": "
            + "; ".join(said)
            + "."
        )
    variant = PromptVariant(
        id=variant_id or variant_id_for(task, reference, axes),
        task=task,
        axis=axis,
        description=description,
        system_template=system,
        user_template=user,
        label_aliases={word: label for word, label in LABEL_SETS[task][labels] or ()},
        value_format="json" if axes.layout == "json" else "text",
        swap_responses=axes.position == "swapped",
    )
    variant.check()
    return variant


def library_axes(task: TaskType, surface_seeds: tuple[int, ...] = (1, 2, 3)) -> list[Axes]:
    """The built-in library: every non-canonical value of every applicable axis, one axis at a time, plus
    one surface variant per seed in ``surface_seeds``."""
    out = []
    for axis, values in applicable_axes(task).items():
        for value in values[1:]:
            # A string-valued axis: applicable_axes leaves out surface, the one field that is not a str.
            out.append(replace(Axes(), **{axis: value}))  # type: ignore[arg-type]
    out += [Axes(surface=random_surface(seed)) for seed in surface_seeds]
    return out


def variant_yaml(variant: PromptVariant) -> str:
    """A variant as the YAML text of a template file (the fields a file needs, in a readable order)."""
    data: dict[str, object] = {
        "id": variant.id,
        "version": variant.version,
        "task": variant.task.value,
        "axis": variant.axis,
        "description": variant.description,
    }
    if variant.label_aliases:
        data["label_aliases"] = dict(variant.label_aliases)
    if variant.value_format != "text":
        data["value_format"] = variant.value_format
    if variant.swap_responses:
        data["swap_responses"] = True
    if variant.system_template is not None:
        data["system_template"] = variant.system_template
    data["user_template"] = variant.user_template
    return yaml.dump(data, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=120)


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|-`` blocks, so the template files read like the prompts."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _str_representer)


def write_library(templates_dir: Path = TEMPLATES_DIR) -> list[Path]:
    """(Re)write the built-in variant files (all but the canonical ones) for every task; returns the paths.

    Run ``python -m selene_eval.prompts.compose`` after changing this module; a test checks that the files
    and this module agree.
    """
    written = []
    for task in TaskType:
        for reference in (False, True):
            for axes in library_axes(task):
                variant = compose(task, reference, axes)
                path = templates_dir / task.value / f"{variant.id}.yaml"
                path.write_text(variant_yaml(variant), encoding="utf-8")
                written.append(path)
    builtin_variants.cache_clear()
    return written


def canonical_for(variant: PromptVariant) -> PromptVariant:
    """Selene's canonical variant for ``variant``'s task, with a reference answer when it shows one."""
    wanted = "selene-ref" if variant.uses_reference else "selene"
    for candidate in builtin_variants(variant.task):
        if candidate.id == wanted:
            return candidate
    raise TemplateError(f"No canonical variant {wanted!r} for a {variant.task.value} task.")  # pragma: no cover


def template_text(variant: PromptVariant) -> str:
    """The variant's templates as one text (system message first, marked), for diffs and previews."""
    if variant.system_template is None:
        return variant.user_template
    return f"[system message]\n{variant.system_template}\n\n[user message]\n{variant.user_template}"


def variant_diff(variant: PromptVariant, base: PromptVariant | None = None) -> str:
    """A unified diff of ``variant``'s templates against ``base`` (default: the canonical one); '' if equal.

    Settings that change the prompt without changing the template text (label aliases, JSON escaping, the
    position swap) are listed after the diff.
    """
    base = base or canonical_for(variant)
    lines = list(
        difflib.unified_diff(
            template_text(base).splitlines(),
            template_text(variant).splitlines(),
            fromfile=base.id,
            tofile=variant.id,
            lineterm="",
            n=2,
        )
    )
    notes = []
    if variant.label_aliases != base.label_aliases:
        notes.append("# answer words: " + json.dumps(variant.label_aliases, ensure_ascii=False))
    if variant.value_format != base.value_format:
        notes.append(f"# values written as: {variant.value_format}")
    if variant.swap_responses != base.swap_responses:
        notes.append("# responses A and B swapped when rendered; the answer is mapped back")
    return "\n".join(lines + notes)


def swapped(variant: PromptVariant) -> PromptVariant:
    """The position-swapped twin of a pairwise variant (same text, responses A and B change places)."""
    if variant.task is not TaskType.PAIRWISE:
        raise TemplateError(
            f"Variant {variant.id!r} is for a {variant.task.value} task; only pairwise prompts can swap."
        )
    if variant.swap_responses:
        raise TemplateError(f"Variant {variant.id!r} already swaps the responses.")
    vid = f"{variant.id}.position-swapped"
    if len(vid) > 64:
        vid = f"{variant.id[:47]}.swap-{hashlib.sha256(variant.id.encode()).hexdigest()[:8]}"
    return variant.model_copy(
        update={
            "id": vid,
            "axis": "position",
            "source": variant.source,
            "description": f"{variant.id} with responses A and B swapped when shown; the answer is mapped back.",
            "swap_responses": True,
        }
    )


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_library():
        print(written_path)
