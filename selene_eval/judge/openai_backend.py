"""The judge on a serving engine (vLLM, Ollama, llama.cpp) through the OpenAI-compatible chat API.

The same rendered chat prompts as the local backend go to ``POST {base}/chat/completions`` on one or more
endpoints that serve the same model (replicas). What this module adds on top of plain HTTP:

* **Bounded concurrency per endpoint** (``spec.concurrency`` requests in flight on each), requests spread
  over the replicas by least-busy choice, so throughput grows with the servers a team runs.
* **Retries** with exponential backoff and full jitter on what passes (429, 408, 5xx, a refused or reset
  connection, a timeout), honouring ``Retry-After`` up to :attr:`RetryPolicy.max_retry_after_s` (a wait is
  logged, so a run that pauses says why). A replica that refuses connections is rested for a while and its
  work goes to the others.
* **Bounds against a hostile or broken server**: ``spec.timeout_s`` is a *total* deadline for one request
  (connecting, sending, the headers and every byte of the answer: a server that drips its answer or sends
  keep-alive comments for ever is cut off at the deadline); an answer is read up to
  :func:`answer_byte_limit` bytes; everything in it is checked against the chat-completion format before it
  is used. A malformed, oversized or late answer is that prompt's failure with the reason, never a crash.
* **Clear failures**: a prompt the server rejects (400: context too long, ...) becomes that prompt's error
  (the runner stores it with the item's id); a wrong API key (401/403) or a model the server does not serve
  (404) would fail every prompt, so it raises :class:`~selene_eval.errors.BackendError` at once. When every
  replica stops answering mid-batch, the prompts already answered are returned (the runner stores them) and
  the next call raises, so a run stops with nothing lost and a re-run sends only what is missing.
* **Greedy decoding** (temperature 0) and, where the server supports them, ``logprobs``/``top_logprobs``:
  the probabilities of the allowed answers at the token after the result marker become
  :attr:`Generation.label_probs`.
* **Fast mode**: the answer is prefilled up to the result marker and one token is generated; the label is
  the most probable allowed answer. It needs a server that continues a prefilled assistant message.

Reasoned answers are streamed and the stream is closed as soon as the result line is complete (the rule
the local backend stops by, :func:`~selene_eval.prompts.parser.result_line_complete`), so a
model that keeps writing after its label costs no server time. Stop strings cannot say this: the chat API
stops *at* a string, not after the line that follows ``**Result:**``. A server that answers a streamed
request with one JSON body is read as such.

The API key is read from the environment variable ``spec.api_key_env`` names when the backend is created;
it is never stored. The replicas' URLs are not part of the judge's identity (a study can be started on one
server and finished on another).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2

from selene_eval.core.judge_spec import FinishReason, Generation, JudgeSpec, LabelChoices, Message, fast_mode_prefill
from selene_eval.errors import BackendError

# The parser's marker and the characters it strips: a streamed answer ends by the rule the local backend
# stops by (result_line_complete), applied a line at a time (_StreamedAnswer).
from selene_eval.prompts.parser import ANSWER_STRIP_CHARS, readable_result
from selene_eval.prompts.parser import RESULT_MARKER as _RESULT_MARKER

logger = logging.getLogger(__name__)

TOP_LOGPROBS = 20
FORCE_MAX_TOKENS = 4
"""Tokens the forcing request (``force_verdict``) may write after the result marker: the label, with room for a
space or bold marker the tokenizer puts before it."""
"""How many alternatives to ask for at each token: OpenAI's and vLLM's default maximum."""

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
"""HTTP answers that may succeed when sent again (any other 5xx is treated the same)."""

_sleep = time.sleep
"""The retry wait (a module attribute so that tests can record the waits instead of sleeping)."""

FAST_MODE_SERVERS = "vLLM, llama.cpp's own llama-server, or Ollama"

ENGINE_NAMES = {
    "vllm": "vLLM",
    "llamacpp": "llama.cpp",
    "library": "Ollama",
    "ollama": "Ollama",
    "me": "llama-cpp-python",
}
"""Readable names for the ``owned_by`` values engines put in their model lists."""


def engine_name(owned_by: str) -> str:
    """``vLLM`` for ``vllm`` and so on; the value itself for an engine not in :data:`ENGINE_NAMES`."""
    return ENGINE_NAMES.get(owned_by, owned_by)


# ``owned_by`` in /v1/models says which engine answers; fast mode needs to know how to ask it to continue a
# prefilled assistant message (it cannot be detected from one reply).
_CONTINUE_FINAL_MESSAGE: dict[str, dict[str, Any]] = {
    # vLLM renders the chat template without a new assistant header and leaves the last message open.
    "vllm": {"continue_final_message": True, "add_generation_prompt": False},
    # llama.cpp's llama-server and Ollama continue a final assistant message by themselves.
    "llamacpp": {},
    "ollama": {},
    "library": {},
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is sent again after a transient failure.

    The wait before attempt ``n + 1`` is a random share of ``min(max_delay_s, base_delay_s * 2**n)`` (full
    jitter, so replicas that failed together do not retry together), or the server's ``Retry-After`` when
    it sends one (at most ``max_retry_after_s``). Timeouts are retried at most ``timeout_attempts`` times in
    all: a prompt that takes longer than the timeout once will usually do so again.
    """

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0
    """The longest wait a ``Retry-After`` gets; a longer one is cut to this (and the log says so)."""
    timeout_attempts: int = 2
    rest_s: float = 2.0
    """How long a replica that refused a connection is left alone first (doubling while it keeps refusing)."""

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and not math.isnan(retry_after):
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


def normalize_base_url(url: str) -> str:
    """The API base for ``url``: a bare ``http://host:port`` gets ``/v1``; any other path is kept as given.

    Raises ``BackendError`` for something that is not an http(s) URL.
    """
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BackendError(f"{url!r} is not a server address; give the API's base URL, e.g. http://localhost:8000/v1.")
    return text if parts.path not in {"", "/"} else f"{text}/v1"


def api_key_from_env(spec: JudgeSpec) -> str | None:
    """The API key from the environment variable ``spec.api_key_env`` names (``None`` when none is named)."""
    if not spec.api_key_env:
        return None
    key = os.environ.get(spec.api_key_env, "").strip()
    if not key:
        raise BackendError(
            f"The API key should be in the environment variable {spec.api_key_env}, which is not set; set it "
            f"(export {spec.api_key_env}=...) before starting, or clear the API-key setting if the server needs none."
        )
    return key


MAX_ANSWER_MB_ENV = "SELENE_EVAL_MAX_ANSWER_MB"
"""The environment variable that sets :func:`answer_byte_limit` (in MB of 2**20 bytes, as the file limits)."""

MB = 2**20

BYTES_PER_NEW_TOKEN = 4096
"""What one generated token may cost on the wire: its text, 20 alternatives with their log-probabilities
(about 70 bytes each) and the event-stream framing come to about 2 KB; twice that is allowed."""

MIN_ANSWER_BYTES = MB
"""The byte limit of short answers (a model list, the connection check, ``max_new_tokens`` of a few)."""


def answer_byte_limit(max_new_tokens: int) -> int:
    """How many bytes of one answer are read before it is refused as too large.

    :data:`BYTES_PER_NEW_TOKEN` per token asked for (512 tokens: 2 MB), at least
    :data:`MIN_ANSWER_BYTES`; the environment variable :data:`MAX_ANSWER_MB_ENV` sets it instead. Raises
    ``BackendError`` for a value there that is not a positive number.
    """
    configured = os.environ.get(MAX_ANSWER_MB_ENV, "").strip()
    if configured:
        try:
            megabytes = float(configured)
        except ValueError:
            megabytes = math.nan
        if not (math.isfinite(megabytes) and megabytes > 0):
            raise BackendError(
                f"{MAX_ANSWER_MB_ENV}={configured!r} is not a size in megabytes; set it to a positive number "
                f"such as 8, or unset it for the default ({BYTES_PER_NEW_TOKEN} bytes per new token)."
            )
        return max(1, int(megabytes * MB))
    return max(MIN_ANSWER_BYTES, BYTES_PER_NEW_TOKEN * max_new_tokens)


# --- the total deadline of one request ----------------------------------------------------------------------
# httpx's timeouts bound each network operation, not the request: a server that sends a byte every few
# seconds, or an event-stream comment, keeps a request alive for ever. Every socket operation of our client
# goes through _DeadlineStream, which shortens its timeout to what is left of the deadline the calling thread
# set (with _time_limit) and fails at once when nothing is left. Requests are synchronous, so the thread that
# set the deadline is the one reading.

_deadline = threading.local()


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Every network operation of the block (in this thread) ends within ``seconds`` from now, in total."""
    previous = getattr(_deadline, "at", None)
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = previous


def _bounded(timeout: float | None, late: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of this thread's deadline; raises ``late`` once it has passed."""
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise late("the request's total time limit has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every read and write ends by the calling thread's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore2.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineNetwork(httpcore2.NetworkBackend):
    """Opens :class:`_DeadlineStream` connections (connecting, too, ends by the deadline)."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_tcp(
                host, port, _bounded(timeout, httpcore2.ConnectTimeout), local_address, socket_options
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _bounded(timeout, httpcore2.ConnectTimeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _client(spec: JudgeSpec, n_connections: int) -> httpx2.Client:
    key = api_key_from_env(spec)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    client = httpx2.Client(
        headers=headers,
        # Connecting should be quick even when answering is not: a dead replica is found in seconds.
        timeout=httpx2.Timeout(spec.timeout_s, connect=min(10.0, spec.timeout_s)),
        limits=httpx2.Limits(max_connections=n_connections, max_keepalive_connections=n_connections),
    )
    # httpx has no public hook for the network layer: its transports (the direct one and any proxy from the
    # environment) each hold an httpcore pool, whose network backend is swapped here. A test on a dripping
    # server fails if a later httpx2 moves these.
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if pool is not None:
            pool._network_backend = _DeadlineNetwork(pool._network_backend)
    return client


# ---------------------------------------------------------------------------------------------------
# Replicas: least-busy choice, per-endpoint concurrency, resting a replica that refuses connections
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Endpoint:
    url: str
    in_flight: int = 0
    refused: int = 0
    """Connection failures in a row (reset by any answer)."""
    resting_until: float = 0.0
    answered: int = 0


class _Replicas:
    """The endpoints and how busy each is. ``acquire`` blocks until a replica has a free slot."""

    def __init__(self, urls: Sequence[str], concurrency: int, policy: RetryPolicy) -> None:
        self.endpoints = [_Endpoint(u) for u in urls]
        self.concurrency = concurrency
        self.policy = policy
        self._cond = threading.Condition()
        self._turn = 0

    def acquire(self) -> _Endpoint:
        """The least-busy replica that is not resting (ties in turn); a resting one when all are."""
        with self._cond:
            while True:
                now = time.monotonic()
                free = [e for e in self.endpoints if e.in_flight < self.concurrency]
                awake = [e for e in free if e.resting_until <= now]
                if awake or (free and all(e.resting_until > now for e in self.endpoints)):
                    # With every replica resting, try the one that rests least: it may be back.
                    pool = awake or [min(free, key=lambda e: e.resting_until)]
                    if not awake:
                        wait = pool[0].resting_until - now
                        if wait > 0:
                            self._cond.wait(timeout=wait)
                            continue
                    least = min(e.in_flight for e in pool)
                    candidates = [e for e in pool if e.in_flight == least]
                    chosen = candidates[self._turn % len(candidates)]
                    self._turn += 1
                    chosen.in_flight += 1
                    return chosen
                self._cond.wait(timeout=0.5)

    def release(self, endpoint: _Endpoint, *, refused: bool = False) -> None:
        """Give the slot back; ``refused`` rests the replica (longer each time in a row)."""
        with self._cond:
            endpoint.in_flight -= 1
            if refused:
                endpoint.refused += 1
                rest = min(self.policy.max_delay_s, self.policy.rest_s * 2 ** (endpoint.refused - 1))
                endpoint.resting_until = time.monotonic() + rest
            else:
                endpoint.refused = 0
                endpoint.resting_until = 0.0
                endpoint.answered += 1
            self._cond.notify_all()

    def wake(self) -> None:
        """Forget past connection failures (the servers were found answering again)."""
        with self._cond:
            for endpoint in self.endpoints:
                endpoint.refused = 0
                endpoint.resting_until = 0.0
            self._cond.notify_all()

    def all_refusing(self) -> bool:
        with self._cond:
            return all(e.refused > 0 for e in self.endpoints)


# ---------------------------------------------------------------------------------------------------
# Reading label probabilities from top_logprobs
# ---------------------------------------------------------------------------------------------------


def _word_index(choices: LabelChoices) -> tuple[dict[str, str], dict[str, str]]:
    """Answer word -> canonical label, exactly and case-folded (the parser accepts any case)."""
    exact = {word: label for word, label in choices.words}
    folded: dict[str, str] = {}
    for word, label in choices.words:
        folded.setdefault(word.casefold(), label)
    return exact, folded


def _label_of_token(token: str, exact: Mapping[str, str], folded: Mapping[str, str]) -> str | None:
    # The label token carries its leading space ("Ġ5" is " 5"); bold markers may surround it.
    text = token.strip().strip("*").strip()
    if not text:
        return None
    return exact.get(text) or folded.get(text.casefold())


def probs_at(top_logprobs: Sequence[Mapping[str, Any]], choices: LabelChoices) -> dict[str, float] | None:
    """Canonical label -> probability from one position's alternatives, normalised over the allowed labels.

    Tokens that spell the same label (``" Yes"``, ``"Yes"``, ``" yes"``) add up. ``None`` when no alternative
    is an allowed answer. Only whole-word tokens count: an answer word the tokenizer splits is not read.
    """
    exact, folded = _word_index(choices)
    mass: dict[str, float] = {}
    for alt in top_logprobs:
        if not isinstance(alt, Mapping):
            continue
        token, logprob = alt.get("token"), alt.get("logprob")
        # Answers from a server are checked before they come here; this guards other callers' data
        # (a log-probability above 0 would overflow exp or outweigh every real one).
        if not isinstance(token, str) or not isinstance(logprob, (int, float)) or not -math.inf < logprob <= 0:
            continue
        label = _label_of_token(token, exact, folded)
        if label is not None:
            mass[label] = mass.get(label, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {label: mass.get(label, 0.0) / total for label in choices.labels}


def label_probs_after_marker(content: Sequence[Mapping[str, Any]], choices: LabelChoices) -> dict[str, float] | None:
    """Label probabilities at the first token with text after the last result marker in a generated answer.

    ``content`` is the chat API's ``logprobs.content``: one entry per generated token with its ``token`` and
    ``top_logprobs``. Whitespace and bold markers between the marker and the label are skipped. An answer
    that is nothing but a label (``Yes``, ``**4**``), which the parser reads as that label, is read at its
    first token. ``None`` when the answer has no marker (and is not a bare label), nothing after it, or no
    allowed answer among the alternatives there.
    """
    tokens = [token if isinstance(token := entry.get("token"), str) else "" for entry in content]
    text = "".join(tokens)
    # The parser's own marker pattern (any case, bold or not), so probabilities are read where it reads.
    markers = list(_RESULT_MARKER.finditer(text))
    if markers:
        marker_end = markers[-1].end()
    elif choices.result_marker in text:
        marker_end = text.rfind(choices.result_marker) + len(choices.result_marker)
    else:
        exact, folded = _word_index(choices)
        if _label_of_token(text.strip().rstrip("."), exact, folded) is None:
            return None
        marker_end = 0
    start = 0
    for entry, token in zip(content, tokens):
        end = start + len(token)
        if end > marker_end:
            rest = token[max(0, marker_end - start) :]
            if rest.strip().strip("*").strip():
                return probs_at(entry.get("top_logprobs") or [], choices)
        start = end
    return None


def _best_word(probs: Mapping[str, float], choices: LabelChoices) -> str:
    """The answer word (the prompt's own spelling) of the most probable label."""
    best = max(choices.labels, key=lambda label: probs.get(label, 0.0))
    return next(word for word, label in choices.words if label == best)


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


class _Fatal(Exception):
    """Raised inside a worker for a failure that affects every prompt; carries the user-facing error."""

    def __init__(self, error: BackendError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _BatchState:
    fatal: BackendError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_fatal(self, error: BackendError) -> None:
        with self.lock:
            if self.fatal is None:
                self.fatal = error


class OpenAIBackend:
    """A judge served over the OpenAI-compatible chat API by one or more replicas (``spec.endpoints``).

    Creating it contacts no server; the first :meth:`generate` lists each replica's models once (see
    :meth:`_inspect_servers`), and :func:`check_connection` tests a connection on request. ``retry`` tunes the
    retry waits (tests make them short); ``max_answer_bytes`` replaces :func:`answer_byte_limit`.
    """

    def __init__(
        self, spec: JudgeSpec, *, retry: RetryPolicy | None = None, max_answer_bytes: int | None = None
    ) -> None:
        if not spec.endpoints:
            raise BackendError(
                "No server address given: add at least one endpoint URL, e.g. http://localhost:8000/v1 "
                "(--endpoint on the command line)."
            )
        self.spec = spec
        self.policy = retry or RetryPolicy()
        self.max_answer_bytes = max_answer_bytes or answer_byte_limit(spec.max_new_tokens)
        """Bytes of one answer read at most; a longer answer is that prompt's failure."""
        urls = list(dict.fromkeys(normalize_base_url(u) for u in spec.endpoints))
        self.replicas = _Replicas(urls, spec.concurrency, self.policy)
        n_slots = spec.concurrency * len(urls)
        self._http = _client(spec, n_slots)
        self._pool = ThreadPoolExecutor(max_workers=n_slots, thread_name_prefix="selene-openai")
        self._pending_fatal: BackendError | None = None
        self._logprobs = True
        """Cleared when a server rejects ``logprobs``; probabilities are then ``None``."""
        self._continue_extra: dict[str, Any] = {}
        self._inspected = False
        self._closed = False

    # -- public ----------------------------------------------------------------------------------------

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        """Answer each prompt (concurrently over the replicas); one :class:`Generation` per prompt, in order.

        Raises ``BackendError`` for an auth failure or a model the server does not serve (every prompt would
        fail), for fast mode on a server that cannot continue a prefilled answer, and at the call after a
        batch in which every replica stopped answering (that batch's finished answers are returned first).
        """
        if self._closed:
            raise BackendError("This server judge has been closed; create it again to generate.")
        if self._pending_fatal is not None:
            error, self._pending_fatal = self._pending_fatal, None
            # The last batch lost every server. Stop the run, unless one is back (this backend object may be
            # reused by a later run, after the servers were restarted).
            if not any(isinstance(list_models(self._http, e.url), list) for e in self.replicas.endpoints):
                raise error
            self.replicas.wake()
        per_prompt = list(choices) if choices is not None else [None] * len(prompts)
        if len(per_prompt) != len(prompts):
            raise BackendError(f"{len(per_prompt)} answer lists for {len(prompts)} prompts.")
        if self.spec.mode == "fast" and any(c is None for c in per_prompt):
            raise BackendError("Fast mode needs the allowed answers of every prompt (LabelChoices).")
        self._inspect_servers()
        state = _BatchState()
        futures = [
            self._pool.submit(self._answer_one, list(messages), choice, state)
            for messages, choice in zip(prompts, per_prompt)
        ]
        results = [f.result() for f in futures]
        if state.fatal is not None:
            if not any(g.finish_reason != "error" for g in results):
                raise state.fatal
            # Keep what was answered: the runner stores this batch; the run stops at the next call.
            self._pending_fatal = state.fatal
        return results

    def close(self) -> None:
        """Stop the worker threads and close the connections."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def describe(self) -> dict[str, object]:
        """Where requests go and how many each replica answered (for logs and the dashboard)."""
        return {
            "endpoints": [e.url for e in self.replicas.endpoints],
            "answered": {e.url: e.answered for e in self.replicas.endpoints},
            "concurrency": self.spec.concurrency,
            "logprobs": self._logprobs,
        }

    # -- one prompt ------------------------------------------------------------------------------------

    def _answer_one(self, messages: list[Message], choice: LabelChoices | None, state: _BatchState) -> Generation:
        if state.fatal is not None:
            return Generation("", "error", error=f"Not sent: {state.fatal}")
        fast = self.spec.mode == "fast"
        try:
            answer = self._post_with_retries(self._body(messages, choice), state)
        except _Fatal as exc:
            state.set_fatal(exc.error)
            return Generation("", "error", error=f"Not judged: {exc.error}")
        if isinstance(answer, Generation):
            # Stored with the item and printed on one line: nothing a server wrote may break either.
            return replace(answer, error=one_line(answer.error, 2000)) if answer.error else answer
        generation = self._to_generation(answer, choice, fast)
        if self.spec.force_verdict and not fast and choice is not None and not readable_result(generation.text, choice):
            forced = self._force_label(messages, generation.text, choice, state)
            if forced is not None:
                label, probs = forced
                generation = replace(generation, forced_label=label, label_probs=probs)
        return generation

    def _force_label(
        self, messages: list[Message], text: str, choice: LabelChoices, state: _BatchState
    ) -> tuple[str, dict[str, float] | None] | None:
        """The second, short request of ``force_verdict``: the answer so far, continued with the result marker.

        The server continues the prefilled assistant turn ``text + "\n\n" + marker`` for a few tokens; the
        label is the most probable allowed one among the first answer token's alternatives when the server
        gives log-probabilities, else the allowed word it wrote. ``None`` (the answer stays unreadable) when
        the request fails or no allowed label comes back. A fatal error (authentication) still stops the run.
        """
        chat = [{"role": m.role, "content": m.content} for m in messages]
        chat.append({"role": "assistant", "content": f"{text}\n\n{choice.result_marker}"})
        body: dict[str, Any] = {
            "model": self.spec.model,
            "temperature": 0.0,
            "max_tokens": FORCE_MAX_TOKENS,
            "messages": chat,
            **self._continue_extra,
        }
        if self._logprobs:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        try:
            answer = self._post_with_retries(body, state)
        except _Fatal as exc:
            state.set_fatal(exc.error)
            return None
        if isinstance(answer, Generation):
            return None
        probs = None
        if answer.logprobs:
            # A marker token in front, so the label is read where the parser would read it.
            probs = label_probs_after_marker(
                [{"token": choice.result_marker, "top_logprobs": []}, *answer.logprobs], choice
            )
        if probs:
            return max(choice.labels, key=lambda label: probs[label]), probs  # first label wins a tie
        exact, folded = _word_index(choice)
        words = answer.text.split()
        label = _label_of_token(words[0].rstrip(".,;:!"), exact, folded) if words else None
        return (label, None) if label is not None else None

    def _body(self, messages: Sequence[Message], choice: LabelChoices | None) -> dict[str, Any]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        body: dict[str, Any] = {"model": self.spec.model, "temperature": 0.0, "max_tokens": self.spec.max_new_tokens}
        if self.spec.mode == "fast":
            assert choice is not None
            # Ends with the marker and no space: the label token carries its own leading space.
            chat.append({"role": "assistant", "content": fast_mode_prefill(choice.result_marker)})
            body.update(max_tokens=1, **self._continue_extra)
        else:
            body.update(stream=True, stream_options={"include_usage": True})
        body["messages"] = chat
        if self._logprobs:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        return body

    def _post_with_retries(self, body: dict[str, Any], state: _BatchState) -> _Completion | Generation:
        """POST until an answer, a per-prompt error (returned as a Generation) or a fatal error (raised)."""
        attempt = timeouts = 0
        last = ""
        while True:
            if state.fatal is not None:
                return Generation("", "error", error=f"Not sent: {state.fatal}")
            attempt += 1
            endpoint = self.replicas.acquire()
            refused = False
            outcome: _Completion | Generation | tuple[str, float | None] | object | None = None
            try:
                outcome = self._exchange(endpoint.url, body)
            except httpx2.ConnectTimeout:
                refused = True
                last = f"could not connect to {endpoint.url} within {min(10.0, self.spec.timeout_s):g} s"
            except httpx2.TimeoutException:
                timeouts += 1
                last = (
                    f"no complete answer from {endpoint.url} within {self.spec.timeout_s:g} s (the time one "
                    "request may take in all)"
                )
            except httpx2.TransportError as exc:
                # Refused, reset or cut mid-answer: the replica may be down; rest it, let the others work.
                refused = True
                last = f"{endpoint.url} did not answer ({type(exc).__name__}: {exc})"
            finally:
                self.replicas.release(endpoint, refused=refused)
            if outcome is _RESEND:
                attempt -= 1
                continue
            if isinstance(outcome, (_Completion, Generation)):
                return outcome
            retry_after: float | None = None
            if isinstance(outcome, tuple):
                last, retry_after = outcome
            elif not refused and timeouts >= self.policy.timeout_attempts:
                return Generation(
                    "",
                    "error",
                    error=f"Timed out {timeouts} times: {last}. Raise the timeout (--timeout) or lower the "
                    "concurrency if the server is overloaded.",
                )
            if attempt >= self.policy.max_attempts:
                if refused and self.replicas.all_refusing():
                    # Down, or alive and dropping only this prompt (a server that closes the connection on it)?
                    # Only the first stops the run.
                    if not any(isinstance(list_models(self._http, e.url), list) for e in self.replicas.endpoints):
                        names = ", ".join(e.url for e in self.replicas.endpoints)
                        raise _Fatal(
                            BackendError(
                                f"No server answers any more ({names}): {last}. Everything judged so far is stored; "
                                "start the server(s) again and re-run to continue."
                            )
                        )
                    self.replicas.wake()
                    last += " (the server answers other requests: it fails on this one)"
                return Generation("", "error", error=f"Gave up after {attempt} attempts: {last}.")
            if not refused:
                # A refused replica rests in the pool (acquire waits for it); other answers wait here.
                wait = self.policy.delay(attempt, retry_after)
                if retry_after is not None:
                    self._say_waiting(last, retry_after, wait, attempt)
                _sleep(wait)

    def _say_waiting(self, answer: str, retry_after: float, wait: float, attempt: int) -> None:
        """Log a wait the server asked for (a run that pauses for it says why, and for how long)."""
        if not math.isfinite(retry_after):
            asked = "for ever"
        else:
            asked = f"{retry_after:,.0f} s" if retry_after >= 10 else f"{retry_after:.2g} s"
        if retry_after > wait:
            how = f"waiting {wait:g} s (the longest selene-eval waits for a Retry-After)"
        else:
            how = f"waiting {wait:g} s as asked"
        logger.warning(
            "%s; it asks to wait %s (Retry-After): %s before attempt %d of %d.",
            answer,
            asked,
            how,
            attempt + 1,
            self.policy.max_attempts,
        )

    def _exchange(self, url: str, body: dict[str, Any]) -> _Completion | Generation | tuple[str, float | None] | object:
        """One attempt within the limits: ``spec.timeout_s`` in all (raises ``httpx2.TimeoutException`` when
        it passes) and :attr:`max_answer_bytes`; an answer that breaks the format or the byte limit is this
        prompt's failure, saying why."""
        try:
            with _time_limit(self.spec.timeout_s):
                return self._request(url, body)
        except _BadAnswer as exc:
            return Generation("", "error", error=f"{url} {exc}")

    def _request(self, url: str, body: dict[str, Any]) -> _Completion | Generation | tuple[str, float | None] | object:
        """One request: a plain answer, or a stream read until the result line is complete."""
        if not body.get("stream"):
            return self._post_plain(url, body)
        with self._http.stream("POST", f"{url}/chat/completions", json=body) as response:
            if response.status_code != 200 or "text/event-stream" not in response.headers.get("content-type", ""):
                return self._read(response, url, body)
            try:
                answer = _read_stream(response, url, self.max_answer_bytes)
            except (httpx2.RemoteProtocolError, httpx2.ReadError):
                answer = None
        if answer is None:
            # A stream cut short or empty after a 200 is how some servers (llama-cpp-python) report a failure
            # found while answering, such as a prompt longer than the context: ask once more without
            # streaming to get the answer or the server's reason. (A server that has died refuses this
            # request, and is then treated as down.)
            plain = {k: v for k, v in body.items() if k not in {"stream", "stream_options"}}
            try:
                return self._post_plain(url, plain)
            except _STALE_CONNECTION:
                # The pooled connection it took is likely the one the server closed after the failed stream;
                # how that shows (disconnected, reset by peer, broken pipe) depends on timing. The pool has
                # dropped it, so this attempt opens a new one.
                return self._post_plain(url, plain)
        return answer

    def _post_plain(
        self, url: str, body: dict[str, Any]
    ) -> _Completion | Generation | tuple[str, float | None] | object:
        with self._http.stream("POST", f"{url}/chat/completions", json=body) as response:
            return self._read(response, url, body)

    def _read(
        self, response: httpx2.Response, url: str, body: dict[str, Any]
    ) -> _Completion | Generation | tuple[str, float | None] | object:
        """Classify one HTTP answer: parsed answer, per-prompt error, fatal (raised), resend, or retry."""
        status = response.status_code
        if status == 200:
            return _completion_from_body(_read_body(response, self.max_answer_bytes), url)
        message = _server_message(response)
        if status in TRANSIENT_STATUS or status >= 500:
            return f"{url} answered {status} {response.reason_phrase}: {message}", _retry_after(response)
        if status in {401, 403}:
            how = (
                f"the key in ${self.spec.api_key_env}"
                if self.spec.api_key_env
                else "no API key (name the environment variable that holds one)"
            )
            raise _Fatal(
                BackendError(
                    f"{url} refused the request ({status} {response.reason_phrase}: {message}); it was sent with {how}."
                )
            )
        if status == 404:
            raise _Fatal(
                BackendError(
                    f"{url} answered 404 for model {self.spec.model!r}: {message}. Check the model name (the "
                    f"'Test connection' check lists what the server serves) and that the URL is the API's base "
                    "(usually ending in /v1)."
                )
            )
        if status in {400, 422} and body.get("stream") and "stream" in message.lower():
            # An engine that cannot stream: ask for whole answers from now on.
            body.pop("stream", None)
            body.pop("stream_options", None)
            return _RESEND
        if status in {400, 422} and self._logprobs and "logprob" in message.lower():
            if self.spec.mode == "fast":
                raise _Fatal(
                    BackendError(
                        f"{url} does not return token probabilities ({message}), which fast mode reads its answer "
                        "from; use reasoned mode with this server."
                    )
                )
            # An engine without logprobs support: judge without probabilities rather than not at all.
            self._logprobs = False
            body.pop("logprobs", None)
            body.pop("top_logprobs", None)
            return _RESEND
        return Generation(
            "", "error", error=f"The server rejected this prompt ({status} {response.reason_phrase}): {message}"
        )

    def _to_generation(self, answer: _Completion, choice: LabelChoices | None, fast: bool) -> Generation:
        logprobs = answer.logprobs
        finish: FinishReason = "length" if answer.finish_reason == "length" else "stop"
        probs: dict[str, float] | None = None
        if choice is not None and logprobs:
            if fast:
                probs = probs_at(logprobs[0]["top_logprobs"], choice)
            else:
                probs = label_probs_after_marker(logprobs, choice)
        if fast:
            assert choice is not None
            if probs is None and not logprobs:
                return Generation(
                    "",
                    "error",
                    error=(
                        f"{answer.endpoint} returned no token probabilities, which fast mode reads its answer from; "
                        "use reasoned mode with this server."
                    ),
                )
            # The answer is the most probable allowed label; with none among the alternatives, what was
            # generated (kept, and counted as unreadable by the parser).
            answer_text = f" {_best_word(probs, choice)}" if probs else answer.text
            return Generation(
                f"{choice.result_marker}{answer_text}",
                "stop",
                n_prompt_tokens=answer.prompt_tokens,
                n_new_tokens=1,
                label_probs=probs,
            )
        return Generation(
            answer.text,
            finish,
            n_prompt_tokens=answer.prompt_tokens,
            n_new_tokens=answer.completion_tokens,
            label_probs=probs,
        )

    # -- fast mode -------------------------------------------------------------------------------------

    def _inspect_servers(self) -> None:
        """Once, before the first request: check each replica serves the model, and learn (for fast mode) how
        to ask it to continue a prefilled answer. Raises ``BackendError`` when a replica lists other models
        (some engines answer under any model name, so the answers would silently come from another model)
        or, in fast mode, when a replica's engine cannot continue an answer.

        A replica that cannot be reached now is not a reason to stop (the others take its work); one that has
        no model list (some gateways) is trusted, except in fast mode, which must know the engine.
        """
        if self._inspected:
            return
        fast = self.spec.mode == "fast"
        extras: dict[str, Any] = {}
        for endpoint in self.replicas.endpoints:
            listing = list_models(self._http, endpoint.url)
            if isinstance(listing, str):
                if fast:
                    raise BackendError(f"Fast mode needs to know which engine serves {endpoint.url}: {listing}")
                continue
            ids = [str(m.get("id", "")) for m in listing]
            if ids and not model_is_served(self.spec.model, ids):
                raise BackendError(
                    f"{endpoint.url} does not serve {self.spec.model!r}; it serves: {', '.join(ids)}. Use one of "
                    "those names as the model, or point the URL at the server of this model."
                )
            if fast or self.spec.force_verdict:
                owners = {str(m.get("owned_by", "")).lower() for m in listing}
                known = [_CONTINUE_FINAL_MESSAGE[o] for o in owners if o in _CONTINUE_FINAL_MESSAGE]
                if not known and not fast:
                    # Forcing still sends the prefilled answer: servers that continue a trailing assistant
                    # message by default (llama.cpp, Ollama) need no flag; a forced label is kept apart anyway.
                    continue
                if not known:
                    engine = ", ".join(f"{engine_name(o)}, owned_by: {o}" for o in sorted(owners - {""})) or "unknown"
                    raise BackendError(
                        f"Fast mode needs a server that continues a prefilled answer ({FAST_MODE_SERVERS}); the "
                        f"server at {endpoint.url} ({engine}) is not known to. Use reasoned mode with it "
                        "(the default), or serve the model with one of those."
                    )
                extras.update(known[0])
        self._continue_extra = extras
        self._inspected = True


_STALE_CONNECTION = (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)
"""What a request sent on a keep-alive connection the server has just closed may raise."""


# ---------------------------------------------------------------------------------------------------
# Reading an answer: bounded in size, every field checked before it is used
# ---------------------------------------------------------------------------------------------------


class _BadAnswer(Exception):
    """An answer that cannot be used. The message completes a sentence that starts with the server's URL."""


MAX_ERROR_BYTES = 65_536
"""How much of an error answer (4xx, 5xx) is read for its message."""

MODEL_LIST_BYTES = 10 * MB
"""How much of a model list is read (a gateway may list hundreds of models with long descriptions)."""

LOGPROB_SLACK = 1e-4
"""How far above 0 a log-probability may be (rounding); anything above is a broken server."""


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / MB:.3g} MB"


def _too_large(limit: int) -> _BadAnswer:
    return _BadAnswer(
        f"sent more than {_mb(limit)} for one answer, the most that is read (set {MAX_ANSWER_MB_ENV} to allow more)."
    )


def _read_body(response: httpx2.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The answer's (decoded) bytes; more than ``limit`` raises ``_BadAnswer``, or with ``truncate`` is cut off."""
    declared = response.headers.get("content-length", "")
    if not truncate and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        raise _too_large(limit)  # refused before a byte of it is read
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            if not truncate:
                raise _too_large(limit)
            parts.append(chunk[: limit - (size - len(chunk))])
            break
        parts.append(chunk)
    return b"".join(parts)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _kind(value: Any) -> str:
    """How a JSON value reads in a sentence: ``the number 7``, ``a list of 2``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {_short(value)}"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _malformed(where: str, value: Any, expected: str) -> _BadAnswer:
    return _BadAnswer(f"sent an answer that is not a chat completion: {where} is {_kind(value)}, not {expected}.")


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _BadAnswer(f"sent {what} that is not readable JSON (nested too deeply).") from None
    except ValueError as exc:
        # Python refuses integers of more than 4,300 digits with advice about sys.set_int_max_str_digits.
        reason = "a number too long to read" if "digits" in str(exc) else str(exc)[:120]
        raise _BadAnswer(f"sent {what} that is not readable JSON ({reason}).") from None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(where, value, "an object")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(where, value, "a text")
    return value


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(where, value, "a count of tokens")
    return value


def _finish_reason(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _malformed(where, value, "a finish reason")
    return value


def _logprob(value: Any, where: str) -> float:
    """A log-probability as a float in [-inf, 0]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and math.isnan(value))
    ):
        raise _malformed(where, value, "a log-probability")
    if value > LOGPROB_SLACK:
        raise _BadAnswer(
            f"sent a log-probability of {_short(value)} ({where}); a log-probability is at most 0, so this server's "
            "token probabilities cannot be trusted."
        )
    return -math.inf if value < -1e300 else min(float(value), 0.0)


def _alternatives(value: Any, where: str) -> list[dict[str, Any]]:
    """``top_logprobs``: the alternatives at one position, as ``{"token", "logprob"}``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(where, value, "a list")
    out = []
    for i, alt in enumerate(value):
        alt = _object(alt, f"{where}[{i}]")
        token = alt.get("token")
        if not isinstance(token, str):
            raise _malformed(f"{where}[{i}].token", token, "a text")
        out.append({"token": token, "logprob": _logprob(alt.get("logprob"), f"{where}[{i}].logprob")})
    return out


def _token_entries(value: Any, where: str) -> list[dict[str, Any]]:
    """A choice's ``logprobs``: one ``{"token", "top_logprobs"}`` per generated token (none when absent)."""
    if value is None:
        return []
    content = _object(value, where).get("content")
    if content is None:
        return []
    if not isinstance(content, list):
        raise _malformed(f"{where}.content", content, "a list")
    entries = []
    for i, entry in enumerate(content):
        here = f"{where}.content[{i}]"
        entry = _object(entry, here)
        token = entry.get("token")
        if not isinstance(token, str):
            raise _malformed(f"{here}.token", token, "a text")
        if entry.get("logprob") is not None:
            _logprob(entry["logprob"], f"{here}.logprob")
        entries.append(
            {"token": token, "top_logprobs": _alternatives(entry.get("top_logprobs"), f"{here}.top_logprobs")}
        )
    return entries


def _usage(value: Any, where: str) -> tuple[int | None, int | None]:
    """``(prompt_tokens, completion_tokens)`` from a ``usage`` object (``None`` for what is not given)."""
    if value is None:
        return None, None
    usage = _object(value, where)
    return (
        _count(usage.get("prompt_tokens"), f"{where}.prompt_tokens"),
        _count(usage.get("completion_tokens"), f"{where}.completion_tokens"),
    )


def _server_error(error: Any) -> _BadAnswer:
    message = error.get("message", error) if isinstance(error, dict) else error
    return _BadAnswer(
        f"failed while answering: {one_line(message if isinstance(message, str) else _short(message), 300)}"
    )


_NOT_ON_ONE_LINE = {code: " " for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)}


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one line of at most ``limit`` characters: control characters and line breaks become
    spaces, runs of blanks one space (a server's message goes into stored failures and printed lines)."""
    flat = " ".join(text.translate(_NOT_ON_ONE_LINE).split())
    return flat if len(flat) <= limit else f"{flat[: limit - 3]}..."


@dataclass(frozen=True)
class _Completion:
    """One answer, checked: what the model wrote, why it stopped, its token probabilities and counts."""

    text: str
    finish_reason: str | None
    logprobs: list[dict[str, Any]]
    """One ``{"token", "top_logprobs"}`` per generated token (empty when the server sent none)."""
    prompt_tokens: int | None
    completion_tokens: int | None
    endpoint: str


def _completion_from_body(body: bytes, url: str) -> _Completion:
    """A whole (not streamed) chat completion; ``_BadAnswer`` saying what is wrong with anything else."""
    data = _json(body, "an answer")
    if isinstance(data, dict) and "choices" not in data and data.get("error") is not None:
        raise _server_error(data["error"])
    data = _object(data, "the answer")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _malformed("choices", choices, "a list of at least one choice")
    first = _object(choices[0], "choices[0]")
    message = _object(first.get("message"), "choices[0].message")
    prompt_tokens, completion_tokens = _usage(data.get("usage"), "usage")
    return _Completion(
        text=_text(message.get("content"), "choices[0].message.content"),
        finish_reason=_finish_reason(first.get("finish_reason"), "choices[0].finish_reason"),
        logprobs=_token_entries(first.get("logprobs"), "choices[0].logprobs"),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        endpoint=url,
    )


def _event_lines(response: httpx2.Response, limit: int) -> Iterator[str]:
    """The lines of an event stream, reading at most ``limit`` bytes; each byte is looked at once or twice."""
    unfinished: list[bytes] = []  # a line arriving in pieces is joined once, when it ends
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if b"\n" not in chunk:
            unfinished.append(chunk)
            continue
        first, *lines, rest = chunk.split(b"\n")
        unfinished.append(first)
        for line in (b"".join(unfinished), *lines):
            yield line.removesuffix(b"\r").decode("utf-8", errors="replace")
        unfinished = [rest]
    last = b"".join(unfinished)
    if last:
        yield last.decode("utf-8", errors="replace")


class _StreamedAnswer:
    """Builds one answer from chat-completion stream events, in time linear in the stream's length.

    It also watches for the end of the result line (the rule of
    :func:`~selene_eval.prompts.parser.result_line_complete`) a line at a time: each finished line is looked
    at once, instead of the whole text again at every newline (which made a stream of 40,000 newlines cost
    51 s).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.pieces: list[str] = []
        self.logprobs: list[dict[str, Any]] = []
        self.finish: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.n_events = 0
        self.complete = False
        """The result line has ended: the rest of the stream cannot change how the answer is read."""
        self._line: list[str] = []
        self._marker_seen = False
        self._label_line_ended = False
        """A finished line after the last result marker holds text (``complete`` unless a new marker starts)."""

    def add_event(self, payload: str) -> None:
        """One ``data:`` payload (a JSON chunk); ``_BadAnswer`` for one that is not a chat-completion chunk."""
        self.n_events += 1
        chunk = _json(payload, f"stream event {self.n_events}")
        if isinstance(chunk, dict) and chunk.get("error") is not None:
            raise _server_error(chunk["error"])
        where = f"stream event {self.n_events}"
        chunk = _object(chunk, where)
        prompt_tokens, completion_tokens = _usage(chunk.get("usage"), f"{where}: usage")
        self.prompt_tokens = prompt_tokens if prompt_tokens is not None else self.prompt_tokens
        self.completion_tokens = completion_tokens if completion_tokens is not None else self.completion_tokens
        choices = chunk.get("choices")
        if choices is None:
            return
        if not isinstance(choices, list):
            raise _malformed(f"{where}: choices", choices, "a list")
        for i, choice in enumerate(choices):
            choice = _object(choice, f"{where}: choices[{i}]")
            delta = choice.get("delta")
            piece = (
                ""
                if delta is None
                else _text(
                    _object(delta, f"{where}: choices[{i}].delta").get("content"),
                    f"{where}: choices[{i}].delta.content",
                )
            )
            self.logprobs.extend(_token_entries(choice.get("logprobs"), f"{where}: choices[{i}].logprobs"))
            self.finish = (
                _finish_reason(choice.get("finish_reason"), f"{where}: choices[{i}].finish_reason") or self.finish
            )
            if piece:
                self.pieces.append(piece)
                self._watch(piece)

    def _watch(self, piece: str) -> None:
        if "\n" not in piece:
            self._line.append(piece)
            return
        first, *middle, rest = piece.split("\n")
        self._line.append(first)
        for line in ("".join(self._line), *middle):
            markers = list(_RESULT_MARKER.finditer(line))
            if markers:
                self._marker_seen = True
                self._label_line_ended = bool(line[markers[-1].end() :].strip(ANSWER_STRIP_CHARS))
            elif self._marker_seen and not self._label_line_ended:
                self._label_line_ended = bool(line.strip(ANSWER_STRIP_CHARS))
        self._line = [rest]
        # A marker on the unfinished line starts a new result line, which has not ended.
        self.complete = self._label_line_ended and _RESULT_MARKER.search(rest) is None

    def answer(self) -> _Completion | None:
        """The answer so far; ``None`` when the stream held neither text nor a finish reason."""
        if not self.pieces and self.finish is None:
            return None
        return _Completion(
            text="".join(self.pieces),
            finish_reason="stop" if self.complete else self.finish,
            logprobs=self.logprobs,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens or max(len(self.logprobs), len(self.pieces)),
            endpoint=self.url,
        )


def _read_stream(response: httpx2.Response, url: str, limit: int) -> _Completion | None:
    """Read a chat-completion event stream into one answer, closing it once the result line is complete.

    ``None`` for a stream that ended with neither text nor a finish reason (the server failed silently).
    ``_BadAnswer`` for a stream that breaks the format or passes ``limit`` bytes. Comments (``:`` lines,
    keep-alives) and other fields are skipped; they count towards the byte limit and the deadline.
    """
    answer = _StreamedAnswer(url)
    for line in _event_lines(response, limit):
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        answer.add_event(payload)
        if answer.complete:
            break  # leaving the with-block closes the connection: the server stops generating
    return answer.answer()


_RESEND = object()
"""Send the same prompt again at once, without counting an attempt (the request was changed)."""


def _message_in(body: bytes) -> str:
    """The error text a server put in its answer (OpenAI's ``{"error": {"message": ...}}`` or plain text)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return one_line(body.decode("utf-8", errors="replace")) or "(no message)"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            for key in ("message", "detail", "error"):
                if isinstance(error.get(key), str):
                    return one_line(error[key])
        if isinstance(error, str):
            return one_line(error)
        if isinstance(data.get("detail"), str):
            return one_line(data["detail"])
    return _short(data)


def _server_message(response: httpx2.Response) -> str:
    """The error text of an answer being streamed (at most :data:`MAX_ERROR_BYTES` of it are read)."""
    return _message_in(_read_body(response, MAX_ERROR_BYTES, truncate=True))


def _retry_after(response: httpx2.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date); ``None`` when absent or unreadable.

    ``nan`` and other non-numbers are ignored (the usual backoff applies); an infinite or far-off wait comes
    back as it is and is capped by :meth:`RetryPolicy.delay`.
    """
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def list_models(http: httpx2.Client, base_url: str) -> list[dict[str, Any]] | str:
    """``GET {base_url}/models``: the served models' entries, or a sentence saying why there are none.

    Bounded like a chat request: the client's timeout in total, at most :data:`MODEL_LIST_BYTES`.
    """
    try:
        with _time_limit(http.timeout.read or 120.0), http.stream("GET", f"{base_url}/models") as response:
            if response.status_code != 200:
                return (
                    f"{base_url}/models answered {response.status_code} {response.reason_phrase}: "
                    f"{_server_message(response)}"
                )
            data = _json(_read_body(response, MODEL_LIST_BYTES), "a model list")
    except httpx2.HTTPError as exc:
        return f"cannot reach {base_url} ({type(exc).__name__}: {exc})"
    except _BadAnswer as exc:
        return f"{base_url}/models {exc}"
    listing = data.get("data") if isinstance(data, dict) else None
    if not isinstance(listing, list):
        return f"{base_url}/models did not answer with a model list (is this an OpenAI-compatible API base?)"
    return [m for m in listing if isinstance(m, dict)]


def model_is_served(model: str, ids: Sequence[str]) -> bool:
    """Whether ``model`` is among the served ``ids`` (Ollama lists ``name:latest`` for ``name``)."""
    return model in ids or f"{model}:latest" in ids


# ---------------------------------------------------------------------------------------------------
# Test connection
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointCheck:
    """What one replica answered to the connection check."""

    url: str
    reachable: bool
    models: tuple[str, ...] = ()
    engine: str | None = None
    """The engine serving, from the models' ``owned_by`` (``vLLM``, ``llama.cpp``, ``Ollama``, ...)."""
    model_served: bool = False
    latency_s: float | None = None
    """Seconds for one tiny chat request (includes the model's time for one or two tokens)."""
    logprobs: bool = False
    """Whether the tiny request came back with token probabilities (label probabilities need them)."""
    fast_mode: bool = False
    """Whether this engine is known to continue a prefilled answer (fast mode needs it)."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Reachable, serving the model, and answering a chat request."""
        return self.reachable and self.model_served and self.error is None

    def describe(self) -> str:
        """One line in plain words."""
        if self.ok:
            probs = "with token probabilities" if self.logprobs else "without token probabilities (no calibration)"
            return (
                f"{self.url}: OK, answered in {self.latency_s:.2f} s, {probs}; "
                f"fast mode {'supported' if self.fast_mode else 'not supported'} (engine: {self.engine or 'unknown'})."
            )
        return f"{self.url}: {self.error}"


@dataclass(frozen=True)
class ConnectionReport:
    """The connection check over every replica of a judge spec."""

    model: str
    endpoints: tuple[EndpointCheck, ...]

    @property
    def ok(self) -> bool:
        """Every replica reachable, serving the model and answering."""
        return bool(self.endpoints) and all(e.ok for e in self.endpoints)

    @property
    def logprobs(self) -> bool:
        """Every replica returns token probabilities."""
        return bool(self.endpoints) and all(e.logprobs for e in self.endpoints)

    def describe(self) -> str:
        """A few lines in plain words: one per replica, then the verdict."""
        lines = [e.describe() for e in self.endpoints]
        verdict = (
            f"All {len(self.endpoints)} server(s) serve {self.model!r}."
            if self.ok
            else f"Not ready: fix the server(s) above before running {self.model!r}."
        )
        return "\n".join([*lines, verdict])


def check_connection(spec: JudgeSpec) -> ConnectionReport:
    """List the models on every endpoint, check ``spec.model`` is served, and send one tiny request to each.

    Reports reachability, the served models, the latency of the tiny request and whether token
    probabilities come back. Problems are reported, not raised, except a bad URL or a missing API key
    variable (``BackendError``).
    """
    if not spec.endpoints:
        raise BackendError("No server address given: add at least one endpoint URL, e.g. http://localhost:8000/v1.")
    urls = list(dict.fromkeys(normalize_base_url(u) for u in spec.endpoints))
    with _client(spec, 2) as http:
        return ConnectionReport(spec.model, tuple(_check_one(http, url, spec.model) for url in urls))


def _check_one(http: httpx2.Client, url: str, model: str) -> EndpointCheck:
    listing = list_models(http, url)
    if isinstance(listing, str):
        return EndpointCheck(url, reachable=False, error=listing)
    ids = tuple(str(m.get("id", "")) for m in listing)
    owners = sorted({str(m.get("owned_by", "")).lower() for m in listing} - {""})
    engine = ", ".join(engine_name(o) for o in owners) or None
    fast = any(o in _CONTINUE_FINAL_MESSAGE for o in owners)
    if not model_is_served(model, ids):
        served = ", ".join(ids) or "nothing"
        return EndpointCheck(
            url, True, ids, engine, False, fast_mode=fast, error=f"does not serve {model!r} (it serves: {served})."
        )
    body = {
        "model": model,
        "temperature": 0.0,
        "max_tokens": 2,
        "logprobs": True,
        "top_logprobs": 5,
        "messages": [{"role": "user", "content": "Answer with one word: is the sky blue?"}],
    }
    start = time.perf_counter()
    try:
        with (
            _time_limit(http.timeout.read or 120.0),
            http.stream("POST", f"{url}/chat/completions", json=body) as response,
        ):
            if response.status_code != 200:
                return EndpointCheck(
                    url,
                    True,
                    ids,
                    engine,
                    True,
                    time.perf_counter() - start,
                    fast_mode=fast,
                    error=f"the chat request answered {response.status_code}: {_server_message(response)}",
                )
            answer = _completion_from_body(_read_body(response, MIN_ANSWER_BYTES), url)
    except httpx2.HTTPError as exc:
        return EndpointCheck(
            url,
            True,
            ids,
            engine,
            True,
            fast_mode=fast,
            error=f"the chat request failed ({type(exc).__name__}: {exc}).",
        )
    except _BadAnswer as exc:
        return EndpointCheck(
            url,
            True,
            ids,
            engine,
            True,
            time.perf_counter() - start,
            fast_mode=fast,
            error=f"the chat request did not return a chat completion: {url} {exc}",
        )
    latency = time.perf_counter() - start
    has_logprobs = bool(answer.logprobs) and bool(answer.logprobs[0]["top_logprobs"])
    return EndpointCheck(url, True, ids, engine, True, latency, has_logprobs, fast)
