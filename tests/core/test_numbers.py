"""The one conversion of statistics to JSON and table values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from selene_eval.core.numbers import finite_or_none


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, np.float64("nan")])
def test_missing_or_non_finite_values_become_none(value: float | None) -> None:
    assert finite_or_none(value) is None


def test_finite_values_become_plain_floats() -> None:
    out = finite_or_none(np.float32(0.25))
    assert out == 0.25 and type(out) is float
    assert finite_or_none(3) == 3.0 and type(finite_or_none(3)) is float
