"""Step 3 · Run: choose the judge and what to judge, see what will happen, run with progress and cancel."""

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.run.runner import plan_run
from selene_eval.ui.common import opened_study, page_title, show_error, study_caption
from selene_eval.ui.run import (
    execute_run,
    finish_run,
    judge_picker,
    last_outcome,
    load_judge_into_widgets,
    plan_summary,
    scope_picker,
)
from selene_eval.ui.state import declare, show_flash

declare(
    "run", loaded_for=None, batch=8, limit_on=False, limit=20, sample_seed=0, cancel_requested=False, last_outcome=None
)


def main() -> None:
    """Judge choice, scope, the plan, then the run itself."""
    page_title("run")
    with opened_study("run the judge on it") as study:
        if study is None:
            return
        study_caption(study)
        show_flash()
        load_judge_into_widgets(study)

        st.subheader("Judge")
        spec, ready = judge_picker()

        st.subheader("What to judge")
        variant_ids, limit, sample_seed = scope_picker(study)
        if spec is None or not variant_ids:
            return

        st.subheader("Before you start")
        try:
            plan = plan_run(study, spec, variant_ids=variant_ids, limit=limit, sample_seed=sample_seed)
        except SeleneEvalError as exc:
            show_error(exc)
            return
        plan_summary(plan, study)
        start = st.button("Start the run", type="primary", key="run_start", disabled=not ready or not plan.pending)
        st.caption(
            "Keep this page open while the run goes. Leaving the page or changing a setting stops it after "
            "the current batch; finished judgments are kept, and starting again continues where it stopped."
        )
        last_outcome(study.slug)
        if start:
            result = execute_run(study, spec, variant_ids, limit, int(st.session_state["run_batch"]), sample_seed)
            if result is not None:
                finish_run(study.slug, result)


main()
