"""Pure helpers that turn the core's results into the tidy tables the pages and charts show.

No streamlit here: these are plain functions over :mod:`selene_eval.presentation.report` results and judgment tables,
so they can be tested (and reused by an HTML report) without a running app.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from selene_eval.core.expert_labels import expert_columns, expert_label_headings
from selene_eval.core.items import SUBGROUP_PREFIX, subgroup_columns
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import finite_or_none
from selene_eval.core.status import READABLE, READABLE_OR_UNJUDGED, JudgmentStatus
from selene_eval.core.tasks import TaskType
from selene_eval.presentation import frames

# confusion_frame and distribution_frame are re-exported: pages reach them as ui.confusion_frame etc.
from selene_eval.presentation.frames import confusion_frame, distribution_frame, present  # noqa: F401
from selene_eval.presentation.report import StudyReport, VariantResult
from selene_eval.stats.registry import METRICS
from selene_eval.ui.text import METRIC_NAMES, fmt_share, fmt_stat, judge_title

STATUS_NAMES: dict[str, str] = {
    JudgmentStatus.OK.value: "read",
    JudgmentStatus.MISSING_RESULT.value: "no result line",
    JudgmentStatus.OUT_OF_RANGE.value: "label outside the allowed set",
    JudgmentStatus.AMBIGUOUS.value: "more than one label",
    JudgmentStatus.PENDING.value: "not judged yet",
    JudgmentStatus.FORCED.value: "forced label (no readable result written)",
    JudgmentStatus.NOT_RENDERABLE.value: "prompt cannot be built for this item",
}
"""Plain words for the parser's statuses."""


UNREADABLE = "Unreadable"
"""Column of :func:`metrics_frame`: judged items without a usable judge label (unreadable or off-scale answers)."""
UNREADABLE_SHARE = "Unreadable share"
FORCED = "Forced"
"""Column of :func:`metrics_frame`: judged items whose label was forced (counted apart; in the statistics
unless the Agreement page leaves them out, then also in ``Unreadable``)."""
EXPERT_ALPHA_COLUMNS = ("Experts' own alpha", "Alpha with the judge as one more expert")


def statistic_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a :func:`metrics_frame` that hold a statistic (not a count, a name or a share)."""
    names = {*METRIC_NAMES.values(), *EXPERT_ALPHA_COLUMNS}
    return [c for c in frame.columns if c in names]


def metrics_text(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`metrics_frame` (or it with interval columns) as shown: statistics as text, rounded like every other
    figure of the app (the CLI, the report, the Studies page), ``n/a`` where undefined (never an empty or
    ``None`` cell); the unreadable share as a percentage."""
    out = frame.copy()
    for column in statistic_columns(out):
        out[column] = [fmt_stat(finite_or_none(v)) for v in out[column]]
    if UNREADABLE_SHARE in out.columns:
        out[UNREADABLE_SHARE] = [fmt_share(finite_or_none(v)) for v in out[UNREADABLE_SHARE]]
    return out


def undefined_reasons(report: StudyReport, judges: dict[str, JudgeSpec]) -> list[tuple[str, str]]:
    """``(where, why)`` for the n/a cells of :func:`metrics_frame`: one line per result and reason, the
    statistics named in words (``Cohen's kappa, Krippendorff's alpha: it would rest on 2 compared items, ...``)."""
    names = set(METRICS[report.level])  # type: ignore[index]
    out = []
    for result in report.results:
        a = result.agreement
        if a is None:
            continue
        by_reason: dict[str, list[str]] = {}
        for name, why in a.undefined.items():
            if name in names:
                by_reason.setdefault(why, []).append(METRIC_NAMES.get(name, name))
        for why, stats in by_reason.items():
            out.append((result_title(result, judges), f"{', '.join(stats)}: {why}"))
    return out


def cell(value: object) -> str | None:
    """A table cell as text, ``None`` when empty (pandas may hold missing text as NaN)."""
    return str(value) if present(value) else None


def result_title(result: VariantResult, judges: dict[str, JudgeSpec]) -> str:
    """``<judge> · variant <id>``, the judge labelled as demo/scripted where it is one."""
    spec = judges.get(result.judge_id)
    name = judge_title(spec) if spec is not None else result.judge_name
    return f"{name} · variant {result.variant_id}"


def metrics_frame(report: StudyReport, judges: dict[str, JudgeSpec]) -> pd.DataFrame:
    """One row per judge x prompt variant: coverage, every statistic of the task's level, exclusions.

    ``judges`` maps judge ids to their specs (for display names). Undefined statistics are ``None``. When
    there are two or more experts, ``Experts' own alpha`` (the experts among themselves, the same for every
    row) stands beside ``Alpha with the judge as one more expert``.
    """
    names = list(METRICS[report.level])  # type: ignore[index]
    rows = []
    for result in report.results:
        spec = judges.get(result.judge_id)
        row: dict[str, object] = {
            "Judge": judge_title(spec) if spec is not None else result.judge_name,
            "Prompt variant": result.variant_id,
            "Judged": result.n_judged,
            "Not judged yet": result.n_pending,
        }
        a = result.agreement
        row["Compared"] = a.n_compared if a else 0
        for name in names:
            row[METRIC_NAMES.get(name, name)] = finite_or_none(a.metrics.get(name)) if a else None
        if report.experts_agreement is not None:
            row["Experts' own alpha"] = finite_or_none(report.experts_agreement.krippendorff_alpha)
            row["Alpha with the judge as one more expert"] = (
                finite_or_none(a.experts.alpha_with_judge) if a and a.experts else None
            )
        row[FORCED] = result.status_counts.get(JudgmentStatus.FORCED, 0)
        row[UNREADABLE] = a.n_judge_missing if a else 0
        row[UNREADABLE_SHARE] = finite_or_none(a.unparseable_share) if a else None
        row["No expert majority"] = a.n_no_majority if a else 0
        rows.append(row)
    return pd.DataFrame(rows)


def compact_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`metrics_frame` turned on its side for narrow columns: one row per figure, one column per
    judge x variant, values as display text (``n/a`` where undefined, shares as percentages)."""
    if frame.empty:
        return pd.DataFrame()
    columns = [f"{judge} · {variant}" for judge, variant in zip(frame["Judge"], frame["Prompt variant"])]
    body = frame.drop(columns=["Judge", "Prompt variant"])
    rows = {}
    for name in body.columns:
        values = body[name].tolist()
        if name == UNREADABLE_SHARE:
            rows[name] = [fmt_share(v) for v in values]
        elif body[name].dtype.kind in "iu":
            rows[name] = [f"{int(v):,}" for v in values]
        else:
            rows[name] = [fmt_stat(v) for v in values]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("Figure").reset_index()


def with_consensus(table: pd.DataFrame, task: TaskType) -> pd.DataFrame:
    """``table`` plus a ``consensus`` column: the experts' strict-majority label (``None`` without one)."""
    return frames.with_consensus(table, task.level, task.expert_labels)


def disagreements(table: pd.DataFrame) -> pd.DataFrame:
    """Judged items whose readable judge label differs from the expert consensus (``with_consensus`` first)."""
    mask = (
        table["judge_status"].isin(READABLE)
        & table["judge_label"].notna()
        & table["consensus"].notna()
        & (table["judge_label"] != table["consensus"])
    )
    return table[mask]


def unparseable(table: pd.DataFrame) -> pd.DataFrame:
    """Judged items whose output the parser could not read (kept and shown, never hidden)."""
    return table[~table["judge_status"].isin(READABLE_OR_UNJUDGED)]


def item_view(table: pd.DataFrame, *, raw: bool = False) -> pd.DataFrame:
    """The columns an analyst reads, with plain headers: item, expert labels, judge label, texts and why.

    ``raw`` adds the judge's raw output and the parser's verdict (for unparseable judgments).
    """
    experts = expert_columns(table)
    # The key columns first (the item, then the labels being compared), the long texts after them: a wide
    # table scrolls right, and what a reader came for must not be off screen.
    columns: dict[str, str] = {"item_id": "Item"}
    expert_headings = expert_label_headings(experts)  # the canonical labels, not the file's column name
    columns.update(expert_headings)
    if "consensus" in table.columns:
        columns["consensus"] = "Experts' majority"
    columns["judge_label"] = "Judge"
    if raw:
        columns["judge_status"] = "Problem"
    if "category" in table.columns and table["category"].notna().any():
        columns["category"] = "Category"
    for column in subgroup_columns(table):
        columns[column] = column.removeprefix(SUBGROUP_PREFIX)
    columns.update({"input": "Input", "response": "Response"})
    if "response_b" in table.columns and table["response_b"].notna().any():
        columns["response"] = "Response A"
        columns["response_b"] = "Response B"
    columns["judge_reasoning"] = "Judge's reasoning"
    if raw:
        columns["judge_raw"] = "Judge's raw output"
    view = table.loc[:, list(columns)].rename(columns=columns)
    if raw:
        view["Problem"] = view["Problem"].map(lambda s: STATUS_NAMES.get(s, s))
    # An empty cell says what is missing in words; a table never shows a raw None.
    blanks = {
        "Judge": "(no readable label)",
        "Experts' majority": "(no majority)",
        **{heading: "(no label)" for heading in expert_headings.values()},
    }
    view = view.astype(object)
    for column in view.columns:
        view[column] = [v if present(v) else blanks.get(column, "") for v in view[column]]
    return view.reset_index(drop=True)


def filter_items(
    table: pd.DataFrame,
    *,
    consensus_labels: Sequence[str] = (),
    judge_labels: Sequence[str] = (),
    categories: Sequence[str] = (),
    subgroups: Mapping[str, Sequence[str]] | None = None,
    search: str = "",
) -> pd.DataFrame:
    """Rows of ``table`` matching every given filter (empty filters match everything).

    ``subgroups`` maps a subgroup column's name (without its ``subgroup:`` prefix) to the values to keep.

    ``search`` is a case-insensitive substring looked for in the input, response(s) and judge reasoning.
    """
    mask = pd.Series(True, index=table.index)
    if consensus_labels:
        mask &= table["consensus"].isin(list(consensus_labels))
    if judge_labels:
        mask &= table["judge_label"].isin(list(judge_labels))
    if categories:
        mask &= table["category"].isin(list(categories))
    for name, values in (subgroups or {}).items():
        if values:
            mask &= table[f"{SUBGROUP_PREFIX}{name}"].isin(list(values))
    needle = search.strip().casefold()
    if needle:
        hay = pd.Series("", index=table.index)
        for column in ("input", "response", "response_b", "judge_reasoning"):
            if column in table.columns:
                hay = hay + "\n" + table[column].fillna("").astype(str).str.casefold()
        mask &= hay.str.contains(needle, regex=False)
    return table[mask]


def variant_frame(report: StudyReport, judges: dict[str, JudgeSpec], metric: str) -> pd.DataFrame:
    """Tidy rows ``variant``, ``judge``, ``value``, ``n_compared`` of one statistic (for the dot chart)."""
    rows = []
    for result in report.results:
        spec = judges.get(result.judge_id)
        a = result.agreement
        rows.append(
            {
                "variant": result.variant_id,
                "judge": judge_title(spec) if spec is not None else result.judge_name,
                "value": a.metrics.get(metric, math.nan) if a else math.nan,
                "n_compared": a.n_compared if a else 0,
            }
        )
    return pd.DataFrame(rows, columns=["variant", "judge", "value", "n_compared"])
