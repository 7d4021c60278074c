"""Error profile per label, majority-label baseline, balanced accuracy, ambiguity split (issue #17, points 1-2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, precision_score, recall_score

from selene_eval.stats.error_profile import (
    PER_LABEL_STATISTICS,
    ambiguity_split,
    confusion_error_profile,
    error_profile,
)
from selene_eval.stats.uncertainty import bootstrap_intervals


def _noisy(truth: np.ndarray, labels: list[str], p: float, rng: np.random.Generator) -> np.ndarray:
    wrong = rng.random(truth.size) < p
    return np.where(wrong, rng.choice(labels, truth.size), truth)


@pytest.mark.parametrize("labels", [["no", "yes"], ["A", "B", "tie"], ["1", "2", "3", "4", "5"]])
def test_per_label_rates_equal_scikit_learn(labels: list[str]) -> None:
    rng = np.random.default_rng(len(labels))
    truth = rng.choice(labels, 400, p=np.linspace(1, 2, len(labels)) / np.linspace(1, 2, len(labels)).sum())
    frame = pd.DataFrame({"judge": _noisy(truth, labels, 0.3, rng), "expert": truth})
    profile = error_profile(frame, "judge", ["expert"], "nominal", order=labels, n_resamples=0)
    y_true, y_pred = frame["expert"], frame["judge"]
    table = confusion_matrix(y_true, y_pred, labels=labels)
    n = table.sum()
    for k, label in enumerate(labels):
        stats = profile.per_label[k].statistics
        assert stats["sensitivity"].estimate == pytest.approx(
            recall_score(y_true, y_pred, labels=[label], average="macro")
        )
        assert stats["precision"].estimate == pytest.approx(
            precision_score(y_true, y_pred, labels=[label], average="macro")
        )
        assert stats["f1"].estimate == pytest.approx(f1_score(y_true, y_pred, labels=[label], average="macro"))
        # specificity / NPV = recall / precision of "not this label"
        negative_true, negative_pred = y_true != label, y_pred != label
        assert stats["specificity"].estimate == pytest.approx(recall_score(negative_true, negative_pred))
        assert stats["negative_predictive_value"].estimate == pytest.approx(
            precision_score(negative_true, negative_pred)
        )
        assert stats["expert_rate"].estimate == pytest.approx(table[k].sum() / n)
        assert stats["judge_rate"].estimate == pytest.approx(table[:, k].sum() / n)
        assert profile.per_label[k].n_expert == table[k].sum()
    assert profile.overall["balanced_accuracy"].estimate == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert profile.overall["accuracy"].estimate == pytest.approx(np.mean(y_true == y_pred))
    assert profile.overall["majority_baseline"].estimate == pytest.approx(y_true.value_counts().max() / n)


def test_majority_baseline_beats_a_judge_on_a_skewed_question() -> None:
    # the example: 93 % "no" - always answering "no" beats a judge with 90 % accuracy
    expert = np.array(["no"] * 93 + ["yes"] * 7)
    judge = expert.copy()
    judge[:10] = "yes"  # ten false alarms
    frame = pd.DataFrame({"judge": judge, "e": expert})
    profile = error_profile(frame, "judge", ["e"], "nominal", n_resamples=200)
    assert profile.overall["majority_baseline"].estimate == pytest.approx(0.93)
    assert profile.overall["accuracy"].estimate == pytest.approx(0.90)
    assert profile.beats_baseline is False
    base = profile.overall["majority_baseline"]
    assert base.low <= 0.93 <= base.high and base.low < base.high


def test_intervals_are_the_clustered_bootstrap_of_the_other_statistics() -> None:
    rng = np.random.default_rng(3)
    truth = rng.choice(["no", "yes"], 240)
    judge = _noisy(truth, ["no", "yes"], 0.4, rng)
    groups = np.repeat(np.arange(40), 6)
    codes_e, codes_j = (truth == "yes").astype(float), (judge == "yes").astype(float)
    profile = confusion_error_profile(codes_e, codes_j, ["no", "yes"], groups=groups, n_resamples=500, seed=7)
    reference = bootstrap_intervals(
        codes_e, codes_j, level="nominal", n_labels=2, groups=groups, statistics=["accuracy"], n_resamples=500, seed=7
    )["accuracy"]
    accuracy = profile.overall["accuracy"]
    assert (accuracy.low, accuracy.high, accuracy.method) == (reference.low, reference.high, reference.method)
    # resampling whole groups: a different interval from resampling items
    unclustered = confusion_error_profile(codes_e, codes_j, ["no", "yes"], n_resamples=500, seed=7)
    assert unclustered.overall["accuracy"].low != accuracy.low
    for label in profile.per_label:
        for name in PER_LABEL_STATISTICS:
            iv = label.statistics[name]
            assert iv.low <= iv.estimate <= iv.high, (label.label, name)


def test_undefined_rates_say_why() -> None:
    frame = pd.DataFrame({"judge": ["no"] * 30, "e": ["no"] * 25 + ["yes"] * 5})
    profile = error_profile(frame, "judge", ["e"], "nominal", n_resamples=200)
    yes = next(p for p in profile.per_label if p.label == "yes")
    precision = yes.statistics["precision"]
    assert math.isnan(precision.estimate)
    assert "never answered 'yes'" in precision.note


def test_below_the_study_minimum_and_at_interval_level_the_profile_is_na_with_a_reason() -> None:
    frame = pd.DataFrame({"judge": ["no", "yes", "no"], "e": ["no", "yes", "yes"]})
    small = error_profile(frame, "judge", ["e"], "nominal", min_compared=10)
    assert small.undefined is not None and "fewer than this study's minimum of 10" in small.undefined
    assert math.isnan(small.overall["accuracy"].estimate) and small.to_dict()["beats_baseline"] is None
    scores = pd.DataFrame({"judge": [1.0, 2.5], "e": [1.0, 2.0]})
    assert "interval level" in error_profile(scores, "judge", ["e"], "interval").undefined


def test_ambiguity_split_counts_unanimous_and_split_items_and_scores_soft_labels() -> None:
    frame = pd.DataFrame(
        {
            "judge": ["yes", "yes", "no", "no", "yes", None],
            "e1": ["yes", "yes", "no", "yes", "yes", "no"],
            "e2": ["yes", "no", "no", "yes", None, "no"],
            "e3": ["yes", "no", "no", "no", None, "no"],
        }
    )
    result = ambiguity_split(frame, "judge", ["e1", "e2", "e3"], "nominal", n_resamples=0)
    parts = {p.kind: p for p in result.parts}
    assert parts["unanimous"].n_items == 2  # rows 0 and 2 (row 5 has no judge label)
    assert parts["split"].n_items == 2  # rows 1 and 3
    assert parts["unanimous"].accuracy.estimate == 1.0
    assert parts["split"].accuracy.estimate == 0.0  # judge "yes" vs majority "no"; judge "no" vs majority "yes"
    assert result.n_single_expert == 1  # row 4
    # share of the item's experts who gave the judge's label: 1, 1/3, 1, 1/3, 1
    assert result.soft_agreement.estimate == pytest.approx(np.mean([1, 1 / 3, 1, 1 / 3, 1]))
    assert result.n_soft == 5


def test_ambiguity_split_needs_two_experts_and_says_when_a_part_is_empty() -> None:
    one = pd.DataFrame({"judge": ["yes", "no"], "e1": ["yes", "no"]})
    assert "at least 2 expert columns" in ambiguity_split(one, "judge", ["e1"], "nominal").undefined
    agreeing = pd.DataFrame({"judge": ["yes", "no"] * 10, "e1": ["yes", "no"] * 10, "e2": ["yes", "no"] * 10})
    result = ambiguity_split(agreeing, "judge", ["e1", "e2"], "nominal", n_resamples=200)
    split = next(p for p in result.parts if p.kind == "split")
    assert split.n_items == 0 and "no split items" in split.accuracy.note and "3 or more experts" in split.accuracy.note
    unanimous = next(p for p in result.parts if p.kind == "unanimous")
    assert unanimous.accuracy.estimate == 1.0


def test_cross_entropy_of_the_judge_probabilities_against_the_experts_distribution() -> None:
    frame = pd.DataFrame(
        {
            "judge": ["yes", "no", "yes"],
            "e1": ["yes", "no", "no"],
            "e2": ["yes", "yes", "no"],
            "probs": [{"yes": 0.8, "no": 0.2}, {"yes": 0.3, "no": 0.7}, None],
        }
    )
    result = ambiguity_split(frame, "judge", ["e1", "e2"], "nominal", n_resamples=0, probabilities="probs")
    expected = np.mean([-np.log(0.8), -(0.5 * np.log(0.3) + 0.5 * np.log(0.7))])
    assert result.n_cross_entropy == 2
    assert result.cross_entropy is not None and result.cross_entropy.estimate == pytest.approx(expected)
    without = ambiguity_split(frame, "judge", ["e1", "e2"], "nominal", n_resamples=0)
    assert without.cross_entropy is None


def test_clustered_mean_interval_resamples_whole_groups() -> None:
    from selene_eval.stats.error_profile import clustered_mean_interval

    rng = np.random.default_rng(4)
    values = np.repeat(rng.random(200) < 0.4, 4).astype(float)  # each value 4 times, one group per value
    items = clustered_mean_interval(values, None, n_resamples=2000, level_ci=0.95, seed=1)
    groups = clustered_mean_interval(values, np.repeat(np.arange(200), 4), n_resamples=2000, level_ci=0.95, seed=1)
    assert items.estimate == groups.estimate == pytest.approx(values.mean())
    # four copies per group: the honest interval is twice as wide as the one that treats copies as independent
    assert 1.7 < (groups.high - groups.low) / (items.high - items.low) < 2.3


def test_bad_options_are_refused_with_what_to_fix() -> None:
    from selene_eval.errors import StatisticsError
    from selene_eval.stats.ppi import unlabelled_estimates

    frame = pd.DataFrame({"judge": ["yes", "no"] * 10, "e1": ["yes", "no"] * 10, "e2": ["yes", "no"] * 10})
    with pytest.raises(StatisticsError, match="at least 100"):
        error_profile(frame, "judge", ["e1"], "nominal", n_resamples=50)
    with pytest.raises(StatisticsError, match="at least 100"):
        ambiguity_split(frame, "judge", ["e1", "e2"], "nominal", n_resamples=50)
    with pytest.raises(StatisticsError, match="between 0 and 1"):
        unlabelled_estimates(frame, "judge", ["e1"], "nominal", ci_level=95)
    with pytest.raises(StatisticsError, match="zzz"):
        error_profile(frame, "zzz", ["e1"], "nominal")
