"""Benchmark (issue #16): how often the demo judge gives a verdict, how fast, and with which settings.

On the shared K-QA data (``../shared/datasets/kqa_physician_nli``): a pilot sample of ``--items`` items
(default 24, stratified by the experts' majority, seed 0) x three prompt variants, judged by the demo judge
(SmolLM2-135M, CPU, fp32) under each setting in ``--settings``:

* ``reasoned-512-forced`` / ``reasoned-256-forced`` / ``reasoned-128-forced``: reasoned mode with forced
  verdicts and a budget of 512, 256, 128 tokens. Forcing does not change what the judge writes, so the
  same run also gives the figures without forcing (its "readable" share, and accuracy without forced
  labels);
* ``fast``: fast mode (no reasoning, one forward pass).

For each: the share of answers with a readable label, a forced label and none; the median and mean seconds
per judgment (a batch's time divided over its prompts, as the runner stores it); finish reasons; and accuracy
against the experts' majority, with and without forced labels (pooled over the variants' compared items). Also the demo
judge's load time, first (converting the GGUF file) and second (the converted copy). Printed as a Markdown
table and written to ``bench/results/verdicts.json``.

Run: ``.venv/bin/python bench/verdicts.py`` (about 6 minutes on 2 busy cores), ``--items 6`` for a smoke
run, ``--settings fast,reasoned-256-forced`` for some settings only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selene_eval.adapters import KQA, create_study_from_dataset  # noqa: E402
from selene_eval.core.judge_spec import JudgeSpec  # noqa: E402
from selene_eval.judge import create_backend  # noqa: E402
from selene_eval.judge.demo import demo_judge_spec  # noqa: E402
from selene_eval.presentation.report import study_report  # noqa: E402
from selene_eval.run.runner import plan_run, run_study  # noqa: E402
from selene_eval.study import StudyStore  # noqa: E402

KQA_DIR = REPO.parent / "shared" / "datasets" / "kqa_physician_nli"
RESULTS = REPO / "bench" / "results" / "verdicts.json"
VARIANTS = ("selene-ref", "selene-ref.layout-plain", "selene-ref.surface-1")
SETTINGS: dict[str, dict[str, object]] = {
    "reasoned-512-forced": {"mode": "reasoned", "max_new_tokens": 512, "force_verdict": True},
    "reasoned-256-forced": {"mode": "reasoned", "max_new_tokens": 256, "force_verdict": True},
    "reasoned-128-forced": {"mode": "reasoned", "max_new_tokens": 128, "force_verdict": True},
    "fast": {"mode": "fast", "max_new_tokens": 512, "force_verdict": False},
}


def load_seconds(spec: JudgeSpec) -> tuple[float, str]:
    """Seconds to load the judge (imports already paid) and where its weights came from."""
    start = time.perf_counter()
    backend = create_backend(spec)
    seconds = time.perf_counter() - start
    source = getattr(backend, "weights_source", "?")
    backend.close()
    return seconds, source


def bench_setting(name: str, spec: JudgeSpec, root: Path, n_items: int, batch_size: int) -> dict[str, object]:
    store = StudyStore(root)
    study = create_study_from_dataset(KQA, KQA_DIR, store, name)
    # A minimum of 1 compared item: the bench reports every figure (the study default of 10 applies per variant).
    study.spec = study.spec.model_copy(update={"variants": list(VARIANTS), "min_compared": 1})
    study.save_spec()
    backend = create_backend(spec)
    try:
        plan = plan_run(study, spec, variant_ids=list(VARIANTS), limit=n_items)
        start = time.perf_counter()
        result = run_study(study, backend, plan=plan, batch_size=batch_size)
        wall = time.perf_counter() - start
        stored = study.judgments.get(p.cache_key for p in plan.pending)
        durations = [j.duration_s for j in stored.values() if j.duration_s is not None]
        finishes = Counter(j.finish_reason for j in stored.values())
        accuracy, without_forced = (
            {
                r.variant_id: {
                    "n_compared": r.agreement.n_compared,
                    "accuracy": r.agreement.metrics.get("accuracy"),
                    "cohen_kappa": r.agreement.metrics.get("cohen_kappa"),
                }
                for r in study_report(study, [spec], n_resamples=0, include_forced=include).results
                if r.agreement is not None
            }
            for include in (True, False)
        )
    finally:
        backend.close()
        study.close()
    n = result.n_judged

    def pooled(by_variant: dict[str, dict[str, float]]) -> tuple[float | None, int]:
        compared = sum(a["n_compared"] for a in by_variant.values())
        correct = sum(a["n_compared"] * a["accuracy"] for a in by_variant.values() if a["n_compared"])
        return (correct / compared if compared else None), compared

    (accuracy_pooled, compared), (accuracy_unforced, compared_unforced) = pooled(accuracy), pooled(without_forced)
    return {
        "setting": name,
        "spec": spec.model_dump(include={"mode", "max_new_tokens", "force_verdict"}),
        "n_judged": n,
        "n_failed": result.n_failed,
        "readable": result.n_readable,
        "forced": result.n_forced,
        "unreadable": result.n_unreadable,
        "labelled_share": (result.n_readable + result.n_forced) / n if n else None,
        "median_s": statistics.median(durations) if durations else None,
        "mean_s": statistics.fmean(durations) if durations else None,
        "wall_s": wall,
        "finish_reasons": dict(finishes),
        "by_variant": accuracy,
        "by_variant_without_forced": without_forced,
        "accuracy_pooled": accuracy_pooled,
        "n_compared": compared,
        "accuracy_pooled_without_forced": accuracy_unforced,
        "n_compared_without_forced": compared_unforced,
    }


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| setting | judged | readable | forced | unreadable | with a label | median s/judgment | mean s | "
        "accuracy with forced (compared) | without forced (compared) | finish reasons |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = r["n_judged"] or 1
        share = lambda k: f"{r[k]} ({r[k] / n:.0%})"  # noqa: E731, B023  (used in this iteration only)
        acc = "n/a" if r["accuracy_pooled"] is None else f"{r['accuracy_pooled']:.3f} (n={r['n_compared']})"
        unforced = (
            "n/a"
            if r["accuracy_pooled_without_forced"] is None
            else f"{r['accuracy_pooled_without_forced']:.3f} (n={r['n_compared_without_forced']})"
        )
        finishes = ", ".join(f"{k} {v}" for k, v in sorted(r["finish_reasons"].items()))
        lines.append(
            f"| {r['setting']} | {r['n_judged']} | {share('readable')} | {share('forced')} | "
            f"{share('unreadable')} | {r['labelled_share']:.0%} | {r['median_s']:.2f} | {r['mean_s']:.2f} | "
            f"{acc} | {unforced} | {finishes} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=24, help="K-QA items in the pilot sample (default 24)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated: {', '.join(SETTINGS)}")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not KQA_DIR.is_dir():
        print(f"The shared K-QA data is not at {KQA_DIR}.", file=sys.stderr)
        return 2
    base = demo_judge_spec().model_copy(update={"device": "cpu"})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # A fresh cache folder, so that the first load converts the GGUF file as a new user's does.
        os.environ["SELENE_EVAL_CACHE_DIR"] = str(Path(tmp) / "cache")
        import torch  # noqa: F401  (imports paid before the load timings)
        import transformers  # noqa: F401

        loads = [load_seconds(base) for _ in range(2)]
        print(f"load: first {loads[0][0]:.1f}s ({loads[0][1]}), second {loads[1][0]:.1f}s ({loads[1][1]})", flush=True)
        for name in args.settings.split(","):
            spec = JudgeSpec.model_validate({**base.model_dump(), **SETTINGS[name]})
            row = bench_setting(name, spec, Path(tmp) / name, args.items, args.batch_size)
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                "items": args.items,
                "variants": list(VARIANTS),
                "batch_size": args.batch_size,
                "load_s": {
                    "first": loads[0][0],
                    "first_source": loads[0][1],
                    "second": loads[1][0],
                    "second_source": loads[1][1],
                },
                "rows": rows,
                "table": text,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
