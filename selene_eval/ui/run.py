"""Run page components: choose the judge, say what a run will do, run it with progress and cancel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from selene_eval.backends.base import DEFAULT_MODEL, JudgeSpec
from selene_eval.errors import ModelUnavailableError, SeleneEvalError
from selene_eval.runner import Progress, RunPlan, RunResult, plan_run, run_study
from selene_eval.store import Study
from selene_eval.ui.common import page_link, show_error
from selene_eval.ui.judge import (
    SELENE_DOWNLOAD_COMMAND,
    demo_judge_spec,
    device_description,
    hub_cache_dir,
    model_lock,
    scripted_judge_spec,
    shared_backend,
    weights_status,
)
from selene_eval.ui.state import flash, keep_valid, keep_valid_many, put, scripted_judge_enabled
from selene_eval.ui.text import DEMO_WARNING, fmt_duration, is_demo_judge, judge_title, md_escape, plural

KINDS: dict[str, str] = {
    "selene": "Selene Mini 8B by Atla (recommended)",
    "local": "A model in a local folder",
    "demo": f"Demo judge: SmolLM2-135M ({DEMO_WARNING})",
    "scripted": "Scripted test judge (testing aid, not a model)",
}
DEVICES: dict[str, str] = {"auto": "Automatic (GPU if there is one)", "cuda": "GPU", "cpu": "CPU"}


def judge_kinds() -> list[str]:
    """The judge choices offered here (the scripted one only with ``SELENE_EVAL_ENABLE_SCRIPTED=1``)."""
    return [k for k in KINDS if k != "scripted" or scripted_judge_enabled()]


def kind_of(spec: JudgeSpec) -> str:
    """Which of :data:`KINDS` a saved judge spec is."""
    if spec.backend == "scripted":
        return "scripted" if scripted_judge_enabled() else "selene"
    if is_demo_judge(spec):
        return "demo"
    return "selene" if spec.model == DEFAULT_MODEL else "local"


def load_judge_into_widgets(study: Study) -> None:
    """Start the judge widgets from the study's last judge when another study is opened, and the variant
    choice from the study's variants whenever those change (on the Prompts page)."""
    variants = tuple(study.spec.variants)
    if st.session_state.get("run_variants_for") != (study.slug, variants):
        put("run_variants", list(variants))
        put("run_variants_for", (study.slug, variants))
    if st.session_state.get("run_loaded_for") == study.slug:
        return
    spec = study.spec.judge
    kind = kind_of(spec)
    put("run_kind", kind)
    put("run_folder", spec.model if kind == "local" else st.session_state.get("run_folder", ""))
    put("run_revision", (spec.revision or "") if kind == "selene" else "")
    # The demo and scripted judges load unquantized; Selene and local folders default to 4-bit.
    put("run_quantize", spec.quantization == "nf4" if kind in {"selene", "local"} else True)
    put("run_device", spec.device)
    put("run_max_new_tokens", spec.max_new_tokens)
    put("run_loaded_for", study.slug)


def judge_picker() -> tuple[JudgeSpec | None, bool]:
    """Widgets for the judge and how to load it, with whether its model is here right under the choice.

    Returns the judge's spec (``None`` while the choice is incomplete) and whether it can run here.
    """
    kinds = judge_kinds()
    keep_valid("run_kind", kinds)
    kind = st.radio("Judge", kinds, key="run_kind", format_func=KINDS.get)
    if kind == "selene":
        st.text_input(
            "Model version (optional)",
            key="run_revision",
            help="A branch, tag or commit of the model on the hub. Leave empty for the latest you downloaded.",
        )
    elif kind == "local":
        st.text_input(
            "Model folder",
            key="run_folder",
            placeholder="/path/to/Selene-1-Mini-Llama-3.1-8B",
            help="A folder with the model saved by transformers: config.json, tokenizer files and weights.",
        )
    elif kind == "demo":
        st.caption(
            "SmolLM2-135M-Instruct, shipped with selene-eval for trying the workflow offline. It is "
            f"**{DEMO_WARNING}**: its agreement with your experts says nothing about Selene's."
        )
    # Widget values are in session state before the script runs, so the spec can be built (and its model
    # looked for) before the loading options below are drawn.
    spec = _spec_from_widgets(kind)
    ready = spec is not None and judge_availability(kind, spec)
    if kind in {"selene", "local"}:
        st.checkbox(
            "Load in 4-bit (NF4)",
            key="run_quantize",
            help="About 6 GB of memory for Selene instead of about 16 GB; answers can differ slightly from full "
            "precision, so they are stored as a separate judge.",
        )
    st.number_input(
        "Batch size", min_value=1, max_value=128, step=1, key="run_batch",
        help="Prompts sent to the model at once. Larger is faster on a GPU if memory allows; a cancel takes "
        "effect between batches.",
    )
    with st.expander("Advanced"):
        keep_valid("run_device", list(DEVICES))
        st.selectbox("Device", list(DEVICES), key="run_device", format_func=DEVICES.get)
        st.number_input(
            "Longest answer (tokens)", min_value=16, max_value=8192, step=16, key="run_max_new_tokens",
            help="Selene's answers (reasoning plus result) rarely need more than 512 tokens. Answers cut off "
            "here are kept and marked.",
        )
    return spec, ready


def _spec_from_widgets(kind: str) -> JudgeSpec | None:
    """The judge spec the widgets' current values describe; ``None`` (with a hint) while incomplete."""
    common = {"device": st.session_state["run_device"], "max_new_tokens": int(st.session_state["run_max_new_tokens"])}
    quantization = "nf4" if st.session_state["run_quantize"] else "none"
    if kind == "selene":
        revision = st.session_state["run_revision"].strip() or None
        return JudgeSpec(model=DEFAULT_MODEL, revision=revision, quantization=quantization, **common)
    if kind == "local":
        folder = st.session_state["run_folder"].strip()
        if not folder:
            st.info("Type the folder that holds the model.")
            return None
        return JudgeSpec(model=str(Path(folder).expanduser()), quantization=quantization, **common)
    if kind == "demo":
        try:
            return demo_judge_spec().model_copy(update=common)
        except ModelUnavailableError as exc:
            show_error(exc, title="The demo judge cannot run here")
            return None
    return scripted_judge_spec()


def judge_availability(kind: str, spec: JudgeSpec) -> bool:
    """Say plainly whether the judge's model files are here, and what to do if not; returns whether."""
    status = weights_status(spec)
    if status.available:
        st.success(md_escape(status.detail), icon=":material/check_circle:")
        return True
    if kind == "selene":
        st.warning(
            "**Selene Mini's weights are not on this computer**, so it cannot run here yet.  \n"
            f"selene-eval looked in the Hugging Face model cache ({md_escape(hub_cache_dir())}) and found nothing. "
            "Your data never leaves this computer, so the model is not downloaded for you.\n\n"
            "**To use Selene:** on a computer with internet access, download it once (about 16 GB):  \n"
            f"`{SELENE_DOWNLOAD_COMMAND}`  \n"
            "then copy the cache folder here (or run the command here) and reload this page.\n\n"
            "**What can run here now:**\n"
            "- **A model in a local folder**: if Selene (or another Llama-style model) is saved in a folder.\n"
            f"- **The demo judge** (SmolLM2-135M), to try the whole workflow; it is {DEMO_WARNING}.",
            icon=":material/cloud_off:",
        )
    else:
        st.warning(md_escape(status.detail), icon=":material/folder_off:")
    return False


def scope_picker(study: Study) -> tuple[list[str], int | None]:
    """Which prompt variants and how many items to judge; returns ``(variant_ids, limit)``."""
    variants = list(study.spec.variants)
    keep_valid_many("run_variants", variants)
    chosen = st.multiselect("Prompt variants", variants, key="run_variants",
                            help="Change the study's variants on the Prompts page.")
    n_items = len(study.items)
    left, right = st.columns(2)
    with left:
        only_first = st.checkbox("Judge only the first items (a pilot)", key="run_limit_on")
    limit = None
    if only_first:
        if not 1 <= int(st.session_state.get("run_limit", 1)) <= max(n_items, 1):
            put("run_limit", min(20, max(n_items, 1)))
        with right:
            limit = int(st.number_input("How many items", min_value=1, max_value=max(n_items, 1), step=1,
                                        key="run_limit"))
    if not chosen:
        st.error("Choose at least one prompt variant.", icon=":material/error:")
    return chosen, limit


def plan_summary(plan: RunPlan) -> None:
    """What starting the run will do: judgments, cached ones skipped, where it computes."""
    spec = plan.judge
    device, device_warning = device_description(spec)
    if plan.n_cached:
        stored = f"{plan.n_cached:,} {'is' if plan.n_cached == 1 else 'are'} already stored and will be skipped"
    else:
        stored = "none is stored yet"
    shared = plan.n_total - plan.n_cached - plan.n_pending
    st.info(
        f"This run asks **{md_escape(judge_title(spec))}** for {plural(plan.n_total, 'judgment')} "
        f"({plural(plan.n_items, 'item')} × {plural(len(plan.variant_ids), 'prompt variant')}): {stored}; "
        f"{plural(plan.n_pending, 'prompt')} will be sent to the judge, on {device}."
        + (
            f" ({plural(shared, 'item')} {'has' if shared == 1 else 'have'} the same prompt as another item and "
            "share its judgment.)"
            if shared
            else ""
        ),
        icon=":material/info:",
    )
    if plan.skipped:
        first = plan.skipped[0]
        st.warning(
            f"{plural(len(plan.skipped), 'item')} cannot be judged with the chosen prompts and "
            f"{'is' if len(plan.skipped) == 1 else 'are'} skipped. For example: {md_escape(first.reason)}",
            icon=":material/warning:",
        )
    if device_warning and plan.n_pending:
        st.warning(device_warning, icon=":material/memory:")
    if not plan.pending:
        st.success("Nothing left to run: every judgment of this plan is stored.", icon=":material/check_circle:")
        page_link("agreement", "See the results: 4 · Agreement")


def _request_cancel() -> None:
    """Cancel button callback (runs when Streamlit has stopped the run at the end of its batch)."""
    put("run_cancel_requested", True)
    flash(
        "info",
        "The run was cancelled after the batch in progress. Every finished judgment is stored: press "
        "**Start the run** to continue where it stopped.",
    )


def _show_progress(bar: "st.delta_generator.DeltaGenerator", progress: Progress) -> None:
    finished = progress.done + progress.failed
    total = progress.total
    parts = [f"{finished:,} of {total:,} judgments done"]
    if progress.rate > 0:
        parts.append(f"{progress.rate:.2f} per second" if progress.rate >= 1 else f"{progress.rate * 60:.1f} per minute")
    if progress.eta_s is not None and finished < total:
        parts.append(f"about {fmt_duration(progress.eta_s)} left")
    if progress.failed:
        parts.append(f"{progress.failed:,} failed")
    if progress.cached:
        parts.append(f"{progress.cached:,} already stored")
    bar.progress(min(finished / total, 1.0) if total else 1.0, text=" · ".join(parts))


def execute_run(
    study: Study, spec: JudgeSpec, variant_ids: list[str], limit: int | None, batch_size: int
) -> RunResult | None:
    """Load the judge (once per process), judge what is pending with a progress bar, store every batch.

    Runs in the script thread: Streamlit stops it at the next progress update when the user clicks
    Cancel, leaves the page or changes a setting, which is always between batches (each batch is stored
    before its progress update). Errors the user can fix are shown; ``None`` then.
    """
    put("run_cancel_requested", False)
    status = st.empty()
    bar = st.progress(0.0, text="Starting…")
    cancel = st.empty()
    cancel.button("Cancel after the current batch", key="run_cancel", on_click=_request_cancel)
    try:
        with model_lock(lambda waited: status.info(
            f"Another browser session is using the judge; this run starts when it finishes "
            f"(waiting {fmt_duration(waited)})."
        )):
            # Planned again under the lock: another session may have stored some of these meanwhile.
            plan = plan_run(study, spec, variant_ids=variant_ids, limit=limit)
            study.spec = study.spec.model_copy(update={"judge": spec})
            study.save_spec()
            status.info(
                f"Loading {md_escape(judge_title(spec))}. The first run in this app loads the model (minutes for "
                "an 8B model); later runs reuse it.",
                icon=":material/hourglass_top:",
            )
            backend = shared_backend(spec)
            status.info(f"Judging with {md_escape(judge_title(spec))}…", icon=":material/play_circle:")
            result = run_study(
                study,
                backend,
                plan=plan,
                batch_size=batch_size,
                on_progress=lambda progress: _show_progress(bar, progress),
                should_cancel=lambda: bool(st.session_state.get("run_cancel_requested")),
            )
    except SeleneEvalError as exc:
        for slot in (status, bar, cancel):
            slot.empty()
        show_error(exc, title="The run could not finish")
        return None
    status.empty()
    cancel.empty()
    return result


def finish_run(slug: str, result: RunResult) -> None:
    """Keep the outcome for the next run of the page and rerun, so the sidebar and the plan are current."""
    put("run_last_outcome", (slug, result))
    st.rerun()


def last_outcome(slug: str) -> None:
    """Show (once) how the last run of study ``slug`` in this session ended."""
    outcome = st.session_state.get("run_last_outcome")
    if outcome is not None and outcome[0] == slug:
        put("run_last_outcome", None)
        run_outcome(outcome[1])


def run_outcome(result: RunResult) -> None:
    """How the run ended, the failures (if any) and where to look next."""
    summary = (
        f"{plural(result.n_judged, 'judgment')} made, {result.n_cached:,} already stored, "
        f"{result.n_failed:,} failed, in {fmt_duration(result.elapsed_s)}."
    )
    if result.cancelled:
        st.info(f"Run cancelled: {summary} Press **Start the run** to continue.", icon=":material/pause_circle:")
    elif result.n_failed:
        st.warning(f"Run finished with failures: {summary} Start the run again to retry them.", icon=":material/warning:")
    else:
        st.success(f"Run finished: {summary}", icon=":material/check_circle:")
    if result.failures:
        st.dataframe(
            pd.DataFrame(
                [{"Item": f.item_id, "Prompt variant": f.variant_id, "Error": f.error} for f in result.failures]
            ),
            hide_index=True,
            width="stretch",
        )
    page_link("agreement", "See the results: 4 · Agreement")
