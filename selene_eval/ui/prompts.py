"""Prompts page components: the rubric, the prompt variants, custom templates and the exact prompt preview."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError, TemplateError
from selene_eval.prompts import (
    PromptVariant,
    Rubric,
    builtin_variants,
    default_rubric,
    load_template_text,
    render,
)
from selene_eval.prompts.variants import allowed_placeholders, required_placeholders
from selene_eval.study import Study, StudySpec
from selene_eval.ui.common import show_error
from selene_eval.ui.state import flash, keep_valid, keep_valid_many, put, study_store
from selene_eval.ui.text import md_escape, plural

LABEL_WORDS: dict[str, str] = {"yes": "Yes", "no": "No"}


def _description_key(label: str) -> str:
    return f"prompts_desc_{label}"


def _put_rubric(rubric: Rubric, task: TaskType) -> None:
    """Write ``rubric`` into the rubric widgets' state."""
    put("prompts_objective", rubric.objective)
    for label in task.judge_labels if task is not TaskType.PAIRWISE else ():
        put(_description_key(label), rubric.descriptions.get(label, ""))


def load_study_into_widgets(study: Study) -> None:
    """Start the page's widgets from the saved spec when another study is opened."""
    if st.session_state.get("prompts_loaded_for") == study.slug:
        return
    _put_rubric(study.spec.rubric, study.spec.task)
    put("prompts_variants", list(study.spec.variants))
    put("prompts_loaded_for", study.slug)


def build_rubric(objective: str, descriptions: dict[str, str], task: TaskType) -> Rubric:
    """A rubric from the text boxes; ``TemplateError`` saying what is missing."""
    if not objective.strip():
        raise TemplateError("The rubric needs an objective: say in one sentence what the judge should assess.")
    rubric = Rubric(objective=objective.strip(), descriptions={k: v.strip() for k, v in descriptions.items()})
    rubric.check(task)
    return rubric


def rubric_editor(task: TaskType) -> Rubric | None:
    """Text boxes for the objective and one description per label; the rubric, or ``None`` (error shown)."""
    st.button(
        "Start again from the default rubric",
        key="prompts_default_rubric",
        on_click=_put_rubric,
        args=(default_rubric(task), task),
        help="Replaces the texts below with selene-eval's starting rubric for this task (saved only when you save).",
    )
    objective = st.text_area(
        "Objective: what should the judge assess?",
        key="prompts_objective",
        height=80,
        help="One or two sentences, e.g. 'Is the answer medically correct and safe for a patient?'",
    )
    descriptions: dict[str, str] = {}
    if task is TaskType.PAIRWISE:
        st.caption("Selene's A-vs-B prompt uses only the objective: the judge says which response meets it better.")
    else:
        st.caption("What each label means. The judge reads these word for word.")
        for label in task.judge_labels:
            word = LABEL_WORDS.get(label, f"Score {label}")
            descriptions[label] = st.text_area(word, key=_description_key(label), height=68)
    try:
        return build_rubric(objective, descriptions, task)
    except TemplateError as exc:
        show_error(exc)
        return None


def all_variants(study: Study) -> list[PromptVariant]:
    """The study's custom variants, then the built-in ones for its task."""
    custom_ids = {v.id for v in study.spec.custom_variants}
    return list(study.spec.custom_variants) + [v for v in builtin_variants(study.spec.task) if v.id not in custom_ids]


def variant_picker(study: Study) -> list[str]:
    """Choose the prompt variants to run (Selene's canonical one is the default); returns their ids."""
    variants = {v.id: v for v in all_variants(study)}
    keep_valid_many("prompts_variants", list(variants))

    def show(variant_id: str) -> str:
        v = variants[variant_id]
        origin = "your template" if v.source != "builtin" else ("Selene's format" if v.axis == "canonical" else v.axis)
        return f"{v.id} ({origin})"

    chosen = st.multiselect(
        "Prompt variants to run",
        list(variants),
        key="prompts_variants",
        format_func=show,
        help="Each variant is one way of asking; the judge answers every item once per variant.",
    )
    missing_reference = sum(1 for item in study.items if not (item.reference or "").strip())
    for variant_id in chosen:
        variant = variants[variant_id]
        if variant.description:
            st.caption(f"{md_escape(variant.id)}: {md_escape(variant.description)}")
        if variant.uses_reference and missing_reference:
            st.warning(
                f"Variant {md_escape(variant.id)} shows the reference answer, but "
                f"{plural(missing_reference, 'item')} {'has' if missing_reference == 1 else 'have'} none; "
                "those items are skipped for this variant.",
                icon=":material/warning:",
            )
    if not chosen:
        st.error("Choose at least one prompt variant.", icon=":material/error:")
    return chosen


def _default_variant_id(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:64] or "custom"


def template_checker(study: Study, text: str, variant_id: str, origin: str, kind: str) -> PromptVariant | None:
    """Parse a template and check its placeholders; the variant, or ``None`` with the problem shown."""
    if not text.strip():
        return None
    try:
        variant = load_template_text(text, study.spec.task, variant_id=variant_id.strip(), origin=origin, kind=kind)
    except TemplateError as exc:
        show_error(exc, title="The template has a problem")
        return None
    builtin_ids = {v.id for v in builtin_variants(study.spec.task)}
    if variant.id in builtin_ids:
        show_error(TemplateError(f"The name {variant.id!r} is taken by a built-in prompt variant; choose another."))
        return None
    st.success(
        "Template OK. It uses " + ", ".join("{" + md_escape(p) + "}" for p in variant.placeholders) + ".",
        icon=":material/check_circle:",
    )
    return variant


def placeholder_help(task: TaskType) -> None:
    """The placeholders a template for ``task`` may use, and which are required."""
    st.caption(
        "Placeholders you can use (required: "
        + ", ".join("{" + p + "}" for p in required_placeholders(task))
        + "). Write a literal brace as {{ or }}."
    )
    st.code("  ".join("{" + p + "}" for p in allowed_placeholders(task)), language=None, wrap_lines=True)


def template_sources(study: Study) -> None:
    """Load an Atla YAML template from a file, or write one; checked as you go, added with a button."""
    upload_tab, write_tab = st.tabs(["Load an Atla YAML template", "Write your own"])
    with upload_tab:
        uploaded = st.file_uploader(
            "Template file (.yaml with a user_template key)",
            key="prompts_template_file",
            help="Atla's template files hold the prompt under 'user_template', with {placeholders}.",
        )
        uploaded_variant = None
        if uploaded is not None:
            if st.session_state.get("prompts_upload_id_for") != uploaded.file_id:
                put("prompts_upload_id", _default_variant_id(Path(uploaded.name).stem))
                put("prompts_upload_id_for", uploaded.file_id)
            st.text_input("Name of this variant", key="prompts_upload_id")
            try:
                text = uploaded.getvalue().decode("utf-8")
            except UnicodeDecodeError:
                show_error(
                    TemplateError(f"{uploaded.name} is not a UTF-8 text file; save it as UTF-8 and load it again.")
                )
            else:
                st.code(text, language="yaml", wrap_lines=True)
                kind = "yaml" if Path(uploaded.name).suffix.lower() in {".yaml", ".yml"} else "auto"
                uploaded_variant = template_checker(
                    study, text, st.session_state["prompts_upload_id"], f"Template file {uploaded.name}", kind
                )
            if uploaded_variant:
                st.button(
                    "Add this template to the study",
                    key="prompts_add_upload",
                    on_click=add_variant,
                    args=(study.slug, uploaded_variant),
                )
    with write_tab:
        placeholder_help(study.spec.task)
        st.button(
            "Start from Selene's prompt",
            key="prompts_start_from_selene",
            on_click=_copy_canonical,
            args=(study.spec.task,),
        )
        st.text_input("Name of this variant", key="prompts_custom_id")
        text = st.text_area(
            "Your template (checked when you click outside the box or press Ctrl+Enter)",
            key="prompts_custom_text",
            height=260,
        )
        written = template_checker(study, text, st.session_state["prompts_custom_id"], "Your template", "auto")
        if written:
            st.button(
                "Add this template to the study",
                key="prompts_add_written",
                on_click=add_variant,
                args=(study.slug, written),
            )


def _copy_canonical(task: TaskType) -> None:
    put("prompts_custom_text", builtin_variants(task)[0].user_template)


def _update_spec(slug: str, make_update: Callable[[StudySpec], dict[str, object]], message: str) -> bool:
    """Button callbacks' common path: open study ``slug``, apply ``make_update(spec)``, save.

    Shows ``message`` (or the error) on the next run; returns whether it worked.
    """
    try:
        study = study_store().open(slug)
        try:
            study.spec = study.spec.model_copy(update=make_update(study.spec))
            study.save_spec()
        finally:
            study.close()
    except SeleneEvalError as exc:
        flash("error", md_escape(str(exc)))
        return False
    flash("success", message)
    return True


def add_variant(slug: str, variant: PromptVariant) -> None:
    """Button callback: add (or replace) a custom variant in the study, select it and save the spec."""

    def update(spec: StudySpec) -> dict[str, object]:
        custom = [v for v in spec.custom_variants if v.id != variant.id]
        variants = list(spec.variants) + ([variant.id] if variant.id not in spec.variants else [])
        return {"custom_variants": [*custom, variant], "variants": variants}

    if _update_spec(slug, update, f"Added the prompt variant **{md_escape(variant.id)}**; it is selected and saved."):
        chosen = list(st.session_state.get("prompts_variants", []))
        put("prompts_variants", chosen + ([variant.id] if variant.id not in chosen else []))


def remove_variant(slug: str, variant_id: str) -> None:
    """Button callback: remove a custom variant (its stored judgments stay in the database)."""

    def update(spec: StudySpec) -> dict[str, object]:
        return {
            "custom_variants": [v for v in spec.custom_variants if v.id != variant_id],
            "variants": [v for v in spec.variants if v != variant_id],
        }

    if _update_spec(slug, update, f"Removed the prompt variant **{md_escape(variant_id)}**."):
        put("prompts_variants", [v for v in st.session_state.get("prompts_variants", []) if v != variant_id])


def save_prompts(slug: str, rubric: Rubric, variant_ids: list[str]) -> None:
    """Button callback: write the rubric and the chosen variants into the study spec."""
    _update_spec(
        slug,
        lambda spec: {"rubric": rubric, "variants": list(variant_ids)},
        "Saved the rubric and prompt variants. Next: run the judge.",
    )


def prompt_preview(study: Study, rubric: Rubric, variant_ids: list[str]) -> None:
    """The exact messages the judge will see for one item and one variant, as plain text."""
    items = study.items
    if not items or not variant_ids:
        return
    shown = items[:1000]
    indices = list(range(len(shown)))
    keep_valid("prompts_preview_item", indices)
    keep_valid("prompts_preview_variant", list(variant_ids))
    left, right = st.columns([3, 1])
    with left:
        index = st.selectbox(
            "Item" + (f" (the first 1,000 of {len(items):,})" if len(items) > 1000 else ""),
            indices,
            key="prompts_preview_item",
            format_func=lambda i: f"{shown[i].item_id}: {shown[i].input[:80]}",
        )
    with right:
        variant_id = st.selectbox("Variant", list(variant_ids), key="prompts_preview_variant")
    try:
        prompt = render(study.variant(variant_id), shown[index], rubric)
    except TemplateError as exc:
        show_error(exc)
        return
    for message in prompt.messages:
        st.caption(f"{message.role} message · {len(message.content):,} characters")
        st.code(message.content, language=None, wrap_lines=True)


def variant_composer(study: Study) -> None:
    """Combine axes (layout, order, rubric, labels, role, position, a surface seed) into one saved variant."""
    from selene_eval.prompts.compose import Axes, applicable_axes, compose, variant_diff
    from selene_eval.prompts.surface import Surface, random_surface

    task = study.spec.task
    has_reference = any((item.reference or "").strip() for item in study.items)
    st.markdown(
        "Change Selene's canonical prompt along one or more axes; the result is saved in the study "
        "as a variant of its own (its full text), so every run of it is reproducible."
    )
    choices: dict[str, str] = {}
    axes = applicable_axes(task)
    columns = st.columns(len(axes) + 1)
    for column, (axis, values) in zip(columns, axes.items()):
        choices[axis] = column.selectbox(axis.capitalize(), list(values), key=f"prompts_axis_{axis}")
    seed = columns[-1].number_input(
        "Surface seed (0 = canonical)", min_value=0, max_value=10_000, step=1, key="prompts_axis_surface"
    )
    reference = st.checkbox(
        "Show the reference answer", value=has_reference, key="prompts_axis_reference", disabled=not has_reference
    )
    try:
        variant = compose(
            task,
            bool(reference),
            Axes(
                surface=random_surface(int(seed)) if seed else Surface(),
                labels=choices.get("labels"),
                **{k: v for k, v in choices.items() if k != "labels"},
            ),
        )
    except TemplateError as exc:
        show_error(exc)
        return
    st.caption(f"{md_escape(variant.id)}: {md_escape(variant.description)}")
    diff = variant_diff(variant)
    if diff:
        st.code(diff, language="diff")
    st.button(
        "Add this variant to the study",
        key="prompts_compose_add",
        disabled=not diff,
        on_click=add_variant,
        args=(study.slug, variant),
    )


def variant_diff_view(study: Study, variant_ids: list[str]) -> None:
    """A diff of any chosen variant against Selene's canonical prompt (difflib, unified)."""
    from selene_eval.prompts.compose import variant_diff

    others = [v for v in variant_ids if v not in ("selene", "selene-ref")]
    if not others:
        st.caption("Only Selene's canonical prompt is chosen: nothing to compare.")
        return
    keep_valid("prompts_diff_variant", others)
    chosen = st.selectbox("Compare with the canonical prompt", others, key="prompts_diff_variant")
    try:
        diff = variant_diff(study.variant(chosen))
    except TemplateError as exc:
        show_error(exc)
        return
    st.code(diff or "(same text as the canonical prompt)", language="diff")
