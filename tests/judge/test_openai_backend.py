"""The OpenAI-compatible backend against a small local stub server, for what a real server cannot be made to
do on demand: time out, answer 429 in a storm, die mid-run, refuse the key, not know the model. Also the
request it sends (greedy, logprobs), reading label probabilities, fast mode's prefill for vLLM (no vLLM
here), and the connection check. The same backend against a real llama.cpp server: test_llama_server.py.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import LabelChoices, Message, fast_mode_prefill
from selene_eval.core.tasks import TaskType
from selene_eval.errors import BackendError
from selene_eval.judge import openai_backend as ob
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.openai_stub import ANSWER, Events, Reply, Stub, completion, delta, handler_for, spec_for, tok

YES_NO = LabelChoices(words=(("Yes", "yes"), ("No", "no")))
FAST_RETRIES = ob.RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, rest_s=0.05)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits the backend asked for (not slept: the tests stay quick)."""
    asked: list[float] = []
    monkeypatch.setattr(ob, "_sleep", asked.append)
    return asked


def prompts(n: int) -> list[list[Message]]:
    return [[Message("user", f"prompt {i}")] for i in range(n)]


def dead_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- the request and the answer ---------------------------------------------------------------------------


def test_request_is_greedy_with_logprobs_and_the_key_from_the_environment(
    stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "s3cret")
    stub = stubs()
    backend = ob.OpenAIBackend(spec_for(stub.url, api_key_env="JUDGE_KEY", max_new_tokens=300))
    try:
        [gen] = backend.generate([[Message("user", "Judge this.")]])
    finally:
        backend.close()
    body = stub.requests[0]
    assert body["model"] == "judge" and body["temperature"] == 0 and body["max_tokens"] == 300
    assert body["logprobs"] is True and body["top_logprobs"] == ob.TOP_LOGPROBS
    assert body["messages"] == [{"role": "user", "content": "Judge this."}]
    assert stub.headers[0]["Authorization"] == "Bearer s3cret"
    assert gen.text == ANSWER and gen.finish_reason == "stop" and gen.n_prompt_tokens == 11 and gen.n_new_tokens == 7
    assert gen.label_probs is None  # no choices given, no probabilities read


def test_a_missing_key_variable_is_a_clear_error_before_any_request() -> None:
    with pytest.raises(BackendError, match="NO_SUCH_KEY_VAR.*not set"):
        ob.OpenAIBackend(spec_for("http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR"))


def test_label_probabilities_are_read_after_the_result_marker(stubs) -> None:
    content = [
        tok("**", ("**", 0.9)),
        tok("Reason", ("Reason", 1.0)),
        tok("ing:** Fine.\n\n", ("x", 1.0)),
        tok("**", ("**", 1.0)),
        tok("Result", ("Result", 1.0)),
        tok(":**", (":**", 1.0)),
        # The label token carries its space; " Yes" and "Yes" are one label; "Maybe" is not an answer.
        tok(" Yes", (" Yes", 0.5), ("Yes", 0.1), (" No", 0.2), (" Maybe", 0.2)),
    ]
    stub = stubs(lambda body, n: (200, {}, completion(logprobs=content, finish="length")))
    backend = ob.OpenAIBackend(spec_for(stub.url))
    try:
        [gen] = backend.generate([[Message("user", "x")]], [YES_NO])
    finally:
        backend.close()
    assert gen.finish_reason == "length"
    assert gen.label_probs == pytest.approx({"yes": 0.75, "no": 0.25})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # Bold around the label: the first token with text after the marker is the label's.
        (
            [tok("**Result:**"), tok(" **"), tok("5", ("5", 0.6), ("4", 0.3), ("3", 0.1)), tok("**")],
            {"5": 0.6, "4": 0.3, "3": 0.1},
        ),
        # The last marker counts.
        ([tok("**Result:** 1 **Result:**"), tok(" 2", (" 2", 1.0))], {"2": 1.0}),
        ([tok("no marker at all", ("1", 1.0))], None),
        # A bare label (which the parser reads as that label) is read at its first token.
        ([tok("**"), tok("4", ("4", 0.8), ("5", 0.2)), tok("**.")], {"4": 0.8, "5": 0.2}),
        ([tok("**Result:**"), tok(" Great", (" Great", 1.0))], None),  # no allowed answer among the alternatives
    ],
)
def test_label_probs_after_marker(content: list[dict[str, Any]], expected: dict[str, float] | None) -> None:
    scores = LabelChoices(words=tuple((s, s) for s in "12345"))
    probs = ob.label_probs_after_marker(content, scores)
    if expected is None:
        assert probs is None
    else:
        assert probs == pytest.approx({label: expected.get(label, 0.0) for label in "12345"})


def test_a_server_without_logprobs_is_asked_again_without_them(stubs) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if "logprobs" in body:
            return 400, {}, {"error": {"message": "logprobs is not supported"}}
        return 200, {}, completion()

    stub = stubs(reply)
    backend = ob.OpenAIBackend(spec_for(stub.url, concurrency=1))
    try:
        gens = backend.generate(prompts(3), [YES_NO] * 3)
    finally:
        backend.close()
    assert [g.text for g in gens] == [ANSWER] * 3 and all(g.label_probs is None for g in gens)
    assert len(stub.requests) == 4  # one refusal, then never again


def test_base_urls_are_normalised() -> None:
    assert ob.normalize_base_url("http://localhost:8000") == "http://localhost:8000/v1"
    assert ob.normalize_base_url(" http://h:11434/v1/ ") == "http://h:11434/v1"
    assert ob.normalize_base_url("https://proxy/openai/v1") == "https://proxy/openai/v1"
    with pytest.raises(BackendError, match="not a server address"):
        ob.normalize_base_url("localhost:8000")


# --- replicas and faults ------------------------------------------------------------------------------------


def test_requests_spread_over_replicas_and_a_dead_one_gets_none_of_the_work(stubs) -> None:
    a, b = stubs(), stubs()
    backend = ob.OpenAIBackend(spec_for(a.url, dead_url(), b.url, concurrency=1), retry=FAST_RETRIES)
    try:
        gens = backend.generate(prompts(12))
    finally:
        backend.close()
    assert all(g.finish_reason == "stop" for g in gens)
    assert len(a.answered) > 0 and len(b.answered) > 0
    assert sorted(a.answered + b.answered) == sorted(f"prompt {i}" for i in range(12))


def test_a_429_storm_is_waited_out_as_retry_after_says(stubs, waits: list[float]) -> None:
    # Every prompt is refused twice with "come back in 7 s", then answered.
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def reply(body: dict[str, Any], n: int) -> Reply:
        key = body["messages"][0]["content"]
        with lock:
            seen[key] = seen.get(key, 0) + 1
            count = seen[key]
        if count <= 2:
            return 429, {"Retry-After": "7"}, {"error": {"message": "Too many requests"}}
        return 200, {}, completion()

    stub = stubs(reply)
    backend = ob.OpenAIBackend(spec_for(stub.url, concurrency=3), retry=FAST_RETRIES)
    try:
        gens = backend.generate(prompts(5))
    finally:
        backend.close()
    assert all(g.finish_reason == "stop" for g in gens)
    assert waits == [7.0] * 10 and len(stub.requests) == 15


def test_a_storm_that_outlasts_the_retries_fails_those_prompts_only(stubs, waits: list[float]) -> None:
    stub = stubs(
        lambda body, n: (
            (503, {}, {"error": {"message": "overloaded"}})
            if body["messages"][0]["content"] == "prompt 1"
            else (200, {}, completion())
        )
    )
    backend = ob.OpenAIBackend(spec_for(stub.url), retry=FAST_RETRIES)
    try:
        gens = backend.generate(prompts(3))
    finally:
        backend.close()
    assert [g.finish_reason for g in gens] == ["stop", "error", "stop"]
    assert "Gave up after 4 attempts" in gens[1].error and "503" in gens[1].error and "overloaded" in gens[1].error
    assert len(waits) == 3 and all(0 <= w <= FAST_RETRIES.max_delay_s for w in waits)  # backoff, capped


def test_a_prompt_that_times_out_fails_alone_after_a_second_try(stubs, waits: list[float]) -> None:
    stub = stubs(lambda body, n: "hang:8" if body["messages"][0]["content"] == "prompt 0" else (200, {}, completion()))
    backend = ob.OpenAIBackend(spec_for(stub.url, timeout_s=1.5), retry=FAST_RETRIES)
    try:
        gens = backend.generate(prompts(3))
    finally:
        backend.close()
    assert [g.finish_reason for g in gens] == ["error", "stop", "stop"]
    assert "Timed out 2 times" in gens[0].error and "--timeout" in gens[0].error
    assert sum(1 for r in stub.requests if r["messages"][0]["content"] == "prompt 0") == 2


def test_a_wrong_key_stops_at_once(stubs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", "wrong")
    stub = stubs(lambda body, n: (401, {}, {"error": {"message": "Invalid API key"}}))
    backend = ob.OpenAIBackend(spec_for(stub.url, api_key_env="JUDGE_KEY", concurrency=1), retry=FAST_RETRIES)
    try:
        with pytest.raises(BackendError, match=r"refused the request \(401.*Invalid API key.*\$JUDGE_KEY"):
            backend.generate(prompts(6))
    finally:
        backend.close()
    assert len(stub.requests) == 1  # the other prompts were never sent


def test_an_unknown_model_stops_at_once(stubs) -> None:
    stub = stubs(lambda body, n: (404, {}, {"error": {"message": f"The model `{body['model']}` does not exist."}}))
    backend = ob.OpenAIBackend(spec_for(stub.url, concurrency=1), retry=FAST_RETRIES)
    try:
        with pytest.raises(BackendError, match=r"404 for model 'judge'.*does not exist.*Check the model name"):
            backend.generate(prompts(4))
    finally:
        backend.close()
    assert len(stub.requests) == 1


def binary_study(root: Path, n: int) -> Any:
    items = [Item(str(i), f"Question {i}?", f"Answer {i}.", experts={"e1": "yes" if i % 2 else "no"}) for i in range(n)]
    spec = StudySpec(
        slug="served",
        title="Served",
        task=TaskType.BINARY,
        experts=["e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    return StudyStore(root).create(spec, items)


def test_a_server_that_dies_mid_run_resumes_with_nothing_lost_and_nothing_judged_twice(stubs, tmp_path: Path) -> None:
    study = binary_study(tmp_path, 10)
    first = stubs(lambda body, n: "die" if n == 7 else (200, {}, completion()))
    spec = spec_for(first.url, concurrency=2)
    backend = ob.OpenAIBackend(spec, retry=FAST_RETRIES)
    try:
        with pytest.raises(BackendError, match="No server answers any more.*re-run to continue"):
            run_study(study, backend, batch_size=4)
    finally:
        backend.close()
    stored = study.judgments.count(spec.judge_id)
    # Everything the dead server answered is kept: the 6 before it died, and the prompt sent beside the one
    # it died on when that one arrived first.
    assert stored == len(first.answered) and stored in {6, 7}
    # The run continues on another server (its URL is not part of the judge): only what is missing is sent.
    second = stubs()
    backend = ob.OpenAIBackend(spec.model_copy(update={"endpoints": (second.url,)}), retry=FAST_RETRIES)
    try:
        result = run_study(study, backend, batch_size=4)
    finally:
        backend.close()
    assert result.n_failed == 0 and result.n_cached == stored and result.n_judged == 10 - stored
    assert study.judgments.count(spec.judge_id) == 10 and not study.judgments.failures(spec.judge_id)
    assert not set(first.answered) & set(second.answered) and len(second.answered) == 10 - stored


def test_a_prompt_the_server_rejects_is_stored_as_that_items_failure(stubs, tmp_path: Path) -> None:
    study = binary_study(tmp_path, 4)

    def reply(body: dict[str, Any], n: int) -> Reply:
        if "Question 2?" in body["messages"][0]["content"]:
            return 400, {}, {"error": {"message": "This model's maximum context length is 8192 tokens."}}
        return 200, {}, completion()

    stub = stubs(reply)
    backend = ob.OpenAIBackend(spec_for(stub.url), retry=FAST_RETRIES)
    try:
        result = run_study(study, backend)
    finally:
        backend.close()
    assert result.n_judged == 3 and result.n_failed == 1
    [failure] = result.failures
    assert (
        failure.item_id == "2"
        and "rejected this prompt (400" in failure.error
        and "maximum context length" in failure.error
    )
    assert len(stub.requests) == 4  # not retried: it would fail again


# --- fast mode ----------------------------------------------------------------------------------------------


def test_fast_mode_prefills_the_result_marker_on_vllm(stubs) -> None:
    # vLLM cannot run here: the stub checks the request vLLM documents for continuing a final message.
    stub = stubs(
        lambda body, n: (200, {}, completion(" No", logprobs=[tok(" No", (" No", 0.6), (" Yes", 0.3), (" So", 0.1))]))
    )
    backend = ob.OpenAIBackend(spec_for(stub.url, mode="fast"))
    try:
        [gen] = backend.generate([[Message("user", "Judge.")]], [YES_NO])
    finally:
        backend.close()
    body = stub.requests[0]
    # The same prefill as the local backend's fast mode, ending with the marker.
    assert body["messages"][-1] == {"role": "assistant", "content": fast_mode_prefill()}
    assert body["messages"][-1]["content"].endswith("**Result:**") and "stream" not in body
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["max_tokens"] == 1 and body["logprobs"] is True
    assert gen.text == "**Result:** No" and gen.label_probs == pytest.approx({"yes": 1 / 3, "no": 2 / 3})


def test_fast_mode_on_a_server_that_cannot_continue_an_answer_names_the_alternatives(stubs) -> None:
    stub = stubs(owned_by="me")
    backend = ob.OpenAIBackend(spec_for(stub.url, mode="fast"))
    try:
        with pytest.raises(BackendError, match="Fast mode needs a server that continues.*vLLM.*reasoned mode"):
            backend.generate(prompts(1), [YES_NO])
    finally:
        backend.close()
    assert not stub.requests


# --- connection check ---------------------------------------------------------------------------------------


def test_check_connection_reports_each_replica(stubs) -> None:
    good = stubs(lambda body, n: (200, {}, completion("Yes", logprobs=[tok("Yes", ("Yes", 0.9))])))
    wrong_model = stubs(models=("other",), owned_by="llamacpp")
    dead = dead_url()
    report = ob.check_connection(spec_for(good.url, wrong_model.url, dead))
    by_url = {e.url: e for e in report.endpoints}
    assert not report.ok
    ok = by_url[good.url]
    assert ok.ok and ok.logprobs and ok.fast_mode and ok.engine == "vLLM" and ok.latency_s is not None
    assert not by_url[wrong_model.url].ok and "does not serve 'judge'" in by_url[wrong_model.url].error
    assert "other" in by_url[wrong_model.url].error
    assert not by_url[dead].reachable and "cannot reach" in by_url[dead].error
    text = report.describe()
    assert "OK" in text and "Not ready" in text
    assert ob.check_connection(spec_for(good.url)).ok


def test_a_model_the_server_does_not_list_stops_before_any_request(stubs) -> None:
    # llama-cpp-python answers under any model name: without this check the answers would come from another model.
    stub = stubs(models=("other-model",), owned_by="me")
    backend = ob.OpenAIBackend(spec_for(stub.url))
    try:
        with pytest.raises(BackendError, match="does not serve 'judge'; it serves: other-model"):
            backend.generate(prompts(2))
    finally:
        backend.close()
    assert not stub.requests


def test_a_streamed_answer_is_closed_once_the_result_line_is_complete(stubs) -> None:
    # The model keeps writing after its label for ever: the client must hang up after the result line.
    events = Events(
        [
            delta("**Reasoning:** Fine.\n\n"),
            delta("**Result:**"),
            delta(" Yes", (" Yes", 0.8), (" No", 0.2)),
            delta("\n"),
            {"choices": [], "usage": None},
        ],
        endless=True,
    )
    stub = stubs(lambda body, n: events)
    backend = ob.OpenAIBackend(spec_for(stub.url))
    try:
        [gen] = backend.generate([[Message("user", "x")]], [YES_NO])
    finally:
        backend.close()
    assert stub.requests[0]["stream"] is True
    assert gen.text == "**Reasoning:** Fine.\n\n**Result:** Yes\n" and gen.finish_reason == "stop"
    assert gen.label_probs == pytest.approx({"yes": 0.8, "no": 0.2}) and gen.n_new_tokens == 4


def test_a_stream_that_ends_without_a_result_keeps_the_servers_finish_reason(stubs) -> None:
    events = Events(
        [
            delta("**Reasoning:** It goes on"),
            delta(" and on", finish="length"),
            {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}},
        ]
    )
    stub = stubs(lambda body, n: events)
    backend = ob.OpenAIBackend(spec_for(stub.url))
    try:
        [gen] = backend.generate([[Message("user", "x")]], [YES_NO])
    finally:
        backend.close()
    assert gen.text == "**Reasoning:** It goes on and on" and gen.finish_reason == "length"
    assert (gen.n_prompt_tokens, gen.n_new_tokens, gen.label_probs) == (9, 2, None)


def test_an_empty_stream_is_asked_again_plainly_on_a_new_connection(stubs) -> None:
    # The plain request first goes out on the connection the server has reset; that must not count as the
    # server being down (it once failed a whole CI run), but be sent again on a fresh connection.
    too_long = (400, {}, {"error": {"message": "Requested tokens (6031) exceed context window of 4096"}})
    stub = stubs(lambda body, n: "empty-stream" if body.get("stream") else too_long)
    backend = ob.OpenAIBackend(spec_for(stub.url, concurrency=1), retry=FAST_RETRIES)
    try:
        [gen] = backend.generate([[Message("user", "x")]], [YES_NO])
    finally:
        backend.close()
    assert gen.finish_reason == "error" and "exceed context window" in (gen.error or "")
    assert [bool(r.get("stream")) for r in stub.requests] == [True, False]


def test_the_same_backend_resumes_once_its_server_is_back(stubs) -> None:
    # The dashboard keeps one backend object across runs: after every server was lost, a later run must not
    # fail on the old error once a server answers again.
    first = stubs(lambda body, n: "die" if n == 2 else (200, {}, completion()))
    url = first.url
    backend = ob.OpenAIBackend(spec_for(url, concurrency=1), retry=FAST_RETRIES)
    try:
        gens = backend.generate(prompts(3))
        assert [g.finish_reason for g in gens] == ["stop", "error", "error"]
        with pytest.raises(BackendError, match="No server answers any more"):
            backend.generate(prompts(1))  # still down: the run stops
        # The server comes back on the same address.
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        second = Stub(lambda body, n: (200, {}, completion()))
        second.server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(second))
        threading.Thread(target=second.server.serve_forever, daemon=True).start()
        try:
            assert [g.finish_reason for g in backend.generate(prompts(2))] == ["stop", "stop"]
        finally:
            second.stop()
    finally:
        backend.close()
