"""Studies on disk: a readable spec, the normalized items and an SQLite judgment database."""

from selene_eval.store.judgments import JudgmentStore, StoredFailure, StoredJudgment
from selene_eval.store.spec import SourceInfo, StudySpec, new_study_spec
from selene_eval.store.studies import Study, StudyStore, StudySummary, slugify, validate_slug

__all__ = [
    "JudgmentStore",
    "SourceInfo",
    "StoredFailure",
    "StoredJudgment",
    "Study",
    "StudySpec",
    "StudyStore",
    "StudySummary",
    "slugify",
    "new_study_spec",
    "validate_slug",
]
