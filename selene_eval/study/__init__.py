"""Studies on disk: a readable spec, the normalized items and an SQLite judgment database."""

from selene_eval.study.judgments import JudgmentStore, StoredFailure, StoredJudgment
from selene_eval.study.spec import SourceInfo, StudySpec, new_study_spec
from selene_eval.study.store import (
    DamagedStudy,
    RunHolder,
    RunLock,
    StudiesListing,
    Study,
    StudyStore,
    StudySummary,
    holding_run_lock,
    slugify,
    validate_slug,
)

__all__ = [
    "DamagedStudy",
    "JudgmentStore",
    "RunHolder",
    "RunLock",
    "SourceInfo",
    "StoredFailure",
    "StoredJudgment",
    "StudiesListing",
    "Study",
    "StudySpec",
    "StudyStore",
    "StudySummary",
    "holding_run_lock",
    "slugify",
    "new_study_spec",
    "validate_slug",
]
