"""The majority-label baseline: one computation for the point figure and the bootstrap's resampled counts."""

from __future__ import annotations

import numpy as np
import pytest

from selene_eval.stats.baseline import majority_baseline, majority_share


def test_majority_share_by_hand_and_undefined_rows() -> None:
    share, defined = majority_share(np.array([[3.0, 1.0], [0.0, 0.0], [2.0, 2.0]]))
    assert defined.tolist() == [True, False, True]
    assert share[0] == pytest.approx(0.75) and np.isnan(share[1]) and share[2] == pytest.approx(0.5)


def test_point_baseline_is_the_share_of_its_counts() -> None:
    baseline = majority_baseline(["no", "no", "yes", None, "no", "maybe"])
    assert (baseline.label, baseline.n) == ("no", 5)
    share, _ = majority_share(np.array(list(baseline.counts.values()), dtype=float))
    assert baseline.accuracy == float(share) == 3 / 5
