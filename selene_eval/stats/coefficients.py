"""Agreement coefficients on coded arrays, and the kappa-paradox rule that reads them.

Pure functions, no tables and no I/O: inputs are the numeric codes that
:func:`selene_eval.stats.consensus.code_table` produces (label index ``0 .. n_labels-1`` for nominal /
ordinal data, the value for interval data) with ``nan`` for "missing".

Conventions

* A statistic that is *undefined* on the given data (no pairable item, no variation, ...) is ``nan``;
  the ``*_checked`` variants return ``(value, reason)`` so that callers can write a note saying why.
* Input that is *wrong* (codes outside the label range, arrays of different lengths, an unknown kind,
  confidences outside ``[0, 1]``) raises :class:`~selene_eval.errors.StatisticsError`.
* Rater-by-item matrices follow the convention of :mod:`krippendorff` and of
  :func:`selene_eval.stats.alpha.krippendorff_alpha`: ``(raters, items)``. The one exception is
  :func:`icc`, whose ``(items, raters)`` layout is the layout of Shrout & Fleiss' tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError
from selene_eval.stats.checked import finite_or_nan, quiet

KappaWeights = Literal["linear", "quadratic"] | None
IccKind = Literal["2,1", "3,1"]

# kappa_paradox rule (see its docstring). Module constants so that a report can quote them.
PARADOX_PREVALENCE = 0.8  # the most frequent label has at least this share of all labels
PARADOX_ACCURACY = 0.8  # observed agreement at least this high ...
PARADOX_KAPPA = 0.6  # ... while kappa is below this ("moderate" or worse, Landis & Koch 1977) ...
PARADOX_GAP = 0.2  # ... and AC1 differs from kappa by at least this much


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _check_n_labels(n_labels: int) -> int:
    if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)) or n_labels < 1:
        raise StatisticsError(f"n_labels must be a positive whole number, got {n_labels!r}.")
    return int(n_labels)


def _codes(values: object, n_labels: int, name: str, ndim: int) -> np.ndarray:
    """``values`` as a float array of label codes (whole numbers in ``0 .. n_labels-1`` or nan)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatisticsError(f"{name} must hold numeric label codes: {error}.") from None
    if array.ndim != ndim:
        raise StatisticsError(f"{name} must be a {ndim}-dimensional array, got shape {array.shape}.")
    present = array[~np.isnan(array)]
    bad = present[(present != np.round(present)) | (present < 0) | (present >= n_labels)]
    if bad.size:
        raise StatisticsError(
            f"{name} holds values that are not label codes 0..{n_labels - 1}: "
            f"{', '.join(repr(float(v)) for v in np.unique(bad)[:5])}."
        )
    return array


def pair_arrays(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatisticsError(f"Both rating arrays must be numeric: {error}.") from None
    if x.ndim != 1 or x.shape != y.shape:
        raise StatisticsError(f"Expected two 1-dimensional arrays of one length, got shapes {x.shape} and {y.shape}.")
    return x, y


def _count_table(ratings: np.ndarray, n_labels: int) -> np.ndarray:
    """``(items, n_labels)`` counts r_ik: how many raters put item i into category k (nan ignored)."""
    codes = np.where(np.isnan(ratings), -1, ratings).astype(int)  # (raters, items)
    return (codes[:, :, None] == np.arange(n_labels)).sum(axis=0).astype(float)


# --------------------------------------------------------------------------------------------------
# Chance-corrected agreement among raters
# --------------------------------------------------------------------------------------------------


def gwet_ac1_batch(counts: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    """Gwet's AC1 of items given as ``(items, K)`` label counts ``r_ik`` under ``(R, items)`` item weights.

    The formulas of :func:`gwet_ac1` with every item mean weighted (``p_a`` over the items rated at least
    twice, ``pi_k`` over the items rated at least once); a row of ones gives AC1 of the data, a row of
    resample counts its bootstrap value. Needs ``n_labels >= 2`` and a pairable item in every row (else nan).
    """
    per_item = counts.sum(axis=1)
    rated, pairable = per_item >= 1, per_item >= 2
    r_i = per_item[pairable]
    agree = (counts[pairable] * (counts[pairable] - 1)).sum(axis=1) / (r_i * (r_i - 1))
    with np.errstate(all="ignore"):
        w_pair, w_rated = weights[:, pairable], weights[:, rated]
        p_a = (w_pair @ agree) / w_pair.sum(axis=1)
        pi = (w_rated @ (counts[rated] / per_item[rated, None])) / w_rated.sum(axis=1)[:, None]
        p_e = (pi * (1 - pi)).sum(axis=1) / (n_labels - 1)  # <= 1/K <= 1/2, so 1 - p_e > 0
        return (p_a - p_e) / (1 - p_e)


def gwet_ac1_checked(ratings: np.ndarray, n_labels: int) -> tuple[float, str | None]:
    """:func:`gwet_ac1` and the reason it is undefined (``None`` when it is defined)."""
    n_labels = _check_n_labels(n_labels)
    data = _codes(ratings, n_labels, "ratings", 2)
    if n_labels < 2:
        return math.nan, "AC1 needs at least 2 categories (its chance agreement divides by K - 1)"
    counts = _count_table(data, n_labels)  # r_ik
    if not (counts.sum(axis=1) >= 2).any():
        return math.nan, "no item has labels from two raters"
    return finite_or_nan(float(gwet_ac1_batch(counts, np.ones((1, counts.shape[0])), n_labels)[0]), None)


def gwet_ac1(ratings: np.ndarray, n_labels: int) -> float:
    """Gwet's first-order agreement coefficient AC1 of a ``(raters, items)`` code matrix (nan = missing).

    Definition (Gwet 2008, *Br J Math Stat Psychol* 61:29-48; Gwet 2014, *Handbook of Inter-Rater
    Reliability*, 4th ed., ch. 2 and 4, the "missing ratings" formulas), with r_ik = number of raters who
    put item i into category k, r_i = sum_k r_ik and K = ``n_labels``::

        p_a  = mean over items with r_i >= 2 of  sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))
        pi_k = mean over items with r_i >= 1 of  r_ik / r_i
        p_e  = 1/(K - 1) * sum_k pi_k (1 - pi_k)
        AC1  = (p_a - p_e) / (1 - p_e)

    This is ``gwet.ac1.raw`` of the irrCAC R package and ``CAC.gwet()`` of its Python port (unweighted),
    which drop items nobody rated and leave items rated once out of p_a but in pi_k. With two raters and
    no missing ratings it reduces to the two-rater formula AC1 = (p_o - p_e) / (1 - p_e) with pi_k the
    mean of the two raters' shares.

    K is ``n_labels`` - the declared label set, *including* labels nobody used - exactly like irrCAC's
    ``categ.labels``: AC1 depends on K, so pass the study's full label order. ``nan`` when K < 2 or no
    item has two labels. Codes outside ``0 .. n_labels-1`` raise :class:`StatisticsError`.
    """
    return gwet_ac1_checked(ratings, n_labels)[0]


def fleiss_kappa_checked(ratings: np.ndarray, n_labels: int) -> tuple[float, str | None]:
    """:func:`fleiss_kappa` and the reason it is undefined (``None`` when it is defined)."""
    n_labels = _check_n_labels(n_labels)
    data = _codes(ratings, n_labels, "ratings", 2)
    n_raters = data.shape[0]
    if n_raters < 2:
        return math.nan, f"Fleiss' kappa needs at least 2 raters, got {n_raters}"
    complete = ~np.isnan(data).any(axis=0)
    if not complete.any():
        return math.nan, "no item has labels from every rater"
    counts = _count_table(data[:, complete], n_labels)  # n_ij, each row sums to n_raters
    p_j = counts.sum(axis=0) / counts.sum()
    p_e = float(np.sum(p_j**2))
    if p_e >= 1.0:  # every rater gave one and the same label on every complete item: 0/0
        return math.nan, "all raters gave one and the same label on every item that all of them labelled"
    p_i = ((counts**2).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    return finite_or_nan((float(np.mean(p_i)) - p_e) / (1 - p_e), None)


def fleiss_kappa(ratings: np.ndarray, n_labels: int) -> float:
    """Fleiss' kappa of a ``(raters, items)`` code matrix, over the items that *every* rater labelled.

    Definition (Fleiss 1971, *Psychol Bull* 76:378-382), for N complete items, n raters, n_ij = number of
    raters who put item i into category j::

        P_i  = (sum_j n_ij^2 - n) / (n (n - 1))        P_bar = mean_i P_i
        p_j  = sum_i n_ij / (N n)                       P_e   = sum_j p_j^2
        kappa = (P_bar - P_e) / (1 - P_e)

    Missing ratings: Fleiss' formula assumes a fixed number of raters per item, so items with any
    missing rating are left out (complete-case analysis); callers should report how many. This is
    ``statsmodels.stats.inter_rater.fleiss_kappa`` on the aggregated table of the complete items. For
    a coefficient that keeps incomplete items use :func:`gwet_ac1` or Krippendorff's alpha.
    ``nan`` with fewer than 2 raters, no complete item, or P_e = 1 (one label everywhere).
    """
    return fleiss_kappa_checked(ratings, n_labels)[0]


def weighted_kappa_checked(
    a: np.ndarray, b: np.ndarray, n_labels: int, weights: KappaWeights = None
) -> tuple[float, str | None]:
    """:func:`weighted_kappa` and the reason it is undefined (``None`` when it is defined)."""
    n_labels = _check_n_labels(n_labels)
    if weights not in ("linear", "quadratic", None):
        raise StatisticsError(f"Unknown kappa weights {weights!r}; use 'linear', 'quadratic' or None.")
    x, y = pair_arrays(a, b)
    x, y = _codes(x, n_labels, "a", 1), _codes(y, n_labels, "b", 1)
    both = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[both].astype(int), y[both].astype(int)
    if x.size == 0:
        return math.nan, "no item has labels from both raters"
    # Expected disagreement is 0 (kappa = 0/0) exactly when both raters use one and the same label:
    # every weight scheme here is 0 on the diagonal only.
    if np.all(x == x[0]) and np.all(y == x[0]):
        return math.nan, "both raters give one and the same label on every compared item"
    with quiet():
        value = float(cohen_kappa_score(x, y, labels=list(range(n_labels)), weights=weights))
    return finite_or_nan(value, None)


def weighted_kappa(a: np.ndarray, b: np.ndarray, n_labels: int, weights: KappaWeights = None) -> float:
    """Cohen's kappa (``weights=None``) or weighted kappa of two code arrays; pairs with a nan are dropped.

    Definition (Cohen 1960; Cohen 1968 for the weighted form): with O the observed and E the expected
    (product of marginals) proportions over the ``n_labels`` x ``n_labels`` table and disagreement weights
    w_ij = 0 on the diagonal, |i-j| (linear) or (i-j)^2 (quadratic), 1 off the diagonal (unweighted)::

        kappa = 1 - sum(w * O) / sum(w * E)

    Computed by :func:`sklearn.metrics.cohen_kappa_score` with ``labels=range(n_labels)``. ``nan`` when no
    pair is complete or both raters use a single, common label (``sum(w * E) = 0``).
    """
    return weighted_kappa_checked(a, b, n_labels, weights)[0]


# --------------------------------------------------------------------------------------------------
# Interval data
# --------------------------------------------------------------------------------------------------


def icc_batch(values: np.ndarray, weights: np.ndarray, kind: IccKind) -> tuple[np.ndarray, np.ndarray]:
    """ICC of a complete ``(items, raters)`` matrix under ``(R, items)`` item weights: ``(values, defined)``.

    The mean squares of :func:`icc` with every sum over items weighted (``n`` = the row's weight total):
    a row of ones gives the ICC of the data, a row of resample counts its bootstrap value. Defined where
    ``n >= 2`` and the denominator is positive.
    """
    x, w = values, weights
    k = x.shape[1]
    n = w.sum(axis=1)
    with np.errstate(all="ignore"):
        grand = (w @ x.sum(axis=1)) / (k * n)
        cols = (w @ x) / n[:, None]  # (R, k) rater means
        item_mean = x.mean(axis=1)
        bms = k * (w * (item_mean[None, :] - grand[:, None]) ** 2).sum(axis=1) / (n - 1)  # between items
        jms = n * ((cols - grand[:, None]) ** 2).sum(axis=1) / (k - 1)  # between raters
        # residuals directly (not SS_total - SS_rows - SS_cols) so that they cannot come out negative
        res = x[None, :, :] - item_mean[None, :, None] - cols[:, None, :] + grand[:, None, None]
        ems = (w[:, :, None] * res**2).sum(axis=(1, 2)) / ((n - 1) * (k - 1))
        if kind == "2,1":
            denominator = bms + (k - 1) * ems + k * (jms - ems) / n
        else:
            denominator = bms + (k - 1) * ems
        return (bms - ems) / denominator, (n >= 2) & (denominator > 0)


def icc_checked(values: np.ndarray, kind: IccKind) -> tuple[float, str | None]:
    """:func:`icc` and the reason it is undefined (``None`` when it is defined)."""
    if kind not in ("2,1", "3,1"):
        raise StatisticsError(f"Unknown ICC kind {kind!r}; use '2,1' or '3,1'.")
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatisticsError(f"ICC values must be numeric: {error}.") from None
    if x.ndim != 2:
        raise StatisticsError(f"ICC values must be an (items, raters) matrix, got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise StatisticsError("ICC needs a complete (items, raters) matrix: drop items with a missing value first.")
    n, k = x.shape
    if n < 2 or k < 2:
        return math.nan, f"the ICC needs at least 2 items and 2 raters, got {n} items and {k} raters"
    value, defined = icc_batch(x, np.ones((1, n)), kind)
    if not defined[0]:
        return math.nan, "the values do not vary between items or within them (the ICC is 0/0)"
    return finite_or_nan(float(value[0]), None)


def icc(values: np.ndarray, kind: IccKind) -> float:
    """Intraclass correlation of an ``(items, raters)`` matrix without missing values.

    Shrout & Fleiss (1979), "Intraclass correlations: uses in assessing rater reliability",
    *Psychol Bull* 86:420-428, Table 1, from the two-way ANOVA mean squares (n items, k raters)::

        BMS = k * sum_i (row mean_i - grand mean)^2 / (n - 1)        (between targets)
        JMS = n * sum_j (col mean_j - grand mean)^2 / (k - 1)        (between judges)
        EMS = sum_ij (x_ij - row_i - col_j + grand)^2 / ((n-1)(k-1)) (residual)

        ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n)
                   two-way random effects, absolute agreement, single rater (McGraw & Wong: ICC(A,1))
        ICC(3,1) = (BMS - EMS) / (BMS + (k-1) EMS)
                   two-way mixed effects, consistency, single rater (McGraw & Wong: ICC(C,1))

    ICC(2,1) penalises a rater who is systematically higher or lower; ICC(3,1) does not. Missing values
    raise :class:`StatisticsError` (the ANOVA needs a complete matrix); ``nan`` for fewer than 2 items or
    raters, or when the denominator is 0 (no variation at all).
    """
    return icc_checked(values, kind)[0]


def mean_absolute_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of ``|a - b|`` over the pairs where both are present; ``nan`` when there is none."""
    x, y = pair_arrays(a, b)
    both = ~np.isnan(x) & ~np.isnan(y)
    if not both.any():
        return math.nan
    return float(np.mean(np.abs(x[both] - y[both])))


# --------------------------------------------------------------------------------------------------
# Interpretation
# --------------------------------------------------------------------------------------------------


def kappa_paradox(p_o: float, kappa: float, ac1: float, prevalence: float | Sequence[float] | np.ndarray) -> str | None:
    """A warning text when kappa is probably low because of skewed prevalence, else ``None``.

    The "kappa paradox" (Feinstein & Cicchetti 1990, *J Clin Epidemiol* 43:543-549; Gwet 2008): when one
    label dominates, the chance agreement p_e of kappa is close to 1, so kappa is low although the raters
    almost always agree. AC1's chance term shrinks instead, so AC1 stays close to the observed agreement.

    Rule (all four must hold; thresholds are the module constants ``PARADOX_*``):

    * prevalence is skewed: the largest label share is >= 0.8 (``prevalence`` is that share, or the
      list of all label shares, pooled over both raters);
    * accuracy is high: ``p_o`` >= 0.8;
    * kappa is low: ``kappa`` < 0.6;
    * AC1 tells a different story: ``|ac1 - kappa|`` >= 0.2.

    ``None`` also when any input is nan (nothing can be said). Values outside ``[0, 1]`` for ``p_o`` or
    the shares raise :class:`StatisticsError`.
    """
    shares = np.atleast_1d(np.asarray(prevalence, dtype=float))
    if shares.ndim != 1 or shares.size == 0:
        raise StatisticsError("prevalence must be a share or a list of label shares.")
    numbers = [p_o, kappa, ac1, *shares.tolist()]
    if any(math.isnan(v) for v in numbers):
        return None
    if not 0.0 <= p_o <= 1.0 or np.any((shares < 0) | (shares > 1)):
        raise StatisticsError("Accuracy and prevalence shares must lie between 0 and 1.")
    top = float(shares.max())
    if (
        top >= PARADOX_PREVALENCE
        and p_o >= PARADOX_ACCURACY
        and kappa < PARADOX_KAPPA
        and abs(ac1 - kappa) >= PARADOX_GAP
    ):
        return (
            f"Kappa paradox likely: one label makes up {top:.0%} of the labels, so kappa's chance "
            f"agreement is high and kappa ({kappa:.2f}) is low although the raters agree on {p_o:.0%} of "
            f"items; Gwet's AC1 ({ac1:.2f}) is less affected by skewed prevalence. Report both, with the "
            "label distribution."
        )
    return None
