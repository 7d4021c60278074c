"""Subgroups by any mapped column: mapping (CLI ``--map subgroup=COL`` and the Data page), items, the report
(each split equals the agreement computed on that subset alone), ``report --json`` and the Agreement page."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item, items_frame
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, build_items
from selene_eval.errors import MappingError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.stats.agreement import agreement
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.studies import yes_if_good

SPEC = JudgeSpec(backend="scripted", model="scripted-subgroups")
N = 48


answer = yes_if_good


def table() -> pd.DataFrame:
    """Two experts; the judge says yes on "good" answers; specialty and difficulty as extra columns."""
    rows = []
    for i in range(N):
        truth = "Yes" if i % 2 else "No"
        good = bool(i % 2) if i % 6 else not (i % 2)  # the judge is wrong on every sixth item
        rows.append(
            {
                "id": f"q{i}",
                "question": f"Question {i}?",
                "answer": "a good answer" if good else "a bad answer",
                "ann": truth,
                "bob": truth if i % 5 else ("No" if truth == "Yes" else "Yes"),
                "topic": ["dosing", "diagnosis"][i % 2],
                "specialty": ["cardiology", "oncology", "renal"][i % 3],
                "difficulty": "hard" if i < 12 else ("easy" if i < 44 else None),
            }
        )
    return pd.DataFrame(rows)


def spec_for(slug: str) -> StudySpec:
    return StudySpec(
        slug=slug,
        title="subgroups",
        task=TaskType.BINARY,
        experts=["ann", "bob"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )


def mapping(**extra: object) -> ColumnMapping:
    return ColumnMapping(id="id", input="question", response="answer", experts=["ann", "bob"], **extra)  # type: ignore[arg-type]


def test_subgroup_columns_are_mapped_from_the_cli_form_and_kept_on_the_items() -> None:
    parsed = ColumnMapping.from_pairs(
        [
            "id=id",
            "input=question",
            "response=answer",
            "expert=ann",
            "expert=bob",
            "subgroup=specialty",
            "subgroup=difficulty",
            "category=topic",
        ]
    )
    assert parsed.subgroups == ["specialty", "difficulty"]
    assert parsed.columns()["subgroup:specialty"] == "specialty"
    items, report = build_items(table(), parsed, TaskType.BINARY)
    assert report.ok, report.describe()
    assert items[0].subgroups == {"specialty": "cardiology", "difficulty": "hard"}
    assert items[-1].subgroups == {"specialty": "renal", "difficulty": None}  # a blank cell is no value
    # The items file keeps them; an item without subgroups keeps its old record.
    assert Item.from_record(json.loads(json.dumps(items[0].to_record()))) == items[0]
    plain = Item("1", "q", "r", experts={"a": "yes"})
    assert "subgroups" not in plain.to_record() and Item.from_record(plain.to_record()) == plain
    frame = items_frame(items)
    assert list(frame.columns[-2:]) == ["subgroup:specialty", "subgroup:difficulty"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"subgroups": ["specialty", "specialty"]}, "listed more than once"),
        ({"subgroups": ["ann"]}, "'ann' (already mapped to an expert's labels)"),
        ({"subgroups": ["topic"], "category": "topic"}, "'topic' (already mapped to category)"),
    ],
)
def test_a_subgroup_column_must_be_a_column_of_its_own(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(MappingError, match="subgroup") as info:
        mapping(**kwargs)
    assert fragment in str(info.value)


def test_a_subgroup_column_missing_from_the_file_is_reported_with_a_suggestion() -> None:
    _, report = build_items(table(), mapping(subgroups=["Specialty "]), TaskType.BINARY)
    assert not report.ok
    assert any(
        i.code == "missing_column" and "subgroup" in i.message and "'specialty'" in (i.fix or "") for i in report.issues
    ), report.describe()


def test_long_format_takes_subgroups_from_the_items_rows() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "a", "b", "b"],
            "q": ["Q1", "Q1", "Q2", "Q2"],
            "r": ["R1", "R1", "R2", "R2"],
            "who": ["x", "y", "x", "y"],
            "label": ["Yes", "No", "No", "No"],
            "site": ["north", "north", "south", "east"],
        }
    )
    long = ColumnMapping(id="id", input="q", response="r", annotator="who", label="label", subgroups=["site"])
    items, report = build_items(frame, long, TaskType.BINARY, min_items=1)
    assert [i.subgroups for i in items] == [{"site": "north"}, {"site": "south"}]
    assert any("site" in (i.column or "") for i in report.issues)  # b's rows disagree on the site: said


@pytest.fixture
def study(tmp_path: Path):
    items, report = build_items(
        table(), mapping(category="topic", subgroups=["specialty", "difficulty"]), TaskType.BINARY
    )
    assert report.ok, report.describe()
    study = StudyStore(tmp_path).create(spec_for("subs"), items)
    run_study(study, ScriptedBackend(SPEC, script=answer))
    yield study
    study.close()


def test_the_report_gives_every_statistic_within_each_value_of_each_column(study) -> None:
    (result,) = study_report(study, n_resamples=200, seed=1).results
    assert [s.by for s in result.subgroups] == ["category", "specialty", "difficulty"]
    split = {s.by: s for s in result.subgroups}
    assert [v for v, _ in split["specialty"].groups] == ["cardiology", "oncology", "renal"]
    assert [v for v, _ in split["difficulty"].groups] == ["easy", "hard", None]  # no value: its own, last

    # Each subgroup's figures are those of the agreement computed on that subset alone (same seed).
    frame = table()
    frame["judge"] = ["yes" if "good" in a else "no" for a in frame["answer"]]
    for col in ("ann", "bob"):
        frame[col] = frame[col].str.lower()
    for value, sub in split["specialty"].groups:
        alone = agreement(
            frame[frame["specialty"] == value].reset_index(drop=True),
            "judge",
            ["ann", "bob"],
            "nominal",
            order=["yes", "no"],
            n_resamples=200,
            seed=1,
        )
        assert sub.n_compared == alone.n_compared > 0
        assert sub.metrics == pytest.approx(alone.metrics, nan_ok=True)
        assert sub.intervals["accuracy"].low == pytest.approx(alone.intervals["accuracy"].low)
        assert any("fewer than 30" in w for w in sub.warnings)


def test_report_json_and_cli_text_list_every_split(study, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(study.path.parent)
    assert main(["--studies-dir", root, "report", "subs", "--json", "--resamples", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    subgroups = data["results"][0]["subgroups"]
    assert list(subgroups) == ["category", "specialty", "difficulty"]
    assert [r["value"] for r in subgroups["difficulty"]] == ["easy", "hard", None]
    assert main(["--studies-dir", root, "report", "subs", "--resamples", "0"]) == 0
    text = capsys.readouterr().out
    assert "  by specialty:" in text and "  by difficulty:" in text
    assert "    cardiology: 12 compared, accuracy 0.500" in text and "    (none): 3 compared" in text


def test_a_subgroup_column_called_category_beside_a_category_keeps_a_name_of_its_own(tmp_path: Path) -> None:
    frame = table().rename(columns={"specialty": "category"})
    cols = mapping(category="topic", subgroups=["category"])
    items, _ = build_items(frame, cols, TaskType.BINARY)
    study = StudyStore(tmp_path).create(spec_for("c"), items)
    run_study(study, ScriptedBackend(SPEC, script=answer))
    (result,) = study_report(study, n_resamples=0).results
    study.close()
    assert [s.by for s in result.subgroups] == ["category", "category (column)"]


def test_the_html_report_has_a_table_per_split(study) -> None:
    from selene_eval.presentation.html import build_html_report

    html = build_html_report(study, n_resamples=0)
    assert "<h4>By category</h4>" in html and "<h4>By specialty</h4>" in html and "<h4>By difficulty</h4>" in html
    assert "<td>oncology</td>" in html


@pytest.mark.parametrize("bad", [["specialty", "x"], "specialty", 3])
def test_an_items_file_with_damaged_subgroups_is_refused_clearly(bad: object) -> None:
    record = Item("1", "q", "r", experts={"a": "yes"}).to_record() | {"subgroups": bad}
    with pytest.raises(TypeError, match="subgroups is not a mapping"):
        Item.from_record(record)


def test_numeric_subgroup_values_sort_as_numbers() -> None:
    from selene_eval.stats.agreement import natural_order

    assert natural_order(["10", "2", "1.5"]) == ["1.5", "2", "10"]
    assert natural_order(["b", "10", "a"]) == ["10", "a", "b"]  # not all numbers: as text


def test_a_column_with_too_many_values_is_warned_about_and_capped(tmp_path: Path) -> None:
    from selene_eval.core.items import MAX_SUBGROUPS

    frame = table()
    frame["source"] = ["doc-big" if i < 5 else f"doc-{i}" for i in range(N)]  # 44 values, all but one unique
    assert frame["source"].nunique() > MAX_SUBGROUPS
    cols = mapping(subgroups=["source"])
    items, report = build_items(frame, cols, TaskType.BINARY)
    assert report.ok  # a warning, not an error
    assert any(i.code == "many_subgroups" and "'source'" in i.message for i in report.issues)
    study = StudyStore(tmp_path).create(spec_for("many"), items)
    run_study(study, ScriptedBackend(SPEC, script=answer))
    (result,) = study_report(study, n_resamples=0).results
    study.close()
    (split,) = result.subgroups
    n_values = len({i.subgroups["source"] for i in items})
    assert len(split.groups) == MAX_SUBGROUPS and split.omitted == n_values - MAX_SUBGROUPS
    assert "doc-big" in [v for v, _ in split.groups]  # the largest groups are the ones kept
    assert result.to_dict()["subgroups_omitted"] == {"source": n_values - MAX_SUBGROUPS}
