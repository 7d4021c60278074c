"""Numbers on their way out: a statistic that could not be computed is ``nan`` inside, ``None`` in JSON and
tables, and ``n/a`` in text."""

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


def fmt_stat(value: float | None, digits: int = 3) -> str:
    """A statistic as text: ``0.812``, or ``n/a`` when it is missing, ``nan`` or infinite."""
    number = finite_or_none(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def fmt_share(value: float | None) -> str:
    """A share as a percentage (``12.5%``), or ``n/a`` when it is missing, ``nan`` or infinite."""
    number = finite_or_none(value)
    return "n/a" if number is None else f"{number:.1%}"
