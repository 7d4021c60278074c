"""`report --json` carries the robustness measures for a study judged under several prompt variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore

VARIANTS = [
    "selene",
    "selene.labels-pass-fail",
    "selene.labels-true-false",
    "selene.layout-xml",
    "selene.layout-plain",
    "selene.surface-2",
]


def _answer(messages: list[Message]) -> str:
    text = messages[-1].content
    item = int(text.split("Question ")[1].split(":")[0])
    word = {"Pass or Fail": ("Pass", "Fail"), "True or False": ("True", "False")}
    yes, no = next((w for k, w in word.items() if k in text), ("Yes", "No"))
    label = item % 2 == 0
    if "<instruction>" in text and item in (1, 3):  # the XML layout flips two items towards "yes"
        label = True
    if "Pass or Fail" in text and item == 5:
        return "**Reasoning:** unsure"
    return f"**Reasoning:** ok\n\n**Result:** {yes if label else no}"


@pytest.fixture
def judged_study(tmp_path: Path) -> Path:
    items = [
        Item(
            str(i),
            f"Question {i}: is {i} even?",
            f"Answer {i}.",
            experts={"e0": "yes" if i % 2 == 0 else "no", "e1": "yes" if i % 2 == 0 or i == 1 else "no"},
        )
        for i in range(12)
    ]
    spec = StudySpec(
        slug="robust",
        title="Robust",
        task=TaskType.BINARY,
        experts=["e0", "e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=VARIANTS,
    )
    study = StudyStore(tmp_path).create(spec, items)
    judge = JudgeSpec(backend="scripted", model="scripted-report", quantization="none", name="Scripted")
    run_study(study, ScriptedBackend(judge, script=_answer))
    study.close()
    return tmp_path


def test_report_json_has_every_robustness_measure(judged_study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--studies-dir", str(judged_study), "report", "robust", "--json", "--resamples", "200"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "results" in data and len(data["results"]) == len(VARIANTS)  # existing keys kept
    (robust,) = data["robustness"]
    assert robust["conditions"] == VARIANTS and robust["baseline"] == "selene"
    assert robust["axis_of"]["selene.layout-xml"] == "layout" and robust["axis_of"]["selene.surface-2"] == "surface"
    spreads = {s["statistic"]: s for s in robust["spreads"]}
    assert {"accuracy", "cohen_kappa", "krippendorff_alpha"} <= set(spreads)
    # Accuracy: canonical 11/12 (item 1: experts split 1-1 -> no majority, so 11 compared, all right) ...
    flips = {f["b"]: f for f in robust["flips_vs_baseline"]}
    # The XML layout flips items 1 and 3 from "no" to "yes" (item 1 has no expert majority: not classified).
    assert flips["selene.layout-xml"]["n_flipped"] == 2 and flips["selene.layout-xml"]["n_away_from_reference"] == 1
    assert len(robust["flips"]) == len(VARIANTS) * (len(VARIANTS) - 1) // 2
    unparseable = {u["condition"]: u["rate"] for u in robust["unparseable"]}
    assert unparseable["selene.labels-pass-fail"] == pytest.approx(1 / 12) and unparseable["selene"] == 0.0
    assert robust["self_agreement"]["alpha"] < 1 and robust["reference_alpha"] is not None
    tests = {c["a"]: c for c in robust["accuracy_tests"]}
    assert tests["selene.layout-xml"]["test"].startswith("mcnemar") and "p_holm" in tests["selene.layout-xml"]
    assert {a["axis"] for a in robust["axes"]} == {"labels", "layout", "surface"}
    assert robust["position"] == []


def test_labels_in_other_words_are_read_as_canonical(judged_study: Path) -> None:
    study = StudyStore(judged_study).open("robust")
    report = study_report(study, n_resamples=0)
    values = report.robustness[0].measures.values
    # Pass/Fail and True/False answers map back to yes/no: same verdicts as canonical (one unparseable).
    assert values["selene.labels-true-false"] == pytest.approx(values["selene"])
    study.close()
