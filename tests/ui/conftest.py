"""The dashboard tests: every test runs AppTest as the server does, on a fresh studies folder the app uses."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _navigation(navigation_like_the_server: None) -> None:
    """Every page test runs ``app.py`` on each rerun (see ``navigation_like_the_server`` in tests/conftest.py)."""


@pytest.fixture
def studies_dir(app_studies_dir: Path) -> Path:
    """Here the studies folder is the app's (``SELENE_EVAL_STUDIES_DIR``): see ``app_studies_dir``."""
    return app_studies_dir
