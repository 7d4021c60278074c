"""Compare judges on the same expert labels: which judge agrees better, and is the difference real?

A study may hold judgments from any number of judges (a judge = backend + model + revision +
quantization + generation settings + mode; see :meth:`~selene_eval.judge.JudgeSpec.identity`). For one
prompt variant, :func:`compare_judges` puts them side by side:

* each judge's agreement with the expert consensus (the statistic chosen for the label's level) with its
  bootstrap interval, next to the experts' own agreement (the ceiling);
* every pair of judges on the items both judged: the paired difference with a bootstrap interval by group,
  McNemar's test on correctness, Holm's correction across the pairs
  (:func:`~selene_eval.stats.paired.compare_conditions`);
* how often two judges give a different label (:func:`~selene_eval.stats.paired.flip_rate`), and whether
  the second judge's label is closer to the experts' - for two builds of the same model (4-bit vs full
  precision) that *is* the quantization question.

:func:`judge_variant_grid` gives the judge x variant table of a statistic (a judge that is best with one
format and worst with another is a finding), and :func:`judge_disagreements` the items two judges label
differently, with both reasonings and the expert labels, for an expert to read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from selene_eval.core.expert_labels import expert_columns
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import finite_or_none
from selene_eval.core.tasks import Level
from selene_eval.errors import SeleneEvalError
from selene_eval.results.table import JudgmentTables, expert_consensus, experts_own_agreement, judge_labels
from selene_eval.stats.paired import FlipRate, PairedDifference, compare_conditions, flip_rate, group_codes
from selene_eval.stats.registry import PRIMARY_STATISTIC
from selene_eval.stats.uncertainty import Interval, bootstrap_intervals
from selene_eval.study.store import Study

# The statistic a comparison is made on, by the label's level (both chance-corrected; the ordinal one
# gives partial credit to near misses, as a 1-5 score deserves).
DEFAULT_STATISTIC: dict[str, str] = PRIMARY_STATISTIC  # type: ignore[assignment]

# Settings that make two judges "the same model, built differently" (the quantization question).
_BUILD_SETTINGS = ("quantization", "dtype")


@dataclass(frozen=True)
class JudgeSummary:
    """One judge's agreement with the expert consensus under one variant."""

    judge_id: str
    name: str
    n_judged: int
    n_compared: int
    value: float
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge_id": self.judge_id,
            "judge": self.name,
            "n_judged": self.n_judged,
            "n_compared": self.n_compared,
            "value": finite_or_none(self.value),
            "interval": None if self.interval is None else self.interval.to_dict(),
        }


@dataclass(frozen=True)
class JudgePair:
    """Two judges on the same items: the paired test, and how often (and which way) their labels differ.

    ``flips`` runs from ``b`` to ``a`` (towards = ``a`` is closer to the experts than ``b``).
    ``build_difference`` names the settings that alone separate the two (e.g. ``("quantization",)``):
    then the pair measures what that build choice costs.
    """

    a: str
    b: str
    test: PairedDifference
    flips: FlipRate
    build_difference: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            **{k: v for k, v in self.test.to_dict().items() if k not in ("a", "b")},
            "flips": self.flips.to_dict(),
            "build_difference": list(self.build_difference),
        }


@dataclass(frozen=True)
class JudgeComparison:
    """Every judge of a study under one variant, and every pair of them. Names are the judges' ids."""

    variant_id: str
    statistic: str
    level: str
    n_items: int
    judges: tuple[JudgeSummary, ...]
    pairs: tuple[JudgePair, ...]
    experts_alpha: float | None = None

    def name_of(self, judge_id: str) -> str:
        """A judge's display name."""
        return next((j.name for j in self.judges if j.judge_id == judge_id), judge_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant_id,
            "statistic": self.statistic,
            "level": self.level,
            "n_items": self.n_items,
            "experts_alpha": finite_or_none(self.experts_alpha),
            "judges": [j.to_dict() for j in self.judges],
            "pairs": [{**p.to_dict(), "judge_a": self.name_of(p.a), "judge_b": self.name_of(p.b)} for p in self.pairs],
        }


def default_statistic(level: str) -> str:
    """The statistic judges are compared on at ``level``."""
    return DEFAULT_STATISTIC.get(level, "krippendorff_alpha")


def build_difference(a: JudgeSpec, b: JudgeSpec) -> tuple[str, ...]:
    """The build settings (quantization, dtype) that alone tell ``a`` and ``b`` apart; ``()`` otherwise."""
    ia, ib = a.identity(), b.identity()
    differing = tuple(k for k in sorted(set(ia) | set(ib)) if ia.get(k) != ib.get(k))
    if differing and all(k in _BUILD_SETTINGS for k in differing):
        return differing
    return ()


def compare_judges(
    study: Study,
    *,
    variant_id: str | None = None,
    judges: Sequence[JudgeSpec] | None = None,
    statistic: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> JudgeComparison:
    """Compare the study's judges (default: all with stored judgments) under ``variant_id`` (default: the
    study's first variant) on ``statistic`` (default by level, see :data:`DEFAULT_STATISTIC`).

    Items resample by group when the study maps one. Judges with no judgment under the variant are left
    out. Raises :class:`SeleneEvalError` for an unknown variant.
    """
    task = study.spec.task
    variant_id = variant_id or (study.spec.variants[0] if study.spec.variants else None)
    if variant_id is None or variant_id not in study.spec.variants:
        raise SeleneEvalError(
            f"Study {study.slug!r} has no prompt variant {variant_id!r}; choose one of: {', '.join(study.spec.variants)}."
        )
    specs = list(judges) if judges is not None else study.judgments.judges()
    tables = JudgmentTables(study)
    labels = [(spec, judge_labels(tables.table(spec, variant_id))) for spec in specs]
    frame = tables.items
    ceiling = experts_own_agreement(frame, task)
    experts_alpha = ceiling.krippendorff_alpha if ceiling else None
    return compare_judge_labels(
        expert_consensus(frame, task),
        labels,
        variant_id=variant_id,
        level=task.level,
        order=list(task.expert_labels),
        groups=[item.group_id for item in study.items],
        statistic=statistic,
        n_resamples=n_resamples,
        seed=seed,
        experts_alpha=experts_alpha,
        min_compared=study.spec.min_compared,
    )


def compare_judge_labels(
    reference: Sequence[str | None],
    labels: Sequence[tuple[JudgeSpec, Sequence[str | None]]],
    *,
    variant_id: str,
    level: Level,
    order: Sequence[str],
    groups: Sequence[str | None] | None = None,
    statistic: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    experts_alpha: float | None = None,
    min_compared: int = 0,
) -> JudgeComparison:
    """:func:`compare_judges` on labels already read: ``reference`` (the expert consensus per item) and, per
    judge, its label per item (``None`` = none). Judges without any label are left out. A judge compared on
    fewer than ``min_compared`` items (the study's minimum) gets no value (nan) and no interval."""
    statistic = statistic or default_statistic(level)
    order = list(order)
    use_groups = groups is not None and any(g is not None for g in groups)
    kept: dict[str, list[str | None]] = {}
    summaries: list[JudgeSummary] = []
    by_id: dict[str, JudgeSpec] = {}
    for spec, given in labels:
        own = list(given)
        if not any(v is not None for v in own):
            continue
        kept[spec.judge_id] = own
        by_id[spec.judge_id] = spec
        summaries.append(
            _summary(
                spec,
                own,
                list(reference),
                list(groups) if use_groups and groups else None,
                level,
                order,
                statistic,
                n_resamples,
                seed,
                min_compared,
            )
        )
    pairs: list[JudgePair] = []
    if len(kept) >= 2:
        tests = compare_conditions(
            reference,
            kept,
            level=level,
            order=order,
            statistic=statistic,
            groups=groups if use_groups else None,
            n_resamples=n_resamples,
            seed=seed,
        )
        for test in tests:
            flips = flip_rate(kept[test.b], kept[test.a], reference, level=level, order=order)
            pairs.append(JudgePair(test.a, test.b, test, flips, build_difference(by_id[test.a], by_id[test.b])))
    return JudgeComparison(variant_id, statistic, level, len(reference), tuple(summaries), tuple(pairs), experts_alpha)


def _summary(
    spec: JudgeSpec,
    labels: list[str | None],
    reference: list[str | None],
    groups: list[str | None] | None,
    level: Level,
    order: list[str],
    statistic: str,
    n_resamples: int,
    seed: int,
    min_compared: int = 0,
) -> JudgeSummary:
    import numpy as np

    from selene_eval.stats.uncertainty import statistic_value

    keep = [i for i, (r, j) in enumerate(zip(reference, labels)) if r is not None and j is not None]
    n_judged = sum(v is not None for v in labels)
    if not keep or len(keep) < min_compared:  # too few compared items: n/a, as in the study's agreement
        return JudgeSummary(spec.judge_id, spec.display_name, n_judged, len(keep), math.nan, None)
    index: dict[str | None, int] = {label: k for k, label in enumerate(order)}  # keep holds no None
    ref_c = np.array([index[reference[i]] for i in keep], dtype=float)
    judge_c = np.array([index[labels[i]] for i in keep], dtype=float)
    value = statistic_value(ref_c, judge_c, level=level, n_labels=len(order), statistic=statistic)
    interval = None
    if n_resamples:
        group_ids = None if groups is None else group_codes(groups)[keep]
        interval = bootstrap_intervals(
            ref_c,
            judge_c,
            level=level,
            n_labels=len(order),
            groups=group_ids,
            statistics=[statistic],
            n_resamples=n_resamples,
            seed=seed,
        )[statistic]
    return JudgeSummary(spec.judge_id, spec.display_name, n_judged, len(keep), value, interval)


def judge_variant_grid(report: Any, statistic: str) -> pd.DataFrame:
    """One row per judge x variant of a :class:`~selene_eval.presentation.report.StudyReport`: the statistic, its
    interval and the number of compared items (``value`` NaN where the judge has no judgment there)."""
    rows = []
    for result in report.results:
        agreement = result.agreement
        value = low = high = math.nan
        n = 0
        if agreement is not None:
            metrics = {**agreement.metrics, **agreement.extra_metrics}
            value = float(metrics.get(statistic, math.nan))
            interval = agreement.intervals.get(statistic)
            if interval is not None:
                low, high = interval.low, interval.high
            n = agreement.n_compared
        rows.append(
            {
                "judge_id": result.judge_id,
                "judge": result.judge_name,
                "variant": result.variant_id,
                "value": value,
                "low": low,
                "high": high,
                "n_compared": n,
            }
        )
    return pd.DataFrame(rows, columns=["judge_id", "judge", "variant", "value", "low", "high", "n_compared"])


def judge_disagreements(study: Study, judge_a: JudgeSpec, judge_b: JudgeSpec, variant_id: str) -> pd.DataFrame:
    """Items both judges labelled, differently: the item, the expert labels and consensus, and each judge's
    label and reasoning. ``closer`` says whose label matches the consensus (``a``, ``b`` or ``neither``)."""
    tables = JudgmentTables(study)
    table_a, table_b = tables.table(judge_a, variant_id), tables.table(judge_b, variant_id)
    labels_a, labels_b = judge_labels(table_a), judge_labels(table_b)
    reference = expert_consensus(tables.items, study.spec.task)
    experts = expert_columns(table_a)
    rows = []
    for i, (la, lb) in enumerate(zip(labels_a, labels_b)):
        if la is None or lb is None or la == lb:
            continue
        ref = reference[i]
        closer = "a" if la == ref else "b" if lb == ref else "neither"
        rows.append(
            {
                "item_id": table_a["item_id"].iloc[i],
                "input": table_a["input"].iloc[i],
                "response": table_a["response"].iloc[i],
                **{c: table_a[c].iloc[i] for c in experts},
                "consensus": ref,
                "label_a": la,
                "reasoning_a": table_a["judge_reasoning"].iloc[i],
                "label_b": lb,
                "reasoning_b": table_b["judge_reasoning"].iloc[i],
                "closer": closer,
            }
        )
    columns = [
        "item_id",
        "input",
        "response",
        *experts,
        "consensus",
        "label_a",
        "reasoning_a",
        "label_b",
        "reasoning_b",
        "closer",
    ]
    return pd.DataFrame(rows, columns=columns)
