"""Krippendorff's alpha: one vectorised, weighted implementation for the point value and every bootstrap.

:func:`alpha_batch` computes alpha of a panel of raters under rows of item weights (one row per resample;
a row of ones gives the alpha of the data). :func:`krippendorff_alpha` is the point value with the reason it
is undefined; :func:`substitution_differences` the expert-substitution statistic of the expert ceiling.
The ``krippendorff`` package is the independent reference the tests compare with.
"""

from __future__ import annotations

import numpy as np

from selene_eval.stats.checked import evaluate
from selene_eval.stats.consensus import Level


def alpha_batch(panel: np.ndarray, weights: np.ndarray, level: Level) -> np.ndarray:
    """Krippendorff's alpha of an ``(items, raters)`` panel (nan = missing) under ``(R, items)`` item weights.

    Krippendorff (2011), "Computing Krippendorff's alpha-reliability": the coincidence matrix is a weighted
    sum of per-item contributions (pairable items only), so one matrix product gives it for R rows;
    ``alpha = 1 - (n - 1) sum(o * d) / sum(n_c n_k d_ck)`` with ``d`` = nominal ``[c != k]``, ordinal
    ``(sum_{g=c..k} n_g - (n_c + n_k)/2)**2``, interval ``(c - k)**2`` (as the ``krippendorff`` package;
    at interval level in closed form, since the package's ``(units, V, V)`` array is gigabytes for
    continuous scores). Nominal / ordinal values are label codes ``0, 1, ...``. Weights of all ones give
    the alpha of the data. nan where alpha is undefined (no variation).
    """
    present = ~np.isnan(panel)
    m = present.sum(axis=1).astype(float)
    pairable = m >= 2
    w = weights[:, pairable]
    x = panel[pairable]
    m = m[pairable]
    if x.shape[0] == 0:
        return np.full(weights.shape[0], np.nan)
    with np.errstate(all="ignore"):
        if level == "interval":
            centre = np.nanmean(x)
            v = np.where(np.isnan(x), 0.0, x - centre)
            s1, s2 = v.sum(axis=1), (v**2).sum(axis=1)
            observed = w @ (2 * (m * s2 - s1**2) / (m - 1))  # sum(o * d), ordered pairs
            n, t1, t2 = w @ m, w @ s1, w @ s2
            expected = (2 * n * t2 - 2 * t1**2) / (n - 1)  # sum(e * d)
            alpha = 1 - observed / expected
            return np.where((expected > 0) & np.isfinite(alpha), alpha, np.nan)
        n_labels = int(np.nanmax(x)) + 1
        codes = np.where(present[pairable], x, -1).astype(int)
        counts = (codes[:, :, None] == np.arange(n_labels)).sum(axis=1).astype(float)  # (U, V)
        contrib = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(n_labels)
        contrib = (contrib / (m - 1)[:, None, None]).reshape(len(m), -1)
        o = (w @ contrib).reshape(-1, n_labels, n_labels)  # (R, V, V)
        n_v = o.sum(axis=1)  # (R, V)
        n = n_v.sum(axis=1)
        if level == "nominal":
            d = np.broadcast_to(1 - np.eye(n_labels), o.shape)
        else:  # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2
            cum = np.concatenate([np.zeros((len(n), 1)), np.cumsum(n_v, axis=1)], axis=1)
            lo = np.minimum.outer(np.arange(n_labels), np.arange(n_labels))
            hi = np.maximum.outer(np.arange(n_labels), np.arange(n_labels))
            between = cum[:, hi + 1] - cum[:, lo]
            d = (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2
        observed = (o * d).sum(axis=(1, 2))
        expected = (n_v[:, :, None] * n_v[:, None, :] * d).sum(axis=(1, 2)) / (n - 1)
        alpha = 1 - observed / expected
        return np.where((expected > 0) & np.isfinite(alpha), alpha, np.nan)


def krippendorff_alpha(data: np.ndarray, level: Level) -> tuple[float, str | None]:
    """Krippendorff's alpha of a ``(raters, units)`` matrix (``nan`` = missing) and why it is undefined.

    Alpha needs at least one unit rated twice, and two different values among such units (else the
    expected disagreement is 0); the reason says which is missing. The value is :func:`alpha_batch` at
    weights of 1.
    """
    present = ~np.isnan(data)
    pairable = present.sum(axis=0) >= 2
    reason = None
    if not pairable.any():
        reason = "no item has labels from two raters"
    elif np.unique(data[:, pairable][present[:, pairable]]).size < 2:
        reason = "all raters gave one and the same label on every item rated twice (no variation)"
    return evaluate(lambda: alpha_batch(data.T, np.ones((1, data.shape[1])), level)[0], reason)


def substitution_differences(experts: np.ndarray, judge: np.ndarray, level: Level, weights: np.ndarray) -> np.ndarray:
    """``(R, n_experts)``: alpha(panel with expert j replaced by the judge) - alpha(panel), per weight row.

    ``experts``: ``(items, experts)`` codes (nan = missing), ``judge``: ``(items,)``. With ``weights`` all
    ones this is :func:`selene_eval.stats.ceiling.substitution_statistic`.
    """
    base = alpha_batch(experts, weights, level)
    out = np.empty((weights.shape[0], experts.shape[1]))
    for j in range(experts.shape[1]):
        panel = experts.copy()
        panel[:, j] = judge
        out[:, j] = alpha_batch(panel, weights, level) - base
    return out
