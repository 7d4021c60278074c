"""Building blocks every page uses: the page registry, errors, the current study, plain text blocks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.study import Study
from selene_eval.ui.state import current_slug, study_store
from selene_eval.ui.text import md_escape


@dataclass(frozen=True)
class PageInfo:
    """One step of a study: its script, title and icon."""

    path: str
    title: str
    icon: str


PAGES: dict[str, PageInfo] = {
    "data": PageInfo("pages/1_data.py", "1 · Data", ":material/table_view:"),
    "prompts": PageInfo("pages/2_prompts.py", "2 · Prompts", ":material/edit_note:"),
    "run": PageInfo("pages/3_run.py", "3 · Run the judge", ":material/play_circle:"),
    "agreement": PageInfo("pages/4_agreement.py", "4 · Agreement", ":material/handshake:"),
    "robustness": PageInfo("pages/5_robustness.py", "5 · Robustness", ":material/tune:"),
    "studies": PageInfo("pages/6_studies.py", "Studies", ":material/folder_open:"),
}
"""Every page, in navigation order (``app.py`` registers them from here)."""


def require_login() -> None:
    """When the dashboard is hosted with a login, stop here until the visitor has logged in.

    The login is Streamlit's OpenID Connect one (``st.login``), configured by an ``[auth]`` section in
    ``.streamlit/secrets.toml`` (see docs/RELIABILITY.md, "Hosting for a team"). Without that section, the
    default for one analyst on localhost, this does nothing.
    """
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        configured = "auth" in st.secrets
    except StreamlitSecretNotFoundError:  # no secrets file at all
        return
    if not configured or st.user.get("is_logged_in"):  # a mapping; the key is absent outside a server
        return
    st.title("selene-eval")
    st.info("This dashboard is shared with your team: log in to open the studies.", icon=":material/lock:")
    st.button("Log in", key="app_login", type="primary", on_click=st.login)
    st.stop()


def page_title(page: str) -> None:
    """The page's title, as it is named in the navigation."""
    st.title(PAGES[page].title)


def page_link(page: str, label: str | None = None) -> None:
    """A link to one of :data:`PAGES` (``label`` is Markdown; defaults to the page's title)."""
    info = PAGES[page]
    st.page_link(info.path, label=label or info.title, icon=info.icon)


def show_error(exc: SeleneEvalError, *, title: str | None = None) -> None:
    """Show a user-fixable error as plain words (the message may quote user text, so it is escaped)."""
    message = md_escape(str(exc))
    st.error(f"**{md_escape(title)}**  \n{message}" if title else message, icon=":material/error:")


def plain(text: object, *, label: str | None = None) -> None:
    """Show user text (a response, reasoning, a prompt) as wrapped plain text, never as Markdown/HTML."""
    if label:
        st.caption(md_escape(label))
    st.code("" if text is None else str(text), language=None, wrap_lines=True)


@contextmanager
def study_opened(slug: str) -> Iterator[Study | None]:
    """Study ``slug`` opened for this run and closed afterwards; ``None`` (error shown) if it cannot be opened."""
    study: Study | None = None
    try:
        study = study_store().open(slug)
    except SeleneEvalError as exc:
        show_error(exc, title="This study cannot be opened")
    try:
        yield study
    finally:
        if study is not None:
            study.close()


@contextmanager
def opened_study(purpose: str = "", *, quiet: bool = False) -> Iterator[Study | None]:
    """The current study, opened for this run and closed afterwards; ``None`` if there is none.

    Without a study, a hint says where to get one (``purpose`` completes "Create one ... to <purpose>"),
    unless ``quiet``. A damaged study is shown as an error.
    """
    slug = current_slug()
    if slug is None:
        if not quiet:
            st.info(
                "No study is open. Create one from a file on the Data page, or open a saved one on the Studies "
                f"page, to {purpose}.",
                icon=":material/info:",
            )
            col1, col2 = st.columns(2)
            with col1:
                page_link("data", "Go to 1 · Data")
            with col2:
                page_link("studies", "Go to Studies")
        yield None
        return
    with study_opened(slug) as study:
        yield study


def study_caption(study: Study) -> None:
    """Which study the page works on, under its title (study names are user text: shown escaped)."""
    spec = study.spec
    tag = " · illustrative example (not real expert data)" if spec.illustrative else ""
    st.caption(f"Study **{md_escape(spec.title)}** ({md_escape(spec.slug)}){tag}")
