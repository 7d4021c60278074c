"""Agreement statistics: LLM judge vs human experts.

Pure functions on pandas tables; no I/O. See :func:`agreement` and :func:`consensus`.
"""

from selene_eval.metrics.agreement import (
    EXTRA_METRICS,
    METRICS,
    AgreementReport,
    ConfusionMatrix,
    ExpertAgreement,
    agreement,
    krippendorff_alpha,
    subgroup_agreement,
    substitution_differences,
)
from selene_eval.metrics.baseline import MajorityBaseline, majority_baseline
from selene_eval.metrics.uncertainty import Interval
from selene_eval.metrics.consensus import LEVELS, Consensus, Level, consensus

__all__ = [
    "EXTRA_METRICS",
    "LEVELS",
    "Interval",
    "METRICS",
    "AgreementReport",
    "ConfusionMatrix",
    "Consensus",
    "ExpertAgreement",
    "Level",
    "MajorityBaseline",
    "agreement",
    "consensus",
    "krippendorff_alpha",
    "majority_baseline",
    "subgroup_agreement",
    "substitution_differences",
]
