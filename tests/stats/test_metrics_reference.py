"""Agreement metrics against published values and against the reference libraries called directly.

The reference side never goes through selene_eval's coding: it computes the consensus with a plain
``Counter`` loop and hands the *string* labels (with ``labels=order`` / ``value_domain=order``) to sklearn,
scipy and krippendorff, so a wrong rank, a wrong label order or a wrong consensus would show up.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from selene_eval.stats.agreement import agreement
from selene_eval.stats.alpha import krippendorff_alpha
from selene_eval.stats.consensus import consensus

nan = np.nan
TOL = 1e-9

# --------------------------------------------------------------------------------------------------
# Published values
# --------------------------------------------------------------------------------------------------

# Wikipedia, "Krippendorff's alpha" (worked example), also the krippendorff package's docstring:
# 3 coders x 15 units with missing values. Published: nominal alpha = 0.691, interval alpha = 0.811
# (package docstring, 6 digits: 0.691358 and 0.810845).
WIKIPEDIA = [
    [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
    [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
    [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
]
# Krippendorff, K. (2011), "Computing Krippendorff's Alpha-Reliability", p. 8 (also in the package
# docstring): 4 observers x 12 units. Published: nominal .743, ordinal .815, interval .849, ratio .797.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
WORDS = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}


def experts_table(data: list[list[float]], words: bool = False) -> pd.DataFrame:
    """Raters become expert columns; a judge column (always 1) rides along."""
    columns = {
        f"e{i}": [None if math.isnan(v) else (WORDS[int(v)] if words else v) for v in row] for i, row in enumerate(data)
    }
    return pd.DataFrame({"judge": [1] * len(data[0]), **columns})


@pytest.mark.parametrize(
    ("data", "level", "published", "digits"),
    [
        (WIKIPEDIA, "nominal", 0.691358, 6),
        (WIKIPEDIA, "interval", 0.810845, 6),
        (KRIPPENDORFF_2011, "nominal", 0.743, 3),
        (KRIPPENDORFF_2011, "ordinal", 0.815, 3),
        (KRIPPENDORFF_2011, "interval", 0.849, 3),
    ],
)
def test_published_expert_alpha(data: list[list[float]], level: str, published: float, digits: int) -> None:
    table = experts_table(data)
    report = agreement(table, "judge", [c for c in table.columns if c != "judge"], level)  # type: ignore[arg-type]
    assert report.experts is not None
    assert round(report.experts.krippendorff_alpha, digits) == published
    # and the exported helper on the raw matrix
    value, reason = krippendorff_alpha(np.array(data, dtype=float), level)  # type: ignore[arg-type]
    assert reason is None and round(value, digits) == published


def test_published_ordinal_alpha_with_word_labels() -> None:
    # Same Krippendorff (2011) data written as words; ordinal alpha needs the order: .815 again.
    table = experts_table(KRIPPENDORFF_2011, words=True)
    report = agreement(
        table.assign(judge="mid"), "judge", ["e0", "e1", "e2", "e3"], "ordinal", order=list(WORDS.values())
    )
    assert report.experts is not None
    assert round(report.experts.krippendorff_alpha, 3) == 0.815


# --------------------------------------------------------------------------------------------------
# Equality with the libraries on generated tables
# --------------------------------------------------------------------------------------------------

ORDER = ["poor", "fair", "good", "excellent"]


def make_table(seed: int, level: str, n_items: int = 40, n_experts: int = 3) -> pd.DataFrame:
    """Noisy expert labels around a latent truth, with gaps, a missing/off-scale judge and forced ties."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(ORDER), n_items)

    def noisy() -> np.ndarray:
        return np.clip(truth + rng.choice([-1, 0, 0, 0, 1], n_items), 0, len(ORDER) - 1)

    def cells(codes: np.ndarray) -> list[object]:
        if level == "interval":
            return [float(c) * 1.5 + 0.25 for c in codes]
        return [ORDER[c] for c in codes]

    # object columns, as a CSV with blank cells would give: numbers, strings and blanks mix freely
    table = pd.DataFrame({f"e{i}": cells(noisy()) for i in range(n_experts)}, dtype=object)
    table.insert(0, "judge", pd.Series(cells(noisy()), dtype=object))
    gaps = rng.random((n_items, n_experts)) < 0.2
    table.iloc[:, 1:] = table.iloc[:, 1:].mask(gaps)
    table.loc[rng.random(n_items) < 0.1, "judge"] = None
    # forced cases: an item with a 1-1 split (no majority), one nobody labelled, a blank judge cell
    table.iloc[0, 1:] = [cells(np.array([0]))[0], cells(np.array([3]))[0]] + [None] * (n_experts - 2)
    table.iloc[1, 1:] = None
    table.iloc[2, 0] = "  "
    return table


def reference_consensus(table: pd.DataFrame, experts: list[str], level: str) -> list[object]:
    """Plain-Python consensus: strict majority of the experts who labelled, or their mean."""
    result: list[object] = []
    for row in table[experts].itertuples(index=False):
        present = [v for v in row if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if not present:
            result.append(None)
        elif level == "interval":
            result.append(statistics.fmean(float(v) for v in present))
        else:
            label, votes = Counter(present).most_common(1)[0]
            result.append(label if 2 * votes > len(present) else None)
    return result


def is_blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def reference_metrics(table: pd.DataFrame, experts: list[str], level: str) -> dict[str, object]:
    cons = reference_consensus(table, experts, level)
    judge = [None if is_blank(v) else v for v in table["judge"]]
    pairs = [(c, j) for c, j in zip(cons, judge) if c is not None and j is not None]
    c_lab, j_lab = [p[0] for p in pairs], [p[1] for p in pairs]
    expected: dict[str, float] = {"accuracy": float(np.mean([a == b for a, b in pairs]))}

    def krip_rows(rows: list[list[object]]) -> np.ndarray:
        if level == "interval":
            return np.array([[nan if v is None else float(v) for v in r] for r in rows], dtype=float)
        return np.asarray([[nan if v is None else v for v in r] for r in rows])  # nan -> "nan" for strings

    domain = ORDER if level == "ordinal" else None
    expected["krippendorff_alpha"] = krippendorff.alpha(
        reliability_data=krip_rows([c_lab, j_lab]), value_domain=domain, level_of_measurement=level
    )
    if level != "interval":
        expected["cohen_kappa"] = cohen_kappa_score(c_lab, j_lab, labels=ORDER)
    if level == "ordinal":
        expected["quadratic_weighted_kappa"] = cohen_kappa_score(c_lab, j_lab, labels=ORDER, weights="quadratic")
    if level != "nominal":
        x = [ORDER.index(v) for v in c_lab] if level == "ordinal" else c_lab
        y = [ORDER.index(v) for v in j_lab] if level == "ordinal" else j_lab
        expected["spearman"] = stats.spearmanr(x, y).statistic
        expected["kendall_tau"] = stats.kendalltau(x, y).statistic  # tau-b is scipy's default
        expected["pearson"] = stats.pearsonr(x, y).statistic
    if level == "interval":
        expected["mean_absolute_error"] = float(np.mean([abs(a - b) for a, b in pairs]))

    expert_rows = [[None if is_blank(v) else v for v in table[e]] for e in experts]
    expected_experts = krippendorff.alpha(
        reliability_data=krip_rows(expert_rows), value_domain=domain, level_of_measurement=level
    )
    with_judge = krippendorff.alpha(
        reliability_data=krip_rows([*expert_rows, judge]), value_domain=domain, level_of_measurement=level
    )
    return {
        "metrics": expected,
        "consensus": cons,
        "n_compared": len(pairs),
        "n_judge_missing": sum(j is None for j in judge),
        "experts": (expected_experts, with_judge),
    }


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("n_experts", [2, 3, 4])
def test_matches_libraries(seed: int, level: str, n_experts: int) -> None:
    table = make_table(seed, level, n_experts=n_experts)
    experts = [f"e{i}" for i in range(n_experts)]
    order = ORDER if level != "interval" else None
    report = agreement(table, "judge", experts, level, order=order)  # type: ignore[arg-type]
    ref = reference_metrics(table, experts, level)

    # the forced cases are really there (interval has no majority rule)
    assert report.n_unlabelled >= 1 and report.n_judge_missing >= 1
    assert report.n_no_majority >= (0 if level == "interval" else 1)
    assert report.n_compared == ref["n_compared"]
    assert report.n_judge_missing == ref["n_judge_missing"]
    assert set(report.metrics) == set(ref["metrics"])  # type: ignore[arg-type]
    for name, value in ref["metrics"].items():  # type: ignore[union-attr]
        assert report.metrics[name] == pytest.approx(value, abs=TOL), name
    assert report.experts is not None
    assert report.experts.krippendorff_alpha == pytest.approx(ref["experts"][0], abs=TOL)  # type: ignore[index]
    assert report.experts.alpha_with_judge == pytest.approx(ref["experts"][1], abs=TOL)  # type: ignore[index]

    ours = consensus(table[experts], level, order=order)  # type: ignore[arg-type]
    theirs = ref["consensus"]
    if level == "interval":
        np.testing.assert_allclose(
            ours.values.to_numpy(float),
            [nan if v is None else v for v in theirs],
            atol=TOL,  # type: ignore[union-attr]
        )
    else:
        assert ours.values.tolist() == theirs


@pytest.mark.parametrize("seed", range(4))
def test_confusion_matches_sklearn(seed: int) -> None:
    from sklearn.metrics import confusion_matrix

    table = make_table(seed, "ordinal")
    experts = ["e0", "e1", "e2"]
    report = agreement(table, "judge", experts, "ordinal", order=ORDER)
    cons = reference_consensus(table, experts, "ordinal")
    pairs = [(c, j) for c, j in zip(cons, table["judge"]) if c is not None and not is_blank(j)]
    expected = confusion_matrix([p[0] for p in pairs], [p[1] for p in pairs], labels=ORDER)
    assert report.confusion is not None
    assert np.array_equal(np.array(report.confusion.counts), expected)


def test_numeric_ordinal_without_order_matches_ranks() -> None:
    # Scores 1..5 as numbers (with gaps in the scale): ranks follow numeric order, not text order.
    rng = np.random.default_rng(7)
    scale = [1, 2, 3, 5, 10]
    table = pd.DataFrame({c: rng.choice(scale, 60) for c in ("judge", "a", "b", "c")}).astype(float)
    table.loc[rng.random(60) < 0.15, "a"] = nan
    report = agreement(table, "judge", ["a", "b", "c"], "ordinal")
    assert report.labels == ("1", "2", "3", "5", "10")
    text = table.map(lambda v: None if math.isnan(v) else str(int(v)))
    cons = reference_consensus(text, ["a", "b", "c"], "ordinal")
    pairs = [(c, j) for c, j in zip(cons, text["judge"]) if c is not None]
    labels = [str(s) for s in scale]
    x = [labels.index(p[0]) for p in pairs]
    y = [labels.index(p[1]) for p in pairs]
    assert report.metrics["quadratic_weighted_kappa"] == pytest.approx(
        cohen_kappa_score(x, y, labels=range(5), weights="quadratic"), abs=TOL
    )
    assert report.metrics["pearson"] == pytest.approx(stats.pearsonr(x, y).statistic, abs=TOL)
    assert report.metrics["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[x, y], level_of_measurement="ordinal"), abs=TOL
    )
