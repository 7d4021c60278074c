"""Bootstrap confidence intervals for the judge-vs-consensus agreement statistics.

:func:`bootstrap_intervals` resamples the compared items - or whole *groups* of items (items that share a
question are not independent, so the group is the unit of resampling) - and returns, for every
statistic, a percentile or BCa interval. :func:`paired_bootstrap_difference` gives the interval of
``stat(ref, a) - stat(ref, b)`` on the *same* resamples (to compare two judges or prompt variants).

How it is computed (vectorized: no Python loop over resamples, except the one slow path noted below)
------------------------------------------------------------------------------------------------------
* **Cells.** Every item is a tuple of codes (one per rater). Items with the same tuple are
  interchangeable for every statistic here, so the data collapse to ``M`` distinct *cells* (at most
  ``K**2`` for nominal/ordinal data with ``K`` labels). A resample is a vector of cell weights (counts),
  and every statistic is a function of the ``(R, M)`` weight matrix of ``R`` resamples - for
  nominal/ordinal data that is the ``(R, K, K)`` stack of weighted confusion tables.
* **Group types.** A group is a vector of cell counts. Groups with the same vector ("type") are
  interchangeable too. Drawing ``G`` groups uniformly with replacement gives per-type counts that are
  ``Multinomial(G, m_t / G)`` (``m_t`` = groups of type ``t``), exactly in distribution. When there are
  few types (always the case for ungrouped nominal/ordinal data: types = cells) we draw those counts
  directly, a ``(B, T)`` matrix, instead of a ``(B, G)`` index matrix - the same distribution at a
  fraction of the cost. With many types we draw the ``(B, G)`` matrix of group indices and count it with
  ``np.bincount``. Either way a resample adds whole groups, so the items of one group always come
  together (see :func:`_draw_type_counts`).
* **Jackknife** (for the BCa acceleration) leaves out one *group* at a time; groups of one type give the
  same leave-one-out value, so it is computed once per type and weighted by ``m_t``.

Statistics (two raters ``a``, ``b``; weights ``w`` = item counts of a resample, ``N = sum(w)``)
------------------------------------------------------------------------------------------------
* ``accuracy`` - share of items with ``a == b``.
* ``cohen_kappa`` / ``linear_weighted_kappa`` / ``quadratic_weighted_kappa`` - Cohen (1960, 1968):
  ``1 - sum(D * O) / sum(D * E)``, ``O`` the confusion table, ``E = outer(rows, cols) / N``,
  ``D = 1 - I`` / ``|i - j|`` / ``(i - j)**2`` on label indices (as ``sklearn.metrics.cohen_kappa_score``).
  Undefined when ``sum(D * E) = 0`` (both raters give one and the same label everywhere).
* ``gwet_ac1`` - Gwet (2008), "Computing inter-rater reliability and its variance in the presence of high
  agreement", Br J Math Stat Psychol 61:29-48: ``(p_o - p_e) / (1 - p_e)`` with
  ``p_e = 1/(K-1) * sum_k pi_k (1 - pi_k)``, ``pi_k`` the mean of the two raters' shares of label ``k``
  and ``K`` = ``n_labels`` (labels on the scale, used or not). Undefined for ``K < 2``. Computed by
  :func:`selene_eval.stats.coefficients.gwet_ac1_batch`, the one implementation (the point value too).
* ``krippendorff_alpha`` - Krippendorff (2011), "Computing Krippendorff's alpha-reliability": for two
  raters and no missing values every item is pairable, the coincidence matrix counts both orderings
  (``o = T + T'``), ``n_v = rows + cols`` and ``n = 2N``; ``alpha = 1 - (n - 1) sum(o * d) /
  sum(n_c n_k d_ck)`` with ``d`` = nominal ``[c != k]``, ordinal ``(sum_{g=c..k} n_g - (n_c + n_k)/2)**2``,
  interval ``(c - k)**2`` (as the ``krippendorff`` package). Undefined when all ``2N`` values are one value.
  Computed by :func:`selene_eval.stats.alpha.alpha_batch`, the one implementation (the point value too).
* ``pearson`` - weighted product-moment correlation (two-pass, on standardized values).
* ``spearman`` - Pearson correlation of average ranks ("mid-ranks"); a value's mid-rank in a resample
  is ``cum_before + (count + 1) / 2`` from that resample's weighted counts per distinct value
  (as ``scipy.stats.spearmanr``).
* ``kendall_tau`` - tau-b from the weighted ``Va x Vb`` table of distinct values: concordant /
  discordant pair counts ``C``, ``D`` from 2-D cumulative sums, ``tau_b = (C - D) /
  sqrt((n0 - n1)(n0 - n2))``, ``n0 = N(N-1)/2``, ``n1``, ``n2`` the pairs tied on ``a`` / on ``b``
  (as ``scipy.stats.kendalltau``). Slow path: at interval level with more than
  ``_MAX_KENDALL_TABLE`` distinct-value pairs the table would be too large, and tau-b is computed per
  resample (and per jackknife type) with ``scipy.stats.kendalltau`` on the repeated data - a loop.
* Correlations are undefined when either rater is constant on the (resampled) items.
* ``mean_absolute_error`` - mean of ``|a - b|`` (in label steps for ordinal codes).
* ``icc_2_1`` / ``icc_3_1`` (interval level) - Shrout & Fleiss (1979) from the two-way ANOVA mean squares
  of the two raters, with item weights: ``BMS = 2 sum w (m - g)^2 / (N - 1)`` (``m`` item mean, ``g``
  grand mean), ``JMS = N sum_r (c_r - g)^2`` (``c_r`` rater means), ``EMS = sum w (r_a^2 + r_b^2) / (N - 1)``
  with residuals ``x - m - c_r + g``; computed by :func:`selene_eval.stats.coefficients.icc_batch`, which
  :func:`~selene_eval.stats.coefficients.icc` calls too. Not computed unless asked for (not in the default set).

Intervals
---------
* Percentile: the ``(1 - level_ci)/2`` and ``(1 + level_ci)/2`` quantiles (linear interpolation, as
  ``np.quantile``) of the valid resample values.
* BCa (Efron 1987, JASA 82:171-185; Efron & Tibshirani 1993, ch. 14.3): ``z0 = Phi^-1(share of resample
  values below the estimate, ties counted half)`` (ties as ``scipy.stats.bootstrap``),
  ``a = sum(U**3) / (6 * sum(U**2)**1.5)`` with ``U = mean(theta_(g)) - theta_(g)`` over the
  leave-one-group-out values, then the quantiles at ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))``.
* ``auto`` uses BCa when it is defined (finite ``z0`` and ``a``: not every resample on one side of the
  estimate, jackknife values defined and not all equal) and stable (its adjusted levels stay within
  ``[1/n_valid, 1 - 1/n_valid]``, i.e. it does not ask for a quantile beyond the resample extremes);
  otherwise the percentile interval with a note saying why. ``bca`` uses BCa whenever it is defined.
* Resamples where a statistic is undefined are dropped and counted (``n_valid``); with fewer than half of
  them valid the interval is ``nan`` with a note.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.special import ndtr, ndtri

from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import StatisticsError
from selene_eval.stats.alpha import alpha_batch
from selene_eval.stats.coefficients import IccKind, gwet_ac1_batch, icc_batch
from selene_eval.stats.consensus import Level, check_level
from selene_eval.stats.registry import APPLICABLE, DEFAULT_STATISTICS, REGISTRY, STATISTICS, statistic_name

Method = Literal["percentile", "bca", "auto"]

_MIN_RESAMPLES = 100
_MIN_VALID_SHARE = 0.5
# Above this many (distinct a value) x (distinct b value) pairs, Kendall's tau takes the loop path.
_MAX_KENDALL_TABLE = 250_000
# Elements per chunk of a (rows x cells) working matrix: bounds memory at a few tens of MB.
_CHUNK_ELEMENTS = 2_000_000
# Draw per-type multinomial counts when types are this much fewer than groups (cheaper than G indices).
_MULTINOMIAL_TYPE_RATIO = 4

_UNDEFINED_REASON: dict[str, str] = {s.key: s.undefined for s in REGISTRY if s.bootstrap is not None}


# --------------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval for one statistic.

    ``estimate`` is the statistic on the data; ``low``/``high`` the interval at confidence ``level``
    (e.g. 0.95) by ``method`` (``'percentile'`` or ``'bca'`` - the method actually used). ``n_valid`` of
    ``n_resamples`` resamples had the statistic defined. ``note`` says why a value is ``nan``, why BCa
    fell back to percentile, or how many resamples were dropped.
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str
    n_resamples: int
    n_valid: int
    note: str | None = None
    p_value: float | None = None
    """Only for paired differences: two-sided bootstrap p-value of "the difference is 0" (see
    :func:`paired_bootstrap_difference`); ``None`` elsewhere."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (nan -> None)."""
        return {
            "estimate": finite_or_none(self.estimate),
            "low": finite_or_none(self.low),
            "high": finite_or_none(self.high),
            "level": self.level,
            "method": self.method,
            "n_resamples": self.n_resamples,
            "n_valid": self.n_valid,
            "note": self.note,
            **({"p_value": finite_or_none(self.p_value)} if self.p_value is not None else {}),
        }


# --------------------------------------------------------------------------------------------------
# Design: cells, domains, group types
# --------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Design:
    """The data collapsed into cells and group types (see the module docstring).

    ``values[r]`` / ``codes[r]``: per cell, rater ``r``'s value and its index into ``domains[r]`` (the
    sorted distinct values of that rater; ``arange(K)`` for nominal/ordinal). ``union_codes[r]`` indexes
    ``union_domain`` (all raters' values). ``type_tables``: ``(T, M)`` sparse cell counts per group type;
    ``type_sizes``: groups per type; ``type_of_group``: ``(G,)``.
    """

    level: Level
    n_labels: int | None
    values: tuple[np.ndarray, ...]
    codes: tuple[np.ndarray, ...]
    domains: tuple[np.ndarray, ...]
    union_codes: tuple[np.ndarray, ...]
    union_domain: np.ndarray
    type_tables: sparse.csr_matrix
    type_sizes: np.ndarray
    type_of_group: np.ndarray
    n_items: int
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return int(self.type_tables.shape[1])

    @property
    def n_groups(self) -> int:
        return int(self.type_of_group.size)

    @property
    def total(self) -> np.ndarray:
        """Cell counts of the data (every group once)."""
        return np.asarray(self.type_tables.T @ self.type_sizes, dtype=float)

    def onehot(self, key: tuple[Any, ...]) -> sparse.csr_matrix:
        """Cached sparse ``(M, V)`` indicator matrices used to scatter cell weights into tables."""
        if key not in self.cache:
            kind = key[0]
            m = np.arange(self.n_cells)
            if kind == "role":
                r = key[1]
                cols, width = self.codes[r], self.domains[r].size
            elif kind == "pair":
                ra, rb = key[1], key[2]
                width = self.domains[ra].size * self.domains[rb].size
                cols = self.codes[ra] * self.domains[rb].size + self.codes[rb]
            else:  # union marginal of two raters: each cell adds its weight to both values
                ra, rb = key[1], key[2]
                width = self.union_domain.size
                m = np.concatenate([m, m])
                cols = np.concatenate([self.union_codes[ra], self.union_codes[rb]])
            data = np.ones(m.size)
            self.cache[key] = sparse.csr_matrix((data, (m, cols)), shape=(self.n_cells, width))
        return self.cache[key]

    def scaled(self, r: int) -> np.ndarray:
        """Rater ``r``'s cell values shifted and scaled to mean 0, spread 1 over the data.

        Correlations are invariant to an affine map of each rater; working on standardized values keeps the
        moment sums well conditioned (e.g. values around 1e6).
        """
        key = ("scaled", r)
        if key not in self.cache:
            values, w = self.values[r], self.total
            centre = float(np.average(values, weights=w))
            spread = float(np.sqrt(np.average((values - centre) ** 2, weights=w)))
            self.cache[key] = (values - centre) / (spread if spread > 0 else 1.0)
        return self.cache[key]


def _check_codes(codes: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(codes, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"{name} must be numeric codes or values: {exc}.") from None
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be one-dimensional, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise StatisticsError(f"{name} holds missing or infinite values; filter the items first.")
    return array


def _design(
    columns: Sequence[object],
    names: Sequence[str],
    level: object,
    n_labels: int | None,
    groups: object | None,
) -> _Design:
    """Validate the inputs and build the :class:`_Design`."""
    lvl = check_level(level)
    arrays = [_check_codes(c, n) for c, n in zip(columns, names)]
    n = arrays[0].size
    for array, name in zip(arrays[1:], names[1:]):
        if array.size != n:
            raise StatisticsError(f"{names[0]} has {n} items but {name} has {array.size}; they must pair up.")
    if n == 0:
        raise StatisticsError("There are no items to resample (the code arrays are empty).")

    if lvl == "interval":
        k = None
        union_domain, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
        union_codes = [inverse.reshape(-1)[i * n : (i + 1) * n] for i in range(len(arrays))]
    else:
        if n_labels is not None and (isinstance(n_labels, bool) or int(n_labels) != n_labels or n_labels < 1):
            raise StatisticsError(f"n_labels must be a positive integer, got {n_labels!r}.")
        for array, name in zip(arrays, names):
            if np.any(array != np.round(array)) or np.any(array < 0):
                raise StatisticsError(f"{name} must hold label codes 0, 1, 2, ... at {lvl} level.")
        top = int(max(a.max() for a in arrays)) + 1
        if n_labels is None:
            k = top
        else:
            k = int(n_labels)
            if top > k:
                raise StatisticsError(f"Label codes go up to {top - 1} but n_labels is {k}.")
        union_domain = np.arange(k, dtype=float)
        union_codes = [a.astype(np.int64) for a in arrays]

    # Cells: distinct code tuples.
    keys = np.stack(union_codes, axis=1)
    cell_keys, cell_of_item = np.unique(keys, axis=0, return_inverse=True)
    cell_of_item = cell_of_item.reshape(-1)
    n_cells = cell_keys.shape[0]
    values = tuple(union_domain[cell_keys[:, r]] for r in range(len(arrays)))
    if lvl == "interval":
        domains = tuple(np.unique(v) for v in values)
        codes = tuple(np.searchsorted(d, v) for d, v in zip(domains, values))
    else:
        domains = tuple(np.arange(k) for _ in arrays)  # type: ignore[arg-type]
        codes = tuple(cell_keys[:, r] for r in range(len(arrays)))
    cell_union_codes = tuple(cell_keys[:, r] for r in range(len(arrays)))

    # Groups -> group types.
    if groups is None:
        group_of_item = np.arange(n)
        n_groups = n
    else:
        ids = np.asarray(groups, dtype=object) if not isinstance(groups, np.ndarray) else groups
        if ids.ndim != 1 or ids.size != n:
            raise StatisticsError(f"groups must have one id per item ({n}), got shape {np.shape(ids)}.")
        group_of_item, uniques = pd.factorize(pd.Series(ids, dtype=object if ids.dtype == object else None))
        if np.any(group_of_item < 0):
            raise StatisticsError("groups holds missing ids; every item needs a group id.")
        n_groups = len(uniques)
    if groups is None or n_groups == n:
        # One item per group: the type of a group is its cell.
        type_of_group = cell_of_item[np.argsort(group_of_item)] if groups is not None else cell_of_item
        used, type_of_group = np.unique(type_of_group, return_inverse=True)
        type_of_group = type_of_group.reshape(-1)
        type_tables = sparse.csr_matrix((np.ones(used.size), (np.arange(used.size), used)), shape=(used.size, n_cells))
    else:
        table = sparse.csr_matrix((np.ones(n), (group_of_item, cell_of_item)), shape=(n_groups, n_cells))
        table.sum_duplicates()
        table.sort_indices()
        lookup: dict[tuple[bytes, bytes], int] = {}
        type_of_group = np.empty(n_groups, dtype=np.int64)
        first_rows: list[int] = []
        for g in range(n_groups):
            start, end = table.indptr[g], table.indptr[g + 1]
            key = (table.indices[start:end].tobytes(), table.data[start:end].tobytes())
            t = lookup.setdefault(key, len(lookup))
            if t == len(first_rows):
                first_rows.append(g)
            type_of_group[g] = t
        type_tables = table[first_rows]
    type_sizes = np.bincount(type_of_group, minlength=type_tables.shape[0]).astype(float)
    return _Design(
        level=lvl,
        n_labels=k,
        values=values,
        codes=codes,
        domains=domains,
        union_codes=cell_union_codes,
        union_domain=union_domain,
        type_tables=sparse.csr_matrix(type_tables),
        type_sizes=type_sizes,
        type_of_group=type_of_group,
        n_items=n,
    )


# --------------------------------------------------------------------------------------------------
# Statistics on a batch of weight rows
# --------------------------------------------------------------------------------------------------


class _Batch:
    """Rows of cell weights ``W`` (``(R, M)``) for raters ``ra``, ``rb``, with shared pieces cached.

    Each statistic method returns ``(values, defined)``, two ``(R,)`` arrays; ``values`` is meaningless
    where ``defined`` is False.
    """

    def __init__(self, design: _Design, weights: np.ndarray, ra: int, rb: int) -> None:
        self.d = design
        self.w = weights
        self.ra, self.rb = ra, rb
        self.n = weights.sum(axis=1)
        self._cache: dict[str, Any] = {}

    def _scatter(self, key: tuple[Any, ...]) -> np.ndarray:
        """``W @ onehot`` as a dense ``(R, V)`` array (sparse product: cost ~ R * M)."""
        onehot = self.d.onehot(key)
        return np.asarray((onehot.T @ self.w.T).T)

    def marginal(self, r: int) -> np.ndarray:
        """``(R, V_r)`` weighted counts per distinct value of rater ``r``."""
        key = f"marginal{r}"
        if key not in self._cache:
            self._cache[key] = self._scatter(("role", r))
        return self._cache[key]

    def varies(self, r: int) -> np.ndarray:
        """Rater ``r`` takes at least two distinct values in the row."""
        return (self.marginal(r) > 0).sum(axis=1) >= 2

    def table(self) -> np.ndarray:
        """``(R, Va, Vb)`` weighted table of distinct values (confusion table for nominal/ordinal)."""
        if "table" not in self._cache:
            va, vb = self.d.domains[self.ra].size, self.d.domains[self.rb].size
            flat = self._scatter(("pair", self.ra, self.rb))
            self._cache["table"] = flat.reshape(-1, va, vb)
        return self._cache["table"]

    # -- simple means ------------------------------------------------------------------------------

    def accuracy(self) -> tuple[np.ndarray, np.ndarray]:
        same = (self.d.values[self.ra] == self.d.values[self.rb]).astype(float)
        return self.w @ same / self.n, self.n > 0

    def mean_absolute_error(self) -> tuple[np.ndarray, np.ndarray]:
        gap = np.abs(self.d.values[self.ra] - self.d.values[self.rb])
        return self.w @ gap / self.n, self.n > 0

    # -- kappa family --------------------------------------------------------------------------------

    def kappa(self, weighting: str | None) -> tuple[np.ndarray, np.ndarray]:
        t = self.table()
        k = t.shape[1]
        i, j = np.indices((k, k))
        if weighting is None:
            dis = (i != j).astype(float)
        elif weighting == "linear":
            dis = np.abs(i - j).astype(float)
        else:
            dis = ((i - j) ** 2).astype(float)
        rows, cols = t.sum(axis=2), t.sum(axis=1)
        # sum(D * E) with E = outer(rows, cols) / N, without building E: rows @ D @ cols / N.
        expected = np.einsum("ri,ij,rj->r", rows, dis, cols) / self.n
        observed = np.einsum("rij,ij->r", t, dis)
        # Every term of `expected` is >= 0, so it is exactly 0 only in the undefined case.
        defined = expected > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 - observed / expected, defined

    def gwet_ac1(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`~selene_eval.stats.coefficients.gwet_ac1_batch` on the cells (two labels each)."""
        k = self.table().shape[1]
        if k < 2:
            return np.full(self.n.shape, np.nan), np.zeros(self.n.shape, dtype=bool)
        counts = np.zeros((self.d.n_cells, k))
        cells = np.arange(self.d.n_cells)
        np.add.at(counts, (cells, self.d.codes[self.ra]), 1.0)
        np.add.at(counts, (cells, self.d.codes[self.rb]), 1.0)
        return gwet_ac1_batch(counts, self.w, k), self.n > 0

    # -- Krippendorff's alpha ------------------------------------------------------------------------

    def krippendorff_alpha(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`~selene_eval.stats.alpha.alpha_batch` on the cells (two raters, no missing value)."""
        panel = np.stack([self.d.values[self.ra], self.d.values[self.rb]], axis=1)
        # Alpha is undefined when all 2N values of a row are one value (expected disagreement 0); tested on
        # the counts, since a rounding residue of the closed form need not be exactly 0.
        defined = (self._scatter(("union", self.ra, self.rb)) > 0).sum(axis=1) >= 2
        return alpha_batch(panel, self.w, self.d.level), defined

    # -- correlations --------------------------------------------------------------------------------

    def _weighted_corr(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Weighted Pearson correlation per row; ``x``/``y`` are ``(M,)`` or ``(R, M)``."""
        n = self.n[:, None]
        mx = (self.w * x).sum(axis=1, keepdims=True) / n
        my = (self.w * y).sum(axis=1, keepdims=True) / n
        dx, dy = x - mx, y - my  # two-pass: centre first, then sum products
        sxy = (self.w * dx * dy).sum(axis=1)
        sxx = (self.w * dx * dx).sum(axis=1)
        syy = (self.w * dy * dy).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)

    def _both_vary(self) -> np.ndarray:
        return self.varies(self.ra) & self.varies(self.rb)

    def pearson(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.d.scaled(self.ra), self.d.scaled(self.rb)
        return self._weighted_corr(x, y), self._both_vary()

    def _midranks(self, r: int) -> np.ndarray:
        """``(R, M)`` average rank of each cell's rater-``r`` value within each resample."""
        counts = self.marginal(r)
        mid = np.cumsum(counts, axis=1) - (counts - 1) / 2  # cum_before + (count + 1) / 2
        return mid[:, self.d.codes[r]]

    def spearman(self) -> tuple[np.ndarray, np.ndarray]:
        return self._weighted_corr(self._midranks(self.ra), self._midranks(self.rb)), self._both_vary()

    def kendall_tau(self) -> tuple[np.ndarray, np.ndarray]:
        defined = self._both_vary()
        va, vb = self.d.domains[self.ra].size, self.d.domains[self.rb].size
        if va * vb > _MAX_KENDALL_TABLE:
            return self._kendall_loop(), defined
        t = self.table()
        r = t.shape[0]
        # below_right[i, j] = sum of t[i', j'] with i' > i and j' > j  (concordant partners)
        suffix = t[:, ::-1, ::-1].cumsum(axis=1).cumsum(axis=2)[:, ::-1, ::-1]
        padded = np.zeros((r, va + 1, vb + 1))
        padded[:, :va, :vb] = suffix
        concordant = np.einsum("rij,rij->r", t, padded[:, 1:, 1:])
        # below_left[i, j] = sum of t[i', j'] with i' > i and j' < j  (discordant partners)
        down = t[:, ::-1, :].cumsum(axis=1)[:, ::-1, :].cumsum(axis=2)  # i' >= i, j' <= j
        padded = np.zeros((r, va + 1, vb + 1))
        padded[:, :va, 1:] = down
        discordant = np.einsum("rij,rij->r", t, padded[:, 1:, :vb])
        n = self.n
        n0 = n * (n - 1) / 2
        rows, cols = t.sum(axis=2), t.sum(axis=1)
        n1 = (rows * (rows - 1) / 2).sum(axis=1)
        n2 = (cols * (cols - 1) / 2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (concordant - discordant) / np.sqrt((n0 - n1) * (n0 - n2)), defined

    def _kendall_loop(self) -> np.ndarray:
        """Slow path: scipy's tau-b on the explicitly repeated items of each row."""
        out = np.full(self.w.shape[0], np.nan)
        a, b = self.d.values[self.ra], self.d.values[self.rb]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, row in enumerate(self.w):
                reps = np.rint(row).astype(np.int64)
                out[i] = stats.kendalltau(np.repeat(a, reps), np.repeat(b, reps)).statistic
        return out

    # -- intraclass correlations ---------------------------------------------------------------------

    def _icc(self, kind: IccKind) -> tuple[np.ndarray, np.ndarray]:
        """:func:`~selene_eval.stats.coefficients.icc_batch` on the cells (judge and consensus as raters)."""
        return icc_batch(np.stack([self.d.values[self.ra], self.d.values[self.rb]], axis=1), self.w, kind)

    def icc_2_1(self) -> tuple[np.ndarray, np.ndarray]:
        return self._icc("2,1")

    def icc_3_1(self) -> tuple[np.ndarray, np.ndarray]:
        return self._icc("3,1")

    def cohen_kappa(self) -> tuple[np.ndarray, np.ndarray]:
        return self.kappa(None)

    def linear_weighted_kappa(self) -> tuple[np.ndarray, np.ndarray]:
        return self.kappa("linear")

    def quadratic_weighted_kappa(self) -> tuple[np.ndarray, np.ndarray]:
        return self.kappa("quadratic")

    def compute(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The statistic ``name`` (a registry key) on every row: ``(values, defined)``."""
        values, defined = getattr(self, name)()
        if name.endswith("kappa"):  # kappa's definedness is exact (expected disagreement > 0)
            return values, defined
        return values, defined & np.isfinite(values)


# --------------------------------------------------------------------------------------------------
# Resampling
# --------------------------------------------------------------------------------------------------


def _draw_type_counts(design: _Design, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(B, T)`` counts of each group type in each of ``B`` resamples of ``G`` groups.

    With few types the counts are drawn as ``Multinomial(G, m_t / G)`` - exactly the distribution of the
    type counts of ``G`` uniform draws of groups. Otherwise the ``(B, G)`` matrix of group indices is drawn
    and counted with ``np.bincount``. Each row sums to ``G``; a row is turned into cell weights by adding
    whole group tables, so the items of a group are always resampled together.
    """
    g = design.n_groups
    t = design.type_sizes.size
    if t * _MULTINOMIAL_TYPE_RATIO <= g:
        return rng.multinomial(g, design.type_sizes / g, size=n_resamples).astype(float)
    index = rng.integers(0, g, size=(n_resamples, g), dtype=np.int64)
    types = design.type_of_group[index]
    types += (np.arange(n_resamples) * t)[:, None]
    return np.bincount(types.ravel(), minlength=n_resamples * t).reshape(n_resamples, t).astype(float)


def _cell_weights(design: _Design, type_counts: np.ndarray) -> np.ndarray:
    """``(R, M)`` cell weights from ``(R, T)`` type counts (sparse product with the type tables)."""
    return np.asarray((design.type_tables.T @ type_counts.T).T)


def _chunks(n_rows: int, width: int) -> Iterator[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(width, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


Evaluator = Callable[[_Design, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]


def _evaluate_types(
    design: _Design, evaluate: Evaluator, type_counts: np.ndarray, names: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evaluate on rows of type counts, chunked so that the working matrices stay small."""
    width = max(design.n_cells, *(d.size for d in design.domains)) * 4
    if design.n_labels is not None:
        width = max(width, design.n_labels**2 * 4)
    out: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in names}
    for rows in _chunks(type_counts.shape[0], width):
        result = evaluate(design, _cell_weights(design, type_counts[rows]))
        for name in names:
            out[name][0].append(result[name][0])
            out[name][1].append(result[name][1])
    return {name: (np.concatenate(v), np.concatenate(d)) for name, (v, d) in out.items()}


def _jackknife_counts(design: _Design) -> np.ndarray:
    """``(T, T)`` type counts with one group of type ``t`` left out (row ``t``)."""
    return design.type_sizes[None, :] - np.eye(design.type_sizes.size)


# --------------------------------------------------------------------------------------------------
# Intervals from a resample distribution
# --------------------------------------------------------------------------------------------------


def percentile_interval(boot: np.ndarray, level_ci: float) -> tuple[float, float]:
    """Percentile interval: the ``(1 -+ level_ci)/2`` quantiles of ``boot`` (linear interpolation)."""
    tail = (1 - level_ci) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    return float(low), float(high)


def bca_interval(
    boot: np.ndarray,
    estimate: float,
    jackknife: np.ndarray,
    level_ci: float,
    jackknife_weights: np.ndarray | None = None,
    *,
    require_stable: bool = False,
) -> tuple[float, float, str | None]:
    """BCa interval (Efron & Tibshirani 1993, eq. 14.10-14.15) from a resample distribution.

    ``boot``: valid resample values; ``estimate``: the statistic on the data; ``jackknife``: the
    leave-one-group-out values (``jackknife_weights``: how many groups each stands for, default 1).
    ``z0 = Phi^-1((#{boot < estimate} + #{boot == estimate} / 2) / B)``;
    ``a = sum(U^3) / (6 sum(U^2)^1.5)``, ``U = mean(jackknife) - jackknife``; the interval is the
    quantiles of ``boot`` at ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` for ``z = Phi^-1((1 -+ level)/2)``.

    Returns ``(low, high, None)`` or ``(nan, nan, reason)`` when BCa is undefined (or, with
    ``require_stable``, when its adjusted levels fall outside ``[1/B, 1 - 1/B]``).
    """
    b = boot.size
    scale = max(1.0, abs(estimate))
    tie = np.abs(boot - estimate) <= 1e-12 * scale  # exact ties up to rounding
    share = (np.count_nonzero((boot < estimate) & ~tie) + 0.5 * np.count_nonzero(tie)) / b
    if share <= 0 or share >= 1:
        return math.nan, math.nan, "every resample lies on one side of the estimate (bias correction is infinite)"
    z0 = float(ndtri(share))
    if not np.all(np.isfinite(jackknife)):
        return math.nan, math.nan, "the statistic is undefined when some group is left out (no jackknife)"
    weights = np.ones(jackknife.size) if jackknife_weights is None else np.asarray(jackknife_weights, float)
    centre = float(np.sum(weights * jackknife) / np.sum(weights))
    u = centre - jackknife
    den = float(np.sum(weights * u**2))
    if den <= 0 or not math.isfinite(den):
        return math.nan, math.nan, "the leave-one-group-out values are all equal (acceleration is 0/0)"
    accel = float(np.sum(weights * u**3) / (6 * den**1.5))
    tail = (1 - level_ci) / 2
    levels = []
    for z in (float(ndtri(tail)), float(ndtri(1 - tail))):
        shifted = z0 + z
        denom = 1 - accel * shifted
        if denom <= 0:
            return math.nan, math.nan, "the acceleration is too large for this level (BCa levels not monotone)"
        levels.append(float(ndtr(z0 + shifted / denom)))
    if require_stable and (min(levels) < 1 / b or max(levels) > 1 - 1 / b):
        return (
            math.nan,
            math.nan,
            f"BCa asks for quantiles {levels[0]:.4f}, {levels[1]:.4f}, beyond the most extreme of the {b} resamples",
        )
    low, high = np.quantile(boot, levels)
    return float(low), float(high), None


def _interval(
    name: str,
    estimate: float,
    est_defined: bool,
    boot: np.ndarray,
    boot_defined: np.ndarray,
    jack: tuple[np.ndarray, np.ndarray] | None,
    jack_weights: np.ndarray,
    n_groups: int,
    n_resamples: int,
    level_ci: float,
    method: Method,
    undefined_reason: str,
) -> Interval:
    """Assemble one :class:`Interval` from the resample and jackknife values."""
    n_valid = int(boot_defined.sum())
    fallback = "percentile" if method == "auto" else method
    if not est_defined:
        return Interval(
            math.nan,
            math.nan,
            math.nan,
            level=level_ci,
            method=fallback,
            n_resamples=n_resamples,
            n_valid=n_valid,
            note=f"{statistic_name(name)} is undefined on the data: {undefined_reason}.",
        )
    if n_groups < 2:
        return Interval(
            estimate,
            math.nan,
            math.nan,
            level=level_ci,
            method=fallback,
            n_resamples=n_resamples,
            n_valid=n_valid,
            note="A bootstrap interval needs at least 2 groups (resampling units); there is 1.",
        )
    if n_valid < _MIN_VALID_SHARE * n_resamples:
        return Interval(
            estimate,
            math.nan,
            math.nan,
            level=level_ci,
            method=fallback,
            n_resamples=n_resamples,
            n_valid=n_valid,
            note=(
                f"{statistic_name(name)} is undefined in {n_resamples - n_valid} of {n_resamples} resamples "
                f"({undefined_reason}); fewer than {_MIN_VALID_SHARE:.0%} are valid, so there is no interval."
            ),
        )
    values = boot[boot_defined]
    notes = []
    if n_valid < n_resamples:
        notes.append(
            f"{n_resamples - n_valid} of {n_resamples} resamples were dropped: {statistic_name(name)} is undefined there "
            f"({undefined_reason})."
        )
    used = "percentile"
    low, high = percentile_interval(values, level_ci)
    if method in ("bca", "auto"):
        assert jack is not None
        jack_values = np.where(jack[1], jack[0], np.nan)
        b_low, b_high, why = bca_interval(
            values, estimate, jack_values, level_ci, jack_weights, require_stable=method == "auto"
        )
        if why is None:
            used, low, high = "bca", b_low, b_high
        else:
            notes.append(f"BCa not used ({why}); percentile interval instead.")
    return Interval(
        estimate,
        low,
        high,
        level=level_ci,
        method=used,
        n_resamples=n_resamples,
        n_valid=n_valid,
        note=" ".join(notes) or None,
    )


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _check_options(n_resamples: int, level_ci: float, method: str) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise StatisticsError(f"n_resamples must be an integer, got {n_resamples!r}.")
    if n_resamples < _MIN_RESAMPLES:
        raise StatisticsError(
            f"n_resamples must be at least {_MIN_RESAMPLES} for a usable interval, got {n_resamples}."
        )
    if not (isinstance(level_ci, (int, float)) and 0 < level_ci < 1):
        raise StatisticsError(f"level_ci must be a confidence level between 0 and 1 (e.g. 0.95), got {level_ci!r}.")
    if method not in ("percentile", "bca", "auto"):
        raise StatisticsError(f"Unknown interval method {method!r}; use 'percentile', 'bca' or 'auto'.")


def _check_statistics(statistics: Sequence[str] | None, level: Level) -> tuple[str, ...]:
    if statistics is None:
        return DEFAULT_STATISTICS[level]
    if isinstance(statistics, str):
        statistics = [statistics]
    names = tuple(dict.fromkeys(statistics))
    unknown = [s for s in names if s not in STATISTICS]
    if unknown:
        raise StatisticsError(f"Unknown statistic(s) {unknown}; known: {', '.join(STATISTICS)}.")
    wrong = [s for s in names if s not in APPLICABLE[level]]
    if wrong:
        raise StatisticsError(
            f"Statistic(s) {wrong} do not apply at {level} level; use: {', '.join(APPLICABLE[level])}."
        )
    if not names:
        raise StatisticsError("No statistic was asked for.")
    return names


def _run(
    design: _Design,
    names: tuple[str, ...],
    evaluate: Evaluator,
    reasons: dict[str, str],
    n_resamples: int,
    level_ci: float,
    seed: int,
    method: Method,
    with_p_value: bool = False,
) -> dict[str, Interval]:
    """Estimate, resample, jackknife and build the intervals for ``names`` (and p-values of "= 0")."""
    with np.errstate(all="ignore"):
        original = evaluate(design, design.total[None, :])
        rng = np.random.default_rng(seed)
        counts = _draw_type_counts(design, n_resamples, rng)
        boot = _evaluate_types(design, evaluate, counts, names)
        jack = None
        if method != "percentile" and design.n_groups >= 2:
            jack = _evaluate_types(design, evaluate, _jackknife_counts(design), names)
    result = {}
    for name in names:
        est_values, est_defined = original[name]
        result[name] = _interval(
            name,
            float(est_values[0]),
            bool(est_defined[0]),
            boot[name][0],
            boot[name][1],
            None if jack is None else jack[name],
            design.type_sizes,
            design.n_groups,
            n_resamples,
            float(level_ci),
            method,
            reasons[name],
        )
        if with_p_value:
            result[name] = replace(result[name], p_value=_bootstrap_p_value(boot[name][0], boot[name][1]))
    return result


def _bootstrap_p_value(boot: np.ndarray, defined: np.ndarray) -> float:
    """Two-sided p-value of "the statistic is 0" by inverting the percentile interval.

    It is about the smallest ``1 - level`` at which the percentile interval of the resamples would exclude
    0: ``2 * min(P(boot <= 0), P(boot >= 0))``, capped at 1 (Efron & Tibshirani 1993, section 15.4). Each
    share is counted as ``(k + 1) / (R + 1)`` so that ``R`` resamples never claim a p-value of 0: the
    smallest reportable value is ``2 / (R + 1)``.
    """
    values = boot[defined]
    if values.size == 0:
        return math.nan
    r = values.size
    below = (int(np.sum(values <= 0)) + 1) / (r + 1)
    above = (int(np.sum(values >= 0)) + 1) / (r + 1)
    return min(1.0, 2.0 * min(below, above))


def bootstrap_intervals(
    codes_a: np.ndarray,
    codes_b: np.ndarray,
    *,
    level: Level,
    n_labels: int | None,
    groups: np.ndarray | None = None,
    statistics: Sequence[str] | None = None,
    n_resamples: int = 1000,
    level_ci: float = 0.95,
    seed: int = 0,
    method: Method = "auto",
) -> dict[str, Interval]:
    """Bootstrap confidence intervals of agreement statistics between two raters.

    ``codes_a``/``codes_b``: one value per compared item (e.g. expert consensus and judge): label codes
    ``0..n_labels-1`` (ranks for ordinal) at nominal/ordinal level, values at interval level; no nan.
    ``n_labels``: size of the label set (None: largest code + 1; ignored at interval level).
    ``groups``: a cluster id per item; whole groups are resampled with replacement (None: every item is
    its own group). ``statistics``: names from :data:`STATISTICS` applicable to ``level``
    (default :data:`DEFAULT_STATISTICS`). ``method``: ``'percentile'``, ``'bca'`` or ``'auto'`` (see the
    module docstring). Same ``seed`` -> identical intervals.

    Returns ``{statistic: Interval}`` in the order asked. Raises :class:`StatisticsError` on bad input
    (length mismatch, no items, unknown level or statistic, ``n_resamples < 100``, bad codes).
    """
    _check_options(n_resamples, level_ci, method)
    design = _design([codes_a, codes_b], ["codes_a", "codes_b"], level, n_labels, groups)
    names = _check_statistics(statistics, design.level)

    def evaluate(d: _Design, weights: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        batch = _Batch(d, weights, 0, 1)
        return {name: batch.compute(name) for name in names}

    return _run(design, names, evaluate, _UNDEFINED_REASON, n_resamples, level_ci, seed, method)


def statistic_value(
    codes_a: np.ndarray, codes_b: np.ndarray, *, level: Level, n_labels: int | None, statistic: str
) -> float:
    """One agreement statistic between two raters, computed exactly as the bootstrap computes it (no
    resampling). NaN where it is undefined (see the module docstring)."""
    design = _design([codes_a, codes_b], ["codes_a", "codes_b"], level, n_labels, None)
    (name,) = _check_statistics([statistic], design.level)
    with np.errstate(all="ignore"):
        values, defined = _Batch(design, design.total[None, :], 0, 1).compute(name)
    return float(values[0]) if bool(defined[0]) else math.nan


def paired_bootstrap_difference(
    codes_ref: np.ndarray,
    codes_a: np.ndarray,
    codes_b: np.ndarray,
    *,
    level: Level,
    n_labels: int | None,
    statistic: str,
    groups: np.ndarray | None = None,
    n_resamples: int = 1000,
    level_ci: float = 0.95,
    seed: int = 0,
    method: Method = "auto",
) -> Interval:
    """Interval of ``stat(ref, a) - stat(ref, b)`` with both computed on the same resamples.

    Use it to compare two judges or prompt variants against one reference (expert consensus): pairing
    the resamples removes the item-to-item variation the two share, so the interval is much narrower
    than one built from two separate intervals. A resample counts as valid when both statistics are
    defined on it. Arguments as :func:`bootstrap_intervals`. The result's ``p_value`` is the two-sided
    bootstrap p-value of "no difference" (the percentile interval inverted; see :func:`_bootstrap_p_value`).
    """
    _check_options(n_resamples, level_ci, method)
    design = _design([codes_ref, codes_a, codes_b], ["codes_ref", "codes_a", "codes_b"], level, n_labels, groups)
    (name,) = _check_statistics([statistic], design.level)

    def evaluate(d: _Design, weights: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        first, first_ok = _Batch(d, weights, 0, 1).compute(name)
        second, second_ok = _Batch(d, weights, 0, 2).compute(name)
        return {name: (first - second, first_ok & second_ok)}

    reasons = {name: f"on (ref, a) or (ref, b): {_UNDEFINED_REASON[name]}"}
    return _run(design, (name,), evaluate, reasons, n_resamples, level_ci, seed, method, with_p_value=True)[name]
