"""The judgment table: its columns and statuses, and that one report (with its exports) builds each table once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec, LabelChoices, Message
from selene_eval.core.status import JudgmentStatus
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.compare import compare_judges, judge_disagreements
from selene_eval.presentation.html import build_html_report
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.results import table as table_module
from selene_eval.results.table import (
    JUDGE_COLUMNS,
    JudgmentTables,
    expert_consensus,
    judge_labels,
    judgment_table,
    study_items,
    subgroup_splits,
)
from selene_eval.run.runner import run_study
from selene_eval.study import Study, StudySpec, StudyStore

N = 12
VARIANTS = ["selene", "selene-ref"]  # selene-ref shows the reference answer: items without one cannot be rendered
FORCING = JudgeSpec(backend="scripted", model="forcing", name="F", force_verdict=True)
PLAIN = JudgeSpec(backend="scripted", model="plain", name="P")


def _answer(i: int) -> str:
    """Items 4-5 rambling (forced by a forcing judge), 6-7 off the scale, 8-9 ambiguous, the others readable."""
    if i < 4 or i >= 10:
        return "**Reasoning:** fine\n\n**Result:** Yes"
    if i < 6:
        return "It is correct on every point that matters."
    if i < 8:
        return "**Reasoning:** unsure\n\n**Result:** Maybe"
    return "**Reasoning:** both\n\n**Result:** Yes or No"


def _script(messages: list[Message]) -> str:
    return _answer(int(re.search(r"Question (\d+)\?", messages[-1].content).group(1)))  # type: ignore[union-attr]


class ForcingBackend:
    """The scripted backend plus what a forcing backend adds: a forced "no" for answers without a result line."""

    def __init__(self) -> None:
        self.inner = ScriptedBackend(FORCING, script=_script)
        self.spec = FORCING

    def generate(self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None):
        out = []
        for generation in self.inner.generate(prompts, choices):
            if "**Result:**" not in generation.text:
                generation = replace(
                    generation, finish_reason="repetition", forced_label="no", label_probs={"yes": 0.2, "no": 0.8}
                )
            out.append(generation)
        return out

    def close(self) -> None:
        self.inner.close()


def make_study(studies_dir: Path) -> Study:
    """The forcing judge judges both variants, the plain one only ``selene`` (its ``selene-ref`` is pending);
    items 0 and 5 have no reference (not renderable under selene-ref). Experts ann and bob label every item;
    cy is declared but labels none."""
    items = [
        Item(
            str(i),
            f"Question {i}?",
            f"Answer {i}.",
            reference=None if i in (0, 5) else f"Reference {i}.",
            category="even" if i % 2 == 0 else "odd",
            experts={"ann": "no", "bob": "no" if i % 3 else "yes"},
        )
        for i in range(N)
    ]
    spec = StudySpec(
        slug="t",
        title="t",
        task=TaskType.BINARY,
        experts=["ann", "bob", "cy"],
        rubric=default_rubric(TaskType.BINARY),
        variants=VARIANTS,
        min_compared=1,
    )
    study = StudyStore(studies_dir).create(spec, items)
    run_study(study, ForcingBackend())
    run_study(study, ScriptedBackend(PLAIN, script=_script), variant_ids=["selene"])
    return study


@pytest.fixture
def study(studies_dir: Path) -> Study:
    return make_study(studies_dir)


def test_the_table_has_the_items_the_experts_and_the_judge_columns(study: Study) -> None:
    table = judgment_table(study, FORCING, "selene")
    assert list(table.columns) == [*study_items(study).columns, *JUDGE_COLUMNS]
    assert list(table["item_id"]) == [str(i) for i in range(N)]
    # cy is declared without a label: an empty column, so reports say what is missing
    assert [c for c in table.columns if c.startswith("expert:")] == ["expert:ann", "expert:bob", "expert:cy"]
    assert table["expert:cy"].isna().all()
    # statuses are stored and shown as plain strings, the enum's values
    assert all(type(s) is str for s in table["judge_status"])
    assert set(table["judge_status"]) <= {s.value for s in JudgmentStatus}


def test_every_status_of_an_item(study: Study) -> None:
    ok, missing, off, ambiguous = (
        JudgmentStatus.OK,
        JudgmentStatus.MISSING_RESULT,
        JudgmentStatus.OUT_OF_RANGE,
        JudgmentStatus.AMBIGUOUS,
    )
    plain = judgment_table(study, PLAIN, "selene")
    assert list(plain["judge_status"]) == [ok] * 4 + [missing] * 2 + [off] * 2 + [ambiguous] * 2 + [ok] * 2
    assert judge_labels(plain) == ["yes"] * 4 + [None] * 6 + ["yes"] * 2

    forced = judgment_table(study, FORCING, "selene")
    forced_status = JudgmentStatus.FORCED
    assert list(forced["judge_status"]) == [ok] * 4 + [forced_status] * 2 + [off] * 2 + [ambiguous] * 2 + [ok] * 2
    assert judge_labels(forced) == ["yes"] * 4 + ["no"] * 2 + [None] * 4 + ["yes"] * 2
    assert list(forced["judge_finish"])[4:6] == ["repetition"] * 2
    assert forced["judge_probs"].iloc[4] == {"yes": 0.2, "no": 0.8}
    without = judgment_table(study, FORCING, "selene", include_forced=False)
    assert list(without["judge_status"]) == list(forced["judge_status"])  # the status stays, the label goes
    assert all(without.loc[without["judge_status"] == JudgmentStatus.FORCED, "judge_label"].isna())

    with_reference = judgment_table(study, PLAIN, "selene-ref")
    pending, not_renderable = JudgmentStatus.PENDING, JudgmentStatus.NOT_RENDERABLE
    assert list(with_reference["judge_status"]) == [not_renderable] + [pending] * 4 + [not_renderable] + [pending] * 6
    # The judge columns of an item not judged are empty.
    judge_columns = ["judge_label", "judge_reasoning", "judge_raw", "judge_probs", "judge_finish"]
    assert with_reference[judge_columns].isna().all().all()


def test_status_sets_read_the_table(study: Study) -> None:
    table = judgment_table(study, FORCING, "selene")
    kinds = {JudgmentStatus(s): (JudgmentStatus(s).judged, JudgmentStatus(s).readable) for s in table["judge_status"]}
    assert kinds.get(JudgmentStatus.PENDING, (False, False)) == (False, False)
    assert kinds.get(JudgmentStatus.OK, (True, True)) == (True, True)
    assert kinds.get(JudgmentStatus.AMBIGUOUS, (True, False)) == (True, False)


def test_labels_consensus_and_splits(study: Study) -> None:
    table = judgment_table(study, PLAIN, "selene")
    labels = judge_labels(table)
    assert labels == [v if isinstance(v, str) else None for v in table["judge_label"]]
    # ann always says no, bob says yes on every third item: a strict majority only where they agree
    assert expert_consensus(table, TaskType.BINARY) == [None if i % 3 == 0 else "no" for i in range(N)]
    no_experts = table.drop(columns=["expert:ann", "expert:bob", "expert:cy"])
    assert expert_consensus(no_experts, TaskType.BINARY) == [None] * N
    assert subgroup_splits(table) == [("category", "category")]


def test_tables_are_built_once_per_call_and_not_kept(study: Study) -> None:
    tables = JudgmentTables(study)
    first = tables.table(PLAIN, "selene")
    assert tables.table(PLAIN, "selene") is first
    assert tables.table(PLAIN, "selene", include_forced=False) is not first
    pd.testing.assert_frame_equal(first, judgment_table(study, PLAIN, "selene"))
    tables.release(PLAIN)
    assert tables.table(PLAIN, "selene") is not first
    # a new call sees judgments added since: nothing is cached across calls
    before = JudgmentTables(study).table(PLAIN, "selene-ref")
    run_study(study, ScriptedBackend(PLAIN, script=_script))
    after = JudgmentTables(study).table(PLAIN, "selene-ref")
    assert (before["judge_status"] == JudgmentStatus.PENDING).sum() == 10
    assert (after["judge_status"] == JudgmentStatus.PENDING).sum() == 0


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str, bool]]:
    """Counts the judgment tables built, by (judge id, variant, include_forced): a spy on the real builder."""
    counts: Counter[tuple[str, str, bool]] = Counter()
    real = table_module.judgment_table

    def spy(study: Study, judge: JudgeSpec, variant_id: str, **options: object) -> pd.DataFrame:
        counts[(judge.judge_id, variant_id, bool(options.get("include_forced", True)))] += 1
        return real(study, judge, variant_id, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(table_module, "judgment_table", spy)
    return counts


def _each_once() -> Counter[tuple[str, str, bool]]:
    return Counter({(judge.judge_id, variant, True): 1 for judge in (FORCING, PLAIN) for variant in VARIANTS})


def test_a_report_builds_each_table_once(study: Study, builds: Counter[tuple[str, str, bool]]) -> None:
    report = study_report(study, n_resamples=0)
    assert report.robustness and report.judge_comparisons  # the robustness and comparison sections read them too
    assert builds == _each_once()


def test_the_html_report_builds_each_table_once(study: Study, builds: Counter[tuple[str, str, bool]]) -> None:
    build_html_report(study, n_resamples=0)  # the report, its charts and its sections
    assert builds == _each_once()


def test_the_export_builds_each_table_once(
    studies_dir: Path, study: Study, builds: Counter[tuple[str, str, bool]], tmp_path: Path
) -> None:
    assert (
        main(
            [
                "--studies-dir",
                str(studies_dir),
                "export",
                study.slug,
                "--resamples",
                "0",
                "--tables",
                str(tmp_path / "tables"),
                "--charts",
                str(tmp_path / "charts"),
                "--chart-format",
                "svg",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    assert builds == _each_once()


def test_judges_compared_read_each_table_once(study: Study, builds: Counter[tuple[str, str, bool]]) -> None:
    compare_judges(study, variant_id="selene", n_resamples=0)
    judge_disagreements(study, PLAIN, FORCING, "selene")
    assert builds == Counter({(j.judge_id, "selene", True): 2 for j in (FORCING, PLAIN)})  # once per call
