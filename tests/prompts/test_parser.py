"""The one parser: a table of well-formed, sloppy and malformed judge outputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selene_eval.core.tasks import TaskType
from selene_eval.prompts.parser import ParseStatus, parse_judgment

A, B, P = TaskType.ABSOLUTE, TaskType.BINARY, TaskType.PAIRWISE
OK, MISSING, RANGE, AMBIG = ParseStatus.OK, ParseStatus.MISSING_RESULT, ParseStatus.OUT_OF_RANGE, ParseStatus.AMBIGUOUS

SELENE_ABSOLUTE = (
    "**Reasoning:** The response names the correct drug classes but omits the dosing caveat for patients with "
    "renal impairment, which the rubric treats as important.\n\n**Result:** 4"
)
SELENE_BINARY = (
    "**Reasoning:** The answer states the 2022 operating margin fell, matching the filing.\n\n**Result:** Yes"
)
SELENE_PAIRWISE = "**Reasoning:** Response B invents a figure; Response A quotes the 10-K.\n\n**Result:** A"

CASES = [
    # (task, output, label, status)
    (A, SELENE_ABSOLUTE, "4", OK),
    (B, SELENE_BINARY, "yes", OK),
    (P, SELENE_PAIRWISE, "A", OK),
    (A, "**Reasoning:** ok\n**Result:** 5.", "5", OK),  # trailing period
    (A, "**Reasoning:** ok\n\n**Result:**   **3**  ", "3", OK),  # bold label, spaces
    (A, "**Result: 2**", "2", OK),  # bold around the whole line
    (A, "**Result**: 1", "1", OK),  # colon outside the bold
    (A, "Reasoning: fine\nResult: 5", "5", OK),  # no bold at all
    (A, "**Result:** 5/5", "5", OK),
    (A, "**Result:** Score 4", "4", OK),
    (A, "**Result:** 5 out of 5", "5", OK),
    (A, "**Result:**\n\n4", "4", OK),  # label on the next line
    (A, "**Result:** 3\n\nI hope this helps.", "3", OK),  # trailing chatter on later lines
    (A, "**Result:** 4 because it is mostly right", "4", OK),
    (A, "**Result:** 2\n...\n**Result:** 4", "4", OK),  # the last result wins
    (B, "**Result:** yes", "yes", OK),
    (B, "**Result:** NO", "no", OK),
    (B, "**Result:** No.", "no", OK),
    (B, "**Result:** Yes, it is correct", "yes", OK),
    (P, "**Result:** b", "B", OK),
    (P, "**Result:** Response B", "B", OK),
    (P, "**Result:** [A]", "A", OK),
    (B, "Yes", "yes", OK),  # a reply that is only a label: unambiguous (small models answer so)
    (A, " **4** ", "4", OK),
    (P, "B.", "B", OK),
    # malformed
    (B, "Yes, because the answer mentions it", None, MISSING),  # prose without the result marker
    (A, "Response 5", None, MISSING),
    (A, "", None, MISSING),
    (A, "The response is good. Score: 5", None, MISSING),
    (A, "**Reasoning:** cut off mid-sent", None, MISSING),
    (A, "**Result:**", None, MISSING),
    (A, "**Result:**   \n\n  ", None, MISSING),
    (A, "**Result:** 6", None, RANGE),
    (A, "**Result:** 0", None, RANGE),
    (A, "**Result:** 3.5", None, RANGE),  # a decimal score is not a label
    (A, "**Result:** Excellent", None, RANGE),
    (A, "**Result:** 4 or 5", None, AMBIG),
    (A, "**Result:** 4-5", None, AMBIG),
    (B, "**Result:** Maybe", None, RANGE),
    (B, "**Result:** Yes/No", None, AMBIG),
    (B, "**Result:** Yes and no", None, AMBIG),
    (P, "**Result:** Tie", None, RANGE),  # Selene never says tie; a tie answer breaks the contract
    (P, "**Result:** Both", None, RANGE),
    (P, "**Result:** A and B", None, AMBIG),
    (P, "**Result:** C", None, RANGE),
]


@pytest.mark.parametrize(("task", "text", "label", "status"), CASES)
def test_parse_table(task: TaskType, text: str, label: str | None, status: ParseStatus) -> None:
    parsed = parse_judgment(text, task)
    assert (parsed.label, parsed.status) == (label, status)
    assert parsed.raw == text
    assert parsed.ok is (status is OK)


def test_reasoning_is_the_text_between_the_markers() -> None:
    parsed = parse_judgment(SELENE_ABSOLUTE, A)
    assert parsed.reasoning.startswith("The response names the correct drug classes")
    assert parsed.reasoning.endswith("treats as important.")
    assert parse_judgment("no markers at all", A).reasoning == "no markers at all"
    assert parse_judgment("Preamble\n**Result:** 3", A).reasoning == "Preamble"


def test_aliases_map_a_variant_vocabulary_back_to_canonical_labels() -> None:
    aliases = {"Pass": "yes", "Fail": "no"}
    assert parse_judgment("**Result:** PASS", B, aliases).label == "yes"
    assert parse_judgment("**Result:** Fail.", B, aliases).label == "no"
    assert parse_judgment("**Result:** Pass/Fail", B, aliases).status is AMBIG
    verbal = {"poor": "1", "fair": "2", "good": "3", "very good": "4", "excellent": "5"}
    assert parse_judgment("**Result:** Very good", A, verbal).label == "4"


def test_none_input_is_missing_not_an_exception() -> None:
    parsed = parse_judgment(None, B)
    assert parsed.status is MISSING and parsed.raw == ""


@settings(max_examples=300, deadline=None)
@given(text=st.text(), task=st.sampled_from(list(TaskType)))
def test_parser_never_raises_and_labels_are_always_allowed(text: str, task: TaskType) -> None:
    parsed = parse_judgment(text, task)
    assert parsed.label is None or parsed.label in task.judge_labels
    assert (parsed.label is not None) == parsed.ok


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(), label=st.sampled_from(["1", "2", "3", "4", "5"]))
def test_a_well_formed_ending_always_parses(prefix: str, label: str) -> None:
    parsed = parse_judgment(f"{prefix}\n\n**Result:** {label}", A)
    assert parsed.label == label
