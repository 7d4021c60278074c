"""Coefficients against published values, hand arithmetic, and the reference libraries called directly."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from selene_eval.errors import StatisticsError
from selene_eval.stats.coefficients import (
    fleiss_kappa,
    fleiss_kappa_checked,
    gwet_ac1,
    gwet_ac1_checked,
    icc,
    kappa_paradox,
    mean_absolute_error,
    weighted_kappa,
)

nan = np.nan
TOL = 1e-9

# --------------------------------------------------------------------------------------------------
# Gwet's AC1
# --------------------------------------------------------------------------------------------------

# irrCAC example dataset ``raw_4raters`` (Gwet 2014, Handbook of Inter-Rater Reliability, 4th ed., p. 120;
# shipped as ``cac.raw4raters`` in the R package and ``irrCAC.datasets.raw_4raters`` in the Python port):
# 4 raters x 12 units, categories 1..5, with missing ratings. Published (irrCAC Python port, docstring of
# ``irrCAC.raw`` and its test_gwet.py): AC1 = 0.77544, pa = 0.81818, pe = 0.19032.
RAW_4RATERS = (
    np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, nan],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    - 1
)  # categories 1..5 -> codes 0..4

# irrCAC ``raw_ben_gerry`` (cac.ben.gerry): 2 raters, 12 units, categories a..e, Gerry missed unit 10.
# Published (irrCAC Python port test_gwet.py, 3 digits): AC1 = 0.661, pa = 0.727, pe = 0.194.
BEN = ["a", "a", "b", "b", "d", "c", "c", "c", "e", "d", "d", "a"]
GERRY = ["b", "a", "b", "b", "b", "c", "c", "c", "e", "-", "d", "d"]


def _codes(labels: list[str]) -> list[float]:
    return [nan if x == "-" else float("abcde".index(x)) for x in labels]


def test_gwet_ac1_raw4raters_published() -> None:
    assert gwet_ac1(RAW_4RATERS, 5) == pytest.approx(0.77544, abs=5e-6)
    # pa by hand: units 1-11 are rated >= 2 times (unit 12 once, so it is out of pa).
    # Units 1,3,4,5,7,9,10,11 agree fully (8 x 1); unit 2 (2,2,3,2): 3*2/(4*3) = 1/2;
    # unit 6 (1,2,3,4): 0; unit 8 (1,1,2,1): 1/2  ->  pa = (8 + 1/2 + 0 + 1/2) / 11 = 9/11 = 0.81818
    pa = Fraction(9, 11)
    # pe from the published AC1 and pa: AC1 = (pa - pe)/(1 - pe) -> pe = (pa - AC1)/(1 - AC1) ~ 0.19032
    ac1 = gwet_ac1(RAW_4RATERS, 5)
    assert (float(pa) - ac1) / (1 - ac1) == pytest.approx(0.19032, abs=5e-6)


def test_gwet_ac1_ben_gerry_published_and_by_hand() -> None:
    ratings = np.array([_codes(BEN), _codes(GERRY)])
    # pa: 11 units rated twice (unit 10 only by Ben); agreements on units 2,3,4,6,7,8,9,11 -> pa = 8/11.
    # pi_k = mean over all 12 units of r_ik / r_i (unit 10 counts with Ben's d, share 1):
    #   a: unit1 .5 + unit2 1 + unit12 .5 = 2      -> 2/12
    #   b: unit1 .5 + units3,4 2 + unit5 .5 = 3     -> 3/12
    #   c: units 6,7,8 = 3 -> 3/12;  d: unit5 .5 + unit10 1 + unit11 1 + unit12 .5 = 3 -> 3/12;  e: 1/12
    # pe = (1 - sum pi^2)/(K-1) = (1 - 32/144)/4 = 7/36 = 0.19444
    # AC1 = (8/11 - 7/36)/(1 - 7/36) = 211/319 = 0.661442
    expected = (Fraction(8, 11) - Fraction(7, 36)) / (1 - Fraction(7, 36))
    assert expected == Fraction(211, 319)
    assert gwet_ac1(ratings, 5) == pytest.approx(float(expected), abs=TOL)
    assert round(gwet_ac1(ratings, 5), 3) == 0.661  # published


def _two_rater_ac1(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Gwet (2008) two-rater AC1: (p_o - p_e)/(1 - p_e), p_e = sum pi_k (1 - pi_k)/(K-1).

    pi_k is the mean of the two raters' shares of category k.
    """
    p_o = np.mean(a == b)
    pi = np.array([(np.mean(a == c) + np.mean(b == c)) / 2 for c in range(k)])
    p_e = np.sum(pi * (1 - pi)) / (k - 1)
    return float((p_o - p_e) / (1 - p_e))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=30),
        )
    )
)
def test_gwet_ac1_two_raters_complete_equals_two_rater_formula(
    case: tuple[int, list[tuple[int, int]]],
) -> None:
    k, pairs = case
    a, b = (np.array(side, dtype=float) for side in zip(*pairs, strict=True))
    assert gwet_ac1(np.vstack([a, b]), k) == pytest.approx(_two_rater_ac1(a, b, k), abs=TOL)


def _ac1_loops(ratings: np.ndarray, k: int) -> float:
    """Gwet (2014) AC1 with missing ratings, written out item by item as in irrCAC's gwet.ac1.raw."""
    items = []
    for column in ratings.T:
        labels = [int(x) for x in column if not math.isnan(x)]
        if labels:  # irrCAC drops items nobody rated
            items.append([labels.count(c) for c in range(k)])
    pairable = [r for r in items if sum(r) >= 2]
    p_a = sum(sum(x * (x - 1) for x in r) / (sum(r) * (sum(r) - 1)) for r in pairable) / len(pairable)
    pi = [sum(r[c] / sum(r) for r in items) / len(items) for c in range(k)]
    p_e = sum(p * (1 - p) for p in pi) / (k - 1)
    return (p_a - p_e) / (1 - p_e)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda k: st.tuples(st.just(k), arrays(float, st.tuples(st.integers(2, 5), st.integers(1, 12)),
                                               elements=st.sampled_from([*map(float, range(k)), nan])))
    )
)  # fmt: skip
def test_gwet_ac1_with_missing_equals_item_by_item_formula(case: tuple[int, np.ndarray]) -> None:
    k, ratings = case
    value, reason = gwet_ac1_checked(ratings, k)
    if reason is not None:
        assert math.isnan(value) and not (np.sum(~np.isnan(ratings), axis=0) >= 2).any()
        return
    assert value == pytest.approx(_ac1_loops(ratings, k), abs=TOL)


def test_gwet_ac1_kappa_paradox_table() -> None:
    # 100 items, 2 raters: 85 yes/yes, 5 yes/no, 5 no/yes, 5 no/no.
    # p_o = .90; pi_yes = .90, pi_no = .10; pe = 2 * .9 * .1 / 1 = .18; AC1 = (.9 - .18)/(.82) = .878049
    a = np.array([0] * 85 + [0] * 5 + [1] * 5 + [1] * 5, dtype=float)
    b = np.array([0] * 85 + [1] * 5 + [0] * 5 + [1] * 5, dtype=float)
    assert gwet_ac1(np.vstack([a, b]), 2) == pytest.approx(0.72 / 0.82, abs=TOL)
    # kappa: pe = .9*.9 + .1*.1 = .82; (.9 - .82)/.18 = .444444
    kappa = weighted_kappa(a, b, 2)
    assert kappa == pytest.approx(0.08 / 0.18, abs=TOL)
    warning = kappa_paradox(0.9, kappa, gwet_ac1(np.vstack([a, b]), 2), [0.9, 0.1])
    assert warning is not None and "90%" in warning


def test_gwet_ac1_unused_category_changes_pe() -> None:
    # AC1 depends on K: the same ratings with a third, unused label give pe/2 (pe = sum pi(1-pi)/(K-1)).
    ratings = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], dtype=float)
    # pa = 3/4; pi = (3/8, 5/8); sum pi(1-pi) = 2 * 15/64 = 30/64
    assert gwet_ac1(ratings, 2) == pytest.approx((0.75 - 30 / 64) / (1 - 30 / 64), abs=TOL)
    assert gwet_ac1(ratings, 3) == pytest.approx((0.75 - 15 / 64) / (1 - 15 / 64), abs=TOL)


def test_gwet_ac1_undefined_and_errors() -> None:
    assert gwet_ac1_checked(np.array([[0, nan], [nan, 1]]), 2)[1] == "no item has labels from two raters"
    assert math.isnan(gwet_ac1(np.array([[0.0, 0.0], [0.0, 0.0]]), 1))
    assert math.isnan(gwet_ac1(np.empty((2, 0)), 3))
    # perfect agreement on one label is AC1 = 1 (pe = 0 with pi = (1, 0)), unlike kappa's 0/0
    assert gwet_ac1(np.array([[0.0, 0.0], [0.0, 0.0]]), 2) == 1.0
    with pytest.raises(StatisticsError):
        gwet_ac1(np.array([[0, 2]], dtype=float), 2)  # code 2 outside 0..1
    with pytest.raises(StatisticsError):
        gwet_ac1(np.array([[0, 0.5]]), 2)
    with pytest.raises(StatisticsError):
        gwet_ac1(np.array([0.0, 1.0]), 2)  # 1-D
    with pytest.raises(StatisticsError):
        gwet_ac1(np.array([[0.0]]), 0)


# --------------------------------------------------------------------------------------------------
# Fleiss' kappa
# --------------------------------------------------------------------------------------------------


def test_fleiss_kappa_by_hand() -> None:
    # 3 raters x 8 items, labels a=0 / b=1 (the table of test_ceiling.py):
    #   counts (a, b) per item: (3,0) (2,1) (0,3) (0,3) (2,1) (1,2) (3,0) (0,3)
    #   P_i = (sum n_ij^2 - 3)/6: 1, 1/3, 1, 1, 1/3, 1/3, 1, 1 -> P_bar = 6/8
    #   p_a = 11/24, p_b = 13/24 -> P_e = (121 + 169)/576 = 290/576
    #   kappa = (432 - 290)/(576 - 290) = 142/286 = 71/143 = 0.496503
    ratings = np.array([[0, 0, 1, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 1, 0, 1], [0, 1, 1, 1, 0, 0, 0, 1]], dtype=float)
    assert fleiss_kappa(ratings, 2) == pytest.approx(71 / 143, abs=TOL)
    # and AC1 on the same table: pa = 6/8, pe = 2 * (11/24)(13/24) = 286/576 -> 146/290 = 73/145
    assert gwet_ac1(ratings, 2) == pytest.approx(73 / 145, abs=TOL)


def test_fleiss_kappa_ignores_incomplete_items() -> None:
    complete = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0]], dtype=float)
    with_gaps = np.hstack([complete, np.array([[0, nan], [nan, 1], [1, 1]])])
    assert fleiss_kappa(with_gaps, 2) == fleiss_kappa(complete, 2)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda k: st.tuples(st.just(k), arrays(float, st.tuples(st.integers(2, 5), st.integers(1, 15)),
                                               elements=st.sampled_from([*map(float, range(k)), nan])))
    )
)  # fmt: skip
def test_fleiss_kappa_equals_statsmodels(case: tuple[int, np.ndarray]) -> None:
    k, ratings = case
    value, reason = fleiss_kappa_checked(ratings, k)
    complete = ratings[:, ~np.isnan(ratings).any(axis=0)]
    if reason is not None:
        assert math.isnan(value)
        assert complete.size == 0 or np.unique(complete).size == 1
        return
    table, _ = aggregate_raters(complete.T.astype(int), n_cat=k)  # (items, categories)
    assert value == pytest.approx(sm_fleiss_kappa(table, method="fleiss"), abs=TOL)


# --------------------------------------------------------------------------------------------------
# Weighted kappa, MAE
# --------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=2, max_size=30),
            st.sampled_from(["linear", "quadratic", None]),
        )
    )
)
def test_weighted_kappa_equals_sklearn(case: tuple[int, list[tuple[int, int]], str | None]) -> None:
    k, pairs, weights = case
    a, b = (np.array(side) for side in zip(*pairs, strict=True))
    value = weighted_kappa(a.astype(float), b.astype(float), k, weights)  # type: ignore[arg-type]
    if np.all(a == a[0]) and np.all(b == a[0]):
        assert math.isnan(value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(a, b, labels=list(range(k)), weights=weights)
    assert value == pytest.approx(expected, abs=TOL)


def test_weighted_kappa_by_hand_and_missing() -> None:
    # a = 0 1 2, b = 0 2 2 (K = 3). O = diag(1/3) + (1,2) 1/3. Marginals a (1/3,1/3,1/3), b (1/3,0,2/3).
    # linear weights |i-j|: sum w O = 1/3; sum w E = 1/3 * (1/3 * (0 + 2*2/3)... computed in full below:
    #   E_ij = a_i b_j; w E = sum_i sum_j |i-j| a_i b_j = 1/3 * [ (0*1/3 + 2*2/3) + (1*1/3 + 1*2/3)
    #                                                  + (2*1/3 + 0*2/3) ] = 1/3 * (4/3 + 1 + 2/3) = 1
    #   kappa_linear = 1 - (1/3)/1 = 2/3
    a = np.array([0, 1, 2, nan, 1.0])
    b = np.array([0, 2, 2, 1, nan])  # the last two pairs have a missing side and are dropped
    assert weighted_kappa(a, b, 3, "linear") == pytest.approx(2 / 3, abs=TOL)
    assert math.isnan(weighted_kappa(np.array([1.0, 1.0]), np.array([1.0, 1.0]), 3))
    assert math.isnan(weighted_kappa(np.array([nan]), np.array([1.0]), 3))
    with pytest.raises(StatisticsError):
        weighted_kappa(a, b, 3, "cubic")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError):
        weighted_kappa(np.array([0.0, 1.0]), np.array([0.0]), 3)


def test_mean_absolute_error() -> None:
    assert mean_absolute_error(np.array([1.0, 2.0, nan, 4.0]), np.array([2.0, 2.0, 3.0, 1.0])) == pytest.approx(
        (1 + 0 + 3) / 3
    )
    assert math.isnan(mean_absolute_error(np.array([nan]), np.array([1.0])))
    with pytest.raises(StatisticsError):
        mean_absolute_error(np.array([1.0, 2.0]), np.array([1.0]))


# --------------------------------------------------------------------------------------------------
# ICC
# --------------------------------------------------------------------------------------------------

# Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater reliability.
# Psychological Bulletin 86(2), 420-428. Table 2 data (6 targets x 4 judges) and Table 4 results:
# ICC(1,1) = .17, ICC(2,1) = .29, ICC(3,1) = .71. Hand ANOVA (exact fractions, also computed below):
#   grand mean 127/24; row means 6, 3, 6.5, 4, 7.5, 4.75; column means 23/3, 2.5, 13/3, 20/3
#   SS_targets = 1349/24, SS_judges = 2339/24, SS_residual = 367/24 (SS_total = 4055/24)
#   BMS = 1349/120 = 11.2417, JMS = 2339/72 = 32.4861, EMS = 367/360 = 1.01944 (paper: 11.24, 32.49, 1.02)
#   ICC(2,1) = (BMS-EMS)/(BMS + 3 EMS + 4 (JMS-EMS)/6) = 184/635 = 0.289764
#   ICC(3,1) = (BMS-EMS)/(BMS + 3 EMS)                 = 920/1287 = 0.714841
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def _exact_anova(x: np.ndarray) -> tuple[Fraction, Fraction, Fraction]:
    n, k = x.shape
    v = [[Fraction(int(c)) for c in row] for row in x]
    grand = sum(sum(r) for r in v) / (n * k)
    rows = [sum(r) / k for r in v]
    cols = [sum(v[i][j] for i in range(n)) / n for j in range(k)]
    ss_rows = k * sum((r - grand) ** 2 for r in rows)
    ss_cols = n * sum((c - grand) ** 2 for c in cols)
    ss_total = sum((c - grand) ** 2 for r in v for c in r)
    return ss_rows / (n - 1), ss_cols / (k - 1), (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))


def test_icc_shrout_fleiss_table_2() -> None:
    bms, jms, ems = _exact_anova(SHROUT_FLEISS)
    assert (bms, jms, ems) == (Fraction(1349, 120), Fraction(2339, 72), Fraction(367, 360))
    n, k = SHROUT_FLEISS.shape
    icc21 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    icc31 = (bms - ems) / (bms + (k - 1) * ems)
    assert (icc21, icc31) == (Fraction(184, 635), Fraction(920, 1287))
    assert icc(SHROUT_FLEISS, "2,1") == pytest.approx(float(icc21), abs=TOL)
    assert icc(SHROUT_FLEISS, "3,1") == pytest.approx(float(icc31), abs=TOL)
    assert round(icc(SHROUT_FLEISS, "2,1"), 2) == 0.29  # published
    assert round(icc(SHROUT_FLEISS, "3,1"), 2) == 0.71  # published


def test_icc_against_pingouin() -> None:
    pg = pytest.importorskip("pingouin")  # a test-only cross-check; not a dependency of selene-eval
    rng = np.random.default_rng(7)
    cases = [SHROUT_FLEISS.astype(float)] + [
        rng.normal(size=(n, 1)) + rng.normal(size=(1, k)) + rng.normal(scale=0.5, size=(n, k))
        for n, k in [(5, 2), (12, 3), (30, 5)]
    ]
    for x in cases:
        n, k = x.shape
        long = pd.DataFrame([(i, j, x[i, j]) for i in range(n) for j in range(k)], columns=["t", "r", "s"])
        with warnings.catch_warnings():  # pingouin's own pandas deprecation warnings
            warnings.simplefilter("ignore")
            result = pg.intraclass_corr(data=long, targets="t", raters="r", ratings="s").set_index("Type")["ICC"]
        # pingouin >= 0.7 names them ICC(A,1) / ICC(C,1) (McGraw & Wong), older versions ICC2 / ICC3
        icc21 = result.get("ICC(A,1)", result.get("ICC2"))
        icc31 = result.get("ICC(C,1)", result.get("ICC3"))
        assert icc(x, "2,1") == pytest.approx(icc21, abs=TOL)
        assert icc(x, "3,1") == pytest.approx(icc31, abs=TOL)


def test_icc_properties_and_errors() -> None:
    x = SHROUT_FLEISS.astype(float)
    # ICC(3,1) (consistency) ignores a constant shift of one rater; ICC(2,1) (absolute agreement) does not
    shifted = x + np.array([0, 0, 0, 5.0])
    assert icc(shifted, "3,1") == pytest.approx(icc(x, "3,1"), abs=TOL)
    assert icc(shifted, "2,1") < icc(x, "2,1")
    identical = np.array([[1.0, 1.0], [2.0, 2.0], [5.0, 5.0]])
    assert icc(identical, "2,1") == pytest.approx(1.0) and icc(identical, "3,1") == pytest.approx(1.0)
    assert math.isnan(icc(np.ones((4, 3)), "2,1"))  # no variation: 0/0
    assert math.isnan(icc(np.array([[1.0, 2.0]]), "3,1"))  # one item
    with pytest.raises(StatisticsError):
        icc(np.array([[1.0, nan], [2.0, 3.0]]), "2,1")
    with pytest.raises(StatisticsError):
        icc(x, "1,1")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Kappa paradox
# --------------------------------------------------------------------------------------------------


def test_kappa_paradox_rule() -> None:
    assert kappa_paradox(0.9, 0.44, 0.88, 0.9) is not None
    assert kappa_paradox(0.9, 0.44, 0.88, 0.7) is None  # prevalence not skewed
    assert kappa_paradox(0.7, 0.44, 0.65, 0.9) is None  # accuracy not high
    assert kappa_paradox(0.95, 0.75, 0.94, 0.9) is None  # kappa not low
    assert kappa_paradox(0.9, 0.44, 0.55, 0.9) is None  # AC1 tells the same story
    assert kappa_paradox(0.9, nan, 0.88, 0.9) is None
    assert kappa_paradox(0.9, 0.44, 0.88, [0.05, 0.85, 0.10]) is not None
    with pytest.raises(StatisticsError):
        kappa_paradox(1.5, 0.44, 0.88, 0.9)
