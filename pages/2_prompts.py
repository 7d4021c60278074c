"""Step 2 · Prompts: the rubric, the prompt variants, custom templates, and the exact prompt per item."""

import streamlit as st

from selene_eval.ui.common import opened_study, page_link, page_title, study_caption
from selene_eval.ui.prompts import (
    load_study_into_widgets,
    prompt_preview,
    remove_variant,
    rubric_editor,
    save_prompts,
    template_sources,
    variant_composer,
    variant_diff_view,
    variant_picker,
)
from selene_eval.ui.state import declare, show_flash

declare(
    "prompts",
    loaded_for=None,
    custom_id="my-prompt",
    custom_text="",
    upload_id="",
    preview_item=0,
    preview_variant=None,
)


def main() -> None:
    """Rubric, variants, preview, custom templates for the open study."""
    page_title("prompts")
    with opened_study("write its rubric and choose its prompts") as study:
        if study is None:
            return
        study_caption(study)
        show_flash()
        load_study_into_widgets(study)
        task = study.spec.task

        st.subheader("Rubric")
        st.markdown("The rubric tells the judge what to assess and what each label means.")
        rubric = rubric_editor(task)

        st.subheader("Prompt variants")
        variant_ids = variant_picker(study)
        custom = study.spec.custom_variants
        if custom:
            st.caption("Your own templates in this study:")
            for variant in custom:
                left, right = st.columns([4, 1], vertical_alignment="center")
                left.text(f"{variant.id}  ({variant.source})")
                right.button(
                    "Remove", key=f"prompts_remove_{variant.id}", on_click=remove_variant, args=(study.slug, variant.id)
                )

        changed = rubric is not None and (rubric != study.spec.rubric or variant_ids != list(study.spec.variants))
        if changed:
            st.warning("You have unsaved changes to the rubric or the variants.", icon=":material/edit:")
        st.button(
            "Save rubric and variants",
            type="primary",
            key="prompts_save",
            disabled=rubric is None or not variant_ids,
            on_click=save_prompts,
            args=(study.slug, rubric, variant_ids),
        )

        st.subheader("Compare a variant with the canonical prompt")
        variant_diff_view(study, variant_ids)

        st.subheader("Combine robustness axes into a new variant")
        variant_composer(study)

        st.subheader("Preview: the exact prompt the judge sees")
        if rubric is None:
            st.info("Fix the rubric above to see the prompt.")
        else:
            prompt_preview(study, rubric, variant_ids)

        st.subheader("Add your own prompt template")
        template_sources(study)
        page_link("run", "Next: 3 · Run the judge")


main()
