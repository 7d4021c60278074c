"""Property test: random label tables never raise anything but StatisticsError, and every number in the
report is finite and in range, or nan with a note that names it."""

from __future__ import annotations

import json
import math
import warnings

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selene_eval.errors import StatisticsError
from selene_eval.stats.agreement import AgreementReport, agreement
from selene_eval.stats.consensus import consensus
from selene_eval.stats.registry import METRICS, statistic_name

LABELS = ["a", "b", "c", "1", "2", "3"]
CELLS = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(["", "  "]),
    st.sampled_from(LABELS),
    st.integers(min_value=1, max_value=4),
    st.sampled_from([1.0, 2.5, 3.0, float("inf")]),
    st.text(max_size=3),
)

# valid ranges; alpha has no useful lower bound (it falls below -1 with few units), only alpha <= 1
RANGES = {
    "accuracy": (0.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
    "quadratic_weighted_kappa": (-1.0, 1.0),
    "krippendorff_alpha": (-math.inf, 1.0),
    "spearman": (-1.0, 1.0),
    "kendall_tau": (-1.0, 1.0),
    "pearson": (-1.0, 1.0),
    "mean_absolute_error": (0.0, math.inf),
}
EPS = 1e-9


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], str, list[str] | None]:
    n_items = draw(st.integers(min_value=0, max_value=12))
    n_experts = draw(st.integers(min_value=1, max_value=4))
    # most tables draw from one small label pool so that the interesting (non-error) paths are hit often
    pool = draw(st.sampled_from([CELLS, st.sampled_from([None, "a", "b", "c"]), st.sampled_from([None, 1, 2, 3, 4.5])]))
    columns = {name: draw(st.lists(pool, min_size=n_items, max_size=n_items)) for name in
               ["judge", *[f"e{i}" for i in range(n_experts)]]}  # fmt: skip
    level = draw(st.sampled_from(["nominal", "ordinal", "interval"]))
    order = draw(
        st.one_of(
            st.none(),
            st.permutations(["a", "b", "c"]),
            st.lists(st.sampled_from(["a", "b", "c", "1", "2", "3", "4"]), max_size=5),  # may repeat: an error
        )
    )
    table = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    return table, [f"e{i}" for i in range(n_experts)], level, order


# How the notes name the experts' figures (the judge-vs-consensus statistics go by statistic_name).
EXPERT_FIGURES = {
    "experts.krippendorff_alpha": "The experts' own Krippendorff's alpha",
    "experts.alpha_with_judge": "Krippendorff's alpha with the judge as one more expert",
}


def check_value(report: AgreementReport, name: str, value: float, low: float, high: float) -> None:
    if math.isnan(value):
        words = EXPERT_FIGURES.get(name) or statistic_name(name)
        assert any(n.startswith(f"{words} is undefined") for n in report.notes), (name, report.notes)
    else:
        assert math.isfinite(value) and low - EPS <= value <= high + EPS, (name, value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables(case: tuple[pd.DataFrame, list[str], str, list[str] | None]) -> None:
    table, experts, level, order = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping would be an unhandled undefined case
        try:
            report = agreement(table, "judge", experts, level, order=order)  # type: ignore[arg-type]
        except StatisticsError:
            return
        try:
            consensus(table[experts], level, order=order)  # type: ignore[arg-type]
        except StatisticsError:
            pass

    assert set(report.metrics) == set(METRICS[level])  # type: ignore[index]
    for name, value in report.metrics.items():
        check_value(report, name, value, *RANGES[name])

    n = len(table)
    assert report.n_items == n
    assert 0 <= report.n_compared <= n - max(report.n_judge_missing, report.n_no_majority + report.n_unlabelled)
    if n:
        assert report.unparseable_share == report.n_judge_missing / n
    else:
        assert math.isnan(report.unparseable_share)
    if level == "interval":
        assert report.confusion is None and report.n_no_majority == 0
    else:
        assert report.confusion is not None
        assert sum(map(sum, report.confusion.counts)) == report.n_compared
    if len(experts) < 2:
        assert report.experts is None
    else:
        assert report.experts is not None
        check_value(report, "experts.krippendorff_alpha", report.experts.krippendorff_alpha, -math.inf, 1.0)
        check_value(report, "experts.alpha_with_judge", report.experts.alpha_with_judge, -math.inf, 1.0)
    json.dumps(report.to_dict(), allow_nan=False)
