"""Privacy by default: the dashboard listens on localhost only and sends no usage statistics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from selene_eval.data import ReadLimits

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_settings_are_private_by_default() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "localhost"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    # The upload limit and the reader's own limit agree, so a file the page accepts is not refused later.
    assert config["server"]["maxUploadSize"] * 2**20 == ReadLimits().max_bytes
    assert "server.address" not in (REPO / "scripts" / "app.sh").read_text(encoding="utf-8")
    assert not (REPO / ".streamlit" / "secrets.toml").exists()  # no credentials in the repository


def _listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` (Linux: /proc/net/tcp and tcp6)."""
    found = []
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_the_running_dashboard_listens_on_loopback_only(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SELENE_EVAL_STUDIES_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )
    try:
        for _ in range(240):  # wait until it answers (no timing is asserted)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                assert server.poll() is None, "the dashboard did not start"
                time.sleep(0.5)
        listening = _listeners(port)
        assert listening, "nothing listens on the port"
        loopback = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
        assert set(listening) <= loopback, f"listening beyond loopback: {listening}"
    finally:
        server.terminate()
        server.wait(30)


def _gated_page() -> None:
    import streamlit as st

    from selene_eval.ui.common import require_login

    require_login()
    st.markdown("The studies are here.")


def test_without_an_auth_section_the_dashboard_asks_for_no_login() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_gated_page, default_timeout=60).run()
    assert not at.exception and [m.value for m in at.markdown] == ["The studies are here."]


def test_with_an_auth_section_nothing_is_shown_before_the_login() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_gated_page, default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "id",
        "client_secret": "secret",
        "server_metadata_url": "https://login.invalid/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not [m for m in at.markdown if "studies are here" in m.value]
    assert [b.label for b in at.button] == ["Log in"]
