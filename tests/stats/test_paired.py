"""Paired comparisons of conditions (variants, judges): hand-checked values and reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

from selene_eval.errors import StatisticsError
from selene_eval.stats.paired import compare_conditions, flip_rate, holm, mcnemar_correctness


def test_flip_rate_counts_direction_against_the_reference_by_hand() -> None:
    ref = ["yes", "yes", "no", "no", "yes", None]
    a = ["yes", "no", "no", "yes", None, "yes"]
    b = ["no", "yes", "no", "no", "yes", "no"]
    result = flip_rate(a, b, ref)
    # item 0: a right -> b wrong (away); 1: wrong -> right (toward); 2: same; 3: wrong -> right (toward);
    # 4: a missing (excluded); 5: flips, but no reference: counted as a flip without direction.
    assert (result.n_compared, result.n_flipped, result.n_excluded) == (5, 4, 1)
    assert result.rate == pytest.approx(4 / 5)
    assert (result.n_toward_reference, result.n_away_from_reference, result.n_sideways) == (2, 1, 0)


def test_flip_rate_on_ordinal_labels_uses_the_distance_to_the_expert() -> None:
    order = ["1", "2", "3", "4", "5"]
    ref = ["3", "3", "3", "1"]
    a = ["5", "2", "2", "1"]
    b = ["4", "1", "4", "1"]
    result = flip_rate(a, b, ref, level="ordinal", order=order)
    # 5 -> 4 is closer to 3 (toward); 2 -> 1 further (away); 2 -> 4 same distance (sideways); 1 = 1 no flip
    assert (result.n_flipped, result.n_toward_reference, result.n_away_from_reference, result.n_sideways) == (
        3,
        1,
        1,
        1,
    )


def test_flip_rate_of_nothing_comparable_is_nan_not_zero() -> None:
    result = flip_rate([None, "yes"], ["no", None])
    assert result.n_compared == 0 and math.isnan(result.rate)


def test_mcnemar_matches_statsmodels_and_the_exact_binomial_by_hand() -> None:
    ref = ["yes"] * 30
    # a right on 20, b right on 12: both right 10, only a 10, only b 2, both wrong 8
    a = ["yes"] * 20 + ["no"] * 10
    b = ["yes"] * 10 + ["no"] * 10 + ["yes"] * 2 + ["no"] * 8
    result = mcnemar_correctness(ref, a, b)
    assert (result.n_both_right, result.n_only_a_right, result.n_only_b_right, result.n_both_wrong) == (10, 10, 2, 8)
    assert result.exact  # 12 discordant pairs < 25
    # Exact McNemar = two-sided binomial test of 2 successes in 12 trials at p = 1/2.
    assert result.p_value == pytest.approx(binomtest(2, 12, 0.5).pvalue, abs=1e-12)
    assert result.p_value == pytest.approx(sm_mcnemar([[10, 10], [2, 8]], exact=True).pvalue, abs=1e-12)
    # By hand: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12 = 2 * 79 / 4096
    assert result.p_value == pytest.approx(2 * 79 / 4096, abs=1e-12)


def test_mcnemar_uses_the_corrected_chi_square_with_many_discordant_pairs() -> None:
    ref = ["A"] * 100
    a = ["A"] * 40 + ["B"] * 60
    b = ["B"] * 40 + ["A"] * 20 + ["B"] * 40
    result = mcnemar_correctness(ref, a, b)  # only a right: 40, only b right: 20
    assert not result.exact
    expected = sm_mcnemar([[0, 40], [20, 40]], exact=False, correction=True)
    assert result.statistic == pytest.approx((abs(40 - 20) - 1) ** 2 / 60)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-12)


def test_mcnemar_without_discordant_pairs_says_no_difference() -> None:
    result = mcnemar_correctness(["yes", "no"], ["yes", "yes"], ["yes", "yes"])
    assert result.p_value == 1.0 and result.n_only_a_right == result.n_only_b_right == 0


def test_holm_matches_statsmodels_and_keeps_nan_in_place() -> None:
    p = [0.01, 0.04, math.nan, 0.03, 0.2]
    finite = [0.01, 0.04, 0.03, 0.2]
    expected = multipletests(finite, method="holm")[1]
    result = holm(p)
    assert math.isnan(result[2])
    assert [result[i] for i in (0, 1, 3, 4)] == pytest.approx(list(expected))
    # By hand: sorted 0.01*4 = 0.04, 0.03*3 = 0.09, 0.04*2 = 0.08 -> 0.09 (monotone), 0.2*1 = 0.2
    assert [result[i] for i in (0, 3, 1, 4)] == pytest.approx([0.04, 0.09, 0.09, 0.2])
    with pytest.raises(StatisticsError, match="between 0 and 1"):
        holm([1.5])


def _labels(rng: np.random.Generator, ref: list[str], accuracy: float) -> list[str]:
    return [r if rng.random() < accuracy else ("no" if r == "yes" else "yes") for r in ref]


def test_compare_conditions_difference_matches_scikit_learn_and_corrects_with_holm() -> None:
    rng = np.random.default_rng(3)
    ref = list(rng.choice(["yes", "no"], size=200))
    conditions = {"canonical": _labels(rng, ref, 0.9), "xml": _labels(rng, ref, 0.88), "bad": _labels(rng, ref, 0.6)}
    results = compare_conditions(
        ref,
        conditions,
        level="nominal",
        order=["yes", "no"],
        statistic="cohen_kappa",
        baseline="canonical",
        n_resamples=500,
        seed=1,
    )
    assert [(r.a, r.b) for r in results] == [("xml", "canonical"), ("bad", "canonical")]
    for r in results:
        expected = cohen_kappa_score(ref, conditions[r.a]) - cohen_kappa_score(ref, conditions["canonical"])
        assert r.difference == pytest.approx(expected, abs=1e-9)
        assert r.interval is not None and r.interval.low <= r.difference <= r.interval.high
        assert r.test == "paired bootstrap"
    xml, bad = results
    assert bad.significant and bad.p_value <= 2 / 501 * 1.0001  # far below: the smallest reportable p
    assert not xml.significant
    assert [xml.p_holm, bad.p_holm] == pytest.approx(holm([xml.p_value, bad.p_value]))
    # Same seed, same answer.
    again = compare_conditions(
        ref,
        conditions,
        level="nominal",
        order=["yes", "no"],
        statistic="cohen_kappa",
        baseline="canonical",
        n_resamples=500,
        seed=1,
    )
    assert again == results


def test_compare_conditions_on_accuracy_is_judged_by_mcnemar_and_skips_missing_labels() -> None:
    ref = ["yes"] * 30 + [None]
    a = ["yes"] * 20 + ["no"] * 10 + ["yes"]
    b = ["yes"] * 10 + ["no"] * 10 + ["yes"] * 2 + [None] * 8 + ["no"]
    (result,) = compare_conditions(
        ref, {"a": a, "b": b}, level="nominal", order=["yes", "no"], statistic="accuracy", n_resamples=0
    )
    assert result.n_items == 22 and result.n_excluded == 9
    assert result.interval is None
    assert result.test == "mcnemar (exact)"
    assert result.p_value == pytest.approx(binomtest(2, 12, 0.5).pvalue)
    assert result.value_a == pytest.approx(20 / 22) and result.value_b == pytest.approx(12 / 22)


def test_compare_conditions_refuses_what_it_cannot_compare() -> None:
    with pytest.raises(StatisticsError, match="baseline"):
        compare_conditions(["yes"], {"a": ["yes"]}, level="nominal", order=["yes", "no"], baseline="b")
    with pytest.raises(StatisticsError, match="one entry per item"):
        compare_conditions(["yes", "no"], {"a": ["yes"]}, level="nominal", order=["yes", "no"])
    with pytest.raises(StatisticsError, match="label order"):
        compare_conditions(["yes"], {"a": ["yes"], "b": ["no"]}, level="nominal")
    with pytest.raises(StatisticsError, match="not in the label order"):
        compare_conditions(["maybe"], {"a": ["yes"], "b": ["no"]}, level="nominal", order=["yes", "no"], n_resamples=0)
