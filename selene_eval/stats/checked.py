"""Undefined-safe computation: a statistic is a value, or ``nan`` with the reason it is undefined.

Every undefined case is detected beforehand and reported in words, so the warnings sklearn / scipy / numpy
would give only repeat it (and leak into the CLI's output or fail ``-W error`` test runs): they are silenced.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

NO_FINITE_VALUE = "the computation gave no finite value"


@contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy / scipy / sklearn warnings; every undefined case is detected and reported beforehand."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def finite_or_nan(value: float, reason: str | None) -> tuple[float, str | None]:
    """``(value, reason)``, turning a non-finite computed value into ``nan`` with a generic reason."""
    if reason is not None:
        return math.nan, reason
    if not math.isfinite(value):
        return math.nan, NO_FINITE_VALUE
    return float(value), None


def evaluate(compute: Callable[[], float], reason: str | None) -> tuple[float, str | None]:
    """Run ``compute`` (quietly) unless a ``reason`` says the statistic is undefined; non-finite -> nan."""
    if reason is not None:
        return math.nan, reason
    with quiet():
        value = float(compute())
    return finite_or_nan(value, None)
