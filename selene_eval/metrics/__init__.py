"""Agreement statistics: LLM judge vs human experts.

Pure functions on pandas tables; no I/O. See :func:`agreement` and :func:`consensus`.
"""

from selene_eval.metrics.agreement import (
    METRICS,
    AgreementReport,
    ConfusionMatrix,
    ExpertAgreement,
    agreement,
    krippendorff_alpha,
)
from selene_eval.metrics.consensus import LEVELS, Consensus, Level, consensus

__all__ = [
    "LEVELS",
    "METRICS",
    "AgreementReport",
    "ConfusionMatrix",
    "Consensus",
    "ExpertAgreement",
    "Level",
    "agreement",
    "consensus",
    "krippendorff_alpha",
]
