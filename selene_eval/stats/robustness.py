"""Robustness of a judge's verdicts across *conditions*: prompt variants, judges, modes.

A condition gives one label per item (canonical string, or ``None`` for "no usable label"). Everything here
works on a mapping ``condition name -> labels`` aligned with the expert reference labels, so the same
functions compare prompt variants (issue 4) and judges (issue 10):

* :func:`spread` - max - min and standard deviation of one statistic across conditions;
* :func:`flip_matrix` - the flip rate between every pair of conditions, and each condition vs a baseline,
  with the direction of each flip relative to the expert label (:func:`~selene_eval.stats.paired.flip_rate`);
* :func:`self_agreement` - Krippendorff's alpha with the conditions as raters: how much the judge agrees
  with itself when only the condition changes (1 = the verdicts never change);
* :func:`position_consistency` - for a pairwise prompt and its position-swapped twin: the share of items
  with the same winner in both orders, how often the first or second *slot* wins regardless of content,
  and agreement with the experts on the position-consistent items only;
* :func:`unparseable_rates` - per condition, the share of judged items whose output broke the contract;
* :func:`axis_summary` - per named axis, how far its conditions move the statistic and the verdicts;
* :func:`robustness` - all of the above plus paired tests against the baseline
  (:func:`~selene_eval.stats.paired.compare_conditions`, McNemar on correctness and a paired bootstrap of
  the statistic, Holm-corrected).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from selene_eval.core.numbers import finite_or_none
from selene_eval.core.status import NOT_JUDGED  # statuses of items not judged (yet), not unreadable ones
from selene_eval.core.tasks import Level
from selene_eval.errors import StatisticsError
from selene_eval.stats.alpha import krippendorff_alpha
from selene_eval.stats.paired import FlipRate, PairedDifference, compare_conditions, flip_rate
from selene_eval.stats.uncertainty import statistic_value

Label = str | None


def _check_aligned(reference: Sequence[Label] | None, labels: Mapping[str, Sequence[Label]]) -> int:
    sizes = {name: len(v) for name, v in labels.items()}
    if reference is not None:
        sizes = {"reference": len(reference), **sizes}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in sizes.items())
        raise StatisticsError(f"Every condition needs one label per item, but {detail}.")
    return next(iter(sizes.values()), 0)


@dataclass(frozen=True)
class Spread:
    """How much one statistic varies across conditions (only conditions where it is defined count)."""

    statistic: str
    n_conditions: int
    minimum: float
    maximum: float
    range: float
    sd: float  # sample standard deviation; NaN with fewer than two values
    min_condition: str | None
    max_condition: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "n_conditions": self.n_conditions,
            "min": finite_or_none(self.minimum),
            "max": finite_or_none(self.maximum),
            "range": finite_or_none(self.range),
            "sd": finite_or_none(self.sd),
            "min_condition": self.min_condition,
            "max_condition": self.max_condition,
        }


def spread(values: Mapping[str, float], statistic: str = "") -> Spread:
    """Max - min and sample standard deviation of ``values`` (condition -> statistic); NaNs are skipped."""
    finite = {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}
    if not finite:
        return Spread(statistic, 0, math.nan, math.nan, math.nan, math.nan, None, None)
    lo = min(finite, key=finite.__getitem__)
    hi = max(finite, key=finite.__getitem__)
    sd = statistics.stdev(finite.values()) if len(finite) >= 2 else math.nan
    return Spread(statistic, len(finite), finite[lo], finite[hi], finite[hi] - finite[lo], sd, lo, hi)


@dataclass(frozen=True)
class PairFlip:
    """The flip rate from condition ``a`` to condition ``b`` (direction: does ``b`` move towards the expert?)."""

    a: str
    b: str
    flips: FlipRate

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **self.flips.to_dict()}


def flip_matrix(
    labels: Mapping[str, Sequence[Label]],
    reference: Sequence[Label] | None = None,
    *,
    level: str = "nominal",
    order: Sequence[str] | None = None,
    baseline: str | None = None,
) -> tuple[PairFlip, ...]:
    """Flip rates between conditions: with ``baseline``, (baseline -> each other condition); without, every
    unordered pair in the mapping's order (``a`` the earlier one)."""
    _check_aligned(reference, labels)
    if baseline is not None and baseline not in labels:
        raise StatisticsError(f"The baseline {baseline!r} is not one of the conditions: {', '.join(labels)}.")
    if baseline is not None:
        pairs = [(baseline, name) for name in labels if name != baseline]
    else:
        pairs = list(itertools.combinations(labels, 2))
    return tuple(PairFlip(a, b, flip_rate(labels[a], labels[b], reference, level=level, order=order)) for a, b in pairs)


@dataclass(frozen=True)
class SelfAgreement:
    """Krippendorff's alpha with the conditions as raters (the judge's agreement with itself)."""

    alpha: float
    level: str
    n_conditions: int
    n_items: int  # items with labels from at least two conditions
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": finite_or_none(self.alpha),
            "level": self.level,
            "n_conditions": self.n_conditions,
            "n_items": self.n_items,
            "note": self.note,
        }


def _codes(values: Sequence[Label], level: str, order: Sequence[str] | None) -> np.ndarray:
    if level == "interval":
        return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    index = {label: k for k, label in enumerate(order or ())}
    out = np.full(len(values), math.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        if v not in index:
            raise StatisticsError(f"Label {v!r} is not in the label order {list(order or ())}.")
        out[i] = index[v]
    return out


def self_agreement(
    labels: Mapping[str, Sequence[Label]], *, level: str, order: Sequence[str] | None = None
) -> SelfAgreement:
    """Alpha over the ``(conditions, items)`` matrix at ``level`` (``order``: the label order, for codes)."""
    _check_aligned(None, labels)
    if level != "interval" and not order:
        raise StatisticsError("Self-agreement of nominal or ordinal labels needs the label order.")
    if len(labels) < 2:
        return SelfAgreement(math.nan, level, len(labels), 0, "needs at least two conditions")
    data = np.vstack([_codes(v, level, order) for v in labels.values()])
    n_items = int((np.sum(~np.isnan(data), axis=0) >= 2).sum())
    value, note = krippendorff_alpha(data, level)  # type: ignore[arg-type]
    return SelfAgreement(value, level, len(labels), n_items, note)


@dataclass(frozen=True)
class PositionConsistency:
    """A pairwise prompt (``original``) against its position-swapped twin (``swapped``).

    Both label lists name the item's *own* A/B (the swapped variant's answers are mapped back). An item is
    consistent when both orders pick the same response. When they differ, the judge picked the same *slot*
    twice: the first slot (original says A, swapped says B) or the second. ``position_bias_rate`` is the
    share of compared items decided by the slot rather than the content; ``first_slot_share`` the share of
    all 2n verdicts that went to whichever response was shown first (0.5 = no slot preference overall).
    ``accuracy_consistent`` / ``kappa_consistent``: agreement of the original order with the expert label on
    the consistent items only, beside ``accuracy_all`` / ``kappa_all`` on every compared item.
    """

    original: str
    swapped: str
    n_compared: int
    n_consistent: int
    consistency: float
    n_first_slot: int
    n_second_slot: int
    position_bias_rate: float
    first_slot_share: float
    n_with_reference: int = 0
    n_consistent_with_reference: int = 0
    accuracy_all: float = math.nan
    accuracy_consistent: float = math.nan
    kappa_all: float = math.nan
    kappa_consistent: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "swapped": self.swapped,
            "n_compared": self.n_compared,
            "n_consistent": self.n_consistent,
            "consistency": finite_or_none(self.consistency),
            "n_first_slot_wins_twice": self.n_first_slot,
            "n_second_slot_wins_twice": self.n_second_slot,
            "position_bias_rate": finite_or_none(self.position_bias_rate),
            "first_slot_share": finite_or_none(self.first_slot_share),
            "n_with_reference": self.n_with_reference,
            "n_consistent_with_reference": self.n_consistent_with_reference,
            "accuracy_all": finite_or_none(self.accuracy_all),
            "accuracy_consistent": finite_or_none(self.accuracy_consistent),
            "cohen_kappa_all": finite_or_none(self.kappa_all),
            "cohen_kappa_consistent": finite_or_none(self.kappa_consistent),
        }


_SWAP = {"A": "B", "B": "A"}


def position_consistency(
    original: Sequence[Label],
    swapped: Sequence[Label],
    reference: Sequence[Label] | None = None,
    *,
    names: tuple[str, str] = ("original", "swapped"),
    order: Sequence[str] = ("A", "B", "tie"),
) -> PositionConsistency:
    """Position consistency of pairwise verdicts; labels are ``"A"``/``"B"`` (anything else is left out)."""
    _check_aligned(reference, {"original": original, "swapped": swapped})
    n = len(original)
    compared = [i for i in range(n) if original[i] in _SWAP and swapped[i] in _SWAP]
    consistent = [i for i in compared if original[i] == swapped[i]]
    first = sum(1 for i in compared if original[i] == "A" and swapped[i] == "B")
    second = sum(1 for i in compared if original[i] == "B" and swapped[i] == "A")
    # As shown: the original order's first slot is A; the swapped order's first slot holds the item's B.
    first_slot_votes = sum((original[i] == "A") + (swapped[i] == "B") for i in compared)
    m = len(compared)
    result = dict(
        original=names[0],
        swapped=names[1],
        n_compared=m,
        n_consistent=len(consistent),
        consistency=len(consistent) / m if m else math.nan,
        n_first_slot=first,
        n_second_slot=second,
        position_bias_rate=(first + second) / m if m else math.nan,
        first_slot_share=first_slot_votes / (2 * m) if m else math.nan,
    )
    if reference is not None:
        with_ref = [i for i in compared if reference[i] is not None]
        cons_ref = [i for i in consistent if reference[i] is not None]

        def acc(idx: list[int]) -> float:
            return sum(original[i] == reference[i] for i in idx) / len(idx) if idx else math.nan

        def kappa(idx: list[int]) -> float:
            if not idx:
                return math.nan
            ref_c = _codes([reference[i] for i in idx], "nominal", order)
            own_c = _codes([original[i] for i in idx], "nominal", order)
            return statistic_value(ref_c, own_c, level="nominal", n_labels=len(order), statistic="cohen_kappa")

        result.update(
            n_with_reference=len(with_ref),
            n_consistent_with_reference=len(cons_ref),
            accuracy_all=acc(with_ref),
            accuracy_consistent=acc(cons_ref),
            kappa_all=kappa(with_ref),
            kappa_consistent=kappa(cons_ref),
        )
    return PositionConsistency(**result)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Unparseable:
    """A condition's unreadable outputs: ``n_unparseable`` of ``n_judged`` (pending items do not count)."""

    condition: str
    n_judged: int
    n_unparseable: int
    rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "n_judged": self.n_judged,
            "n_unparseable": self.n_unparseable,
            "rate": finite_or_none(self.rate),
        }


def unparseable_rates(statuses: Mapping[str, Sequence[str]]) -> tuple[Unparseable, ...]:
    """Per condition: judged items whose parse status is not ``ok`` (``pending``/``not_renderable`` skipped)."""
    out = []
    for name, column in statuses.items():
        judged = [s for s in column if s not in NOT_JUDGED]
        bad = sum(1 for s in judged if s != "ok")
        out.append(Unparseable(name, len(judged), bad, bad / len(judged) if judged else math.nan))
    return tuple(out)


@dataclass(frozen=True)
class AxisSummary:
    """How much the conditions on one axis move things, compared with the baseline.

    ``mean_abs_difference`` / ``max_abs_difference``: of the statistic (condition - baseline);
    ``mean_flip_rate``: share of items whose verdict changes vs the baseline, averaged over the conditions;
    ``n_significant``: comparisons with the baseline whose Holm-corrected p-value is below 0.05.
    """

    axis: str
    conditions: tuple[str, ...]
    mean_abs_difference: float
    max_abs_difference: float
    mean_flip_rate: float
    n_significant: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "conditions": list(self.conditions),
            "mean_abs_difference": finite_or_none(self.mean_abs_difference),
            "max_abs_difference": finite_or_none(self.max_abs_difference),
            "mean_flip_rate": finite_or_none(self.mean_flip_rate),
            "n_significant": self.n_significant,
        }


def axis_summary(
    axes: Mapping[str, str],
    values: Mapping[str, float],
    baseline: str,
    flips: Sequence[PairFlip] = (),
    comparisons: Sequence[PairedDifference] = (),
) -> tuple[AxisSummary, ...]:
    """One :class:`AxisSummary` per axis in ``axes`` (condition -> axis name); the baseline is left out.

    ``values``: the statistic per condition; ``flips``: baseline -> condition flip rates;
    ``comparisons``: condition vs baseline tests (``a`` = the condition).
    """
    base = values.get(baseline, math.nan)
    flip_of = {f.b: f.flips.rate for f in flips if f.a == baseline}
    sig_of = {c.a: c.significant for c in comparisons if c.b == baseline}
    grouped: dict[str, list[str]] = {}
    for name, axis in axes.items():
        if name != baseline:
            grouped.setdefault(axis, []).append(name)
    out = []
    for axis, names in grouped.items():
        diffs = [
            abs(values[n] - base) for n in names if n in values and math.isfinite(values[n]) and math.isfinite(base)
        ]
        rates = [flip_of[n] for n in names if n in flip_of and math.isfinite(flip_of[n])]
        out.append(
            AxisSummary(
                axis=axis,
                conditions=tuple(names),
                mean_abs_difference=float(np.mean(diffs)) if diffs else math.nan,
                max_abs_difference=max(diffs) if diffs else math.nan,
                mean_flip_rate=float(np.mean(rates)) if rates else math.nan,
                n_significant=sum(1 for n in names if sig_of.get(n)),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Robustness:
    """Everything :func:`robustness` measured across the conditions of one judge (or one variant)."""

    conditions: tuple[str, ...]
    baseline: str
    statistic: str
    level: str
    n_items: int
    values: dict[str, float]  # the statistic per condition (agreement with the reference)
    spreads: tuple[Spread, ...]
    flips_vs_baseline: tuple[PairFlip, ...]
    flips: tuple[PairFlip, ...]
    self_agreement: SelfAgreement
    reference_alpha: float | None  # e.g. the experts' own alpha, to read self-agreement against
    comparisons: tuple[PairedDifference, ...]  # each condition vs the baseline on ``statistic`` (bootstrap)
    accuracy_tests: tuple[PairedDifference, ...]  # each condition vs the baseline on accuracy (McNemar)
    unparseable: tuple[Unparseable, ...]
    axes: tuple[AxisSummary, ...] = ()
    axis_of: dict[str, str] = field(default_factory=dict)
    position: tuple[PositionConsistency, ...] = ()
    # Of ``n_items`` (every item of the study): judged under every condition, and under at least one. ``None``
    # without statuses (then "judged" cannot be told from "unreadable").
    n_judged_all: int | None = None
    n_judged_any: int | None = None
    min_compared: int = 0  # a condition's statistic on fewer compared items is undefined (nan)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditions": list(self.conditions),
            "baseline": self.baseline,
            "statistic": self.statistic,
            "level": self.level,
            "n_items": self.n_items,
            "axis_of": dict(self.axis_of),
            "values": {k: finite_or_none(v) for k, v in self.values.items()},
            "spreads": [s.to_dict() for s in self.spreads],
            "flips_vs_baseline": [f.to_dict() for f in self.flips_vs_baseline],
            "flips": [f.to_dict() for f in self.flips],
            "self_agreement": self.self_agreement.to_dict(),
            "reference_alpha": finite_or_none(self.reference_alpha),
            "comparisons": [c.to_dict() for c in self.comparisons],
            "accuracy_tests": [c.to_dict() for c in self.accuracy_tests],
            "unparseable": [u.to_dict() for u in self.unparseable],
            "axes": [a.to_dict() for a in self.axes],
            "position": [p.to_dict() for p in self.position],
            "n_judged_all": self.n_judged_all,
            "n_judged_any": self.n_judged_any,
            "min_compared": self.min_compared,
        }


def robustness(
    reference: Sequence[Label],
    labels: Mapping[str, Sequence[Label]],
    *,
    level: Level,
    order: Sequence[str] | None,
    baseline: str | None = None,
    statistic: str = "cohen_kappa",
    statistics_by_condition: Mapping[str, Mapping[str, float]] | None = None,
    statuses: Mapping[str, Sequence[str]] | None = None,
    axis_of: Mapping[str, str] | None = None,
    swap_pairs: Sequence[tuple[str, str]] = (),
    groups: Sequence[object] | None = None,
    reference_alpha: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    min_compared: int = 0,
) -> Robustness:
    """All robustness measures for ``labels`` (condition -> one label per item) against ``reference``.

    ``baseline`` defaults to the first condition. ``statistics_by_condition`` (condition -> statistic name
    -> value, e.g. from the per-condition agreement reports) gives the spreads; without it only
    ``statistic`` is spread, as computed here. ``statuses`` (condition -> parse status per item) gives the
    unparseable rates. ``axis_of`` (condition -> axis) gives the per-axis summary. ``swap_pairs`` lists
    (pairwise prompt, its position-swapped twin). ``groups``: one cluster id per item for the bootstraps.
    ``min_compared``: a condition whose statistic would rest on fewer compared items gets nan (as
    :func:`~selene_eval.stats.agreement.agreement` gives it), so its variant is not ranked on two items.
    """
    n = _check_aligned(reference, labels)
    if not labels:
        raise StatisticsError("Robustness needs at least one condition.")
    names = tuple(labels)
    baseline = baseline if baseline is not None else names[0]
    if baseline not in labels:
        raise StatisticsError(f"The baseline {baseline!r} is not one of the conditions: {', '.join(names)}.")
    n_labels = None if level == "interval" else len(order or ())
    values: dict[str, float] = {}
    ref_codes = _codes(reference, level, order)
    for name in names:
        own = _codes(labels[name], level, order)
        keep = ~np.isnan(ref_codes) & ~np.isnan(own)
        enough = keep.any() and int(keep.sum()) >= min_compared
        values[name] = (
            statistic_value(
                ref_codes[keep],
                own[keep],
                level=level,
                n_labels=n_labels,
                statistic=statistic,
            )
            if enough
            else math.nan
        )
    by_stat: dict[str, dict[str, float]] = {}
    for name, stats in (statistics_by_condition or {}).items():
        for stat, value in stats.items():
            by_stat.setdefault(stat, {})[name] = value
    by_stat.setdefault(statistic, values)
    spreads = tuple(spread(v, stat) for stat, v in by_stat.items())
    vs_base = flip_matrix(labels, reference, level=level, order=order, baseline=baseline) if len(names) > 1 else ()
    every = flip_matrix(labels, reference, level=level, order=order) if len(names) > 1 else ()
    comparisons: tuple[PairedDifference, ...] = ()
    accuracy_tests: tuple[PairedDifference, ...] = ()
    if len(names) > 1:
        comparisons = compare_conditions(
            reference,
            labels,
            level=level,
            order=order,
            statistic=statistic,
            groups=groups,
            baseline=baseline,
            n_resamples=n_resamples,
            seed=seed,
        )
        accuracy_tests = compare_conditions(
            reference,
            labels,
            level=level,
            order=order,
            statistic="accuracy",
            groups=groups,
            baseline=baseline,
            n_resamples=0,
            seed=seed,
        )
    axes = axis_summary(axis_of, values, baseline, vs_base, comparisons) if axis_of else ()
    position = tuple(
        position_consistency(
            labels[a], labels[b], reference, names=(a, b), order=tuple(order) if order else ("A", "B", "tie")
        )
        for a, b in swap_pairs
        if a in labels and b in labels
    )
    judged_all = judged_any = None
    if statuses:
        judged = np.array([[s not in NOT_JUDGED for s in statuses[name]] for name in names if name in statuses])
        judged_all, judged_any = int(judged.all(axis=0).sum()), int(judged.any(axis=0).sum())
    return Robustness(
        conditions=names,
        baseline=baseline,
        statistic=statistic,
        level=level,
        n_items=n,
        values=values,
        spreads=spreads,
        flips_vs_baseline=vs_base,
        flips=every,
        self_agreement=self_agreement(labels, level=level, order=order),
        reference_alpha=reference_alpha,
        comparisons=comparisons,
        accuracy_tests=accuracy_tests,
        unparseable=unparseable_rates(statuses or {}),
        axes=axes,
        axis_of=dict(axis_of or {}),
        position=position,
        n_judged_all=judged_all,
        n_judged_any=judged_any,
        min_compared=int(min_compared),
    )
