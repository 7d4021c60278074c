"""Is the judge's confidence worth anything? Calibration from the label probabilities it gives.

Backends that can read token probabilities store, with every judgment, the judge's probability for each
allowed label at the result position (``label_probs``). From those and the expert consensus:

* **Confidence** of a verdict = the probability the judge gave the label it chose.
* **Reliability diagram** - verdicts binned by confidence; in a calibrated judge each bin's accuracy (share
  matching the expert consensus) equals its mean confidence.
* **Expected calibration error** (ECE) - the bins' mean |accuracy - confidence|, weighted by bin size
  (Guo et al. 2017, eq. 3).
* **Brier score** - the mean squared distance between the probability vector and the one-hot expert
  label, summed over labels (Brier 1950); 0 is perfect, lower is better.
* **Coverage-agreement curve** - abstain on the least confident k% and measure accuracy on the rest: does
  confidence tell which verdicts to trust?
* **Expected score** (ordinal labels) - ``sum_k p_k * k``: a graded verdict whose correlation with the
  consensus can beat the hard label's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import StatisticsError
from selene_eval.stats.checked import quiet
from selene_eval.stats.coefficients import pair_arrays
from selene_eval.stats.planning import ROUNDING_SLACK

# --------------------------------------------------------------------------------------------------
# Binned calibration on arrays (the judge states a probability for its label)
# --------------------------------------------------------------------------------------------------


def _calibration_inputs(confidence: object, correct: object) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(confidence, correct)`` float arrays with the pairs holding a nan dropped."""
    conf, hit = pair_arrays(confidence, correct)
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
    with quiet():  # 0/0 in empty bins is the nan we want
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


def coverage_curve(confidence: np.ndarray, correct: np.ndarray, steps: int | Sequence[float] = 10) -> pd.DataFrame:
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
        n_kept = n - math.floor(share * n * (1 + ROUNDING_SLACK))
        if n_kept <= 0:
            rows.append((share, 0, 0.0 if n else math.nan, math.nan, math.nan))
            continue
        threshold = conf_sorted[n_kept - 1]
        above = conf_sorted > threshold
        tied = conf_sorted == threshold
        n_tied_kept = n_kept - int(above.sum())
        expected_correct = hit_sorted[above].sum() + n_tied_kept * hit_sorted[tied].mean()
        rows.append((share, n_kept, n_kept / n, float(threshold), float(expected_correct / n_kept)))
    return pd.DataFrame(rows, columns=["abstain_share", "n_kept", "coverage", "threshold", "accuracy"]).astype(
        {"abstain_share": float, "n_kept": int, "coverage": float, "threshold": float, "accuracy": float}
    )


Probs = Mapping[str, float] | None


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin ``(lower, upper]`` of the reliability diagram (NaN means for an empty bin)."""

    lower: float
    upper: float
    n: int
    mean_confidence: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "n": self.n,
            "mean_confidence": finite_or_none(self.mean_confidence),
            "accuracy": finite_or_none(self.accuracy),
        }


@dataclass(frozen=True)
class CoveragePoint:
    """Accuracy on the verdicts kept after abstaining on the least confident ``abstain_share``."""

    abstain_share: float
    n_kept: int
    coverage: float
    threshold: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "abstain_share": self.abstain_share,
            "n_kept": self.n_kept,
            "coverage": finite_or_none(self.coverage),
            "threshold": finite_or_none(self.threshold),
            "accuracy": finite_or_none(self.accuracy),
        }


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration of one judge under one variant against the expert consensus.

    ``n_compared``: verdicts with a label, probabilities and an expert consensus (the ones measured);
    ``n_without_probs``: verdicts with a label and a consensus but no probabilities (left out).
    ``expected_score_spearman``: ordinal only, rank correlation of the expected score with the consensus.
    """

    n_compared: int
    n_without_probs: int
    accuracy: float
    mean_confidence: float
    ece: float
    brier: float
    reliability: tuple[ReliabilityBin, ...]
    coverage: tuple[CoveragePoint, ...]
    expected_score_spearman: float | None = None
    note: str | None = None

    @property
    def overconfidence(self) -> float:
        """Mean confidence minus accuracy: > 0 means the judge is surer than it is right."""
        return self.mean_confidence - self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_compared": self.n_compared,
            "n_without_probs": self.n_without_probs,
            "accuracy": finite_or_none(self.accuracy),
            "mean_confidence": finite_or_none(self.mean_confidence),
            "overconfidence": finite_or_none(self.overconfidence),
            "ece": finite_or_none(self.ece),
            "brier": finite_or_none(self.brier),
            "expected_score_spearman": finite_or_none(self.expected_score_spearman),
            "reliability": [b.to_dict() for b in self.reliability],
            "coverage": [p.to_dict() for p in self.coverage],
            "note": self.note,
        }


def _clean(probs: Probs, labels: Sequence[str]) -> dict[str, float] | None:
    """Probabilities over ``labels`` (missing ones 0), renormalised; None when unusable."""
    if not probs:
        return None
    values = {}
    for label in labels:
        p = probs.get(label, 0.0)
        try:
            p = float(p)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(p) or p < 0:
            return None
        values[label] = p
    total = sum(values.values())
    if total <= 0:
        return None
    return {k: v / total for k, v in values.items()}


def calibration(
    labels: Sequence[str | None],
    probs: Sequence[Probs],
    reference: Sequence[str | None],
    *,
    order: Sequence[str],
    ordinal: bool = False,
    n_bins: int = 10,
    steps: int = 10,
) -> CalibrationReport | None:
    """Calibration of verdicts ``labels`` with probabilities ``probs`` against ``reference`` labels.

    ``order`` lists the labels the judge may give (the probability vectors' support; for ordinal data in
    rank order). Returns ``None`` when no verdict has probabilities (the backend could not read them).
    """
    n = len(labels)
    if len(probs) != n or len(reference) != n:
        raise StatisticsError(
            f"labels ({n}), probs ({len(probs)}) and reference ({len(reference)}) need one entry per item."
        )
    if not order:
        raise StatisticsError("Calibration needs the judge's label set (order).")
    conf, hit, brier, expected, ref_rank = [], [], [], [], []
    without = 0
    for label, p, ref in zip(labels, probs, reference):
        if label is None or ref is None:
            continue
        clean = _clean(p, order)
        if clean is None:
            without += 1
            continue
        conf.append(clean.get(label, 0.0))
        hit.append(float(label == ref))
        brier.append(sum((clean[k] - float(k == ref)) ** 2 for k in order))
        if ordinal and ref in order:
            expected.append(sum(clean[k] * i for i, k in enumerate(order)))
            ref_rank.append(list(order).index(ref))
    if not conf:
        return None
    confidence, correct = np.array(conf), np.array(hit)
    table = reliability_table(confidence, correct, n_bins)
    bins = tuple(
        ReliabilityBin(float(r.lower), float(r.upper), int(r.n), float(r.mean_confidence), float(r.accuracy))
        for r in table.itertuples()
    )
    curve = coverage_curve(confidence, correct, steps)
    points = tuple(
        CoveragePoint(float(r.abstain_share), int(r.n_kept), float(r.coverage), float(r.threshold), float(r.accuracy))
        for r in curve.itertuples()
    )
    spearman = None
    note = None
    if ordinal and len(expected) >= 3:
        from scipy.stats import spearmanr

        if np.ptp(expected) > 0 and np.ptp(ref_rank) > 0:
            spearman = float(spearmanr(expected, ref_rank).statistic)
        else:
            note = "The expected score or the consensus is constant: no correlation."
    if len(conf) < 30:
        note = ((note + " ") if note else "") + f"Only {len(conf)} verdicts: the calibration figures are rough."
    return CalibrationReport(
        n_compared=len(conf),
        n_without_probs=without,
        accuracy=float(correct.mean()),
        mean_confidence=float(confidence.mean()),
        ece=expected_calibration_error(confidence, correct, n_bins),
        brier=float(np.mean(brier)),
        reliability=bins,
        coverage=points,
        expected_score_spearman=spearman,
        note=note,
    )
