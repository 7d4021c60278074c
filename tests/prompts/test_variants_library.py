"""The built-in variant library: composed from Selene's canonical prompt, rendered and parsed for every task."""

from __future__ import annotations

import json

import pytest

from selene_eval.core.items import Item
from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError
from selene_eval.prompts import builtin_variants, default_rubric, find_variant, parse_judgment, render
from selene_eval.prompts.compose import (
    TEMPLATES_DIR,
    Axes,
    compose,
    library_axes,
    swapped,
    variant_diff,
    variant_yaml,
)
from selene_eval.prompts.parser import label_probs_for_variant, parse_for_variant
from selene_eval.prompts.surface import Surface, random_surface

ITEM = Item(
    "q1", 'What is "the" dose?\nPlease answer.', "Take 5 mg.", response_b="Take 50 mg.", reference="5 mg twice daily."
)


@pytest.mark.parametrize("task", list(TaskType))
@pytest.mark.parametrize("reference", [False, True])
def test_canonical_axes_compose_the_canonical_template_byte_for_byte(task: TaskType, reference: bool) -> None:
    composed = compose(task, reference)
    canonical = find_variant("selene-ref" if reference else "selene", task)
    assert composed.user_template == canonical.user_template
    assert composed.system_template is None and composed.content_hash == canonical.content_hash


@pytest.mark.parametrize("task", list(TaskType))
def test_library_files_match_what_compose_writes(task: TaskType) -> None:
    # If this fails, run `python -m selene_eval.prompts.compose` and review the diff of templates/.
    for reference in (False, True):
        for axes in library_axes(task):
            variant = compose(task, reference, axes)
            path = TEMPLATES_DIR / task.value / f"{variant.id}.yaml"
            assert path.read_text(encoding="utf-8") == variant_yaml(variant), path.name
            assert find_variant(variant.id, task) == variant


def _answer_word(variant, label: str) -> str:
    """How this variant asks the judge to write ``label`` (its alias word, else Selene's own spelling)."""
    for word, canonical in variant.label_aliases.items():
        if canonical == label:
            return word
    return {"yes": "Yes", "no": "No"}.get(label, label)


@pytest.mark.parametrize("task", list(TaskType))
def test_every_builtin_variant_renders_and_its_answers_parse(task: TaskType) -> None:
    variants = builtin_variants(task)
    axes = {v.axis for v in variants}
    assert {"canonical", "layout", "order", "role", "surface"} <= axes
    assert ("position" in axes) is (task is TaskType.PAIRWISE)
    assert ("labels" in axes) is (task is not TaskType.PAIRWISE)
    for variant in variants:
        prompt = render(variant, ITEM, default_rubric(task))
        text = prompt.text
        assert "**Result:**" in text, variant.id  # the output contract is kept in every variant
        assert "Take 5 mg." in text and "dose" in text, variant.id
        for label in task.judge_labels:
            shown = _answer_word(variant, label)
            # The prompt names the word it expects (scores as a range for numeric labels).
            assert shown in text or task is TaskType.ABSOLUTE and not variant.label_aliases, (variant.id, shown)
            answer = f"**Reasoning:** Fine.\n\n**Result:** {shown}"
            parsed = parse_for_variant(answer, variant)
            expected = {"A": "B", "B": "A"}[label] if variant.swap_responses else label
            assert parsed.ok and parsed.label == expected, (variant.id, shown, parsed)


def test_json_layout_escapes_values_into_valid_json() -> None:
    variant = find_variant("selene-ref.layout-json", TaskType.BINARY)
    text = render(variant, ITEM, default_rubric(TaskType.BINARY)).text
    data = json.loads(text[text.index("{") :])
    assert data["instruction"] == ITEM.input and data["reference_answer"] == ITEM.reference
    assert set(data["rubric"]) == {"objective", "Yes", "No"}


def test_role_system_puts_instructions_and_rubric_in_a_system_message() -> None:
    variant = find_variant("selene.role-system", TaskType.ABSOLUTE)
    system, user = render(variant, ITEM, default_rubric(TaskType.ABSOLUTE)).messages
    assert (system.role, user.role) == ("system", "user")
    assert "Score 5:" in system.content and "**Result:**" in system.content
    assert "Take 5 mg." in user.content and "Score 5" not in user.content


def test_position_swap_shows_b_first_and_maps_labels_and_probabilities_back() -> None:
    original = find_variant("selene", TaskType.PAIRWISE)
    twin = find_variant("selene.position-swapped", TaskType.PAIRWISE)
    assert twin == swapped(original).model_copy(update={"description": twin.description, "axis": "position"})
    text = render(twin, ITEM, default_rubric(TaskType.PAIRWISE)).text
    assert text.index("Response A:\n```\nTake 50 mg.") < text.index("Response B:\n```\nTake 5 mg.")
    assert parse_for_variant("**Result:** A", twin).label == "B"
    assert parse_for_variant("**Result:** A", original).label == "A"
    assert label_probs_for_variant({"A": 0.9, "B": 0.1}, twin) == {"B": 0.9, "A": 0.1}
    assert label_probs_for_variant({"A": 0.9, "B": 0.1}, original) == {"A": 0.9, "B": 0.1}
    assert label_probs_for_variant(None, twin) is None
    assert twin.content_hash != original.content_hash
    with pytest.raises(TemplateError, match="only pairwise"):
        swapped(find_variant("selene", TaskType.BINARY))


def test_surface_from_a_seed_is_reproducible_and_not_canonical() -> None:
    assert random_surface(7) == random_surface(7)
    assert random_surface(7).n_changed >= 2
    assert random_surface(1) != random_surface(2)
    with pytest.raises(TemplateError):
        Surface(bullet="#")


def test_combining_axes_makes_one_saved_variant_with_a_diff() -> None:
    combined = compose(TaskType.BINARY, True, Axes(layout="xml", labels="pass-fail"))
    assert combined.id == "selene-ref.layout-xml.labels-pass-fail" and combined.axis == "combined"
    assert combined.label_aliases == {"Pass": "yes", "Fail": "no"}
    parsed = parse_judgment("**Result:** Fail", TaskType.BINARY, combined.label_aliases)
    assert parsed.label == "no"
    diff = variant_diff(combined)
    assert diff.startswith("--- selene-ref\n+++ selene-ref.layout-xml.labels-pass-fail")
    assert "+<instruction>" in diff and "-**Result:** <Yes or No>" in diff and "# answer words" in diff
    assert variant_diff(find_variant("selene", TaskType.BINARY)) == ""


def test_axes_that_do_not_apply_are_refused() -> None:
    with pytest.raises(TemplateError, match="rubric axis does not apply"):
        compose(TaskType.PAIRWISE, False, Axes(rubric="scores-only"))
    with pytest.raises(TemplateError, match="no label set"):
        compose(TaskType.ABSOLUTE, False, Axes(labels="pass-fail"))
    with pytest.raises(TemplateError, match="no value"):
        compose(TaskType.BINARY, False, Axes(layout="yaml"))
