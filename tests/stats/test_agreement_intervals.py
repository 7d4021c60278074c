"""Bootstrap intervals, warnings, the new statistics and the expert ceiling inside :func:`agreement`."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError
from selene_eval.stats.agreement import agreement, subgroup_agreement
from selene_eval.stats.alpha import substitution_differences
from selene_eval.stats.ceiling import expert_ceiling, substitution_statistic
from selene_eval.stats.coefficients import gwet_ac1, icc
from selene_eval.stats.consensus import code_table, consensus_codes
from selene_eval.stats.registry import EXTRA_METRICS, METRICS
from selene_eval.stats.uncertainty import bootstrap_intervals

LABELS = ["1", "2", "3", "4", "5"]


def ordinal_table(n: int = 200, seed: int = 3, n_experts: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, n)
    data = {"judge": [LABELS[i] for i in np.clip(truth + rng.integers(-1, 2, n), 0, 4)]}
    for e in range(n_experts):
        data[f"e{e}"] = [LABELS[i] for i in np.clip(truth + rng.integers(-1, 2, n) * (rng.random(n) < 0.3), 0, 4)]
    data["question"] = [f"q{i // 4}" for i in range(n)]  # 4 items per question
    return pd.DataFrame(data)


def coded_pair(table: pd.DataFrame, experts: list[str], level: str = "ordinal") -> tuple[np.ndarray, np.ndarray]:
    coded = code_table(table, experts, level, judge="judge", order=LABELS if level != "interval" else None)
    cons, _, _ = consensus_codes(coded.experts, level, len(coded.labels))
    keep = ~np.isnan(cons) & ~np.isnan(coded.judge)
    return cons[keep], coded.judge[keep]


@pytest.mark.parametrize("group", [None, "question"])
def test_intervals_present_and_contain_the_estimate(group: str | None) -> None:
    report = agreement(ordinal_table(), "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, group=group)
    expected = [n for n in METRICS["ordinal"] + EXTRA_METRICS["ordinal"]]
    assert list(report.intervals) == expected
    for name, interval in report.intervals.items():
        value = {**report.metrics, **report.extra_metrics}[name]
        assert interval.estimate == pytest.approx(value, abs=1e-9), name
        assert interval.low <= interval.estimate <= interval.high, (name, interval)
        assert interval.level == 0.95 and interval.n_resamples == 1000


def test_grouped_intervals_resample_groups_as_uncertainty_py_does() -> None:
    table = ordinal_table()
    report = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, group="question", seed=5)
    cons, judge = coded_pair(table, ["e0", "e1", "e2"])
    coded = code_table(table, ["e0", "e1", "e2"], "ordinal", judge="judge", order=LABELS)
    keep = ~np.isnan(consensus_codes(coded.experts, "ordinal", 5)[0]) & ~np.isnan(coded.judge)
    groups = pd.factorize(table["question"])[0][keep]
    direct = bootstrap_intervals(
        cons, judge, level="ordinal", n_labels=5, groups=groups, statistics=["cohen_kappa"], seed=5
    )
    assert report.intervals["cohen_kappa"] == direct["cohen_kappa"]


def test_seed_reproduces_and_changes_intervals() -> None:
    table = ordinal_table()
    a = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, seed=1)
    b = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, seed=1)
    c = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, seed=2)
    assert a.to_dict(with_uncertainty=True) == b.to_dict(with_uncertainty=True)
    assert a.intervals["cohen_kappa"].low != c.intervals["cohen_kappa"].low


def test_zero_resamples_gives_no_intervals_and_same_metrics() -> None:
    table = ordinal_table()
    with_ci = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS)
    without = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, n_resamples=0)
    assert without.intervals == {} and without.substitution_intervals == {}
    assert without.metrics == with_ci.metrics and without.to_dict() == with_ci.to_dict()
    data = without.to_dict(with_uncertainty=True)
    assert data["intervals"] == {} and data["n_resamples"] == 0
    assert all(row["interval"] is None for row in data["ceiling"]["substitution"])


@pytest.mark.parametrize("bad", [50, -1, 1.5, True])
def test_bad_resample_counts_are_errors(bad: object) -> None:
    with pytest.raises(StatisticsError):
        agreement(ordinal_table(), "judge", ["e0"], "ordinal", order=LABELS, n_resamples=bad)  # type: ignore[arg-type]


def test_gwet_ac1_and_linear_kappa_equal_the_reference_functions() -> None:
    table = ordinal_table()
    report = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, n_resamples=0)
    cons, judge = coded_pair(table, ["e0", "e1", "e2"])
    assert report.extra_metrics["gwet_ac1"] == pytest.approx(gwet_ac1(np.vstack([cons, judge]), 5), abs=1e-12)
    assert report.extra_metrics["linear_weighted_kappa"] == pytest.approx(
        cohen_kappa_score(cons.astype(int), judge.astype(int), labels=range(5), weights="linear"), abs=1e-12
    )
    assert report.extra_metrics["mean_absolute_error"] == pytest.approx(float(np.mean(np.abs(cons - judge))))
    nominal = agreement(table, "judge", ["e0", "e1", "e2"], "nominal", order=LABELS, n_resamples=0)
    assert nominal.extra_metrics["gwet_ac1"] == pytest.approx(gwet_ac1(np.vstack([cons, judge]), 5), abs=1e-12)


def test_icc_equals_coefficients_icc() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(3, 1, 80)
    table = pd.DataFrame(
        {
            "judge": truth + rng.normal(0.3, 0.5, 80),
            "e0": truth + rng.normal(0, 0.3, 80),
            "e1": truth + rng.normal(0, 0.3, 80),
        }
    )
    report = agreement(table, "judge", ["e0", "e1"], "interval", n_resamples=0)
    cons, judge = coded_pair(table, ["e0", "e1"], "interval")
    pair = np.column_stack([cons, judge])
    assert report.extra_metrics["icc_2_1"] == pytest.approx(icc(pair, "2,1"), abs=1e-12)
    assert report.extra_metrics["icc_3_1"] == pytest.approx(icc(pair, "3,1"), abs=1e-12)
    assert report.extra_metrics["icc_3_1"] > report.extra_metrics["icc_2_1"]  # the judge is biased upwards
    # With resamples the ICCs carry intervals like every other statistic.
    with_ci = agreement(table, "judge", ["e0", "e1"], "interval", n_resamples=500, seed=1)
    for name in ("icc_2_1", "icc_3_1"):
        interval = with_ci.intervals[name]
        assert interval.estimate == pytest.approx(report.extra_metrics[name], abs=1e-12)
        assert interval.low < interval.estimate < interval.high


def test_ceiling_and_substitution_intervals() -> None:
    table = ordinal_table()
    experts = ["e0", "e1", "e2"]
    report = agreement(table, "judge", experts, "ordinal", order=LABELS, group="question")
    assert report.ceiling == expert_ceiling(table, "judge", experts, "ordinal", order=LABELS)
    coded = code_table(table, experts, "ordinal", judge="judge", order=LABELS)
    expected = substitution_statistic(coded.experts, coded.judge, "ordinal")
    assert set(report.substitution_intervals) == set(experts)
    for e, diff in zip(experts, expected):
        interval = report.substitution_intervals[e]
        assert interval.estimate == pytest.approx(diff, abs=1e-12)
        assert interval.low <= interval.estimate <= interval.high
    data = json.loads(json.dumps(report.to_dict(with_uncertainty=True), allow_nan=False))
    rows = data["ceiling"]["substitution"]
    assert [r["replaced"] for r in rows] == experts
    assert all(r["interval"]["low"] <= r["difference"] <= r["interval"]["high"] for r in rows)
    single = agreement(table, "judge", ["e0"], "ordinal", order=LABELS)
    assert single.ceiling is None and single.to_dict(with_uncertainty=True)["ceiling"] is None


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_vectorized_substitution_equals_the_ceiling_module(level: str) -> None:
    rng = np.random.default_rng(11)
    experts = rng.integers(0, 4, (150, 3)).astype(float)
    judge = rng.integers(0, 4, 150).astype(float)
    experts[rng.random(experts.shape) < 0.2] = np.nan
    judge[rng.random(150) < 0.1] = np.nan
    if level == "interval":
        experts += rng.random(experts.shape).round(2)
    ours = substitution_differences(experts, judge, level, np.ones((1, 150)))[0]  # type: ignore[arg-type]
    np.testing.assert_allclose(ours, substitution_statistic(experts, judge, level), atol=1e-12)  # type: ignore[arg-type]


def test_kappa_paradox_and_small_n_warnings() -> None:
    # 19 of 20 items "yes" for both, one disagreement: accuracy 0.95, kappa 0, AC1 high.
    judge = ["yes"] * 19 + ["no"]
    expert = ["yes"] * 20
    report = agreement(pd.DataFrame({"j": judge, "e": expert}), "j", ["e"], "nominal", order=["yes", "no"])
    assert any(w.startswith("Kappa paradox likely") for w in report.warnings), report.warnings
    assert any("Only 20 items compared" in w for w in report.warnings)
    big = agreement(ordinal_table(300), "judge", ["e0"], "ordinal", order=LABELS)
    assert not any("items compared" in w for w in big.warnings)


def test_json_is_valid_without_nan_when_statistics_are_undefined() -> None:
    table = pd.DataFrame({"j": ["yes"] * 5, "a": ["yes"] * 5, "b": ["yes"] * 5})
    report = agreement(table, "j", ["a", "b"], "nominal")
    data = report.to_dict(with_uncertainty=True)
    json.dumps(data, allow_nan=False)
    assert data["intervals"]["cohen_kappa"]["estimate"] is None and data["intervals"]["cohen_kappa"]["note"]
    assert data["metrics"]["cohen_kappa"] is None and "gwet_ac1" in data["metrics"]


def test_ten_thousand_items_with_defaults_get_intervals() -> None:
    """The default resampling on a study-sized table: every interval defined. How fast it is, is measured by
    ``bench/stats.py`` (ratios in one process), not asserted here: a timed assertion fails on a busy machine."""
    rng = np.random.default_rng(0)
    n = 10_000
    table = pd.DataFrame({c: np.array(LABELS)[rng.integers(0, 5, n)] for c in ("judge", "e0", "e1", "e2")})
    table["g"] = rng.integers(0, 2_500, n).astype(str)
    report = agreement(table, "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, group="g")
    assert all(math.isfinite(i.low) for i in report.intervals.values())


def test_subgroup_agreement_equals_agreement_on_each_subset() -> None:
    table = ordinal_table(80)
    table["cat"] = ["a", "b", "c", None] * 20
    results = subgroup_agreement(table, "cat", "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, n_resamples=0)
    assert [value for value, _ in results] == ["a", "b", "c", None]
    for value, report in results:
        rows = table[table["cat"] == value] if value is not None else table[table["cat"].isna()]
        direct = agreement(
            rows.reset_index(drop=True), "judge", ["e0", "e1", "e2"], "ordinal", order=LABELS, n_resamples=0
        )
        assert report.to_dict(with_uncertainty=True) == direct.to_dict(with_uncertainty=True)
        assert any("fewer than 30" in w for w in report.warnings)  # 20 rows each
    with pytest.raises(StatisticsError, match="subgroup"):
        subgroup_agreement(table, "nope", "judge", ["e0"], "ordinal", order=LABELS)
