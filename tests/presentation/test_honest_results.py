"""Honest results (issue 14, points 6-8): unreadable answers are counted wherever a run is summed up, and a
statistic that is undefined, or rests on fewer compared items than the study's minimum, is n/a with its
reason in words."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.html import build_html_report
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.stats.agreement import agreement
from selene_eval.stats.registry import EXTRA_METRICS, METRICS
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.studies import make_study as build_study

SPEC = JudgeSpec(backend="scripted", model="scripted-honest")
READABLE = "**Reasoning:** fine\n\n**Result:** Yes"
UNREADABLE = "I would rather not say."
# Every statistic key, so that a note or reason naming one by its key is caught.
CODE_NAMES = re.compile(
    r"\b("
    + "|".join(
        {
            *METRICS["ordinal"],
            *EXTRA_METRICS["ordinal"],
            *METRICS["interval"],
            *EXTRA_METRICS["interval"],
            "unparseable_share",
            "experts\\.",
        }
    )
    + r")"
)


def make_study(studies_dir: Path, n: int = 24, min_compared: int = 10):
    return build_study(
        studies_dir,
        n,
        slug="s",
        title="t",
        response="Answer {i}",
        min_compared=min_compared,
        labels=lambda i: {"e1": "yes" if i % 3 else "no", "e2": "yes" if i % 4 else "no"},
    )


def unreadable_for_most(messages) -> str:
    """Readable for three items (0, 1, 2), unreadable for every other one."""
    text = messages[-1].content
    return READABLE if any(f"Question {i}?" in text for i in (0, 1, 2)) else UNREADABLE


# --- point 6: unreadable answers are counted ------------------------------------------------------------------


def test_run_result_counts_unreadable_answers(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    seen = []
    result = run_study(study, ScriptedBackend(SPEC, script=unreadable_for_most), batch_size=5, on_progress=seen.append)
    assert (result.n_judged, result.n_unreadable, result.n_readable, result.n_failed) == (24, 21, 3, 0)
    assert seen[-1].unreadable == 21
    assert result.summary() == "24 judgments made (21 of them without a readable label), 0 already stored, 0 failed"


def test_cli_run_and_report_say_how_many_answers_were_unreadable(
    studies_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_study(studies_dir, n=6).close()
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"outputs": [READABLE, UNREADABLE, UNREADABLE]}), encoding="utf-8")
    code = main(["--studies-dir", str(studies_dir), "run", "s", "--backend", "scripted", "--model", str(script)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Done: 6 judged (4 without a readable label), 0 from the store, 0 failed" in out
    assert "4 of 6 answers had no readable label" in err
    assert main(["--studies-dir", str(studies_dir), "report", "s", "--resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "4 of 6 judge answers without a readable label" in out
    # One of the two readable answers is on an item where the two experts split: 1 item compared ("1 item").
    assert "compared with the expert consensus on 1 item (" in out
    # Under the study's minimum of 10: no number, and the reason in words.
    assert re.search(r"Cohen's kappa\s+n/a", out)
    assert not re.search(r"\b(cohen_kappa|krippendorff_alpha|gwet_ac1|unparseable)\b", out)  # words, not keys
    assert (
        "note: Cohen's kappa is undefined: it would rest on 1 compared item, fewer than this study's minimum of 10."
        in out
    )
    assert "cohen_kappa is undefined" not in out


# --- point 7: n/a with its reason, in words -------------------------------------------------------------------


def test_statistics_on_fewer_items_than_the_minimum_are_undefined_with_the_reason() -> None:
    # Two compared items: kappa would be 0.000 and AC1 -1.000, numbers that read as findings.
    table = pd.DataFrame({"judge": ["yes", "no", None, None], "e1": ["no", "yes", "yes", "no"]})
    report = agreement(table, "judge", ["e1"], "nominal", order=["yes", "no"], n_resamples=200, min_compared=10)
    assert report.n_compared == 2
    assert all(math.isnan(v) for v in {**report.metrics, **report.extra_metrics}.values())
    assert report.intervals == {}
    reason = "it would rest on 2 compared items, fewer than this study's minimum of 10"
    assert report.undefined == {name: reason for name in (*METRICS["nominal"], *EXTRA_METRICS["nominal"])}
    assert report.reason("gwet_ac1") == reason and report.to_dict(with_uncertainty=True)["min_compared"] == 10
    assert f"Gwet's AC1 is undefined: {reason}." in report.notes
    assert any("fewer than this study's minimum of 10" in w for w in report.warnings)
    # Without a minimum the same table gives numbers (the generic function keeps its old behaviour).
    assert not math.isnan(agreement(table, "judge", ["e1"], "nominal", n_resamples=0).metrics["cohen_kappa"])


def test_notes_and_reasons_name_statistics_in_words() -> None:
    # Nothing compared, one constant expert pair, an empty table: every kind of undefined note.
    cases = [
        agreement(pd.DataFrame({"j": [None, None], "a": ["1", "2"], "b": ["1", "1"]}), "j", ["a", "b"], "ordinal"),
        agreement(pd.DataFrame({"j": ["x", "x"], "a": ["x", "x"], "b": [None, None]}), "j", ["a", "b"], "nominal"),
        agreement(pd.DataFrame({"j": pd.Series([], dtype=object), "a": [], "b": []}), "j", ["a", "b"], "interval"),
    ]
    for report in cases:
        assert report.notes
        for text in (*report.notes, *report.undefined.values()):
            assert not CODE_NAMES.search(text), text
        nan = {k for k, v in {**report.metrics, **report.extra_metrics}.items() if math.isnan(v)}
        assert nan == set(report.undefined)


def test_study_report_applies_the_study_minimum_and_html_shows_na_with_reason(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    run_study(study, ScriptedBackend(SPEC, script=unreadable_for_most))
    report = study_report(study, n_resamples=0)
    (result,) = report.results
    a = result.agreement
    assert a is not None and a.n_compared == 3 and a.min_compared == 10
    assert math.isnan(a.metrics["cohen_kappa"]) and math.isnan(a.extra_metrics["gwet_ac1"])
    html = build_html_report(study, report=report, n_resamples=0)
    assert "21 of 24 judge answers had no readable label" in html
    assert "it would rest on 3 compared items, fewer than this study&#39;s minimum of 10" in html
    assert ">None<" not in html and "cohen_kappa" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
    # The same study with a minimum of 3 gives the numbers.
    study.spec = study.spec.model_copy(update={"min_compared": 3})
    assert not math.isnan(study_report(study, n_resamples=0).results[0].agreement.metrics["accuracy"])


# --- point 8: robustness on judged items only -----------------------------------------------------------------


def test_robustness_counts_judged_items_and_the_report_names_an_all_unreadable_variant(studies_dir: Path) -> None:
    items = [Item(str(i), f"Question {i}?", f"Answer {i}", experts={"e1": "yes" if i % 2 else "no"}) for i in range(30)]
    spec = StudySpec(
        slug="r",
        title="r",
        task=TaskType.BINARY,
        experts=["e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene", "selene.layout-json"],
    )
    study = StudyStore(studies_dir).create(spec, items)
    # A pilot of 12 items; the JSON layout's answers are all unreadable.
    run_study(
        study, ScriptedBackend(SPEC, script=lambda m: UNREADABLE if "as JSON" in m[-1].content else READABLE), limit=12
    )
    report = study_report(study, n_resamples=0)
    (robust,) = report.robustness
    m = robust.measures
    assert (m.n_items, m.n_judged_all, m.n_judged_any, m.min_compared) == (30, 12, 12, 10)
    assert math.isnan(m.values["selene.layout-json"]) and not math.isnan(m.values["selene"])
    html = build_html_report(study, report=report, n_resamples=0)
    assert "12 of the study's 30 items judged under every variant; 18 not judged under any variant yet" in html
    assert "n/a (every answer unreadable)" in html and "12 of 12" in html


def test_interval_notes_name_statistics_in_words() -> None:
    table = pd.DataFrame({"judge": ["yes"] * 12, "e1": ["yes"] * 12})  # one label only: kappa is undefined
    report = agreement(table, "judge", ["e1"], "nominal", n_resamples=200)
    note = report.intervals["cohen_kappa"].note
    assert (
        note is not None and note.startswith("Cohen's kappa is undefined on the data") and not CODE_NAMES.search(note)
    )


def test_judges_compared_on_fewer_items_than_the_minimum_get_no_value() -> None:
    from selene_eval.presentation.compare import compare_judge_labels

    reference = ["yes", "no"] * 10
    judges = [(JudgeSpec(backend="scripted", model=name), ["yes", "no", "no"] + [None] * 17) for name in ("a", "b")]
    kwargs = dict(variant_id="v", level="nominal", order=["yes", "no"], n_resamples=0)
    few = compare_judge_labels(reference, judges, min_compared=10, **kwargs)
    assert [(j.n_compared, math.isnan(j.value), j.interval) for j in few.judges] == [(3, True, None)] * 2
    assert all(not math.isnan(j.value) for j in compare_judge_labels(reference, judges, **kwargs).judges)
