"""The expert ceiling: how well experts agree with each other, and whether the judge could replace one.

A judge cannot be expected to agree with the experts better than they agree with each other, so a
judge-vs-consensus number means little without this ceiling. :func:`expert_ceiling` puts the judge on
the same footing as each expert in three ways:

* pairwise: each expert against each other expert, and the judge against each expert;
* leave one out: each expert E against the consensus (strict majority; mean for interval data) of the
  *other* experts, and the judge against that same consensus on the same items;
* substitution: Krippendorff's alpha of the expert panel with E replaced by the judge, minus alpha of the
  real panel. A difference near 0 (or above) means the panel is as reliable with the judge in E's seat.

Labels are coded exactly as :func:`selene_eval.stats.agreement.agreement` codes them
(:func:`~selene_eval.stats.consensus.code_table`). Every undefined value is ``nan`` with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from selene_eval.core.expert_labels import expert_name
from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import StatisticsError
from selene_eval.stats.alpha import krippendorff_alpha, substitution_differences
from selene_eval.stats.coefficients import fleiss_kappa_checked, gwet_ac1_checked, weighted_kappa_checked
from selene_eval.stats.consensus import (
    Level,
    check_columns,
    check_level,
    code_table,
    consensus_codes,
    quote_values,
)
from selene_eval.stats.registry import statistic_name


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two raters (or a rater and a consensus) on the items both labelled.

    ``cohen_kappa`` is unweighted (nan at interval level); ``krippendorff_alpha`` is at the study's level;
    ``accuracy`` is the share of the ``n`` compared items with identical labels (values, for interval).
    """

    rater_a: str
    rater_b: str
    n: int
    cohen_kappa: float
    krippendorff_alpha: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rater_a": self.rater_a,
            "rater_b": self.rater_b,
            "n": self.n,
            "cohen_kappa": finite_or_none(self.cohen_kappa),
            "krippendorff_alpha": finite_or_none(self.krippendorff_alpha),
            "accuracy": finite_or_none(self.accuracy),
        }


@dataclass(frozen=True)
class SubstitutionResult:
    """Krippendorff's alpha of the panel with ``replaced`` swapped for the judge, against the real panel.

    ``difference = alpha_with_judge - alpha_experts``: negative when the panel gets less reliable with
    the judge in that expert's seat.
    """

    replaced: str
    alpha_experts: float
    alpha_with_judge: float
    difference: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "replaced": self.replaced,
            "alpha_experts": finite_or_none(self.alpha_experts),
            "alpha_with_judge": finite_or_none(self.alpha_with_judge),
            "difference": finite_or_none(self.difference),
        }


@dataclass(frozen=True)
class Ceiling:
    """Everything :func:`expert_ceiling` measured; see :meth:`to_dict` for the JSON form."""

    expert_pairs: tuple[PairAgreement, ...]  # each expert vs each later expert, in column order
    judge_vs_expert: tuple[PairAgreement, ...]  # rater_a = judge, one per expert
    # per expert E, two rows: (E vs consensus without E), (judge vs consensus without E), same items
    leave_one_out: tuple[PairAgreement, ...]
    substitution: tuple[SubstitutionResult, ...]  # one per expert
    fleiss_kappa: float  # among experts, items labelled by every expert (nominal / ordinal)
    gwet_ac1: float  # among experts, all items (nominal / ordinal)
    krippendorff_alpha: float  # among experts, all items, at the level
    notes: tuple[str, ...]  # why each nan is nan, and every exclusion
    level: Level = "nominal"
    labels: tuple[str, ...] = ()  # label order used (empty for interval)
    n_items: int = 0  # rows in the table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples -> lists, nan -> None)."""
        return {
            "level": self.level,
            "labels": list(self.labels),
            "n_items": self.n_items,
            "expert_pairs": [p.to_dict() for p in self.expert_pairs],
            "judge_vs_expert": [p.to_dict() for p in self.judge_vs_expert],
            "leave_one_out": [p.to_dict() for p in self.leave_one_out],
            "substitution": [s.to_dict() for s in self.substitution],
            "fleiss_kappa": finite_or_none(self.fleiss_kappa),
            "gwet_ac1": finite_or_none(self.gwet_ac1),
            "krippendorff_alpha": finite_or_none(self.krippendorff_alpha),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------
# Pure computations on coded arrays
# --------------------------------------------------------------------------------------------------


def rater_words(column: str) -> str:
    """An expert column as a reader names it (``expert:ann`` -> ``ann``)."""
    return expert_name(column)


def pair_words(a: str, b: str) -> str:
    """``between ann and bob``: where a pair's statistic is, in a note."""
    return f"between {rater_words(a)} and {rater_words(b)}"


def loo_words(expert: str, *, judge: bool = False) -> str:
    """Where a leave-one-out statistic is, in a note: ``of ann against the other experts' consensus``, or
    ``of the judge against the consensus without ann``."""
    if judge:
        return f"of the judge against the consensus without {rater_words(expert)}"
    return f"of {rater_words(expert)} against the other experts' consensus"


def _pair(
    name_a: str,
    a: np.ndarray,
    name_b: str,
    b: np.ndarray,
    level: Level,
    n_labels: int,
    notes: list[str],
    where: str,
) -> PairAgreement:
    """Agreement of two code arrays (nan = missing) over the items both have; notes name ``where`` (words:
    "between ann and bob", so that a note reads "Cohen's kappa between ann and bob is undefined: ...")."""
    both = ~np.isnan(a) & ~np.isnan(b)
    x, y = a[both], b[both]
    n = int(both.sum())
    if n == 0:
        accuracy = math.nan
        notes.append(f"Accuracy {where} is undefined: no item has labels from both.")
    else:
        accuracy = float(np.mean(x == y))
    if level == "interval":
        kappa = math.nan  # one note for the whole report, written by expert_ceiling
    else:
        kappa, why = weighted_kappa_checked(x, y, max(n_labels, 1))  # 0 labels: every cell blank
        if why is not None:
            notes.append(f"Cohen's kappa {where} is undefined: {why}.")
    alpha, why = krippendorff_alpha(np.vstack([x, y]), level)
    if why is not None:
        notes.append(f"Krippendorff's alpha {where} is undefined: {why}.")
    return PairAgreement(name_a, name_b, n, kappa, alpha, accuracy)


def _substitution(
    experts: np.ndarray, judge: np.ndarray, level: Level
) -> tuple[float, str | None, list[tuple[float, str | None]]]:
    """Alpha of the panel (and why undefined), and per expert alpha with that expert replaced by the judge."""
    raters = experts.T  # (experts, items), the layout krippendorff expects
    base, why_base = krippendorff_alpha(raters, level)
    swapped = []
    for j in range(raters.shape[0]):
        panel = raters.copy()
        panel[j] = judge  # the judge takes expert j's seat; the other rows are untouched
        swapped.append(krippendorff_alpha(panel, level))
    return base, why_base, swapped


def substitution_statistic(experts: np.ndarray, judge: np.ndarray, level: Level) -> np.ndarray:
    """Per-expert substitution differences: alpha(panel with expert j replaced by the judge) - alpha(panel).

    ``experts``: ``(items, experts)`` codes (nan = missing), ``judge``: ``(items,)`` codes, as produced by
    :func:`~selene_eval.stats.consensus.code_table`. Alpha is Krippendorff's alpha at ``level`` over all
    items (units with fewer than two labels are unpairable and drop out inside alpha). Returns an array
    of ``n_experts`` floats, nan where either alpha is undefined. Pure, so that a bootstrap can call it
    on resampled rows.
    """
    level = check_level(level)
    experts, judge = _check_matrix(experts, judge)
    return substitution_differences(experts, judge, level, np.ones((1, judge.size)))[0]


def _check_matrix(experts: object, judge: object) -> tuple[np.ndarray, np.ndarray]:
    try:
        matrix, vector = np.asarray(experts, dtype=float), np.asarray(judge, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatisticsError(f"Coded labels must be numeric: {error}.") from None
    if matrix.ndim != 2 or vector.shape != (matrix.shape[0],):
        raise StatisticsError(
            f"Expected an (items, experts) matrix and an (items,) judge array, got {matrix.shape} and {vector.shape}."
        )
    return matrix, vector


def _ac1_categories(raters: np.ndarray, n_labels: int, declared: bool) -> tuple[np.ndarray, int]:
    """The expert matrix and the category count K that AC1 should use.

    AC1's chance agreement divides by K - 1, so K matters even for categories nobody used. With a
    declared label order K is its length (irrCAC's ``categ.labels``). Without one, ``code_table`` infers
    the labels from the judge *and* the experts; using that K would let the judge's answers change the
    experts' AC1, so the codes are renumbered over the labels the experts used (irrCAC's default).
    """
    if declared:
        return raters, max(n_labels, 1)
    used = np.unique(raters[~np.isnan(raters)])
    compact = np.full(raters.shape, np.nan)
    present = ~np.isnan(raters)
    compact[present] = np.searchsorted(used, raters[present])
    return compact, max(used.size, 1)


# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def expert_ceiling(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    *,
    order: Sequence[object] | None = None,
) -> Ceiling:
    """Expert-vs-expert agreement (the ceiling) and the judge measured on the same footing.

    ``table`` has one column per expert and a ``judge`` column (labels, blanks = missing); ``level`` and
    ``order`` are as in :func:`~selene_eval.stats.agreement.agreement` and the labels are coded the same
    way (judge labels outside ``order`` become missing, with a note).

    * ``expert_pairs`` / ``judge_vs_expert``: :class:`PairAgreement` over the items both raters labelled.
    * ``leave_one_out``: for each expert E, E vs the strict-majority consensus of the other experts
      (mean for interval), then the judge vs that same consensus. Both rows use the same items - those
      where E, the judge and the consensus are all present - so the two are directly comparable.
    * ``substitution``: see :func:`substitution_statistic`.
    * ``fleiss_kappa`` (items every expert labelled), ``gwet_ac1`` and ``krippendorff_alpha`` (all
      items) among the experts. Kappa and AC1 are unweighted (they treat ordinal labels as nominal) and
      are not computed at interval level. AC1 depends on the number of categories K: with ``order`` K is
      its length, without it K is the number of labels the experts used (never the judge's labels).

    With 2 experts the "consensus of the others" is simply the other expert; with 3 it is the label
    the other two agree on (items where they disagree are left out, with a note).

    Raises :class:`StatisticsError` with fewer than 2 experts, unknown or repeated columns, an unknown
    level, or expert labels outside ``order``. Everything else that cannot be computed is nan with a note.
    """
    level = check_level(level)
    experts = check_columns(
        table, judge, experts, min_experts=2, too_few="The expert ceiling needs at least 2 expert columns; got {n}."
    )
    notes: list[str] = []
    if order is not None and level == "interval":
        notes.append("The label order is ignored at interval level.")
        order = None
    coded = code_table(table, experts, level, judge=judge, order=order)
    assert coded.judge is not None  # code_table was given a judge column
    codes, judge_codes, n_labels = coded.experts, coded.judge, len(coded.labels)

    if coded.n_judge_offscale:
        notes.append(
            f"{_plural(coded.n_judge_offscale, 'judge label is', 'judge labels are')} outside the label "
            f"order and counted as missing: {quote_values(list(coded.judge_offscale_values))}."
        )
    if level == "interval":
        notes.append(
            "Cohen's kappa, Fleiss' kappa and Gwet's AC1 are categorical statistics and are not computed at "
            "interval level."
        )
    elif level == "ordinal":
        notes.append(
            "Cohen's kappa, Fleiss' kappa and Gwet's AC1 are unweighted: they count only exact agreement and "
            "ignore how far apart two ranks are; Krippendorff's alpha uses the ordinal distance."
        )

    expert_pairs = tuple(
        _pair(a, codes[:, i], b, codes[:, j], level, n_labels, notes, pair_words(a, b))
        for i, a in enumerate(experts)
        for j, b in enumerate(experts)
        if i < j
    )
    judge_vs_expert = tuple(
        _pair(judge, judge_codes, e, codes[:, j], level, n_labels, notes, pair_words("the judge", e))
        for j, e in enumerate(experts)
    )

    leave_one_out: list[PairAgreement] = []
    for j, expert in enumerate(experts):
        others = np.delete(codes, j, axis=1)
        reference, n_no_majority, _ = consensus_codes(others, level, n_labels)
        name = f"consensus without {expert}"
        if n_no_majority:
            notes.append(
                f"Leaving out {rater_words(expert)}: {_plural(n_no_majority, 'item is', 'items are')} left out: the "
                "other experts labelled them but without a strict majority."
            )
        # The same items for the expert and the judge, so that neither is scored on items the other skipped.
        common = ~np.isnan(codes[:, j]) & ~np.isnan(judge_codes) & ~np.isnan(reference)
        masked_ref = np.where(common, reference, np.nan)
        leave_one_out.append(_pair(expert, codes[:, j], name, masked_ref, level, n_labels, notes, loo_words(expert)))
        leave_one_out.append(
            _pair(judge, judge_codes, name, masked_ref, level, n_labels, notes, loo_words(expert, judge=True))
        )

    base, why_base, swapped = _substitution(codes, judge_codes, level)
    if why_base is not None:
        notes.append(f"Krippendorff's alpha among the experts is undefined: {why_base}.")
    substitution = []
    for expert, (alpha, why) in zip(experts, swapped, strict=True):
        if why is not None:
            notes.append(f"Krippendorff's alpha with the judge in {rater_words(expert)}'s seat is undefined: {why}.")
        if why is not None or why_base is not None:
            notes.append(
                f"The substitution difference for {rater_words(expert)} is undefined: an alpha it subtracts is undefined."
            )
        substitution.append(SubstitutionResult(expert, base, alpha, alpha - base))

    fleiss = gwet = math.nan
    if level != "interval":
        raters = codes.T
        incomplete = int(np.isnan(codes).any(axis=1).sum())
        if incomplete:
            notes.append(
                f"Fleiss' kappa uses only items labelled by every expert; "
                f"{_plural(incomplete, 'item is', 'items are')} left out."
            )
        fleiss, why = fleiss_kappa_checked(raters, max(n_labels, 1))
        if why is not None:
            notes.append(f"{statistic_name('fleiss_kappa')} is undefined: {why}.")
        gwet, why = gwet_ac1_checked(*_ac1_categories(raters, n_labels, order is not None))
        if why is not None:
            notes.append(f"{statistic_name('gwet_ac1')} is undefined: {why}.")

    return Ceiling(
        expert_pairs=expert_pairs,
        judge_vs_expert=judge_vs_expert,
        leave_one_out=tuple(leave_one_out),
        substitution=tuple(substitution),
        fleiss_kappa=fleiss,
        gwet_ac1=gwet,
        krippendorff_alpha=base,
        notes=tuple(notes),
        level=level,
        labels=coded.labels,
        n_items=len(table),
    )
