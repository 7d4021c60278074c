"""``report --json`` carries calibration (from label probabilities) and the "how many items" planning."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.stats.planning import required_items
from selene_eval.study import StudySpec, StudyStore

N = 40


class SureScripted(ScriptedBackend):
    """Scripted answers with probabilities attached (0.75 on the answer), as a model backend stores them."""

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        out = []
        for gen in super().generate(prompts, choices):
            said = "yes" if gen.text.rstrip().endswith("Yes") else "no"
            other = "no" if said == "yes" else "yes"
            out.append(
                Generation(
                    gen.text, "stop", gen.n_prompt_tokens, gen.n_new_tokens, label_probs={said: 0.75, other: 0.25}
                )
            )
        return out


def answer(messages: list[Message]) -> str:
    i = int(messages[-1].content.split("Question ")[1].split("?")[0])
    return "**Reasoning:** r\n\n**Result:** " + ("Yes" if i % 4 else "No")  # right on 3/4 of the items


def test_report_json_has_calibration_and_planning(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = [
        Item(str(i), f"Question {i}?", "A.", experts={"a": "yes" if i % 2 else "no", "b": "yes" if i % 2 else "no"})
        for i in range(N)
    ]
    spec = StudySpec(
        slug="cal",
        title="calibration",
        task=TaskType.BINARY,
        experts=["a", "b"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    study = StudyStore(studies_dir).create(spec, items)
    run_study(study, SureScripted(JudgeSpec(backend="scripted", model="sure"), script=answer))
    report = study_report(study, n_resamples=300)
    (result,) = report.results
    cal = result.calibration
    assert cal is not None and cal.n_compared == N
    right = sum((("yes" if i % 4 else "no") == ("yes" if i % 2 else "no")) for i in range(N))
    assert cal.accuracy == pytest.approx(right / N)
    assert cal.mean_confidence == pytest.approx(0.75)
    assert cal.ece == pytest.approx(abs(right / N - 0.75))
    plan = result.planning()
    assert plan is not None and plan.statistic == "cohen_kappa" and plan.n_compared == N
    interval = result.agreement.intervals["cohen_kappa"]  # type: ignore[union-attr]
    width = interval.high - interval.low
    assert plan.items_for_width[0.1] == required_items(interval.estimate, width, N, 0.1) > N

    assert main(["--studies-dir", str(studies_dir), "report", "cal", "--json", "--resamples", "300"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["results"][0]
    assert row["calibration"]["ece"] == pytest.approx(cal.ece)
    assert row["planning"]["items_for_width"]["0.1"] == plan.items_for_width[0.1]
    assert data["judge_comparisons"] == []  # one judge: nothing to compare
    # The text report names both.
    assert main(["--studies-dir", str(studies_dir), "report", "cal", "--resamples", "300"]) == 0
    text = capsys.readouterr().out
    assert "calibration" in text and "items for a 95% interval" in text
