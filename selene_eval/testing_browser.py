"""What the browser tests and ``bench/app.py`` share: where Chromium is, how it is started (headless, no
network chatter), free ports and stopping a server's process group.

Debian's Chromium is driven by Playwright's Python package; neither is needed to import this module
(``launch_chromium`` takes the Playwright object the caller started).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
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


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:``port``, without a file watcher (others may edit
    the checkout while it runs: no reloads mid-test) or usage statistics."""
    return [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]


def launch_chromium(playwright: Playwright, profile: Path, **options: Any) -> BrowserContext:
    """Headless Chromium with a fresh profile in ``profile``; ``options`` go to Playwright (a viewport...)."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS), **options
    )


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
