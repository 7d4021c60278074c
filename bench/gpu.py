"""Benchmark for a lent GPU: the judge at Selene Mini's real size, without downloading Selene Mini.

What it does, in one process:

1. Measures the card: memory bandwidth (a large device-to-device copy) and bf16 matrix throughput (a
   large square matmul), the two numbers the floors below divide by.
2. Builds a randomly initialised model with **Llama-3.1-8B's exact shapes** (:data:`LLAMA31_8B`; config
   only, no download), saves it with the tiny test tokenizer (its ids all fall inside Llama's 128,256-row
   embedding), and loads it in **4-bit NF4 through the product's own backend** (``TransformersBackend``,
   the same code path as Selene Mini).
3. Runs the judge benchmark of ``bench/judge.py`` on 256 prompts of about 700 tokens: (a) Atla's
   one-at-a-time loop with a 512-token budget (timed on a subset: at 512 steps per item the full 256 would
   take an hour; the loop's rate does not depend on how many items it sees), (b) the batched reasoned
   mode, (c) fast mode. Random weights never write a result line, so (b) runs the whole budget too: its
   gain over (a) is batching alone, the worst case for early stopping.
4. Reports items/s and generated tokens/s, and the gap to the floors: a decoding step cannot take less
   than the weight bytes over the memory bandwidth; a prompt pass cannot take less than its FLOPs over the
   matrix throughput (:func:`decode_step_floor_s`, :func:`prompt_flops`).
5. Writes the table into ``docs/PERFORMANCE.md`` (between the ``gpu-bench`` markers) with the card's name,
   and the numbers to ``bench/results/gpu.json``.

Run on a machine with a CUDA GPU and a CUDA build of torch: ``.venv/bin/python bench/gpu.py`` (about 10
minutes on an H100-class card; ``--items 64 --baseline-items 2`` for a shorter run). Without CUDA it
refuses with one line and exit code 2. ``--cpu-dry-run`` runs the whole pipeline on the CPU with tiny
shapes (to check the script, not to measure anything).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))
from selene_eval.testing import TINY_LLAMA_SHAPES, llama31_config  # noqa: E402  (after the path set-up)

RESULTS = BENCH / "results" / "gpu.json"
PERFORMANCE_DOC = BENCH.parent / "docs" / "PERFORMANCE.md"
START_MARK, END_MARK = "<!-- gpu-bench:start -->", "<!-- gpu-bench:end -->"
BUDGET = 512


@dataclass(frozen=True)
class LlamaShapes:
    """The shapes that set a Llama model's cost (and nothing else: no weights, no tokenizer)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    max_position_embeddings: int = 131072
    tie_word_embeddings: bool = False

    def parameter_count(self) -> int:
        """Parameters, from the shapes: embeddings, output head, attention, MLP and the RMSNorm weights."""
        h, kv = self.hidden_size, self.num_key_value_heads * self.head_dim
        q = self.num_attention_heads * self.head_dim
        attention = h * q + 2 * h * kv + q * h
        mlp = 3 * h * self.intermediate_size
        per_layer = attention + mlp + 2 * h
        embeddings = self.vocab_size * h * (1 if self.tie_word_embeddings else 2)
        return self.num_hidden_layers * per_layer + embeddings + h

    def linear_parameter_count(self) -> int:
        """Parameters inside the decoder layers' linear layers: what NF4 quantizes (embeddings and head stay)."""
        h, kv = self.hidden_size, self.num_key_value_heads * self.head_dim
        q = self.num_attention_heads * self.head_dim
        return self.num_hidden_layers * (h * q + 2 * h * kv + q * h + 3 * h * self.intermediate_size)


LLAMA31_8B = LlamaShapes(
    vocab_size=128256,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
)
"""Llama-3.1-8B (and so Selene Mini): 8,030,261,248 parameters."""

TINY_SHAPES = LlamaShapes(vocab_size=LLAMA31_8B.vocab_size, **TINY_LLAMA_SHAPES)
"""For ``--cpu-dry-run``: Llama's vocabulary, the test model's tiny everything else."""


def llama_config(shapes: LlamaShapes, bos_token_id: int, eos_token_id: int) -> object:
    """A transformers ``LlamaConfig`` with ``shapes`` and Llama 3.1's RoPE scaling (no download).

    The same building block as the tiny test model's (:func:`selene_eval.testing.llama31_config`).
    """
    return llama31_config(asdict(shapes), bos_token_id=bos_token_id, eos_token_id=eos_token_id)


# ---------------------------------------------------------------------------------------------------
# Floors (pure arithmetic)
# ---------------------------------------------------------------------------------------------------


def decode_step_floor_s(weight_bytes: float, bandwidth_bytes_per_s: float) -> float:
    """The least time one decoding step can take: every weight byte is read once per step.

    One step advances every row of a batch by one token, so the tokens/s floor of a batch of ``n`` rows is
    ``n`` over this. (KV-cache reads come on top; for 700-token prompts they are small next to 5.7 GB of
    weights at moderate batch sizes.)
    """
    if bandwidth_bytes_per_s <= 0:
        raise ValueError("the bandwidth must be positive")
    return weight_bytes / bandwidth_bytes_per_s


def prompt_flops(shapes: LlamaShapes, n_tokens: int) -> float:
    """Floating-point operations of one forward pass over a prompt of ``n_tokens`` (no cache).

    Two FLOPs per weight per token for every matmul (decoder linears and the output head: fast mode keeps
    only the last position's logits, so the head counts once), plus attention's two ``n x n`` products per
    layer (scores and weighted values, causal: half of the square).
    """
    linear = 2.0 * shapes.linear_parameter_count() * n_tokens
    head = 2.0 * shapes.vocab_size * shapes.hidden_size
    attention = (
        shapes.num_hidden_layers * 2 * 2.0 * shapes.num_attention_heads * shapes.head_dim * n_tokens * n_tokens / 2
    )
    return linear + head + attention


def prompt_floor_s(shapes: LlamaShapes, prompt_lengths: list[int], flops_per_s: float) -> float:
    """The least time the prompt passes of ``prompt_lengths`` can take at ``flops_per_s``."""
    if flops_per_s <= 0:
        raise ValueError("the matrix throughput must be positive")
    return sum(prompt_flops(shapes, n) for n in prompt_lengths) / flops_per_s


# ---------------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------------


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure_bandwidth(device: str, n_bytes: int = 2 << 30, repeats: int = 10) -> float:
    """Bytes per second of a device-to-device copy (each copy reads and writes ``n_bytes``)."""
    import torch

    source = torch.empty(n_bytes, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    target.copy_(source)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        target.copy_(source)
    _sync(device)
    return 2 * n_bytes * repeats / (time.perf_counter() - start)


def measure_matmul(device: str, n: int = 8192, repeats: int = 20) -> float:
    """bf16 FLOP/s of an ``n x n`` by ``n x n`` matmul (``2 n^3`` FLOPs each)."""
    import torch

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2.0 * n**3 * repeats / (time.perf_counter() - start)


def build_random_model(directory: Path, shapes: LlamaShapes, device: str) -> Path:
    """Save a randomly initialised Llama with ``shapes`` (bf16 on CUDA) and the tiny test tokenizer."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaForCausalLM

    from selene_eval.testing import EOT_TOKEN, build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_model(Path(tmp) / "tiny")
        tokenizer = AutoTokenizer.from_pretrained(tiny)
    config = llama_config(shapes, tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids(EOT_TOKEN))
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # initialise on the card: seconds instead of minutes on the CPU
            torch.manual_seed(0)
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.eos_token_id
    )
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return directory


# ---------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------


def prompts_of_length(root: Path, n_items: int, target_tokens: int, tokenizer: object) -> object:
    """A study (via ``bench/judge.py``'s builder) whose rendered prompts are about ``target_tokens`` long."""
    import judge as judge_bench

    from selene_eval.core.judge_spec import JudgeSpec
    from selene_eval.run.runner import plan_run

    probe = judge_bench.make_study(root, "probe", 1)
    plan = plan_run(probe, JudgeSpec(backend="scripted", model="probe"))
    messages = [{"role": m.role, "content": m.content} for m in plan.pending[0].prompt.messages]
    base = len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"])
    probe.close()
    filler = "The answer explains the method, the data and the limits of the estimate in plain words. "
    per_filler = len(tokenizer(filler, add_special_tokens=False)["input_ids"])
    repeats = max(0, (target_tokens - base) // max(per_filler, 1))
    return judge_bench.make_study(root, "gpu", n_items, padding=filler * repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=256, help="prompts for (b) and (c) (default 256)")
    parser.add_argument("--baseline-items", type=int, default=4, help="prompts the baseline loop (a) is timed on")
    parser.add_argument("--prompt-tokens", type=int, default=700, help="approximate prompt length (default 700)")
    parser.add_argument("--batch-size", type=int, default=64, help="run_study batch size (default 64)")
    parser.add_argument("--cpu-dry-run", action="store_true", help="tiny shapes on the CPU: checks the script only")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    args = parser.parse_args(argv)

    import torch

    if args.cpu_dry_run:
        device, shapes = "cpu", TINY_SHAPES
    elif not torch.cuda.is_available():
        print(
            "bench/gpu.py needs a CUDA GPU and a CUDA build of torch (this machine has none); "
            "use bench/judge.py on the CPU, or --cpu-dry-run to check this script.",
            file=sys.stderr,
        )
        return 2
    else:
        device, shapes = "cuda", LLAMA31_8B
    card = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (dry run, tiny shapes: not a measurement)"

    import judge as judge_bench

    from selene_eval.core.judge_spec import JudgeSpec
    from selene_eval.judge import create_backend
    from selene_eval.run.runner import plan_run

    bandwidth = measure_bandwidth(device, n_bytes=(2 << 30) if device == "cuda" else (64 << 20))
    matmul = measure_matmul(device, n=8192 if device == "cuda" else 512)
    print(f"{card}: copy bandwidth {bandwidth / 1e9:.0f} GB/s, matmul {matmul / 1e12:.1f} TFLOP/s", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="selene-gpu-bench-"))
    try:
        t0 = time.perf_counter()
        folder = build_random_model(scratch / "model", shapes, device)
        build_s = time.perf_counter() - t0
        spec = JudgeSpec(
            model=str(folder),
            quantization="nf4",
            device=device,
            dtype="bfloat16" if device == "cuda" else "float32",
            max_new_tokens=BUDGET,
        )
        t0 = time.perf_counter()
        reasoned = create_backend(spec)
        fast = create_backend(spec.model_copy(update={"mode": "fast"}))
        load_s = time.perf_counter() - t0
        weight_bytes = reasoned.model.get_memory_footprint()  # type: ignore[attr-defined]
        tokenizer = reasoned.tokenizer  # type: ignore[attr-defined]
        study = prompts_of_length(scratch / "studies", args.items, args.prompt_tokens, tokenizer)
        plan = plan_run(study, spec)
        lengths = [len(reasoned._encode(list(p.prompt.messages))[0]) for p in plan.pending]  # type: ignore[attr-defined]

        subset = replace(plan, pending=plan.pending[: args.baseline_items])
        a_s, a_tokens, _ = judge_bench.baseline(reasoned, subset, stop_at_eos=False)
        b_s, b_items, b_tokens = judge_bench.timed_run(study, reasoned, args.batch_size)
        c_s, c_items, _ = judge_bench.timed_run(study, fast, args.batch_size)
        reasoned.close()
        fast.close()
        study.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    step_floor = decode_step_floor_s(weight_bytes, bandwidth)
    n_a = len(subset.pending)
    rows = {
        "a": {
            "items": n_a,
            "seconds": a_s,
            "items_per_s": n_a / a_s,
            "tokens_per_s": a_tokens / a_s,
            "floor_tokens_per_s": 1 / step_floor,
        },
        "b": {
            "items": b_items,
            "seconds": b_s,
            "items_per_s": b_items / b_s,
            "tokens_per_s": b_tokens / b_s,
            "floor_tokens_per_s": args.batch_size / step_floor,
        },
        "c": {
            "items": c_items,
            "seconds": c_s,
            "items_per_s": c_items / c_s,
            "tokens_per_s": 0.0,
            "floor_seconds": prompt_floor_s(shapes, lengths, matmul),
        },
    }
    ratios = {
        "b/a": rows["b"]["items_per_s"] / rows["a"]["items_per_s"],
        "c/a": rows["c"]["items_per_s"] / rows["a"]["items_per_s"],
        "c/floor": c_s / rows["c"]["floor_seconds"],
    }
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "card": card,
        "torch": torch.__version__,
        "shapes": asdict(shapes),
        "shapes_name": "Llama-3.1-8B's shapes" if shapes == LLAMA31_8B else "tiny shapes (dry run)",
        "parameters": shapes.parameter_count(),
        "weight_bytes_nf4": weight_bytes,
        "bandwidth_bytes_per_s": bandwidth,
        "matmul_flops_per_s": matmul,
        "build_s": build_s,
        "load_s": load_s,
        "mean_prompt_tokens": sum(lengths) / len(lengths),
        "decode_step_floor_s": step_floor,
        "rows": rows,
        "ratios": ratios,
        "targets_met": {"b/a >= 10": ratios["b/a"] >= 10, "c within 3x of prompt floor": ratios["c/floor"] <= 3},
    }
    table = markdown(payload)
    print(table)
    out = RESULTS if not args.cpu_dry_run else RESULTS.with_name("gpu-dry-run.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if not args.no_doc and not args.cpu_dry_run:
        write_into_doc(PERFORMANCE_DOC, table)
    return 0


def markdown(payload: dict[str, object]) -> str:
    """The GPU section of docs/PERFORMANCE.md."""
    rows = payload["rows"]  # type: ignore[assignment]
    a, b, c = rows["a"], rows["b"], rows["c"]  # type: ignore[index]
    ratios = payload["ratios"]  # type: ignore[assignment]
    met = {key: "met" if value else "missed" for key, value in payload["targets_met"].items()}  # type: ignore[union-attr]
    return "\n".join(
        [
            f"**{payload['card']}**, {payload['date']}, `{payload['command'].strip()}` (torch {payload['torch']}).",
            f"Random weights with {payload['shapes_name']} ({payload['parameters']:,} parameters), 4-bit NF4 through "
            f"the backend: {payload['weight_bytes_nf4'] / 1e9:.2f} GB of weights. Measured copy bandwidth "
            f"{payload['bandwidth_bytes_per_s'] / 1e9:.0f} GB/s, bf16 matmul {payload['matmul_flops_per_s'] / 1e12:.0f} "
            f"TFLOP/s. Prompts: {payload['mean_prompt_tokens']:.0f} tokens on average; budget {BUDGET} new tokens.",
            "",
            "| way | items | seconds | items/s | generated tokens/s | floor | vs (a) |",
            "|---|---:|---:|---:|---:|---|---:|",
            f"| (a) one at a time, 512 tokens | {a['items']} | {a['seconds']:.1f} | {a['items_per_s']:.3f} | "
            f"{a['tokens_per_s']:.0f} | {a['floor_tokens_per_s']:.0f} tokens/s (weights / bandwidth) | 1x |",
            f"| (b) batched reasoned | {b['items']} | {b['seconds']:.1f} | {b['items_per_s']:.3f} | "
            f"{b['tokens_per_s']:.0f} | {b['floor_tokens_per_s']:.0f} tokens/s at this batch size | {ratios['b/a']:.1f}x |",
            f"| (c) fast mode | {c['items']} | {c['seconds']:.1f} | {c['items_per_s']:.2f} | - | "
            f"{c['floor_seconds']:.1f} s (prompt FLOPs / matmul); measured {ratios['c/floor']:.1f}x the floor | "
            f"{ratios['c/a']:.0f}x |",
            "",
            f"Targets: batched reasoned >= 10x the loop: {met['b/a >= 10']}; "
            f"fast mode within 3x of the prompt-FLOPs floor: {met['c within 3x of prompt floor']}.",
        ]
    )


def write_into_doc(path: Path, table: str) -> None:
    """Replace the text between the ``gpu-bench`` markers of ``path`` with ``table``."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START_MARK) + ".*?" + re.escape(END_MARK), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {START_MARK} ... {END_MARK} section to write into")
    path.write_text(pattern.sub(lambda _: f"{START_MARK}\n{table}\n{END_MARK}", text), encoding="utf-8")
    print(f"wrote the table into {path}")


if __name__ == "__main__":
    sys.exit(main())
