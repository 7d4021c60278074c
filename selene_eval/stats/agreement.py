"""Agreement between an LLM judge and human experts.

:func:`agreement` compares the judge's label with the expert consensus (see
:mod:`selene_eval.stats.consensus`) item by item, and measures how well the experts agree among
themselves and with the judge counted as one more rater. Every number that cannot be computed is ``nan``
with a note saying why; every item left out of a comparison is counted and explained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

import numpy as np
import pandas as pd

from selene_eval.core.numbers import finite_or_none
from selene_eval.stats.alpha import krippendorff_alpha, substitution_differences
from selene_eval.stats.ceiling import Ceiling, expert_ceiling
from selene_eval.stats.coefficients import kappa_paradox
from selene_eval.stats.consensus import (
    CodedTable,
    Level,
    cell_text,
    check_columns,
    check_level,
    code_table,
    consensus_codes,
    quote_values,
    require_columns,
    table_group_codes,
)
from selene_eval.stats.options import OptionFields, StatisticsOptions
from selene_eval.stats.registry import APPLICABLE, BY_KEY, EXTRA_METRICS, METRICS, statistic_name
from selene_eval.stats.uncertainty import _MAX_KENDALL_TABLE, Interval, bootstrap_intervals, percentile_interval


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (expert consensus, judge) label pairs over the compared items."""

    labels: tuple[str, ...]  # row / column order
    counts: tuple[tuple[int, ...], ...]  # rows = expert consensus, columns = judge

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame: index = consensus label, columns = judge label."""
        return pd.DataFrame(
            list(self.counts) if self.counts else np.zeros((0, 0), dtype=int),
            index=pd.Index(self.labels, name="expert consensus", dtype=object),
            columns=pd.Index(self.labels, name="judge", dtype=object),
            dtype=int,
        )


@dataclass(frozen=True)
class ExpertAgreement:
    """Inter-rater reliability among the experts, and with the judge added as one more rater."""

    n_experts: int
    krippendorff_alpha: float  # among the experts alone, at the level
    alpha_with_judge: float  # experts + judge as one more rater


@dataclass(frozen=True)
class AgreementReport:
    """Everything :func:`agreement` measured; see :meth:`to_dict` for the JSON form."""

    level: Level
    labels: tuple[str, ...]  # label order used (empty for interval)
    n_items: int  # rows in the table
    n_compared: int  # items entering judge-vs-consensus metrics
    n_no_majority: int
    n_unlabelled: int
    n_judge_missing: int  # items whose judge label is missing / unparseable / off-scale
    unparseable_share: float  # n_judge_missing / n_items (nan when n_items == 0)
    metrics: dict[str, float]  # METRICS[level] keys; nan with a note when undefined
    notes: tuple[str, ...]  # reasons for every nan and every exclusion, in words
    confusion: ConfusionMatrix | None  # nominal / ordinal only
    experts: ExpertAgreement | None  # only with >= 2 experts
    group: str | None = None  # column of cluster ids (for a clustered bootstrap)
    n_groups: int | None = None  # distinct non-missing group ids in the table
    extra_metrics: dict[str, float] = field(default_factory=dict)  # EXTRA_METRICS[level] keys
    intervals: dict[str, Interval] = field(default_factory=dict)  # bootstrap CI per metric where defined
    warnings: tuple[str, ...] = ()  # things a reader must know before trusting the figures
    ceiling: Ceiling | None = None  # expert_ceiling(...) with >= 2 experts
    substitution_intervals: dict[str, Interval] = field(default_factory=dict)  # per replaced expert
    n_resamples: int = 0
    ci_level: float = 0.95
    seed: int = 0
    # why each statistic of ``metrics`` / ``extra_metrics`` that is nan is undefined, in words (key -> reason)
    undefined: dict[str, str] = field(default_factory=dict)
    min_compared: int = 0  # below this many compared items every judge-vs-consensus statistic is undefined

    def reason(self, name: str) -> str | None:
        """Why the statistic ``name`` is undefined (``None`` when it has a value)."""
        return self.undefined.get(name)

    def to_dict(self, *, with_uncertainty: bool = False) -> dict[str, Any]:
        """JSON-ready dict (tuples -> lists, nan -> None).

        ``with_uncertainty=True`` adds ``intervals`` ({metric: Interval.to_dict()}), ``warnings``,
        ``ceiling`` (Ceiling.to_dict() with ``substitution[i]["interval"]``, or None), ``n_resamples``,
        ``ci_level`` and ``seed``; the CLI and the study report use it. The default keeps the original
        key set (pinned by tests/stats/test_metrics.py::test_to_dict_is_json_ready).
        """
        data: dict[str, Any] = {
            "level": self.level,
            "labels": list(self.labels),
            "n_items": self.n_items,
            "n_compared": self.n_compared,
            "n_no_majority": self.n_no_majority,
            "n_unlabelled": self.n_unlabelled,
            "n_judge_missing": self.n_judge_missing,
            "unparseable_share": finite_or_none(self.unparseable_share),
            "metrics": {name: finite_or_none(value) for name, value in self.metrics.items()},
            "notes": list(self.notes),
            "confusion": None
            if self.confusion is None
            else {"labels": list(self.confusion.labels), "counts": [list(r) for r in self.confusion.counts]},
            "experts": None
            if self.experts is None
            else {
                "n_experts": self.experts.n_experts,
                "krippendorff_alpha": finite_or_none(self.experts.krippendorff_alpha),
                "alpha_with_judge": finite_or_none(self.experts.alpha_with_judge),
            },
            "group": self.group,
            "n_groups": self.n_groups,
        }
        if not with_uncertainty:
            return data
        data["metrics"].update({name: finite_or_none(value) for name, value in self.extra_metrics.items()})
        return {
            **data,
            "intervals": {name: interval.to_dict() for name, interval in self.intervals.items()},
            "warnings": list(self.warnings),
            "undefined": dict(self.undefined),
            "min_compared": self.min_compared,
            "ceiling": self._ceiling_dict(),
            "n_resamples": self.n_resamples,
            "ci_level": self.ci_level,
            "seed": self.seed,
        }

    def _ceiling_dict(self) -> dict[str, Any] | None:
        if self.ceiling is None:
            return None
        data = self.ceiling.to_dict()
        for row in data["substitution"]:
            interval = self.substitution_intervals.get(row["replaced"])
            row["interval"] = None if interval is None else interval.to_dict()
        return data


# --------------------------------------------------------------------------------------------------
# Judge vs consensus
# --------------------------------------------------------------------------------------------------


def _judge_metrics(
    level: Level, expert: np.ndarray, judge: np.ndarray, n_labels: int
) -> tuple[dict[str, float], dict[str, str]]:
    """Judge-vs-consensus metrics on the compared pairs (codes or values, no nan), by their registry point
    functions (:mod:`selene_eval.stats.pairs`).

    Returns the values and, for each nan, the reason. Ordinal codes are ranks, so correlations and the
    quadratic kappa on them are computed on ranks as intended.
    """
    names = METRICS[level] + EXTRA_METRICS[level]
    if expert.size == 0:
        return _all_undefined(names, "no item has both a judge label and an expert consensus")
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for name in names:
        value, reason = BY_KEY[name].point_function()(expert, judge, level, n_labels)
        values[name] = value
        if reason is not None:
            reasons[name] = reason
    return values, reasons


def _all_undefined(names: Sequence[str], reason: str) -> tuple[dict[str, float], dict[str, str]]:
    return {name: math.nan for name in names}, {name: reason for name in names}


def _confusion(labels: tuple[str, ...], expert: np.ndarray, judge: np.ndarray) -> ConfusionMatrix:
    """Confusion counts of compared code pairs; rows = consensus, columns = judge."""
    size = len(labels)
    flat = np.bincount(expert.astype(int) * size + judge.astype(int), minlength=size * size)
    counts = flat.reshape(size, size)
    return ConfusionMatrix(labels, tuple(tuple(int(c) for c in row) for row in counts))


# --------------------------------------------------------------------------------------------------
# Uncertainty, warnings and the expert ceiling
# --------------------------------------------------------------------------------------------------

# Below this many compared items the report warns that the figures are unstable.
SMALL_N = 30
# Resample count cap for the substitution test's bootstrap (see _substitution_intervals).
_MAX_SUBSTITUTION_RESAMPLES = 1000


def _interval_statistics(level: Level) -> list[str]:
    return [name for name in METRICS[level] + EXTRA_METRICS[level] if name in APPLICABLE[level]]


def _substitution_intervals(
    experts: np.ndarray,
    judge: np.ndarray,
    level: Level,
    names: Sequence[str],
    groups: np.ndarray,
    n_resamples: int,
    ci_level: float,
    seed: int,
) -> dict[str, Interval]:
    """Percentile bootstrap intervals of the substitution differences, resampling whole groups.

    Vectorized (:func:`~selene_eval.stats.alpha.alpha_batch`), so every resample is used up to ``_MAX_SUBSTITUTION_RESAMPLES``.
    Percentile only: BCa would need a leave-one-group-out pass per group.
    """
    n_groups = int(groups.max()) + 1 if groups.size else 0
    b = min(n_resamples, _MAX_SUBSTITUTION_RESAMPLES)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        estimate = substitution_differences(experts, judge, level, np.ones((1, len(judge))))[0]
        draws = rng.integers(0, max(n_groups, 1), size=(b, n_groups))
        per_group = np.stack([np.bincount(row, minlength=n_groups) for row in draws]).astype(float)
        boot = substitution_differences(experts, judge, level, per_group[:, groups])
    out = {}
    for j, name in enumerate(names):
        valid = boot[:, j][np.isfinite(boot[:, j])]
        note = None
        low = high = math.nan
        if not math.isfinite(estimate[j]):
            note = "The substitution difference is undefined on the data (an alpha it subtracts is undefined)."
        elif n_groups < 2:
            note = "A bootstrap interval needs at least 2 groups (resampling units)."
        elif valid.size < 0.5 * b:
            note = f"The difference is undefined in {b - valid.size} of {b} resamples; no interval."
        else:
            low, high = percentile_interval(valid, ci_level)
            if valid.size < b:
                note = f"{b - valid.size} of {b} resamples were dropped (an alpha is undefined there)."
        out[name] = Interval(
            float(estimate[j]),
            low,
            high,
            level=ci_level,
            method="percentile",
            n_resamples=b,
            n_valid=int(valid.size),
            note=note,
        )
    return out


def _label_shares(expert: np.ndarray, judge: np.ndarray, n_labels: int) -> np.ndarray:
    codes = np.concatenate([expert, judge]).astype(int)
    return np.bincount(codes, minlength=n_labels) / max(codes.size, 1)


# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------


@dataclass
class _Notes:
    """Collects the report's notes in a stable order."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def count(self, n: int, what: str) -> None:
        """Add ``"<n> items <what>"`` when n > 0; ``what`` starts with "have", made "has" for one item."""
        if n == 1:
            self.add(f"1 item {what.replace('have', 'has', 1).replace(' and are ', ' and is ')}.")
        elif n:
            self.add(f"{n} items {what}.")


@dataclass(frozen=True)
class _Compared:
    """The judge-vs-consensus pairs of one table: codes, counts, and which items enter the comparison."""

    coded: CodedTable
    consensus: np.ndarray  # consensus code / value per item (nan: none)
    compared: np.ndarray  # bool per item: judge label and consensus both present
    n_no_majority: int
    n_unlabelled: int
    n_judge_missing: int

    @property
    def expert(self) -> np.ndarray:
        return self.consensus[self.compared]

    @property
    def judge(self) -> np.ndarray:
        assert self.coded.judge is not None  # code_table was given a judge column
        return self.coded.judge[self.compared]

    @property
    def n_compared(self) -> int:
        return int(self.compared.sum())


def _compare(
    table: pd.DataFrame, judge: str, experts: list[str], level: Level, order: Sequence[str] | None, notes: _Notes
) -> _Compared:
    """Code the table, form the expert consensus, and note every item left out of the comparison."""
    coded = code_table(table, experts, level, judge=judge, order=order)
    assert coded.judge is not None  # code_table was given a judge column
    consensus, n_no_majority, n_unlabelled = consensus_codes(coded.experts, level, len(coded.labels))
    judge_present = ~np.isnan(coded.judge)
    compared = judge_present & ~np.isnan(consensus)
    n_judge_missing = int((~judge_present).sum())

    left_out = "and are left out of the judge-vs-consensus metrics"
    notes.count(n_unlabelled, f"have no expert label {left_out}")
    notes.count(n_no_majority, f"have expert labels but no strict majority {left_out}")
    notes.count(n_judge_missing, f"have no usable judge label (missing, unreadable, off-scale) {left_out}")
    if coded.n_judge_offscale:
        notes.add(
            f"{coded.n_judge_offscale} judge label{'s are' if coded.n_judge_offscale != 1 else ' is'} "
            "outside the label order and counted as unparseable: "
            f"{quote_values(list(coded.judge_offscale_values))}."
        )
    if len(table) == 0:
        notes.add("The share of unreadable judge answers is undefined: the table has no rows.")
    return _Compared(coded, consensus, compared, n_no_majority, n_unlabelled, n_judge_missing)


def _too_few_reason(n_compared: int, min_compared: int) -> str | None:
    """Why every judge-vs-consensus statistic is withheld (fewer compared items than the study's minimum)."""
    if 0 < n_compared < min_compared:
        return (
            f"it would rest on {n_compared} compared item{'s' if n_compared != 1 else ''}, fewer than "
            f"this study's minimum of {min_compared}"
        )
    return None


def _expert_agreement(coded: CodedTable, level: Level, notes: _Notes) -> ExpertAgreement | None:
    """The experts' own alpha and alpha with the judge as one more expert, over ALL items (expert
    reliability does not depend on what the judge said); None with one expert."""
    n_experts = coded.experts.shape[1]
    if n_experts < 2:
        notes.add("Expert agreement needs at least 2 expert columns; there is 1.")
        return None
    assert coded.judge is not None
    raters = coded.experts.T  # (experts, items)
    alpha_experts, why_experts = krippendorff_alpha(raters, level)
    alpha_judge, why_judge = krippendorff_alpha(np.vstack([raters, coded.judge]), level)
    undefined = (
        ("The experts' own Krippendorff's alpha", why_experts),
        ("Krippendorff's alpha with the judge as one more expert", why_judge),
    )
    for name, why in undefined:
        if why is not None:
            notes.add(f"{name} is undefined: {why}.")
    return ExpertAgreement(n_experts, alpha_experts, alpha_judge)


def _count_groups(table: pd.DataFrame, group: str | None, notes: _Notes) -> int | None:
    """Distinct non-missing group ids (None without a group column); rows without one are noted."""
    if group is None:
        return None
    ids = [cell_text(v) for v in table[group].tolist()]  # blanks count as missing, like labels
    notes.count(ids.count(None), f"have no id in the group column {group!r}")
    return len({i for i in ids if i is not None})


def _judge_intervals(
    pairs: _Compared, level: Level, groups: np.ndarray, options: StatisticsOptions, notes: _Notes
) -> dict[str, Interval]:
    """Bootstrap intervals of every judge-vs-consensus statistic the bootstrap defines (whole groups)."""
    expert_c, judge_c = pairs.expert, pairs.judge
    statistics = _interval_statistics(level)
    if level == "interval" and (
        np.unique(expert_c).size * np.unique(judge_c).size > _MAX_KENDALL_TABLE and "kendall_tau" in statistics
    ):
        # uncertainty.py would loop over resamples with scipy's kendalltau (seconds on 10,000 items)
        statistics.remove("kendall_tau")
        notes.add("Kendall's tau has no interval: the scores take too many distinct values for a fast bootstrap.")
    return bootstrap_intervals(
        expert_c,
        judge_c,
        level=level,
        n_labels=len(pairs.coded.labels) if level != "interval" else None,
        groups=groups[pairs.compared],
        statistics=statistics,
        n_resamples=int(options.n_resamples),
        level_ci=float(options.ci_level),
        seed=int(options.seed),
        method="percentile" if level == "interval" else "auto",
    )


def _warnings(
    pairs: _Compared,
    level: Level,
    options: StatisticsOptions,
    too_few: bool,
    n_groups: int | None,
    metrics: dict[str, float],
    extra_metrics: dict[str, float],
) -> list[str]:
    """What a reader must know before trusting the figures: too few items or groups, the kappa paradox."""
    n_compared, minimum, group = pairs.n_compared, options.min_compared, options.group
    lines: list[str] = []
    if too_few:
        lines.append(
            f"Only {n_compared} item{'s' if n_compared != 1 else ''} compared, fewer than this study's minimum of "
            f"{minimum}: no statistic is given (judge more items, or lower the minimum)."
        )
    elif n_compared < SMALL_N:
        lines.append(
            f"Only {n_compared} item{'s' if n_compared != 1 else ''} compared (fewer than {SMALL_N}): "
            "the statistics are unstable and their intervals wide."
        )
    if group is not None and n_groups is not None and 0 < n_groups < 10:
        lines.append(
            f"Only {n_groups} distinct group{'s' if n_groups != 1 else ''} in {group!r}: the clustered "
            "intervals rest on very few resampling units."
        )
    if level != "interval" and n_compared and not too_few:
        paradox = kappa_paradox(
            metrics["accuracy"],
            metrics["cohen_kappa"],
            extra_metrics["gwet_ac1"],
            _label_shares(pairs.expert, pairs.judge, len(pairs.coded.labels)),
        )
        if paradox:
            lines.append(paradox)
    return lines


def agreement(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    **fields: Unpack[OptionFields],
) -> AgreementReport:
    """Measure how well the ``judge`` column agrees with the consensus of the ``experts`` columns.

    ``level`` is ``"nominal"``, ``"ordinal"`` or ``"interval"``. The settings (:class:`~selene_eval.stats.
    options.StatisticsOptions`, or its fields as keywords: ``order``, ``group``, ``n_resamples``,
    ``ci_level``, ``seed``, ``min_compared``): ``order`` is the label order (ranks for ordinal; for nominal
    it fixes the label set). Judge-vs-consensus metrics use the items with both a judge label and an expert
    consensus; the expert alphas use every item. ``group`` names a column of cluster ids.

    Uncertainty: with ``n_resamples`` > 0 (at least 100) every metric the bootstrap defines gets a
    ``ci_level`` interval in ``intervals`` (:func:`~selene_eval.stats.uncertainty.bootstrap_intervals`:
    BCa where stable, else percentile; percentile only at interval level, where BCa's jackknife over
    many distinct values is slow). With ``group`` whole groups are resampled - items that share a question
    are not independent; rows without a group id count as groups of their own. ``n_resamples=0``: no
    intervals. ``seed`` makes the intervals reproducible.

    With >= 2 experts ``ceiling`` holds :func:`~selene_eval.stats.ceiling.expert_ceiling` and
    ``substitution_intervals`` a percentile interval of each substitution difference (same resampling).
    ``warnings`` names what a reader must know: few compared items, the kappa paradox.

    ``min_compared`` (a study's minimum): with fewer compared items than this, every judge-vs-consensus
    statistic is undefined (nan, no interval) with that reason; a kappa from two items would read as a finding.
    ``undefined`` holds the reason, in words, for every statistic that is nan.

    Raises :class:`StatisticsError` for unknown columns or level, expert labels outside ``order``,
    non-numeric labels where numbers are needed, ``0 < n_resamples < 100`` or a bad ``ci_level``.
    Undefined statistics are ``nan`` with a note.
    """
    options = StatisticsOptions.of(options, fields)
    level = check_level(level)
    options.check_resampling()
    experts = check_columns(table, judge, experts, options.group)
    notes = _Notes()
    order = options.order
    if order is not None and level == "interval":
        notes.add("The label order is ignored at interval level.")
        order = None

    pairs = _compare(table, judge, experts, level, order, notes)
    coded, labels = pairs.coded, pairs.coded.labels
    options.check_min_compared()
    n_compared = pairs.n_compared
    why_too_few = _too_few_reason(n_compared, options.min_compared)
    names = METRICS[level] + EXTRA_METRICS[level]
    if why_too_few is not None:
        all_metrics, reasons = _all_undefined(names, why_too_few)
    else:
        all_metrics, reasons = _judge_metrics(level, pairs.expert, pairs.judge, len(labels))
    metrics = {name: all_metrics[name] for name in METRICS[level]}
    extra_metrics = {name: all_metrics[name] for name in EXTRA_METRICS[level]}
    for name, reason in reasons.items():
        notes.add(f"{statistic_name(name)} is undefined: {reason}.")

    confusion = None if level == "interval" else _confusion(labels, pairs.expert, pairs.judge)
    expert_agreement = _expert_agreement(coded, level, notes)
    n_groups = _count_groups(table, options.group, notes)
    group_codes = table_group_codes(table, options.group)
    too_few = why_too_few is not None
    intervals: dict[str, Interval] = {}
    if options.n_resamples and pairs.compared.any() and not too_few:
        intervals = _judge_intervals(pairs, level, group_codes, options, notes)
    warning_lines = _warnings(pairs, level, options, too_few, n_groups, metrics, extra_metrics)

    ceiling = None
    substitution: dict[str, Interval] = {}
    if len(experts) >= 2:
        ceiling = expert_ceiling(table, judge, experts, level, order=order)
        if options.n_resamples:
            assert coded.judge is not None
            substitution = _substitution_intervals(
                coded.experts,
                coded.judge,
                level,
                experts,
                group_codes,
                int(options.n_resamples),
                float(options.ci_level),
                int(options.seed),
            )

    n_items = len(table)
    return AgreementReport(
        level=level,
        labels=labels,
        n_items=n_items,
        n_compared=n_compared,
        n_no_majority=pairs.n_no_majority,
        n_unlabelled=pairs.n_unlabelled,
        n_judge_missing=pairs.n_judge_missing,
        unparseable_share=pairs.n_judge_missing / n_items if n_items else math.nan,
        metrics=metrics,
        extra_metrics=extra_metrics,
        notes=tuple(notes.lines),
        confusion=confusion,
        experts=expert_agreement,
        group=options.group,
        n_groups=n_groups,
        intervals=intervals,
        warnings=tuple(warning_lines),
        ceiling=ceiling,
        substitution_intervals=substitution,
        n_resamples=int(options.n_resamples),
        ci_level=float(options.ci_level),
        seed=int(options.seed),
        undefined=dict(reasons),
        min_compared=int(options.min_compared),
    )


def natural_order(values: Iterable[str]) -> list[str]:
    """``values`` sorted as numbers when all of them are (``"2"`` before ``"10"``), else as text."""
    values = list(values)
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def subgroup_agreement(
    table: pd.DataFrame,
    by: str,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    **fields: Unpack[OptionFields],
) -> list[tuple[str | None, AgreementReport]]:
    """:func:`agreement` within each value of the column ``by`` (e.g. a category), in sorted order
    (numerically when every value is a number: 2 before 10).

    Rows with no value in ``by`` form one last subgroup, ``None``. The label order is fixed over the whole
    table (when ``order`` is not given, from all rows), so that subgroups are comparable. Each report
    warns when it compares fewer than ``SMALL_N`` items (as :func:`agreement` does) - small subgroups give
    wide intervals and should not be read on their own.
    """
    options = StatisticsOptions.of(options, fields)
    level = check_level(level)
    experts = check_columns(table, judge, experts, options.group)
    require_columns(table, [by], "subgroup")
    if options.order is None and level != "interval":
        options = replace(options, order=list(code_table(table, experts, level, judge=judge).labels) or None)
    values = [cell_text(v) for v in table[by].tolist()]
    keys: list[str | None] = list(natural_order({v for v in values if v is not None}))
    if any(v is None for v in values):
        keys.append(None)
    out = []
    for key in keys:
        rows = table[np.array([v == key for v in values], dtype=bool)]
        out.append((key, agreement(rows.reset_index(drop=True), judge, experts, level, options)))
    return out
