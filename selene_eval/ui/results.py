"""Agreement, robustness and studies pages: the study report (cached), tables and charts of it."""

from __future__ import annotations

import math
import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from selene_eval.core.expert_labels import expert_columns, expert_labels_text, expert_name
from selene_eval.core.items import SUBGROUP_PREFIX, subgroup_columns
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.status import NOT_JUDGED, READABLE, JudgmentStatus
from selene_eval.core.tasks import TaskType
from selene_eval.presentation import charts
from selene_eval.presentation.report import StudyReport, VariantResult, study_report
from selene_eval.results.table import judgment_table
from selene_eval.stats.agreement import SMALL_N
from selene_eval.stats.registry import METRICS, statistic_name
from selene_eval.stats.uncertainty import Interval
from selene_eval.study import Study, StudyStore
from selene_eval.study.store import LOCK_FILE
from selene_eval.ui.common import plain
from selene_eval.ui.state import default, keep_valid, keep_valid_many, put
from selene_eval.ui.text import METRIC_HELP, METRIC_NAMES, fmt_share, fmt_stat, md_escape, plural
from selene_eval.ui.views import (
    UNREADABLE,
    UNREADABLE_SHARE,
    cell,
    confusion_frame,
    disagreements,
    filter_items,
    item_view,
    metrics_frame,
    metrics_text,
    result_title,
    undefined_reasons,
    unparseable,
)


def study_fingerprint(study: Study) -> tuple[tuple[str, int, int], ...]:
    """What changes when a study's spec, items or judgments change (file names, mtimes, sizes).

    Left out: what changes when nothing was written. SQLite's shared-memory index (``-shm``) and an empty
    write-ahead log (``-wal``) appear when the database is opened and vanish when the last connection
    closes, and the run lock is touched by every run; counting them made every visit of the Agreement page
    recompute its statistics (seconds on a large study). A write-ahead log that holds data is counted, so a
    run in progress still shows its new judgments.
    """
    out = []
    for entry in sorted(os.scandir(study.path), key=lambda e: e.name):
        if not entry.is_file() or entry.name.endswith("-shm") or entry.name == LOCK_FILE:
            continue
        stat = entry.stat()
        if entry.name.endswith("-wal") and stat.st_size == 0:
            continue
        out.append((entry.name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def _open(path: str) -> Study:
    folder = Path(path)
    return StudyStore(folder.parent).open(folder.name)


@st.cache_data(show_spinner="Computing agreement…", max_entries=16)
def _cached_report(
    path: str,
    fingerprint: tuple[tuple[str, int, int], ...],
    n_resamples: int = 1000,
    seed: int = 0,
    include_forced: bool = True,
) -> StudyReport:
    study = _open(path)
    try:
        return study_report(study, n_resamples=n_resamples, seed=seed, include_forced=include_forced)
    finally:
        study.close()


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_table(
    path: str,
    fingerprint: tuple[tuple[str, int, int], ...],
    judge_json: str,
    variant_id: str,
    include_forced: bool = True,
) -> pd.DataFrame:
    study = _open(path)
    try:
        return judgment_table(
            study, JudgeSpec.model_validate_json(judge_json), variant_id, include_forced=include_forced
        )
    finally:
        study.close()


def report_for(study: Study) -> StudyReport:
    """``study_report(study)`` with the session's bootstrap settings (:func:`bootstrap_settings`),
    recomputed only when the study's files or those settings change."""
    n_resamples, seed = bootstrap_settings()
    return _cached_report(str(study.path), study_fingerprint(study), n_resamples, seed, include_forced())


RESAMPLE_CHOICES = (0, 200, 1000, 2000, 5000, 10000)


def bootstrap_settings() -> tuple[int, int]:
    """``(n_resamples, seed)`` chosen on the Agreement page (default 1,000 resamples, seed 0)."""
    return int(st.session_state.get("app_resamples", 1000)), int(st.session_state.get("app_seed", 0))


def include_forced() -> bool:
    """Whether forced labels (``JudgeSpec.force_verdict``) enter the statistics (Agreement page; default yes)."""
    return bool(st.session_state.get("app_include_forced", True))


def bootstrap_controls(study: Study | None = None) -> None:
    """The resampling settings: how many bootstrap resamples, and the seed (both reproducible); with ``study``,
    also the study's minimum of compared items (:func:`minimum_control`)."""
    with st.expander("Statistics settings: intervals, fewest compared items"):
        if study is not None:
            minimum_control(study)
        left, right = st.columns(2)
        default("app_resamples", 1000)
        default("app_seed", 0)
        left.selectbox(
            "Bootstrap resamples",
            RESAMPLE_CHOICES,
            key="app_resamples",
            format_func=lambda n: "none (no intervals)" if n == 0 else f"{n:,}",
            help="More resamples give steadier interval bounds and take longer; 1,000 is the usual choice.",
        )
        right.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key="app_seed",
            help="The same seed gives the same intervals, so a report can be reproduced.",
        )
        default("app_include_forced", True)
        st.checkbox(
            "Include forced labels",
            key="app_include_forced",
            help="A forced label is the judge's most probable allowed label, read after its answer when the answer "
            "wrote no readable result (the judge setting 'Force a verdict'). Untick to read every statistic "
            "without them: those answers then count as unreadable.",
        )


def minimum_control(study: Study) -> None:
    """The study's minimum of compared items, saved in the study (``min_compared`` in study.yaml): a statistic
    that would rest on fewer is shown as n/a, here, on the Studies page, in the CLI and in the HTML report."""
    key = "agree_min_compared"
    if st.session_state.get("agree_min_for") != (study.slug, study.spec.min_compared):
        put(key, study.spec.min_compared)  # another study, or the file changed: start from what is saved
    chosen = int(
        st.number_input(
            "Fewest compared items for a statistic",
            min_value=1,
            max_value=1_000_000,
            step=1,
            key=key,
            help="A statistic that would rest on fewer compared items (judge label and experts' majority) is shown as "
            "n/a with that reason: a kappa from two items would read as a finding. Saved with the study.",
        )
    )
    if chosen != study.spec.min_compared:
        study.spec = study.spec.model_copy(update={"min_compared": chosen})
        study.save_spec()
    put("agree_min_for", (study.slug, chosen))


def table_for(study: Study, judge: JudgeSpec, variant_id: str) -> pd.DataFrame:
    """``judgment_table(study, judge, variant_id)``, recomputed only when the study's files change."""
    return _cached_table(
        str(study.path), study_fingerprint(study), judge.model_dump_json(), variant_id, include_forced()
    )


def judges_of(study: Study) -> dict[str, JudgeSpec]:
    """Every judge with stored judgments, by judge id."""
    return {spec.judge_id: spec for spec in study.judgments.judges()}


_COUNT_HELP = {
    "Judged": "Items with a stored judgment from this judge and prompt variant.",
    "Not judged yet": "Items still to run (start the run again to judge them).",
    "Compared": "Items with both a readable judge label and an expert majority: the statistics use these.",
    UNREADABLE: "Judge answers without a readable label: kept, counted, and left out of the statistics.",
    "No expert majority": "Items where the experts split evenly: left out of the judge-vs-experts statistics.",
}
_STAT_HELP = {
    **{METRIC_NAMES[k]: v for k, v in METRIC_HELP.items()},
    "Experts' own alpha": "Krippendorff's alpha among the experts alone: the ceiling a judge can hope for.",
    "Alpha with the judge as one more expert": "Krippendorff's alpha with the judge added as one more expert. "
    "Close to the experts' own alpha: the judge labels like one more expert.",
}


def metric_columns_config(frame: pd.DataFrame) -> dict[str, object]:
    """Formats and help texts for the columns of :func:`selene_eval.ui.views.metrics_text` (statistics are text
    there: ``n/a`` where undefined, and rounded as everywhere else in the app)."""
    config: dict[str, object] = {}
    for column in frame.columns:
        if column in _COUNT_HELP:
            config[column] = st.column_config.NumberColumn(column, format="%d", help=_COUNT_HELP[column])
        elif column == UNREADABLE_SHARE:
            config[column] = st.column_config.TextColumn(column, help=_COUNT_HELP[UNREADABLE])
        elif column in _STAT_HELP:
            config[column] = st.column_config.TextColumn(column, help=_STAT_HELP[column])
    return config


stat_name = statistic_name
"""Display name of a statistic key (``cohen_kappa`` -> ``Cohen's kappa``)."""


def fmt_interval(interval: Interval | None, digits: int = 2, sep: str = " – ") -> str:
    """``[0.61 – 0.93]`` (``sep`` between the bounds), or an empty string when there is no interval."""
    if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return ""
    return f"[{interval.low:.{digits}f}{sep}{interval.high:.{digits}f}]".replace("-", "−")


def with_interval_columns(frame: pd.DataFrame, report: StudyReport) -> pd.DataFrame:
    """``frame`` (one row per result) with a ``<statistic> 95% CI`` text column after each statistic."""
    names = [n for n in METRICS[report.level] if stat_name(n) in frame.columns]  # type: ignore[index]
    if frame.empty or not any(r.agreement and r.agreement.intervals for r in report.results):
        return frame
    out = frame.copy()
    for name in reversed(names):
        column = stat_name(name)
        values = [fmt_interval(r.agreement.intervals.get(name)) if r.agreement else "" for r in report.results]
        label = _ci_label(report)
        out.insert(out.columns.get_loc(column) + 1, f"{column} {label}", values)
    return out


def _ci_label(report: StudyReport) -> str:
    levels = {r.agreement.ci_level for r in report.results if r.agreement and r.agreement.intervals}
    return f"{levels.pop():.0%} CI" if len(levels) == 1 else "CI"


def metrics_table(report: StudyReport, judges: dict[str, JudgeSpec]) -> pd.DataFrame:
    """Show one row of statistics per judge x prompt variant, each with its interval; returns the frame shown."""
    frame = metrics_text(with_interval_columns(metrics_frame(report, judges), report))
    config = metric_columns_config(frame)
    for column in frame.columns:
        if column.endswith(" CI"):
            config[column] = st.column_config.TextColumn(
                column,
                help="Bootstrap confidence interval (resampling items, or whole groups when the study "
                "maps a group column).",
            )
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    reasons = undefined_reasons(report, judges)
    if reasons:
        lines = "\n".join(f"- {md_escape(where)}: {md_escape(why)}" for where, why in reasons)
        st.caption(f"**n/a** means the statistic is undefined here:\n{lines}")
    st.caption(
        "The CI columns give the range the statistic would plausibly take on another sample of items like these."
    )
    return frame


def statistics_detail(result: VariantResult) -> None:
    """Every statistic of one result with its interval (including Gwet's AC1 and the ICCs), and the warnings."""
    a = result.agreement
    if a is None:
        return
    for warning in a.warnings:
        st.warning(md_escape(warning), icon=":material/warning:")
    rows = []
    for name, value in {**a.metrics, **a.extra_metrics}.items():
        interval = a.intervals.get(name)
        rows.append(
            {
                "Statistic": stat_name(name),
                "Value": fmt_stat(value),
                f"{a.ci_level:.0%} interval": fmt_interval(interval, 3) or "—",
                "Method, or why n/a": (
                    f"n/a: {a.reason(name)}"
                    if a.reason(name)
                    else interval.method
                    if interval is not None and math.isfinite(interval.low)
                    else ""
                ),
            }
        )
    with st.expander("All statistics of this result, with intervals"):
        st.table(pd.DataFrame(rows).set_index("Statistic"))
        if a.intervals:
            unit = f"whole groups of {md_escape(a.group)}" if a.group else "items"
            st.caption(f"{a.n_resamples:,} bootstrap resamples of {unit}, seed {a.seed}.")
        else:
            st.caption("No intervals were computed for this result.")


def ceiling_section(result: VariantResult) -> None:
    """Could the judge stand in for an expert? Leave-one-out and the substitution test (>= 2 experts)."""
    a = result.agreement
    if a is None or a.ceiling is None:
        return
    ceiling = a.ceiling
    st.subheader("Could the judge stand in for an expert?")
    st.markdown(
        "Each expert is compared with the consensus of the **other** experts, and the judge with that same "
        "consensus on the same items (Krippendorff's alpha). A judge as good as an expert scores about as high."
    )
    rows = []
    loo = ceiling.leave_one_out
    for expert_row, judge_row in zip(loo[0::2], loo[1::2]):
        rows.append(
            {
                "Expert left out": md_escape(expert_name(expert_row.rater_a)),
                "Expert vs the others' consensus": fmt_stat(expert_row.krippendorff_alpha),
                "Judge vs the same consensus": fmt_stat(judge_row.krippendorff_alpha),
                "Items": f"{expert_row.n:,}",
            }
        )
    st.table(pd.DataFrame(rows).set_index("Expert left out"))
    st.markdown(
        "**Substitution test.** Krippendorff's alpha of the expert panel with one expert replaced by the judge, "
        "minus the panel's own alpha. Near 0 or above: the panel is as reliable with the judge in that seat."
    )
    for sub in ceiling.substitution:
        interval = a.substitution_intervals.get(sub.replaced)
        diff = "n/a" if not math.isfinite(sub.difference) else f"{sub.difference:.2f}".replace("-", "−")
        ci = fmt_interval(interval, sep=", ")
        st.markdown(
            f"- Replacing **{md_escape(expert_name(sub.replaced))}** by the judge changes the experts' alpha by "
            f"{md_escape(diff)}" + (f" {md_escape(ci)}" if ci else "") + "."
        )
    if a.substitution_intervals:
        st.caption(
            f"In brackets: {a.ci_level:.0%} percentile bootstrap interval "
            f"({next(iter(a.substitution_intervals.values())).n_resamples:,} resamples)."
        )


def expert_figures(report: StudyReport, result: VariantResult | None) -> None:
    """The experts' agreement among themselves beside the judge's, as big numbers."""
    ea = report.experts_agreement
    if ea is None:
        st.caption(
            "With a single expert there is no expert-vs-expert figure to compare with; map several expert "
            "columns to see how much the experts themselves agree."
        )
        return
    a = result.agreement if result else None
    st.markdown("**Krippendorff's alpha**: the experts among themselves, and the judge beside them")
    cols = st.columns(3)
    cols[0].metric(
        f"Alpha, {ea.n_experts} experts among themselves",
        fmt_stat(ea.krippendorff_alpha),
        help="Krippendorff's alpha among the experts alone: how far the experts agree with each other.",
    )
    judge_alpha = a.metrics.get("krippendorff_alpha") if a else None
    why = a.reason("krippendorff_alpha") if a else "nothing judged yet"
    cols[1].metric(
        "Alpha, judge vs experts' majority",
        fmt_stat(judge_alpha),
        help="Krippendorff's alpha between the judge and the experts' majority label."
        + (f" n/a: {why}." if fmt_stat(judge_alpha) == "n/a" and why else ""),
    )
    cols[2].metric(
        "Alpha, experts + the judge as one more",
        fmt_stat(a.experts.alpha_with_judge) if a and a.experts else "n/a",
        help="Krippendorff's alpha of the experts with the judge added as one more expert. If this stays close to "
        "the experts' own alpha, the judge labels like one more expert.",
    )


def result_picker(report: StudyReport, judges: dict[str, JudgeSpec], key: str) -> VariantResult | None:
    """Choose one judge x variant to look at in detail."""
    results = [r for r in report.results if r.n_judged]
    if len(results) <= 1:
        return results[0] if results else None
    indices = list(range(len(results)))
    keep_valid(key, indices, 0)
    index = st.selectbox("Look in detail at", indices, key=key, format_func=lambda i: result_title(results[i], judges))
    return results[index]


def notes(result: VariantResult) -> None:
    """The statistics' notes: every exclusion and every undefined figure, with its reason."""
    a = result.agreement
    if a is None:
        return
    st.caption(
        f"Compared with the experts' majority on {plural(a.n_compared, 'item')} of {a.n_items:,} judged: "
        f"{a.n_no_majority:,} without an expert majority, {a.n_unlabelled:,} without expert labels, "
        f"{a.n_judge_missing:,} without a readable judge label."
    )
    for note in a.notes:
        st.caption(f"Note: {md_escape(note)}")


def disagreement_browser(table: pd.DataFrame, task: TaskType, *, min_compared: int = 1) -> None:
    """The items where the judge's label differs from the experts' majority: filters, a table, one in full.

    ``table`` is a judgment table with a ``consensus`` column (:func:`selene_eval.ui.views.with_consensus`).
    ``min_compared`` (the study's minimum): with fewer compared items, no disagreement is no finding.
    """
    rows = disagreements(table)
    if rows.empty:
        n = int(
            (table["judge_status"].isin(READABLE) & table["judge_label"].notna() & table["consensus"].notna()).sum()
        )
        if n == 0:
            st.info(
                "No item could be compared: none has both a readable judge label and an experts' majority, so "
                "there is nothing to agree or disagree on yet.",
                icon=":material/info:",
            )
        elif n < min_compared:
            st.info(
                f"No disagreement on the {plural(n, 'compared item')}, but that is fewer than this study's minimum "
                f"of {min_compared}: too few to conclude anything. Judge more items.",
                icon=":material/info:",
            )
        else:
            st.success(
                f"On all {plural(n, 'compared item')} the judge gave the experts' majority label.",
                icon=":material/check_circle:",
            )
        return
    labels = list(task.expert_labels)
    has_category = "category" in rows.columns and rows["category"].notna().any()
    cols = st.columns(4 if has_category else 3)
    for key, options in (("agree_consensus", labels), ("agree_judge", list(task.judge_labels))):
        keep_valid_many(key, options)
    with cols[0]:
        consensus_labels = st.multiselect("Experts said", labels, key="agree_consensus")
    with cols[1]:
        judge_labels = st.multiselect("Judge said", list(task.judge_labels), key="agree_judge")
    categories: list[str] = []
    if has_category:
        options = sorted(str(c) for c in rows["category"].dropna().unique())
        keep_valid_many("agree_category", options)
        with cols[2]:
            categories = st.multiselect("Category", options, key="agree_category")
    with cols[-1]:
        search = st.text_input(
            "Search the texts", key="agree_search", placeholder="a word in the question, answer or reasoning"
        )
    chosen: dict[str, list[str]] = {}
    extra = subgroup_columns(rows)
    for index, (column, place) in enumerate(zip(extra, st.columns(len(extra)) if extra else [])):
        name = column.removeprefix(SUBGROUP_PREFIX)
        options = sorted(str(v) for v in rows[column].dropna().unique())
        # Keyed by position: a column name is user text, and widget keys must stay stable and valid.
        key = f"agree_subgroup_{index}"
        keep_valid_many(key, options)
        with place:
            chosen[name] = st.multiselect(name, options, key=key)
    shown = filter_items(
        rows,
        consensus_labels=consensus_labels,
        judge_labels=judge_labels,
        categories=categories,
        subgroups=chosen,
        search=search,
    )
    st.caption(f"{plural(len(shown), 'item')} shown of {plural(len(rows), 'disagreement')}.")
    st.dataframe(item_view(shown), hide_index=True, width="stretch", column_config=_TEXT_COLUMNS)
    if shown.empty:
        return
    read_in_full(shown, "agree_read")


_TEXT_COLUMNS = {
    "Item": st.column_config.TextColumn("Item", pinned=True),  # stays in view when the texts scroll
    **{
        name: st.column_config.TextColumn(name, width="large")
        for name in ("Input", "Response", "Response A", "Response B", "Judge's reasoning", "Judge's raw output")
    },
}


def read_in_full(rows: pd.DataFrame, key: str) -> None:
    """Pick one item of ``rows`` and read its texts in full, as plain text."""
    ids = [str(i) for i in rows["item_id"]]
    keep_valid(key, list(range(len(ids))))
    with st.expander("Read one item in full"):
        index = st.selectbox("Item", list(range(len(ids))), key=key, format_func=lambda i: ids[i])
        row = {k: cell(v) for k, v in rows.iloc[index].items()}
        experts = expert_labels_text({c: row[c] for c in expert_columns(rows)})
        plain(row["input"], label="Input")
        if row.get("context"):
            plain(row["context"], label="Context")
        plain(row["response"], label="Response A" if row.get("response_b") else "Response")
        if row.get("response_b"):
            plain(row["response_b"], label="Response B")
        if row.get("reference"):
            plain(row["reference"], label="Reference answer")
        plain(
            f"Experts' labels: {experts}\nExperts' majority: {row.get('consensus') or '(none)'}\n"
            f"Judge: {row.get('judge_label') or '(unreadable)'}"
            + (" (forced: no readable result was written)" if row.get("judge_status") == JudgmentStatus.FORCED else ""),
            label="Labels",
        )
        plain(row.get("judge_reasoning"), label="Judge's reasoning")


def unparseable_table(table: pd.DataFrame) -> None:
    """Judge answers without a readable label: how many, and each one with its raw output."""
    judged = int((~table["judge_status"].isin(NOT_JUDGED)).sum())
    bad = unparseable(table)
    forced = int((table["judge_status"] == JudgmentStatus.FORCED).sum())
    if forced:
        st.info(
            f"{forced:,} of {judged:,} judge answers wrote no readable result; their label was forced (the judge's "
            "most probable allowed label after the result marker) and is counted apart.",
            icon=":material/info:",
        )
    if bad.empty:
        if not forced:
            st.success(f"All {judged:,} judge answers had a readable label.", icon=":material/check_circle:")
        return
    st.warning(
        f"{plural(len(bad), 'answer')} of {judged:,} ({fmt_share(len(bad) / judged if judged else None)}) had no "
        "readable label. They are kept and left out of the statistics; a high share is itself a finding "
        "about the prompt or the model.",
        icon=":material/warning:",
    )
    if "judge_finish" in bad.columns:
        cut = int((bad["judge_finish"] == "length").sum())
        if cut:
            st.caption(
                f"{plural(cut, 'answer')} of these stopped at the token limit before giving a label: raise "
                "**Longest answer (tokens)** under *Advanced* on the Run page and run again."
            )
    st.dataframe(item_view(bad, raw=True), hide_index=True, width="stretch", column_config=_TEXT_COLUMNS)


def confusion_section(result: VariantResult, labels: list[str]) -> None:
    """The confusion matrix of one result, or why there is none (never an all-zero matrix)."""
    a = result.agreement
    if a is None or a.confusion is None:
        return
    if not a.n_compared:
        st.info(
            "No confusion matrix: no item has both a readable judge label and an experts' majority.",
            icon=":material/info:",
        )
        return
    show_chart(charts.confusion_heatmap(confusion_frame(a.confusion), labels=labels))
    st.caption(
        f"Rows: the experts' majority label; columns: the judge's. The diagonal counts agreements "
        f"({plural(a.n_compared, 'compared item')})."
    )


def show_chart(chart: alt.TopLevelMixin) -> None:
    """Display an Altair chart from :mod:`selene_eval.presentation.charts` at the container's width."""
    st.altair_chart(chart, width="stretch")


def subgroup_table(result: VariantResult) -> None:
    """Agreement within each value of the category and of each subgroup column the study maps, with
    intervals; one column at a time when there are several."""
    if not result.subgroups:
        return
    names = [split.by for split in result.subgroups]
    st.subheader(f"Agreement by {names[0]}" if len(names) == 1 else "Agreement by subgroup")
    # Start on the first column that splits the items at all (a category with one value says nothing).
    informative = next((split.by for split in result.subgroups if len(split.groups) > 1), names[0])
    keep_valid("agree_split", names, informative)
    chosen = st.radio("Break down by", names, key="agree_split", horizontal=True) if len(names) > 1 else names[0]
    split = next((s for s in result.subgroups if s.by == chosen), result.subgroups[0])
    head = split.by[:1].upper() + split.by[1:]
    rows = []
    for value, a in split.groups:
        row: dict[str, object] = {
            head: md_escape(value) if value is not None else f"(no {split.by})",
            "Compared": f"{a.n_compared:,}",
        }
        for name in ("accuracy", "cohen_kappa", "krippendorff_alpha"):
            if name in a.metrics:
                ci = fmt_interval(a.intervals.get(name))
                row[stat_name(name)] = fmt_stat(a.metrics[name]) + (f" {ci}" if ci else "")
        if a.n_compared < a.min_compared:
            row["Note"] = f"n/a: fewer than this study's minimum of {a.min_compared} compared items"
        else:
            row["Note"] = f"fewer than {SMALL_N} items" if a.n_compared < SMALL_N else ""
        rows.append(row)
    st.table(pd.DataFrame(rows).set_index(head))
    if split.omitted:
        st.caption(
            f"{plural(split.omitted, 'less frequent value')} of {md_escape(split.by)} left out: only the most "
            "frequent values get statistics of their own."
        )
    if any(a.n_compared < SMALL_N for _, a in split.groups):
        st.caption(
            f"Subgroups with fewer than {SMALL_N} compared items give unstable figures and wide intervals: "
            "read them together with the overall result, not on their own."
        )
