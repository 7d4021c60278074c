"""Shared test set-up: offline hub, paths to the shared datasets, a fresh studies folder."""

from __future__ import annotations

import os
from pathlib import Path

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

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture
def shared_datasets() -> Path:
    """The read-only public datasets beside the checkout; skips the test when they are absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    """An empty studies folder."""
    path = tmp_path / "studies"
    path.mkdir()
    return path
