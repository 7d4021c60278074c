"""Studies: list, open, rename, duplicate, delete, and compare two side by side."""

import streamlit as st

from selene_eval.ui.common import page_link, page_title
from selene_eval.ui.exports import import_archive_form
from selene_eval.ui.state import declare, keep_valid, put, show_flash, study_store
from selene_eval.ui.studies import (
    compare_column,
    damaged_studies,
    follow_open_study,
    manage_study,
    studies_frame,
    study_downloads,
)

declare(
    "studies",
    selected=None,
    confirm_delete=None,
    seeded_for=None,
    compare_a=None,
    compare_b=None,
    import_as="",
    import_overwrite=False,
)

page_title("studies")
show_flash()
listing = study_store().survey()
summaries = {s.slug: s for s in listing.studies}
damaged_studies(listing.damaged)
if not summaries:
    st.info("No studies yet. Import a file on the Data page to create the first one.")
    page_link("data", "Go to 1 · Data")
else:
    st.dataframe(studies_frame(list(summaries.values())), hide_index=True, width="stretch")

    st.subheader("Manage a study")
    slugs = list(summaries)
    follow_open_study(slugs)
    selected = st.selectbox("Study", slugs, key="studies_selected", format_func=lambda s: f"{summaries[s].title} ({s})")
    manage_study(selected, summaries)

    st.subheader("Download")
    study_downloads(selected)

    st.subheader("Compare two studies")
    if len(slugs) < 2:
        st.caption("Create or duplicate a second study to compare two side by side.")
    else:
        keep_valid("studies_compare_a", slugs, slugs[0])
        keep_valid("studies_compare_b", slugs, slugs[1])
        if st.session_state["studies_compare_a"] is None:
            put("studies_compare_a", slugs[0])
        if st.session_state["studies_compare_b"] is None:
            put("studies_compare_b", slugs[1])
        left, right = st.columns(2)
        for column, key in ((left, "studies_compare_a"), (right, "studies_compare_b")):
            with column:
                slug = st.selectbox("Study", slugs, key=key, format_func=lambda s: f"{summaries[s].title} ({s})")
                compare_column(slug)

st.subheader("Import a study archive")
st.caption(
    "A study exported by selene-eval (Download → Study archive, or `export SLUG --archive FILE`) is checked "
    "like any upload before it is added: its files, checksums, items and judgments."
)
import_archive_form()
