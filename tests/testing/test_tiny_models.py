"""The tiny Llama builder of :mod:`selene_eval.testing` and its command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.judge import create_backend
from selene_eval.testing import LLAMA31_SPECIAL_TOKENS, build_tiny_model

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------------
# The tiny model
# ---------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_tiny_model_loads_offline_as_a_llama_31(tiny_random: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    tokenizer = AutoTokenizer.from_pretrained(tiny_random, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_random, local_files_only=True)
    assert (tiny_random / "model.safetensors").is_file()
    config = model.config
    assert (config.model_type, config.num_hidden_layers, config.hidden_size, config.num_key_value_heads) == (
        "llama",
        2,
        64,
        2,
    )
    assert config.rope_parameters["rope_type"] == "llama3" and config.max_position_embeddings >= 8192
    assert not config.tie_word_embeddings
    assert config.vocab_size == len(tokenizer) and 900 <= len(tokenizer) <= 1024
    for token in LLAMA31_SPECIAL_TOKENS:
        assert tokenizer.convert_tokens_to_ids(token) != tokenizer.unk_token_id
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<|begin_of_text|>", "<|eot_id|>", None)
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    # Like Llama-3.1-Instruct: three end tokens and sampling defaults that a judge must override.
    assert eot in model.generation_config.eos_token_id and model.generation_config.do_sample is True
    assert model.generation_config.pad_token_id is not None


def test_tiny_tokenizer_encodes_every_byte_and_splits_digits_like_llama_3(tiny_random: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_random)
    text = "Café, naïve 😀 中文\t\r\n**Result:** 5 — 3.14 µg"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    # Llama 3 keeps the space apart from a digit but glued to a word: "Ġ" + "5", and "ĠYes".
    assert tokenizer.tokenize(" 5") == ["Ġ", "5"]
    assert tokenizer.tokenize(" Yes") == ["ĠYes"]
    # Encoding plain text with special tokens prepends BOS, as Llama 3's tokenizer does.
    assert tokenizer("Hi")["input_ids"][0] == tokenizer.bos_token_id


def test_tiny_chat_template_renders_llama_31_byte_for_byte(tiny_random: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_random)
    chat = [{"role": "system", "content": "Be fair."}, {"role": "user", "content": " Is 2+2=4?\n"}]
    rendered = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    assert rendered == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe fair.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n Is 2+2=4?\n<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    without_prompt = tokenizer.apply_chat_template(chat[1:], add_generation_prompt=False, tokenize=False)
    assert without_prompt == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n Is 2+2=4?\n<|eot_id|>"


def test_tiny_model_build_is_deterministic(tmp_path: Path) -> None:
    first = build_tiny_model(tmp_path / "a", answer_label="Yes", seed=3)
    second = build_tiny_model(tmp_path / "b", answer_label="Yes", seed=3)
    other_seed = build_tiny_model(tmp_path / "c", answer_label="Yes", seed=4)
    for name in ("model.safetensors", "tokenizer.json", "config.json", "chat_template.jinja"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "model.safetensors").read_bytes() != (other_seed / "model.safetensors").read_bytes()
    assert (first / "tokenizer.json").read_bytes() == (other_seed / "tokenizer.json").read_bytes()


@pytest.mark.parametrize("label", ["", " 5", "5\n"])
def test_tiny_model_refuses_labels_it_cannot_script(tmp_path: Path, label: str) -> None:
    with pytest.raises(ValueError, match="answer_label"):
        build_tiny_model(tmp_path / "bad", answer_label=label)


@pytest.mark.model
def test_command_line_writes_a_scripted_tiny_model(tmp_path: Path, contract: re.Pattern[str]) -> None:
    target = tmp_path / "cli-model"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "selene_eval.testing", "tiny-model", str(target), "--answer-label", "B", "--seed", "7"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target.resolve())
    assert (target / "config.json").is_file() and (target / "model.safetensors").is_file()
    backend = create_backend(JudgeSpec(model=str(target), quantization="none", max_new_tokens=32))
    try:
        (answer,) = backend.generate([[Message("user", "Which is better, A or B?")]])
    finally:
        backend.close()
    match = contract.match(answer.text)
    assert match is not None and match["label"] == "B"


@pytest.mark.model
def test_command_line_writes_a_gguf_file(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    from transformers import AutoTokenizer

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "selene_eval.testing", "tiny-model", str(tmp_path), "--gguf"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent == tmp_path.resolve() and path.suffix == ".gguf"
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False
    )
    assert (
        rendered == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_command_line_reports_a_bad_label(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "selene_eval.testing", "tiny-model", str(tmp_path / "x"), "--answer-label", " 5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2 and "answer_label" in done.stderr
