"""What the judge lets an analyst conclude about the items no expert labelled.

A study may hold items with expert labels (the *labelled* items, ``n``) and items the judge alone scored
(the *unlabelled* ones, ``N``). The quantity an analyst wants is about the whole set: the share of each label
(pass rate, share of A wins) and, for 1-5 scores, the mean. :func:`unlabelled_estimates` gives it three ways,
each with a normal-theory interval:

* **experts only** - the mean over the labelled items (the classical estimate; the judge is not used);
* **judge only** - the mean of the judge's labels over every judged item, *uncorrected*: it inherits the
  judge's bias, and its interval covers only sampling noise, not that bias;
* **prediction-powered inference, PPI++** (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic 2023, "Prediction-
  powered inference", Science 382:669; Angelopoulos, Duchi & Zrnic 2023, "PPI++: Efficient prediction-powered
  inference", arXiv:2311.01453): ``lam * mean_U(f) + mean_L(y - lam * f)`` - the judge's mean over the
  unlabelled items, corrected by the judge's mean error on the labelled ones. The power-tuning ``lam`` in
  ``[0, 1]`` is PPI++'s estimate ``cov(y, f) / ((1 + n/N) var(f))`` (``lam = 0`` is experts-only, ``1`` is plain
  PPI), so a useless judge costs (almost) nothing. Point estimate, ``lam`` and interval are those of the
  ``ppi-python`` package's ``ppi_mean_ci`` (checked to 1e-6 in the tests). With a ``group`` column the
  standard error is cluster-robust: the estimator's per-item influence values are summed per group before
  squaring (labelled and unlabelled items of one group together); with one item per group this is exactly
  ppi-python's standard error.

The **effective number of expert labels** is ``n * se_experts**2 / se_ppi**2``: the number of expert labels
whose experts-only interval would be as narrow as PPI's. When PPI's interval is no narrower than experts-only,
the result says in words that the judge does not help.

For yes/no data also the **Rogan-Gladen** corrected rate (Rogan & Gladen 1978, "Estimating prevalence from the
results of a screening test", Am J Epidemiol 107:71): ``(q + Sp - 1) / (Se + Sp - 1)`` from the judge's share
``q`` of "yes" on all judged items and its sensitivity ``Se`` / specificity ``Sp`` on the labelled items, with
the delta-method interval ``se**2 = [q(1-q)/N_q + p**2 Se(1-Se)/n_+ + (1-p)**2 Sp(1-Sp)/n_-] / (Se + Sp - 1)**2``
(Greenland 1996, "Basic methods for sensitivity analysis of biases", Int J Epidemiol 25:1107), clipped to
``[0, 1]``. It treats items as independent (no clustering) and is undefined when ``Se + Sp <= 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import pandas as pd
from scipy.special import ndtri

from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import StatisticsError
from selene_eval.stats.consensus import Level, check_level
from selene_eval.stats.options import OptionFields, StatisticsOptions


@dataclass(frozen=True)
class MeanEstimate:
    """A mean with its normal-theory interval; ``note`` says why it is nan."""

    estimate: float
    low: float
    high: float
    std_error: float
    n: int  # items it rests on
    note: str | None = None

    @property
    def width(self) -> float:
        """``high - low`` (nan when undefined)."""
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (nan -> None)."""
        return {
            "estimate": finite_or_none(self.estimate),
            "low": finite_or_none(self.low),
            "high": finite_or_none(self.high),
            "std_error": finite_or_none(self.std_error),
            "n": self.n,
            "note": self.note,
        }


def _nan(n: int, note: str) -> MeanEstimate:
    return MeanEstimate(math.nan, math.nan, math.nan, math.nan, n, note)


def _z(level_ci: float) -> float:
    if not (isinstance(level_ci, (int, float)) and 0 < level_ci < 1):
        raise StatisticsError(f"ci_level must be between 0 and 1 (e.g. 0.95), got {level_ci!r}.")
    return float(ndtri(0.5 + level_ci / 2))


def _clustered_variance(influence: np.ndarray, groups: np.ndarray | None) -> float:
    """``sum over groups of (sum of the group's influence values)**2`` (items are groups when None)."""
    if groups is None:
        return float(np.sum(influence**2))
    ids = pd.factorize(pd.Series(groups, dtype=object))[0]
    return float(np.sum(np.bincount(ids, weights=influence) ** 2))


def classical_mean(values: np.ndarray, *, groups: np.ndarray | None = None, level_ci: float = 0.95) -> MeanEstimate:
    """Mean with the CLT interval ``mean +- z * sd / sqrt(n)`` (``sd`` with ``ddof=0``, as ppi-python's
    ``classical_mean_ci``); cluster-robust when ``groups`` is given."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if n == 0:
        return _nan(0, "there are no items")
    mean = float(values.mean())
    se = math.sqrt(_clustered_variance((values - mean) / n, groups))
    z = _z(level_ci)
    return MeanEstimate(mean, mean - z * se, mean + z * se, se, n)


@dataclass(frozen=True)
class PPIEstimate:
    """PPI++ estimate of a mean: the estimate and interval, the power tuning ``lam`` used."""

    mean: MeanEstimate
    lam: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**self.mean.to_dict(), "lam": finite_or_none(self.lam)}


def ppi_mean(
    labels: np.ndarray,
    predictions: np.ndarray,
    predictions_unlabelled: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    groups_unlabelled: np.ndarray | None = None,
    lam: float | None = None,
    level_ci: float = 0.95,
) -> PPIEstimate:
    """PPI++ mean with power tuning (``lam=None``), as ppi-python's ``ppi_mean_ci`` (see the module docstring).

    ``labels``/``predictions``: expert value and judge value of the labelled items; ``predictions_unlabelled``:
    the judge's values on the unlabelled items. ``groups``/``groups_unlabelled``: cluster ids (ids shared across
    the two sets are one cluster); both None: every item is its own cluster. Raises :class:`StatisticsError`
    when the labelled arrays do not pair up.
    """
    y = np.asarray(labels, dtype=float)
    f = np.asarray(predictions, dtype=float)
    f_u = np.asarray(predictions_unlabelled, dtype=float)
    if y.shape != f.shape or y.ndim != 1 or f_u.ndim != 1:
        raise StatisticsError(f"labels ({y.shape}) and predictions ({f.shape}) must be one value per labelled item.")
    n, big_n = y.size, f_u.size
    if n < 2 or big_n < 1:
        return PPIEstimate(_nan(n, "PPI needs at least 2 labelled and 1 unlabelled item"), math.nan)
    if lam is None:
        all_f = np.concatenate([f, f_u])
        spread = float(np.var(all_f, ddof=1))
        covariance = float(np.mean((y - y.mean()) * (f - f.mean())))
        # a constant judge carries no information: lam = 0 (ppi-python would give 0/0 here)
        lam = 0.0 if spread <= 0 else float(np.clip(covariance / ((1 + n / big_n) * spread), 0.0, 1.0))
    rectifier = y - lam * f
    estimate = float(lam * f_u.mean() + rectifier.mean())
    influence = np.concatenate([(lam * f_u - lam * f_u.mean()) / big_n, (rectifier - rectifier.mean()) / n])
    if (groups is None) != (groups_unlabelled is None):
        raise StatisticsError("Give cluster ids for both the labelled and the unlabelled items, or for neither.")
    all_groups = (
        None
        if groups is None
        else np.concatenate([np.asarray(groups_unlabelled, dtype=object), np.asarray(groups, dtype=object)])
    )
    se = math.sqrt(_clustered_variance(influence, all_groups))
    z = _z(level_ci)
    return PPIEstimate(MeanEstimate(estimate, estimate - z * se, estimate + z * se, se, n + big_n), float(lam))


def rogan_gladen(
    judge_share: float,
    n_judged: int,
    sensitivity: float,
    n_positive: int,
    specificity: float,
    n_negative: int,
    *,
    level_ci: float = 0.95,
) -> MeanEstimate:
    """Rogan-Gladen corrected rate with its delta-method interval, clipped to [0, 1] (module docstring)."""
    youden = sensitivity + specificity - 1
    n = n_judged
    if not (n_judged and n_positive and n_negative):
        return _nan(n, "the correction needs judged items and expert-labelled items of both kinds (yes and no)")
    if not youden > 0:
        return _nan(
            n,
            f"the judge is no better than chance here (sensitivity + specificity = "
            f"{sensitivity + specificity:.2f}, not above 1), so its rate cannot be corrected",
        )
    rate = (judge_share + specificity - 1) / youden
    variance = (
        judge_share * (1 - judge_share) / n_judged
        + rate**2 * sensitivity * (1 - sensitivity) / n_positive
        + (1 - rate) ** 2 * specificity * (1 - specificity) / n_negative
    ) / youden**2
    se = math.sqrt(variance)
    z = _z(level_ci)
    note = None
    clipped = min(1.0, max(0.0, rate))
    if clipped != rate:
        note = f"the corrected rate {rate:.3f} fell outside [0, 1] and was clipped"
    return MeanEstimate(clipped, max(0.0, rate - z * se), min(1.0, rate + z * se), se, n, note)


@dataclass(frozen=True)
class TargetEstimate:
    """One quantity about the whole set (a label's share or the mean score), three ways."""

    target: str  # in words: "share of 'yes'", "mean score"
    experts_only: MeanEstimate
    judge_only: MeanEstimate
    ppi: PPIEstimate
    effective_labels: float  # expert labels PPI is worth (nan when undefined)
    judge_helps: bool | None  # PPI's interval narrower than experts-only (None: undefined)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "target": self.target,
            "experts_only": self.experts_only.to_dict(),
            "judge_only": self.judge_only.to_dict(),
            "ppi": self.ppi.to_dict(),
            "effective_labels": finite_or_none(self.effective_labels),
            "judge_helps": self.judge_helps,
            "note": self.note,
        }


@dataclass(frozen=True)
class UnlabelledEstimates:
    """Result of :func:`unlabelled_estimates`; ``undefined`` says in words why there is nothing to estimate."""

    n_labelled: int  # items with an expert consensus
    n_unlabelled: int  # items without any expert label that the judge labelled
    targets: tuple[TargetEstimate, ...]
    rogan_gladen: MeanEstimate | None  # yes/no data only
    ci_level: float
    undefined: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "n_labelled": self.n_labelled,
            "n_unlabelled": self.n_unlabelled,
            "ci_level": self.ci_level,
            "targets": [t.to_dict() for t in self.targets],
            "rogan_gladen": None if self.rogan_gladen is None else self.rogan_gladen.to_dict(),
            "undefined": self.undefined,
            "notes": list(self.notes),
        }


def _numeric(labels: Sequence[str]) -> np.ndarray | None:
    try:
        return np.array([float(label) for label in labels])
    except ValueError:
        return None


def _target(
    name: str,
    y: np.ndarray,
    f: np.ndarray,
    f_u: np.ndarray,
    y_all: np.ndarray,
    f_all: np.ndarray,
    groups: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None],
    level_ci: float,
) -> TargetEstimate:
    g_l, g_u, g_experts, g_judged = groups
    experts = classical_mean(y_all, groups=g_experts, level_ci=level_ci)
    judge = classical_mean(f_all, groups=g_judged, level_ci=level_ci)
    ppi = ppi_mean(y, f, f_u, groups=g_l, groups_unlabelled=g_u, level_ci=level_ci)
    se_ppi, se_exp = ppi.mean.std_error, experts.std_error
    effective, helps, note = math.nan, None, None
    if math.isfinite(se_ppi) and math.isfinite(se_exp):
        helps = ppi.mean.width < experts.width - 1e-12
        if se_ppi > 0:
            effective = experts.n * se_exp**2 / se_ppi**2
        if not helps:
            note = (
                f"The judge does not help with the {name}: the PPI interval is no narrower than the "
                "experts-only interval (the judge's labels carry too little about the experts')."
            )
    return TargetEstimate(name, experts, judge, ppi, effective, helps, note)


def unlabelled_estimates(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    level: Level,
    options: StatisticsOptions | None = None,
    *,
    positive: str = "yes",
    **fields: Unpack[OptionFields],
) -> UnlabelledEstimates:
    """Estimates about the whole set from expert-labelled and judge-only items (see the module docstring).

    Labelled items are the rows with an expert consensus (strict majority; the mean at interval level);
    unlabelled ones have no expert label at all. PPI uses the labelled items that also have a judge label and
    the unlabelled items the judge labelled. Targets: each label's share (nominal, ordinal) and the mean score
    (ordinal with numeric labels, interval). ``positive`` is the label whose rate Rogan-Gladen corrects, for
    two-label data that include it (case-insensitive). ``undefined`` says why nothing is estimated: no
    unlabelled items, no labelled item with a judge label, or fewer than ``min_compared`` of them. Settings:
    :class:`~selene_eval.stats.options.StatisticsOptions` (``options``; resampling is not used) or its fields.
    """
    o = StatisticsOptions.of(options, fields)
    from selene_eval.stats.error_profile import _code  # shared coding of judge, experts and groups

    level = check_level(level)
    _z(o.ci_level)  # a bad ci_level fails here, before any work
    coded = _code(table, judge, experts, level, o.order, o.group)
    has_label = ~np.isnan(coded.experts).all(axis=1)
    judged = ~np.isnan(coded.judge)
    labelled = ~np.isnan(coded.consensus)
    paired = labelled & judged
    unlabelled = ~has_label & judged
    n_labelled, n_unlabelled, n_paired = int(labelled.sum()), int(unlabelled.sum()), int(paired.sum())
    notes: list[str] = []
    no_majority = int((has_label & ~labelled).sum())
    if no_majority:
        notes.append(
            f"{no_majority} item{'s' if no_majority != 1 else ''} with expert labels but no majority "
            "are left out (neither labelled nor unlabelled)."
        )
    if n_labelled > n_paired:
        notes.append(
            f"{n_labelled - n_paired} labelled item{'s have' if n_labelled - n_paired != 1 else ' has'} "
            "no usable judge label: counted by the experts-only estimate, not by PPI."
        )
    if o.group is not None:
        notes.append(f"Intervals are cluster-robust by {o.group!r} (Rogan-Gladen's treats items as independent).")

    def empty(reason: str) -> UnlabelledEstimates:
        return UnlabelledEstimates(n_labelled, n_unlabelled, (), None, float(o.ci_level), reason, tuple(notes))

    if n_unlabelled == 0:
        n_blank = int((~has_label).sum())
        if n_blank:
            return empty(
                f"the {n_blank} item{'s' if n_blank != 1 else ''} without expert labels "
                f"{'have' if n_blank != 1 else 'has'} no usable judge label; run the judge on them"
            )
        return empty(
            "every item has an expert label, so there are no unlabelled items to estimate for: "
            "the experts' own figures describe the whole set"
        )
    if n_paired == 0:
        return empty(
            "no item has both an expert consensus and a judge label, so the judge's errors cannot be "
            "measured: have experts label a random sample of the items"
        )
    if n_paired < max(o.min_compared, 2):
        floor = (
            f"this study's minimum of {o.min_compared}"
            if o.min_compared > max(n_paired, 1)
            else "the 2 an interval needs"
        )
        return empty(
            f"it would rest on {n_paired} expert-labelled item{'s' if n_paired != 1 else ''} with a judge "
            f"label, fewer than {floor}"
        )
    groups_all = coded.groups
    g = (
        (None, None, None, None)
        if o.group is None
        else (groups_all[paired], groups_all[unlabelled], groups_all[labelled], groups_all[judged])
    )

    def run(name: str, values: np.ndarray, judge_values: np.ndarray) -> TargetEstimate:
        return _target(
            name,
            values[paired],
            judge_values[paired],
            judge_values[unlabelled],
            values[labelled],
            judge_values[judged],
            g,
            o.ci_level,
        )

    targets: list[TargetEstimate] = []
    if level == "interval":
        targets.append(run("mean score", coded.consensus, coded.judge))
    else:
        for k, label in enumerate(coded.labels):
            targets.append(
                run(f"share of {label!r}", (coded.consensus == k).astype(float), (coded.judge == k).astype(float))
            )
        numbers = _numeric(coded.labels) if level == "ordinal" else None
        if numbers is not None:
            lookup = lambda codes: np.where(np.isnan(codes), np.nan, numbers[np.nan_to_num(codes).astype(int)])  # noqa: E731
            targets.append(run("mean score", lookup(coded.consensus), lookup(coded.judge)))
    rg = None
    lowered = [label.lower() for label in coded.labels]
    if level != "interval" and len(coded.labels) == 2 and positive.lower() in lowered:
        k = lowered.index(positive.lower())
        expert_pos = coded.consensus[paired] == k
        judge_pos = coded.judge[paired] == k
        n_pos, n_neg = int(expert_pos.sum()), int((~expert_pos).sum())
        sens = float(judge_pos[expert_pos].mean()) if n_pos else math.nan
        spec = float((~judge_pos[~expert_pos]).mean()) if n_neg else math.nan
        share = float((coded.judge[judged] == k).mean())
        rg = rogan_gladen(share, int(judged.sum()), sens, n_pos, spec, n_neg, level_ci=o.ci_level)
    return UnlabelledEstimates(n_labelled, n_unlabelled, tuple(targets), rg, float(o.ci_level), None, tuple(notes))


__all__ = [
    "MeanEstimate",
    "PPIEstimate",
    "TargetEstimate",
    "UnlabelledEstimates",
    "classical_mean",
    "ppi_mean",
    "rogan_gladen",
    "unlabelled_estimates",
]
