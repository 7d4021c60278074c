"""The settings every judge-vs-experts statistic shares, in one frozen record.

:func:`~selene_eval.stats.agreement.agreement`, :func:`~selene_eval.stats.error_profile.error_profile`,
:func:`~selene_eval.stats.error_profile.ambiguity_split`, :func:`~selene_eval.stats.ppi.unlabelled_estimates`
and :func:`~selene_eval.stats.profile.judge_profile` take a :class:`StatisticsOptions` (``options=``), or the
same settings as keyword arguments (``n_resamples=500``), or both (the keywords override the record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np

from selene_eval.errors import StatisticsError


class OptionFields(TypedDict, total=False):
    """The fields of :class:`StatisticsOptions` as keyword arguments (for ``**fields: Unpack[...]``)."""

    order: Sequence[str] | None
    group: str | None
    n_resamples: int
    ci_level: float
    seed: int
    min_compared: int


@dataclass(frozen=True)
class StatisticsOptions:
    """How the statistics are computed.

    ``order``: the label order (ranks for ordinal; for nominal it fixes the label set; ignored at interval
    level). ``group``: a column of cluster ids; whole groups are resampled. ``n_resamples``: bootstrap
    resamples (0: no intervals, else at least 100). ``ci_level``: the intervals' confidence. ``seed``: makes
    the intervals reproducible. ``min_compared``: below this many compared items a statistic is undefined
    (a study's minimum).
    """

    order: Sequence[str] | None = None
    group: str | None = None
    n_resamples: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    min_compared: int = 0

    @classmethod
    def of(cls, options: StatisticsOptions | None, fields: OptionFields) -> StatisticsOptions:
        """``options`` (default settings when None) with the keyword ``fields`` put in."""
        return replace(options or cls(), **fields)

    def check_resampling(self) -> None:
        """Raise :class:`StatisticsError` for a bad ``n_resamples`` or ``ci_level``."""
        n = self.n_resamples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise StatisticsError(f"n_resamples must be a whole number >= 0, got {n!r}.")
        if 0 < n < 100:
            raise StatisticsError(f"n_resamples must be 0 (no intervals) or at least 100, got {n}.")
        if not (isinstance(self.ci_level, (int, float)) and 0 < self.ci_level < 1):
            raise StatisticsError(f"ci_level must be between 0 and 1 (e.g. 0.95), got {self.ci_level!r}.")

    def check_min_compared(self) -> None:
        """Raise :class:`StatisticsError` for a bad ``min_compared``."""
        m = self.min_compared
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
            raise StatisticsError(f"min_compared must be a whole number >= 0, got {m!r}.")
