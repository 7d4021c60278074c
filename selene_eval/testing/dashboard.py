"""Test-only helpers that drive the dashboard through Streamlit's AppTest, always from ``app.py``.

Shared by the page tests wherever they live (``tests/ui``, ``tests/reliability``, ``tests/presentation``). The
AppTest set-up they need (a studies folder in ``SELENE_EVAL_STUDIES_DIR``, navigation as the server runs it)
is the ``app_studies_dir`` fixture of ``tests/conftest.py``. The product never imports this module.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
"""The dashboard's entry script."""

TIMEOUT = 60
"""Seconds one AppTest script run may take (generous: the CI machine's two cores are shared)."""


def start(*, timeout: float = TIMEOUT, **kwargs: object) -> AppTest:
    """The app's first run (``kwargs`` go to :meth:`AppTest.run`); fails the test on any exception."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run(**kwargs)  # type: ignore[arg-type]
    assert not at.exception, [e.message for e in at.exception]
    return at


def go(at: AppTest, page: str) -> AppTest:
    """Switch to ``page`` (``"pages/4_agreement.py"``) and run it; fails the test on any exception."""
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_in_sidebar(at: AppTest, slug: str) -> AppTest:
    """Open the study ``slug`` from the sidebar's study picker."""
    at.selectbox(key="app_study").set_value(slug).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(elements: object, *, raw: bool = False) -> str:
    """The elements' Markdown joined; user text in it is backslash-escaped, which ``raw=False`` undoes."""
    joined = "\n".join(str(e.value) for e in elements)  # type: ignore[attr-defined]
    return joined if raw else re.sub(r"\\(.)", r"\1", joined)


def messages(at: AppTest) -> str:
    """Every success, error, info and warning message on the page, unescaped, one per line."""
    parts = [str(e.value) for kind in (at.success, at.error, at.info, at.warning) for e in kind]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))
