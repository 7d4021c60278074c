"""Test-only: a small OpenAI-compatible stub server built on ``http.server``, for the backend tests.

A :class:`Stub` answers each chat request as its ``reply(request_json, n)`` says: a status, headers and JSON
body, a streamed :class:`Events` answer, or misbehaviour ("drop", "die", "hang:SECONDS", "empty-stream"). It
records the requests. The ``stubs`` fixture of ``tests/conftest.py`` starts them (:func:`start_stub`) and stops
them after the test. For byte-level misbehaviour see :mod:`selene_eval.testing.server`. The product never
imports this module.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from selene_eval.core.judge_spec import JudgeSpec

ANSWER = "**Reasoning:** It is fine.\n\n**Result:** Yes"

Reply = tuple[int, dict[str, str], Any]
"""What the stub answers: status, headers, JSON body (or the strings "drop" / "die" / "hang:SECONDS", or an
:class:`Events` stream)."""


@dataclass
class Events:
    """A streamed answer: these chunks, then (``endless``) filler chunks until the client hangs up."""

    chunks: list[dict[str, Any]]
    endless: bool = False
    sent_after: int = 0
    """Filler chunks written before the client closed the stream."""


def delta(text: str, *alts: tuple[str, float], finish: str | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    if alts:
        choice["logprobs"] = {"content": [tok(text, *alts)]}
    return {"choices": [choice]}


def completion(
    text: str = ANSWER, *, logprobs: list[dict[str, Any]] | None = None, finish: str = "stop"
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {"choices": [choice], "usage": {"prompt_tokens": 11, "completion_tokens": 7}}


def tok(token: str, *alts: tuple[str, float]) -> dict[str, Any]:
    """One logprobs.content entry: the token and its alternatives as (token, probability)."""
    return {"token": token, "logprob": 0.0, "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts]}


@dataclass
class Stub:
    """An OpenAI-compatible stub: ``reply(request_json, n)`` decides each chat answer (n counts from 1)."""

    reply: Callable[[dict[str, Any], int], Reply | Events | str]
    owned_by: str = "vllm"
    models: tuple[str, ...] = ("judge",)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    """The last user message of every request answered with 200."""
    server: ThreadingHTTPServer | None = None
    dead: bool = False
    """Set by a "die" reply: the listening socket closes and open keep-alive connections are cut."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def handler_for(stub: Stub) -> type[BaseHTTPRequestHandler]:
    """The request handler class that serves ``stub``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: Events) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in events.chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                while events.endless:
                    self.wfile.write(f"data: {json.dumps(delta(' more'))}\n\n".encode())
                    self.wfile.flush()
                    events.sent_after += 1
                    threading.Event().wait(0.01)
                if not events.endless:
                    self.wfile.write(b"data: [DONE]\n\n")
            except OSError:
                pass  # the client closed the stream

        def do_GET(self) -> None:
            if stub.dead:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if self.path == "/v1/models":
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": m, "object": "model", "owned_by": stub.owned_by} for m in stub.models],
                    },
                )
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            if stub.dead:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if getattr(self, "stale", False):
                # The connection an empty stream left open: reset it (RST), as a server that closed it does.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            with stub.lock:
                stub.requests.append(body)
                stub.headers.append(dict(self.headers))
                n = len(stub.requests)
            reply = stub.reply(body, n)
            if reply == "drop" or reply == "die":
                if reply == "die":
                    stub.dead = True
                    threading.Thread(target=stub.stop, daemon=True).start()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if isinstance(reply, Events):
                self._stream(reply)
                return
            if reply == "empty-stream":
                # llama-cpp-python on a prompt longer than its context: a 200 stream with no event at all,
                # on a keep-alive connection it then closes.
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.stale = True
                return
            if isinstance(reply, str) and reply.startswith("hang:"):
                threading.Event().wait(float(reply.split(":")[1]))
                reply = (200, {}, completion())
            if isinstance(reply, str):  # not one of the strings above: as unpacking it would, a ValueError
                raise ValueError(f"Unknown stub reply {reply!r}.")
            status, headers, payload = reply
            if status == 200:
                with stub.lock:
                    stub.answered.append(
                        body["messages"][-1]["content"]
                        if body["messages"][-1]["role"] == "user"
                        else body["messages"][-2]["content"]
                    )
            try:
                self._send(status, payload, headers)
            except OSError:
                pass  # the client gave up (timeout)

    return Handler


def start_stub(reply: Callable[[dict[str, Any], int], Reply | Events | str] | None = None, **kwargs: Any) -> Stub:
    """A started stub on a free loopback port (default reply: :func:`completion`); call ``stop()`` after."""
    stub = Stub(reply or (lambda body, n: (200, {}, completion())), **kwargs)
    stub.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(stub))
    stub.server.daemon_threads = True
    threading.Thread(target=stub.server.serve_forever, daemon=True).start()
    return stub


def spec_for(*urls: str, **kwargs: Any) -> JudgeSpec:
    """The OpenAI-compatible judge ``judge`` on ``urls``."""
    return JudgeSpec(backend="openai", model="judge", endpoints=tuple(urls), **kwargs)
