"""Column mapping, label maps and build_items for the three tasks, wide and long tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydantic
import pytest

from selene_eval.core.tasks import TaskType
from selene_eval.data import (
    ColumnMapping,
    build_items,
    distinct_label_values,
    guess_mapping,
    parse_label_map,
    read_table,
    suggest_label_map,
)
from selene_eval.errors import MappingError

A, B, P = TaskType.ABSOLUTE, TaskType.BINARY, TaskType.PAIRWISE
SHARED_DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def frame(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    """A frame like read_table's: object cells, str or None."""
    return pd.DataFrame(rows, dtype=object)


def codes(report: object) -> set[str]:
    return {issue.code for issue in report.issues}  # type: ignore[attr-defined]


# --- ColumnMapping -----------------------------------------------------------------------------------------


def test_mapping_is_frozen_strict_and_strips_names() -> None:
    mapping = ColumnMapping(input=" question ", response="", experts=[" e1", "", "e2 "])
    assert mapping.input == "question" and mapping.response is None and mapping.experts == ["e1", "e2"]
    with pytest.raises(pydantic.ValidationError):
        ColumnMapping(inputs="q")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        mapping.input = "other"  # type: ignore[misc]


def test_columns_lists_every_set_role() -> None:
    wide = ColumnMapping(id="i", input="q", response="a", reference="gold", experts=["e1", "e2"])
    assert wide.columns() == {
        "id": "i",
        "input": "q",
        "response": "a",
        "reference": "gold",
        "expert:e1": "e1",
        "expert:e2": "e2",
    }
    assert not wide.is_long
    long = ColumnMapping(id="i", input="q", response="a", annotator="who", label="lab")
    assert long.is_long and long.columns() == {
        "id": "i",
        "input": "q",
        "response": "a",
        "annotator": "who",
        "label": "lab",
    }
    assert not ColumnMapping(annotator="who").is_long


def test_mapping_cannot_mix_layouts_or_repeat_experts() -> None:
    with pytest.raises(MappingError, match="either expert columns"):
        ColumnMapping(experts=["e1"], annotator="who", label="lab")
    with pytest.raises(MappingError, match="'e1'.*more than once"):
        ColumnMapping(experts=["e1", "e1"])


def test_from_pairs() -> None:
    mapping = ColumnMapping.from_pairs(
        ["input=question", "Response = answer ", "expert=label_0", "EXPERT=label_1", "context=a=b", "id=row id"]
    )
    assert mapping == ColumnMapping(
        input="question", response="answer", experts=["label_0", "label_1"], context="a=b", id="row id"
    )
    long = ColumnMapping.from_pairs(["id=i", "annotator=who", "label=lab"])
    assert long.is_long


@pytest.mark.parametrize(
    ("pairs", "fragments"),
    [
        (
            ["inptu=question"],
            ["Unknown role 'inptu'", "Valid roles: id, group, input", "expert", "annotator and label"],
        ),
        (["question"], ["no '='", "ROLE=COLUMN", "Valid roles"]),
        (["input="], ["names no column"]),
        (["input=a", "input=b"], ["mapped twice", "'a'", "'b'"]),
    ],
)
def test_from_pairs_errors(pairs: list[str], fragments: list[str]) -> None:
    with pytest.raises(MappingError) as info:
        ColumnMapping.from_pairs(pairs)
    for fragment in fragments:
        assert fragment in str(info.value)


# --- guess_mapping -------------------------------------------------------------------------------------------


def test_guess_kqa_columns() -> None:
    columns = [
        "Unnamed: 0",
        "Question",
        "llm_x",
        "answer",
        "claim",
        "category_x",
        "majority_label",
        "label_0",
        "label_1",
        "label_2",
    ]
    guess = guess_mapping(columns, B)
    assert (guess.input, guess.response, guess.category, guess.id) == ("Question", "answer", "category_x", None)
    assert guess.experts == ["label_0", "label_1", "label_2"]  # not majority_label: it is derived


def test_guess_financebench_columns() -> None:
    columns = ["financebench_id", "model_name", "eval_mode", "temp", "question", "gold_answer", "model_answer", "label"]
    guess = guess_mapping(columns, B)
    assert guess == ColumnMapping(
        id="financebench_id", input="question", response="model_answer", reference="gold_answer", experts=["label"]
    )


def test_guess_pairwise_columns_case_insensitively() -> None:
    columns = ["IDX", "Instruction", "Input", "Response1", "Response2", "Annotator1", "Annotator2", "Annotator3"]
    guess = guess_mapping(columns, P)
    assert (guess.id, guess.input, guess.response, guess.response_b) == ("IDX", "Instruction", "Response1", "Response2")
    assert guess.experts == ["Annotator1", "Annotator2", "Annotator3"]


def test_guess_other_names() -> None:
    guess = guess_mapping(
        [
            "Item ID",
            "Prompt",
            "Output",
            "Reference",
            "Context",
            "Group",
            "Human Rating",
            "expert_2",
            "rating",
            "annotator_id",
        ],
        A,
    )
    assert (guess.id, guess.input, guess.response, guess.reference, guess.context, guess.group) == (
        "Item ID",
        "Prompt",
        "Output",
        "Reference",
        "Context",
        "Group",
    )
    assert guess.experts == ["Human Rating", "expert_2", "rating"]  # annotator_id names a person, not a label
    assert guess_mapping(["instruction", "response", "response_b", "winner"], P).response_b == "response_b"
    assert guess_mapping(["question", "answer", "gold_label"], B).reference is None


def test_guess_long_format() -> None:
    guess = guess_mapping(["item_id", "question", "answer", "annotator", "label"], B)
    assert guess.is_long and (guess.id, guess.annotator, guess.label) == ("item_id", "annotator", "label")
    assert guess.experts == []


def test_guess_with_nothing_recognisable() -> None:
    assert guess_mapping(["foo", "bar"], B) == ColumnMapping()


# --- label maps ----------------------------------------------------------------------------------------------


def test_parse_label_map() -> None:
    parsed = parse_label_map(["Correct Answer=Yes", "Incorrect Answer = no", "Refusal=", "a=b=YES"], B)
    assert parsed == {"Correct Answer": "yes", "Incorrect Answer": "no", "Refusal": None, "a=b": "yes"}
    assert parse_label_map(["1=a", "2=B", "0=TIE"], P) == {"1": "A", "2": "B", "0": "tie"}
    assert parse_label_map(["Definitely correct=5"], A) == {"Definitely correct": "5"}
    assert parse_label_map([], B) == {}


@pytest.mark.parametrize(
    ("pairs", "task", "fragments"),
    [
        (["Correct=maybe"], B, ["'maybe'", "not a binary label", "yes, no"]),
        (["x=6"], A, ["1, 2, 3, 4, 5"]),
        (["x=C"], P, ["A, B, tie"]),
        (["Correct"], B, ["VALUE=LABEL", "yes, no"]),
        (["=yes"], B, ["VALUE=LABEL"]),
        (["x=yes", "x=no"], B, ["mapped twice"]),
    ],
)
def test_parse_label_map_errors(pairs: list[str], task: TaskType, fragments: list[str]) -> None:
    with pytest.raises(MappingError) as info:
        parse_label_map(pairs, task)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_suggest_label_map() -> None:
    assert suggest_label_map(
        ["Correct Answer", "Incorrect Answer", "Refusal", "Entailment", "Neutral", "Contradiction", "TRUE", "0", "Yes"],
        B,
    ) == {
        "Correct Answer": "yes",
        "Incorrect Answer": "no",
        "Entailment": "yes",
        "Neutral": "no",
        "Contradiction": "no",
        "TRUE": "yes",
        "0": "no",
        "Yes": "yes",
    }
    assert suggest_label_map(
        [
            "Definitely incorrect",
            "Likely incorrect",
            "Unsure",
            "Probably correct",
            "Definitely correct",
            "3",
            "4.0",
            "great",
        ],
        A,
    ) == {
        "Definitely incorrect": "1",
        "Likely incorrect": "2",
        "Unsure": "3",
        "Probably correct": "4",
        "Definitely correct": "5",
        "3": "3",
        "4.0": "4",
    }
    assert suggest_label_map(["1", "2", "0", "response1", "b", "Tie", "equal", "3"], P) == {
        "1": "A",
        "2": "B",
        "0": "tie",
        "response1": "A",
        "b": "B",
        "Tie": "tie",
        "equal": "tie",
    }


def test_distinct_label_values() -> None:
    data = frame(
        [{"e1": " yes", "e2": "No", "who": "x", "lab": "b"}, {"e1": None, "e2": "maybe ", "who": "y", "lab": "a"}]
    )
    assert distinct_label_values(data, ColumnMapping(experts=["e1", "e2", "missing"])) == ["No", "maybe", "yes"]
    assert distinct_label_values(data, ColumnMapping(id="e1", annotator="who", label="lab")) == ["a", "b"]


# --- build_items: wide -------------------------------------------------------------------------------------------


def test_wide_binary_items() -> None:
    data = frame(
        [
            {
                "q": "  What?\n",
                "a": "It is.",
                "gold": None,
                "e1": "Correct Answer",
                "e2": "yes",
                "e3": None,
                "cat": " fin ",
            },
            {
                "q": "Why?",
                "a": "Because.",
                "gold": "ref",
                "e1": "Refusal",
                "e2": "NO",
                "e3": "incorrect answer",
                "cat": None,
            },
        ]
    )
    mapping = ColumnMapping(input="q", response="a", reference="gold", category="cat", experts=["e1", "e2", "e3"])
    label_map = {"Correct Answer": "yes", "Incorrect Answer": "no", "Refusal": None}
    items, report = build_items(data, mapping, B, label_map, min_items=1)
    assert report.ok and not report.warnings and report.n_rows == 2 and report.n_items == 2
    first, second = items
    assert (first.item_id, first.input, first.response, first.reference) == ("1", "  What?\n", "It is.", None)
    assert first.category == "fin" and first.group_id is None and first.response_b is None
    assert dict(first.experts) == {"e1": "yes", "e2": "yes", "e3": None}
    assert second.item_id == "2" and second.reference == "ref"
    assert dict(second.experts) == {
        "e1": None,
        "e2": "no",
        "e3": "no",
    }  # NO: canonical; incorrect answer: case-insensitive map


def test_label_map_exact_match_beats_case_insensitive() -> None:
    data = frame(
        [{"q": "q", "a": "a", "e": "Pass"}, {"q": "q", "a": "a", "e": "PASS"}, {"q": "q", "a": "a", "e": "pass"}]
    )
    items, _ = build_items(
        data, ColumnMapping(input="q", response="a", experts=["e"]), B, {"PASS": "no", "pass": "yes"}, min_items=1
    )
    assert [item.experts["e"] for item in items] == ["no", "no", "yes"]  # "Pass" falls back to the first folded entry


def test_ids_and_groups_are_stripped_texts_are_not() -> None:
    data = frame(
        [
            {"id": " x1 ", "grp": " g ", "q": " q ", "a": "a ", "e": "yes"},
            {"id": "x2", "grp": None, "q": "q", "a": "a", "e": "no"},
        ]
    )
    items, report = build_items(
        data, ColumnMapping(id="id", group="grp", input="q", response="a", experts=["e"]), B, min_items=1
    )
    assert report.ok
    assert [(i.item_id, i.group_id, i.input, i.response) for i in items] == [
        ("x1", "g", " q ", "a "),
        ("x2", None, "q", "a"),
    ]


def test_absolute_and_pairwise_items() -> None:
    scores = frame(
        [{"q": "q", "a": "a", "s": "5", "t": "Definitely incorrect"}, {"q": "q", "a": "b", "s": "2", "t": None}]
    )
    items, report = build_items(
        scores,
        ColumnMapping(input="q", response="a", experts=["s", "t"]),
        A,
        {"Definitely incorrect": "1"},
        min_items=1,
    )
    assert report.ok and [dict(i.experts) for i in items] == [{"s": "5", "t": "1"}, {"s": "2", "t": None}]

    pairs = frame(
        [{"q": "q", "r1": "x", "r2": "y", "h1": "1", "h2": "0"}, {"q": "q", "r1": "z", "r2": "w", "h1": "2", "h2": "b"}]
    )
    mapping = ColumnMapping(input="q", response="r1", response_b="r2", experts=["h1", "h2"])
    items, report = build_items(pairs, mapping, P, parse_label_map(["1=A", "2=B", "0=tie"], P), min_items=1)
    assert report.ok
    assert [(i.response, i.response_b, dict(i.experts)) for i in items] == [
        ("x", "y", {"h1": "A", "h2": "tie"}),
        ("z", "w", {"h1": "B", "h2": "B"}),
    ]


def test_frames_from_elsewhere_with_nan_and_numbers() -> None:
    data = pd.DataFrame({"q": ["q1", float("nan")], "a": ["a", "b"], "e": [5.0, float("nan")], "e2": [4, 3]})
    items, report = build_items(data, ColumnMapping(input="q", response="a", experts=["e", "e2"]), A, min_items=1)
    assert [dict(i.experts) for i in items] == [{"e": "5", "e2": "4"}, {"e": None, "e2": "3"}]
    assert items[1].input == "" and "empty_text" in codes(report)


def test_bad_label_map_value_is_a_mapping_error() -> None:
    data = frame([{"q": "q", "a": "a", "e": "x"}])
    with pytest.raises(MappingError, match="not a binary label"):
        build_items(data, ColumnMapping(input="q", response="a", experts=["e"]), B, {"x": "maybe"})


# --- build_items: long ---------------------------------------------------------------------------------------------

LONG_ROWS = [
    {"id": "i2", "q": "second?", "a": "b", "who": "ann", "lab": "yes"},
    {"id": "i1", "q": "first?", "a": "a", "who": "ann", "lab": "No"},
    {"id": "i2", "q": None, "a": None, "who": "bob", "lab": "Correct"},
    {"id": "i3", "q": "third?", "a": "c", "who": None, "lab": None},
    {"id": "i1", "q": "first?", "a": "a", "who": "cy", "lab": ""},
]


def test_long_format_items() -> None:
    mapping = ColumnMapping(id="id", input="q", response="a", annotator="who", label="lab")
    items, report = build_items(frame(LONG_ROWS), mapping, B, {"correct": "yes"}, min_items=1)
    assert [i.item_id for i in items] == ["i2", "i1", "i3"]  # first-appearance order
    assert [(i.input, i.response) for i in items] == [("second?", "b"), ("first?", "a"), ("third?", "c")]
    assert [dict(i.experts) for i in items] == [
        {"ann": "yes", "bob": "yes", "cy": None},
        {"ann": "no", "bob": None, "cy": None},
        {"ann": None, "bob": None, "cy": None},
    ]
    assert report.n_rows == 5 and report.n_items == 3
    assert report.ok and codes(report) == {"items_without_labels"}


def test_long_format_without_id_is_a_validation_error_in_words() -> None:
    items, report = build_items(
        frame(LONG_ROWS), ColumnMapping(input="q", response="a", annotator="who", label="lab"), B
    )
    (issue,) = [i for i in report.errors if i.code == "missing_role"]
    assert items == [] and "needs an item id column" in issue.message
    assert "--" not in issue.message + issue.fix and issue.command == "--map id=COLUMN"


# --- real data -----------------------------------------------------------------------------------------------------


def test_kqa_physician_file_three_experts_per_item() -> None:
    path = SHARED_DATASETS / "kqa_physician_nli" / "NLI_medical_annotator.csv"
    if not path.is_file():
        pytest.skip(f"shared dataset not found at {path}")
    table = read_table(path)
    mapping = ColumnMapping.from_pairs(
        ["input=Question", "response=answer", "group=Question", "expert=label_0", "expert=label_1", "expert=label_2"]
    )
    assert distinct_label_values(table.frame, mapping) == ["Contradiction", "Entailment", "Neutral"]
    label_map = parse_label_map(["Entailment=yes", "Neutral=no", "Contradiction=no"], B)
    items, report = build_items(table.frame, mapping, B, label_map)
    assert report.ok, str(report)
    assert len(items) == table.n_rows > 0
    assert all(list(i.experts) == ["label_0", "label_1", "label_2"] for i in items)
    assert all(all(v in ("yes", "no") for v in i.experts.values()) for i in items)
    raw = table.frame["label_0"].tolist()
    assert [i.experts["label_0"] for i in items] == ["yes" if v == "Entailment" else "no" for v in raw]


def test_looks_pairwise_only_from_two_response_columns() -> None:
    from selene_eval.data import looks_pairwise

    assert looks_pairwise(["prompt", "response_a", "response_b", "winner"]) == ("response_a", "response_b")
    assert looks_pairwise(["question", "answer1", "answer2", "preferred"]) == ("answer1", "answer2")
    assert looks_pairwise(["id", "question", "answer", "label"]) is None
