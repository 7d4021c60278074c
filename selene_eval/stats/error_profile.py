"""The judge's error profile per label, and how its agreement depends on how much the experts agreed.

An accuracy or a kappa alone hides *which* mistakes the judge makes. :func:`error_profile` gives, for every
label of a nominal or ordinal scale (binary, categorical, pairwise with ties), the judge's rates against the
experts' consensus, treating that label as "positive" and every other label as "negative":

* **sensitivity** (recall) ``TP / (TP + FN)``, **specificity** ``TN / (TN + FP)``, **precision**
  ``TP / (TP + FP)``, **negative predictive value** ``TN / (TN + FN)``, **F1** ``2 TP / (2 TP + FP + FN)``;
* the **experts' base rate** (share of compared items whose consensus is the label) and the **judge's rate**
  (share the judge gave it);

and, beside the accuracy:

* **balanced accuracy** - the mean sensitivity over the labels the experts used (Brodersen et al. 2010,
  "The balanced accuracy and its posterior distribution", ICPR; as ``sklearn.metrics.balanced_accuracy_score``);
* the **majority-label baseline** - the accuracy of always answering the experts' most frequent label. A judge
  whose accuracy does not beat it has learnt nothing an analyst could not get from the base rate.

Every figure carries the clustered bootstrap interval the other statistics use
(:mod:`selene_eval.stats.uncertainty`: the same cells, group resampling, BCa-or-percentile rule), computed
from the resampled confusion tables.

:func:`ambiguity_split` answers "does the judge fail where the experts themselves disagreed?": accuracy and
Cohen's kappa on the *unanimous* items (every expert who labelled the item gave one label) and on the *split*
items (experts disagreed but a strict majority exists), each with its count and interval; plus the
**soft-label agreement** - the judge scored against the experts' label distribution: the mean share of the
item's experts who gave the judge's label (Uma et al. 2021, "Learning from disagreement: a survey", JAIR 72).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import numpy as np
import pandas as pd

from selene_eval.errors import StatisticsError
from selene_eval.stats.baseline import majority_share
from selene_eval.stats.consensus import (
    Level,
    check_columns,
    check_level,
    code_table,
    consensus_codes,
    table_group_codes,
)
from selene_eval.stats.options import OptionFields, StatisticsOptions
from selene_eval.stats.uncertainty import (
    Interval,
    _Batch,
    _check_options,
    _Design,
    _design,
    _run,
    bootstrap_intervals,
    percentile_interval,
)

PER_LABEL_STATISTICS: tuple[str, ...] = (
    "sensitivity",
    "specificity",
    "precision",
    "negative_predictive_value",
    "f1",
    "expert_rate",
    "judge_rate",
)
"""Keys of :attr:`LabelProfile.statistics`, in display order."""

OVERALL_STATISTICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "majority_baseline")
"""Keys of :attr:`ErrorProfile.overall`, in display order."""

PROFILE_NAMES: dict[str, str] = {
    "sensitivity": "Sensitivity (recall)",
    "specificity": "Specificity",
    "precision": "Precision",
    "negative_predictive_value": "Negative predictive value",
    "f1": "F1",
    "expert_rate": "Experts' base rate",
    "judge_rate": "Judge's rate",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "majority_baseline": "Majority-label baseline",
}
"""Each key in words, for tables and notes."""

# Why a per-label statistic is undefined (its denominator is 0), in words; {label} is filled in.
_PER_LABEL_REASON: dict[str, str] = {
    "sensitivity": "no compared item has the expert consensus {label!r}",
    "specificity": "every compared item has the expert consensus {label!r}",
    "precision": "the judge never answered {label!r}",
    "negative_predictive_value": "the judge answered {label!r} on every compared item",
    "f1": "neither the experts nor the judge gave {label!r}",
    "expert_rate": "there are no compared items",
    "judge_rate": "there are no compared items",
}
_OVERALL_REASON: dict[str, str] = {
    "accuracy": "there are no compared items",
    "balanced_accuracy": "there are no compared items",
    "majority_baseline": "there are no compared items",
}


@dataclass(frozen=True)
class LabelProfile:
    """The judge's rates for one label taken as positive (see the module docstring)."""

    label: str
    n_expert: int  # compared items whose expert consensus is the label
    n_judge: int  # compared items the judge gave the label
    statistics: dict[str, Interval]  # PER_LABEL_STATISTICS keys

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "label": self.label,
            "n_expert": self.n_expert,
            "n_judge": self.n_judge,
            "statistics": {k: v.to_dict() for k, v in self.statistics.items()},
        }


@dataclass(frozen=True)
class ErrorProfile:
    """Result of :func:`error_profile`. ``undefined`` says, in words, why the whole profile is missing."""

    labels: tuple[str, ...]
    n_compared: int
    per_label: tuple[LabelProfile, ...]
    overall: dict[str, Interval]  # OVERALL_STATISTICS keys
    undefined: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def beats_baseline(self) -> bool | None:
        """Whether the judge's accuracy is above the majority-label baseline (None when either is undefined)."""
        if self.undefined is not None:
            return None
        acc, base = self.overall["accuracy"].estimate, self.overall["majority_baseline"].estimate
        if not (math.isfinite(acc) and math.isfinite(base)):
            return None
        return acc > base

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (nan -> None)."""
        return {
            "labels": list(self.labels),
            "n_compared": self.n_compared,
            "undefined": self.undefined,
            "overall": {k: v.to_dict() for k, v in self.overall.items()},
            "per_label": [p.to_dict() for p in self.per_label],
            "beats_baseline": self.beats_baseline,
            "notes": list(self.notes),
        }


def _point_interval(estimate: float, level_ci: float, note: str | None) -> Interval:
    """An estimate without resampling (``n_resamples=0`` was asked for, or the statistic is undefined)."""
    return Interval(estimate, math.nan, math.nan, level=level_ci, method="none", n_resamples=0, n_valid=0, note=note)


def _table_statistics(table: np.ndarray) -> dict[tuple[int | None, str], tuple[np.ndarray, np.ndarray]]:
    """Every error-profile statistic from ``(R, K, K)`` confusion tables (rows: experts, columns: judge).

    Keys are ``(label index, statistic)`` for per-label ones and ``(None, statistic)`` for overall ones;
    values are ``(values, defined)`` arrays of shape ``(R,)``.
    """
    n = table.sum(axis=(1, 2))
    rows = table.sum(axis=2)  # (R, K) expert consensus counts
    cols = table.sum(axis=1)  # (R, K) judge counts
    tp = np.diagonal(table, axis1=1, axis2=2)  # (R, K)
    tn = n[:, None] - rows - cols + tp
    out: dict[tuple[int | None, str], tuple[np.ndarray, np.ndarray]] = {}

    def ratio(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        defined = den > 0
        return np.where(defined, num / np.where(defined, den, 1.0), np.nan), defined

    for k in range(table.shape[1]):
        out[(k, "sensitivity")] = ratio(tp[:, k], rows[:, k])
        out[(k, "specificity")] = ratio(tn[:, k], n - rows[:, k])
        out[(k, "precision")] = ratio(tp[:, k], cols[:, k])
        out[(k, "negative_predictive_value")] = ratio(tn[:, k], n - cols[:, k])
        out[(k, "f1")] = ratio(2 * tp[:, k], rows[:, k] + cols[:, k])
        out[(k, "expert_rate")] = ratio(rows[:, k], n)
        out[(k, "judge_rate")] = ratio(cols[:, k], n)
    out[(None, "accuracy")] = ratio(tp.sum(axis=1), n)
    used = rows > 0
    recall = np.where(used, tp / np.where(used, rows, 1.0), 0.0)
    out[(None, "balanced_accuracy")] = ratio(recall.sum(axis=1), used.sum(axis=1).astype(float))
    out[(None, "majority_baseline")] = majority_share(rows)
    return out


def _key(label_index: int | None, statistic: str, labels: Sequence[str]) -> str:
    """The statistic in words: the uncertainty module names it so in its notes."""
    name = PROFILE_NAMES[statistic]
    return name if label_index is None else f"{name} of label {labels[label_index]!r}"


def confusion_error_profile(
    expert_codes: np.ndarray,
    judge_codes: np.ndarray,
    labels: Sequence[str],
    *,
    groups: np.ndarray | None = None,
    n_resamples: int = 1000,
    level_ci: float = 0.95,
    seed: int = 0,
) -> ErrorProfile:
    """Error profile from paired label codes (``0..len(labels)-1``, no nan) of the compared items.

    ``groups``: a cluster id per item (whole groups are resampled). ``n_resamples=0``: estimates only.
    Raises :class:`StatisticsError` on bad codes or options.
    """
    labels = tuple(str(label) for label in labels)
    expert_codes = np.asarray(expert_codes, dtype=float)
    judge_codes = np.asarray(judge_codes, dtype=float)
    if n_resamples:
        _check_options(n_resamples, level_ci, "auto")
    if expert_codes.size == 0:
        return _undefined_profile(
            labels, "there are no compared items (items with both an expert consensus and a judge label)", level_ci
        )
    design = _design([expert_codes, judge_codes], ["expert_codes", "judge_codes"], "nominal", len(labels), groups)
    keys: dict[str, tuple[int | None, str]] = {
        _key(k, s, labels): (k, s) for k in range(len(labels)) for s in PER_LABEL_STATISTICS
    }
    keys.update({_key(None, s, labels): (None, s) for s in OVERALL_STATISTICS})

    def evaluate(d: _Design, weights: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        values = _table_statistics(_Batch(d, weights, 0, 1).table())
        return {name: values[key] for name, key in keys.items()}

    reasons = {
        name: (_OVERALL_REASON[s] if k is None else _PER_LABEL_REASON[s].format(label=labels[k]))
        for name, (k, s) in keys.items()
    }
    if n_resamples:
        intervals = _run(design, tuple(keys), evaluate, reasons, int(n_resamples), float(level_ci), int(seed), "auto")
    else:
        with np.errstate(all="ignore"):
            point = evaluate(design, design.total[None, :])
        intervals = {
            name: _point_interval(
                float(v[0]) if d[0] else math.nan,
                float(level_ci),
                None if d[0] else f"{name} is undefined on the data: {reasons[name]}.",
            )
            for name, (v, d) in point.items()
        }
    per_label = tuple(
        LabelProfile(
            label=label,
            n_expert=int(np.sum(expert_codes == k)),
            n_judge=int(np.sum(judge_codes == k)),
            statistics={s: intervals[_key(k, s, labels)] for s in PER_LABEL_STATISTICS},
        )
        for k, label in enumerate(labels)
    )
    overall = {s: intervals[_key(None, s, labels)] for s in OVERALL_STATISTICS}
    notes = tuple(f"{name}: {iv.note}" for name, iv in intervals.items() if iv.note and iv.method != "none")
    return ErrorProfile(labels, int(expert_codes.size), per_label, overall, None, notes)


def _undefined_profile(labels: tuple[str, ...], reason: str, level_ci: float, n_compared: int = 0) -> ErrorProfile:
    overall = {s: _point_interval(math.nan, level_ci, f"Undefined: {reason}.") for s in OVERALL_STATISTICS}
    return ErrorProfile(labels, n_compared, (), overall, reason)


@dataclass(frozen=True)
class _Coded:
    labels: tuple[str, ...]
    experts: np.ndarray  # (n_items, n_experts) codes, nan = missing
    judge: np.ndarray
    consensus: np.ndarray
    groups: np.ndarray


def _code(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    order: Sequence[str] | None,
    group: str | None,
) -> _Coded:
    experts = check_columns(table, judge, experts, group)
    coded = code_table(table, experts, level, judge=judge, order=order)
    assert coded.judge is not None
    consensus, _, _ = consensus_codes(coded.experts, level, len(coded.labels))
    return _Coded(coded.labels, coded.experts, coded.judge, consensus, table_group_codes(table, group))


def error_profile(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    **fields: Unpack[OptionFields],
) -> ErrorProfile:
    """The judge's error profile against the experts' consensus (see the module docstring).

    Same inputs as :func:`selene_eval.stats.agreement`; the compared items are the ones with a judge label
    and a strict-majority expert consensus. At interval level there are no labels to profile, and below
    ``min_compared`` compared items the profile is undefined; ``undefined`` then says why in words. Settings:
    :class:`~selene_eval.stats.options.StatisticsOptions` (``options``) or its fields as keywords.
    """
    o = StatisticsOptions.of(options, fields)
    level = check_level(level)
    if level == "interval":
        return _undefined_profile(
            (), "an error profile needs labels; the scores are measured at interval level", o.ci_level
        )
    coded = _code(table, judge, experts, level, o.order, o.group)
    compared = ~np.isnan(coded.judge) & ~np.isnan(coded.consensus)
    n_compared = int(compared.sum())
    if 0 < n_compared < o.min_compared:
        return _undefined_profile(
            coded.labels,
            f"it would rest on {n_compared} compared item{'s' if n_compared != 1 else ''}, fewer than this "
            f"study's minimum of {o.min_compared}",
            o.ci_level,
            n_compared,
        )
    return confusion_error_profile(
        coded.consensus[compared],
        coded.judge[compared],
        coded.labels,
        groups=coded.groups[compared],
        n_resamples=o.n_resamples,
        level_ci=o.ci_level,
        seed=o.seed,
    )


# --------------------------------------------------------------------------------------------------
# Ambiguity
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmbiguityPart:
    """Agreement on one kind of item (``unanimous`` or ``split``)."""

    kind: str
    n_items: int
    accuracy: Interval
    cohen_kappa: Interval

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "kind": self.kind,
            "n_items": self.n_items,
            "accuracy": self.accuracy.to_dict(),
            "cohen_kappa": self.cohen_kappa.to_dict(),
        }


@dataclass(frozen=True)
class Ambiguity:
    """Result of :func:`ambiguity_split`. ``undefined`` says in words why there is no split."""

    parts: tuple[AmbiguityPart, ...]
    soft_agreement: Interval
    n_soft: int  # items scored for the soft-label agreement (a judge label and >= 1 expert label)
    n_single_expert: int  # compared items only one expert labelled (neither unanimous nor split)
    undefined: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # with the judge's label probabilities: mean cross-entropy (nats) of them against the experts' distribution
    cross_entropy: Interval | None = None
    n_cross_entropy: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "parts": [p.to_dict() for p in self.parts],
            "soft_agreement": self.soft_agreement.to_dict(),
            "n_soft": self.n_soft,
            "n_single_expert": self.n_single_expert,
            "undefined": self.undefined,
            "notes": list(self.notes),
            "cross_entropy": None if self.cross_entropy is None else self.cross_entropy.to_dict(),
            "n_cross_entropy": self.n_cross_entropy,
        }


def clustered_mean_interval(
    values: np.ndarray, groups: np.ndarray | None, *, n_resamples: int, level_ci: float, seed: int
) -> Interval:
    """Mean of ``values`` with a percentile interval from resampling whole groups (None: items).

    The resample mean is ``sum(count_g * total_g) / sum(count_g * size_g)`` with multinomial group counts,
    which is the mean of the items of ``G`` groups drawn with replacement.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return _point_interval(math.nan, level_ci, "Undefined: there are no items.")
    estimate = float(values.mean())
    if not n_resamples:
        return _point_interval(estimate, level_ci, None)
    ids = np.arange(values.size) if groups is None else pd.factorize(pd.Series(groups, dtype=object))[0]
    totals = np.bincount(ids, weights=values)
    sizes = np.bincount(ids).astype(float)
    if totals.size < 2:
        return Interval(
            estimate,
            math.nan,
            math.nan,
            level_ci,
            "percentile",
            n_resamples,
            0,
            note="A bootstrap interval needs at least 2 groups (resampling units); there is 1.",
        )
    # Groups with the same (total, size) are interchangeable: draw how many of each such type a resample of
    # G groups holds, Multinomial(G, m_t / G) - exactly the distribution of G uniform draws, at the cost of
    # the few types (a few distinct shares) instead of G columns (as the uncertainty module does).
    types, type_sizes = np.unique(np.stack([totals, sizes], axis=1), axis=0, return_counts=True)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(totals.size, type_sizes / totals.size, size=n_resamples)
    boot = (counts @ types[:, 0]) / (counts @ types[:, 1])
    low, high = percentile_interval(boot, level_ci)
    return Interval(estimate, low, high, level_ci, "percentile", n_resamples, n_resamples)


def ambiguity_split(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    *,
    probabilities: str | None = None,
    **fields: Unpack[OptionFields],
) -> Ambiguity:
    """Accuracy and kappa on unanimous vs split items, and the soft-label agreement (module docstring).

    A part with fewer items than ``min_compared`` (or none) has undefined statistics with the reason.
    ``probabilities`` names a column of the judge's label probabilities (``{label: p}`` per row, None where
    absent): then ``cross_entropy`` is the mean of ``-sum_k share_k * log(p_k)`` over the items with expert
    labels and probabilities, ``share_k`` the share of the item's experts who gave label ``k`` (``p_k`` floored
    at 1e-12, so a label the judge ruled out costs about 27.6 nats, not infinity). Settings: :class:`~selene_eval.
    stats.options.StatisticsOptions` (``options``) or its fields as keywords.
    """
    o = StatisticsOptions.of(options, fields)
    level = check_level(level)
    if o.n_resamples:
        _check_options(o.n_resamples, o.ci_level, "auto")
    nan_iv = _point_interval(math.nan, o.ci_level, None)
    if level == "interval":
        return Ambiguity((), nan_iv, 0, 0, "unanimous and split items need labels; the scores are at interval level")
    coded = _code(table, judge, experts, level, o.order, o.group)
    present = ~np.isnan(coded.experts)
    n_labelled = present.sum(axis=1)
    judged = ~np.isnan(coded.judge)
    compared = judged & ~np.isnan(coded.consensus)
    distinct = np.array([np.unique(row[~np.isnan(row)]).size for row in coded.experts])
    if coded.experts.shape[1] < 2:
        reason = "unanimous and split items need at least 2 expert columns; there is 1"
        return Ambiguity((), nan_iv, 0, 0, reason)
    masks = {
        "unanimous": compared & (n_labelled >= 2) & (distinct == 1),
        "split": compared & (n_labelled >= 2) & (distinct > 1),
    }
    parts = []
    for kind, mask in masks.items():
        n = int(mask.sum())
        why = None
        if n == 0 and kind == "split" and coded.experts.shape[1] < 3:
            why = (
                "there are no split items: with 2 experts a disagreement leaves no majority to compare with "
                "(split items need 3 or more experts; the soft-label agreement still counts those items)"
            )
        elif n == 0:
            why = f"there are no {kind} items"
        elif n < o.min_compared:
            why = f"it would rest on {n} {kind} item{'s' if n != 1 else ''}, fewer than this study's minimum of {o.min_compared}"
        if why is not None or not o.n_resamples:
            from selene_eval.stats.uncertainty import statistic_value

            values = {}
            for name in ("accuracy", "cohen_kappa"):
                value = (
                    math.nan
                    if why
                    else statistic_value(
                        coded.consensus[mask],
                        coded.judge[mask],
                        level=level,
                        n_labels=len(coded.labels),
                        statistic=name,
                    )
                )
                values[name] = _point_interval(value, o.ci_level, f"Undefined: {why}." if why else None)
        else:
            values = bootstrap_intervals(
                coded.consensus[mask],
                coded.judge[mask],
                level=level,
                n_labels=len(coded.labels),
                groups=coded.groups[mask],
                statistics=["accuracy", "cohen_kappa"],
                n_resamples=o.n_resamples,
                level_ci=o.ci_level,
                seed=o.seed,
            )
        parts.append(AmbiguityPart(kind, n, values["accuracy"], values["cohen_kappa"]))
    soft = judged & (n_labelled >= 1)
    judge_codes = np.where(judged, coded.judge, -1.0)
    share = (coded.experts == judge_codes[:, None]).sum(axis=1) / np.maximum(n_labelled, 1)
    n_soft = int(soft.sum())
    if 0 < n_soft < o.min_compared:
        soft_iv = _point_interval(
            math.nan,
            o.ci_level,
            f"Undefined: it would rest on {n_soft} items, fewer than this study's minimum of {o.min_compared}.",
        )
    else:
        soft_iv = clustered_mean_interval(
            share[soft], coded.groups[soft], n_resamples=o.n_resamples, level_ci=o.ci_level, seed=o.seed
        )
    cross_entropy, n_cross = None, 0
    if probabilities is not None:
        if probabilities not in table.columns:
            raise StatisticsError(f"No column {probabilities!r} of label probabilities in the table.")
        cross_entropy, n_cross = _cross_entropy(table[probabilities].tolist(), coded, n_labelled, o)
    single = int((compared & (n_labelled == 1)).sum())
    notes: tuple[str, ...] = ()
    if single:
        notes = (
            f"{single} compared item{'s' if single != 1 else ''} had a single expert label and "
            "count as neither unanimous nor split.",
        )
    return Ambiguity(tuple(parts), soft_iv, n_soft, single, None, notes, cross_entropy, n_cross)


_PROBABILITY_FLOOR = 1e-12


def _cross_entropy(
    probabilities: list[object], coded: _Coded, n_labelled: np.ndarray, options: StatisticsOptions
) -> tuple[Interval, int]:
    """Mean cross-entropy of the judge's probabilities against the experts' label distribution, per item."""
    ci_level, min_compared = options.ci_level, options.min_compared
    k = len(coded.labels)
    values, keep = [], []
    for i, probs in enumerate(probabilities):
        if not isinstance(probs, dict) or not n_labelled[i]:
            continue
        q = np.array([float(probs.get(label, 0.0) or 0.0) for label in coded.labels])
        if not np.all(np.isfinite(q)) or q.sum() <= 0:
            continue
        q = np.maximum(q / q.sum(), _PROBABILITY_FLOOR)
        row = coded.experts[i]
        share = np.bincount(row[~np.isnan(row)].astype(int), minlength=k) / n_labelled[i]
        values.append(float(-(share * np.log(q)).sum()))
        keep.append(i)
    n = len(values)
    if n == 0:
        return _point_interval(
            math.nan, ci_level, "Undefined: no item has both label probabilities and expert labels."
        ), 0
    if n < min_compared:
        return _point_interval(
            math.nan,
            ci_level,
            f"Undefined: it would rest on {n} items, fewer than this study's minimum of {min_compared}.",
        ), n
    return clustered_mean_interval(
        np.array(values), coded.groups[keep], n_resamples=options.n_resamples, level_ci=ci_level, seed=options.seed
    ), n


__all__ = [
    "OVERALL_STATISTICS",
    "PER_LABEL_STATISTICS",
    "PROFILE_NAMES",
    "Ambiguity",
    "AmbiguityPart",
    "ErrorProfile",
    "LabelProfile",
    "ambiguity_split",
    "clustered_mean_interval",
    "confusion_error_profile",
    "error_profile",
]
