"""Prompt variants, rendering (byte for byte) and templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.core.items import Item
from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError
from selene_eval.prompts import (
    Rubric,
    builtin_variants,
    cache_key,
    default_rubric,
    default_variant_ids,
    find_variant,
    load_template_file,
    load_template_text,
    render,
)
from selene_eval.prompts.render import fill
from selene_eval.prompts.variants import allowed_placeholders, template_fields

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "prompts"

ITEM = Item(
    item_id="q1",
    input="What is the first-line treatment for uncomplicated hypertension?",
    response="A thiazide diuretic, an ACE inhibitor, an ARB or a calcium-channel blocker.",
    response_b="Bed rest.",
    reference="Thiazide-type diuretics, ACE inhibitors, ARBs or CCBs.",
)


def test_every_task_has_selene_variants_with_and_without_reference() -> None:
    for task in TaskType:
        ids = [v.id for v in builtin_variants(task)]
        assert ids[:2] == ["selene", "selene-ref"], ids
        assert not find_variant("selene", task).uses_reference
        assert find_variant("selene-ref", task).uses_reference
    assert default_variant_ids(TaskType.BINARY, True) == ["selene-ref"]
    assert default_variant_ids(TaskType.BINARY, False) == ["selene"]
    # Pairwise items are judged in both orders by default (position swap).
    assert default_variant_ids(TaskType.PAIRWISE, True) == ["selene-ref", "selene-ref.position-swapped"]


@pytest.mark.parametrize("task", list(TaskType))
@pytest.mark.parametrize("variant_id", ["selene", "selene-ref"])
def test_render_matches_golden_file_byte_for_byte(task: TaskType, variant_id: str) -> None:
    prompt = render(find_variant(variant_id, task), ITEM, default_rubric(task))
    assert len(prompt.messages) == 1 and prompt.messages[0].role == "user"
    golden = GOLDEN / f"{task.value}-{variant_id}.txt"
    assert prompt.messages[0].content == golden.read_text(encoding="utf-8")


def test_binary_reference_prompt_structure() -> None:
    text = render(find_variant("selene-ref", TaskType.BINARY), ITEM, default_rubric(TaskType.BINARY)).text
    # The order Selene was trained on: rules, format, data in fences, rubric, reference last.
    positions = [
        text.index(s)
        for s in (
            "Here are some rules of the evaluation:\n(1) ",
            "Your reply must strictly follow this format:\n**Reasoning:** <your feedback>\n\n**Result:** <Yes or No>\n",
            "Instruction:\n```\nWhat is the first-line treatment for uncomplicated hypertension?\n```\n",
            "Response:\n```\nA thiazide diuretic",
            "Score Rubrics:\n[Is the response correct, as a domain expert would judge it?]\nYes: ",
            "\n\nReference answer:\nThiazide-type diuretics, ACE inhibitors, ARBs or CCBs.",
        )
    ]
    assert positions == sorted(positions)
    assert text.endswith("ARBs or CCBs.")


def test_pairwise_prompt_shows_both_responses_in_order() -> None:
    text = render(find_variant("selene", TaskType.PAIRWISE), ITEM, default_rubric(TaskType.PAIRWISE)).text
    a = text.index("Response A:\n```\nA thiazide diuretic")
    b = text.index("Response B:\n```\nBed rest.\n```")
    assert a < b
    assert "**Result:** <A or B>" in text


def test_values_are_never_interpreted_as_template_syntax() -> None:
    tricky = Item("x", "Use {user_input} and {{braces}} and {0.__class__}", "5 {assistant_response}")
    text = render(find_variant("selene", TaskType.ABSOLUTE), tricky, default_rubric(TaskType.ABSOLUTE)).text
    assert "Use {user_input} and {{braces}} and {0.__class__}" in text
    assert "5 {assistant_response}" in text


def test_context_is_shown_after_the_input_when_the_template_has_no_context_field() -> None:
    item = Item("c", "Is revenue up?", "Yes", context="Revenue 2023: 10; 2022: 8.")
    text = render(find_variant("selene", TaskType.BINARY), item, default_rubric(TaskType.BINARY)).text
    assert "Is revenue up?\n\nContext:\nRevenue 2023: 10; 2022: 8.\n```" in text
    custom = load_template_text(
        "Q: {user_input}\nC: {context}\nA: {assistant_response}", TaskType.BINARY, variant_id="ctx"
    )
    assert (
        render(custom, item, default_rubric(TaskType.BINARY)).text
        == "Q: Is revenue up?\nC: Revenue 2023: 10; 2022: 8.\nA: Yes"
    )


def test_reference_variant_without_reference_is_a_clear_error() -> None:
    item = Item("n", "q", "r")
    with pytest.raises(TemplateError, match="has none; map a reference column"):
        render(find_variant("selene-ref", TaskType.BINARY), item, default_rubric(TaskType.BINARY))


def test_atla_yaml_template_loads_and_renders(tmp_path: Path) -> None:
    path = tmp_path / "My Template.yaml"
    path.write_text(
        "user_template: |\n  Judge this.\n  {user_input}\n  ---\n  {assistant_response}\n  [{rubric_objective}]\n"
        "  Yes: {rubric_yes_description}\n  No: {rubric_no_description}\n",
        encoding="utf-8",
    )
    variant = load_template_file(path, TaskType.BINARY)
    assert variant.id == "my-template" and variant.source == "atla-yaml"
    text = render(variant, ITEM, Rubric(objective="O", descriptions={"yes": "Y", "no": "N"})).text
    assert text == f"Judge this.\n{ITEM.input}\n---\n{ITEM.response}\n[O]\nYes: Y\nNo: N\n"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{user_input} {assistant_response} {patient_name}", r"unknown placeholder\(s\) \{patient_name\}"),
        ("{user_input} only", r"missing required placeholder\(s\) \{assistant_response\}"),
        ("{user_input} {assistant_response} {user_input.__class__}", "not a plain placeholder"),
        ("{user_input} {assistant_response} {", "unmatched brace"),
        ("{user_input} {assistant_response!r}", "not a plain placeholder"),
    ],
)
def test_bad_templates_are_clear_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_template_text(template, TaskType.BINARY, variant_id="bad")


def test_template_file_errors(tmp_path: Path) -> None:
    no_key = tmp_path / "a.yaml"
    no_key.write_text("prompt: hello\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="no 'user_template' key"):
        load_template_file(no_key, TaskType.BINARY)
    bad_yaml = tmp_path / "b.yaml"
    bad_yaml.write_text("user_template: [unclosed\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="not valid YAML at line"):
        load_template_file(bad_yaml, TaskType.BINARY)
    with pytest.raises(TemplateError, match="Cannot read template file"):
        load_template_file(tmp_path / "missing.yaml", TaskType.BINARY)
    wrong_task = tmp_path / "c.yaml"
    wrong_task.write_text(
        "task: pairwise\nuser_template: '{user_input} {assistant_response_a} {assistant_response_b}'\n"
    )
    with pytest.raises(TemplateError, match="is for a pairwise task"):
        load_template_file(wrong_task, TaskType.BINARY)


def test_pairwise_placeholders_differ_from_binary() -> None:
    assert "assistant_response_a" in allowed_placeholders(TaskType.PAIRWISE)
    assert "rubric_yes_description" not in allowed_placeholders(TaskType.PAIRWISE)
    with pytest.raises(TemplateError, match="unknown placeholder"):
        load_template_text("{user_input} {assistant_response}", TaskType.PAIRWISE, variant_id="p")


def test_fill_handles_escaped_braces_and_rejects_unknown_names() -> None:
    assert fill('{{"score": {x}}}', {"x": "5"}) == '{"score": 5}'
    assert template_fields("a {x} {{y}}") == ["x"]
    with pytest.raises(TemplateError, match="has no value"):
        fill("{y}", {"x": "1"})


def test_rubric_must_describe_every_label() -> None:
    with pytest.raises(TemplateError, match="missing a description for 4, 5"):
        Rubric(objective="o", descriptions={"1": "a", "2": "b", "3": "c"}).check(TaskType.ABSOLUTE)
    with pytest.raises(TemplateError, match="unknown labels maybe"):
        Rubric(objective="o", descriptions={"yes": "a", "no": "b", "maybe": "c"}).check(TaskType.BINARY)
    for task in TaskType:
        default_rubric(task).check(task)


def test_cache_key_changes_with_prompt_and_judge_settings_only() -> None:
    variant = find_variant("selene", TaskType.BINARY)
    rubric = default_rubric(TaskType.BINARY)
    prompt = render(variant, ITEM, rubric)
    same = render(variant, ITEM, rubric)
    identity = {"model": "m", "quantization": "nf4"}
    assert cache_key(identity, prompt) == cache_key(dict(reversed(list(identity.items()))), same)
    assert cache_key(identity, prompt) != cache_key({**identity, "quantization": "none"}, prompt)
    other = render(variant, ITEM, Rubric(objective="Different", descriptions=rubric.descriptions))
    assert cache_key(identity, prompt) != cache_key(identity, other)
