"""Numbers on their way out: a statistic that could not be computed is ``nan`` inside, ``None`` outside."""

from __future__ import annotations

import math


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a plain ``float``, or ``None`` when it is missing, ``nan`` or infinite.

    JSON has no ``nan`` or ``Infinity``, and tables show ``None`` as a blank cell, so every value leaving the
    statistics for JSON, a table or a page goes through this one function.
    """
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
