"""Studies page components: the list, open / rename / duplicate / delete, and a side-by-side comparison.

Actions run as button callbacks: a callback runs before the sidebar is drawn, so it may change the current
study directly, and its outcome is shown on the rerun that follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError
from selene_eval.study import DamagedStudy, StudySummary
from selene_eval.ui.common import study_opened
from selene_eval.ui.exports import download_buttons, whose_files
from selene_eval.ui.results import bootstrap_settings, judges_of, report_for
from selene_eval.ui.state import STUDY_KEY, current_slug, flash, put, study_store
from selene_eval.ui.text import TASK_NAMES, fmt_stat, md_escape, plural
from selene_eval.ui.views import compact_metrics, metrics_frame


def studies_frame(summaries: list[StudySummary]) -> pd.DataFrame:
    """The studies list as a table with plain headers."""
    return pd.DataFrame(
        [
            {
                "Name": s.slug,
                "Title": s.title,
                "Task": TASK_NAMES[TaskType(s.task)],
                "Items": s.n_items,
                "Judgments": s.n_judgments,
                "Illustrative example": s.illustrative,
                "Created": s.created_at.replace("T", " ").removesuffix("+00:00") + " UTC",
            }
            for s in summaries
        ],
        columns=["Name", "Title", "Task", "Items", "Judgments", "Illustrative example", "Created"],
    )


def _act(action: str, do: Callable[[], None], success: str) -> None:
    """Run a callback's action; flash ``success`` or the error (callbacks cannot draw)."""
    try:
        do()
    except SeleneEvalError as exc:
        flash("error", f"Could not {action}: {md_escape(str(exc))}")
    else:
        flash("success", success)


def open_action(slug: str) -> None:
    """Callback: make ``slug`` the current study."""
    put(STUDY_KEY, slug)
    flash("success", f"Opened study **{md_escape(slug)}**; the other pages now work on it.")


def rename_action(slug: str) -> None:
    """Callback: rename ``slug`` to the name typed in ``studies_rename_to``."""
    new = str(st.session_state.get("studies_rename_to", "")).strip()

    def do() -> None:
        study_store().rename(slug, new)
        if current_slug() == slug:
            put(STUDY_KEY, new)
        put("studies_selected", new)

    _act("rename the study", do, f"Renamed **{md_escape(slug)}** to **{md_escape(new)}**.")


def duplicate_action(slug: str) -> None:
    """Callback: copy ``slug`` (judgments included) under the name typed in ``studies_copy_to``."""
    new = str(st.session_state.get("studies_copy_to", "")).strip()

    def do() -> None:
        study_store().duplicate(slug, new).close()
        put("studies_selected", new)

    _act("duplicate the study", do, f"Copied **{md_escape(slug)}** to **{md_escape(new)}**, judgments included.")


def ask_delete(slug: str) -> None:
    """Callback: ask for confirmation before deleting ``slug``."""
    put("studies_confirm_delete", slug)


def delete_action(slug: str) -> None:
    """Callback: delete ``slug`` (after confirmation)."""

    def do() -> None:
        study_store().delete(slug)
        if current_slug() == slug:
            put(STUDY_KEY, None)

    put("studies_confirm_delete", None)
    _act("delete the study", do, f"Deleted study **{md_escape(slug)}**.")


def cancel_delete() -> None:
    """Callback: keep the study."""
    put("studies_confirm_delete", None)


def manage_study(slug: str, summaries: dict[str, StudySummary]) -> None:
    """Open, rename, duplicate or delete one study."""
    if st.session_state.get("studies_seeded_for") != slug:
        put("studies_rename_to", slug)
        put("studies_copy_to", _free_name(f"{slug}-copy", summaries))
        put("studies_seeded_for", slug)
    summary = summaries[slug]
    if summary.illustrative:
        st.caption("An illustrative example (not real expert data). A copy of it is a normal study you can change.")
    st.button(
        "Open this study",
        key="studies_open",
        type="primary",
        on_click=open_action,
        args=(slug,),
        disabled=current_slug() == slug,
    )
    left, right = st.columns(2)
    with left:
        st.text_input(
            "New name",
            key="studies_rename_to",
            help="Lower-case letters, digits, '-' and '_'; the study's folder is renamed.",
        )
        st.button("Rename", key="studies_rename", on_click=rename_action, args=(slug,))
    with right:
        st.text_input("Name of the copy", key="studies_copy_to")
        st.button("Duplicate", key="studies_duplicate", on_click=duplicate_action, args=(slug,))
    if st.session_state.get("studies_confirm_delete") == slug:
        st.warning(
            f"Delete the study **{md_escape(summary.title)}** ({md_escape(slug)}) with its "
            f"{plural(summary.n_items, 'item')} and {plural(summary.n_judgments, 'judgment')}? This cannot be undone.",
            icon=":material/delete_forever:",
        )
        yes, no = st.columns(2)
        yes.button("Yes, delete it", key="studies_delete_yes", type="primary", on_click=delete_action, args=(slug,))
        no.button("No, keep it", key="studies_delete_no", on_click=cancel_delete)
    else:
        st.button("Delete…", key="studies_delete", on_click=ask_delete, args=(slug,))


def damaged_studies(damaged: Sequence[DamagedStudy]) -> None:
    """The study folders that cannot be read, each with what is wrong and a way to delete it.

    Listed apart from the others, so that one damaged study never hides the readable ones.
    """
    for study in damaged:
        st.warning(f"**{md_escape(study.slug)}** cannot be opened: {md_escape(study.reason)}", icon=":material/report:")
        if st.session_state.get("studies_confirm_delete") == study.slug:
            yes, no = st.columns(2)
            yes.button(
                f"Yes, delete the folder {md_escape(study.slug)}",
                key=f"studies_damaged_yes_{study.slug}",
                type="primary",
                on_click=delete_action,
                args=(study.slug,),
            )
            no.button("No, keep it", key=f"studies_damaged_no_{study.slug}", on_click=cancel_delete)
        else:
            st.button(
                f"Delete {md_escape(study.slug)}…",
                key=f"studies_damaged_delete_{study.slug}",
                on_click=ask_delete,
                args=(study.slug,),
            )


def _free_name(base: str, summaries: dict[str, StudySummary]) -> str:
    name, n = base[:64], 2
    while name in summaries:
        name = f"{base[:60]}-{n}"
        n += 1
    return name


def compare_column(slug: str) -> None:
    """One study's headline figures and its metrics table (one column of the comparison)."""
    with study_opened(slug) as study:
        if study is None:
            return
        try:
            report = report_for(study)
            judges = judges_of(study)
        except SeleneEvalError as exc:
            st.error(md_escape(str(exc)))
            return
        st.markdown(f"**{md_escape(study.spec.title)}** ({md_escape(slug)})")
        st.caption(
            f"{md_escape(TASK_NAMES[study.spec.task])} · {plural(report.n_items, 'item')} · "
            f"{plural(len(report.experts), 'expert')}"
        )
        if report.experts_agreement is not None:
            st.metric(
                "Experts among themselves (Krippendorff's alpha)", fmt_stat(report.experts_agreement.krippendorff_alpha)
            )
        if any(r.n_judged for r in report.results):
            st.dataframe(compact_metrics(metrics_frame(report, judges)), hide_index=True, width="stretch")
        else:
            st.info("No judgments yet.")


def follow_open_study(slugs: list[str]) -> None:
    """Put the page's study choice on the open study at first, and again whenever another study is opened
    (from the sidebar), so that "Manage" and "Download" never stay on a study the user has left."""
    current = current_slug()
    selected = st.session_state.get("studies_selected")
    if st.session_state.get("studies_followed", "\0") != current or selected not in slugs:
        put("studies_selected", current if current in slugs else (selected if selected in slugs else slugs[0]))
        put("studies_followed", current)


def study_downloads(slug: str) -> None:
    """Download the study's HTML report, tables, charts or archive (with the session's interval settings)."""
    with study_opened(slug) as study:
        if study is None:
            return
        st.markdown(whose_files(study, "the study chosen above,"))
        n_resamples, seed = bootstrap_settings()
        download_buttons(study, n_resamples=n_resamples, seed=seed, key="studies_download")
