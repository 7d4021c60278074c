"""What the browser tests and ``bench/app.py`` share: where Chromium is, how it is started (headless, no
network chatter), and how ``streamlit run app.py`` is started on a free port, awaited and stopped.

Debian's Chromium is driven by Playwright's Python package; neither is needed to import this module
(``launch_chromium`` takes the Playwright object the caller started; ``chromium_context`` imports
Playwright when called).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

CHROMIUM = Path(os.environ.get("SELENE_EVAL_CHROMIUM", "/usr/bin/chromium"))
"""Chromium's executable (``SELENE_EVAL_CHROMIUM`` names another)."""

CHROMIUM_ARGS = (
    # No sandbox (containers run as root), no GPU, and none of the background traffic Chromium starts on
    # its own: the machines that run the tests have no internet.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def playwright_or_skip() -> Any:
    """``playwright.sync_api`` for a browser test module; skips the whole module (pytest) where Chromium or
    Playwright is missing. Call it at module level, before the module's other imports that need them."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set SELENE_EVAL_CHROMIUM to another path)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:``port``, without a file watcher (others may edit
    the checkout while it runs: no reloads mid-test) or usage statistics."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


def launch_chromium(playwright: Playwright, profile: Path, **options: Any) -> BrowserContext:
    """Headless Chromium with a fresh profile in ``profile``; ``options`` go to Playwright (a viewport...)."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS), **options
    )


@contextlib.contextmanager
def chromium_context(profile: Path, *, timeout_ms: float, **options: Any) -> Iterator[BrowserContext]:
    """Playwright started, :func:`launch_chromium` in ``profile`` with ``options``, every action's default
    timeout set to ``timeout_ms``; the browser is closed (and Playwright stopped) on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_chromium(playwright, profile, **options)
        context.set_default_timeout(timeout_ms)
        try:
            yield context
        finally:
            context.close()


class ServerDidNotStart(RuntimeError):
    """The dashboard's process exited, or did not answer in time, before its health endpoint answered."""


def start_streamlit(port: int, env: Mapping[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """:func:`streamlit_command` started in ``cwd`` with ``env``, its output (both streams) going to ``log``.

    The server runs in a session of its own, so that :func:`stop_process_group` also ends what it starts.
    """
    with log.open("wb") as out:
        return subprocess.Popen(
            streamlit_command(port),
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_served(
    process: subprocess.Popen[bytes], url: str, *, timeout_s: float | None = None, poll_s: float = 0.25
) -> None:
    """Return once ``url``'s ``/_stcore/health`` answers 200, polling every ``poll_s`` seconds.

    Raises :class:`ServerDidNotStart` when ``process`` exits first or, with ``timeout_s``, when that many
    seconds pass without an answer (without a timeout it waits as long as the process runs).
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServerDidNotStart(f"streamlit exited with {process.returncode}")
        # Refused connections and timeouts only mean "not yet": the server is still starting.
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        if deadline is not None and time.monotonic() > deadline:
            raise ServerDidNotStart(f"streamlit did not answer on {url} within {timeout_s:g} s")
        time.sleep(poll_s)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server started in a session of its own (``start_new_session=True``) with everything it
    started; kill it if it does not stop within 10 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def served_dashboard(env: Mapping[str, str], log: Path, cwd: Path, *, timeout_s: float = 60) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with ``env``, awaited; yields its URL and stops it on leaving.

    Raises :class:`ServerDidNotStart` (the log is in ``log``) when it does not answer within ``timeout_s``.
    """
    port = free_port()
    process = start_streamlit(port, env, log, cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(process, url, timeout_s=timeout_s)
        yield url
    finally:
        stop_process_group(process)


def settle(page: Any, timeout_ms: float = 30_000) -> None:
    """Wait until the dashboard in ``page`` is idle: the app says its script is not running (nor a rerun
    requested: a widget that was just changed sets that at once), the status widget is gone and no element
    is marked stale (what the last run did not redraw yet).

    The status widget alone is not enough: it appears only a moment after a run starts, so a check made in
    between would pass while the page is about to be redrawn (an open dropdown would close under a click).
    """
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'
                 && !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=timeout_ms,
    )


def choose(page: Any, combobox: Any, option: str, *, attempts: int = 3, open_timeout_ms: float = 15_000) -> None:
    """Pick ``option`` (its exact text) in a Streamlit selectbox or multiselect (``combobox``, a Locator).

    On a busy machine a redraw that starts just after the click (a field left a moment earlier commits its
    value) can close the dropdown before its options show, and the click is lost. So the options are awaited
    (a condition, not a pause); when they do not show, the dropdown is closed, the page awaited idle and the
    click made again, up to ``attempts`` times.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = page.get_by_role("option", name=option, exact=True)
    for attempt in range(1, attempts + 1):
        combobox.click()
        try:
            wanted.wait_for(state="visible", timeout=open_timeout_ms)
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.keyboard.press("Escape")
            settle(page)
            continue
        wanted.click()
        return
