"""Compare judges on the same expert labels: per-judge statistics, paired tests, the judge x variant grid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.compare import (
    build_difference,
    compare_judges,
    judge_disagreements,
    judge_variant_grid,
)
from selene_eval.presentation.report import study_report
from selene_eval.run.runner import run_study
from selene_eval.stats.paired import holm
from selene_eval.testing.studies import make_study as build_study

N = 30


def _truth(i: int) -> str:
    return "yes" if i % 3 else "no"


def _flip(label: str) -> str:
    return "no" if label == "yes" else "yes"


def make_study(studies_dir: Path, slug: str = "judges") -> object:
    # Three experts who always agree, so the consensus is the truth.
    return build_study(
        studies_dir,
        N,
        slug=slug,
        title="judges",
        experts=("ann", "bob", "cy"),
        reference="Reference {i}.",
        labels=lambda i: {"ann": _truth(i), "bob": _truth(i), "cy": _truth(i) if i != 0 else _flip(_truth(0))},
        variants=("selene", "selene-ref"),
    )


def scripted(right: set[int]):
    """A judge that is right exactly on the items in ``right``."""

    def answer(messages: list[Message]) -> str:
        i = int(re.search(r"Question (\d+)\?", messages[-1].content).group(1))  # type: ignore[union-attr]
        label = _truth(i) if i in right else _flip(_truth(i))
        return f"**Reasoning:** judge reasoning {i}\n\n**Result:** {label.capitalize()}"

    return answer


# X right on 0-19; Y right on 0-9 and 20-21: both right 10, only X 10, only Y 2, both wrong 8.
X_RIGHT = set(range(20))
Y_RIGHT = set(range(10)) | {20, 21}
X = JudgeSpec(backend="scripted", model="judge-x", name="X")
Y = JudgeSpec(backend="scripted", model="judge-y", name="Y")


def test_two_judges_side_by_side_with_hand_checked_paired_test(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    run_study(study, ScriptedBackend(X, script=scripted(X_RIGHT)))
    run_study(study, ScriptedBackend(Y, script=scripted(Y_RIGHT)))
    result = compare_judges(study, variant_id="selene", statistic="accuracy", n_resamples=500, seed=2)
    judges = {j.name: j for j in result.judges}
    assert set(judges) == {"X", "Y"}
    x, y = judges["X"], judges["Y"]
    assert (x.n_compared, y.n_compared) == (N, N)
    assert x.value == pytest.approx(20 / 30) and y.value == pytest.approx(12 / 30)
    assert x.interval is not None and x.interval.low <= x.value <= x.interval.high
    # Compare X with Y whichever order the store lists them in.
    result = compare_judges(study, variant_id="selene", judges=[X, Y], statistic="accuracy", n_resamples=500, seed=2)
    (pair,) = result.pairs
    assert (pair.a, pair.b) == (X.judge_id, Y.judge_id)
    mc = pair.test.mcnemar
    assert (mc.n_both_right, mc.n_only_a_right, mc.n_only_b_right, mc.n_both_wrong) == (10, 10, 2, 8)
    # Exact McNemar by hand: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12
    assert pair.test.p_value == pytest.approx(2 * 79 / 4096, abs=1e-12)
    assert pair.test.p_value == pytest.approx(binomtest(2, 12, 0.5).pvalue, abs=1e-12)
    assert pair.test.difference == pytest.approx(8 / 30)
    # The judges' labels differ on the 12 discordant items: 10 times X is the one that is right.
    assert pair.flips.n_flipped == 12 and pair.flips.n_toward_reference == 10 and pair.flips.n_away_from_reference == 2
    assert pair.build_difference == ()
    assert result.experts_alpha is not None and 0 < result.experts_alpha < 1


def test_kappa_comparison_matches_scikit_learn_and_holm_across_three_judges(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    z = JudgeSpec(backend="scripted", model="judge-z", name="Z")
    run_study(study, ScriptedBackend(X, script=scripted(X_RIGHT)))
    run_study(study, ScriptedBackend(Y, script=scripted(Y_RIGHT)))
    run_study(study, ScriptedBackend(z, script=scripted(set(range(N)) - {3})))
    result = compare_judges(study, variant_id="selene", n_resamples=300, seed=0)
    assert result.statistic == "cohen_kappa"
    truth = [_truth(i) for i in range(N)]

    def labels(right: set[int]) -> list[str]:
        return [_truth(i) if i in right else _flip(_truth(i)) for i in range(N)]

    kappas = {
        "X": cohen_kappa_score(truth, labels(X_RIGHT)),
        "Y": cohen_kappa_score(truth, labels(Y_RIGHT)),
        "Z": cohen_kappa_score(truth, labels(set(range(N)) - {3})),
    }
    assert {j.name: j.value for j in result.judges} == pytest.approx(kappas, abs=1e-9)
    assert len(result.pairs) == 3
    for pair in result.pairs:
        a, b = result.name_of(pair.a), result.name_of(pair.b)
        assert pair.test.difference == pytest.approx(kappas[a] - kappas[b], abs=1e-9)
    assert [p.test.p_holm for p in result.pairs] == pytest.approx(holm([p.test.p_value for p in result.pairs]))
    data = result.to_dict()
    pair = next(p for p in data["pairs"] if {p["judge_a"], p["judge_b"]} == {"X", "Y"})
    assert pair["mcnemar"]["n_only_a_right"] + pair["mcnemar"]["n_only_b_right"] == 12


def test_grid_and_disagreements(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    run_study(study, ScriptedBackend(X, script=scripted(X_RIGHT)))
    run_study(study, ScriptedBackend(Y, script=scripted(Y_RIGHT)), variant_ids=["selene"])
    grid = judge_variant_grid(study_report(study, n_resamples=0), "accuracy")
    values = {(r.judge, r.variant): r.value for r in grid.itertuples()}
    assert values[("X", "selene")] == pytest.approx(20 / 30)
    assert values[("X", "selene-ref")] == pytest.approx(20 / 30)
    assert values[("Y", "selene")] == pytest.approx(12 / 30)
    assert grid[(grid.judge == "Y") & (grid.variant == "selene-ref")]["n_compared"].item() == 0
    rows = judge_disagreements(study, X, Y, "selene")
    assert len(rows) == 12
    assert rows["closer"].value_counts().to_dict() == {"a": 10, "b": 2}
    first = rows.iloc[0]
    assert first["reasoning_a"] == f"judge reasoning {first['item_id']}"
    assert {"expert:ann", "expert:bob", "expert:cy", "consensus"} <= set(rows.columns)


def test_quantization_pairs_are_recognised() -> None:
    nf4 = JudgeSpec(model="m", quantization="nf4")
    assert build_difference(nf4, nf4.model_copy(update={"quantization": "none"})) == ("quantization",)
    assert build_difference(nf4, JudgeSpec(model="other")) == ()
    assert build_difference(nf4, nf4.model_copy(update={"name": "renamed"})) == ()


def test_an_unknown_variant_is_refused(studies_dir: Path) -> None:
    from selene_eval.errors import SeleneEvalError

    study = make_study(studies_dir)
    with pytest.raises(SeleneEvalError, match="no prompt variant 'nope'"):
        compare_judges(study, variant_id="nope")


def test_judges_keep_their_order_and_can_be_renamed_without_touching_judgments(studies_dir: Path) -> None:
    from selene_eval.errors import StudyError

    study = make_study(studies_dir)
    z = JudgeSpec(backend="scripted", model="judge-z")
    for spec, right in ((Y, Y_RIGHT), (X, X_RIGHT), (z, X_RIGHT)):
        run_study(study, ScriptedBackend(spec, script=scripted(right)), variant_ids=["selene"])
    assert [j.judge_id for j in study.judgments.judges()] == [Y.judge_id, X.judge_id, z.judge_id]
    before = compare_judges(study, n_resamples=0)
    renamed = study.judgments.rename_judge(z.judge_id, "  Oracle v2 ")
    assert renamed.name == "Oracle v2" and renamed.judge_id == z.judge_id
    after = compare_judges(study, n_resamples=0)
    assert after.name_of(z.judge_id) == "Oracle v2"
    assert [j.value for j in after.judges] == [j.value for j in before.judges]
    assert study.judgments.rename_judge(z.judge_id, "").name is None  # back to the automatic name
    with pytest.raises(StudyError, match="no judge with id"):
        study.judgments.rename_judge("nope", "x")
    with pytest.raises(StudyError, match="one line"):
        study.judgments.rename_judge(z.judge_id, "a\nb")


def test_cli_lists_and_renames_judges(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from selene_eval.cli import main

    study = make_study(studies_dir)
    run_study(study, ScriptedBackend(X, script=scripted(X_RIGHT)), variant_ids=["selene"])
    args = ["--studies-dir", str(studies_dir), "judges", "judges"]
    assert main([*args, "--rename", X.judge_id, "Selene 4-bit", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["judges"] == [
        {
            "judge_id": X.judge_id,
            "name": "Selene 4-bit",
            "judgments": N,
            "backend": "scripted",
            "model": "judge-x",
            "quantization": "nf4",
            "dtype": "auto",
            "max_new_tokens": 512,
            "decoding": "greedy",
        }
    ]
    assert main([*args, "--rename", "nope", "x"]) == 2
    assert "no judge with id 'nope'" in capsys.readouterr().err
