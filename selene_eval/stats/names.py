"""The statistics' names in words, for every message a reader sees (notes, reasons, tables).

The metric keys (``cohen_kappa``) stay the keys of the results and of their JSON form; a note or a table
cell names the statistic as a reader would ("Cohen's kappa"), never by its key. A module of its own, outside
:mod:`selene_eval.stats`: the dashboard's first page names statistics without loading scipy.
"""

from __future__ import annotations

STATISTIC_NAMES: dict[str, str] = {
    "accuracy": "Accuracy",
    "cohen_kappa": "Cohen's kappa",
    "quadratic_weighted_kappa": "Weighted kappa (quadratic)",
    "linear_weighted_kappa": "Weighted kappa (linear)",
    "krippendorff_alpha": "Krippendorff's alpha",
    "spearman": "Spearman's rho",
    "kendall_tau": "Kendall's tau",
    "pearson": "Pearson's r",
    "mean_absolute_error": "Mean absolute error",
    "gwet_ac1": "Gwet's AC1",
    "fleiss_kappa": "Fleiss' kappa",
    "icc_2_1": "ICC(2,1) absolute agreement",
    "icc_3_1": "ICC(3,1) consistency",
}
"""Display name of each statistic key."""


def statistic_name(key: str) -> str:
    """The statistic ``key`` in words (``cohen_kappa`` -> ``Cohen's kappa``); unknown keys unchanged."""
    return STATISTIC_NAMES.get(key, key)
