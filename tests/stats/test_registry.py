"""The registry of statistics: every key the package uses has a record, the derived tables keep today's
contents and order, each point function equals its bootstrap form at weights of 1, and the registry is light."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from selene_eval.stats import registry
from selene_eval.stats.registry import (
    APPLICABLE,
    BY_KEY,
    DEFAULT_STATISTICS,
    EXTRA_METRICS,
    METRICS,
    PLANNING_STATISTIC,
    PRIMARY_STATISTIC,
    REGISTRY,
    STATISTICS,
    report_words,
    statistic_name,
)
from selene_eval.stats.uncertainty import statistic_value


def test_every_key_used_has_a_record() -> None:
    used = {
        *STATISTICS,
        *(
            k
            for table in (METRICS, EXTRA_METRICS, APPLICABLE, DEFAULT_STATISTICS)
            for keys in table.values()
            for k in keys
        ),
        *PRIMARY_STATISTIC.values(),
        *PLANNING_STATISTIC.values(),
        *registry.CHART_STATISTIC.values(),
        "fleiss_kappa",  # the expert ceiling's statistic
    }
    assert used <= set(BY_KEY)
    assert len(BY_KEY) == len(REGISTRY)  # no key twice


def test_derived_tables_keep_their_contents_and_order() -> None:
    # Pinned: the report's metric order, the JSON key order and the dashboard's columns read them.
    assert METRICS == {
        "nominal": ("accuracy", "cohen_kappa", "krippendorff_alpha"),
        "ordinal": (
            "accuracy",
            "cohen_kappa",
            "quadratic_weighted_kappa",
            "krippendorff_alpha",
            "spearman",
            "kendall_tau",
            "pearson",
        ),
        "interval": ("accuracy", "krippendorff_alpha", "spearman", "kendall_tau", "pearson", "mean_absolute_error"),
    }
    assert EXTRA_METRICS == {
        "nominal": ("gwet_ac1",),
        "ordinal": ("gwet_ac1", "linear_weighted_kappa", "mean_absolute_error"),
        "interval": ("icc_2_1", "icc_3_1"),
    }
    assert STATISTICS == (
        "accuracy",
        "cohen_kappa",
        "linear_weighted_kappa",
        "quadratic_weighted_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
        "spearman",
        "kendall_tau",
        "pearson",
        "mean_absolute_error",
        "icc_2_1",
        "icc_3_1",
    )
    assert APPLICABLE["nominal"] == ("accuracy", "cohen_kappa", "krippendorff_alpha", "gwet_ac1")
    assert APPLICABLE["ordinal"] == tuple(s for s in STATISTICS if not s.startswith("icc"))
    assert DEFAULT_STATISTICS["ordinal"] == tuple(s for s in APPLICABLE["ordinal"] if s != "mean_absolute_error")
    assert DEFAULT_STATISTICS["interval"] == tuple(s for s in APPLICABLE["interval"] if not s.startswith("icc"))
    assert PRIMARY_STATISTIC == {
        "nominal": "cohen_kappa",
        "ordinal": "quadratic_weighted_kappa",
        "interval": "krippendorff_alpha",
    }
    assert PLANNING_STATISTIC == {
        "nominal": "cohen_kappa",
        "ordinal": "quadratic_weighted_kappa",
        "interval": "icc_2_1",
    }


def test_each_surface_keeps_its_words() -> None:
    assert statistic_name("kendall_tau") == "Kendall's tau"  # notes, CLI, dashboard
    assert report_words("kendall_tau") == "Kendall's tau-b"  # the HTML report
    assert statistic_name("icc_2_1") == "ICC(2,1) absolute agreement"
    assert report_words("icc_2_1") == "ICC(2,1)"
    assert statistic_name("cohen_kappa") == report_words("cohen_kappa") == "Cohen's kappa"
    assert statistic_name("unknown_key") == report_words("unknown_key") == "unknown_key"


def _random_pairs(level: str, rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, np.ndarray, int]:
    if level == "interval":
        expert = rng.normal(3.0, 1.0, n).round(1)
        return expert, (expert + rng.normal(0.2, 0.7, n)).round(1), 0
    k = 3 if level == "nominal" else 5
    expert = rng.integers(0, k, n).astype(float)
    judge = np.where(rng.random(n) < 0.6, expert, rng.integers(0, k, n)).astype(float)
    return expert, judge, k


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_point_function_equals_bootstrap_form_at_weights_one(level: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    expert, judge, k = _random_pairs(level, rng)
    for record in REGISTRY:
        if level not in record.levels:
            continue
        point, reason = record.point_function()(expert, judge, level, k)
        assert reason is None, (record.key, reason)
        batch = statistic_value(expert, judge, level=level, n_labels=k or None, statistic=record.key)  # type: ignore[arg-type]
        assert batch == pytest.approx(point, abs=1e-9), record.key
        assert callable(record.bootstrap_method())


def test_importing_the_registry_loads_no_heavy_library() -> None:
    code = (
        "import json, sys; import selene_eval.stats.registry as r; r.statistic_name('cohen_kappa'); "
        "print(json.dumps(sorted(m for m in ('scipy', 'sklearn', 'krippendorff') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
