"""Benchmark: vectorized bootstrap intervals vs a per-resample loop over sklearn / krippendorff.

Workload: 10,000 items on a 5-point ordinal scale, one expert consensus and 8 judge variants; for each
variant, 1,000-resample intervals of Cohen's kappa and Krippendorff's alpha (ordinal).

* vectorized: :func:`selene_eval.stats.uncertainty.bootstrap_intervals`, method 'auto' (BCa, including
  the group jackknife), all 8 variants, timed in full.
* loop: per resample, draw item indices and call ``sklearn.metrics.cohen_kappa_score`` and
  ``krippendorff.alpha`` on the resampled items (percentile interval only - no jackknife, which favours
  the loop). Timed on LOOP_VARIANTS variants x LOOP_RESAMPLES resamples and extrapolated linearly to
  8 x 1,000; the output says so.

Run: ``.venv/bin/python bench/stats.py``; writes ``bench/results/stats.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from selene_eval.stats import uncertainty
from selene_eval.stats.uncertainty import bootstrap_intervals

N_ITEMS = 10_000
N_VARIANTS = 8
N_LABELS = 5
N_RESAMPLES = 1_000
LOOP_VARIANTS = 2
LOOP_RESAMPLES = 50
STATISTICS = ["cohen_kappa", "krippendorff_alpha"]
RESULTS = Path(__file__).resolve().parent / "results" / "stats.json"


def make_data(seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    consensus = rng.integers(0, N_LABELS, N_ITEMS).astype(float)
    variants = []
    for v in range(N_VARIANTS):
        copy = rng.random(N_ITEMS) < 0.4 + 0.05 * v
        noise = np.clip(consensus + rng.integers(-1, 2, N_ITEMS), 0, N_LABELS - 1)
        variants.append(np.where(copy, consensus, noise))
    return consensus, variants


def run_vectorized(consensus: np.ndarray, variants: list[np.ndarray]) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    out = []
    for judge in variants:
        res = bootstrap_intervals(
            consensus,
            judge,
            level="ordinal",
            n_labels=N_LABELS,
            statistics=STATISTICS,
            n_resamples=N_RESAMPLES,
            seed=0,
            method="auto",
        )
        out.append({name: interval.to_dict() for name, interval in res.items()})
    return time.perf_counter() - start, out


def run_loop(consensus: np.ndarray, variants: list[np.ndarray]) -> tuple[float, dict[str, float]]:
    """Seconds for LOOP_VARIANTS x LOOP_RESAMPLES, per statistic."""
    rng = np.random.default_rng(0)
    labels = list(range(N_LABELS))
    spent = {name: 0.0 for name in STATISTICS}
    for judge in variants[:LOOP_VARIANTS]:
        a, b = consensus.astype(int), judge.astype(int)
        for _ in range(LOOP_RESAMPLES):
            idx = rng.integers(0, N_ITEMS, N_ITEMS)
            ra, rb = a[idx], b[idx]
            t0 = time.perf_counter()
            cohen_kappa_score(ra, rb, labels=labels)
            t1 = time.perf_counter()
            krippendorff.alpha(reliability_data=np.vstack([ra, rb]).astype(float), level_of_measurement="ordinal")
            t2 = time.perf_counter()
            spent["cohen_kappa"] += t1 - t0
            spent["krippendorff_alpha"] += t2 - t1
    return sum(spent.values()), spent


def main() -> None:
    consensus, variants = make_data()
    run_vectorized(consensus, variants[:1])  # warm-up (imports, caches)
    vec_seconds, intervals = run_vectorized(consensus, variants)
    # The same with the (B x G) group-index matrix + np.bincount path forced (what grouped data with many
    # distinct groups use); the default draws per-type multinomial counts (exact same distribution).
    default_ratio = uncertainty._MULTINOMIAL_TYPE_RATIO
    uncertainty._MULTINOMIAL_TYPE_RATIO = 10**12
    try:
        index_seconds, _ = run_vectorized(consensus, variants)
    finally:
        uncertainty._MULTINOMIAL_TYPE_RATIO = default_ratio
    loop_measured, per_stat = run_loop(consensus, variants)
    scale = (N_VARIANTS * N_RESAMPLES) / (LOOP_VARIANTS * LOOP_RESAMPLES)
    loop_seconds = loop_measured * scale
    ratio = loop_seconds / vec_seconds

    print(
        f"bootstrap intervals: {N_ITEMS:,} items x {N_VARIANTS} variants, {N_RESAMPLES:,} resamples, "
        f"statistics {', '.join(STATISTICS)} (ordinal, {N_LABELS} labels)"
    )
    print(f"CPU cores visible: {os.cpu_count()}, numpy {np.__version__}, python {platform.python_version()}")
    print()
    print(f"{'method':<44}{'seconds':>10}{'loop/this':>10}")
    print(f"{'vectorized (BCa incl. group jackknife)':<44}{vec_seconds:>10.3f}{ratio:>10.1f}")
    print(
        f"{'vectorized, (B x G) index-matrix path forced':<44}{index_seconds:>10.3f}{loop_seconds / index_seconds:>10.1f}"
    )
    print(f"{'loop sklearn+krippendorff (extrapolated)':<44}{loop_seconds:>10.1f}{1.0:>10.1f}")
    for name, secs in per_stat.items():
        print(f"{'  of which ' + name:<44}{secs * scale:>10.1f}")
    print()
    print(
        f"loop measured on {LOOP_VARIANTS} variants x {LOOP_RESAMPLES} resamples = {loop_measured:.2f} s, "
        f"extrapolated x{scale:.0f} to {N_VARIANTS} x {N_RESAMPLES}; the loop does no jackknife (percentile only)."
    )
    print(
        f"targets: ratio >= 20x: {'met' if ratio >= 20 else 'NOT met'}; "
        f"vectorized < 2 s: {'met' if vec_seconds < 2 else 'NOT met'}"
    )
    first = intervals[0]
    print("variant 0:", {k: (round(v["low"], 4), round(v["high"], 4), v["method"]) for k, v in first.items()})

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "n_items": N_ITEMS,
                "n_variants": N_VARIANTS,
                "n_resamples": N_RESAMPLES,
                "n_labels": N_LABELS,
                "statistics": STATISTICS,
                "vectorized_seconds": vec_seconds,
                "vectorized_index_path_seconds": index_seconds,
                "loop_seconds_extrapolated": loop_seconds,
                "loop_seconds_measured": loop_measured,
                "loop_measured_on": {"variants": LOOP_VARIANTS, "resamples": LOOP_RESAMPLES},
                "loop_seconds_per_statistic_extrapolated": {k: v * scale for k, v in per_stat.items()},
                "ratio": ratio,
                "targets": {"ratio_at_least_20": ratio >= 20, "vectorized_under_2s": vec_seconds < 2},
                "cpu_count": os.cpu_count(),
                "intervals": intervals,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
