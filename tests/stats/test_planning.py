"""Sample-size planning: the 1/sqrt(n) rule, its rounding and its input checks."""

from __future__ import annotations

import pytest

from selene_eval.errors import StatisticsError
from selene_eval.stats.planning import required_items

nan = float("nan")


def test_required_items() -> None:
    # 50 pilot items gave a CI of width .3; width .1 needs 50 * 3^2 = 450 (0.3/0.1 is 2.9999999999999996
    # in floating point, so this also checks the result is not 451 or 449).
    assert required_items(0.6, 0.3, 50, 0.1) == 450
    assert required_items(0.6, 0.25, 40, 0.2) == 63  # 40 * 1.5625 = 62.5 -> 63
    assert required_items(0.6, 0.1, 50, 0.2) == 13  # a wider target needs fewer: 12.5 -> 13
    for bad in [(0.6, 0.0, 50, 0.1), (0.6, 0.3, 50, -0.1), (0.6, 0.3, 0, 0.1), (nan, 0.3, 50, 0.1)]:
        with pytest.raises(StatisticsError):
            required_items(*bad)  # type: ignore[arg-type]
