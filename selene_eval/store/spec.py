"""The human-readable study spec (``study.yaml``)."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from selene_eval.backends.base import JudgeSpec
from selene_eval.prompts.rubric import Rubric
from selene_eval.prompts.variants import PromptVariant
from selene_eval.tasks import TaskType

SPEC_VERSION = 1


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string (seconds)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class SourceInfo(BaseModel):
    """Where the study's items came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_name: str
    format: str
    encoding: str | None = None
    sha256: str
    n_rows: int


class StudySpec(BaseModel):
    """Everything that defines a study besides its items and judgments.

    ``mapping`` is the column mapping as given (role -> column; ``experts`` a list), ``label_map`` the raw ->
    canonical label map (``None`` meaning "no label"). ``variants`` lists the variant ids to run, in order;
    ``custom_variants`` holds the study's own templates in full. ``judge`` is the judge last chosen.
    """

    model_config = ConfigDict(extra="forbid")

    spec_version: int = SPEC_VERSION
    slug: str
    title: str
    description: str = ""
    illustrative: bool = False
    task: TaskType
    created_at: str = Field(default_factory=utc_now)
    source: SourceInfo | None = None
    mapping: dict[str, object] = Field(default_factory=dict)
    label_map: dict[str, str | None] = Field(default_factory=dict)
    experts: list[str] = Field(default_factory=list)
    rubric: Rubric
    variants: list[str] = Field(default_factory=list)
    custom_variants: list[PromptVariant] = Field(default_factory=list)
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
