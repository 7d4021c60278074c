"""Step 1 · Data: import an expert-labelled file as a study, or look at the open one."""

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.ui.common import opened_study, page_title, show_error
from selene_eval.ui.data import (
    FILE_TYPES_HELP,
    bad_id_rows,
    create_study,
    distinct_labels,
    label_map_editor,
    label_meanings_editor,
    mapping_editor,
    preview_frame,
    public_dataset_form,
    raw_preview,
    read_upload,
    skip_rows_choice,
    start_upload,
    study_overview,
    suggested_slug,
    task_picker,
    validate,
    validation_report,
)
from selene_eval.ui.state import (
    declare,
    keep_valid,
    open_study,
    put,
    show_flash,
    study_store,
)
from selene_eval.ui.text import md_escape, plural

declare("data", slug="", title="", description="", overwrite=False, open_choice=None, slug_for=None)


def import_file() -> None:
    """Upload -> preview -> task -> column mapping -> label mapping -> validation -> save."""
    uploaded = st.file_uploader("Upload the file your experts labelled", key="data_upload", help=FILE_TYPES_HELP)
    if uploaded is None:
        st.caption(FILE_TYPES_HELP + " Up to 200 MB.")
        return
    try:
        table = read_upload(uploaded)
    except SeleneEvalError as exc:
        show_error(exc, title=f"{uploaded.name} cannot be read")
        return
    st.caption(
        f"{md_escape(table.name or uploaded.name)}: {plural(table.n_rows, 'row')}, "
        f"{plural(len(table.frame.columns), 'column')}, read as {md_escape(table.format)}"
        + (f" ({md_escape(table.encoding)})" if table.encoding else "")
    )
    start_upload(uploaded.file_id)
    raw_preview(table)

    st.subheader("What the columns mean")
    task = task_picker("data_task", list(table.frame.columns))
    if task is None:
        st.info("Choose what your experts judged to continue.")
        return
    try:
        mapping = mapping_editor(list(table.frame.columns), task, (uploaded.file_id, task))
        raw_values = distinct_labels(table, mapping)
        st.subheader("What the labels mean")
        rubric = label_meanings_editor(task)
        label_map = label_map_editor(raw_values, task)
        st.subheader("Check")
        skipped = skip_rows_choice(bad_id_rows(table, mapping, uploaded.file_id), table.n_rows)
        items, report = validate(table, mapping, task, label_map, uploaded.file_id, list(skipped))
    except SeleneEvalError as exc:
        show_error(exc, title="The mapping needs a change")
        return
    validation_report(report)
    if items:
        with st.expander(f"Preview the {plural(len(items), 'item')} as they will be saved"):
            view, config = preview_frame(items[:200])
            st.dataframe(view, hide_index=True, width="stretch", column_config=config)
    if not report.ok or rubric is None:
        return

    st.subheader("Save as a study")
    if st.session_state.get("data_slug_for") != uploaded.file_id:
        put("data_slug", suggested_slug(table.name or uploaded.name))
        put("data_title", table.name or uploaded.name)
        put("data_slug_for", uploaded.file_id)
    with st.form("data_save_form"):
        st.text_input("Title", key="data_title", help="A readable name, shown in lists.")
        st.text_input(
            "Study name",
            key="data_slug",
            help="Names the study's folder: lower-case letters, digits, '-' and '_' (for example kqa-pilot).",
        )
        st.text_area("Description (optional)", key="data_description", height=80)
        st.checkbox("Replace it if a study with this name exists (its judgments are deleted)", key="data_overwrite")
        submitted = st.form_submit_button("Save the study", type="primary")
    if submitted:
        try:
            study = create_study(
                table,
                mapping,
                task,
                label_map,
                items,
                slug=st.session_state["data_slug"],
                title=st.session_state["data_title"],
                description=st.session_state["data_description"],
                overwrite=st.session_state["data_overwrite"],
                rubric=rubric,
                skipped_rows=skipped,
            )
        except SeleneEvalError as exc:
            show_error(exc, title="The study was not saved")
            return
        open_study(
            study.slug,
            f"Saved study **{md_escape(study.spec.title)}** with {plural(len(items), 'item')}. "
            "Next: check the rubric and prompt on the Prompts page.",
        )


def open_saved() -> None:
    """Pick a saved study and make it the current one."""
    summaries = study_store().list()
    if not summaries:
        st.info("No saved studies yet. Import a file in the other tab.")
        return
    slugs = [s.slug for s in summaries]
    titles = {s.slug: f"{s.title} ({s.slug})" for s in summaries}
    keep_valid("data_open_choice", slugs)
    slug = st.selectbox("Saved studies", slugs, key="data_open_choice", format_func=titles.get)
    if st.button("Open this study", key="data_open_button"):
        open_study(slug, f"Opened study **{md_escape(titles[slug])}**.")


page_title("data")
show_flash()
st.markdown(
    "Bring a table your experts already labelled: one row per answer (or per answer and expert). "
    "Tell selene-eval which column holds what, check the labels, and save it as a **study**."
)
with opened_study(quiet=True) as current:
    if current is not None:
        with st.expander(f"The open study: {md_escape(current.spec.title)}", expanded=False):
            study_overview(current)
new_tab, public_tab, saved_tab = st.tabs(["Import a new file", "Start from a public dataset", "Open a saved study"])
with new_tab:
    import_file()
with public_tab:
    public_dataset_form()
with saved_tab:
    open_saved()
