"""Agreement coefficients, sample-size planning and calibration on coded arrays.

Pure functions, no tables and no I/O: inputs are the numeric codes that
:func:`selene_eval.stats.consensus.code_table` produces (label index ``0 .. n_labels-1`` for nominal /
ordinal data, the value for interval data) with ``nan`` for "missing".

Conventions

* A statistic that is *undefined* on the given data (no pairable item, no variation, ...) is ``nan``;
  the ``*_checked`` variants return ``(value, reason)`` so that callers can write a note saying why.
* Input that is *wrong* (codes outside the label range, arrays of different lengths, an unknown kind,
  confidences outside ``[0, 1]``) raises :class:`~selene_eval.errors.StatisticsError`.
* Rater-by-item matrices follow the convention of :mod:`krippendorff` and of
  :func:`selene_eval.stats.agreement.krippendorff_alpha`: ``(raters, items)``. The one exception is
  :func:`icc`, whose ``(items, raters)`` layout is the layout of Shrout & Fleiss' tables.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError

KappaWeights = Literal["linear", "quadratic"] | None
IccKind = Literal["2,1", "3,1"]

# kappa_paradox rule (see its docstring). Module constants so that a report can quote them.
PARADOX_PREVALENCE = 0.8  # the most frequent label has at least this share of all labels
PARADOX_ACCURACY = 0.8  # observed agreement at least this high ...
PARADOX_KAPPA = 0.6  # ... while kappa is below this ("moderate" or worse, Landis & Koch 1977) ...
PARADOX_GAP = 0.2  # ... and AC1 differs from kappa by at least this much

# Relative slack when rounding sample sizes and shares up / down: 100 * (0.3 / 0.1) ** 2 is
# 899.9999999999998 in floating point and must still give 900, not 899 (or 901 the other way).
_ROUNDING_SLACK = 1e-9


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy / sklearn warnings; every undefined case is detected and reported beforehand."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _finite_or_nan(value: float, reason: str | None) -> tuple[float, str | None]:
    """``(value, reason)``, turning a non-finite computed value into ``nan`` with a generic reason."""
    if reason is not None:
        return math.nan, reason
    if not math.isfinite(value):
        return math.nan, "the computation gave no finite value"
    return float(value), None


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


def _pair_arrays(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatisticsError(f"Both rating arrays must be numeric: {error}.") from None
    if x.ndim != 1 or x.shape != y.shape:
        raise StatisticsError(
            f"Expected two 1-dimensional arrays of one length, got shapes {x.shape} and {y.shape}."
        )
    return x, y


def _count_table(ratings: np.ndarray, n_labels: int) -> np.ndarray:
    """``(items, n_labels)`` counts r_ik: how many raters put item i into category k (nan ignored)."""
    codes = np.where(np.isnan(ratings), -1, ratings).astype(int)  # (raters, items)
    return (codes[:, :, None] == np.arange(n_labels)).sum(axis=0).astype(float)


# --------------------------------------------------------------------------------------------------
# Chance-corrected agreement among raters
# --------------------------------------------------------------------------------------------------


def gwet_ac1_checked(ratings: np.ndarray, n_labels: int) -> tuple[float, str | None]:
    """:func:`gwet_ac1` and the reason it is undefined (``None`` when it is defined)."""
    n_labels = _check_n_labels(n_labels)
    data = _codes(ratings, n_labels, "ratings", 2)
    if n_labels < 2:
        return math.nan, "AC1 needs at least 2 categories (its chance agreement divides by K - 1)"
    counts = _count_table(data, n_labels)  # r_ik
    per_item = counts.sum(axis=1)  # r_i
    rated = per_item >= 1
    pairable = per_item >= 2
    if not pairable.any():
        return math.nan, "no item has labels from two raters"
    r_i = per_item[pairable]
    # p_a: agreeing ordered rater pairs / all ordered rater pairs, averaged over items rated >= 2 times
    p_a = np.mean((counts[pairable] * (counts[pairable] - 1)).sum(axis=1) / (r_i * (r_i - 1)))
    # pi_k: share of item i's labels in category k, averaged over every item with at least one label
    pi = (counts[rated] / per_item[rated, None]).mean(axis=0)
    p_e = float(np.sum(pi * (1 - pi)) / (n_labels - 1))  # <= 1/K <= 1/2, so 1 - p_e > 0
    return _finite_or_nan((p_a - p_e) / (1 - p_e), None)


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
    return _finite_or_nan((float(np.mean(p_i)) - p_e) / (1 - p_e), None)


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
    x, y = _pair_arrays(a, b)
    x, y = _codes(x, n_labels, "a", 1), _codes(y, n_labels, "b", 1)
    both = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[both].astype(int), y[both].astype(int)
    if x.size == 0:
        return math.nan, "no item has labels from both raters"
    # Expected disagreement is 0 (kappa = 0/0) exactly when both raters use one and the same label:
    # every weight scheme here is 0 on the diagonal only.
    if np.all(x == x[0]) and np.all(y == x[0]):
        return math.nan, "both raters give one and the same label on every compared item"
    with _quiet():
        value = float(cohen_kappa_score(x, y, labels=list(range(n_labels)), weights=weights))
    return _finite_or_nan(value, None)


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
        raise StatisticsError(
            "ICC needs a complete (items, raters) matrix: drop items with a missing value first."
        )
    n, k = x.shape
    if n < 2 or k < 2:
        return math.nan, f"the ICC needs at least 2 items and 2 raters, got {n} items and {k} raters"
    grand = x.mean()
    row_means, col_means = x.mean(axis=1), x.mean(axis=0)
    bms = k * np.sum((row_means - grand) ** 2) / (n - 1)  # between targets (items)
    jms = n * np.sum((col_means - grand) ** 2) / (k - 1)  # between judges (raters)
    # residual computed directly, not as SS_total - SS_rows - SS_cols, so it cannot come out negative
    ems = np.sum((x - row_means[:, None] - col_means[None, :] + grand) ** 2) / ((n - 1) * (k - 1))
    if kind == "2,1":
        denominator = bms + (k - 1) * ems + k * (jms - ems) / n
    else:
        denominator = bms + (k - 1) * ems
    if denominator <= 0:
        return math.nan, "the values do not vary between items or within them (the ICC is 0/0)"
    return _finite_or_nan(float((bms - ems) / denominator), None)


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
    x, y = _pair_arrays(a, b)
    both = ~np.isnan(x) & ~np.isnan(y)
    if not both.any():
        return math.nan
    return float(np.mean(np.abs(x[both] - y[both])))


# --------------------------------------------------------------------------------------------------
# Interpretation and planning
# --------------------------------------------------------------------------------------------------


def kappa_paradox(
    p_o: float, kappa: float, ac1: float, prevalence: float | Sequence[float] | np.ndarray
) -> str | None:
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
    return max(1, math.ceil(needed * (1 - _ROUNDING_SLACK)))


# --------------------------------------------------------------------------------------------------
# Calibration (the judge states a probability for its label)
# --------------------------------------------------------------------------------------------------


def _calibration_inputs(confidence: object, correct: object) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(confidence, correct)`` float arrays with the pairs holding a nan dropped."""
    conf, hit = _pair_arrays(confidence, correct)
    keep = ~np.isnan(conf) & ~np.isnan(hit)
    conf, hit = conf[keep], hit[keep]
    if np.any((conf < 0) | (conf > 1)):
        raise StatisticsError("Confidences must lie between 0 and 1.")
    if np.any((hit != 0) & (hit != 1)):
        raise StatisticsError("'correct' must hold only True/False (or 1/0).")
    return conf, hit


def _check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise StatisticsError(f"n_bins must be a positive whole number, got {n_bins!r}.")
    return int(n_bins)


def _bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin m (0-based) of each confidence for the bins ``((m)/M, (m+1)/M]``; 0 goes into the first bin.

    Edges are ``m / M`` (exact for the usual ``M``: 3/10 is the same double as 0.3, whereas
    ``linspace`` gives 0.30000000000000004), so a confidence on an edge lands in the lower bin, as in
    Guo et al. (2017).
    """
    edges = np.arange(n_bins + 1) / n_bins
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def reliability_table(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data: one row per equal-width confidence bin.

    Columns: ``bin`` (0-based), ``lower``, ``upper`` (the bin is ``(lower, upper]``, the first one also
    holds 0), ``n``, ``mean_confidence``, ``accuracy`` (share correct); the last two are nan for empty
    bins. Pairs where confidence or correctness is nan are dropped (the judge gave no probability -
    report that share separately).
    """
    n_bins = _check_bins(n_bins)
    conf, hit = _calibration_inputs(confidence, correct)
    index = _bin_index(conf, n_bins)
    n = np.bincount(index, minlength=n_bins)
    with _quiet():  # 0/0 in empty bins is the nan we want
        mean_conf = np.bincount(index, weights=conf, minlength=n_bins) / n
        accuracy = np.bincount(index, weights=hit, minlength=n_bins) / n
    bins = np.arange(n_bins)
    return pd.DataFrame(
        {
            "bin": bins,
            "lower": bins / n_bins,
            "upper": (bins + 1) / n_bins,
            "n": n.astype(int),
            "mean_confidence": mean_conf,
            "accuracy": accuracy,
        }
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins.

    ECE = sum over non-empty bins B_m of (|B_m| / n) * |accuracy(B_m) - mean confidence(B_m)|
    (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017, "On calibration of modern neural networks", eq. 3),
    bins ``(m/M, (m+1)/M]`` as in :func:`reliability_table`. ``nan`` when no pair is left.
    """
    table = reliability_table(confidence, correct, n_bins)
    total = int(table["n"].sum())
    if total == 0:
        return math.nan
    used = table[table["n"] > 0]
    gaps = (used["accuracy"] - used["mean_confidence"]).abs()
    return float(np.sum(used["n"] * gaps) / total)


def coverage_curve(
    confidence: np.ndarray, correct: np.ndarray, steps: int | Sequence[float] = 10
) -> pd.DataFrame:
    """Selective prediction: abstain on the least confident share of items, measure accuracy on the rest.

    ``steps``: an int S gives the abstention shares 0, 1/S, ..., (S-1)/S; a sequence gives them directly
    (each in ``[0, 1)``). For share k of n items, floor(k * n) items are abstained on and
    m = n - floor(k * n) kept.

    Ties: when the kept / abstained boundary falls inside a group of equal confidences, which of them are
    kept is arbitrary; ``accuracy`` is the *expected* accuracy under a random choice among the tied items
    (the boundary group counts with its own accuracy, in proportion to how many of it are kept), so the
    result does not depend on the input order.

    Columns: ``abstain_share`` (requested), ``n_kept``, ``coverage`` (= n_kept / n), ``threshold`` (lowest
    kept confidence), ``accuracy`` (nan when nothing is kept). Pairs with a nan are dropped first.
    """
    conf, hit = _calibration_inputs(confidence, correct)
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        if steps < 1:
            raise StatisticsError(f"steps must be a positive whole number, got {steps!r}.")
        shares = np.arange(int(steps)) / int(steps)
    else:
        try:
            shares = np.asarray(steps, dtype=float)
        except (TypeError, ValueError):
            raise StatisticsError("steps must be a whole number or a list of abstention shares.") from None
        if shares.ndim != 1 or np.any(~np.isfinite(shares)) or np.any((shares < 0) | (shares >= 1)):
            raise StatisticsError("Abstention shares must lie in [0, 1).")
    n = conf.size
    order = np.argsort(-conf, kind="stable")  # most confident first
    conf_sorted, hit_sorted = conf[order], hit[order]
    rows = []
    for share in shares:
        n_kept = n - math.floor(share * n * (1 + _ROUNDING_SLACK))
        if n_kept <= 0:
            rows.append((share, 0, 0.0 if n else math.nan, math.nan, math.nan))
            continue
        threshold = conf_sorted[n_kept - 1]
        above = conf_sorted > threshold
        tied = conf_sorted == threshold
        n_tied_kept = n_kept - int(above.sum())
        expected_correct = hit_sorted[above].sum() + n_tied_kept * hit_sorted[tied].mean()
        rows.append((share, n_kept, n_kept / n, float(threshold), float(expected_correct / n_kept)))
    return pd.DataFrame(
        rows, columns=["abstain_share", "n_kept", "coverage", "threshold", "accuracy"]
    ).astype(
        {"abstain_share": float, "n_kept": int, "coverage": float, "threshold": float, "accuracy": float}
    )
