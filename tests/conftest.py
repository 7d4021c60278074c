"""Shared test set-up: offline hub, paths to the shared datasets, a fresh studies folder, the dashboard as
AppTest and the server run it, and tiny real Llamas (built once per session).

Builders that tests call (studies, AppTest helpers, tiny models, servers) live in :mod:`selene_eval.testing`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Never let a test reach for the model hub (a lookup retries for ~47 s before failing).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
# Converted copies of GGUF judges (issue #16) go to one folder per test session, not the user's cache; the
# subprocesses a test starts inherit it.
if "SELENE_EVAL_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["SELENE_EVAL_CACHE_DIR"] = tempfile.mkdtemp(prefix="selene-eval-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SELENE_EVAL_CACHE_DIR"], True)  # the demo judge's copy is ~0.5 GB

# Imported only once the environment above is set, so that nothing they load reads it unset.
from selene_eval.core.judge_spec import Message  # noqa: E402
from selene_eval.testing import browser as testing_browser  # noqa: E402
from selene_eval.testing.openai_stub import Stub, start_stub  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
PROMPTS_DIR = Path(__file__).resolve().parent / "fixtures" / "prompts"


@pytest.fixture
def shared_datasets() -> Path:
    """The read-only public datasets beside the checkout; skips the test when they are absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


def _empty_studies_dir(tmp_path: Path) -> Path:
    path = tmp_path / "studies"
    path.mkdir()
    return path


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    """An empty studies folder."""
    return _empty_studies_dir(tmp_path)


@pytest.fixture
def no_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache: Selene's weights are certainly not present."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def navigation_like_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AppTest run ``app.py`` on every run, as the Streamlit server does.

    With a ``pages/`` folder beside the entry script, Streamlit starts in its old multipage mode; the first
    ``st.navigation`` call switches it off for good (``PagesManager.uses_pages_directory = False``). AppTest
    (1.67) resets that flag before every run, so from the second run on it would execute the page alone,
    without ``app.py``: no sidebar, no session defaults. Setting the flag as the server leaves it fixes that.
    """
    from streamlit.runtime import pages_manager

    original = pages_manager.PagesManager.__init__

    def init(self: pages_manager.PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)


@pytest.fixture
def app_studies_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, navigation_like_the_server: None) -> Path:
    """An empty studies folder the dashboard uses (``SELENE_EVAL_STUDIES_DIR``), AppTest set up as the server
    runs the app (the page tests outside ``tests/ui`` ask for it; those inside get it as ``studies_dir``)."""
    studies_dir = _empty_studies_dir(tmp_path)
    monkeypatch.setenv("SELENE_EVAL_STUDIES_DIR", str(studies_dir))
    monkeypatch.delenv("SELENE_EVAL_ENABLE_SCRIPTED", raising=False)
    return studies_dir


@pytest.fixture
def dashboard(studies_dir: Path, tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` over ``studies_dir`` on a free localhost port; stopped afterwards."""
    port = testing_browser.free_port()
    env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies_dir), "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "streamlit.log"
    process = testing_browser.start_streamlit(port, env, log, REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            testing_browser.wait_until_served(process, url, timeout_s=60)
        except testing_browser.ServerDidNotStart as exc:
            pytest.fail(f"{exc}: {log.read_text(errors='replace')[-2000:]}")
        yield url
    finally:
        testing_browser.stop_process_group(process)


# --- Tiny real Llamas for the backend and testing-aid tests, built once per session (each in tens of ms) ---


@pytest.fixture(scope="session")
def tiny_random(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama-3.1-style model with random weights."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "random")


@pytest.fixture(scope="session")
def tiny_five(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model scripted to answer every prompt with Selene's contract and the label ``5``."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "five", answer_label="5")


@pytest.fixture(scope="session")
def judge_prompts() -> list[list[Message]]:
    """Three real rendered judge prompts of different lengths (binary, absolute with reference, pairwise)."""
    names = ("binary-selene", "absolute-selene-ref", "pairwise-selene-ref")
    return [[Message("user", (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8"))] for name in names]


@pytest.fixture(scope="session")
def contract() -> re.Pattern[str]:
    """Selene's output contract, matched just enough for these tests (the product's parser is tested elsewhere).

    Groups: ``reasoning`` and ``label``; the whole text must be the contract and nothing else.
    """
    return re.compile(r"\A\*\*Reasoning:\*\* (?P<reasoning>.+?)\n\n\*\*Result:\*\* (?P<label>\S+)\Z", re.DOTALL)


@pytest.fixture
def stubs() -> Iterator[Callable[..., Stub]]:
    """Start OpenAI-compatible stub servers (``stubs(reply, **options)``, see :func:`start_stub`); all stop after."""
    started: list[Stub] = []

    def start(*args: Any, **kwargs: Any) -> Stub:
        stub = start_stub(*args, **kwargs)
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.stop()
