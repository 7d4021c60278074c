"""Session state, the studies folder and the current study.

Session-state keys are declared once per page with :func:`declare` (``setdefault``, so a rerun keeps what
the user chose) and are prefixed by the page that owns them: ``app_`` (shared), ``data_``, ``prompts_``,
``run_``, ``agree_``, ``robust_``, ``studies_``.

The current study is the sidebar's selectbox (key ``app_study``). A widget's value cannot be changed once
it is drawn in a run, and the sidebar is drawn before the page, so a page that wants to switch study calls
:func:`open_study`, which records the request and reruns; ``app.py`` applies it before drawing the sidebar.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import streamlit as st

from selene_eval.study import StudyStore

STUDIES_DIR_ENV = "SELENE_EVAL_STUDIES_DIR"
"""Environment variable naming the studies folder (default: ``studies`` in the working directory)."""

SCRIPTED_ENV = "SELENE_EVAL_ENABLE_SCRIPTED"
"""Testing aid: with ``SELENE_EVAL_ENABLE_SCRIPTED=1`` the Run page also offers a scripted judge that needs
no model (deterministic Selene-format answers). Never shown otherwise."""

STUDY_KEY = "app_study"
_STUDY_REQUEST_KEY = "app_study_request"
_FLASH_KEY = "app_flash"

T = TypeVar("T")
FlashKind = Literal["success", "info", "warning", "error"]


_NOTHING = object()
_KEPT_KEY = "app_kept_keys"


def declare(prefix: str, **defaults: Any) -> None:
    """Declare a page's session-state keys (``<prefix>_<name>``) with their defaults, once per session."""
    for name, value in defaults.items():
        default(f"{prefix}_{name}", value)


def default(key: str, value: Any) -> None:
    """``setdefault`` one session-state key and keep it across pages (see :func:`keep_widget_values`)."""
    st.session_state.setdefault(key, value)
    _keep(key)


def put(key: str, value: Any) -> None:
    """Set one session-state key (before its widget is drawn) and keep it across pages."""
    st.session_state[key] = value
    _keep(key)


def _keep(key: str) -> None:
    kept = st.session_state.setdefault(_KEPT_KEY, set())
    kept.add(key)


def keep_widget_values() -> None:
    """Stop Streamlit from forgetting widget values when the user visits another page.

    Streamlit drops the state of widgets a run did not draw, so a half-written rubric would vanish on a
    visit to another page. Re-assigning each declared key at the start of every run makes its value
    the session's own, which Streamlit keeps (the documented work-around for multipage apps).
    """
    for key in list(st.session_state.get(_KEPT_KEY, ())):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def init_app_state() -> None:
    """The keys shared by every page; called by ``app.py`` on every run, before anything is drawn."""
    if STUDY_KEY not in st.session_state:
        # A newcomer's first view is a complete study: the first illustrative example, if the folder has one.
        declare("app", study=first_example_slug())
    declare("app", flash=[])
    keep_widget_values()
    request = st.session_state.pop(_STUDY_REQUEST_KEY, _NOTHING)
    if request is not _NOTHING:
        st.session_state[STUDY_KEY] = request


def first_example_slug() -> str | None:
    """The first illustrative example study in the studies folder, or ``None``."""
    return next((s.slug for s in study_store().list() if s.illustrative), None)


def studies_dir() -> Path:
    """The folder where studies are stored (``$SELENE_EVAL_STUDIES_DIR`` or ``./studies``), absolute."""
    return Path(os.environ.get(STUDIES_DIR_ENV) or "studies").expanduser().resolve()


def study_store() -> StudyStore:
    """The store over :func:`studies_dir`."""
    return StudyStore(studies_dir())


def scripted_judge_enabled() -> bool:
    """Whether the testing aid :data:`SCRIPTED_ENV` is switched on."""
    return os.environ.get(SCRIPTED_ENV, "").strip().lower() in {"1", "true", "yes"}


def current_slug() -> str | None:
    """The slug of the study chosen in the sidebar, or ``None``."""
    slug = st.session_state.get(STUDY_KEY)
    return slug if isinstance(slug, str) and slug else None


# mypy reads streamlit as Any (pyproject.toml: no_site_packages), so it cannot see that st.rerun() never returns.
def open_study(slug: str | None, message: str | None = None) -> NoReturn:  # type: ignore[misc]
    """Make ``slug`` the current study (``None``: no study) and rerun, showing ``message`` once if given."""
    st.session_state[_STUDY_REQUEST_KEY] = slug
    if message:
        flash("success", message)
    st.rerun()


def flash(kind: FlashKind, message: str) -> None:
    """Queue a message (Markdown; escape user text) to show at the top of the next run's page."""
    st.session_state.setdefault(_FLASH_KEY, [])
    st.session_state[_FLASH_KEY] = [*st.session_state[_FLASH_KEY], (kind, message)]


def show_flash() -> None:
    """Show and clear the queued messages."""
    for kind, message in st.session_state.get(_FLASH_KEY, []):
        getattr(st, kind)(message)
    st.session_state[_FLASH_KEY] = []


def memo(key: str, signature: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered in session state under ``key`` until ``signature`` changes.

    For per-session work that is too slow to repeat on every rerun (parsing an upload, validating a
    mapping) and whose inputs are not worth hashing for ``st.cache_data``. An exception is not remembered.
    """
    slot = st.session_state.get(key)
    if isinstance(slot, tuple) and len(slot) == 2 and slot[0] == signature:
        return slot[1]
    value = compute()
    st.session_state[key] = (signature, value)
    return value


def keep_valid(key: str, options: Sequence[object], fallback: object = _NOTHING) -> None:
    """Reset widget state ``key`` to ``fallback`` (default: the first option) if it is not among ``options``.

    Call before drawing a selectbox/radio whose options can change between runs (studies deleted in
    another tab, a new file with other columns).
    """
    if key in st.session_state and st.session_state[key] not in options:
        if fallback is _NOTHING:
            fallback = options[0] if options else None
        put(key, fallback)


def keep_valid_many(key: str, options: Sequence[object]) -> None:
    """Drop values of multiselect state ``key`` that are no longer among ``options``."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        kept = [v for v in value if v in options]
        if kept != value:
            put(key, kept)
