"""The sidebar every page shares: the current study, the judge's status, where studies are stored."""

from __future__ import annotations

import streamlit as st

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError
from selene_eval.study import StudySummary
from selene_eval.ui.judge_model import loaded_judge, weights_status
from selene_eval.ui.state import STUDY_KEY, keep_valid, put, studies_dir, study_store
from selene_eval.ui.text import TASK_NAMES, judge_title, md_escape, plural

CHOSEN_JUDGE_KEY = "run_chosen_judge"
"""Session key of ``(study slug, judge spec)``: the judge the Run page's widgets describe for that study."""
_JUDGE_SLOT_KEY = "sidebar_judge_slot"  # this run's placeholder of the judge line (a page may rewrite it)


def render_sidebar() -> None:
    """Draw the shared sidebar (call before the page runs, so it shows even during a long run)."""
    st.session_state.pop(_JUDGE_SLOT_KEY, None)  # a placeholder of an earlier run is gone from the page
    summaries = {s.slug: s for s in study_store().list()}
    options: list[str | None] = [None, *summaries]
    keep_valid(STUDY_KEY, options, None)
    with st.sidebar:
        st.selectbox(
            "Current study",
            options,
            key=STUDY_KEY,
            format_func=lambda slug: "(none open)" if slug is None else _study_option(summaries[slug]),
            placeholder="(none open)",
            help="Every page works on this study. Create one on the Data page; manage them on the Studies page.",
        )
        slug = st.session_state.get(STUDY_KEY)
        if slug in summaries:
            summary = summaries[slug]
            st.caption(
                f"{md_escape(TASK_NAMES[TaskType(summary.task)])} · {plural(summary.n_items, 'item')} · "
                f"{plural(summary.n_judgments, 'judgment')} stored"
                + (" · illustrative example" if summary.illustrative else "")
            )
            _judge_status(slug)
        loaded = loaded_judge()
        st.caption(
            "Model in memory: "
            + (md_escape(judge_title(loaded)) if loaded else "none (a model loads when a run starts)")
        )
        st.caption("Studies are stored in:")
        st.code(str(studies_dir()), language=None, wrap_lines=True)


def _study_option(summary: StudySummary) -> str:
    return f"{summary.title} ({summary.slug})" if summary.title != summary.slug else summary.slug


def _judge_status(slug: str) -> None:
    """The study's chosen judge and whether its model files are on this computer."""
    try:
        study = study_store().open(slug)
    except SeleneEvalError:
        return  # the page shows why
    spec, where = study.spec.judge, "Judge"
    chosen = st.session_state.get(CHOSEN_JUDGE_KEY)
    if chosen is not None and chosen[0] == slug and chosen[1] is not None:
        # The judge picked on the Run page: the one a run uses, though the study saves it only once a run starts.
        spec, where = chosen[1], "Judge chosen on the Run page"
    slot = st.empty()
    st.session_state[_JUDGE_SLOT_KEY] = slot
    _judge_caption(slot, spec, where)


def _judge_caption(slot: st.delta_generator.DeltaGenerator, spec: JudgeSpec, where: str) -> None:
    status = weights_status(spec)
    mark = ":material/check_circle:" if status.available else ":material/warning:"
    slot.caption(f"{where}: {md_escape(judge_title(spec))}  \n{mark} {md_escape(status.summary.capitalize())}")


def show_chosen_judge(slug: str | None, spec: JudgeSpec | None) -> None:
    """Name the judge chosen on the Run page in the sidebar, at once and on every page until another is chosen.

    The sidebar is drawn before the page, so without this it would show the study's saved judge (often Selene,
    "model files not found") while a run of another judge, the demo one say, is going.
    """
    put(CHOSEN_JUDGE_KEY, (slug, spec))
    slot = st.session_state.get(_JUDGE_SLOT_KEY)
    if slot is not None and spec is not None and slug == st.session_state.get(STUDY_KEY):
        _judge_caption(slot, spec, "Judge chosen on the Run page")
