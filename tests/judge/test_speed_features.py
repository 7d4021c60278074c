"""Judge speed features on tiny real Llamas: early stopping, label probabilities, fast mode, caching.

No test here times anything: each checks that a speed feature gives the *same* answers as the slow way.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec, LabelChoices, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge import create_backend
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.prompts.parser import label_choices, parse_judgment
from selene_eval.run.runner import plan_run, run_study
from selene_eval.testing.studies import make_study as build_study

SCORES = label_choices(TaskType.ABSOLUTE)
YES_NO = label_choices(TaskType.BINARY)
A_B = label_choices(TaskType.PAIRWISE)
PROMPTS = [
    [Message("user", "Rate the response with an integer between 1 and 5.")],
    [Message("system", "Be brief."), Message("user", "Is it correct? Yes or No.")],
    [Message("user", "Which is better, A or B? " + "Explain carefully. " * 8)],
]


def load(model: Path, **settings: object) -> JudgeBackend:
    """The backend for a local model folder, fp32 on the CPU unless ``settings`` say otherwise."""
    spec = JudgeSpec.model_validate({"model": str(model), "quantization": "none", "device": "cpu", **settings})
    return create_backend(spec)


def task_of(choices: LabelChoices) -> TaskType:
    return {SCORES: TaskType.ABSOLUTE, YES_NO: TaskType.BINARY, A_B: TaskType.PAIRWISE}[choices]


def argmax(probs: dict[str, float]) -> str:
    return max(probs, key=probs.__getitem__)


def scripted_model(directory: Path, answer: str) -> Path:
    """A tiny model whose greedy answer to any prompt is exactly ``answer`` (then its end token).

    :func:`selene_eval.testing.build_tiny_model` scripts ``**Reasoning:** ... **Result:** <label>``; here the
    same bigram scripting walks any answer whose tokens are all distinct, such as one that goes on after
    its result line.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from selene_eval.testing import EOT_TOKEN, _script_weights, build_tiny_model

    build_tiny_model(directory, answer_label="Yes")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    start = tokenizer("<|start_header_id|>assistant<|end_header_id|>\n\n", add_special_tokens=False)["input_ids"][-1]
    chain = [
        start,
        *tokenizer(answer, add_special_tokens=False)["input_ids"],
        tokenizer.convert_tokens_to_ids(EOT_TOKEN),
    ]
    assert len(set(chain)) == len(chain), f"the answer repeats a token: {tokenizer.convert_ids_to_tokens(chain)}"
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    _script_weights(model, chain, seed=0)
    model.save_pretrained(directory)
    return directory


# ---------------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "settled"),
    [
        ("**Reasoning:** fine\n\n**Result:** 4", False),  # the line may go on ("4 or 5")
        ("**Reasoning:** fine\n\n**Result:** 4\n", True),
        ("**Reasoning:** fine\n\n**Result:**\n\n", False),  # blank lines: the label is still to come
        ("**Reasoning:** fine\n\n**Result:**\n**\nYes\n", True),  # the parser skips lines of bold markers only
        ("**Reasoning:** the result: unclear\n", True),  # the parser reads the line after any marker
        ("**Reasoning:** a long critique\nwith lines\n", False),
    ],
)
def test_a_result_line_is_complete_only_when_the_parser_can_no_longer_read_it_differently(
    text: str, settled: bool
) -> None:
    from selene_eval.prompts.parser import result_line_complete

    assert result_line_complete(text) is settled


def test_stopping_where_the_result_line_is_complete_keeps_the_parsed_label() -> None:
    """Cut every answer at the first point the criterion fires: the parser reads the same label as in full."""
    from selene_eval.prompts.parser import result_line_complete

    answers = [
        "**Reasoning:** good\n\n**Result:** 4\nThe response could mention the dose.",
        "**Reasoning:** good\n\n**Result:** 4 or 5\nHard to say.",
        "**Reasoning:** good\n\n**Result:** Yes, with no errors\n\nAll in all a fine answer.",
        "**Reasoning:** good\n\n**Result:**\n\n**No**\n\nDone.",
        "**Reasoning:** good\n\n**Result:** Score 5 out of 5.\n",
        "No marker at all\nand several lines\n",
    ]
    for answer in answers:
        for task in (TaskType.ABSOLUTE, TaskType.BINARY):
            cut = next((answer[:i] for i in range(1, len(answer) + 1) if result_line_complete(answer[:i])), answer)
            short, full = parse_judgment(cut, task), parse_judgment(answer, task)
            assert (short.label, short.status) == (full.label, full.status), (answer, cut)


@pytest.mark.model
@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("**Reasoning:** The response is adequate\n\n**Result:** Yes.\nIt should have said more", "yes"),
        ("**Reasoning:** The response is adequate\n\n**Result:** Yes or No:\nIt should have said more", None),
    ],
)
def test_early_stopping_gives_the_label_of_the_full_budget_under_greedy_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, label: str | None
) -> None:
    """A model that goes on after its result line: stopped there, it gives the label of the whole answer
    (``Yes or No`` stays ambiguous: stopping at the end of the word ``Yes`` would have read ``yes``)."""
    from selene_eval.judge import transformers_backend

    backend = load(scripted_model(tmp_path / "chatty", answer), max_new_tokens=40)
    try:
        prompts = PROMPTS[:2]
        (stopped, stopped_b) = backend.generate(prompts, [YES_NO, YES_NO])
        monkeypatch.setattr(transformers_backend, "result_line_complete", lambda text: False)
        (full, full_b) = backend.generate(prompts, [YES_NO, YES_NO])
    finally:
        backend.close()
    assert full.text == answer and full.finish_reason == "stop"  # the model's own end token, after the extra line
    assert stopped.text == answer.removesuffix("It should have said more")  # cut after the result line ended
    assert stopped.finish_reason == "stop" and (stopped.n_new_tokens or 0) < (full.n_new_tokens or 0)
    assert (
        parse_judgment(stopped.text, TaskType.BINARY).label == parse_judgment(full.text, TaskType.BINARY).label == label
    )
    # The second prompt (another length, so left-padded in the batch) gets the same answers.
    assert replace(stopped_b, n_prompt_tokens=None) == replace(stopped, n_prompt_tokens=None)
    assert replace(full_b, n_prompt_tokens=None) == replace(full, n_prompt_tokens=None)
    # Probabilities are read at the label's step whether or not the answer was cut short.
    assert stopped.label_probs == full.label_probs and stopped.label_probs is not None


# ---------------------------------------------------------------------------------------------------
# Label probabilities and fast mode
# ---------------------------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize(("answer_label", "choices"), [("3", SCORES), ("Yes", YES_NO), ("No", YES_NO), ("B", A_B)])
def test_label_probabilities_and_fast_mode_agree_with_the_generated_label(
    tmp_path: Path, answer_label: str, choices: LabelChoices
) -> None:
    from selene_eval.testing import build_tiny_model

    model = build_tiny_model(tmp_path / answer_label, answer_label=answer_label)
    reasoned, fast = load(model, max_new_tokens=32), load(model, mode="fast")
    try:
        reasoned_answers = reasoned.generate(PROMPTS, [choices] * 3)
        fast_answers = fast.generate(PROMPTS, [choices] * 3)
    finally:
        reasoned.close()
        fast.close()
    task = task_of(choices)
    for generated, scored in zip(reasoned_answers, fast_answers, strict=True):
        label = parse_judgment(generated.text, task).label
        assert label is not None and label.casefold() == answer_label.casefold()
        for probs in (generated.label_probs, scored.label_probs):
            assert probs is not None and tuple(probs) == choices.labels
            assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9) and all(0 <= p <= 1 for p in probs.values())
            assert argmax(probs) == label and probs[label] > 0.99
        assert scored.text == f"**Result:** {answer_label}" and parse_judgment(scored.text, task).label == label
        assert (scored.finish_reason, scored.n_new_tokens, scored.error) == ("stop", 0, None)
        assert scored.n_prompt_tokens is not None and scored.n_prompt_tokens > (generated.n_prompt_tokens or 0)


@pytest.mark.model
def test_fast_mode_on_random_weights_takes_the_most_probable_label_alone_or_in_a_batch(tiny_random: Path) -> None:
    backend = load(tiny_random, mode="fast")
    try:
        choices = [SCORES, YES_NO, A_B]
        batch = backend.generate(PROMPTS, choices)
        alone = [backend.generate([prompt], [choice])[0] for prompt, choice in zip(PROMPTS, choices, strict=True)]
    finally:
        backend.close()
    for together, single, choice in zip(batch, alone, choices, strict=True):
        assert together.label_probs is not None and single.label_probs is not None
        assert math.isclose(sum(together.label_probs.values()), 1.0, abs_tol=1e-9)
        label = parse_judgment(together.text, task_of(choice)).label
        assert label == argmax(together.label_probs)
        # Left padding with position ids from the mask: the same distribution as the prompt alone.
        assert together.text == single.text
        for name, p in together.label_probs.items():
            assert math.isclose(p, single.label_probs[name], rel_tol=1e-4, abs_tol=1e-6)


@pytest.mark.model
def test_no_result_marker_means_no_label_probabilities(tiny_random: Path) -> None:
    backend = load(tiny_random, max_new_tokens=16)
    try:
        answers = backend.generate(PROMPTS, [SCORES, YES_NO, A_B])
    finally:
        backend.close()
    for answer in answers:
        assert "Result" not in answer.text and answer.label_probs is None


@pytest.mark.model
def test_fast_mode_without_label_choices_fails_per_prompt(tiny_random: Path) -> None:
    backend = load(tiny_random, mode="fast")
    try:
        failed, scored = backend.generate(PROMPTS[:2], [None, YES_NO])
    finally:
        backend.close()
    assert failed.finish_reason == "error" and "label choices" in (failed.error or "")
    assert scored.finish_reason == "stop" and scored.label_probs is not None


@pytest.mark.model
def test_answer_word_aliases_count_for_their_label(tmp_path: Path) -> None:
    from selene_eval.testing import build_tiny_model

    choices = label_choices(TaskType.BINARY, {"correct": "yes", "wrong": "no"})
    model = build_tiny_model(tmp_path / "correct", answer_label="correct")
    reasoned, fast = load(model, max_new_tokens=32), load(model, mode="fast")
    try:
        (generated,) = reasoned.generate(PROMPTS[1:2], [choices])
        (scored,) = fast.generate(PROMPTS[1:2], [choices])
    finally:
        reasoned.close()
        fast.close()
    assert parse_judgment(generated.text, TaskType.BINARY, {"correct": "yes", "wrong": "no"}).label == "yes"
    assert generated.label_probs is not None and generated.label_probs["yes"] > 0.99
    assert scored.label_probs is not None and scored.label_probs["yes"] > 0.99
    assert scored.text == "**Result:** Yes"  # fast mode writes the label's first word, which every parser reads


def test_label_candidates_follow_the_tokenizer(tiny_five: Path) -> None:
    """Digits are split from their space (the shared prefix), words carry it; shared tokens split their mass."""
    from transformers import AutoTokenizer

    from selene_eval.judge.transformers_backend import label_candidates

    tokenizer = AutoTokenizer.from_pretrained(tiny_five)
    space = tokenizer.convert_tokens_to_ids("Ġ")
    scores = label_candidates(tokenizer, "\n\n**Result:**", SCORES)
    assert scores is not None and scores.prefix == (space,) and len(scores.tokens) == 5
    assert tokenizer.convert_ids_to_tokens(list(scores.tokens)) == ["1", "2", "3", "4", "5"]
    yes_no = label_candidates(tokenizer, "\n\n**Result:**", YES_NO)
    assert yes_no is not None and yes_no.prefix == ()
    assert tokenizer.convert_ids_to_tokens(list(yes_no.tokens)) == ["ĠYes", "ĠNo"]
    # The tiny vocabulary writes " Pass" and " Fail" as "Ġ" + letters: at the one position read, both are
    # "Ġ", so its probability is split between yes and no (the documented rule); the sum stays 1.
    aliased = label_candidates(
        tokenizer, "\n\n**Result:**", label_choices(TaskType.BINARY, {"Pass": "yes", "Fail": "no"})
    )
    assert aliased is not None and aliased.labels == (("yes",), ("no",), ("yes", "no"))
    probs = aliased.probabilities([0.0, 0.0, math.log(2.0)])  # weights 1, 1, 2 -> yes 1 + 1, no 1 + 1
    assert probs == pytest.approx({"yes": 0.5, "no": 0.5})
    probs = aliased.probabilities([math.log(3.0), 0.0, 0.0])  # weights 3, 1, 1 -> yes 3.5, no 1.5
    assert probs == pytest.approx({"yes": 0.7, "no": 0.3})


# ---------------------------------------------------------------------------------------------------
# Through the runner: stored probabilities, caching
# ---------------------------------------------------------------------------------------------------


def make_study(studies_dir: Path, n: int = 6):
    return build_study(
        studies_dir,
        n,
        slug="speed",
        title="speed",
        experts=("e1",),
        response=lambda i: "An answer " + "with detail " * i,
        labels=lambda i: {"e1": "yes" if i % 2 else "no"},
    )


@pytest.mark.model
@pytest.mark.parametrize("mode", ["reasoned", "fast"])
def test_the_runner_stores_label_probabilities_and_a_rerun_does_no_model_work(
    studies_dir: Path, tmp_path: Path, mode: str
) -> None:
    from selene_eval.testing import build_tiny_model

    backend = load(build_tiny_model(tmp_path / "yes", answer_label="Yes"), mode=mode, max_new_tokens=32)
    calls: list[int] = []
    real_generate = backend.generate

    def counting(prompts, choices=None):  # noqa: ANN001, ANN202 (the backend's own signature)
        calls.append(len(prompts))
        return real_generate(prompts, choices)

    backend.generate = counting  # type: ignore[method-assign]
    study = make_study(studies_dir)
    try:
        plan = plan_run(study, backend.spec)
        first = run_study(study, backend, plan=plan, batch_size=4)
        stored = study.judgments.get(p.cache_key for p in plan.pending)
        again = run_study(study, backend, batch_size=4)
    finally:
        backend.close()
        study.close()
    assert (first.n_judged, first.n_failed, sum(calls)) == (6, 0, 6)
    assert len(stored) == 6
    for judgment in stored.values():
        assert judgment.label == "yes" and judgment.label_probs is not None
        assert set(judgment.label_probs) == {"yes", "no"} and judgment.label_probs["yes"] > 0.99
        assert (judgment.n_new_tokens == 0) == (mode == "fast")
    assert (again.n_cached, again.n_judged) == (6, 0) and sum(calls) == 6  # the re-run never called the model


def test_the_scripted_judge_in_fast_mode_answers_only_the_result_line() -> None:
    script = "**Reasoning:** Looks right.\n\n**Result:** Yes"
    fast = ScriptedBackend(JudgeSpec(backend="scripted", model="s", mode="fast"), script=script)
    reasoned = ScriptedBackend(JudgeSpec(backend="scripted", model="s"), script=script)
    prompt = [[Message("user", "Is it correct?")]]
    assert fast.generate(prompt)[0].text == "**Result:** Yes"
    assert reasoned.generate(prompt)[0].text == script
    broken = ScriptedBackend(JudgeSpec(backend="scripted", model="s", mode="fast"), script="no marker")
    assert broken.generate(prompt)[0].text == "no marker"


@pytest.mark.model
def test_fast_mode_halves_the_batch_on_out_of_memory(tiny_random: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    backend = load(tiny_random, mode="fast")
    try:
        choices = [SCORES, YES_NO, A_B]
        expected = [backend.generate([p], [c])[0] for p, c in zip(PROMPTS, choices, strict=True)]
        real_batch = backend._score_batch  # type: ignore[attr-defined]
        sizes: list[int] = []

        def tight_memory(batch):  # noqa: ANN001, ANN202 (mirrors the private method)
            sizes.append(len(batch))
            if len(batch) > 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return real_batch(batch)

        monkeypatch.setattr(backend, "_score_batch", tight_memory)
        answers = backend.generate(PROMPTS, choices)
    finally:
        backend.close()
    assert [a.text for a in answers] == [e.text for e in expected] and sizes[0] == 3 and sizes.count(1) == 3


def test_line_break_tokens_are_found_in_the_vocabulary(tiny_five: Path) -> None:
    from transformers import AutoTokenizer

    from selene_eval.judge.transformers_backend import _newline_token_ids

    tokenizer = AutoTokenizer.from_pretrained(tiny_five)
    found = _newline_token_ids(tokenizer)
    # Byte-level "Ċ" tokens and the tiny model's added "\n\n**Result:**" token; never a plain word.
    assert tokenizer.convert_tokens_to_ids("Ċ") in found and tokenizer.convert_tokens_to_ids("\n\n**Result:**") in found
    assert tokenizer.convert_tokens_to_ids("ĠYes") not in found
    every_break = {i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])}
    assert every_break <= found


def test_fast_mode_is_a_judge_of_its_own_and_its_prefill_is_in_the_key() -> None:
    from selene_eval.core.judge_spec import JudgeSpec, fast_mode_prefill

    reasoned = JudgeSpec(model="m")
    fast = reasoned.model_copy(update={"mode": "fast"})
    assert "mode" not in reasoned.identity()  # judges stored before modes existed keep their ids
    assert fast.identity()["prefill"] == fast_mode_prefill() and fast.judge_id != reasoned.judge_id
