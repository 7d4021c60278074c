"""AppTest set-up for the dashboard: a fresh studies folder per test and app.py run on every rerun."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")


@pytest.fixture(autouse=True)
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
def studies_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty studies folder the app uses (``SELENE_EVAL_STUDIES_DIR``)."""
    path = tmp_path / "studies"
    path.mkdir()
    monkeypatch.setenv("SELENE_EVAL_STUDIES_DIR", str(path))
    monkeypatch.delenv("SELENE_EVAL_ENABLE_SCRIPTED", raising=False)
    return path
