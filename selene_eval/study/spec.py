"""The human-readable study spec (``study.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from selene_eval.core.items import Item, expert_names
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.prompts.rubric import Rubric, default_rubric
from selene_eval.prompts.variants import PromptVariant, default_variant_ids

if TYPE_CHECKING:
    from selene_eval.data import ColumnMapping, TableFile

SPEC_VERSION = 1
DEFAULT_MIN_COMPARED = 10
"""A statistic on fewer compared items is not shown (the same default as the import's ``--min-items``)."""


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class SourceInfo(BaseModel):
    """Where the study's items came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_name: str
    format: str
    encoding: str | None = None
    sha256: str
    n_rows: int


class SkippedRow(BaseModel):
    """A row of the source file left out of the study on request, and why (e.g. its item id was taken)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    """1-based data row of the file (row 1 is the first row under the header)."""
    reason: str


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
    skipped_rows: list[SkippedRow] = Field(default_factory=list)
    """Rows of the source file that were left out on request (empty: every row became an item)."""
    mapping: dict[str, object] = Field(default_factory=dict)
    label_map: dict[str, str | None] = Field(default_factory=dict)
    experts: list[str] = Field(default_factory=list)
    rubric: Rubric
    variants: list[str] = Field(default_factory=list)
    custom_variants: list[PromptVariant] = Field(default_factory=list)
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    min_compared: int = Field(default=DEFAULT_MIN_COMPARED, ge=1)
    """The fewest compared items a statistic may rest on: below it every judge-vs-experts statistic is n/a."""
    items_sha256: str | None = None
    """SHA-256 of ``items.jsonl`` as written with this spec; checked whenever the items load, so a study whose
    files disagree (an interrupted overwrite, a file copied from another study) says so. ``None`` in studies
    written before the check existed."""


def new_study_spec(
    table: TableFile,
    mapping: ColumnMapping,
    task: TaskType,
    label_map: Mapping[str, str | None],
    items: Sequence[Item],
    *,
    slug: str,
    title: str = "",
    description: str = "",
    rubric: Rubric | None = None,
    variants: Sequence[str] | None = None,
    custom_variants: Sequence[PromptVariant] = (),
    skipped_rows: Mapping[int, str] | None = None,
) -> StudySpec:
    """The spec of a study imported from ``table``: one definition for the CLI and the dashboard.

    Defaults: the task's default rubric, and Selene's canonical variant (with the reference answer when a
    reference column is mapped) followed by any custom variants. ``skipped_rows`` (row -> reason) records the
    file's rows left out of the items.
    """
    if variants is None:
        variants = default_variant_ids(task, mapping.reference is not None) + [v.id for v in custom_variants]
    return StudySpec(
        slug=slug,
        title=title.strip() or table.name or slug,
        description=description.strip(),
        task=task,
        source=SourceInfo(
            file_name=table.name or "upload",
            format=table.format,
            encoding=table.encoding,
            sha256=table.sha256,
            n_rows=table.n_rows,
        ),
        skipped_rows=[SkippedRow(row=row, reason=reason) for row, reason in sorted((skipped_rows or {}).items())],
        mapping=mapping.model_dump(exclude_none=True, exclude_defaults=True),
        label_map=dict(label_map),
        experts=expert_names(items),
        rubric=rubric or default_rubric(task),
        variants=list(variants),
        custom_variants=list(custom_variants),
    )
