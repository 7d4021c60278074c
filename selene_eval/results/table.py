"""The judgment table: one row per item with its experts' labels and one judge's judgment under one variant.

Every result of a study (the report, the robustness section, the judges compared, the exports, the pages)
is read from this table, and this module is the one place that builds it: it renders and hashes each prompt
to find the stored judgment, re-parses the stored answer with the one parser (so a parser fix applies to old
judgments too) and gives each item its :class:`~selene_eval.core.status.JudgmentStatus`.

A call that reads a study's results several times (a report, then its HTML page, tables and charts) builds
each table once through one :class:`JudgmentTables`, which lives as long as that call: nothing is cached
between calls, so a table never misses judgments added since.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import pandas as pd

from selene_eval.core.expert_labels import expert_column, expert_columns
from selene_eval.core.items import SUBGROUP_PREFIX, items_frame, subgroup_columns
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.status import JudgmentStatus
from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError
from selene_eval.prompts.parser import parse_for_variant
from selene_eval.prompts.render import cache_key, identity_text, render
from selene_eval.stats.agreement import ExpertAgreement, agreement
from selene_eval.stats.consensus import consensus
from selene_eval.study.store import Study

JUDGE_COLUMNS: tuple[str, ...] = (
    "judge_label",
    "judge_status",
    "judge_reasoning",
    "judge_raw",
    "judge_probs",
    "judge_finish",
)
"""The columns :func:`judgment_table` adds to the study's items frame, in order."""


def study_items(study: Study) -> pd.DataFrame:
    """The study's items frame (:func:`~selene_eval.core.items.items_frame`) with an (empty) ``expert:<name>``
    column for every expert the study declares but no item has a label of: a study whose items are all
    unlabelled still has its experts, so it reports what is missing instead of failing for want of an expert
    column."""
    frame = items_frame(study.items)
    for name in study.spec.experts:
        if expert_column(name) not in frame.columns:
            frame[expert_column(name)] = None
    return frame


def judgment_table(
    study: Study,
    judge: JudgeSpec,
    variant_id: str,
    *,
    include_forced: bool = True,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per item: the item's fields, its expert labels (``expert:<name>``) and this judge's judgment.

    Judge columns (:data:`JUDGE_COLUMNS`): ``judge_label`` (canonical, or None when unparseable or not judged
    yet), ``judge_status`` (a :class:`~selene_eval.core.status.JudgmentStatus` value, as a plain string),
    ``judge_reasoning``, ``judge_raw``, ``judge_probs`` (canonical label -> probability, when the backend read
    them; else None) and ``judge_finish`` (``stop``, or ``length`` for an answer cut off at the token limit,
    ``repetition`` for one stopped in a loop). Labels are re-parsed from the stored text with the one parser,
    so a parser fix applies to old judgments too. An answer without a readable label whose label was forced
    (``JudgeSpec.force_verdict``) has the status ``forced`` and its forced label, or no label when
    ``include_forced`` is false (the statistics read without forced labels).

    ``items``: the study's :func:`study_items`, when the caller has it already (it is copied, not changed).
    """
    variant = study.variant(variant_id)
    identity = identity_text(judge.identity())  # serialised once, not once per prompt
    keys: list[str | None] = []
    for item in study.items:
        try:
            keys.append(cache_key(identity, render(variant, item, study.spec.rubric)))
        except TemplateError:
            keys.append(None)
    stored = study.judgments.get(k for k in keys if k)
    frame = study_items(study) if items is None else items.copy()
    labels: list[str | None] = []
    statuses: list[str] = []
    reasonings: list[str | None] = []
    raws: list[str | None] = []
    probs: list[dict[str, float] | None] = []
    finishes: list[str | None] = []
    for key in keys:
        judgment = stored.get(key) if key else None
        if judgment is None:
            labels.append(None)
            statuses.append((JudgmentStatus.PENDING if key else JudgmentStatus.NOT_RENDERABLE).value)
            reasonings.append(None)
            raws.append(None)
            probs.append(None)
            finishes.append(None)
            continue
        parsed = parse_for_variant(judgment.raw_text, variant)
        if not parsed.ok and judgment.status == JudgmentStatus.FORCED and judgment.label is not None:
            labels.append(judgment.label if include_forced else None)
            statuses.append(JudgmentStatus.FORCED.value)
        else:
            labels.append(parsed.label)
            statuses.append(parsed.status.value)
        reasonings.append(parsed.reasoning)
        raws.append(judgment.raw_text)
        probs.append(judgment.label_probs)
        finishes.append(judgment.finish_reason)
    for column, values in zip(JUDGE_COLUMNS, (labels, statuses, reasonings, raws, probs, finishes)):
        frame[column] = values
    return frame


class JudgmentTables:
    """The judgment tables of one study, each built once for the lifetime of this object.

    Make one per call that reads a study's results several times (a report and its exports) and pass it
    down; do not keep it: it does not see judgments added after a table was built. The tables it returns
    are shared, so callers must not change them in place (copy first, as
    :func:`selene_eval.presentation.frames.with_consensus` does).
    """

    def __init__(self, study: Study) -> None:
        self.study = study
        self._items: pd.DataFrame | None = None
        self._tables: dict[tuple[Hashable, ...], pd.DataFrame] = {}

    @property
    def items(self) -> pd.DataFrame:
        """The study's :func:`study_items`, built once (shared: do not change it in place)."""
        if self._items is None:
            self._items = study_items(self.study)
        return self._items

    def table(self, judge: JudgeSpec, variant_id: str, *, include_forced: bool = True) -> pd.DataFrame:
        """:func:`judgment_table` of ``judge`` under ``variant_id``, built on the first request only."""
        key = (judge.judge_id, variant_id, include_forced)
        if key not in self._tables:
            self._tables[key] = judgment_table(
                self.study, judge, variant_id, include_forced=include_forced, items=self.items
            )
        return self._tables[key]

    def release(self, judge: JudgeSpec) -> None:
        """Forget ``judge``'s tables (a caller that reads each judge once keeps only one judge's in memory)."""
        self._tables = {k: v for k, v in self._tables.items() if k[0] != judge.judge_id}


def judge_labels(table: pd.DataFrame) -> list[str | None]:
    """The judge's label per item of a judgment table, ``None`` where it has none."""
    return [_text_or_none(v) for v in table["judge_label"]]


def _text_or_none(value: object) -> str | None:
    """A label cell as text: ``None`` for a missing cell (``None`` or a float NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def consensus_values(frame: pd.DataFrame, level: str, order: list[str]) -> pd.Series:
    """The experts' strict-majority label per row of ``frame`` (the mean for interval data), ``None``
    without one; a column of ``None`` when ``frame`` has no expert column or no row."""
    experts = expert_columns(frame)
    if not experts or frame.empty:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    values = consensus(frame[experts], level, order=order).values  # type: ignore[arg-type]
    return values.astype(object).where(values.notna(), None)


def expert_consensus(frame: pd.DataFrame, task: TaskType) -> list[str | None]:
    """The experts' consensus label per item of an items frame or judgment table, as text (``None`` without
    one): the reference a judge's labels are compared with."""
    values = consensus_values(frame, task.level, list(task.expert_labels))
    return [_text_or_none(v) for v in values]


def experts_own_agreement(frame: pd.DataFrame, task: TaskType) -> ExpertAgreement | None:
    """The experts' agreement among themselves (the ceiling a judge is read against) over every item of an
    items frame, judged or not; ``None`` with fewer than two expert columns."""
    experts = expert_columns(frame)
    if len(experts) < 2:
        return None
    # An all-missing judge column leaves the experts' own figures untouched.
    ceiling = agreement(
        frame.assign(_judge=None), "_judge", experts, task.level, order=list(task.expert_labels), n_resamples=0
    )
    return ceiling.experts


def subgroup_splits(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """``(name, column)`` of every column of an items frame the statistics are broken down by: the category,
    then each ``subgroup:<name>`` column, those without any value left out. A subgroup column that is
    literally called "category" beside a mapped category is named "category (column)" to keep names unique."""
    out: list[tuple[str, str]] = []
    if frame["category"].notna().any():
        out.append(("category", "category"))
    for column in subgroup_columns(frame):
        name = column.removeprefix(SUBGROUP_PREFIX)
        out.append((f"{name} (column)" if any(name == n for n, _ in out) else name, column))
    return out
