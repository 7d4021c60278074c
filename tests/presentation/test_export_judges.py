"""The HTML report compares judges and reports calibration when the study has them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.html import build_html_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore

N = 30


class WithProbs(ScriptedBackend):
    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        out = []
        for gen in super().generate(prompts, choices):
            said = "yes" if gen.text.rstrip().endswith("Yes") else "no"
            out.append(Generation(gen.text, "stop", label_probs={said: 0.8, "no" if said == "yes" else "yes": 0.2}))
        return out


def answer(right_below: int):
    def script(messages: list[Message]) -> str:
        i = int(re.search(r"Question (\d+)\?", messages[-1].content).group(1))  # type: ignore[union-attr]
        truth = "Yes" if i % 2 else "No"
        said = truth if i < right_below else ("No" if truth == "Yes" else "Yes")
        return f"**Reasoning:** because <b>{i}</b>\n\n**Result:** {said}"

    return script


def test_html_report_has_judge_comparison_and_calibration(studies_dir: Path) -> None:
    items = [
        Item(
            str(i),
            f"Question {i}?",
            "A.",
            reference="R.",
            experts={"a": "yes" if i % 2 else "no", "b": "yes" if i % 2 else "no"},
        )
        for i in range(N)
    ]
    spec = StudySpec(
        slug="two",
        title="Two <judges>",
        task=TaskType.BINARY,
        experts=["a", "b"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene", "selene-ref"],
    )
    study = StudyStore(studies_dir).create(spec, items)
    run_study(study, WithProbs(JudgeSpec(backend="scripted", model="good", name="Good <judge>"), script=answer(27)))
    run_study(study, ScriptedBackend(JudgeSpec(backend="scripted", model="weak", name="Weak judge"), script=answer(15)))
    html = build_html_report(study, n_resamples=200)
    assert 'id="judge-comparison"' in html and "Judges compared" in html
    assert 'id="calibration"' in html and "Calibration of the judge" in html
    assert "Good &lt;judge&gt;" in html and "Good <judge>" not in html  # names are escaped
    # Both variants judged by both judges: the judge x variant grid is among the charts, as inline SVG.
    assert 'data-chart="judge-variant-grid"' in html
    assert re.search(r'data-chart="reliability-[^"]+"', html)
    section = html.split('id="judge-comparison"')[1].split("</section>")[0]
    truth = ["yes" if i % 2 else "no" for i in range(N)]

    def said(right_below: int) -> list[str]:
        return [t if i < right_below else ("no" if t == "yes" else "yes") for i, t in enumerate(truth)]

    good, weak = cohen_kappa_score(truth, said(27)), cohen_kappa_score(truth, said(15))
    assert f"{good:.3f}" in section and f"{weak:.3f}" in section and f"{good - weak:.3f}" in section
    assert "more than noise" in section  # 12 discordant items, all in favour of the good judge
