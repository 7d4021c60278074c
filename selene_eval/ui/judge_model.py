"""The judge model in the dashboard: is it here, where will it run, load it once, one generation at a time.

A judge served over the OpenAI-compatible API (``backend="openai"``) has no local files: it is "here" when
its servers answer, which :func:`test_connection` checks on request.

Nothing in this module imports torch or transformers at import time, and the checks (weights present,
GPU present) read files only, so opening the dashboard stays fast and works on a machine without either.
The model is loaded when a run starts (:func:`shared_backend`), once per process, and every browser
session shares it; :func:`model_lock` serialises generation, because one model cannot serve two batches at
once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from selene_eval.core.judge_spec import DEFAULT_MODEL, JudgeBackend, JudgeSpec
from selene_eval.errors import ModelUnavailableError

if TYPE_CHECKING:
    from selene_eval.judge.openai_backend import ConnectionReport

SELENE_DOWNLOAD_COMMAND = f"huggingface-cli download {DEFAULT_MODEL}"


@dataclass(frozen=True)
class WeightsStatus:
    """Whether a judge's model files are on this computer, in plain words."""

    available: bool
    summary: str
    """A few words for the sidebar: ``model files found`` / ``not on this computer``."""
    detail: str
    """A full sentence: what was looked for, where, and what is missing."""


def hub_cache_dir() -> str:
    """The Hugging Face cache folder this process would load hub models from."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def weights_status(spec: JudgeSpec) -> WeightsStatus:
    """Look for ``spec``'s model files without loading anything (no torch import).

    Uses the backend's own check (:func:`selene_eval.judge.transformers_backend.locate_model`): a hub id
    must be in the local Hugging Face cache (``config.json`` of the requested revision, looked up with
    ``huggingface_hub.try_to_load_from_cache``); a folder must hold ``config.json`` and weights (or the
    GGUF file the spec names). A hub model that would have to be downloaded counts as not here: the
    dashboard never starts a 16 GB download on its own. The scripted backend needs no files.
    """
    if spec.backend == "scripted":
        return WeightsStatus(True, "needs no model files", "The scripted test judge needs no model files.")
    if spec.backend == "openai":
        servers = plural_servers(spec)
        return WeightsStatus(
            True,
            f"served by {servers}",
            f"{spec.model} is served by {servers}; 'Test connection' checks that they answer before a run.",
        )
    from selene_eval.judge.transformers_backend import locate_model

    try:
        location = locate_model(spec)
    except ModelUnavailableError as exc:
        return WeightsStatus(False, "model files not found on this computer", str(exc))
    version = f" (version {spec.revision})" if spec.revision else ""
    if location.is_folder:
        return WeightsStatus(True, "model files found", f"Model files found in {location.source}.")
    if location.local_files_only:
        return WeightsStatus(
            True, "model files found", f"{spec.model}{version} is in the local model cache ({hub_cache_dir()})."
        )
    return WeightsStatus(
        False,
        "model files not found on this computer",
        f"{spec.model}{version} is not on this computer (looked in the model cache at {hub_cache_dir()}).",
    )


def plural_servers(spec: JudgeSpec) -> str:
    """``1 server`` / ``3 servers``: the replicas of an ``openai`` judge."""
    n = len(spec.endpoints)
    return f"{n} server{'' if n == 1 else 's'}"


def test_connection(spec: JudgeSpec) -> ConnectionReport:
    """Check that every server of an ``openai`` judge answers and serves its model (one tiny request each).

    Problems with a server are in the report; a malformed URL or a missing API-key variable raises
    ``BackendError``.
    """
    from selene_eval.judge.openai_backend import check_connection

    return check_connection(spec)


def demo_judge_spec() -> JudgeSpec:
    """The offline demo judge (SmolLM2-135M): a weak demo model, not Selene.

    Raises ``ModelUnavailableError`` (with the install command) when its model package is missing.
    """
    from selene_eval.judge.demo import demo_judge_spec as make

    return make()


def scripted_judge_spec() -> JudgeSpec:
    """The scripted test judge offered when ``SELENE_EVAL_ENABLE_SCRIPTED=1`` (no model, for tests)."""
    return JudgeSpec(
        backend="scripted", model="scripted-test-judge", quantization="none", name="Scripted test judge (not a model)"
    )


# ---------------------------------------------------------------------------------------------------
# Where the model will run (read from files: importing torch takes seconds and needs the package)
# ---------------------------------------------------------------------------------------------------


def _torch_cuda_build() -> bool | None:
    """``True``/``False`` whether the installed torch is a CUDA build, ``None`` if torch is not installed."""
    try:
        found = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    version_file = Path(next(iter(found.submodule_search_locations))) / "version.py"
    try:
        text = version_file.read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^cuda\s*(?::[^=\n]*)?=\s*(.+)$", text, re.MULTILINE)
    return match is not None and match.group(1).strip() not in {"None", "''", '""'}


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible to this process (device files; ``CUDA_VISIBLE_DEVICES`` respected)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in {"", "-1"}:
        return False
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def device_description(spec: JudgeSpec) -> tuple[str, str | None]:
    """Where a run with ``spec`` will compute, and a warning (or ``None``), in plain words."""
    if spec.backend == "scripted":
        return "no device (scripted answers)", None
    if spec.backend == "openai":
        return plural_servers(spec) + " (" + ", ".join(spec.endpoints) + ")", None
    cuda_build = _torch_cuda_build()
    gpu = gpu_present()
    if cuda_build is None:
        return "nowhere yet", "PyTorch is not installed, so no model can run here; install the requirements."
    usable = gpu and cuda_build
    if spec.device == "cpu":
        return "the CPU (as chosen)", None
    if spec.device == "cuda":
        if usable:
            return "the GPU (as chosen)", None
        why = "no NVIDIA GPU is visible" if not gpu else "the installed PyTorch has no GPU support"
        return "the GPU (as chosen)", f"The run will fail: {why}. Choose 'automatic' or 'CPU' under Advanced."
    if usable:
        return "the GPU (found automatically)", None
    why = "no NVIDIA GPU is visible" if not gpu else "the installed PyTorch is a CPU-only build"
    return "the CPU", (
        f"It runs on the CPU because {why}. That works, but large models such as Selene Mini (8B) are slow "
        "there: try a few items first."
    )


# ---------------------------------------------------------------------------------------------------
# One model per process, one generation at a time
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Shared:
    """Process-wide: the generation lock and the backend currently loaded (shared by every session)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    key: str | None = None
    backend: JudgeBackend | None = None


@st.cache_resource(show_spinner=False)
def _shared() -> _Shared:
    return _Shared()


@st.cache_resource(show_spinner=False, max_entries=1)
def _cached_backend(spec_json: str) -> JudgeBackend:
    """Load the judge for ``spec_json`` (a :class:`JudgeSpec` as JSON): once per process and spec."""
    from selene_eval.judge import create_backend

    return create_backend(JudgeSpec.model_validate_json(spec_json))


def shared_backend(spec: JudgeSpec) -> JudgeBackend:
    """The loaded backend for ``spec``, loading it on first use. Call with :func:`model_lock` held.

    Only one model is kept: asking for another judge closes the current one first, so memory for two
    8B models is never needed. Raises ``ModelUnavailableError`` when the weights cannot be loaded.
    """
    shared = _shared()
    key = spec.model_dump_json()
    if shared.backend is not None and shared.key != key:
        old, shared.backend, shared.key = shared.backend, None, None
        _cached_backend.clear()
        old.close()
    backend = _cached_backend(key)
    shared.key, shared.backend = key, backend
    return backend


def loaded_judge() -> JudgeSpec | None:
    """The judge whose model is in memory in this process, if any."""
    backend = _shared().backend
    return backend.spec if backend is not None else None


@contextmanager
def model_lock(on_wait: Callable[[float], None]) -> Iterator[None]:
    """Hold the process-wide generation lock; ``on_wait(seconds_waited)`` is called while another session has it.

    ``on_wait`` should draw something (a Streamlit call), which also lets Streamlit stop this script if
    the user leaves the page while waiting.
    """
    lock = _shared().lock
    start = time.monotonic()
    while not lock.acquire(timeout=0.5):
        on_wait(time.monotonic() - start)
    try:
        yield
    finally:
        lock.release()
