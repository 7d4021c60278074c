"""From a study's stored judgments to agreement results, per judge and prompt variant."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from selene_eval.core.expert_labels import expert_columns, expert_name
from selene_eval.core.items import MAX_SUBGROUPS
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import finite_or_none
from selene_eval.core.status import NOT_JUDGED, JudgmentStatus
from selene_eval.presentation.compare import JudgeComparison, compare_judge_labels
from selene_eval.prompts.variants import PromptVariant
from selene_eval.results.table import (
    JudgmentTables,
    expert_consensus,
    experts_own_agreement,
    judge_labels,
    subgroup_splits,
)
from selene_eval.stats import registry
from selene_eval.stats.agreement import AgreementReport, ExpertAgreement, agreement, subgroup_agreement
from selene_eval.stats.calibration import CalibrationReport, calibration
from selene_eval.stats.consensus import Level
from selene_eval.stats.options import StatisticsOptions
from selene_eval.stats.planning import required_items
from selene_eval.stats.profile import JudgeProfile, judge_profile
from selene_eval.stats.robustness import Robustness, robustness
from selene_eval.study.store import Study

# The statistic "how many items do I need" plans for, by level, and the interval widths it reports.
PLANNING_STATISTIC = registry.PLANNING_STATISTIC
PLANNING_WIDTHS = (0.2, 0.1)


@dataclass(frozen=True)
class Planning:
    """From this (pilot) result: expert-labelled items needed for a 95% interval of a chosen width.

    Interval widths shrink like 1/sqrt(n) (:func:`~selene_eval.stats.planning.required_items`):
    ``items_for_width[w] = ceil(n * (width / w)^2)``. A planning figure, to re-check after labelling.
    """

    statistic: str
    n_compared: int
    estimate: float
    width: float
    items_for_width: dict[float, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "statistic": self.statistic,
            "n_compared": self.n_compared,
            "estimate": finite_or_none(self.estimate),
            "current_width": finite_or_none(self.width),
            "items_for_width": {f"{w:g}": n for w, n in self.items_for_width.items()},
        }


@dataclass(frozen=True)
class SubgroupSplit:
    """Agreement within each value of one column: the category, or a column mapped as a subgroup.

    ``groups`` is in sorted order of the values; items without a value form one last group, ``None``.
    Each report warns when it compares fewer than ``SMALL_N`` items.
    """

    by: str
    groups: tuple[tuple[str | None, AgreementReport], ...]
    omitted: int = 0
    """Values left out: past :data:`MAX_SUBGROUPS`, only the largest groups are computed."""

    def to_list(self) -> list[dict[str, object]]:
        return [{"value": value, "agreement": report.to_dict(with_uncertainty=True)} for value, report in self.groups]


@dataclass(frozen=True)
class VariantResult:
    """Agreement of one judge under one prompt variant with the experts."""

    judge_id: str
    judge_name: str
    variant_id: str
    n_items: int
    n_judged: int
    n_pending: int
    status_counts: dict[str, int]
    agreement: AgreementReport | None
    # agreement within each value of the category and of each mapped subgroup column, when the study has them
    subgroups: tuple[SubgroupSplit, ...] = ()
    # from the label probabilities, when the backend gave them
    calibration: CalibrationReport | None = None
    # error profile, ambiguity split and estimates for the items no expert labelled (issue #17)
    profile: JudgeProfile | None = None

    def planning(self, statistic: str | None = None, widths: tuple[float, ...] = PLANNING_WIDTHS) -> Planning | None:
        """How many expert-labelled items an interval of each width in ``widths`` would need (see
        :class:`Planning`); ``None`` without an interval to plan from."""
        a = self.agreement
        if a is None:
            return None
        name = statistic or PLANNING_STATISTIC.get(a.level, "krippendorff_alpha")
        interval = a.intervals.get(name)
        if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)) or a.n_compared < 2:
            return None
        width = interval.high - interval.low
        if width <= 0:
            return None
        needed = {w: required_items(interval.estimate, width, a.n_compared, w) for w in widths}
        return Planning(name, a.n_compared, interval.estimate, width, needed)

    def to_dict(self) -> dict[str, object]:
        plan = self.planning()
        return {
            "judge_id": self.judge_id,
            "judge": self.judge_name,
            "variant": self.variant_id,
            "n_items": self.n_items,
            "n_judged": self.n_judged,
            "n_pending": self.n_pending,
            "status_counts": dict(self.status_counts),
            "agreement": self.agreement.to_dict(with_uncertainty=True) if self.agreement else None,
            "subgroups": {split.by: split.to_list() for split in self.subgroups} or None,
            "subgroups_omitted": {split.by: split.omitted for split in self.subgroups if split.omitted} or None,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "planning": plan.to_dict() if plan else None,
            "profile": self.profile.to_dict() if self.profile else None,
        }


@dataclass(frozen=True)
class StudyReport:
    """Everything ``report`` prints: the study, the experts' own agreement, and one result per judge x variant."""

    slug: str
    title: str
    task: str
    level: Level
    n_items: int
    experts: tuple[str, ...]
    expert_label_counts: dict[str, int]
    experts_agreement: ExpertAgreement | None
    results: tuple[VariantResult, ...] = field(default_factory=tuple)
    # one per judge with two or more prompt variants judged: how much the verdicts depend on the prompt
    robustness: tuple[JudgeRobustness, ...] = field(default_factory=tuple)
    # one per prompt variant judged by two or more judges: the judges side by side, with paired tests
    judge_comparisons: tuple[JudgeComparison, ...] = field(default_factory=tuple)
    include_forced: bool = True
    """Whether forced labels (``JudgeSpec.force_verdict``) entered the statistics."""

    def to_dict(self) -> dict[str, object]:
        ea = self.experts_agreement
        return {
            "slug": self.slug,
            "title": self.title,
            "task": self.task,
            "level": self.level,
            "n_items": self.n_items,
            "include_forced": self.include_forced,
            "experts": list(self.experts),
            "expert_label_counts": dict(self.expert_label_counts),
            "experts_agreement": None
            if ea is None
            else {"n_experts": ea.n_experts, "krippendorff_alpha": finite_or_none(ea.krippendorff_alpha)},
            "results": [r.to_dict() for r in self.results],
            "robustness": [r.to_dict() for r in self.robustness],
            "judge_comparisons": [c.to_dict() for c in self.judge_comparisons],
        }


@dataclass(frozen=True)
class JudgeRobustness:
    """Prompt-format robustness of one judge: its variants as conditions (see :mod:`selene_eval.stats.robustness`)."""

    judge_id: str
    judge_name: str
    measures: Robustness

    def to_dict(self) -> dict[str, object]:
        return {"judge_id": self.judge_id, "judge": self.judge_name, **self.measures.to_dict()}


# The statistic variants are compared on (a paired bootstrap of its difference from the canonical variant).
ROBUSTNESS_STATISTIC = registry.PRIMARY_STATISTIC


def swap_pairs(variants: list[PromptVariant]) -> list[tuple[str, str]]:
    """(variant, its position-swapped twin) for every swapped variant whose unswapped twin is in the list."""
    pairs = []
    for twin in variants:
        if not twin.swap_responses:
            continue
        for original in variants:
            if (
                not original.swap_responses
                and original.system_template == twin.system_template
                and original.user_template == twin.user_template
                and original.label_aliases == twin.label_aliases
                and original.value_format == twin.value_format
            ):
                pairs.append((original.id, twin.id))
                break
    return pairs


def _axis_of(variants: list[PromptVariant]) -> dict[str, str]:
    """Each variant's robustness axis; a second canonical variant differs by showing the reference or not."""
    base = _baseline(variants)
    return {v.id: "reference answer" if v.axis == "canonical" and v.id != base else v.axis for v in variants}


def _baseline(variants: list[PromptVariant]) -> str:
    """The study's canonical variant (the first one on the canonical axis), else its first variant."""
    return next((v.id for v in variants if v.axis == "canonical"), variants[0].id)


def _largest_groups(rows: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """``rows`` restricted to the :data:`MAX_SUBGROUPS` most frequent values of ``column`` (and the rows
    without a value), and how many values were left out."""
    counts = rows[column].value_counts()  # most frequent first; ties keep the order of first appearance
    if len(counts) <= MAX_SUBGROUPS:
        return rows, 0
    keep = set(counts.index[:MAX_SUBGROUPS])
    mask = rows[column].isna() | rows[column].isin(keep)
    return rows[mask].reset_index(drop=True), len(counts) - MAX_SUBGROUPS


def study_report(
    study: Study,
    judges: list[JudgeSpec] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    include_forced: bool = True,
    tables: JudgmentTables | None = None,
) -> StudyReport:
    """Agreement for every judge (default: every judge with stored judgments) and every study variant.

    ``n_resamples`` / ``seed``: the bootstrap of :func:`~selene_eval.stats.agreement` (0: no intervals);
    items are resampled by their group id when the study maps one, else one by one. When the items have a
    category or subgroup columns, each result also holds the agreement within each of their values
    (``subgroups``, one :class:`SubgroupSplit` per column: the category first, then the subgroup columns as
    mapped). A result (or subgroup) with fewer compared items than the study's ``min_compared`` has every
    judge-vs-experts statistic undefined, with that reason. ``include_forced=False`` reads every statistic
    without forced labels (those answers then count as judged without a label, like unreadable ones).

    ``tables``: the study's :class:`~selene_eval.results.table.JudgmentTables` when the caller reads the same
    tables again (an export): each judge x variant table is then built once for both.
    """
    own_tables = tables is None
    tables = JudgmentTables(study) if tables is None else tables
    task = study.spec.task
    minimum = study.spec.min_compared  # fewer compared items than this: statistics are n/a, with that reason
    order = list(task.expert_labels)
    base = tables.items
    experts = expert_columns(base)
    counts = Counter(v for c in experts for v in base[c] if v is not None)
    experts_agreement = experts_own_agreement(base, task)
    results = []
    robust = []
    reference: list[str | None] = []
    if experts:
        reference = expert_consensus(base, task)
    variants = [study.variant(v) for v in study.spec.variants]
    groups = list(base["group_id"]) if base["group_id"].notna().any() else None
    splits = subgroup_splits(base)
    labels_by_variant: dict[str, list[tuple[JudgeSpec, list[str | None]]]] = {v: [] for v in study.spec.variants}
    for judge in judges if judges is not None else study.judgments.judges():
        by_variant: dict[str, pd.DataFrame] = {}
        for variant_id in study.spec.variants:
            table = tables.table(judge, variant_id, include_forced=include_forced)
            by_variant[variant_id] = table
            judged = table[~table["judge_status"].isin(NOT_JUDGED)]
            status_counts = dict(Counter(table["judge_status"]))
            report = None
            profile = None
            subgroups: list[SubgroupSplit] = []
            if len(judged):
                group = "group_id" if judged["group_id"].notna().any() else None
                rows = judged.reset_index(drop=True)
                options = StatisticsOptions(
                    order=order, group=group, n_resamples=n_resamples, seed=seed, min_compared=minimum
                )
                report = agreement(rows, "judge_label", experts, task.level, options)
                profile = judge_profile(
                    rows,
                    "judge_label",
                    experts,
                    task.level,
                    options,
                    probabilities="judge_probs" if rows["judge_probs"].notna().any() else None,
                )
                for name, column in splits:
                    kept, omitted = _largest_groups(rows, column)
                    subgroups.append(
                        SubgroupSplit(
                            name,
                            tuple(subgroup_agreement(kept, column, "judge_label", experts, task.level, options)),
                            omitted,
                        )
                    )
            labels = judge_labels(table)
            labels_by_variant[variant_id].append((judge, labels))
            calib = None
            if reference and table["judge_probs"].notna().any():
                calib = calibration(
                    labels,
                    [p if isinstance(p, dict) else None for p in table["judge_probs"]],
                    reference,
                    order=list(task.judge_labels),
                    ordinal=task.level == "ordinal",
                )
            results.append(
                VariantResult(
                    judge_id=judge.judge_id,
                    judge_name=judge.display_name,
                    variant_id=variant_id,
                    n_items=len(table),
                    n_judged=len(judged),
                    n_pending=int((table["judge_status"] == JudgmentStatus.PENDING).sum()),
                    status_counts=status_counts,
                    agreement=report,
                    subgroups=tuple(subgroups),
                    calibration=calib,
                    profile=profile,
                )
            )
        judged_ids = [v.id for v in variants if (~by_variant[v.id]["judge_status"].isin(NOT_JUDGED)).any()]
        if len(judged_ids) >= 2 and reference:
            own = {r.variant_id: r for r in results if r.judge_id == judge.judge_id}
            chosen = [v for v in variants if v.id in judged_ids]
            robust.append(
                JudgeRobustness(
                    judge_id=judge.judge_id,
                    judge_name=judge.display_name,
                    measures=robustness(
                        reference,
                        {v: judge_labels(by_variant[v]) for v in judged_ids},
                        level=task.level,
                        order=order,
                        baseline=_baseline(chosen),
                        statistic=ROBUSTNESS_STATISTIC[task.level],
                        statistics_by_condition={
                            v: {**agreed.metrics, **agreed.extra_metrics}
                            for v in judged_ids
                            if (agreed := own[v].agreement) is not None
                        },
                        # A forced label counts as a label here when the statistics include it, else as unreadable.
                        statuses={
                            v: [
                                JudgmentStatus.OK.value
                                if include_forced and status == JudgmentStatus.FORCED
                                else status
                                for status in by_variant[v]["judge_status"]
                            ]
                            for v in judged_ids
                        },
                        axis_of=_axis_of(chosen),
                        swap_pairs=swap_pairs(chosen),
                        groups=groups,
                        reference_alpha=experts_agreement.krippendorff_alpha if experts_agreement else None,
                        n_resamples=n_resamples,
                        seed=seed,
                        min_compared=minimum,
                    ),
                )
            )
        if own_tables:  # nobody reads them after this judge: keep one judge's tables in memory, not all
            tables.release(judge)
    comparisons = []
    if reference:
        for variant_id, judged_labels in labels_by_variant.items():
            with_labels = [(j, lab) for j, lab in judged_labels if any(v is not None for v in lab)]
            if len(with_labels) >= 2:
                comparisons.append(
                    compare_judge_labels(
                        reference,
                        with_labels,
                        variant_id=variant_id,
                        level=task.level,
                        order=order,
                        groups=groups,
                        n_resamples=n_resamples,
                        seed=seed,
                        experts_alpha=experts_agreement.krippendorff_alpha if experts_agreement else None,
                        min_compared=minimum,
                    )
                )
    return StudyReport(
        slug=study.slug,
        title=study.spec.title,
        task=task.value,
        level=task.level,
        n_items=len(base),
        experts=tuple(expert_name(c) for c in experts),
        expert_label_counts={label: counts.get(label, 0) for label in order},
        experts_agreement=experts_agreement,
        results=tuple(results),
        robustness=tuple(robust),
        judge_comparisons=tuple(comparisons),
        include_forced=include_forced,
    )
