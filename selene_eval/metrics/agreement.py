"""Agreement between an LLM judge and human experts.

:func:`agreement` compares the judge's label with the expert consensus (see
:mod:`selene_eval.metrics.consensus`) item by item, and measures how well the experts agree among
themselves and with the judge counted as one more rater. Every number that cannot be computed is ``nan``
with a note saying why; every item left out of a comparison is counted and explained.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError
from selene_eval.metrics.consensus import (
    CodedTable,
    Level,
    cell_text,
    check_level,
    code_table,
    consensus_codes,
    quote_values,
    require_columns,
)

# Metric names per level, in report order. The CLI, the study report and the dashboard read these keys.
METRICS: dict[Level, tuple[str, ...]] = {
    "nominal": ("accuracy", "cohen_kappa", "krippendorff_alpha"),
    "ordinal": (
        "accuracy",
        "cohen_kappa",
        "quadratic_weighted_kappa",
        "krippendorff_alpha",
        "spearman",
        "kendall_tau",
        "pearson",
    ),
    "interval": (
        "accuracy",
        "krippendorff_alpha",
        "spearman",
        "kendall_tau",
        "pearson",
        "mean_absolute_error",
    ),
}


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
    notes: tuple[str, ...]  # reasons for every nan and every exclusion
    confusion: ConfusionMatrix | None  # nominal / ordinal only
    experts: ExpertAgreement | None  # only with >= 2 experts
    group: str | None = None  # column of cluster ids (for a clustered bootstrap)
    n_groups: int | None = None  # distinct non-missing group ids in the table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples -> lists, nan -> None)."""
        return {
            "level": self.level,
            "labels": list(self.labels),
            "n_items": self.n_items,
            "n_compared": self.n_compared,
            "n_no_majority": self.n_no_majority,
            "n_unlabelled": self.n_unlabelled,
            "n_judge_missing": self.n_judge_missing,
            "unparseable_share": _json_float(self.unparseable_share),
            "metrics": {name: _json_float(value) for name, value in self.metrics.items()},
            "notes": list(self.notes),
            "confusion": None
            if self.confusion is None
            else {"labels": list(self.confusion.labels), "counts": [list(r) for r in self.confusion.counts]},
            "experts": None
            if self.experts is None
            else {
                "n_experts": self.experts.n_experts,
                "krippendorff_alpha": _json_float(self.experts.krippendorff_alpha),
                "alpha_with_judge": _json_float(self.experts.alpha_with_judge),
            },
            "group": self.group,
            "n_groups": self.n_groups,
        }


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# Undefined-safe computation
# --------------------------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings sklearn / scipy / numpy give for undefined statistics.

    Every undefined case is detected beforehand and reported as a note, so the warnings would only
    repeat it (and leak into the CLI's output or fail ``-W error`` test runs).
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _evaluate(compute: Callable[[], float], reason: str | None) -> tuple[float, str | None]:
    """Run ``compute`` unless a ``reason`` says the statistic is undefined; non-finite results -> nan."""
    if reason is not None:
        return math.nan, reason
    with _quiet():
        value = float(compute())
    if not math.isfinite(value):
        return math.nan, "the computation gave no finite value"
    return value, None


def krippendorff_alpha(data: np.ndarray, level: Level) -> tuple[float, str | None]:
    """Krippendorff's alpha of a ``(raters, units)`` matrix (``nan`` = missing) and why it is undefined.

    Checked first because ``krippendorff.alpha`` raises on them: alpha needs at least one unit rated
    twice, and two different values among such units (else expected disagreement is 0).
    """
    present = ~np.isnan(data)
    pairable = present.sum(axis=0) >= 2
    reason = None
    if not pairable.any():
        reason = "no item has labels from two raters"
    elif np.unique(data[:, pairable][present[:, pairable]]).size < 2:
        reason = "all raters gave one and the same label on every item rated twice (no variation)"
    return _evaluate(lambda: krippendorff.alpha(reliability_data=data, level_of_measurement=level), reason)


# --------------------------------------------------------------------------------------------------
# Judge vs consensus
# --------------------------------------------------------------------------------------------------


def _correlation_reason(expert: np.ndarray, judge: np.ndarray) -> str | None:
    """Why a correlation is undefined on these pairs (too few, or a constant side), or None."""
    if expert.size < 2:
        return f"it needs at least 2 compared items, got {expert.size}"
    sides = (("the expert consensus", expert), ("the judge", judge))
    constant = [who for who, values in sides if np.all(values == values[0])]
    if constant:
        verb = "is" if len(constant) == 1 else "are"
        return f"{' and '.join(constant)} {verb} constant on the compared items"
    return None


def _judge_metrics(
    level: Level, expert: np.ndarray, judge: np.ndarray, n_labels: int
) -> tuple[dict[str, float], dict[str, str]]:
    """Judge-vs-consensus metrics on the compared pairs (codes or values, no nan).

    Returns the values and, for each nan, the reason. Ordinal codes are ranks, so correlations and the
    quadratic kappa on them are computed on ranks as intended.
    """
    names = METRICS[level]
    if expert.size == 0:
        reason = "no item has both a judge label and an expert consensus"
        return {name: math.nan for name in names}, {name: reason for name in names}

    codes = list(range(n_labels))
    if level != "interval":
        # sklearn wants label codes as ints (float codes against int ``labels`` would be "mixed types").
        expert_codes, judge_codes = expert.astype(int), judge.astype(int)
    # p_e = 1 exactly when both sides use one and the same label; kappa is 0/0 then.
    kappa_reason = None
    if np.all(expert == expert[0]) and np.all(judge == expert[0]):
        kappa_reason = "the judge and the expert consensus give one and the same label on every compared item"
    correlation_reason = _correlation_reason(expert, judge)
    pair = np.vstack([expert, judge])

    calculations: dict[str, tuple[Callable[[], float], str | None]] = {
        "accuracy": (lambda: np.mean(expert == judge), None),
        "cohen_kappa": (lambda: cohen_kappa_score(expert_codes, judge_codes, labels=codes), kappa_reason),
        "quadratic_weighted_kappa": (
            lambda: cohen_kappa_score(expert_codes, judge_codes, labels=codes, weights="quadratic"),
            kappa_reason,
        ),
        "spearman": (lambda: stats.spearmanr(expert, judge).statistic, correlation_reason),
        "kendall_tau": (lambda: stats.kendalltau(expert, judge).statistic, correlation_reason),
        "pearson": (lambda: stats.pearsonr(expert, judge).statistic, correlation_reason),
        "mean_absolute_error": (lambda: np.mean(np.abs(expert - judge)), None),
    }
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for name in names:
        if name == "krippendorff_alpha":
            value, reason = krippendorff_alpha(pair, level)
        else:
            value, reason = _evaluate(*calculations[name])
        values[name] = value
        if reason is not None:
            reasons[name] = reason
    return values, reasons


def _confusion(labels: tuple[str, ...], expert: np.ndarray, judge: np.ndarray) -> ConfusionMatrix:
    """Confusion counts of compared code pairs; rows = consensus, columns = judge."""
    size = len(labels)
    flat = np.bincount(expert.astype(int) * size + judge.astype(int), minlength=size * size)
    counts = flat.reshape(size, size)
    return ConfusionMatrix(labels, tuple(tuple(int(c) for c in row) for row in counts))


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
            self.add(f"1 item {what.replace('have', 'has', 1)}.")
        elif n:
            self.add(f"{n} items {what}.")


def _check_columns(table: pd.DataFrame, judge: str, experts: Sequence[str], group: str | None) -> list[str]:
    if isinstance(experts, str):  # a bare string is a Sequence of characters - almost surely a mistake
        experts = [experts]
    experts = list(experts)
    if not experts:
        raise StatisticsError("At least one expert column is needed.")
    repeated = sorted({e for e in experts if experts.count(e) > 1})
    if repeated:
        raise StatisticsError(f"Expert columns are listed more than once: {quote_values(repeated)}.")
    if judge in experts:
        raise StatisticsError(f"Column {judge!r} cannot be both the judge and an expert.")
    require_columns(table, [judge], "judge")
    require_columns(table, experts, "expert")
    if group is not None:
        require_columns(table, [group], "group")
    return experts


def agreement(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    *,
    order: Sequence[str] | None = None,
    group: str | None = None,
) -> AgreementReport:
    """Measure how well the ``judge`` column agrees with the consensus of the ``experts`` columns.

    ``level`` is ``"nominal"``, ``"ordinal"`` or ``"interval"``; ``order`` is the label order (ranks for
    ordinal; for nominal it fixes the label set). Judge-vs-consensus metrics use the items with both a
    judge label and an expert consensus; the expert alphas use every item. ``group`` names a column of
    cluster ids, checked and counted for a later clustered bootstrap.

    Raises :class:`StatisticsError` for unknown columns or level, expert labels outside ``order``,
    non-numeric labels where numbers are needed. Undefined statistics are ``nan`` with a note.
    """
    level = check_level(level)
    experts = _check_columns(table, judge, experts, group)
    notes = _Notes()
    if order is not None and level == "interval":
        notes.add("The label order is ignored at interval level.")
        order = None

    coded: CodedTable = code_table(table, experts, level, judge=judge, order=order)
    assert coded.judge is not None  # code_table was given a judge column
    n_items = len(table)
    labels = coded.labels
    expert_consensus, n_no_majority, n_unlabelled = consensus_codes(coded.experts, level, len(labels))

    judge_present = ~np.isnan(coded.judge)
    compared = judge_present & ~np.isnan(expert_consensus)
    n_judge_missing = int((~judge_present).sum())

    left_out = "and are left out of the judge-vs-consensus metrics"
    notes.count(n_unlabelled, f"have no expert label {left_out}")
    notes.count(n_no_majority, f"have expert labels but no strict majority {left_out}")
    notes.count(n_judge_missing, f"have no usable judge label (missing, unparseable, off-scale) {left_out}")
    if coded.n_judge_offscale:
        notes.add(
            f"{coded.n_judge_offscale} judge label{'s are' if coded.n_judge_offscale != 1 else ' is'} "
            "outside the label order and counted as unparseable: "
            f"{quote_values(list(coded.judge_offscale_values))}."
        )
    if n_items == 0:
        notes.add("unparseable_share is undefined: the table has no rows.")

    metrics, reasons = _judge_metrics(level, expert_consensus[compared], coded.judge[compared], len(labels))
    for name, reason in reasons.items():
        notes.add(f"{name} is undefined: {reason}.")

    confusion = None
    if level != "interval":
        confusion = _confusion(labels, expert_consensus[compared], coded.judge[compared])

    expert_agreement = None
    if len(experts) >= 2:
        # (experts, items) over ALL items: expert reliability does not depend on what the judge said
        raters = coded.experts.T
        alpha_experts, why_experts = krippendorff_alpha(raters, level)
        alpha_judge, why_judge = krippendorff_alpha(np.vstack([raters, coded.judge]), level)
        undefined = (("experts.krippendorff_alpha", why_experts), ("experts.alpha_with_judge", why_judge))
        for name, why in undefined:
            if why is not None:
                notes.add(f"{name} is undefined: {why}.")
        expert_agreement = ExpertAgreement(len(experts), alpha_experts, alpha_judge)
    else:
        notes.add("Expert agreement needs at least 2 expert columns; there is 1.")

    n_groups = None
    if group is not None:
        ids = [cell_text(v) for v in table[group].tolist()]  # blanks count as missing, like labels
        n_groups = len({i for i in ids if i is not None})
        notes.count(ids.count(None), f"have no id in the group column {group!r}")

    return AgreementReport(
        level=level,
        labels=labels,
        n_items=n_items,
        n_compared=int(compared.sum()),
        n_no_majority=n_no_majority,
        n_unlabelled=n_unlabelled,
        n_judge_missing=n_judge_missing,
        unparseable_share=n_judge_missing / n_items if n_items else math.nan,
        metrics=metrics,
        notes=tuple(notes.lines),
        confusion=confusion,
        experts=expert_agreement,
        group=group,
        n_groups=n_groups,
    )
