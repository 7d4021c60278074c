"""Robustness measures on small hand-built judgment tables (every expected value derived in a comment)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from selene_eval.errors import StatisticsError
from selene_eval.stats.robustness import (
    axis_summary,
    flip_matrix,
    position_consistency,
    robustness,
    self_agreement,
    spread,
    unparseable_rates,
)

REF = ["yes", "yes", "no", "no", "yes", "no", None, "yes"]
CANON = ["yes", "yes", "no", "yes", "no", "no", "yes", "yes"]
XML = ["yes", "no", "no", "no", "yes", "no", "no", None]  # item 7 unparseable


def test_flip_rate_and_direction_by_hand() -> None:
    (pair,) = flip_matrix({"canon": CANON, "xml": XML}, REF, level="nominal", baseline="canon")
    f = pair.flips
    # Compared: items 0-6 (item 7 has no xml label) = 7. Flips at items 1 (yes->no), 3 (yes->no), 4 (no->yes),
    # 6 (yes->no): 4 of 7. Direction vs REF: item 1 ref yes: right->wrong = away; 3 ref no: wrong->right =
    # toward; 4 ref yes: wrong->right = toward; 6 has no reference: not classified.
    assert (f.n_compared, f.n_flipped) == (7, 4)
    assert f.rate == pytest.approx(4 / 7)
    assert (f.n_toward_reference, f.n_away_from_reference, f.n_sideways) == (2, 1, 0)


def test_flip_matrix_covers_every_pair_once() -> None:
    flips = flip_matrix({"a": CANON, "b": XML, "c": CANON})
    assert [(f.a, f.b) for f in flips] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert flips[1].flips.rate == 0.0


def test_position_consistency_by_hand() -> None:
    # Labels already mapped back to the item's own A/B.
    original = ["A", "A", "B", "B", "A", None]
    swapped = ["A", "B", "B", "A", "B", "A"]
    reference = ["A", "B", "B", "A", "tie", "A"]
    p = position_consistency(original, swapped, reference)
    # Compared: items 0-4 (item 5 lacks the original) = 5; consistent: 0 and 2 = 2/5.
    # Inconsistent: 1 (A then B: the first slot won twice), 3 (B then A: the second slot twice), 4 (first slot).
    assert (p.n_compared, p.n_consistent) == (5, 2)
    assert p.consistency == pytest.approx(0.4)
    assert (p.n_first_slot, p.n_second_slot) == (2, 1)
    assert p.position_bias_rate == pytest.approx(3 / 5)
    # First-slot verdicts: original A at 0, 1, 4 (3) + swapped B (= shown first) at 1, 2, 4 (3) = 6 of 10.
    assert p.first_slot_share == pytest.approx(0.6)
    # Accuracy of the original order: all 5 compared have a reference; right at 0, 2 -> 2/5. On the
    # consistent items (0, 2) both right -> 1.0.
    assert p.accuracy_all == pytest.approx(0.4)
    assert p.accuracy_consistent == pytest.approx(1.0)


def test_mcnemar_p_value_matches_statsmodels() -> None:
    result = robustness(
        REF, {"canon": CANON, "xml": XML}, level="nominal", order=["yes", "no"], baseline="canon", n_resamples=0
    )
    (test,) = result.accuracy_tests
    # Items with reference and both labels: 0,1,2,3,4,5. canon right at 0,1,2,5; xml right at 0,2,3,4,5.
    # Table (xml right?, canon right?): both 0,2,5 = 3; only xml (a) 3,4 = 2; only canon (b) 1 = 1; neither 0.
    mc = test.mcnemar
    assert (mc.n_both_right, mc.n_only_a_right, mc.n_only_b_right, mc.n_both_wrong) == (3, 2, 1, 0)
    expected = mcnemar(np.array([[3, 2], [1, 0]]), exact=True).pvalue
    assert mc.p_value == pytest.approx(expected, abs=1e-12)
    assert mc.p_value == pytest.approx(1.0)  # exact binomial: 2 vs 1 of 3 discordant pairs
    assert test.p_holm == pytest.approx(mc.p_value)


def test_self_agreement_is_one_when_variants_never_disagree_and_lower_when_they_do() -> None:
    same = self_agreement({"a": CANON, "b": CANON}, level="nominal", order=["yes", "no"])
    assert same.alpha == pytest.approx(1.0)
    import krippendorff

    mixed = self_agreement({"a": CANON, "b": XML}, level="nominal", order=["yes", "no"])
    codes = {"yes": 0.0, "no": 1.0, None: np.nan}
    data = np.array([[codes[v] for v in CANON], [codes[v] for v in XML]])
    assert mixed.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    assert mixed.n_items == 7


def test_spread_and_unparseable_rates() -> None:
    s = spread({"a": 0.5, "b": 0.8, "c": math.nan, "d": 0.6}, "cohen_kappa")
    assert (s.minimum, s.maximum, s.min_condition, s.max_condition) == (0.5, 0.8, "a", "b")
    assert s.range == pytest.approx(0.3)
    assert s.sd == pytest.approx(np.std([0.5, 0.8, 0.6], ddof=1))
    (u,) = unparseable_rates({"x": ["ok", "missing_result", "pending", "ok", "not_renderable", "ambiguous"]})
    assert (u.n_judged, u.n_unparseable, u.rate) == (4, 2, 0.5)


def test_axis_summary_groups_by_axis() -> None:
    flips = flip_matrix({"c": CANON, "x": XML, "j": CANON}, level="nominal", baseline="c")
    out = axis_summary({"c": "canonical", "x": "layout", "j": "layout"}, {"c": 0.5, "x": 0.2, "j": 0.6}, "c", flips)
    (layout,) = out
    assert layout.conditions == ("x", "j")
    assert layout.mean_abs_difference == pytest.approx((0.3 + 0.1) / 2)
    assert layout.max_abs_difference == pytest.approx(0.3)
    assert layout.mean_flip_rate == pytest.approx((4 / 7 + 0) / 2)


def test_robustness_rejects_misaligned_conditions() -> None:
    with pytest.raises(StatisticsError, match="one label per item"):
        robustness(REF, {"a": CANON[:3]}, level="nominal", order=["yes", "no"])
