"""Calibration from stored label probabilities: hand-checked ECE, Brier score, coverage and expected score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from selene_eval.errors import StatisticsError
from selene_eval.stats.calibration import calibration, coverage_curve, expected_calibration_error, reliability_table

YN = ["yes", "no"]
TOL = 1e-9
nan = np.nan


def test_hand_checked_binary_calibration() -> None:
    labels = ["yes", "yes", "no", "no", "yes", None]
    probs = [
        {"yes": 0.9, "no": 0.1},
        {"yes": 0.6, "no": 0.4},
        {"yes": 0.2, "no": 0.8},
        None,
        {"yes": 0.95, "no": 0.05},
        {"yes": 0.5, "no": 0.5},
    ]
    reference = ["yes", "no", "no", "no", "yes", "yes"]
    report = calibration(labels, probs, reference, order=YN, n_bins=10)
    assert report is not None
    assert (report.n_compared, report.n_without_probs) == (4, 1)  # item 3 has no probs, item 5 no label
    # confidences 0.9, 0.6, 0.8, 0.95; correct 1, 0, 1, 1
    assert report.accuracy == pytest.approx(0.75)
    assert report.mean_confidence == pytest.approx((0.9 + 0.6 + 0.8 + 0.95) / 4)
    # bins (0.5,0.6]: 0.6 wrong -> |0-0.6|; (0.7,0.8]: |1-0.8|; (0.8,0.9]: |1-0.9|; (0.9,1.0]: |1-0.95|
    assert report.ece == pytest.approx((0.6 + 0.2 + 0.1 + 0.05) / 4)
    # Brier: (0.1^2+0.1^2), (0.6^2+0.6^2), (0.2^2+0.2^2), (0.05^2+0.05^2)
    assert report.brier == pytest.approx((0.02 + 0.72 + 0.08 + 0.005) / 4)
    assert report.coverage[0].accuracy == pytest.approx(0.75) and report.coverage[0].n_kept == 4
    # Abstaining on the least confident half keeps 0.95 and 0.9: both right.
    half = next(p for p in report.coverage if p.abstain_share == 0.5)
    assert half.n_kept == 2 and half.accuracy == 1.0
    assert report.overconfidence == pytest.approx(report.mean_confidence - 0.75)
    assert report.note is not None and "rough" in report.note


def test_perfectly_calibrated_judge_has_small_ece() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    conf = rng.uniform(0.5, 1.0, n)
    right = rng.random(n) < conf
    reference = ["yes"] * n
    labels = ["yes" if r else "no" for r in right]
    probs = [{lab: c, ("no" if lab == "yes" else "yes"): 1 - c} for lab, c in zip(labels, conf)]
    report = calibration(labels, probs, reference, order=YN)
    assert report is not None and report.ece < 0.02


def test_expected_score_correlates_on_ordinal_scales() -> None:
    order = ["1", "2", "3", "4", "5"]
    reference = ["1", "2", "3", "4", "5", "3"]
    labels = ["1", "2", "3", "4", "5", "3"]
    probs = [{k: (0.8 if k == lab else 0.05) for k in order} for lab in labels]
    report = calibration(labels, probs, reference, order=order, ordinal=True)
    assert report is not None and report.expected_score_spearman == pytest.approx(1.0)


def test_no_probabilities_gives_none_and_bad_input_is_refused() -> None:
    assert calibration(["yes"], [None], ["yes"], order=YN) is None
    assert calibration(["yes"], [{"yes": math.nan}], ["yes"], order=YN) is None
    with pytest.raises(StatisticsError, match="one entry per item"):
        calibration(["yes"], [], ["yes"], order=YN)


# --------------------------------------------------------------------------------------------------
# Binned calibration on arrays
# --------------------------------------------------------------------------------------------------


def test_reliability_table_and_ece_by_hand() -> None:
    confidence = np.array([0.05, 0.15, 0.3, 0.35, 0.9, 0.95, 1.0, 0.0])
    correct = np.array([0, 0, 1, 0, 1, 1, 1, 0])
    table = reliability_table(confidence, correct, 10)
    # bins (m/10, (m+1)/10], 0 in bin 0: 0.05, 0.0 -> 0; 0.15 -> 1; 0.3 -> 2 (on the edge: lower bin);
    # 0.35 -> 3; 0.9 -> 8 (edge); 0.95, 1.0 -> 9
    assert table["n"].tolist() == [2, 1, 1, 1, 0, 0, 0, 0, 1, 2]
    assert table.loc[9, "mean_confidence"] == pytest.approx(0.975)
    assert math.isnan(table.loc[4, "accuracy"])
    # ECE = (2*|0-.025| + |0-.15| + |1-.3| + |0-.35| + |1-.9| + 2*|1-.975|) / 8 = 1.4 / 8 = 0.175
    assert expected_calibration_error(confidence, correct, 10) == pytest.approx(0.175, abs=TOL)
    # one bin: |mean correct - mean confidence| = |4/8 - 3.7/8| = 0.0375
    assert expected_calibration_error(confidence, correct, 1) == pytest.approx(0.0375, abs=TOL)


def test_reliability_table_matches_sklearn_calibration_curve() -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    confidence = rng.uniform(size=300)
    correct = (rng.uniform(size=300) < confidence**1.5).astype(int)
    table = reliability_table(confidence, correct, 8)
    used = table[table["n"] > 0]
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=8)
    assert np.allclose(used["accuracy"], prob_true) and np.allclose(used["mean_confidence"], prob_pred)


def test_calibration_errors_and_missing() -> None:
    assert math.isnan(expected_calibration_error(np.array([]), np.array([])))
    # a nan confidence (no probability from the judge) drops the pair
    assert expected_calibration_error(np.array([0.8, nan]), np.array([1, 0])) == pytest.approx(0.2)
    with pytest.raises(StatisticsError):
        expected_calibration_error(np.array([1.2]), np.array([1]))
    with pytest.raises(StatisticsError):
        expected_calibration_error(np.array([0.5]), np.array([2]))
    with pytest.raises(StatisticsError):
        reliability_table(np.array([0.5]), np.array([1]), 0)


def test_coverage_curve_by_hand() -> None:
    confidence = np.array([0.9, 0.8, 0.8, 0.6, 0.5])
    correct = np.array([1, 1, 0, 0, 1])
    curve = coverage_curve(confidence, correct, [0, 0.2, 0.4, 0.5, 0.6, 0.8])
    # abstain floor(k*5): 0, 1, 2, 2, 3, 4 -> keep 5, 4, 3, 3, 2, 1 most confident
    assert curve["n_kept"].tolist() == [5, 4, 3, 3, 2, 1]
    assert curve["coverage"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.6, 0.4, 0.2])
    # keep 5: 3/5; keep 4 (.9 .8 .8 .6): 2/4; keep 3 (.9 .8 .8): 2/3; keep 1 (.9): 1
    # keep 2: .9 (correct) and one of the two tied .8s (one correct, one not) -> (1 + 1 * 1/2)/2 = 0.75
    assert curve["accuracy"].tolist() == pytest.approx([0.6, 0.5, 2 / 3, 2 / 3, 0.75, 1.0])
    assert curve["threshold"].tolist() == pytest.approx([0.5, 0.6, 0.8, 0.8, 0.8, 0.9])
    # the tie rule makes the result independent of the input order
    flipped = coverage_curve(confidence[[0, 2, 1, 3, 4]], correct[[0, 2, 1, 3, 4]], [0, 0.2, 0.4, 0.5, 0.6, 0.8])
    pd.testing.assert_frame_equal(curve, flipped)
    default = coverage_curve(confidence, correct, 5)
    assert default["abstain_share"].tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    with pytest.raises(StatisticsError):
        coverage_curve(confidence, correct, [1.0])
    assert math.isnan(coverage_curve(np.array([]), np.array([]), 2)["accuracy"][0])
