"""The browser tests' and bench/app.py's shared server helpers, without a browser or Streamlit."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from selene_eval.testing import browser as testing_browser

# A stand-in for `streamlit run`: answers 200 on every path once it listens on the port it is given.
_HEALTHY_SERVER = """
import http.server, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _start(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_importing_it_loads_neither_playwright_nor_streamlit() -> None:
    code = "import sys, selene_eval.testing.browser; print(sorted({'playwright', 'streamlit'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_free_port_can_be_bound() -> None:
    port = testing_browser.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_streamlit_command_is_headless_on_the_port_without_a_file_watcher() -> None:
    command = testing_browser.streamlit_command(8765)
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", "app.py"]
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.port"] == "8765" and options["--server.headless"] == "true"
    assert options["--server.fileWatcherType"] == "none" and options["--browser.gatherUsageStats"] == "false"


def test_wait_until_served_returns_once_health_answers_and_stop_ends_the_server() -> None:
    port = testing_browser.free_port()
    process = _start(_HEALTHY_SERVER, str(port))
    try:
        testing_browser.wait_until_served(process, f"http://127.0.0.1:{port}", timeout_s=30, poll_s=0.05)
    finally:
        testing_browser.stop_process_group(process)
    assert process.poll() is not None
    testing_browser.stop_process_group(process)  # stopping a stopped server does nothing


def test_wait_until_served_reports_a_server_that_exits() -> None:
    process = _start("raise SystemExit(3)")
    with pytest.raises(testing_browser.ServerDidNotStart, match="exited with 3"):
        testing_browser.wait_until_served(process, f"http://127.0.0.1:{testing_browser.free_port()}", timeout_s=30)


def test_wait_until_served_gives_up_after_the_timeout() -> None:
    process = _start("import time; time.sleep(60)")
    try:
        with pytest.raises(testing_browser.ServerDidNotStart, match="did not answer .* within 0.3 s"):
            testing_browser.wait_until_served(
                process, f"http://127.0.0.1:{testing_browser.free_port()}", timeout_s=0.3, poll_s=0.05
            )
    finally:
        testing_browser.stop_process_group(process)


def test_start_streamlit_writes_its_output_to_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The command is replaced by one that prints: what matters here is where the output goes.
    monkeypatch.setattr(testing_browser, "streamlit_command", lambda port: [sys.executable, "-c", f"print({port})"])
    log = tmp_path / "server.log"
    process = testing_browser.start_streamlit(1234, {"PATH": ""}, log, tmp_path)
    assert process.wait(timeout=30) == 0
    assert log.read_text().strip() == "1234"
