"""Step 1 · Data: import an expert-labelled file as a study, or look at the open one."""

import streamlit as st

from selene_eval import ui
from selene_eval.errors import SeleneEvalError
from selene_eval.ui.data import (
    bad_id_rows,
    preview_frame,
    public_dataset_form,
    raw_preview,
    rubric_editor,
    skip_rows_choice,
    start_upload,
)

ui.declare("data", slug="", title="", description="", overwrite=False, open_choice=None, slug_for=None)


def import_file() -> None:
    """Upload -> preview -> task -> column mapping -> label mapping -> validation -> save."""
    uploaded = st.file_uploader("Upload the file your experts labelled", key="data_upload", help=ui.FILE_TYPES_HELP)
    if uploaded is None:
        st.caption(ui.FILE_TYPES_HELP + " Up to 200 MB.")
        return
    try:
        table = ui.read_upload(uploaded)
    except SeleneEvalError as exc:
        ui.show_error(exc, title=f"{uploaded.name} cannot be read")
        return
    st.caption(
        f"{ui.md_escape(table.name or uploaded.name)}: {ui.plural(table.n_rows, 'row')}, "
        f"{ui.plural(len(table.frame.columns), 'column')}, read as {ui.md_escape(table.format)}"
        + (f" ({ui.md_escape(table.encoding)})" if table.encoding else "")
    )
    start_upload(uploaded.file_id)
    raw_preview(table)

    st.subheader("What the columns mean")
    task = ui.task_picker("data_task", list(table.frame.columns))
    if task is None:
        st.info("Choose what your experts judged to continue.")
        return
    try:
        mapping = ui.mapping_editor(list(table.frame.columns), task, (uploaded.file_id, task))
        raw_values = ui.distinct_labels(table, mapping)
        st.subheader("What the labels mean")
        rubric = rubric_editor(task)
        label_map = ui.label_map_editor(raw_values, task)
        st.subheader("Check")
        skipped = skip_rows_choice(bad_id_rows(table, mapping, uploaded.file_id), table.n_rows)
        items, report = ui.validate(table, mapping, task, label_map, uploaded.file_id, list(skipped))
    except SeleneEvalError as exc:
        ui.show_error(exc, title="The mapping needs a change")
        return
    ui.validation_report(report)
    if items:
        with st.expander(f"Preview the {ui.plural(len(items), 'item')} as they will be saved"):
            view, config = preview_frame(items[:200])
            st.dataframe(view, hide_index=True, width="stretch", column_config=config)
    if not report.ok or rubric is None:
        return

    st.subheader("Save as a study")
    if st.session_state.get("data_slug_for") != uploaded.file_id:
        ui.put("data_slug", ui.suggested_slug(table.name or uploaded.name))
        ui.put("data_title", table.name or uploaded.name)
        ui.put("data_slug_for", uploaded.file_id)
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
            study = ui.create_study(
                table, mapping, task, label_map, items,
                slug=st.session_state["data_slug"], title=st.session_state["data_title"],
                description=st.session_state["data_description"], overwrite=st.session_state["data_overwrite"],
                rubric=rubric, skipped_rows=skipped,
            )
        except SeleneEvalError as exc:
            ui.show_error(exc, title="The study was not saved")
            return
        ui.open_study(
            study.slug,
            f"Saved study **{ui.md_escape(study.spec.title)}** with {ui.plural(len(items), 'item')}. "
            "Next: check the rubric and prompt on the Prompts page.",
        )


def open_saved() -> None:
    """Pick a saved study and make it the current one."""
    summaries = ui.study_store().list()
    if not summaries:
        st.info("No saved studies yet. Import a file in the other tab.")
        return
    slugs = [s.slug for s in summaries]
    titles = {s.slug: f"{s.title} ({s.slug})" for s in summaries}
    ui.keep_valid("data_open_choice", slugs)
    slug = st.selectbox("Saved studies", slugs, key="data_open_choice", format_func=titles.get)
    if st.button("Open this study", key="data_open_button"):
        ui.open_study(slug, f"Opened study **{ui.md_escape(titles[slug])}**.")


ui.page_title("data")
ui.show_flash()
st.markdown(
    "Bring a table your experts already labelled: one row per answer (or per answer and expert). "
    "Tell selene-eval which column holds what, check the labels, and save it as a **study**."
)
with ui.opened_study(quiet=True) as current:
    if current is not None:
        with st.expander(f"The open study: {ui.md_escape(current.spec.title)}", expanded=False):
            ui.study_overview(current)
new_tab, public_tab, saved_tab = st.tabs(["Import a new file", "Start from a public dataset", "Open a saved study"])
with new_tab:
    import_file()
with public_tab:
    public_dataset_form()
with saved_tab:
    open_saved()
