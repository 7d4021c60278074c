"""Point values of the judge-vs-consensus statistics, one function per registry key.

Each function takes the compared pairs - ``expert`` (the consensus) and ``judge``, codes at nominal /
ordinal level (ranks for ordinal), values at interval level, no nan and at least one pair - with the level
and the size of the label set, and returns ``(value, reason)``: the reason, in words, when the statistic is
undefined (the value is then nan). :mod:`selene_eval.stats.registry` names each one as the statistic's
``point`` function; the bootstrap form is the ``_Batch`` method of the same name in
:mod:`selene_eval.stats.uncertainty`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from selene_eval.stats.alpha import krippendorff_alpha as _alpha
from selene_eval.stats.checked import evaluate
from selene_eval.stats.coefficients import gwet_ac1_checked, icc_checked
from selene_eval.stats.consensus import Level

Checked = tuple[float, str | None]


def _kappa_reason(expert: np.ndarray, judge: np.ndarray) -> str | None:
    """p_e = 1 exactly when both sides use one and the same label; kappa is 0/0 then."""
    if np.all(expert == expert[0]) and np.all(judge == expert[0]):
        return "the judge and the expert consensus give one and the same label on every compared item"
    return None


def correlation_reason(expert: np.ndarray, judge: np.ndarray) -> str | None:
    """Why a correlation is undefined on these pairs (too few, or a constant side), or None."""
    if expert.size < 2:
        return f"it needs at least 2 compared items, got {expert.size}"
    sides = (("the expert consensus", expert), ("the judge", judge))
    constant = [who for who, values in sides if np.all(values == values[0])]
    if constant:
        verb = "is" if len(constant) == 1 else "are"
        return f"{' and '.join(constant)} {verb} constant on the compared items"
    return None


def _kappa(expert: np.ndarray, judge: np.ndarray, n_labels: int, weights: str | None) -> Checked:
    # sklearn wants label codes as ints (float codes against int ``labels`` would be "mixed types").
    return evaluate(
        lambda: cohen_kappa_score(expert.astype(int), judge.astype(int), labels=list(range(n_labels)), weights=weights),
        _kappa_reason(expert, judge),
    )


def accuracy(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Share of pairs where the judge gives the consensus label (value)."""
    return evaluate(lambda: np.mean(expert == judge), None)


def cohen_kappa(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Cohen's kappa over the ``n_labels`` labels (scikit-learn)."""
    return _kappa(expert, judge, n_labels, None)


def linear_weighted_kappa(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Cohen's kappa with linear disagreement weights on the label ranks."""
    return _kappa(expert, judge, n_labels, "linear")


def quadratic_weighted_kappa(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Cohen's kappa with quadratic disagreement weights on the label ranks."""
    return _kappa(expert, judge, n_labels, "quadratic")


def krippendorff_alpha(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Krippendorff's alpha of the two raters at ``level``."""
    return _alpha(np.vstack([expert, judge]), level)


def gwet_ac1(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Gwet's AC1 of the two raters over the declared ``n_labels`` categories."""
    return gwet_ac1_checked(np.vstack([expert, judge]), max(n_labels, 1))


def spearman(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Spearman's rank correlation (scipy)."""
    return evaluate(lambda: stats.spearmanr(expert, judge).statistic, correlation_reason(expert, judge))


def kendall_tau(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Kendall's tau-b (scipy)."""
    return evaluate(lambda: stats.kendalltau(expert, judge).statistic, correlation_reason(expert, judge))


def pearson(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Pearson's product-moment correlation (scipy)."""
    return evaluate(lambda: stats.pearsonr(expert, judge).statistic, correlation_reason(expert, judge))


def mean_absolute_error(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """Mean of ``|expert - judge|`` (in rank steps for ordinal codes)."""
    return evaluate(lambda: np.mean(np.abs(expert - judge)), None)


def icc_2_1(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """ICC(2,1), absolute agreement, judge and consensus as two raters."""
    return icc_checked(np.vstack([expert, judge]).T, "2,1")


def icc_3_1(expert: np.ndarray, judge: np.ndarray, level: Level, n_labels: int) -> Checked:
    """ICC(3,1), consistency, judge and consensus as two raters."""
    return icc_checked(np.vstack([expert, judge]).T, "3,1")
