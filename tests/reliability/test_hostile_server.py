"""A hostile or broken OpenAI-compatible server: every answer ends as a judgment or that item's failure with
a reason, within the time and size bounds; never a crash of the run, never a hang.

The server is :class:`selene_eval.testing.server.ScriptedServer` on 127.0.0.1, which writes raw bytes (a
byte at a time, keep-alive comments, lying lengths, invalid JSON) through the real backend's HTTP client.
The slow test sends 500+ generated hostile answers and records its figures for docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.core.tasks import TaskType
from selene_eval.errors import BackendError
from selene_eval.judge import openai_backend as ob
from selene_eval.prompts import parser
from selene_eval.prompts.parser import parse_judgment
from selene_eval.run.runner import run_study
from selene_eval.testing.server import Reply, ScriptedServer, completion, delta_chunk, event, head
from tests.reliability.figures import record
from tests.reliability.helpers import PeakRss, env_for_subprocess, make_study

YES_NO = LabelChoices(words=(("Yes", "yes"), ("No", "no")))
ANSWER = "**Reasoning:** Fine.\n\n**Result:** Yes"
NO_WAIT = ob.RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, rest_s=0.05)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits the backend asked for (recorded, not slept)."""
    asked: list[float] = []
    monkeypatch.setattr(ob, "_sleep", asked.append)
    return asked


def spec(url: str, **kwargs: Any) -> JudgeSpec:
    return JudgeSpec(backend="openai", model="judge", endpoints=(url,), **kwargs)


def prompts(n: int) -> list[list[Message]]:
    return [[Message("user", f"prompt {i}")] for i in range(n)]


def prompt_number(request: dict[str, Any]) -> int:
    return int(request["messages"][0]["content"].split()[-1])


def generate(
    server: ScriptedServer, n: int, *, backend_kwargs: dict[str, Any] | None = None, **spec_kwargs: Any
) -> list[Generation]:
    backend = ob.OpenAIBackend(spec(server.url, **spec_kwargs), retry=NO_WAIT, **(backend_kwargs or {}))
    try:
        return backend.generate(prompts(n), [YES_NO] * n)
    finally:
        backend.close()
        assert not server.errors, server.errors


def good_stream(reply: Reply) -> None:
    reply.event_stream(
        [
            event(delta_chunk("**Reasoning:** Fine.\n\n**Result:**")),
            event(delta_chunk(" Yes")),
            event(delta_chunk("\n")),
            b"data: [DONE]\n\n",
        ]
    )


def _drip(data: bytes, every: float) -> Callable[[Reply], None]:
    def send(reply: Reply) -> None:
        for i in range(len(data)):
            reply.send(data[i : i + 1])
            reply.pause(every)

    return send


def generate_with_one_bad(
    bad: Callable[[Reply], None], n: int, bad_index: int, **kwargs: Any
) -> tuple[list[Generation], str]:
    """``n`` prompts on a server that answers prompt ``bad_index`` with ``bad`` and the others well: the
    generations and the server's URL."""

    def script(request: dict[str, Any], reply: Reply) -> None:
        (bad if prompt_number(request) == bad_index else good_stream)(reply)

    with ScriptedServer(script) as server:
        return generate(server, n, **kwargs), server.url


# --- 7: malformed answers are per-item failures with a reason ---------------------------------------------


def _body(**changes: Any) -> dict[str, Any]:
    body = completion(ANSWER)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = body
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return body


LABEL_LOGPROBS = [{"token": "**Result:**", "logprob": 0.0, "top_logprobs": []}]

MALFORMED_WHOLE = {
    # name: (JSON body of a whole answer, what the failure must say)
    "a number as content": (
        _body(choices__0__message__content=42),
        r"choices\[0\]\.message\.content is the number 42, not a text",
    ),
    "a string as message": (
        _body(choices__0__message="Yes"),
        r"choices\[0\]\.message is the text 'Yes', not an object",
    ),
    "a string as usage": (_body(usage="lots"), r"usage is the text 'lots', not an object"),
    "a string as choices": (_body(choices="Yes"), r"choices is the text 'Yes', not a list"),
    "a list as the answer": ([1, 2], r"the answer is a list of 2, not an object"),
    "a logprob of 1000": (
        _body(
            choices__0__logprobs={
                "content": [
                    *LABEL_LOGPROBS,
                    {"token": " Yes", "logprob": 0.0, "top_logprobs": [{"token": " Yes", "logprob": 1000}]},
                ]
            }
        ),
        r"log-probability of 1000 \(choices\[0\]\.logprobs\.content\[1\]\.top_logprobs\[0\]\.logprob\); a log-probability is at most 0",
    ),
    "top_logprobs of integers": (
        _body(choices__0__logprobs={"content": [{"token": " Yes", "logprob": 0.0, "top_logprobs": [1, 2]}]}),
        r"top_logprobs\[0\] is the number 1, not an object",
    ),
    "a NaN logprob": (
        _body(choices__0__logprobs={"content": [{"token": " Yes", "logprob": math.nan, "top_logprobs": []}]}),
        r"logprob is the number nan, not a log-probability",
    ),
    "a negative token count": (
        _body(usage={"prompt_tokens": -3}),
        r"usage\.prompt_tokens is the number -3, not a count",
    ),
    "an error object with status 200": (
        {"error": {"message": "CUDA error: device-side assert"}},
        r"failed while answering: CUDA error: device-side assert",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED_WHOLE))
def test_a_malformed_whole_answer_fails_that_item_only_with_the_reason(name: str) -> None:
    body, reason = MALFORMED_WHOLE[name]
    # Answers the streamed request with one JSON body, as some servers do (read as such).
    gens, url = generate_with_one_bad(lambda reply: reply.json(200, body), 3, 1)
    assert [g.finish_reason for g in gens] == ["stop", "error", "stop"], gens
    assert re.search(reason, gens[1].error or ""), gens[1].error
    assert gens[1].error.startswith(url) and "\n" not in gens[1].error
    assert gens[0].label_probs is None and gens[0].text.endswith("**Result:** Yes\n")


def test_fast_mode_reads_its_one_token_answer_through_the_same_checks() -> None:
    def script(request: dict[str, Any], reply: Reply) -> None:
        assert "stream" not in request and request["max_tokens"] == 1
        alternatives = [1, 2] if prompt_number(request) == 0 else [{"token": " No", "logprob": -0.1}]
        reply.json(200, completion(" No", logprobs=[{"token": " No", "logprob": -0.1, "top_logprobs": alternatives}]))

    with ScriptedServer(script) as server:
        gens = generate(server, 2, mode="fast")
    assert [g.finish_reason for g in gens] == ["error", "stop"]
    assert "top_logprobs[0] is the number 1, not an object" in gens[0].error
    assert gens[1].text == "**Result:** No" and gens[1].label_probs == {"yes": 0.0, "no": 1.0}


MALFORMED_BYTES = {
    "nesting 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, r"not readable JSON \(nested too deeply\)"),
    "a 5,000-digit number": (
        b'{"choices": [], "usage": {"prompt_tokens": ' + b"9" * 5000 + b"}}",
        r"not readable JSON \(a number too long to read\)",
    ),
    "invalid UTF-8": (b'{"choices": [{"message": {"content": "\xff\xfe"}}]}', r"not readable JSON"),
    "truncated JSON": (json.dumps(completion(ANSWER)).encode()[:-7], r"not readable JSON"),
}


@pytest.mark.parametrize("name", list(MALFORMED_BYTES))
def test_unreadable_answers_fail_that_item_only(name: str) -> None:
    body, reason = MALFORMED_BYTES[name]
    gens, _ = generate_with_one_bad(lambda reply: reply.raw(200, body, {"Content-Type": "application/json"}), 2, 0)
    assert [g.finish_reason for g in gens] == ["error", "stop"], gens
    assert re.search(reason, gens[0].error or ""), gens[0].error


MALFORMED_STREAMS = {
    # name: (the bad event, what the failure must say)
    "a list as the chunk": (event([1, 2]), r"stream event 2 is a list of 2, not an object"),
    "a string as a choice": (
        event({"choices": ["Yes"]}),
        r"stream event 2: choices\[0\] is the text 'Yes', not an object",
    ),
    "a string as choices": (event({"choices": "Yes"}), r"stream event 2: choices is the text 'Yes', not a list"),
    "a string as delta": (
        event({"choices": [{"delta": "Yes"}]}),
        r"choices\[0\]\.delta is the text 'Yes', not an object",
    ),
    "a number as content": (event(delta_chunk(7)), r"choices\[0\]\.delta\.content is the number 7, not a text"),
    "a list as content": (event(delta_chunk(["Yes", "\n"])), r"delta\.content is a list of 2, not a text"),
    "a string as usage": (event({"choices": [], "usage": "many"}), r"usage is the text 'many', not an object"),
    "a number as the finish reason": (
        event({"choices": [{"delta": {}, "finish_reason": 3}]}),
        r"finish_reason is the number 3",
    ),
    "a logprob of 1000": (
        event(
            {
                "choices": [
                    {
                        "delta": {"content": " Yes"},
                        "logprobs": {"content": [{"token": " Yes", "logprob": 1000, "top_logprobs": []}]},
                    }
                ]
            }
        ),
        r"log-probability of 1000",
    ),
    "top_logprobs of integers": (
        event(
            {
                "choices": [
                    {
                        "delta": {"content": " Yes"},
                        "logprobs": {"content": [{"token": " Yes", "logprob": -0.1, "top_logprobs": [0, 1]}]},
                    }
                ]
            }
        ),
        r"top_logprobs\[0\] is the number 0, not an object",
    ),
    "a number as the token": (
        event({"choices": [{"delta": {"content": " Yes"}, "logprobs": {"content": [{"token": 5, "logprob": -0.1}]}}]}),
        r"content\[0\]\.token is the number 5, not a text",
    ),
    "deep nesting": (
        b"data: " + b"[" * 50_000 + b"\n\n",
        r"stream event 2 that is not readable JSON \(nested too deeply\)",
    ),
    "an error in the stream": (
        event({"error": {"message": "out of memory"}}),
        r"failed while answering: out of memory",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED_STREAMS))
def test_a_malformed_stream_event_fails_that_item_only_with_the_reason(name: str) -> None:
    bad, reason = MALFORMED_STREAMS[name]
    events = [
        event(delta_chunk("**Reasoning:** Fine.\n\n**Result:**")),
        bad,
        event(delta_chunk(" Yes\n")),
        b"data: [DONE]\n\n",
    ]
    gens, _ = generate_with_one_bad(lambda reply: reply.event_stream(events), 3, 2)
    assert [g.finish_reason for g in gens] == ["stop", "stop", "error"], gens
    assert re.search(reason, gens[2].error or ""), gens[2].error


def test_a_run_against_a_hostile_server_stores_each_failure_with_its_reason(studies_dir: Path) -> None:
    # One malformed answer per item through the runner: the run ends, each failure stored with its reason.
    cases = [body for body, _ in MALFORMED_WHOLE.values()]
    study = make_study(studies_dir, len(cases) + 2)

    def script(request: dict[str, Any], reply: Reply) -> None:
        number = int(re.search(r"Question (\d+)\?", request["messages"][-1]["content"]).group(1))
        if number < len(cases):
            reply.json(200, cases[number])
        else:
            good_stream(reply)

    with ScriptedServer(script) as server:
        backend = ob.OpenAIBackend(spec(server.url), retry=NO_WAIT)
        try:
            result = run_study(study, backend, batch_size=4)
        finally:
            backend.close()
    assert (result.n_judged, result.n_failed) == (2, len(cases))
    stored = {f.item_id: f.error for f in study.judgments.failures()}
    assert sorted(stored, key=int) == [str(i) for i in range(len(cases))]
    for item_id, (_, reason) in zip(sorted(stored, key=int), MALFORMED_WHOLE.values()):
        assert re.search(reason, stored[item_id]), stored[item_id]
    assert study.run_holder() is None


def test_a_servers_message_is_kept_on_one_line() -> None:
    text = "I am a teapot\nTraceback (most recent call last):\r\n\x1b[31m  boom\x00\u2028 end"
    gens, _ = generate_with_one_bad(lambda reply: reply.raw(418, text.encode(), {}), 2, 0)
    assert [g.finish_reason for g in gens] == ["error", "stop"]
    assert gens[0].error.endswith("(418 Status): I am a teapot Traceback (most recent call last): [31m boom end")
    assert not any(ch in gens[0].error for ch in "\n\r\x1b\x00")


def test_a_server_that_drops_one_prompt_fails_that_prompt_not_the_run(waits: list[float]) -> None:
    # It closes the connection without a word on this prompt, and answers everything else (the model list):
    # not a server that went away, so not "No server answers any more".
    with ScriptedServer(lambda request, reply: None) as server:
        backend = ob.OpenAIBackend(spec(server.url), retry=NO_WAIT)
        try:
            [gen] = backend.generate(prompts(1), [YES_NO])
        finally:
            backend.close()
    assert gen.finish_reason == "error" and "Gave up after 3 attempts" in gen.error
    assert "Server disconnected without sending a response" in gen.error
    assert "the server answers other requests: it fails on this one" in gen.error


def test_the_command_line_says_when_it_waits_and_names_the_malformed_answer(studies_dir: Path) -> None:
    make_study(studies_dir, 3)

    def script(request: dict[str, Any], reply: Reply) -> None:
        if len(server.requests) == 1:
            reply.json(429, {"error": {"message": "Too many requests"}}, {"Retry-After": "1"})
        elif len(server.requests) == 2:
            reply.json(200, {"choices": [{"message": "Yes"}]})
        else:
            good_stream(reply)

    with ScriptedServer(script) as server:
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "selene_eval",
                "--studies-dir",
                str(studies_dir),
                "run",
                "s",
                "--endpoint",
                server.url,
                "--model",
                "judge",
                "--concurrency",
                "1",
                "--timeout",
                "5",
            ],
            capture_output=True,
            text=True,
            env=env_for_subprocess(),
            timeout=300,
        )
    assert cli.returncode != 0 and "Traceback" not in cli.stderr
    assert "Done: 2 judged, 0 from the store, 1 failed" in cli.stdout
    assert (
        "answered 429 Status: Too many requests; it asks to wait 1 s (Retry-After): waiting 1 s as asked" in cli.stderr
    )
    assert re.search(
        r"failed: item \d \(selene\): http://127.0.0.1:\d+/v1 sent an answer that is not a chat "
        r"completion: choices\[0\]\.message is the text 'Yes', not an object\.",
        cli.stderr,
    ), cli.stderr


HOSTILE_MODEL_LISTS: dict[str, tuple[Callable[[Reply], None], str]] = {
    # name: (how GET /models is answered, what the connection check says)
    "nesting 100,000 deep": (
        lambda reply: reply.raw(200, b"[" * 100_000),
        r"/models sent a model list that is not readable JSON \(nested too deeply\)",
    ),
    "a 5,000-digit number": (
        lambda reply: reply.raw(200, b'{"data": ' + b"1" * 5000 + b"}"),
        r"a number too long to read",
    ),
    "a list": (lambda reply: reply.json(200, [1, 2]), r"did not answer with a model list"),
    "data as text": (lambda reply: reply.json(200, {"data": "judge"}), r"did not answer with a model list"),
    "11 MB": (
        lambda reply: reply.json(200, {"data": [{"id": "x" * 11 * 2**20}]}),
        r"sent more than 10 MB for one answer",
    ),
    "dripped": (_drip(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"data":[]}', 0.3), r"ReadTimeout"),
}


@pytest.mark.parametrize("name", list(HOSTILE_MODEL_LISTS))
def test_a_hostile_model_list_is_reported_and_judging_goes_on(name: str) -> None:
    models, said = HOSTILE_MODEL_LISTS[name]
    with ScriptedServer(lambda request, reply: good_stream(reply), models=models) as server:
        report = ob.check_connection(spec(server.url, timeout_s=1.0))
        gens = generate(server, 2, timeout_s=1.0)
    [check] = report.endpoints
    assert not report.ok and re.search(said, check.error or ""), check.error
    # A server without a readable model list is trusted in reasoned mode (some gateways have none).
    assert [g.finish_reason for g in gens] == ["stop", "stop"]


# --- Retry-After: hostile values, a cap, and a message saying how long --------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nan", None),
        ("NaN", None),
        ("soon", None),
        ("-5", 0.0),
        ("7", 7.0),
        ("inf", math.inf),
        ("1e309", math.inf),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "far"),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("Mon, 99 Foo 2024", None),
    ],
)
def test_retry_after_values(header: str, expected: float | str | None) -> None:
    import httpx2

    value = ob._retry_after(httpx2.Response(429, headers={"Retry-After": header}))
    if expected == "far":
        assert value is not None and value > 1e9
    else:
        assert value == expected
    wait = NO_WAIT.delay(1, value)
    assert math.isfinite(wait) and 0 <= wait <= ob.RetryPolicy().max_retry_after_s


def judged_after_one_refusal(
    status: int, retry_after: str, caplog: pytest.LogCaptureFixture, retry: ob.RetryPolicy | None = None
) -> tuple[Generation, list[str]]:
    """One prompt, refused once with ``status`` and this ``Retry-After``, then answered: the generation and
    what the backend logged."""

    def script(request: dict[str, Any], reply: Reply) -> None:
        if len(server.requests) == 1:
            reply.json(status, {"error": {"message": "Too many requests"}}, {"Retry-After": retry_after})
        else:
            good_stream(reply)

    with ScriptedServer(script) as server, caplog.at_level(logging.WARNING, logger=ob.__name__):
        backend = ob.OpenAIBackend(spec(server.url, concurrency=1), retry=retry)
        try:
            [gen] = backend.generate(prompts(1), [YES_NO])
        finally:
            backend.close()
    return gen, [r.getMessage() for r in caplog.records]


def test_retry_after_nan_falls_back_to_the_backoff(waits: list[float], caplog: pytest.LogCaptureFixture) -> None:
    gen, said = judged_after_one_refusal(
        429, "nan", caplog, ob.RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    )
    assert gen.finish_reason == "stop"
    assert len(waits) == 1 and 0 <= waits[0] <= 0.02  # the backoff's wait (time.sleep(nan) raises)
    assert said == []  # no wait was asked for


@pytest.mark.parametrize("header", ["100000", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_long_retry_after_is_capped_and_the_wait_is_said(
    header: str, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    gen, [message] = judged_after_one_refusal(429, header, caplog)
    assert gen.finish_reason == "stop"
    assert waits == [60.0] == [ob.RetryPolicy().max_retry_after_s]
    assert "429" in message and "Too many requests" in message and "(Retry-After)" in message
    assert "waiting 60 s (the longest selene-eval waits" in message and "attempt 2 of 6" in message
    asked = {"100000": "asks to wait 100,000 s", "inf": "asks to wait for ever"}.get(
        header, r"asks to wait [\d,]{15,} s"
    )
    assert re.search(asked, message), message


def test_a_short_retry_after_is_said_as_asked(waits: list[float], caplog: pytest.LogCaptureFixture) -> None:
    gen, [message] = judged_after_one_refusal(503, "7", caplog)
    assert gen.finish_reason == "stop" and waits == [7.0]
    assert "503" in message and "asks to wait 7 s (Retry-After): waiting 7 s as asked before attempt 2 of 6" in message


# --- 8: --timeout is a total deadline per request -----------------------------------------------------------


STREAM_BYTES = (
    head(200, {"Content-Type": "text/event-stream"})
    + event(delta_chunk(ANSWER))
    + event(delta_chunk("\n"))
    + b"data: [DONE]\n\n"
)


def _keep_alive_then_answer(reply: Reply) -> None:
    reply.send(head(200, {"Content-Type": "text/event-stream"}))
    for _ in range(300):  # 30 s of comments, then the answer: each comment arrives well within the timeout
        reply.send(b": keep-alive\n\n")
        reply.pause(0.1)
    reply.send(event(delta_chunk(ANSWER + "\n")) + b"data: [DONE]\n\n")


SLOW_SERVERS: dict[str, Callable[[Reply], None]] = {
    # Each would answer in the end (after 20 to 60 s) with every byte arriving within the per-read timeout:
    # only a total deadline stops them.
    "an answer dripped a byte at a time": _drip(STREAM_BYTES, 0.15),
    "keep-alive comments": _keep_alive_then_answer,
    "headers dripped a byte at a time": _drip(STREAM_BYTES, 0.5),
}


@pytest.mark.parametrize("name", list(SLOW_SERVERS))
def test_the_timeout_is_a_total_deadline_for_each_request(name: str, waits: list[float]) -> None:
    gens, _ = generate_with_one_bad(SLOW_SERVERS[name], 2, 0, timeout_s=1.0)
    assert [g.finish_reason for g in gens] == ["error", "stop"], gens
    # Tried twice (timeout_attempts), then given up.
    assert "Timed out 2 times" in gens[0].error and "within 1 s (the time one request may take in all)" in gens[0].error


# --- 8: the answer's size is bounded ------------------------------------------------------------------------


def _huge_whole(reply: Reply) -> None:
    reply.json(200, completion("x" * 3_000_000))


def _huge_stream(reply: Reply) -> None:
    reply.event_stream(event(delta_chunk("x" * 10_000)) for _ in range(300))


def _huge_line(reply: Reply) -> None:
    reply.event_stream([b"data: " + b"x" * 3_000_000])  # no newline at all


def _lying_length(reply: Reply) -> None:
    reply.raw(
        200,
        json.dumps(completion(ANSWER)).encode(),
        {"Content-Type": "application/json", "Content-Length": str(50 * 2**30)},
    )


@pytest.mark.parametrize(
    "script_of_item_0",
    [_huge_whole, _huge_stream, _huge_line, _lying_length],
    ids=["3 MB whole answer", "3 MB stream", "3 MB line", "Content-Length of 50 GB"],
)
def test_an_answer_over_the_byte_limit_is_that_items_failure(script_of_item_0: Callable[[Reply], None]) -> None:
    gens, _ = generate_with_one_bad(script_of_item_0, 2, 0, backend_kwargs={"max_answer_bytes": 2**20})
    assert [g.finish_reason for g in gens] == ["error", "stop"], gens
    assert "sent more than 1 MB for one answer" in gens[0].error and "SELENE_EVAL_MAX_ANSWER_MB" in gens[0].error
    assert gens[0].text == ""


def test_the_byte_limit_follows_max_new_tokens_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ob.MAX_ANSWER_MB_ENV, raising=False)
    assert ob.answer_byte_limit(512) == 2 * 2**20 and ob.answer_byte_limit(8192) == 32 * 2**20
    assert ob.answer_byte_limit(4) == ob.MIN_ANSWER_BYTES
    monkeypatch.setenv(ob.MAX_ANSWER_MB_ENV, "0.5")
    assert ob.answer_byte_limit(512) == 2**19
    assert ob.OpenAIBackend(spec("http://127.0.0.1:9/v1")).max_answer_bytes == 2**19
    for bad in ("lots", "0", "-1", "nan", "inf"):
        monkeypatch.setenv(ob.MAX_ANSWER_MB_ENV, bad)
        with pytest.raises(BackendError, match=rf"SELENE_EVAL_MAX_ANSWER_MB='{bad}' is not a size in megabytes"):
            ob.answer_byte_limit(512)


# --- 8: stream parsing is linear ----------------------------------------------------------------------------


class CountingPattern:
    """A regex whose calls add up the characters they were given (the work of watching for the result)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.chars = pattern, 0

    def finditer(self, text: str, *args: Any) -> Iterator[re.Match[str]]:
        self.chars += len(text)
        return self.pattern.finditer(text, *args)

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        self.chars += len(text)
        return self.pattern.search(text, *args)


def test_watching_for_the_result_line_reads_each_character_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 3,000 newline-only chunks after a long reasoning, then the label: the whole text used to be joined and
    # searched again at every newline (40,000 chunks: 51 s). The bench (bench/server_stream.py) shows times.
    counting = CountingPattern(parser.RESULT_MARKER)
    monkeypatch.setattr(parser, "_RESULT", counting)  # what result_line_complete searched with
    monkeypatch.setattr(ob, "_RESULT_MARKER", counting)
    reasoning = "**Reasoning:** " + "word " * 2000
    chunks = [reasoning, *["\n"] * 3000, "**Result:**", " Yes", "\n"]

    def script(request: dict[str, Any], reply: Reply) -> None:
        reply.event_stream([*(event(delta_chunk(c)) for c in chunks), b"data: [DONE]\n\n"])

    with ScriptedServer(script) as server:
        [gen] = generate(server, 1)
    text = "".join(chunks)
    assert gen.finish_reason == "stop" and gen.text == text and gen.label_probs is None
    assert counting.chars <= 3 * len(text), (counting.chars, len(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["*", " ", "\t", "result", "Result", ":", "x", "\n", "**", "resul", "reasoning"]), max_size=16
    ).map("".join)
)
def test_the_linear_marker_patterns_match_what_the_plain_ones_did(text: str) -> None:
    for word, pattern in (("result", parser._RESULT), ("reasoning", parser._REASONING)):
        plain = re.compile(rf"\*{{0,2}}[ \t]*{word}[ \t]*\*{{0,2}}[ \t]*:[ \t]*\*{{0,2}}", re.IGNORECASE)
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain.finditer(text)]


# --- the fuzz run: 500+ generated hostile answers -----------------------------------------------------------

FUZZ_TIMEOUT_S = 2.0
FUZZ_SLACK_S = 3.0
"""What a request may take beyond its deadline (scheduling on two busy cores, parsing what was read)."""
FUZZ_RSS_CAP_MB = 1024
"""What the fuzz run may add to the test process's resident memory (the server and the client are both in it)."""

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1000,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "x",
    "\n",
    "Yes",
    [],
    [1, 2],
    {},
    {"a": 1},
    [[[[[]]]]],
    "\u202e",
    "\ud800",
    10**50,
    -(10**50),
    0.5,
]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _mutate(template: Any, rnd: random.Random) -> Any:
    """The template with one node replaced, deleted, or a key added."""
    doc = json.loads(json.dumps(template))
    path = rnd.choice(list(_paths(doc))[1:])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    roll = rnd.random()
    if roll < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif roll < 0.25 and isinstance(parent, dict):
        parent[rnd.choice(["extra", "error", "index", "role"])] = rnd.choice(HOSTILE_VALUES)
    else:
        parent[path[-1]] = rnd.choice(HOSTILE_VALUES)
    return doc


def _dumps(doc: Any, rnd: random.Random) -> bytes:
    text = json.dumps(doc, allow_nan=True, ensure_ascii=rnd.random() < 0.5)
    return text.encode("utf-8", errors="surrogatepass")


def _whole_template() -> dict[str, Any]:
    tokens = [
        {
            "token": t,
            "logprob": -0.01,
            "top_logprobs": [{"token": t, "logprob": -0.01}, {"token": " No", "logprob": -4.0}],
        }
        for t in ("**Result:**", " Yes")
    ]
    return completion(ANSWER, logprobs=tokens)


def _stream_templates() -> list[dict[str, Any]]:
    return [
        delta_chunk("**Reasoning:** Fine.\n\n**Result:**"),
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": " Yes"},
                    "finish_reason": None,
                    "logprobs": {
                        "content": [
                            {
                                "token": " Yes",
                                "logprob": -0.1,
                                "top_logprobs": [{"token": " Yes", "logprob": -0.1}, {"token": " No", "logprob": -2.4}],
                            }
                        ]
                    },
                }
            ]
        },
        delta_chunk("\n"),
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}},
    ]


def hostile_answer(seed: int) -> tuple[str, Callable[[Reply], None]]:
    """The ``seed``-th generated hostile answer: its kind and the script that sends it."""
    rnd = random.Random(seed)
    kind = rnd.choices(
        ["whole", "stream", "bytes", "status", "size", "newlines", "slow"], weights=[30, 30, 12, 10, 6, 6, 4]
    )[0]
    if kind == "whole":
        body = _dumps(_mutate(_whole_template(), rnd), rnd)
        return kind, lambda reply: reply.raw(200, body, {"Content-Type": "application/json"})
    if kind == "stream":
        events = [_dumps(c, rnd) for c in _stream_templates()]
        i = rnd.randrange(len(events))
        events[i] = _dumps(_mutate(_stream_templates()[i], rnd), rnd)
        framed = [b"data: " + e + rnd.choice([b"\n\n", b"\r\n\r\n", b"\n"]) for e in events] + [b"data: [DONE]\n\n"]
        return kind, lambda reply: reply.event_stream(framed)
    if kind == "bytes":
        valid = json.dumps(_whole_template()).encode()
        damage = rnd.choice(["truncate", "flip", "insert", "junk", "nest", "digits"])
        if damage == "truncate":
            body = valid[: rnd.randrange(len(valid))]
        elif damage == "flip":
            pos = rnd.randrange(len(valid))
            body = valid[:pos] + bytes([rnd.randrange(256)]) + valid[pos + 1 :]
        elif damage == "insert":
            pos = rnd.randrange(len(valid))
            body = valid[:pos] + rnd.randbytes(rnd.randint(1, 8)) + valid[pos:]
        elif damage == "junk":
            body = rnd.randbytes(rnd.randint(0, 4000))
        elif damage == "nest":
            depth = rnd.choice([1_000, 10_000, 200_000])
            body = b'{"choices": ' + b"[" * depth + b"]" * depth + b"}"
        else:
            body = b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": ' + b"7" * 5000 + b"}}"
        content_type = rnd.choice(["application/json", "text/event-stream", "text/html", ""])
        return f"{kind}:{damage}", lambda reply: reply.raw(
            200, body, {"Content-Type": content_type} if content_type else {}
        )
    if kind == "status":
        status = rnd.choice([100, 204, 301, 400, 408, 413, 418, 422, 429, 500, 502, 503, 599])
        header = rnd.choice(
            ["nan", "inf", "-1", "1e309", "100000", "0.01", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", ""]
        )
        body = rnd.choice(
            [b"", b"{", b'{"error": "x"}', b'{"error": {"message": 5}}', b"[" * 20_000, rnd.randbytes(200)]
        )
        headers = {"Retry-After": header} if header else {}
        return f"{kind}:{status}", lambda reply: reply.raw(status, body, headers)
    if kind == "size":
        n = rnd.choice([3, 10, 50]) * 2**20 // 10
        shape = rnd.choice(["whole", "stream", "spaces"])
        if shape == "whole":
            return f"{kind}:whole", lambda reply: reply.json(200, completion("y" * n))
        if shape == "stream":
            return f"{kind}:stream", lambda reply: reply.event_stream(
                event(delta_chunk("z" * 4096)) for _ in range(n // 4096)
            )
        # Within the byte limit: 200,000 blanks after the marker (the parser must stay linear on it).
        return f"{kind}:spaces", lambda reply: reply.json(200, completion("**Result:**" + " " * 200_000 + "Yes"))
    if kind == "newlines":
        n = rnd.choice([5_000, 20_000])
        return kind, lambda reply: reply.event_stream(
            [event(delta_chunk("**Reasoning:** x")), *(event(delta_chunk("\n")) for _ in range(n)), b"data: [DONE]\n\n"]
        )
    style = rnd.choice(["drip", "comments", "silence"])
    if style == "drip":
        return f"{kind}:drip", _drip(STREAM_BYTES, 0.3)
    if style == "comments":
        return (
            f"{kind}:comments",
            lambda reply: (
                [reply.send(head(200, {"Content-Type": "text/event-stream"}))]
                + [(reply.send(b": ping\n\n"), reply.pause(0.2)) for _ in range(200)]
            ),
        )
    return f"{kind}:silence", lambda reply: reply.pause(60)


N_FUZZ = 520


@pytest.mark.slow
def test_hundreds_of_hostile_server_answers(waits: list[float]) -> None:
    answers = [hostile_answer(seed) for seed in range(N_FUZZ)]

    def script(request: dict[str, Any], reply: Reply) -> None:
        answers[prompt_number(request)][1](reply)

    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    longest = 0.0
    limit = 2**20
    policy = ob.RetryPolicy(max_attempts=1, timeout_attempts=1)
    with ScriptedServer(script) as server, PeakRss() as rss:
        backend = ob.OpenAIBackend(
            spec(server.url, timeout_s=FUZZ_TIMEOUT_S, concurrency=1), retry=policy, max_answer_bytes=limit
        )
        try:
            for seed, (kind, _) in enumerate(answers):
                start = time.monotonic()
                try:
                    [gen] = backend.generate([[Message("user", f"prompt {seed}")]], [YES_NO])
                except BackendError as exc:  # allowed only where it must stop a run (none of these answers)
                    failures.append(f"#{seed} {kind}: BackendError {exc}")
                    continue
                except Exception as exc:  # noqa: BLE001 (the point: nothing else may escape)
                    failures.append(f"#{seed} {kind}: {type(exc).__name__}: {exc}")
                    continue
                took = time.monotonic() - start
                longest = max(longest, took)
                if took > FUZZ_TIMEOUT_S + FUZZ_SLACK_S:
                    failures.append(f"#{seed} {kind}: took {took:.1f} s")
                if gen.finish_reason == "error":
                    if not gen.error or "\n" in gen.error or "Traceback" in gen.error:
                        failures.append(f"#{seed} {kind}: unreadable failure {gen.error!r}")
                    outcomes["failure with a reason"] += 1
                else:
                    assert len(gen.text.encode("utf-8", errors="surrogatepass")) <= limit
                    assert gen.label_probs is None or all(0 <= p <= 1 for p in gen.label_probs.values())
                    parse_judgment(gen.text, TaskType.BINARY)
                    outcomes["judgment"] += 1
        finally:
            backend.close()
        assert not server.errors, server.errors[:5]
    assert not failures, "\n".join(failures[:20])
    assert all(math.isfinite(w) and 0 <= w <= policy.max_retry_after_s for w in waits)
    assert rss.peak_mb < FUZZ_RSS_CAP_MB, rss.peak_mb
    kinds = Counter(kind.split(":")[0] for kind, _ in answers)
    record(
        "hostile_server",
        {
            "answers_tried": N_FUZZ,
            "kinds": dict(sorted(kinds.items())),
            "outcomes": dict(sorted(outcomes.items())),
            "crashes": 0,
            "timeout_s": FUZZ_TIMEOUT_S,
            "longest_request_s": round(longest, 2),
            "max_answer_bytes": limit,
            "peak_rss_mb": round(rss.peak_mb),
            "rss_cap_mb": FUZZ_RSS_CAP_MB,
        },
    )
