"""Agreement page sections: judges side by side, and the calibration of one judge's confidence."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from selene_eval.core.expert_labels import expert_label_headings
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError
from selene_eval.presentation import charts
from selene_eval.presentation.compare import (
    JudgeComparison,
    compare_judges,
    default_statistic,
    judge_disagreements,
    judge_variant_grid,
)
from selene_eval.presentation.report import StudyReport, VariantResult
from selene_eval.stats.calibration import CalibrationReport, calibration
from selene_eval.stats.registry import APPLICABLE
from selene_eval.study import Study
from selene_eval.ui.results import _open, fmt_interval, show_chart, stat_name, study_fingerprint
from selene_eval.ui.state import flash, keep_valid
from selene_eval.ui.text import fmt_stat, md_escape, plural


@st.cache_data(show_spinner="Comparing judges…", max_entries=16)
def _cached_comparison(
    path: str, fingerprint: tuple[tuple[str, int, int], ...], variant_id: str, statistic: str, n_resamples: int
) -> JudgeComparison:
    study = _open(path)
    try:
        return compare_judges(study, variant_id=variant_id, statistic=statistic, n_resamples=n_resamples)
    finally:
        study.close()


def _judged_variants(report: StudyReport) -> list[str]:
    """Variants judged by at least two judges (where a comparison means something)."""
    counts: dict[str, int] = {}
    for result in report.results:
        if result.n_judged:
            counts[result.variant_id] = counts.get(result.variant_id, 0) + 1
    return [v for v, n in counts.items() if n >= 2]


def pairs_frame(comparison: JudgeComparison) -> pd.DataFrame:
    """One row per pair of judges: the difference with its interval, the tests and the flips."""
    rows = []
    for pair in comparison.pairs:
        test, flips = pair.test, pair.flips
        rows.append(
            {
                "Judge A": comparison.name_of(pair.a),
                "Judge B": comparison.name_of(pair.b),
                "Items": test.n_items,
                "Difference (A − B)": test.difference,
                "95% interval": fmt_interval(test.interval),
                "p": test.p_value,
                "p (Holm)": test.p_holm,
                "More than noise?": "yes" if test.significant else "no",
                "McNemar p (correctness)": test.mcnemar.p_value,
                "Labels differ": flips.rate,
                "A closer to experts": flips.n_toward_reference,
                "B closer to experts": flips.n_away_from_reference,
                "What differs": ", ".join(pair.build_difference) or "model or settings",
            }
        )
    return pd.DataFrame(rows)


def judges_section(study: Study, report: StudyReport, judges: dict[str, JudgeSpec], n_resamples: int) -> None:
    """Compare the study's judges (shown when at least two judged the same variant)."""
    variants = _judged_variants(report)
    if not variants:
        return
    st.subheader("Judges side by side")
    st.markdown(
        "Every judge that has judged this study, on the **same items**. Differences are tested in pairs: a "
        "paired bootstrap of the statistic's difference (resampling groups when the study has them) and "
        "McNemar's test on which items each judge gets right, with Holm's correction across the pairs."
    )
    level = study.spec.task.level
    statistics = [s for s in APPLICABLE[level] if not s.startswith("icc")]  # type: ignore[index]
    keep_valid("agree_cmp_variant", variants)
    keep_valid("agree_cmp_stat", statistics, default_statistic(level))
    statistic_default = statistics.index(default_statistic(level)) if default_statistic(level) in statistics else 0
    left, right = st.columns(2)
    variant_id = left.selectbox("Prompt variant", variants, key="agree_cmp_variant")
    statistic = right.selectbox(
        "Statistic", statistics, index=statistic_default, key="agree_cmp_stat", format_func=stat_name
    )
    comparison = _cached_comparison(str(study.path), study_fingerprint(study), variant_id, statistic, n_resamples)
    forest = pd.DataFrame(
        [
            {
                "condition": j.name,
                "value": j.value,
                "baseline": False,
                "axis": "",
                "low": j.interval.low if j.interval else math.nan,
                "high": j.interval.high if j.interval else math.nan,
            }
            for j in comparison.judges
        ]
    )
    if len(forest):
        show_chart(
            charts.forest_plot(forest, metric_title=stat_name(statistic)).properties(
                title=f"{stat_name(statistic)} per judge (95% interval)"
            )
        )
    if comparison.experts_alpha is not None and math.isfinite(comparison.experts_alpha):
        st.caption(f"For scale: the experts' own Krippendorff's alpha is {fmt_stat(comparison.experts_alpha)}.")
    frame = pairs_frame(comparison)
    if len(frame):
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            column_config={
                "Difference (A − B)": st.column_config.NumberColumn(format="%+.3f"),
                "p": st.column_config.NumberColumn(format="%.4f", help="The test named in the notes below."),
                "p (Holm)": st.column_config.NumberColumn(
                    format="%.4f", help="Corrected for testing several pairs at once."
                ),
                "McNemar p (correctness)": st.column_config.NumberColumn(format="%.4f"),
                "Labels differ": st.column_config.NumberColumn(
                    format="percent", help="Share of items the two judges label differently."
                ),
            },
        )
        st.caption(
            "p: McNemar's test when the statistic is accuracy, else the paired bootstrap. 'More than noise' means "
            "p (Holm) < 0.05. When only the quantization differs, the row measures what 4-bit costs."
        )
    grid = judge_variant_grid(report, statistic)
    if grid["variant"].nunique() >= 2:
        show_chart(charts.judge_variant_heatmap(grid, metric_title=stat_name(statistic)))
    _disagreement_table(study, judges, comparison, variant_id)


def _disagreement_table(
    study: Study, judges: dict[str, JudgeSpec], comparison: JudgeComparison, variant_id: str
) -> None:
    ids = [j.judge_id for j in comparison.judges if j.judge_id in judges]
    if len(ids) < 2:
        return
    st.markdown("**Where two judges disagree.** Both reasonings, and the experts' labels, side by side.")
    keep_valid("agree_cmp_a", ids, ids[0])
    keep_valid("agree_cmp_b", ids, ids[1])
    left, right = st.columns(2)
    a = left.selectbox("Judge A", ids, key="agree_cmp_a", format_func=comparison.name_of)
    # Judge B starts on the second judge, so the first view already compares two.
    b = right.selectbox("Judge B", ids, index=1, key="agree_cmp_b", format_func=comparison.name_of)
    if a == b:
        st.caption("Pick two different judges.")
        return
    rows = judge_disagreements(study, judges[a], judges[b], variant_id)
    if rows.empty:
        st.caption("These two judges give the same label on every item both judged.")
        return
    counts = rows["closer"].value_counts()
    st.caption(
        f"{plural(len(rows), 'item')} labelled differently: {md_escape(comparison.name_of(a))} matches the experts "
        f"on {counts.get('a', 0)}, {md_escape(comparison.name_of(b))} on {counts.get('b', 0)}, neither on "
        f"{counts.get('neither', 0)}."
    )
    shown = rows.rename(columns=expert_label_headings(list(rows.columns)))
    shown = shown.rename(
        columns={
            "item_id": "Item",
            "input": "Question",
            "response": "Response",
            "consensus": "Experts' majority",
            "label_a": "A says",
            "reasoning_a": "A's reasoning",
            "label_b": "B says",
            "reasoning_b": "B's reasoning",
            "closer": "Matches experts",
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")


def rename_judges(study: Study, judges: dict[str, JudgeSpec]) -> None:
    """Give judges short names (shown in every table and chart); the judgments are untouched."""
    if not judges:
        return
    with st.expander("Name the judges"):
        ids = list(judges)
        keep_valid("agree_rename_judge", ids)
        judge_id = st.selectbox("Judge", ids, key="agree_rename_judge", format_func=lambda i: judges[i].display_name)
        spec = judges[judge_id]
        st.caption(
            f"Model {md_escape(spec.model)} · backend {md_escape(spec.backend)} · quantization "
            f"{md_escape(spec.quantization)} · mode {md_escape(spec.mode)} · id {md_escape(judge_id)}"
        )
        name = st.text_input(
            "Short name",
            value=spec.name or "",
            max_chars=80,
            key=f"agree_rename_{judge_id}",
            placeholder=spec.model_copy(update={"name": None}).display_name,
        )
        if st.button("Save the name", key="agree_rename_save"):
            try:
                study.judgments.rename_judge(judge_id, name)
            except SeleneEvalError as exc:
                st.error(md_escape(str(exc)))
                return
            flash("success", "Judge renamed.")
            st.rerun()


def planning_section(result: VariantResult) -> None:
    """How many expert-labelled items would give an interval of the width the user needs."""
    plan = result.planning()
    if plan is None:
        return
    with st.expander("How many expert labels do I need?"):
        st.markdown(
            f"With **{plan.n_compared}** items compared, the 95% interval of {stat_name(plan.statistic)} is "
            f"**{plan.width:.2f}** wide. Interval widths shrink like 1/√n, so treating this study as a pilot:"
        )
        target = st.number_input(
            "Interval width you need", min_value=0.01, max_value=1.0, value=0.1, step=0.01, key="agree_plan_width"
        )
        needed = result.planning(widths=(float(target),))
        if needed is not None:
            n = needed.items_for_width[float(target)]
            st.metric(
                "Items with expert labels needed",
                f"{n:,}",
                delta=f"{n - plan.n_compared:+,} vs now" if n != plan.n_compared else None,
                delta_color="off",
            )
        st.caption(
            "A planning figure from this pilot: re-check the width once the labels are in. Items that share "
            "a question count as one group, so a clustered design needs more."
        )


def calibration_for(table: pd.DataFrame, task: TaskType) -> CalibrationReport | None:
    """Calibration of the judge in a :func:`~selene_eval.results.table.judgment_table` (with its consensus)."""
    if "judge_probs" not in table.columns or not table["judge_probs"].notna().any():
        return None
    reference = table["consensus"].tolist() if "consensus" in table.columns else [None] * len(table)
    labels = [v if isinstance(v, str) else None for v in table["judge_label"]]
    probs = [p if isinstance(p, dict) else None for p in table["judge_probs"]]
    return calibration(
        labels,
        probs,
        [r if isinstance(r, str) else None for r in reference],
        order=list(task.judge_labels),
        ordinal=task.level == "ordinal",
    )


def calibration_section(table: pd.DataFrame, task: TaskType) -> None:
    """Reliability diagram, ECE and the coverage-agreement curve, when the judge gave label probabilities."""
    report = calibration_for(table, task)
    st.subheader("Is the judge's confidence worth anything?")
    if report is None:
        st.caption(
            "This judge gave no label probabilities (a scripted judge, or a server that returns no logprobs), "
            "so there is nothing to calibrate. The local transformers backend and servers with logprobs give them."
        )
        return
    cols = st.columns(4)
    cols[0].metric(
        "Expected calibration error",
        fmt_stat(report.ece),
        help="Mean gap between confidence and the share right, over confidence bins (0 is perfect).",
    )
    cols[1].metric(
        "Brier score", fmt_stat(report.brier), help="Mean squared error of the probabilities (lower is better)."
    )
    cols[2].metric("Mean confidence", fmt_stat(report.mean_confidence))
    cols[3].metric("Share right", fmt_stat(report.accuracy))
    left, right = st.columns(2)
    with left:
        show_chart(charts.reliability_diagram(pd.DataFrame([b.to_dict() for b in report.reliability])))
    with right:
        show_chart(charts.coverage_chart(pd.DataFrame([p.to_dict() for p in report.coverage])))
    notes = [f"{plural(report.n_compared, 'verdict')} with probabilities and an expert majority."]
    if report.n_without_probs:
        notes.append(f"{report.n_without_probs} without probabilities are left out.")
    if report.expected_score_spearman is not None:
        notes.append(f"Expected score vs experts (Spearman): {fmt_stat(report.expected_score_spearman)}.")
    if report.note:
        notes.append(report.note)
    st.caption(" ".join(notes))
