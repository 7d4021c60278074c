"""Coverage of the bootstrap intervals on synthetic rater pairs with known population agreement."""

from __future__ import annotations

import numpy as np
import pytest

from selene_eval.stats.uncertainty import bootstrap_intervals

P_TRUE = 0.4  # P(true label = 1)
Q = 0.7  # each rater copies the truth with probability Q, else answers uniformly at random


def population_table(p_true: float, q: float) -> np.ndarray:
    """Joint P(a = i, b = j): raters are independent given the true label."""
    table = np.zeros((2, 2))
    for truth, p in ((0, 1 - p_true), (1, p_true)):
        given = np.array([q * (c == truth) + (1 - q) / 2 for c in (0, 1)])
        table += p * np.outer(given, given)
    return table


def population_kappa_accuracy(p_true: float, q: float) -> tuple[float, float]:
    """Closed form: kappa = (p_o - p_e) / (1 - p_e) of the population table, accuracy = p_o."""
    table = population_table(p_true, q)
    p_o = float(np.trace(table))
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    return (p_o - p_e) / (1 - p_e), p_o


def simulate(rng: np.random.Generator, n: int, group_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` items in groups of ``group_size`` (a question asked several times).

    The items of a group share the true label and whether each rater gets the question right (copies
    the truth); the per-item joint law of (a, b) - hence the population kappa - does not depend on
    ``group_size``, but with groups the items are strongly dependent.
    """
    n_groups = n // group_size
    truth = np.repeat(rng.random(n_groups) < P_TRUE, group_size).astype(int)
    raters = []
    for _ in range(2):
        copy = np.repeat(rng.random(n_groups) < Q, group_size)
        raters.append(np.where(copy, truth, rng.integers(0, 2, n)).astype(float))
    return raters[0], raters[1]


@pytest.mark.slow
def test_percentile_interval_coverage_is_nominal() -> None:
    kappa_true, accuracy_true = population_kappa_accuracy(P_TRUE, Q)
    # Check the closed form against a huge sample.
    a, b = simulate(np.random.default_rng(0), 1_000_000)
    assert np.mean(a == b) == pytest.approx(accuracy_true, abs=0.002)

    rng = np.random.default_rng(2024)
    n_datasets, hits = 1000, {"cohen_kappa": 0, "accuracy": 0}
    for i in range(n_datasets):
        a, b = simulate(rng, 200)
        res = bootstrap_intervals(
            a, b, level="nominal", n_labels=2, statistics=list(hits), n_resamples=500, seed=i, method="percentile"
        )
        for name, true in (("cohen_kappa", kappa_true), ("accuracy", accuracy_true)):
            hits[name] += res[name].low <= true <= res[name].high
    coverage = {name: h / n_datasets for name, h in hits.items()}
    # 1000 datasets: Monte Carlo s.e. of a 95% coverage is 0.7 points.
    for name, value in coverage.items():
        assert 0.93 <= value <= 0.97, (name, value)


@pytest.mark.slow
def test_group_resampling_restores_coverage_on_clustered_data() -> None:
    kappa_true, _ = population_kappa_accuracy(P_TRUE, Q)
    rng = np.random.default_rng(7)
    n_datasets, group_size, n_items = 500, 4, 400
    hits = {"items": 0, "groups": 0}
    groups = np.repeat(np.arange(n_items // group_size), group_size)
    for i in range(n_datasets):
        a, b = simulate(rng, n_items, group_size)
        for key, grp in (("items", None), ("groups", groups)):
            res = bootstrap_intervals(
                a,
                b,
                level="nominal",
                n_labels=2,
                groups=grp,
                statistics=["cohen_kappa"],
                n_resamples=500,
                seed=i,
                method="percentile",
            )["cohen_kappa"]
            hits[key] += res.low <= kappa_true <= res.high
    coverage = {k: v / n_datasets for k, v in hits.items()}
    # Items sharing a truth are positively correlated: item resampling is too narrow.
    assert 0.92 <= coverage["groups"] <= 0.97, coverage
    assert coverage["items"] < coverage["groups"] - 0.08, coverage
