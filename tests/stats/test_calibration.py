"""Calibration from stored label probabilities: hand-checked ECE, Brier score, coverage and expected score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from selene_eval.errors import StatisticsError
from selene_eval.stats.calibration import calibration

YN = ["yes", "no"]


def test_hand_checked_binary_calibration() -> None:
    labels = ["yes", "yes", "no", "no", "yes", None]
    probs = [{"yes": 0.9, "no": 0.1}, {"yes": 0.6, "no": 0.4}, {"yes": 0.2, "no": 0.8}, None,
             {"yes": 0.95, "no": 0.05}, {"yes": 0.5, "no": 0.5}]
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
