"""Step 5 · Robustness: does the judge's verdict survive a change of prompt format?"""

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.stats.registry import EXTRA_METRICS, METRICS
from selene_eval.ui import robustness as robust_ui
from selene_eval.ui.common import (
    opened_study,
    page_link,
    page_title,
    show_error,
    study_caption,
)
from selene_eval.ui.exports import open_study_downloads
from selene_eval.ui.results import judges_of, report_for
from selene_eval.ui.state import declare, keep_valid
from selene_eval.ui.text import METRIC_NAMES

declare("robust", metric="cohen_kappa", judge=None, item=None)


def main() -> None:
    """Agreement per variant with intervals, spread, flips, self-agreement, position swap, per-axis summary."""
    page_title("robustness")
    with opened_study("compare its prompt variants") as study:
        if study is None:
            return
        study_caption(study)
        try:
            report = report_for(study)
            judges = judges_of(study)
        except SeleneEvalError as exc:
            show_error(exc, title="The statistics cannot be computed")
            return
        if not report.robustness:
            st.info(
                "Robustness needs judgments under at least two prompt variants (and expert labels). Add "
                "variants on the Prompts page (layout, order, rubric, labels, role, surface, position swap), "
                "then run the judge."
            )
            page_link("prompts", "Go to 2 · Prompts")
            return
        names = {r.judge_id: r.judge_name for r in report.robustness}
        keep_valid("robust_judge", list(names))
        judge_id = st.selectbox("Judge", list(names), key="robust_judge", format_func=names.get)
        robust = next(r for r in report.robustness if r.judge_id == judge_id)
        metrics = [*METRICS[report.level], *EXTRA_METRICS[report.level]]
        keep_valid("robust_metric", metrics)
        metric = st.selectbox("Statistic", metrics, key="robust_metric", format_func=lambda m: METRIC_NAMES.get(m, m))
        robust_ui.show(study, report, judges, robust, metric)
        open_study_downloads(study, key="robust_download")


main()
