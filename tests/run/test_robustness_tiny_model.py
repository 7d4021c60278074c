"""Robustness measured on judgments from a real tiny Llama-3.1-style model (the same code path as Selene).

The tiny model always answers "A" whatever it is shown: in both orders it picks the first *slot*, so the
position swap must find every item inconsistent and a first-slot share of 1.0; and under a label set whose
words it never uses (none for pairwise) it must keep giving the same verdict across layouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.judge import create_backend
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing import build_tiny_model

pytestmark = pytest.mark.model

VARIANTS = [
    "selene",
    "selene.position-swapped",
    "selene.layout-xml",
    "selene.layout-markdown",
    "selene.order-response-first",
    "selene.surface-1",
]


def test_position_bias_of_a_tiny_model_that_always_says_a(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = build_tiny_model(tmp_path / "says-a", answer_label="A")
    items = [
        Item(
            str(i),
            f"Question {i}?",
            f"Answer {i}.",
            response_b=f"Other answer {i}.",
            experts={"e0": "A" if i % 2 else "B", "e1": "A" if i % 2 else "B"},
        )
        for i in range(6)
    ]
    spec = StudySpec(
        slug="tiny-pairs",
        title="tiny pairs",
        task=TaskType.PAIRWISE,
        experts=["e0", "e1"],
        rubric=default_rubric(TaskType.PAIRWISE),
        variants=VARIANTS,
    )
    study = StudyStore(tmp_path / "studies").create(spec, items)
    backend = create_backend(JudgeSpec(model=str(model), quantization="none", max_new_tokens=32, device="cpu"))
    try:
        result = run_study(study, backend, batch_size=12)
    finally:
        backend.close()
    assert result.n_judged == len(items) * len(VARIANTS) and result.n_failed == 0
    study.close()

    assert (
        main(["--studies-dir", str(tmp_path / "studies"), "report", "tiny-pairs", "--json", "--resamples", "100"]) == 0
    )
    (robust,) = json.loads(capsys.readouterr().out)["robustness"]
    (position,) = robust["position"]
    assert (position["original"], position["swapped"]) == ("selene", "selene.position-swapped")
    # "A" in the swapped order is the item's B: the two orders never agree, and the first slot always wins.
    assert position["n_compared"] == 6 and position["consistency"] == 0.0
    assert position["n_first_slot_wins_twice"] == 6 and position["first_slot_share"] == 1.0
    flips = {f["b"]: f for f in robust["flips_vs_baseline"]}
    assert flips["selene.position-swapped"]["rate"] == 1.0
    # Away from the experts on the items where "A" was right (odd ones), towards them on the even ones.
    assert flips["selene.position-swapped"]["n_toward_reference"] == 3
    assert flips["selene.position-swapped"]["n_away_from_reference"] == 3
    for variant in VARIANTS[2:]:
        assert flips[variant]["rate"] == 0.0  # format changes do not move a judge that ignores its input
    assert all(u["rate"] == 0.0 for u in robust["unparseable"])
