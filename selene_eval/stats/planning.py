"""Sample-size planning: how many expert-labelled items a confidence interval of a given width needs."""

from __future__ import annotations

import math

import numpy as np

from selene_eval.errors import StatisticsError

# Relative slack when rounding sample sizes and shares up / down: 100 * (0.3 / 0.1) ** 2 is
# 899.9999999999998 in floating point and must still give 900, not 899 (or 901 the other way).
ROUNDING_SLACK = 1e-9


def required_items(pilot_estimate: float, pilot_ci_width: float, pilot_n: int, target_width: float) -> int:
    """How many items are needed for a confidence interval of ``target_width``, from a pilot study.

    Assumption: the interval width scales like 1/sqrt(n) - true for the normal-approximation and
    bootstrap intervals of every coefficient here when the items are sampled the same way and the true
    value stays near the pilot estimate. Then::

        n_needed = ceil(pilot_n * (pilot_ci_width / target_width)^2)

    ``pilot_estimate`` does not enter the formula - the pilot width already reflects it - and is only
    checked to be finite so that a failed pilot (nan estimate) is not planned from. The result is a
    planning figure, not a guarantee: an estimate close to 1 (or a clustered design) shrinks or widens
    the interval differently, so re-check the width after labelling.

    Raises :class:`StatisticsError` for non-positive or non-finite widths, ``pilot_n`` < 1, or a nan
    estimate.
    """
    if not math.isfinite(pilot_estimate):
        raise StatisticsError("The pilot estimate is not a finite number; run the pilot statistics first.")
    for name, width in (("pilot_ci_width", pilot_ci_width), ("target_width", target_width)):
        if not (math.isfinite(width) and width > 0):
            raise StatisticsError(f"{name} must be a positive number, got {width!r}.")
    if isinstance(pilot_n, bool) or not isinstance(pilot_n, (int, np.integer)) or pilot_n < 1:
        raise StatisticsError(f"pilot_n must be a positive whole number, got {pilot_n!r}.")
    needed = int(pilot_n) * (pilot_ci_width / target_width) ** 2
    return max(1, math.ceil(needed * (1 - ROUNDING_SLACK)))
