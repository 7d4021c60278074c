"""Agreement page sections for issue #17: the judge's error profile and ambiguity split, and what the judge
lets the user conclude about the items no expert labelled."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from selene_eval.presentation.report import VariantResult
from selene_eval.stats.profile import ambiguity_frame, overall_frame, per_label_frame, unlabelled_frame
from selene_eval.ui.text import md_escape


def _show(frame: pd.DataFrame) -> None:
    """A small static table, its first column as the row names (st.table: these tables are a few rows, and the
    page's interactive tables keep their places)."""
    st.table(frame.set_index(frame.columns[0]))


def error_profile_section(result: VariantResult) -> None:
    """Per-label rates, balanced accuracy and the majority-label baseline; unanimous vs split items."""
    profile = result.profile
    if profile is None:
        return
    st.subheader("Error profile and ambiguous items")
    errors = profile.errors
    if errors.undefined is not None:
        st.info(f"No error profile: {md_escape(errors.undefined)}.", icon=":material/info:")
    else:
        st.markdown(
            "Each label in turn counts as *positive*: how often the judge finds it (**sensitivity**), how often "
            "it rightly says another label (**specificity**), how often its answer is right (**precision**, "
            "**negative predictive value**). The **majority-label baseline** is the accuracy of always "
            "answering the experts' most frequent label."
        )
        _show(overall_frame(profile))
        if errors.beats_baseline is False:
            st.warning(
                "The judge's accuracy does not beat always answering the experts' most frequent label.",
                icon=":material/warning:",
            )
        _show(per_label_frame(profile))
        st.caption("In brackets: the bootstrap interval (the same resampling as the other statistics).")
    ambiguity = profile.ambiguity
    st.markdown("**By how much the experts agreed**")
    if ambiguity.undefined is not None:
        st.info(f"No split by expert agreement: {md_escape(ambiguity.undefined)}.", icon=":material/info:")
        return
    _show(ambiguity_frame(profile))
    st.caption(
        "Unanimous: every expert who labelled the item gave one label. Split: they disagreed, but a "
        "majority exists. Soft-label agreement: the mean share of the item's experts who gave the "
        "judge's label."
    )
    for note in ambiguity.notes:
        st.caption(md_escape(note))


def unlabelled_section(result: VariantResult) -> None:
    """ "Using the judge on the unlabelled items": experts only, judge only and PPI++ side by side."""
    profile = result.profile
    if profile is None:
        return
    st.subheader("Using the judge on the unlabelled items")
    estimates = profile.unlabelled
    if estimates.undefined is not None:
        st.info(f"Nothing to estimate: {md_escape(estimates.undefined)}.", icon=":material/info:")
        return
    st.markdown(
        f"**{estimates.n_unlabelled:,}** items have no expert label and **{estimates.n_labelled:,}** have an "
        "experts' majority. Each quantity about the whole set three ways: from the experts' labels only, from "
        "the judge only (uncorrected: it carries the judge's bias), and by **prediction-powered inference** "
        "(PPI++), which corrects the judge on the unlabelled items by its errors on the labelled ones."
    )
    _show(unlabelled_frame(profile))
    st.caption(
        f"In brackets: {estimates.ci_level:.0%} interval. *Worth*: how many expert labels would give an "
        "experts-only interval as narrow as PPI's."
    )
    for target in estimates.targets:
        if target.note:
            st.warning(md_escape(target.note), icon=":material/warning:")
    rg = estimates.rogan_gladen
    if rg is not None:
        if rg.note and rg.estimate != rg.estimate:
            st.caption(f"Rogan–Gladen corrected rate of 'yes': n/a, {md_escape(rg.note)}.")
        else:
            st.caption(
                f"Rogan–Gladen corrected rate of 'yes' (from the judge's sensitivity and specificity): "
                f"**{rg.estimate:.3f}** [{rg.low:.3f} – {rg.high:.3f}]"
                + (f" ({md_escape(rg.note)})" if rg.note else "")
            )
    for note in estimates.notes:
        st.caption(md_escape(note))
