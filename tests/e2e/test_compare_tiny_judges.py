"""Issue 10 end to end: one study judged by two different real tiny models (one of them in 4-bit and in full
precision: the quantization question) and by the scripted backend; the comparison sees every judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.judge import create_backend
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.compare import compare_judges, judge_variant_grid
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing import build_tiny_model

pytestmark = pytest.mark.model

N = 12


def _truth(i: int) -> str:
    return "yes" if i % 3 else "no"  # 8 yes, 4 no


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("judges")
    return {
        "yes": build_tiny_model(root / "says-yes", answer_label="Yes"),
        "no": build_tiny_model(root / "says-no", answer_label="No"),
    }


def test_three_kinds_of_judge_on_one_study(studies_dir: Path, models: dict[str, Path], capsys) -> None:
    items = [
        Item(str(i), f"Question {i}?", f"Answer {i}.", experts={"ann": _truth(i), "bob": _truth(i)}) for i in range(N)
    ]
    spec = StudySpec(
        slug="tiny-judges",
        title="tiny judges",
        task=TaskType.BINARY,
        experts=["ann", "bob"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    study = StudyStore(studies_dir).create(spec, items)
    says_yes_4bit = JudgeSpec(model=str(models["yes"]), quantization="nf4", max_new_tokens=32, device="cpu")
    says_yes_full = says_yes_4bit.model_copy(update={"quantization": "none"})
    says_no = JudgeSpec(model=str(models["no"]), quantization="none", max_new_tokens=32, device="cpu")
    scripted = JudgeSpec(backend="scripted", model="oracle")
    for judge in (says_yes_4bit, says_yes_full, says_no):
        backend = create_backend(judge)
        try:
            result = run_study(study, backend, batch_size=6)
        finally:
            backend.close()
        assert result.n_judged == N and result.n_failed == 0
    run_study(
        study,
        ScriptedBackend(
            scripted,
            script=lambda m: (
                "**Result:** " + ("No" if int(m[-1].content.split("Question ")[1].split("?")[0]) % 3 == 0 else "Yes")
            ),
        ),
    )

    comparison = compare_judges(study, statistic="accuracy", n_resamples=200)
    values = {j.judge_id: j.value for j in comparison.judges}
    assert values == pytest.approx(
        {
            says_yes_4bit.judge_id: 8 / 12,
            says_yes_full.judge_id: 8 / 12,
            says_no.judge_id: 4 / 12,
            scripted.judge_id: 1.0,
        }
    )
    pairs = {frozenset((p.a, p.b)): p for p in comparison.pairs}
    assert len(pairs) == 6
    quant = pairs[frozenset((says_yes_4bit.judge_id, says_yes_full.judge_id))]
    assert quant.build_difference == ("quantization",)
    assert quant.flips.n_flipped == 0 and quant.test.difference == 0  # NF4 keeps the tiny model's answers
    opposite = pairs[frozenset((says_yes_full.judge_id, says_no.judge_id))]
    assert opposite.flips.rate == 1.0
    grid = judge_variant_grid(study_report(study, n_resamples=0), "accuracy")
    assert len(grid) == 4 and grid["value"].notna().all()

    # The CLI report carries the same comparison.
    assert main(["--studies-dir", str(studies_dir), "report", "tiny-judges", "--json", "--resamples", "200"]) == 0
    data = json.loads(capsys.readouterr().out)
    cli_pairs = data["judge_comparisons"][0]["pairs"]
    assert len(cli_pairs) == 6
    assert {j["judge_id"] for j in data["judge_comparisons"][0]["judges"]} == set(values)
