"""Run page components: choose the judge, say what a run will do, run it with progress and cancel.

The judge is a local model (Selene, a folder, the demo), a model on serving engines over the OpenAI-compatible
API (vLLM, Ollama, llama.cpp; several URLs are replicas), or the scripted testing aid; each in reasoned or
fast mode.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from selene_eval.core.judge_spec import DEFAULT_MODEL, JudgeBackend, JudgeMode, JudgeSpec
from selene_eval.errors import BackendError, ModelUnavailableError, SeleneEvalError, StudyBusy
from selene_eval.run.runner import (
    DEFAULT_SAMPLE_SEED,
    Progress,
    RunEstimate,
    RunPlan,
    RunResult,
    estimate_run,
    plan_run,
)
from selene_eval.run.start import batch_size_for, start_run
from selene_eval.study import Study
from selene_eval.ui.common import page_link, show_error
from selene_eval.ui.judge_model import (
    SELENE_DOWNLOAD_COMMAND,
    demo_judge_spec,
    device_description,
    hub_cache_dir,
    model_lock,
    scripted_judge_spec,
    shared_backend,
    test_connection,
    weights_status,
)
from selene_eval.ui.sidebar import show_chosen_judge
from selene_eval.ui.state import flash, keep_valid, keep_valid_many, put, scripted_judge_enabled
from selene_eval.ui.text import DEMO_WARNING, fmt_duration, is_demo_judge, judge_title, md_escape, plural

KINDS: dict[str, str] = {
    "selene": "Selene Mini 8B by Atla (recommended)",
    "local": "A model in a local folder",
    "server": "OpenAI-compatible server (vLLM, Ollama, llama.cpp)",
    "demo": f"Demo judge: SmolLM2-135M ({DEMO_WARNING})",
    "scripted": "Scripted test judge (testing aid, not a model)",
}
DEVICES: dict[str, str] = {"auto": "Automatic (GPU if there is one)", "cuda": "GPU", "cpu": "CPU"}
MODES: dict[str, str] = {
    "reasoned": "Reasoned: the judge explains, then gives its label (Selene's trained format)",
    "fast": "Fast: the label only, read from one forward pass (a different measurement)",
}
MODE_HELP = (
    "Reasoned mode is how Selene was trained to judge: a critique, then the result. Fast mode skips the "
    "critique: the answer is prefilled up to **Result:** and the judge's most probable label is taken, which "
    "is much quicker but measures something different (no reasoning to read, and labels can differ), so its "
    "judgments are stored and reported as a separate judge. On a server it needs vLLM, llama.cpp's "
    "llama-server or Ollama (an engine that continues a prefilled answer)."
)
SERVER_MODEL_PLACEHOLDER = DEFAULT_MODEL


def judge_kinds() -> list[str]:
    """The judge choices offered here (the scripted one only with ``SELENE_EVAL_ENABLE_SCRIPTED=1``)."""
    return [k for k in KINDS if k != "scripted" or scripted_judge_enabled()]


DEMO_MAX_NEW_TOKENS = 256
"""The demo judge's measured budget (``demo_judge_spec``; docs/PERFORMANCE.md), without finding its GGUF file."""


def _budget_for_kind() -> None:
    """On a change of judge kind: the new kind's default budget (the demo judge's is 256 tokens, the others'
    512), so that the demo judge chosen here is the same judge as ``run --demo`` (and shares its judgments)."""
    demo = st.session_state.get("run_kind") == "demo"
    put("run_max_new_tokens", DEMO_MAX_NEW_TOKENS if demo else JudgeSpec().max_new_tokens)


FORCE_KEY = "run_force_verdict"
FORCE_HELP = (
    "When an answer ends, loops or runs out of tokens without a readable result, continue it with the result "
    "marker and take the judge's most probable allowed label. Such labels are stored as *forced* and counted "
    "apart; the Agreement page shows the statistics with and without them. Off for Selene by default (its "
    "format failures are a finding), on for the demo judge. Part of the judge's identity."
)


def kind_of(spec: JudgeSpec) -> str:
    """Which of :data:`KINDS` a saved judge spec is."""
    if spec.backend == "scripted":
        return "scripted" if scripted_judge_enabled() else "selene"
    if spec.backend == "openai":
        return "server"
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
    put("run_mode", spec.mode)
    # One "force a verdict" setting per kind of judge: on by default for the demo judge only (issue #16).
    for each in KINDS:
        put(f"{FORCE_KEY}:{each}", spec.force_verdict if each == kind else each == "demo")
    server = kind == "server"
    put("run_server_model", spec.model if server else st.session_state.get("run_server_model", ""))
    put("run_endpoints", "\n".join(spec.endpoints) if server else st.session_state.get("run_endpoints", ""))
    put("run_api_key_env", (spec.api_key_env or "") if server else st.session_state.get("run_api_key_env", ""))
    put("run_concurrency", spec.concurrency)
    put("run_timeout", float(spec.timeout_s))
    put("run_connection", None)
    put("run_loaded_for", study.slug)


def judge_picker() -> tuple[JudgeSpec | None, bool]:
    """Widgets for the judge and how to load it, with whether its model is here right under the choice.

    Returns the judge's spec (``None`` while the choice is incomplete) and whether it can run here.
    """
    kinds = judge_kinds()
    keep_valid("run_kind", kinds)
    kind = st.radio("Judge", kinds, key="run_kind", format_func=KINDS.get, on_change=_budget_for_kind)
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
    elif kind == "server":
        server_fields()
    keep_valid("run_mode", list(MODES))
    st.radio("Mode", list(MODES), key="run_mode", format_func=MODES.get, help=MODE_HELP)
    st.session_state.setdefault(f"{FORCE_KEY}:{kind}", kind == "demo")
    st.checkbox(
        "Force a verdict when the answer has none",
        key=f"{FORCE_KEY}:{kind}",
        help=FORCE_HELP,
    )
    # Widget values are in session state before the script runs, so the spec can be built (and its model
    # looked for) before the loading options below are drawn.
    spec = _spec_from_widgets(kind)
    show_chosen_judge(st.session_state.get("run_loaded_for"), spec)
    if kind == "server":
        ready = spec is not None
        if spec is not None:
            connection_check(spec)
    else:
        ready = spec is not None and judge_availability(kind, spec)
    if kind in {"selene", "local"}:
        st.checkbox(
            "Load in 4-bit (NF4)",
            key="run_quantize",
            help="About 6 GB of memory for Selene instead of about 16 GB; answers can differ slightly from full "
            "precision, so they are stored as a separate judge.",
        )
    st.number_input(
        "Batch size",
        min_value=1,
        max_value=128,
        step=1,
        key="run_batch",
        help="Prompts sent to the model at once. Larger is faster on a GPU if memory allows; a cancel takes "
        "effect between batches. With servers, a batch is at least one request for every free slot "
        "(servers × concurrent requests).",
    )
    with st.expander("Advanced"):
        if kind != "server":
            keep_valid("run_device", list(DEVICES))
            st.selectbox("Device", list(DEVICES), key="run_device", format_func=DEVICES.get)
        st.number_input(
            "Longest answer (tokens)",
            min_value=16,
            max_value=8192,
            step=16,
            key="run_max_new_tokens",
            help="Selene's answers (reasoning plus result) rarely need more than 512 tokens. Answers cut off "
            "here are kept and marked.",
        )
    return spec, ready


def server_fields() -> None:
    """The settings of a judge on OpenAI-compatible servers: model name, URLs, key variable, concurrency, timeout."""
    st.text_input(
        "Served model name",
        key="run_server_model",
        placeholder=SERVER_MODEL_PLACEHOLDER,
        help="The name the server knows the model by, as in its /v1/models list (vLLM: the name given to "
        "`vllm serve`; Ollama: the model tag; llama.cpp: the alias or file name).",
    )
    st.text_area(
        "Server URLs, one per line",
        key="run_endpoints",
        height=90,
        placeholder="http://localhost:8000/v1\nhttp://gpu-2:8000/v1",
        help="The API base of each server (usually ending in /v1). Several servers of the same model are "
        "replicas: requests are spread over them, and a server that stops answering leaves its work to the "
        "others. The URLs are not part of the judge: a study started on one server can be finished on another.",
    )
    left, middle, right = st.columns(3)
    with left:
        st.text_input(
            "API key variable (optional)",
            key="run_api_key_env",
            placeholder="VLLM_API_KEY",
            help="The *name* of the environment variable that holds the server's API key, set before starting "
            "the dashboard. The key itself is never typed here nor stored in the study.",
        )
    with middle:
        st.number_input("Concurrent requests per server", min_value=1, max_value=256, step=1, key="run_concurrency")
    with right:
        st.number_input("Timeout per request (s)", min_value=1.0, max_value=3600.0, step=10.0, key="run_timeout")


def connection_check(spec: JudgeSpec) -> None:
    """The Test connection button and its last result (kept until the server settings change)."""
    settings = (spec.model, spec.endpoints, spec.api_key_env)
    if st.button(
        "Test connection",
        key="run_test_connection",
        help="Lists the models on every server and sends each one tiny request.",
    ):
        try:
            with st.spinner("Asking the servers…"):
                put("run_connection", (settings, test_connection(spec)))
        except BackendError as exc:
            show_error(exc, title="The connection cannot be tested")
            return
    last = st.session_state.get("run_connection")
    if not last or last[0] != settings:
        st.caption("Test the connection before a long run: it checks that every server answers and serves the model.")
        return
    report = last[1]
    lines = "\n".join(f"- {md_escape(e.describe())}" for e in report.endpoints)
    if report.ok:
        extra = (
            ""
            if report.logprobs
            else (
                "\n\nNo token probabilities came back, so label probabilities and calibration will be missing "
                "(the labels themselves are unaffected)."
            )
        )
        st.success(f"**Connection OK.**\n{lines}{extra}", icon=":material/check_circle:")
    else:
        st.warning(f"**Not every server is ready.**\n{lines}", icon=":material/cloud_off:")


def _spec_from_widgets(kind: str) -> JudgeSpec | None:
    """The judge spec the widgets' current values describe; ``None`` (with a hint) while incomplete."""
    mode: JudgeMode = st.session_state["run_mode"]
    common = {
        "device": st.session_state["run_device"],
        "max_new_tokens": int(st.session_state["run_max_new_tokens"]),
        "mode": mode,
        "force_verdict": bool(st.session_state.get(f"{FORCE_KEY}:{kind}", kind == "demo")),
    }
    quantization = "nf4" if st.session_state["run_quantize"] else "none"
    if kind == "server":
        return _server_spec(common)
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
    return scripted_judge_spec().model_copy(update={"mode": mode, "force_verdict": common["force_verdict"]})


def _server_spec(common: dict[str, object]) -> JudgeSpec | None:
    """The ``openai`` judge the server fields describe; ``None`` (with a hint or an error) while incomplete."""
    from selene_eval.judge.openai_backend import normalize_base_url

    model = st.session_state["run_server_model"].strip()
    urls = [line.strip() for line in st.session_state["run_endpoints"].splitlines() if line.strip()]
    if not model or not urls:
        st.info("Type the served model's name and at least one server URL.")
        return None
    try:
        for url in urls:
            normalize_base_url(url)
    except BackendError as exc:
        show_error(exc, title="A server URL is not valid")
        return None
    key_env = st.session_state["run_api_key_env"].strip() or None
    # Other settings keep JudgeSpec's defaults, as a command-line run with --endpoint does, so that both
    # reach the same judge (and the same stored judgments).
    return JudgeSpec(
        backend="openai",
        model=model,
        endpoints=tuple(dict.fromkeys(urls)),
        api_key_env=key_env,
        concurrency=int(st.session_state["run_concurrency"]),
        timeout_s=float(st.session_state["run_timeout"]),
        **common,
    )


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


def scope_picker(study: Study) -> tuple[list[str], int | None, int]:
    """Which prompt variants and how many items to judge; returns ``(variant_ids, limit, sample_seed)``.

    A pilot is a seeded random sample stratified by the experts' majority label
    (:func:`selene_eval.run.runner.pilot_sample`), the same one ``run --limit N --sample-seed S`` judges.
    """
    variants = list(study.spec.variants)
    keep_valid_many("run_variants", variants)
    chosen = st.multiselect(
        "Prompt variants", variants, key="run_variants", help="Change the study's variants on the Prompts page."
    )
    n_items = len(study.items)
    left, middle, right = st.columns(3)
    with left:
        pilot = st.checkbox(
            "Judge a random sample first (a pilot)",
            key="run_limit_on",
            help="A random sample, not the first rows of the file (files are often sorted). Each expert label "
            "gets its share of the sample, and the same seed always gives the same items; a larger pilot with the "
            "same seed keeps the smaller one's judgments.",
        )
    limit = None
    if pilot:
        if not 1 <= int(st.session_state.get("run_limit", 1)) <= max(n_items, 1):
            put("run_limit", min(20, max(n_items, 1)))
        with middle:
            limit = int(
                st.number_input("How many items", min_value=1, max_value=max(n_items, 1), step=1, key="run_limit")
            )
        with right:
            st.number_input(
                "Sample seed",
                min_value=0,
                max_value=2**31 - 1,
                step=1,
                key="run_sample_seed",
                help="Another seed draws another sample of the same size.",
            )
    if not chosen:
        st.error("Choose at least one prompt variant.", icon=":material/error:")
    return chosen, limit, int(st.session_state.get("run_sample_seed", DEFAULT_SAMPLE_SEED))


def plan_summary(plan: RunPlan, study: Study | None = None) -> None:
    """What starting the run will do: judgments, cached ones skipped, where it computes, how long it takes."""
    spec = plan.judge
    device, device_warning = device_description(spec)
    if plan.n_cached:
        stored = f"{plan.n_cached:,} {'is' if plan.n_cached == 1 else 'are'} already stored and will be skipped"
    else:
        stored = "none is stored yet"
    shared = plan.n_total - plan.n_cached - plan.n_pending
    pilot = (
        f" The {plural(plan.n_items, 'item')} {'is' if plan.n_items == 1 else 'are'} a random sample of the "
        f"study's {plan.n_study_items:,}, each expert label getting its share (seed {plan.sample_seed})."
        if plan.is_sample
        else ""
    )
    st.info(
        f"This run asks **{md_escape(judge_title(spec))}** for {plural(plan.n_total, 'judgment')} "
        f"({plural(plan.n_items, 'item')} × {plural(len(plan.variant_ids), 'prompt variant')}): {stored}; "
        f"{plural(plan.n_pending, 'prompt')} will be sent to the judge, on {device}."
        + (
            f" ({plural(shared, 'item')} {'has' if shared == 1 else 'have'} the same prompt as another item and "
            "share its judgment.)"
            if shared
            else ""
        )
        + pilot
        + (f" {expected_time(estimate_run(study, plan))}" if study is not None and plan.pending else ""),
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


def expected_time(estimate: RunEstimate | None) -> str:
    """One sentence on how long the run should take (or when that will be known)."""
    if estimate is None:
        return (
            "How long it takes is measured on the first batch: the progress bar then shows the time left, "
            "updated after every batch."
        )
    expected = "under a second" if estimate.seconds < 1 else f"about {fmt_duration(estimate.seconds)}"
    return (
        f"It should take **{expected}**, at the pace of this judge's {plural(estimate.n_measured, 'judgment')} "
        f"in {estimate.where} ({estimate.seconds_per_judgment:.2f} s each); the progress bar updates after "
        "every batch."
    )


def _request_cancel() -> None:
    """Cancel button callback (runs when Streamlit has stopped the run at the end of its batch)."""
    put("run_cancel_requested", True)
    flash(
        "info",
        "The run was cancelled after the batch in progress. Every finished judgment is stored: press "
        "**Start the run** to continue where it stopped.",
    )


def _show_progress(bar: st.delta_generator.DeltaGenerator, progress: Progress, first_batch: str = "") -> None:
    """The bar and its text after each batch (``first_batch``: what to say before any judgment is done)."""
    finished = progress.done + progress.failed
    total = progress.total
    parts = [f"{finished:,} of {total:,} judgments done"]
    if finished == 0 and first_batch:
        parts.append(first_batch)
    if progress.rate > 0:
        parts.append(
            f"{progress.rate:.2f} per second" if progress.rate >= 1 else f"{progress.rate * 60:.1f} per minute"
        )
    if progress.eta_s is not None and finished < total:
        parts.append(f"about {fmt_duration(progress.eta_s)} left")
    if progress.failed:
        parts.append(f"{progress.failed:,} failed")
    if progress.forced:
        parts.append(f"{progress.forced:,} with a forced label")
    if progress.unreadable:
        parts.append(f"{progress.unreadable:,} without a readable label")
    if progress.cached:
        parts.append(f"{progress.cached:,} already stored")
    bar.progress(min(finished / total, 1.0) if total else 1.0, text=" · ".join(parts))


def execute_run(
    study: Study,
    spec: JudgeSpec,
    variant_ids: list[str],
    limit: int | None,
    batch_size: int,
    sample_seed: int = DEFAULT_SAMPLE_SEED,
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
        with model_lock(
            lambda waited: status.info(
                f"Another browser session is using the judge; this run starts when it finishes "
                f"(waiting {fmt_duration(waited)})."
            )
        ):
            # Planned again under the lock: another session may have stored some of these meanwhile.
            plan = plan_run(study, spec, variant_ids=variant_ids, limit=limit, sample_seed=sample_seed)
            estimate = estimate_run(study, plan)
            # The same batch size as start_run's, for the words under the bar before the first batch.
            batch_size = batch_size_for(spec, batch_size, fill_server_slots=True)

            def load(judge: JudgeSpec) -> JudgeBackend:
                """The process's loaded model (loaded now on first use), with what is happening above the bar."""
                status.info(
                    f"Connecting to {md_escape(judge_title(judge))}…"
                    if judge.backend == "openai"
                    else f"Loading {md_escape(judge_title(judge))}. The first run in this app loads the model (minutes "
                    "for an 8B model); later runs reuse it.",
                    icon=":material/hourglass_top:",
                )
                backend = shared_backend(judge)
                status.info(f"Judging with {md_escape(judge_title(judge))}…", icon=":material/play_circle:")
                return backend

            # Until the first batch is done, the bar says how long the run should take, or that it is measuring.
            first_batch = (
                f"expected time about {fmt_duration(estimate.seconds)}"
                if estimate is not None
                else f"judging the first batch ({plural(min(batch_size, plan.n_pending), 'prompt')}) to measure the pace"
            )
            # Another process (the CLI, another server) may be judging this study: start_run refuses before
            # loading a model. The dashboard's batch size always has a value; with servers it fills their slots.
            result = start_run(
                study,
                plan,
                batch_size=batch_size,
                fill_server_slots=True,
                load_backend=load,
                on_progress=lambda progress: _show_progress(bar, progress, first_batch),
                should_cancel=lambda: bool(st.session_state.get("run_cancel_requested")),
            )
    except SeleneEvalError as exc:
        for slot in (status, bar, cancel):
            slot.empty()
        busy = isinstance(exc, StudyBusy)
        show_error(exc, title="Another run is judging this study" if busy else "The run could not finish")
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
    summary = f"{result.summary()}, in {fmt_duration(result.elapsed_s)}."
    if result.cancelled:
        st.info(f"Run cancelled: {summary} Press **Start the run** to continue.", icon=":material/pause_circle:")
    elif result.n_failed:
        st.warning(
            f"Run finished with failures: {summary} Start the run again to retry them.", icon=":material/warning:"
        )
    elif result.n_unreadable:
        st.warning(
            f"Run finished, but {result.n_unreadable:,} of {plural(result.n_judged, 'answer')} had no readable label: "
            f"{summary} They are kept and left out of the statistics; the Agreement page shows each one under "
            "*Judge answers that could not be read*.",
            icon=":material/warning:",
        )
    elif result.n_forced:
        st.info(
            f"Run finished: {summary} {result.n_forced:,} of {plural(result.n_judged, 'answer')} wrote no readable "
            "result; their label is the judge's most probable one after the result marker (forced), counted apart "
            "on the Agreement page, where the statistics can be read without them.",
            icon=":material/info:",
        )
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
