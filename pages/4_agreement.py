"""Step 4 · Agreement: how well the judge agrees with the experts, and where it does not."""

import streamlit as st

from selene_eval import ui
from selene_eval.presentation import charts
from selene_eval.errors import SeleneEvalError
from selene_eval.ui.exports import open_study_downloads
from selene_eval.ui.judge_comparison import calibration_section, judges_section, planning_section, rename_judges
from selene_eval.ui.profile import error_profile_section, unlabelled_section
from selene_eval.ui.results import (
    bootstrap_controls,
    bootstrap_settings,
    ceiling_section,
    confusion_section,
    statistics_detail,
    subgroup_table,
)

ui.declare("agree", pick=0, consensus=[], judge=[], category=[], search="", read=0, split=None)


def main() -> None:
    """Statistics per judge x variant, then one of them in detail."""
    ui.page_title("agreement")
    with ui.opened_study("see how well the judge agrees with its experts") as study:
        if study is None:
            return
        ui.study_caption(study)
        ui.show_flash()
        bootstrap_controls(study)
        try:
            report = ui.report_for(study)
            judges = ui.judges_of(study)
        except SeleneEvalError as exc:
            ui.show_error(exc, title="The statistics cannot be computed")
            return
        task = study.spec.task
        if not any(r.n_judged for r in report.results):
            st.info("No judgments yet. Run the judge first; the statistics appear here as soon as some exist.")
            ui.page_link("run", "Go to 3 · Run the judge")
            ui.expert_figures(report, None)
            return

        st.subheader("Agreement with the experts")
        st.markdown(
            "One row per judge and prompt variant. The judge's label is compared with the **experts' majority "
            "label** on every item that has both."
        )
        ui.metrics_table(report, judges)
        rename_judges(study, judges)
        judges_section(study, report, judges, bootstrap_settings()[0])
        result = ui.result_picker(report, judges, "agree_pick")
        if result is None:
            return
        ui.expert_figures(report, result)
        statistics_detail(result)
        ui.notes(result)
        ceiling_section(result)
        subgroup_table(result)
        planning_section(result)

        spec = judges[result.judge_id]
        try:
            table = ui.with_consensus(ui.table_for(study, spec, result.variant_id), task)
        except SeleneEvalError as exc:
            ui.show_error(exc)
            return
        labels = list(task.expert_labels)
        left, right = st.columns(2)
        with left:
            confusion_section(result, labels)
        with right:
            ui.show_chart(charts.label_distribution(ui.distribution_frame(table, labels), labels=labels))

        calibration_section(table, task)

        st.subheader("Where the judge and the experts disagree")
        ui.disagreement_browser(table, task, min_compared=study.spec.min_compared)

        st.subheader("Judge answers that could not be read")
        ui.unparseable_table(table)

        error_profile_section(result)
        unlabelled_section(result)

        open_study_downloads(study, key="agree_download")


main()
