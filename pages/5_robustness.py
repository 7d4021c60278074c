"""Step 5 · Robustness: does the judge's agreement depend on how the prompt is worded?"""

import streamlit as st

from selene_eval import charts, ui
from selene_eval.errors import SeleneEvalError
from selene_eval.metrics import METRICS

ui.declare("robust", metric="cohen_kappa")


def main() -> None:
    """One statistic per prompt variant, with the note on what comes later."""
    ui.page_title("robustness")
    with ui.opened_study("compare its prompt variants") as study:
        if study is None:
            return
        ui.study_caption(study)
        st.info(
            "**Coming in a later release:** the full prompt-format robustness analysis, with confidence "
            "intervals for every variant and flip rates (how often the judge's verdict on the same item "
            "changes when only the prompt's wording or format changes). For now this page shows each prompt "
            "variant's agreement as a single number, without intervals: small differences between variants "
            "may be noise.",
            icon=":material/construction:",
        )
        try:
            report = ui.report_for(study)
            judges = ui.judges_of(study)
        except SeleneEvalError as exc:
            ui.show_error(exc, title="The statistics cannot be computed")
            return
        if not any(r.n_judged for r in report.results):
            st.info("No judgments yet: run the judge with one or more prompt variants first.")
            ui.page_link("run", "Go to 3 · Run the judge")
            return
        names = list(METRICS[report.level])
        ui.keep_valid("robust_metric", names)
        metric = st.selectbox("Statistic", names, key="robust_metric", format_func=ui.METRIC_NAMES.get)
        frame = ui.variant_frame(report, judges, metric)
        ui.show_chart(charts.variant_dots(frame, metric_title=ui.METRIC_NAMES[metric]))
        st.dataframe(
            frame.rename(columns={"variant": "Prompt variant", "judge": "Judge",
                                  "value": ui.METRIC_NAMES[metric], "n_compared": "Items compared"}),
            hide_index=True,
            width="stretch",
            column_config={ui.METRIC_NAMES[metric]: st.column_config.NumberColumn(format="%.3f")},
        )
        if len(study.spec.variants) < 2:
            st.caption("This study runs one prompt variant. Add variants on the Prompts page to compare them here.")
            ui.page_link("prompts", "Go to 2 · Prompts")


main()
