"""Test-only builders: tiny models that stand in for Selene Mini. The product never imports this package.

* :func:`build_tiny_model` writes a tiny Llama-3.1-style model (config, safetensors weights, byte-level BPE
  tokenizer with Llama-3.1's special tokens and chat template) that loads offline through the same
  ``AutoModelForCausalLM``/``AutoTokenizer`` path as Selene Mini, 4-bit included. With ``answer_label`` its
  weights are set by hand so that greedy decoding always answers in Selene's output contract.
  :func:`build_tiny_gguf` writes the same model as one GGUF file, for the GGUF loading path.

The scripted judge (no model) and the offline demo judge are product code: :mod:`selene_eval.judge.scripted`
and :mod:`selene_eval.judge.demo`. :mod:`selene_eval.testing.browser` drives the dashboard in Chromium and
:mod:`selene_eval.testing.server` stands in for an OpenAI-compatible server.

Command line: ``python -m selene_eval.testing tiny-model DIR [--answer-label L] [--seed N] [--gguf]``.

Importing this module is cheap (no torch, no transformers); the builders import them when called.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, PreTrainedModel

# ---------------------------------------------------------------------------------------------------
# The tiny Llama-3.1-style model
# ---------------------------------------------------------------------------------------------------

#: Llama-3.1's first special tokens, in Llama's order (its ids 128000-128010 become ours after the BPE vocab).
LLAMA31_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
)
BOS_TOKEN = "<|begin_of_text|>"
EOT_TOKEN = "<|eot_id|>"

#: Llama-3's pre-tokenizer pattern. Unlike GPT-2's it splits digits from a leading space, so the label in
#: ``**Result:** 5`` is the two tokens ``Ġ`` and ``5``, as in Selene Mini itself (``Yes`` stays ``ĠYes``).
LLAMA3_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)

#: Whole-phrase tokens of the output contract. The scripted model is a bigram model, so every token of its
#: answer must be distinct; without these, ``**`` and ``:**`` would occur twice in the answer.
CONTRACT_TOKENS: tuple[str, ...] = ("**Reasoning:**", "\n\n**Result:**")

#: The reasoning the scripted tiny model gives before its label.
TINY_REASONING = "The response is adequate."

#: A Llama-3.1-style chat template: every message (system ones too) is
#: ``<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>`` after one ``<|begin_of_text|>``.
#: Unlike Meta's template it neither trims the content nor adds a dated system message: the tiny model only
#: needs the same token structure, and an untouched content keeps byte-for-byte tests simple.
TINY_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

TINY_VOCAB_SIZE = 1024
"""Target vocabulary size, special and contract tokens included (the corpus may yield a little less)."""

# The tokenizer's training text: everyday, medical and financial English and Selene's prompt and answer
# wording, so that judge prompts tokenize into roughly one token per three characters and fit the context.
_TINY_CORPUS: tuple[str, ...] = (
    "You are judging how good a response to an instruction is. Read the instruction and the response, then "
    "give written feedback that assesses the response strictly against the score rubric below, followed by a "
    "score that is an integer from 1 to 5. Reply with the feedback and the score only, without any other "
    "opening, closing or explanation.",
    "You are judging whether a response to an instruction meets a criterion. Give a verdict of Yes or No.",
    "You are comparing two responses to the same instruction and deciding which one is better: A or B.",
    "Here are some rules of the evaluation:\n(1) Judge the response only by the standard the rubric sets.\n"
    "(2) Use the reference answer as a guide to what a correct response contains.\n(3) The order of the "
    "responses must not influence you.\n(4) The length of a response must not influence you.",
    "Your reply should strictly follow this format:\n**Reasoning:** <your feedback>\n\n"
    "**Result:** <an integer between 1 and 5>",
    "Your reply must strictly follow this format:\n**Reasoning:** <your feedback>\n\n**Result:** <Yes or No>",
    "Here is the data:\n\nInstruction:\n```\nWhat is the capital of France?\n```\n\nResponse:\n```\n"
    "The capital of France is Paris.\n```\n\nResponse A:\n```\nParis.\n```\n\nResponse B:\n```\nLyon.\n```",
    "Score Rubrics:\n[Is the answer correct and complete?]\nScore 1: The answer is wrong.\nScore 2: The answer "
    "is mostly wrong.\nScore 3: The answer is partly correct.\nScore 4: The answer is correct with minor gaps."
    "\nScore 5: The answer is correct and complete.\nYes: The answer is correct.\nNo: The answer is not correct.",
    "Reference answer:\nThe reference response is a guide, not a text to copy.",
    "**Reasoning:** The response is adequate.\n\n**Result:** 5",
    "**Reasoning:** The response is accurate and complete.\n\n**Result:** Yes",
    "**Reasoning:** The response misses the main point.\n\n**Result:** No",
    "**Reasoning:** Response A answers the question; Response B does not.\n\n**Result:** A",
    "**Reasoning:** Response B is more helpful and detailed.\n\n**Result:** B",
    "Scores: 1, 2, 3, 4, 5. Results: Yes or No, A or B, yes, no, true, false.",
    "The patient has a fever, a cough and shortness of breath. The doctor should check the oxygen level, "
    "order a chest X-ray and consider pneumonia. Antibiotics treat bacterial infections, not viral ones.",
    "Hypertension is high blood pressure. Treatment includes diet, exercise and medication such as ACE "
    "inhibitors. Diabetes affects blood sugar; insulin and metformin are common treatments.",
    "Is it safe to take ibuprofen with aspirin? Ask a pharmacist or physician before combining medicines. "
    "The clinical guideline recommends a dose of 400 mg every 6 hours for adults, with food.",
    "The company reported revenue of $4.2 billion for fiscal year 2023, up 12% from the previous year. "
    "Operating margin was 11.8% and net income was $310 million. Earnings per share rose to $2.45.",
    "The bank's capital ratio, debt, cash flow, dividend and share price are in the annual report. "
    "Interest rates, inflation and the market affect the stock. Assets, liabilities and equity balance.",
    "The quick brown fox jumps over the lazy dog. This is a question about the answer to a simple task. "
    "Please explain why the response is helpful, harmless and honest, and what it should have said.",
    "The answer is correct. The answer is wrong. The answer is incomplete. The response is clear, "
    "relevant, accurate, detailed and well organized. It does not follow the instruction.",
)


def _train_tiny_tokenizer() -> Tokenizer:
    """Train a byte-level BPE with Llama-3's splitting on the built-in corpus (deterministic, milliseconds)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE - len(LLAMA31_SPECIAL_TOKENS) - len(CONTRACT_TOKENS),
        # Every byte is in the vocabulary, so any text (accents, emoji, CJK) is encodable.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_TINY_CORPUS, trainer)
    tokenizer.add_tokens([AddedToken(text, normalized=False) for text in CONTRACT_TOKENS])
    tokenizer.add_special_tokens([AddedToken(text, normalized=False, special=True) for text in LLAMA31_SPECIAL_TOKENS])
    bos_id = tokenizer.token_to_id(BOS_TOKEN)
    # Like Llama 3, encoding with special tokens prepends BOS; the chat template writes BOS too, so callers
    # must tokenize templated text with add_special_tokens=False (the backend tests check for a doubled BOS).
    tokenizer.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A {BOS_TOKEN} $B", special_tokens=[(BOS_TOKEN, bos_id)]
            ),
        ]
    )
    return tokenizer


LLAMA31_ROPE: dict[str, object] = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}
"""Llama 3.1's RoPE scaling (as in its config.json), for the tiny model and bench/gpu.py's 8B shapes."""

TINY_LLAMA_SHAPES: dict[str, int] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
}
"""The tiny model's shapes besides its vocabulary (bench/gpu.py's ``--cpu-dry-run`` uses them too)."""


def llama31_config(shapes: Mapping[str, int | bool], *, bos_token_id: int, eos_token_id: int) -> LlamaConfig:
    """A transformers ``LlamaConfig`` of ``shapes`` with Llama 3.1's RoPE scaling and RMSNorm epsilon.

    ``shapes`` holds ``LlamaConfig``'s size fields: ``vocab_size``, ``hidden_size``, ``intermediate_size``,
    ``num_hidden_layers``, ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``, and optionally
    ``max_position_embeddings`` and ``tie_word_embeddings`` (Llama 3.1's 131,072 and ``False`` otherwise).
    No download: the tiny test model and bench/gpu.py's Llama-3.1-8B-sized model both start from it, so the
    two differ only in their shapes. Imports transformers when called (not when this module is imported).
    """
    from transformers import LlamaConfig

    return LlamaConfig(
        **{"max_position_embeddings": 131072, "tie_word_embeddings": False, **shapes},
        rope_parameters=dict(LLAMA31_ROPE),
        rms_norm_eps=1e-5,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
    )


def build_tiny_model(directory: str | Path, *, answer_label: str | None = None, seed: int = 0) -> Path:
    """Write a tiny Llama-3.1-style model and tokenizer to ``directory`` and return its path.

    The folder loads offline with ``AutoModelForCausalLM.from_pretrained(directory)`` and
    ``AutoTokenizer.from_pretrained(directory)``: 2 layers, hidden size 64, grouped-query attention, Llama
    3.1's RoPE scaling and 128k context, untied output head, a ~1k-token byte-level BPE vocabulary with
    Llama-3.1's special tokens and a Llama-3.1-style chat template. Its ``generation_config.json`` copies
    Llama-3.1-Instruct's (sampling at temperature 0.6, three end tokens) so that callers must override it
    to decode greedily, as they must for Selene Mini.

    Without ``answer_label`` the weights are random (seeded by ``seed``). With it (e.g. ``"5"``, ``"Yes"``,
    ``"A"``), greedy decoding answers every prompt with
    ``**Reasoning:** The response is adequate.\\n\\n**Result:** <answer_label>`` and then ``<|eot_id|>``,
    with margins large enough to survive 4-bit NF4 quantization. Any label works, including ones the parser
    must reject (``"2.5"``, ``"Maybe"``); one that shares a token with the rest of the answer becomes a
    token of its own. Raises ``ValueError`` for an empty label or one with surrounding whitespace.
    """
    directory = Path(directory)
    hidden_size = TINY_LLAMA_SHAPES["hidden_size"]
    raw_tokenizer = _train_tiny_tokenizer()
    # Before the config (scripting a label may add a token) and before importing torch (a bad label fails fast).
    chain = _answer_chain(raw_tokenizer, answer_label, hidden_size) if answer_label is not None else None

    import torch
    from transformers import GenerationConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw_tokenizer,
        bos_token=BOS_TOKEN,
        eos_token=EOT_TOKEN,
        chat_template=TINY_CHAT_TEMPLATE,
        model_max_length=131072,
    )
    ids = {text: raw_tokenizer.token_to_id(text) for text in LLAMA31_SPECIAL_TOKENS}
    config = llama31_config(
        {"vocab_size": raw_tokenizer.get_vocab_size(), **TINY_LLAMA_SHAPES},
        bos_token_id=ids[BOS_TOKEN],
        eos_token_id=ids[EOT_TOKEN],
    )
    with torch.random.fork_rng(devices=[]):  # seed the weights without touching the caller's RNG state
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    if chain is not None:
        _script_weights(model, chain, seed)
    model.generation_config = GenerationConfig(
        bos_token_id=ids[BOS_TOKEN],
        eos_token_id=[ids["<|end_of_text|>"], ids["<|eom_id|>"], ids[EOT_TOKEN]],
        pad_token_id=ids["<|finetune_right_pad_id|>"],
        do_sample=True,
        temperature=0.6,
        top_p=0.9,
    )
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


TINY_GGUF_NAME = "tiny-llama.gguf"

# transformers' Llama parameter names -> llama.cpp's GGUF tensor names ({i}: the layer).
_GGUF_TENSOR_NAMES: dict[str, str] = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{i}.input_layernorm.weight": "blk.{i}.attn_norm.weight",
    "model.layers.{i}.self_attn.q_proj.weight": "blk.{i}.attn_q.weight",
    "model.layers.{i}.self_attn.k_proj.weight": "blk.{i}.attn_k.weight",
    "model.layers.{i}.self_attn.v_proj.weight": "blk.{i}.attn_v.weight",
    "model.layers.{i}.self_attn.o_proj.weight": "blk.{i}.attn_output.weight",
    "model.layers.{i}.post_attention_layernorm.weight": "blk.{i}.ffn_norm.weight",
    "model.layers.{i}.mlp.gate_proj.weight": "blk.{i}.ffn_gate.weight",
    "model.layers.{i}.mlp.up_proj.weight": "blk.{i}.ffn_up.weight",
    "model.layers.{i}.mlp.down_proj.weight": "blk.{i}.ffn_down.weight",
}


def build_tiny_gguf(directory: str | Path, *, answer_label: str | None = None, seed: int = 0) -> Path:
    """Write :func:`build_tiny_model`'s model as one GGUF file in ``directory`` and return the file's path.

    The GGUF path of the backend (the demo judge's) in milliseconds instead of SmolLM2's ~20 s: float32
    tensors, the BPE vocabulary and merges as a ``gpt2``-type GGUF tokenizer with Llama 3's pre-tokenizer
    (``llama-bpe``), the chat template, and the same weights (so ``answer_label`` works the same). Llama
    3.1's RoPE scaling is not carried over (it only matters past 8k tokens). Load it with
    ``JudgeSpec(model=str(path.parent), gguf_file=path.name)``. Needs the ``gguf`` package.
    """
    import tempfile

    import gguf
    from safetensors.numpy import load_file

    with tempfile.TemporaryDirectory() as tmp:
        source = build_tiny_model(tmp, answer_label=answer_label, seed=seed)
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
        chat_template = (source / "chat_template.jinja").read_text(encoding="utf-8")
        tensors = load_file(source / "model.safetensors")

    path = Path(directory) / TINY_GGUF_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_rope_dimension_count(config["head_dim"])
    writer.add_rope_freq_base(config["rope_parameters"]["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])

    added = {token["id"]: token for token in tokenizer["added_tokens"]}
    pieces = {**tokenizer["model"]["vocab"], **{token["content"]: token["id"] for token in added.values()}}
    token_list = sorted(pieces, key=pieces.__getitem__)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list(token_list)
    writer.add_token_types(
        [
            gguf.TokenType.NORMAL
            if i not in added
            else gguf.TokenType.CONTROL
            if added[i]["special"]
            else gguf.TokenType.USER_DEFINED
            for i in range(len(token_list))
        ]
    )
    writer.add_token_merges(
        [merge if isinstance(merge, str) else " ".join(merge) for merge in tokenizer["model"]["merges"]]
    )
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_chat_template(chat_template)

    for i in range(config["num_hidden_layers"]):
        for hf_name, gguf_name in _GGUF_TENSOR_NAMES.items():
            if "{i}" not in hf_name and i:
                continue
            tensor = tensors[hf_name.format(i=i)]
            # llama.cpp stores q/k rows permuted for its rotary layout; transformers undoes that on load.
            if hf_name.endswith("q_proj.weight"):
                tensor = _permute_for_llama_cpp(tensor, config["num_attention_heads"])
            elif hf_name.endswith("k_proj.weight"):
                tensor = _permute_for_llama_cpp(tensor, config["num_key_value_heads"])
            writer.add_tensor(gguf_name.format(i=i), tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _permute_for_llama_cpp(weight: Any, n_heads: int) -> Any:
    """llama.cpp's ``permute`` from its HF converter: each head's two rotary halves interleaved."""
    return (
        weight.reshape(n_heads, 2, weight.shape[0] // n_heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def _answer_chain(tokenizer: Tokenizer, answer_label: str, max_length: int) -> list[int]:
    """Token ids the scripted model walks through: the generation prompt's last token, the answer, ``<|eot_id|>``.

    A bigram model needs every token of the chain to be distinct (and, for orthonormal embeddings, at most
    ``max_length`` of them). When the label breaks that (``2.5`` repeats the ``.`` of the reasoning), the
    label with its leading space becomes one added token of this model's tokenizer.
    """
    if not answer_label or answer_label != answer_label.strip():
        raise ValueError(f"answer_label must be a non-empty label without surrounding spaces, got {answer_label!r}")
    from tokenizers import AddedToken

    answer = f"**Reasoning:** {TINY_REASONING}\n\n**Result:** {answer_label}"
    generation_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n"
    start_id = tokenizer.encode(generation_prompt, add_special_tokens=False).ids[-1]

    def chain() -> list[int]:
        return [start_id, *tokenizer.encode(answer, add_special_tokens=False).ids, tokenizer.token_to_id(EOT_TOKEN)]

    ids = chain()
    if len(set(ids)) != len(ids) or len(ids) > max_length:
        tokenizer.add_tokens([AddedToken(f" {answer_label}", normalized=False)])
        ids = chain()
    if len(set(ids)) != len(ids) or tokenizer.decode(ids[1:-1], skip_special_tokens=False) != answer:
        raise ValueError(f"answer_label {answer_label!r} cannot be scripted: it does not tokenize apart from the rest")
    return ids


def _script_weights(model: PreTrainedModel, chain: list[int], seed: int) -> None:
    """Turn ``model`` into a bigram model whose greedy continuation of any chat prompt walks ``chain``.

    With every layer's ``o_proj`` and ``down_proj`` zero, no layer writes to the residual stream, so the
    final hidden state at a position is that token's embedding (after the final RMSNorm). The output head
    then reads the current token only. Every prompt ends with the generation prompt's last token
    (``\n\n`` after ``<|end_header_id|>``), ``chain[0]``. Chain tokens get orthonormal embeddings and
    ``lm_head[next] = SCALE * direction[current]``, so the next chain token's logit is ``SCALE * sqrt(hidden)``
    (= 32) while every other logit is exactly 0: a margin that 4-bit quantization (which leaves the
    embeddings and the output head alone, and keeps zero weights zero) cannot flip.
    """
    _script_bigrams(model, chain, dict(zip(chain, chain[1:])), seed)


def _script_bigrams(model: PreTrainedModel, tokens: Sequence[int], following: Mapping[int, int], seed: int) -> None:
    """:func:`_script_weights` for any bigram table: after token ``t`` (one of ``tokens``, all distinct), greedy
    decoding writes ``following[t]``."""
    import torch

    scale = 4.0
    hidden = model.config.hidden_size
    position_of = {token: position for position, token in enumerate(tokens)}
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.norm.weight.fill_(1.0)
        # QR of a random matrix: orthonormal columns, one direction per scripted token.
        directions, _ = torch.linalg.qr(torch.randn(hidden, len(tokens), generator=generator))
        model.model.embed_tokens.weight[list(tokens)] = directions.T * math.sqrt(
            hidden
        )  # unit RMS, like a normalised state
        head = model.lm_head.weight
        head.zero_()
        for token, after in following.items():
            head[after] += scale * directions[:, position_of[token]]


TINY_RAMBLE = "It is correct on every point that matters."
"""What :func:`build_tiny_rambler`'s model writes (13 distinct tokens of the tiny vocabulary, with the space)."""


def build_tiny_rambler(directory: str | Path, *, loop: bool, forced_answer: str = "Yes", seed: int = 0) -> Path:
    """A tiny model (as :func:`build_tiny_model`) that never writes a result line, for the forcing tests.

    Greedy decoding answers every prompt with :data:`TINY_RAMBLE` and then ends (``loop=False``), or writes
    it again and again, ``"It is correct ... matters. It is correct ..."`` (``loop=True``) until something
    stops it. After the result marker token (``\n\n**Result:**``) its most probable next token is
    ``" " + forced_answer`` (one token of the tiny vocabulary: ``Yes``, ``No``, ``A``, ``B``), so a forced
    verdict reads ``forced_answer``. Same bigram scripting as ``answer_label`` (see :func:`_script_weights`).
    """
    from transformers import AutoTokenizer, LlamaForCausalLM

    directory = build_tiny_model(directory, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    start = encode("<|start_header_id|>assistant<|end_header_id|>\n\n")[-1]
    ramble = encode(TINY_RAMBLE + (" " if loop else ""))
    marker = encode("\n\n**Result:**")
    answer = encode("\n\n**Result:** " + forced_answer)[len(marker) :]
    if len(marker) != 1 or len(answer) != 1 or len(set(ramble)) != len(ramble):
        raise ValueError(f"forced_answer {forced_answer!r} is not one token after the marker in the tiny vocabulary")
    after = ramble[0] if loop else tokenizer.convert_tokens_to_ids(EOT_TOKEN)
    chain = [start, *ramble]
    transitions = {**dict(zip(chain, chain[1:])), chain[-1]: after, marker[0]: answer[0]}
    model = LlamaForCausalLM.from_pretrained(directory)
    _script_bigrams(model, list(transitions), transitions, seed)
    model.save_pretrained(directory)
    return directory


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m selene_eval.testing tiny-model DIR [--answer-label L] [--seed N] [--gguf]``: write a tiny model."""
    parser = argparse.ArgumentParser(prog="python -m selene_eval.testing", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tiny = commands.add_parser("tiny-model", help="write a tiny Llama-3.1-style model folder (for tests and demos)")
    tiny.add_argument("directory", type=Path, help="folder to write (created if missing)")
    tiny.add_argument("--answer-label", help="script the model to always answer with this label (e.g. 5, Yes, A)")
    tiny.add_argument("--seed", type=int, default=0, help="random seed for the weights (default: 0)")
    tiny.add_argument("--gguf", action="store_true", help=f"write one GGUF file ({TINY_GGUF_NAME}) instead")
    args = parser.parse_args(argv)
    build = build_tiny_gguf if args.gguf else build_tiny_model
    try:
        path = build(args.directory, answer_label=args.answer_label, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path.resolve())
    return 0
