"""The majority-label baseline: what a judge scores by always giving the most frequent reference label.

Accuracy alone flatters a judge on imbalanced labels (on CRAFT-MD's medical-terminology question, always
answering "no" is right 93% of the time), so every accuracy we print stands beside this figure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from selene_eval.errors import StatisticsError


@dataclass(frozen=True)
class MajorityBaseline:
    """Accuracy of the constant judge that always answers ``label``, the most frequent reference label."""

    label: str
    accuracy: float
    """Share of the labelled items whose reference label is ``label``."""
    n: int
    """Labelled items counted (missing labels are left out)."""
    counts: dict[str, int]
    """Items per reference label, most frequent first."""
    tied: tuple[str, ...] = ()
    """Other labels exactly as frequent as ``label`` (then ``label`` is the first in sorted order)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "accuracy": self.accuracy,
            "n": self.n,
            "counts": dict(self.counts),
            "tied": list(self.tied),
        }


def majority_share(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The majority-label baseline from label counts, for many rows at once: ``(..., K)`` counts per label ->
    ``(share of the most frequent label, defined)``; undefined (nan) where a row counts no label.

    The error profile calls it on the bootstrap's resampled expert counts; :func:`majority_baseline` on one row.
    """
    total = counts.sum(axis=-1)
    defined = total > 0
    return np.where(defined, counts.max(axis=-1) / np.where(defined, total, 1.0), np.nan), defined


def majority_baseline(reference: Iterable[object]) -> MajorityBaseline:
    """The majority-label baseline of ``reference`` labels (``None`` and NaN are missing and left out).

    Example: reference labels ``no, no, no, yes`` give label ``no`` and accuracy 3/4 = 0.75. Raises
    :class:`StatisticsError` when no label is present.
    """
    counts = Counter(str(v) for v in reference if v is not None and not (isinstance(v, float) and math.isnan(v)))
    n = sum(counts.values())
    if n == 0:
        raise StatisticsError("The majority-label baseline needs at least one reference label; every label is missing.")
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    label, top = ordered[0]
    tied = tuple(other for other, count in ordered[1:] if count == top)
    share, _ = majority_share(np.array([count for _, count in ordered], dtype=float))
    return MajorityBaseline(label=label, accuracy=float(share), n=n, counts=dict(ordered), tied=tied)
