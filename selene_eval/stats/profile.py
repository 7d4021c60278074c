"""After agreement: the judge's error profile, the ambiguity split and the estimates for unlabelled items.

:func:`judge_profile` runs :func:`~selene_eval.stats.error_profile.error_profile`,
:func:`~selene_eval.stats.error_profile.ambiguity_split` and
:func:`~selene_eval.stats.ppi.unlabelled_estimates` on one table with one set of options, so that the CLI,
the study report, the HTML report and the dashboard show the same figures. :func:`profile_lines` renders the
result as plain text lines (the CLI and the HTML report use them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import pandas as pd

from selene_eval.core.numbers import fmt_stat
from selene_eval.stats.consensus import Level
from selene_eval.stats.error_profile import (
    PER_LABEL_STATISTICS,
    PROFILE_NAMES,
    Ambiguity,
    ErrorProfile,
    ambiguity_split,
    error_profile,
)
from selene_eval.stats.options import OptionFields, StatisticsOptions
from selene_eval.stats.ppi import MeanEstimate, UnlabelledEstimates, unlabelled_estimates
from selene_eval.stats.uncertainty import Interval


@dataclass(frozen=True)
class JudgeProfile:
    """The three results of :func:`judge_profile`."""

    errors: ErrorProfile
    ambiguity: Ambiguity
    unlabelled: UnlabelledEstimates

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "error_profile": self.errors.to_dict(),
            "ambiguity": self.ambiguity.to_dict(),
            "unlabelled": self.unlabelled.to_dict(),
        }


def judge_profile(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    *,
    probabilities: str | None = None,
    **fields: Unpack[OptionFields],
) -> JudgeProfile:
    """Error profile, ambiguity split and unlabelled-item estimates of ``judge`` against ``experts``.

    The settings (:class:`~selene_eval.stats.options.StatisticsOptions`, or its fields as keywords) mean
    what they mean for :func:`selene_eval.stats.agreement`; ``probabilities`` names a column of the judge's
    label probabilities (for the cross-entropy of the ambiguity split). Raises
    :class:`~selene_eval.errors.StatisticsError` on bad columns or options.
    """
    options = StatisticsOptions.of(options, fields)
    return JudgeProfile(
        errors=error_profile(table, judge, experts, level, options),
        ambiguity=ambiguity_split(table, judge, experts, level, options, probabilities=probabilities),
        unlabelled=unlabelled_estimates(table, judge, experts, level, options),
    )


def _count(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.0f}"


def _ci(low: float, high: float) -> str:
    return "" if not (math.isfinite(low) and math.isfinite(high)) else f" [{low:.3f}, {high:.3f}]"


def _iv(interval: Interval) -> str:
    return fmt_stat(interval.estimate) + _ci(interval.low, interval.high)


def _mean(estimate: MeanEstimate) -> str:
    return fmt_stat(estimate.estimate) + _ci(estimate.low, estimate.high)


def profile_lines(profile: JudgeProfile) -> list[str]:
    """The profile as plain text lines: error profile, ambiguity, unlabelled items (intervals in brackets)."""
    lines = ["Error profile (in brackets: bootstrap interval)"]
    errors = profile.errors
    if errors.undefined is not None:
        lines.append(f"  n/a: {errors.undefined}.")
    else:
        for key, interval in errors.overall.items():
            lines.append(f"  {PROFILE_NAMES[key]:<28} {_iv(interval)}")
        if errors.beats_baseline is False:
            lines.append("  The judge's accuracy does not beat always answering the experts' most frequent label.")
        for label in errors.per_label:
            cells = ", ".join(f"{PROFILE_NAMES[s].lower()} {_iv(label.statistics[s])}" for s in PER_LABEL_STATISTICS)
            lines.append(f"  label {label.label!r} (experts {label.n_expert}, judge {label.n_judge}): {cells}")
    ambiguity = profile.ambiguity
    lines.append("Ambiguity: agreement by how much the experts agreed")
    if ambiguity.undefined is not None:
        lines.append(f"  n/a: {ambiguity.undefined}.")
    else:
        for part in ambiguity.parts:
            why = "" if math.isfinite(part.accuracy.estimate) else f" ({part.accuracy.note})"
            lines.append(
                f"  {part.kind} items (n = {part.n_items}): accuracy {_iv(part.accuracy)}, "
                f"Cohen's kappa {_iv(part.cohen_kappa)}{why}"
            )
        lines.append(
            f"  soft-label agreement (mean share of experts who gave the judge's label, n = "
            f"{ambiguity.n_soft}): {_iv(ambiguity.soft_agreement)}"
        )
        if ambiguity.cross_entropy is not None:
            lines.append(
                f"  cross-entropy of the judge's label probabilities against the experts' distribution "
                f"(nats, n = {ambiguity.n_cross_entropy}): {_iv(ambiguity.cross_entropy)}"
            )
        lines.extend(f"  note: {note}" for note in ambiguity.notes)
    unlabelled = profile.unlabelled
    lines.append(
        f"Using the judge on the unlabelled items ({unlabelled.n_unlabelled} unlabelled, "
        f"{unlabelled.n_labelled} expert-labelled; {unlabelled.ci_level:.0%} intervals)"
    )
    if unlabelled.undefined is not None:
        lines.append(f"  n/a: {unlabelled.undefined}.")
    for target in unlabelled.targets:
        lines.append(
            f"  {target.target}: experts only {_mean(target.experts_only)}; judge only (uncorrected) "
            f"{_mean(target.judge_only)}; PPI++ {_mean(target.ppi.mean)} (lambda {fmt_stat(target.ppi.lam)}, "
            f"worth {_count(target.effective_labels)} expert labels)"
        )
        if target.note:
            lines.append(f"    {target.note}")
    if unlabelled.rogan_gladen is not None:
        rg = unlabelled.rogan_gladen
        lines.append(f"  Rogan-Gladen corrected rate of 'yes': {_mean(rg)}" + (f" ({rg.note})" if rg.note else ""))
    lines.extend(f"  note: {note}" for note in unlabelled.notes)
    return lines


def _text(interval: Interval | MeanEstimate) -> str:
    return (
        ""
        if not (math.isfinite(interval.low) and math.isfinite(interval.high))
        else (f"{interval.low:.3f} – {interval.high:.3f}")
    )


def _cell(interval: Interval | MeanEstimate) -> str:
    """``value [low – high]``, or the value alone without an interval (``n/a`` when undefined)."""
    return fmt_stat(interval.estimate) + (f" [{_text(interval)}]" if _text(interval) else "")


def overall_frame(profile: JudgeProfile) -> pd.DataFrame:
    """Accuracy, balanced accuracy and the majority-label baseline: value, interval, why n/a."""
    rows = [
        {
            "Statistic": PROFILE_NAMES[key],
            "Value": fmt_stat(iv.estimate),
            "Interval": _text(iv),
            "Why n/a": "" if math.isfinite(iv.estimate) else (iv.note or ""),
        }
        for key, iv in profile.errors.overall.items()
    ]
    return pd.DataFrame(rows)


def per_label_frame(profile: JudgeProfile) -> pd.DataFrame:
    """One row per label: counts and each per-label rate as ``value [low – high]`` (``n/a`` when undefined)."""
    rows = []
    for label in profile.errors.per_label:
        row: dict[str, object] = {"Label": label.label, "Experts": label.n_expert, "Judge": label.n_judge}
        for key in PER_LABEL_STATISTICS:
            iv = label.statistics[key]
            row[PROFILE_NAMES[key]] = _cell(iv)
        rows.append(row)
    return pd.DataFrame(rows)


def ambiguity_frame(profile: JudgeProfile) -> pd.DataFrame:
    """Unanimous vs split items (count, accuracy, kappa with intervals) and the soft-label agreement."""
    amb = profile.ambiguity
    rows = [
        {
            "Items": f"{part.kind} items",
            "Count": part.n_items,
            "Accuracy / score": _cell(part.accuracy),
            "Cohen's kappa": _cell(part.cohen_kappa),
        }
        for part in amb.parts
    ]
    if amb.undefined is None:
        soft = amb.soft_agreement
        rows.append(
            {
                "Items": "soft-label agreement (all items with expert labels)",
                "Count": amb.n_soft,
                "Accuracy / score": _cell(soft),
                "Cohen's kappa": "",
            }
        )
        if amb.cross_entropy is not None:
            ce = amb.cross_entropy
            rows.append(
                {
                    "Items": "cross-entropy of the judge's probabilities (nats, lower is better)",
                    "Count": amb.n_cross_entropy,
                    "Accuracy / score": _cell(ce),
                    "Cohen's kappa": "",
                }
            )
    return pd.DataFrame(rows)


def unlabelled_frame(profile: JudgeProfile) -> pd.DataFrame:
    """One row per estimated quantity: experts only, judge only, PPI++ (with intervals), lambda, worth."""
    rows = []
    for target in profile.unlabelled.targets:
        rows.append(
            {
                "Quantity": target.target,
                "Experts only": _cell(target.experts_only),
                "Judge only (uncorrected)": _cell(target.judge_only),
                "PPI++": _cell(target.ppi.mean),
                "Power tuning λ": fmt_stat(target.ppi.lam),
                "Worth (expert labels)": _count(target.effective_labels),
                "Judge helps": {True: "yes", False: "no", None: "n/a"}[target.judge_helps],
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "JudgeProfile",
    "ambiguity_frame",
    "judge_profile",
    "overall_frame",
    "per_label_frame",
    "profile_lines",
    "unlabelled_frame",
]
