"""Step 4 · Agreement: how well the judge agrees with the experts, and where it does not."""

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.presentation import charts
from selene_eval.ui.common import (
    opened_study,
    page_link,
    page_title,
    show_error,
    study_caption,
)
from selene_eval.ui.exports import open_study_downloads
from selene_eval.ui.judge_comparison import (
    calibration_section,
    judges_section,
    planning_section,
    rename_judges,
)
from selene_eval.ui.profile import error_profile_section, unlabelled_section
from selene_eval.ui.results import (
    bootstrap_controls,
    bootstrap_settings,
    ceiling_section,
    confusion_section,
    disagreement_browser,
    expert_figures,
    judges_of,
    metrics_table,
    notes,
    report_for,
    result_picker,
    show_chart,
    statistics_detail,
    subgroup_table,
    table_for,
    unparseable_table,
)
from selene_eval.ui.state import declare, show_flash
from selene_eval.ui.views import distribution_frame, with_consensus

declare("agree", pick=0, consensus=[], judge=[], category=[], search="", read=0, split=None)


def main() -> None:
    """Statistics per judge x variant, then one of them in detail."""
    page_title("agreement")
    with opened_study("see how well the judge agrees with its experts") as study:
        if study is None:
            return
        study_caption(study)
        show_flash()
        bootstrap_controls(study)
        try:
            report = report_for(study)
            judges = judges_of(study)
        except SeleneEvalError as exc:
            show_error(exc, title="The statistics cannot be computed")
            return
        task = study.spec.task
        if not any(r.n_judged for r in report.results):
            st.info("No judgments yet. Run the judge first; the statistics appear here as soon as some exist.")
            page_link("run", "Go to 3 · Run the judge")
            expert_figures(report, None)
            return

        st.subheader("Agreement with the experts")
        st.markdown(
            "One row per judge and prompt variant. The judge's label is compared with the **experts' majority "
            "label** on every item that has both."
        )
        metrics_table(report, judges)
        rename_judges(study, judges)
        judges_section(study, report, judges, bootstrap_settings()[0])
        result = result_picker(report, judges, "agree_pick")
        if result is None:
            return
        expert_figures(report, result)
        statistics_detail(result)
        notes(result)
        ceiling_section(result)
        subgroup_table(result)
        planning_section(result)

        spec = judges[result.judge_id]
        try:
            table = with_consensus(table_for(study, spec, result.variant_id), task)
        except SeleneEvalError as exc:
            show_error(exc)
            return
        labels = list(task.expert_labels)
        left, right = st.columns(2)
        with left:
            confusion_section(result, labels)
        with right:
            show_chart(charts.label_distribution(distribution_frame(table, labels), labels=labels))

        calibration_section(table, task)

        st.subheader("Where the judge and the experts disagree")
        disagreement_browser(table, task, min_compared=study.spec.min_compared)

        st.subheader("Judge answers that could not be read")
        unparseable_table(table)

        error_profile_section(result)
        unlabelled_section(result)

        open_study_downloads(study, key="agree_download")


main()
