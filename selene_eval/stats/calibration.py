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

from selene_eval.errors import StatisticsError
from selene_eval.stats.coefficients import coverage_curve, expected_calibration_error, reliability_table

Probs = Mapping[str, float] | None


def _json(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin ``(lower, upper]`` of the reliability diagram (NaN means for an empty bin)."""

    lower: float
    upper: float
    n: int
    mean_confidence: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {"lower": self.lower, "upper": self.upper, "n": self.n,
                "mean_confidence": _json(self.mean_confidence), "accuracy": _json(self.accuracy)}


@dataclass(frozen=True)
class CoveragePoint:
    """Accuracy on the verdicts kept after abstaining on the least confident ``abstain_share``."""

    abstain_share: float
    n_kept: int
    coverage: float
    threshold: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {"abstain_share": self.abstain_share, "n_kept": self.n_kept, "coverage": _json(self.coverage),
                "threshold": _json(self.threshold), "accuracy": _json(self.accuracy)}


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
            "accuracy": _json(self.accuracy),
            "mean_confidence": _json(self.mean_confidence),
            "overconfidence": _json(self.overconfidence),
            "ece": _json(self.ece),
            "brier": _json(self.brier),
            "expected_score_spearman": _json(self.expected_score_spearman),
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
