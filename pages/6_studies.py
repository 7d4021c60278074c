"""Studies: list, open, rename, duplicate, delete, and compare two side by side."""

import streamlit as st

from selene_eval import ui
from selene_eval.ui.exports import import_archive_form
from selene_eval.ui.studies import follow_open_study, study_downloads

ui.declare("studies", selected=None, confirm_delete=None, seeded_for=None, compare_a=None, compare_b=None,
           import_as="", import_overwrite=False)

ui.page_title("studies")
ui.show_flash()
listing = ui.study_store().survey()
summaries = {s.slug: s for s in listing.studies}
ui.damaged_studies(listing.damaged)
if not summaries:
    st.info("No studies yet. Import a file on the Data page to create the first one.")
    ui.page_link("data", "Go to 1 · Data")
else:
    st.dataframe(ui.studies_frame(list(summaries.values())), hide_index=True, width="stretch")

    st.subheader("Manage a study")
    slugs = list(summaries)
    follow_open_study(slugs)
    selected = st.selectbox("Study", slugs, key="studies_selected",
                            format_func=lambda s: f"{summaries[s].title} ({s})")
    ui.manage_study(selected, summaries)

    st.subheader("Download")
    study_downloads(selected)

    st.subheader("Compare two studies")
    if len(slugs) < 2:
        st.caption("Create or duplicate a second study to compare two side by side.")
    else:
        ui.keep_valid("studies_compare_a", slugs, slugs[0])
        ui.keep_valid("studies_compare_b", slugs, slugs[1])
        if st.session_state["studies_compare_a"] is None:
            ui.put("studies_compare_a", slugs[0])
        if st.session_state["studies_compare_b"] is None:
            ui.put("studies_compare_b", slugs[1])
        left, right = st.columns(2)
        for column, key in ((left, "studies_compare_a"), (right, "studies_compare_b")):
            with column:
                slug = st.selectbox("Study", slugs, key=key, format_func=lambda s: f"{summaries[s].title} ({s})")
                ui.compare_column(slug)

st.subheader("Import a study archive")
st.caption("A study exported by selene-eval (Download → Study archive, or `export SLUG --archive FILE`) is checked "
           "like any upload before it is added: its files, checksums, items and judgments.")
import_archive_form()
