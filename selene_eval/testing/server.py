"""A scriptable OpenAI-compatible server on 127.0.0.1 that writes raw bytes, for tests and benchmarks.

What the hostile-server tests and ``bench/server_stream.py`` share. Unlike a stub built on
``http.server``, a script here controls every byte and when it is sent: an answer dripped a byte at a time,
keep-alive comments for ever, a body that lies about its length, invalid UTF-8, 50 MB of text. It listens
on loopback only and serves ``GET /v1/models`` itself (one model, ``judge``, owned by ``vllm``, unless a
``models`` script answers it); each
``POST .../chat/completions`` is handed to the script with the request's JSON and a :class:`Reply` to write
with. The connection closes after each answer (``Connection: close``).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MODEL = "judge"


class ClientGone(Exception):
    """The client closed the connection (it gave up on the answer, or read enough of it)."""


class Reply:
    """The connection to the client, for a script to answer on."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self._sock = sock
        self.stop = stop
        """Set when the server shuts down: an endless script ends when it is set."""
        self.bytes_sent = 0

    def send(self, data: bytes) -> None:
        """Write ``data`` now; raises :class:`ClientGone` once the client has closed the connection."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ClientGone from exc
        self.bytes_sent += len(data)

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (shorter when the server stops): how a script drips its answer."""
        self.stop.wait(seconds)

    # -- the usual shapes ------------------------------------------------------------------------------

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """A whole JSON answer with its ``Content-Length``."""
        self.raw(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})

    def raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """A whole answer: these bytes, with a ``Content-Length`` unless ``headers`` gives one."""
        given = {k.lower() for k in (headers or {})}
        length = {} if "content-length" in given else {"Content-Length": str(len(body))}
        self.send(head(status, {**length, **(headers or {})}) + body)

    def event_stream(self, events: Iterator[bytes] | list[bytes]) -> None:
        """A 200 event stream (no length: it ends when the connection closes) of these raw events."""
        self.send(head(200, {"Content-Type": "text/event-stream"}))
        for event in events:
            if self.stop.is_set():
                return
            self.send(event)


def head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and headers, ending with the blank line (``Connection: close`` added)."""
    lines = [
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Status'}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1")


def event(chunk: Any) -> bytes:
    """One ``data:`` event of a JSON chunk."""
    return f"data: {json.dumps(chunk)}\n\n".encode()


def delta_chunk(text: Any) -> dict[str, Any]:
    """A stream chunk that adds ``text`` to the answer."""
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def completion(text: str, *, logprobs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A whole chat completion answering ``text``."""
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {"choices": [choice], "usage": {"prompt_tokens": 11, "completion_tokens": 7}}


Script = Callable[[dict[str, Any], Reply], None]
"""How the server answers one chat request: reads the request's JSON, writes on the reply."""


@dataclass
class ScriptedServer:
    """The server; use as a context manager (``with ScriptedServer(script) as server: server.url``)."""

    script: Script
    models: Callable[[Reply], None] | None = None
    """How ``GET .../models`` is answered (``None``: one model, ``judge``, owned by ``vllm``)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    bytes_sent: list[int] = field(default_factory=list)
    """Bytes written for each chat request, in the order the answers ended."""
    errors: list[str] = field(default_factory=list)
    """Scripts that raised (other than the client going away): a broken test, reported by the test."""
    _server: socketserver.ThreadingTCPServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The API base, ``http://127.0.0.1:PORT/v1``."""
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._handle(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="scripted-server").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        request_line = reader.readline(65536).decode("latin-1").split()
        if len(request_line) < 2:
            return
        length = 0
        while (line := reader.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = reader.read(length) if length else b""
        reply = Reply(sock, self._stop)
        try:
            if request_line[0] == "GET" and request_line[1].endswith("/models"):
                if self.models is not None:
                    self.models(reply)
                else:
                    reply.json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "vllm"}]})
                return
            request = json.loads(body) if body else {}
            with self._lock:
                self.requests.append(request)
            try:
                self.script(request, reply)
            except ClientGone:
                pass
            except Exception as exc:  # a broken script is the test's bug: keep it for the test to report
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            with self._lock:
                self.bytes_sent.append(reply.bytes_sent)
        except ClientGone:
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
