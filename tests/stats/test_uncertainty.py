"""Bootstrap intervals: exactness against the reference libraries, grouping, BCa, errors."""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError
from selene_eval.stats import uncertainty as unc
from selene_eval.stats.coefficients import icc
from selene_eval.stats.registry import APPLICABLE, DEFAULT_STATISTICS
from selene_eval.stats.uncertainty import (
    Interval,
    bca_interval,
    bootstrap_intervals,
    paired_bootstrap_difference,
    percentile_interval,
)

TOL = 1e-9


def gwet_ac1_reference(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Gwet (2008) AC1 written out item by item."""
    p_o = float(np.mean(a == b))
    pi = [(np.mean(a == c) + np.mean(b == c)) / 2 for c in range(k)]
    p_e = sum(p * (1 - p) for p in pi) / (k - 1)
    return (p_o - p_e) / (1 - p_e)


def reference(name: str, a: np.ndarray, b: np.ndarray, level: str, k: int | None) -> float:
    """The statistic from sklearn / scipy / krippendorff on explicit items."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "accuracy":
            return float(np.mean(a == b))
        if name == "mean_absolute_error":
            return float(np.mean(np.abs(a - b)))
        if name.endswith("kappa"):
            weights = {"cohen_kappa": None, "linear_weighted_kappa": "linear"}.get(name, "quadratic")
            return float(cohen_kappa_score(a.astype(int), b.astype(int), labels=list(range(k)), weights=weights))
        if name == "gwet_ac1":
            return gwet_ac1_reference(a, b, k)
        if name == "krippendorff_alpha":
            return float(krippendorff.alpha(reliability_data=np.vstack([a, b]), level_of_measurement=level))
        if name == "spearman":
            return float(stats.spearmanr(a, b).statistic)
        if name == "kendall_tau":
            return float(stats.kendalltau(a, b).statistic)
        if name == "pearson":
            return float(stats.pearsonr(a, b).statistic)
        if name in ("icc_2_1", "icc_3_1"):
            # The item-by-item ANOVA of coefficients.icc (itself checked against published values).
            return icc(np.c_[a, b], "2,1" if name == "icc_2_1" else "3,1")
    raise AssertionError(name)


def random_pair(rng: np.random.Generator, level: str, n: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    if level == "interval":
        a = np.round(rng.normal(3, 1, n), 1)  # repeated values: ties matter for ranks
        b = np.round(a + rng.normal(0, 0.8, n), 1)
        return a, b
    a = rng.integers(0, k, n).astype(float)
    b = np.where(rng.random(n) < 0.5, a, rng.integers(0, k, n)).astype(float)
    return a, b


def vectorized(name: str, a: np.ndarray, b: np.ndarray, level: str, k: int | None, reps=None) -> float:
    """Our vectorized statistic on the items, optionally repeated ``reps`` times (a resample)."""
    design = unc._design([a, b], ["a", "b"], level, k, None)
    weights = design.total if reps is None else None
    if reps is not None:
        # cell weights of the resample: each item contributes its repeat count to its cell
        weights = np.zeros(design.n_cells)
        full = unc._design([a, b], ["a", "b"], level, k, np.arange(a.size))
        # item i is group i; type tables map groups (types) to cells
        per_group = full.type_tables[full.type_of_group]
        weights = np.asarray(per_group.T @ reps, dtype=float)
    values, defined = unc._Batch(design, weights[None, :], 0, 1).compute(name)
    return float(values[0]) if defined[0] else math.nan


LEVEL_CASES = [("nominal", 4), ("ordinal", 5), ("interval", None)]


@pytest.mark.parametrize(("level", "k"), LEVEL_CASES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_unit_weights_match_libraries(level: str, k: int | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = random_pair(rng, level, int(rng.integers(20, 300)), k or 5)
    for name in APPLICABLE[level]:
        assert vectorized(name, a, b, level, k) == pytest.approx(reference(name, a, b, level, k), abs=TOL), name


@pytest.mark.parametrize(("level", "k"), LEVEL_CASES)
def test_resample_matches_libraries_on_repeated_items(level: str, k: int | None) -> None:
    rng = np.random.default_rng(7)
    a, b = random_pair(rng, level, 120, k or 5)
    for _ in range(4):
        idx = rng.integers(0, a.size, a.size)
        reps = np.bincount(idx, minlength=a.size).astype(float)
        ra, rb = a[idx], b[idx]
        for name in APPLICABLE[level]:
            got = vectorized(name, a, b, level, k, reps)
            assert got == pytest.approx(reference(name, ra, rb, level, k), abs=TOL), name


def test_kendall_loop_path_matches_table_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    a, b = random_pair(rng, "interval", 150)
    fast = bootstrap_intervals(a, b, level="interval", n_labels=None, statistics=["kendall_tau"], n_resamples=100)
    monkeypatch.setattr(unc, "_MAX_KENDALL_TABLE", 1)
    slow = bootstrap_intervals(a, b, level="interval", n_labels=None, statistics=["kendall_tau"], n_resamples=100)
    for attr in ("estimate", "low", "high"):
        assert getattr(slow["kendall_tau"], attr) == pytest.approx(getattr(fast["kendall_tau"], attr), abs=TOL)


def test_interval_alpha_is_exact_for_large_offsets() -> None:
    rng = np.random.default_rng(5)
    a = 1e6 + np.round(rng.normal(0, 2, 80), 2)
    b = a + np.round(rng.normal(0, 1, 80), 2)
    for name in ("krippendorff_alpha", "pearson"):
        assert vectorized(name, a, b, "interval", None) == pytest.approx(
            reference(name, a, b, "interval", None), abs=1e-8
        )


def test_estimates_are_the_point_statistics() -> None:
    rng = np.random.default_rng(11)
    a, b = random_pair(rng, "ordinal", 200)
    result = bootstrap_intervals(a, b, level="ordinal", n_labels=5, n_resamples=200)
    assert list(result) == list(DEFAULT_STATISTICS["ordinal"])
    for name, interval in result.items():
        assert interval.estimate == pytest.approx(reference(name, a, b, "ordinal", 5), abs=TOL)
        assert interval.low <= interval.high
        assert interval.n_resamples == 200 and interval.n_valid == 200


# --------------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------------


def test_items_of_a_group_are_resampled_together() -> None:
    # Every group holds one (0, 1) item and one (1, 0) item: any union of whole groups gives a
    # symmetric confusion table; item resampling does not.
    n_groups = 50
    a = np.tile([0.0, 1.0], n_groups)
    b = np.tile([1.0, 0.0], n_groups)
    a = np.concatenate([a, np.zeros(20)])  # plus some agreeing singleton groups
    b = np.concatenate([b, np.zeros(20)])
    groups = np.concatenate([np.repeat(np.arange(n_groups), 2), 1000 + np.arange(20)])
    for grp, symmetric in ((groups, True), (None, False)):
        design = unc._design([a, b], ["a", "b"], "nominal", 2, grp)
        counts = unc._draw_type_counts(design, 300, np.random.default_rng(0))
        table = unc._Batch(design, unc._cell_weights(design, counts), 0, 1).table()
        assert np.all(counts.sum(axis=1) == design.n_groups)
        assert np.array_equal(table[:, 0, 1], table[:, 1, 0]) == symmetric


def test_group_index_path_also_keeps_groups_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force the (B x G) index-matrix path (used when there are many distinct group types).
    monkeypatch.setattr(unc, "_MULTINOMIAL_TYPE_RATIO", 10**9)
    rng = np.random.default_rng(2)
    n_groups = 60
    extra = rng.integers(0, 3, n_groups).astype(float)
    a = np.concatenate([np.zeros(n_groups), np.ones(n_groups), extra])
    b = np.concatenate([np.ones(n_groups), np.zeros(n_groups), extra])
    groups = np.concatenate([np.arange(n_groups)] * 3)
    design = unc._design([a, b], ["a", "b"], "nominal", 3, groups)
    counts = unc._draw_type_counts(design, 300, np.random.default_rng(0))
    table = unc._Batch(design, unc._cell_weights(design, counts), 0, 1).table()
    assert np.array_equal(table[:, 0, 1], table[:, 1, 0])
    assert np.all(table.sum(axis=(1, 2)) == 3 * n_groups)


def test_multinomial_and_index_paths_agree_in_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    a, b = random_pair(rng, "nominal", 400, 3)
    fast = bootstrap_intervals(a, b, level="nominal", n_labels=3, n_resamples=4000, method="percentile")
    monkeypatch.setattr(unc, "_MULTINOMIAL_TYPE_RATIO", 10**9)  # force the index matrix
    slow = bootstrap_intervals(a, b, level="nominal", n_labels=3, n_resamples=4000, method="percentile")
    for name in fast:
        assert fast[name].low == pytest.approx(slow[name].low, abs=0.01)
        assert fast[name].high == pytest.approx(slow[name].high, abs=0.01)


def test_clustered_data_give_wider_intervals_with_groups() -> None:
    # Items of a question are copies of each other: 40 independent units, not 200.
    rng = np.random.default_rng(8)
    a0, b0 = random_pair(rng, "nominal", 40, 3)
    a, b = np.repeat(a0, 5), np.repeat(b0, 5)
    groups = np.repeat(np.arange(40), 5)
    kw = {"level": "nominal", "n_labels": 3, "n_resamples": 2000, "method": "percentile"}
    by_item = bootstrap_intervals(a, b, **kw)
    by_group = bootstrap_intervals(a, b, groups=groups, **kw)
    unclustered = bootstrap_intervals(a0, b0, **kw)
    for name in ("accuracy", "cohen_kappa"):
        width_item = by_item[name].high - by_item[name].low
        width_group = by_group[name].high - by_group[name].low
        assert width_group > 1.8 * width_item  # ~ sqrt(5) wider
        # Grouped resampling of the copies = item resampling of the 40 originals, exactly in law.
        assert width_group == pytest.approx(unclustered[name].high - unclustered[name].low, rel=0.15)


def test_groups_accept_string_ids_and_reject_missing() -> None:
    a = np.array([0, 1, 1, 0, 1, 0], float)
    b = np.array([0, 1, 0, 0, 1, 1], float)
    res = bootstrap_intervals(a, b, level="nominal", n_labels=2, groups=np.array(list("aabbcc")), n_resamples=100)
    assert res["accuracy"].n_resamples == 100
    with pytest.raises(StatisticsError, match="missing ids"):
        bootstrap_intervals(a, b, level="nominal", n_labels=2, groups=np.array(["a", None, "b", "b", "c", "c"]))
    with pytest.raises(StatisticsError, match="one id per item"):
        bootstrap_intervals(a, b, level="nominal", n_labels=2, groups=np.arange(5))


# --------------------------------------------------------------------------------------------------
# Intervals: reproducibility, BCa, degenerate cases
# --------------------------------------------------------------------------------------------------


def test_same_seed_same_intervals_other_seed_differs() -> None:
    rng = np.random.default_rng(9)
    a, b = random_pair(rng, "ordinal", 150)
    first = bootstrap_intervals(a, b, level="ordinal", n_labels=5, seed=3)
    again = bootstrap_intervals(a, b, level="ordinal", n_labels=5, seed=3)
    other = bootstrap_intervals(a, b, level="ordinal", n_labels=5, seed=4)
    assert first == again
    assert any(first[k].low != other[k].low for k in first)


def test_bca_matches_hand_computation() -> None:
    boot = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] * 20)
    estimate = 0.45
    jack = np.array([0.40, 0.42, 0.47, 0.50, 0.41])
    share = np.mean(boot < estimate)  # no ties
    z0 = stats.norm.ppf(share)
    u = jack.mean() - jack
    a = np.sum(u**3) / (6 * np.sum(u**2) ** 1.5)
    levels = [stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in stats.norm.ppf([0.05, 0.95])]
    low, high, note = bca_interval(boot, estimate, jack, 0.90)
    assert note is None
    assert (low, high) == pytest.approx(tuple(np.quantile(boot, levels)), abs=1e-12)
    # weights = repeating jackknife values
    low_w, high_w, _ = bca_interval(boot, estimate, np.array([0.4, 0.5]), 0.9, np.array([3, 1]))
    low_r, high_r, _ = bca_interval(boot, estimate, np.array([0.4, 0.4, 0.4, 0.5]), 0.9)
    assert (low_w, high_w) == pytest.approx((low_r, high_r), abs=1e-12)


def test_bca_matches_scipy_levels_on_the_same_resamples() -> None:
    from scipy.stats import _resampling  # private, but the reference implementation of BCa

    rng = np.random.default_rng(12)
    x = (rng.random(150) < 0.7).astype(float)  # agreement indicators: accuracy = mean
    boot = rng.choice(x, size=(3000, x.size)).mean(axis=1)
    try:
        alpha_1, alpha_2, _ = _resampling._bca_interval((x,), np.mean, -1, 0.025, boot, None, np)
    except TypeError:  # signature differs across scipy versions
        pytest.skip("scipy's private _bca_interval has another signature")
    expected = np.quantile(boot, [float(alpha_1), float(alpha_2)])
    low, high, note = bca_interval(
        boot, float(x.mean()), np.array([np.delete(x, i).mean() for i in range(x.size)]), 0.95
    )
    assert note is None
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-12)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_accuracy_interval_close_to_scipy_bootstrap(method: str) -> None:
    rng = np.random.default_rng(21)
    a, b = random_pair(rng, "nominal", 300, 3)
    ours = bootstrap_intervals(
        a, b, level="nominal", n_labels=3, statistics=["accuracy"], n_resamples=5000, method=method
    )
    theirs = stats.bootstrap(
        ((a == b).astype(float),),
        np.mean,
        n_resamples=5000,
        method=method.upper() if method == "bca" else method,
        random_state=1,
        confidence_level=0.95,
    )
    assert ours["accuracy"].method == method
    assert ours["accuracy"].low == pytest.approx(theirs.confidence_interval.low, abs=0.02)
    assert ours["accuracy"].high == pytest.approx(theirs.confidence_interval.high, abs=0.02)


def test_percentile_interval_quantiles() -> None:
    boot = np.arange(101, dtype=float)
    assert percentile_interval(boot, 0.9) == pytest.approx((5.0, 95.0), abs=1e-12)


def test_single_class_gives_nan_with_note() -> None:
    a = np.zeros(30)
    res = bootstrap_intervals(a, a.copy(), level="nominal", n_labels=2, n_resamples=100)
    for name in ("cohen_kappa", "krippendorff_alpha"):
        assert math.isnan(res[name].estimate) and math.isnan(res[name].low) and math.isnan(res[name].high)
        assert "undefined on the data" in res[name].note
        assert res[name].to_dict()["low"] is None
    assert res["accuracy"].estimate == 1.0 and res["accuracy"].low == res["accuracy"].high == 1.0
    assert res["gwet_ac1"].estimate == 1.0  # AC1 stays defined (p_e = 0)


def test_all_agree_with_two_classes() -> None:
    a = np.array([0.0] * 25 + [1.0] * 5)
    res = bootstrap_intervals(a, a.copy(), level="nominal", n_labels=2, n_resamples=500)
    kappa = res["cohen_kappa"]
    assert kappa.estimate == 1.0 and kappa.low == kappa.high == 1.0
    # resamples with only class 0 are undefined and dropped
    assert kappa.n_valid < 500 and "dropped" in kappa.note
    assert kappa.method == "percentile" and "BCa not used" in kappa.note


def test_mostly_undefined_resamples_give_nan() -> None:
    # Pearson needs both raters to vary: both singular items must be drawn, P ~ 0.63^2 = 0.40.
    a = np.array([0.0] * 99 + [1.0])
    b = np.array([1.0] + [0.0] * 99)
    res = bootstrap_intervals(a, b, level="ordinal", n_labels=2, statistics=["pearson"], n_resamples=400)
    pearson = res["pearson"]
    assert pearson.estimate == pytest.approx(stats.pearsonr(a, b).statistic, abs=TOL)
    assert pearson.n_valid < 200 and math.isnan(pearson.low) and "fewer than 50%" in pearson.note


def test_one_group_gives_nan_interval() -> None:
    a = np.array([0.0, 1.0, 1.0])
    res = bootstrap_intervals(a, a, level="nominal", n_labels=2, groups=np.zeros(3), n_resamples=100)
    assert math.isnan(res["accuracy"].low) and "at least 2 groups" in res["accuracy"].note


def test_to_dict() -> None:
    interval = Interval(0.5, math.nan, 0.7, 0.95, "percentile", 100, 40, "why")
    assert interval.to_dict() == {
        "estimate": 0.5,
        "low": None,
        "high": 0.7,
        "level": 0.95,
        "method": "percentile",
        "n_resamples": 100,
        "n_valid": 40,
        "note": "why",
    }


# --------------------------------------------------------------------------------------------------
# Paired difference
# --------------------------------------------------------------------------------------------------


def test_paired_difference() -> None:
    rng = np.random.default_rng(13)
    ref, a = random_pair(rng, "nominal", 300, 3)
    b = np.where(rng.random(300) < 0.3, ref, rng.integers(0, 3, 300)).astype(float)
    diff = paired_bootstrap_difference(ref, a, b, level="nominal", n_labels=3, statistic="cohen_kappa")
    expected = reference("cohen_kappa", ref, a, "nominal", 3) - reference("cohen_kappa", ref, b, "nominal", 3)
    assert diff.estimate == pytest.approx(expected, abs=TOL)
    assert diff.low < diff.estimate < diff.high
    same = paired_bootstrap_difference(ref, a, a, level="nominal", n_labels=3, statistic="accuracy")
    assert same.estimate == same.low == same.high == 0.0
    # Pairing: narrower than the sum of the separate half-widths.
    sep = bootstrap_intervals(ref, a, level="nominal", n_labels=3, statistics=["cohen_kappa"])["cohen_kappa"]
    assert diff.high - diff.low < 2 * (sep.high - sep.low)


def test_paired_difference_uses_the_same_resamples() -> None:
    rng = np.random.default_rng(14)
    ref, a = random_pair(rng, "ordinal", 200)
    b = np.clip(a + rng.integers(-1, 2, 200), 0, 4)
    diff = paired_bootstrap_difference(
        ref, a, b, level="ordinal", n_labels=5, statistic="spearman", method="percentile"
    )
    # On the same resamples the difference distribution equals the difference of the two statistics.
    design = unc._design([ref, a, b], ["r", "a", "b"], "ordinal", 5, None)
    counts = unc._draw_type_counts(design, 1000, np.random.default_rng(0))
    w = unc._cell_weights(design, counts)
    d = unc._Batch(design, w, 0, 1).spearman()[0] - unc._Batch(design, w, 0, 2).spearman()[0]
    assert (diff.low, diff.high) == pytest.approx(percentile_interval(d, 0.95), abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codes_b": np.zeros(3)}, "pair up"),
        ({"codes_a": np.zeros(0), "codes_b": np.zeros(0)}, "no items"),
        ({"level": "ratio"}, "Unknown measurement level"),
        ({"n_resamples": 99}, "at least 100"),
        ({"level_ci": 1.5}, "between 0 and 1"),
        ({"method": "basic"}, "Unknown interval method"),
        ({"statistics": ["pearson"], "level": "nominal"}, "do not apply"),
        ({"statistics": ["nope"]}, "Unknown statistic"),
        ({"codes_a": np.array([0, 1, np.nan, 1.0])}, "missing"),
        ({"codes_a": np.array([0, 1, 0.5, 1.0])}, "label codes"),
        ({"n_labels": 1}, "go up to"),
        ({"n_labels": 0}, "positive integer"),
        ({"codes_a": np.zeros((2, 2))}, "one-dimensional"),
    ],
)
def test_bad_input_raises(kwargs: dict, message: str) -> None:
    args = {
        "codes_a": np.array([0, 1, 1, 0.0]),
        "codes_b": np.array([0, 1, 0, 0.0]),
        "level": "nominal",
        "n_labels": 2,
        "n_resamples": 100,
    } | kwargs
    with pytest.raises(StatisticsError, match=message):
        bootstrap_intervals(args.pop("codes_a"), args.pop("codes_b"), **args)
