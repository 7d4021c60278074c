"""Estimates for the unlabelled items: PPI++, experts-only, judge-only, Rogan-Gladen (issue #17, point 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from selene_eval.stats.error_profile import confusion_error_profile
from selene_eval.stats.ppi import classical_mean, ppi_mean, rogan_gladen, unlabelled_estimates


def _binary(rng: np.random.Generator, n: int, big_n: int, rate: float, accuracy: float):
    y = (rng.random(n) < rate).astype(float)
    f = np.where(rng.random(n) < accuracy, y, 1 - y)
    y_u = (rng.random(big_n) < rate).astype(float)
    f_u = np.where(rng.random(big_n) < accuracy, y_u, 1 - y_u)
    return y, f, f_u, y_u


@pytest.mark.parametrize("seed", range(6))
def test_ppi_equals_ppi_python(seed: int) -> None:
    ppi_py = pytest.importorskip("ppi_py")  # test-only dependency (requirements-dev.txt)
    rng = np.random.default_rng(seed)
    if seed % 2:
        y, f, f_u, _ = _binary(rng, 50 + 40 * seed, 1000, 0.2 + 0.1 * seed, 0.6 + 0.06 * seed)
    else:  # 1-5 scores
        y = rng.integers(1, 6, 120).astype(float)
        f = np.clip(y + rng.integers(-seed, seed + 1, y.size), 1, 5)
        f_u = rng.integers(1, 6, 700).astype(float)
    ours = ppi_mean(y, f, f_u, level_ci=0.95)
    low, high = ppi_py.ppi_mean_ci(y, f, f_u, alpha=0.05)
    assert ours.mean.estimate == pytest.approx(float(np.squeeze(ppi_py.ppi_mean_pointestimate(y, f, f_u))), abs=1e-6)
    assert (ours.mean.low, ours.mean.high) == pytest.approx((float(low[0]), float(high[0])), abs=1e-6)
    for fixed in (0.0, 1.0):  # experts-only and plain PPI
        pinned = ppi_mean(y, f, f_u, lam=fixed)
        low, high = ppi_py.ppi_mean_ci(y, f, f_u, alpha=0.05, lam=fixed)
        assert (pinned.mean.low, pinned.mean.high) == pytest.approx((float(low[0]), float(high[0])), abs=1e-6)
    classical = classical_mean(y)
    low, high = ppi_py.classical_mean_ci(y, alpha=0.05)
    assert (classical.low, classical.high) == pytest.approx((float(low), float(high)), abs=1e-6)


def test_clustered_ppi_reduces_to_ppi_python_with_one_item_per_cluster_and_widens_with_real_clusters() -> None:
    rng = np.random.default_rng(11)
    y, f, f_u, _ = _binary(rng, 200, 800, 0.3, 0.85)
    plain = ppi_mean(y, f, f_u)
    singletons = ppi_mean(y, f, f_u, groups=np.arange(200), groups_unlabelled=np.arange(200, 1000))
    assert singletons.mean.std_error == pytest.approx(plain.mean.std_error, rel=1e-12)
    # whole clusters of identical items: the clustered standard error must grow
    y_c, f_c, fu_c = np.repeat(y[:50], 4), np.repeat(f[:50], 4), np.repeat(f_u[:200], 4)
    clustered = ppi_mean(
        y_c, f_c, fu_c, groups=np.repeat(np.arange(50), 4), groups_unlabelled=np.repeat(np.arange(50, 250), 4)
    )
    naive = ppi_mean(y_c, f_c, fu_c)
    assert clustered.mean.std_error == pytest.approx(2 * naive.mean.std_error, rel=0.01)


def test_rogan_gladen_equals_the_closed_form() -> None:
    q, se, sp = 0.4, 0.9, 0.8
    result = rogan_gladen(q, 1000, se, 100, sp, 150)
    rate = (q + sp - 1) / (se + sp - 1)
    var = (q * (1 - q) / 1000 + rate**2 * se * (1 - se) / 100 + (1 - rate) ** 2 * sp * (1 - sp) / 150) / (
        se + sp - 1
    ) ** 2
    assert result.estimate == pytest.approx(rate)
    assert (result.low, result.high) == pytest.approx(
        (rate - 1.959963984540054 * math.sqrt(var), rate + 1.959963984540054 * math.sqrt(var))
    )
    useless = rogan_gladen(q, 1000, 0.5, 100, 0.5, 150)
    assert math.isnan(useless.estimate) and "no better than chance" in useless.note


def _study_frame(rng: np.random.Generator, n: int, big_n: int, accuracy: float) -> pd.DataFrame:
    truth = rng.random(n + big_n) < 0.3
    judge = np.where(rng.random(n + big_n) < accuracy, truth, ~truth)
    expert = np.where(truth, "yes", "no").astype(object)
    expert[n:] = None
    return pd.DataFrame({"judge": np.where(judge, "yes", "no"), "expert": expert})


def test_unlabelled_estimates_give_three_estimates_per_label_and_rogan_gladen() -> None:
    frame = _study_frame(np.random.default_rng(5), 150, 1500, 0.9)
    result = unlabelled_estimates(frame, "judge", ["expert"], "nominal")
    assert result.undefined is None and (result.n_labelled, result.n_unlabelled) == (150, 1500)
    share_yes = next(t for t in result.targets if t.target == "share of 'yes'")
    y = (frame["expert"][:150] == "yes").to_numpy(float)
    f = (frame["judge"] == "yes").to_numpy(float)
    assert share_yes.experts_only.estimate == pytest.approx(y.mean())
    assert share_yes.judge_only.estimate == pytest.approx(f.mean())
    assert share_yes.ppi.mean.estimate == pytest.approx(ppi_mean(y, f[:150], f[150:]).mean.estimate)
    assert share_yes.judge_helps is True and share_yes.effective_labels > 150
    profile = confusion_error_profile(
        (frame["expert"][:150] == "yes").to_numpy(float), f[:150], ["no", "yes"], n_resamples=0
    )
    yes = profile.per_label[1].statistics
    expected = rogan_gladen(
        f.mean(), 1650, yes["sensitivity"].estimate, int(y.sum()), yes["specificity"].estimate, int((1 - y).sum())
    )
    assert result.rogan_gladen == expected


def test_a_useless_judge_is_called_useless_in_words() -> None:
    rng = np.random.default_rng(8)
    frame = _study_frame(rng, 200, 1000, 0.5)
    frame["judge"] = rng.choice(["yes", "no"], len(frame))  # independent of the truth
    result = unlabelled_estimates(frame, "judge", ["expert"], "nominal")
    target = result.targets[1]
    assert target.judge_helps is False and "does not help" in target.note


def test_scores_get_a_mean_estimate() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(1, 6, 600)
    judge = np.clip(truth + rng.integers(-1, 2, 600), 1, 5)
    frame = pd.DataFrame({"judge": judge.astype(str), "e": truth.astype(str).astype(object)})
    frame.loc[100:, "e"] = None
    result = unlabelled_estimates(frame, "judge", ["e"], "ordinal")
    mean = next(t for t in result.targets if t.target == "mean score")
    assert mean.experts_only.estimate == pytest.approx(truth[:100].mean())
    assert mean.ppi.mean.low < truth.mean() < mean.ppi.mean.high


def test_no_unlabelled_items_and_no_labelled_items_say_what_is_missing() -> None:
    full = pd.DataFrame({"judge": ["yes", "no"] * 10, "e": ["yes", "no"] * 10})
    result = unlabelled_estimates(full, "judge", ["e"], "nominal")
    assert result.targets == () and "every item has an expert label" in result.undefined
    bare = pd.DataFrame({"judge": ["yes", "no"] * 10, "e": [None] * 20})
    result = unlabelled_estimates(bare, "judge", ["e"], "nominal")
    assert "no item has both an expert consensus and a judge label" in result.undefined
    few = _study_frame(np.random.default_rng(1), 5, 50, 0.9)
    assert (
        "this study's minimum of 30"
        in unlabelled_estimates(few, "judge", ["expert"], "nominal", min_compared=30).undefined
    )


@pytest.mark.slow
def test_intervals_cover_the_truth_and_ppi_is_narrower_only_when_the_judge_is_good() -> None:
    """Coverage of PPI and of the per-label rates in repeated simulated studies (fixed seed: deterministic)."""
    rng = np.random.default_rng(2024)
    rate, n, big_n, runs = 0.3, 150, 1500, 2000
    covered, rg_covered, ratio_good, ratio_useless = 0, 0, [], []
    for _ in range(runs):
        y, f, f_u, _ = _binary(rng, n, big_n, rate, 0.9)
        good = ppi_mean(y, f, f_u)
        covered += good.mean.low <= rate <= good.mean.high
        ratio_good.append(good.mean.width / classical_mean(y).width)
        pos = y == 1
        rg = rogan_gladen(
            np.concatenate([f, f_u]).mean(),
            n + big_n,
            f[pos].mean(),
            int(pos.sum()),
            1 - f[~pos].mean(),
            int((~pos).sum()),
        )
        rg_covered += rg.low <= rate <= rg.high
        noise, noise_u = (rng.random(n) < 0.5).astype(float), (rng.random(big_n) < 0.5).astype(float)
        ratio_useless.append(ppi_mean(y, noise, noise_u).mean.width / classical_mean(y).width)
    assert 0.93 <= covered / runs <= 0.97
    # Rogan-Gladen's delta interval counts the labelled items' judge labels in q as independent of Se/Sp:
    # slightly conservative (0.97 here), never below the nominal level
    assert 0.93 <= rg_covered / runs <= 0.98
    assert np.mean(ratio_good) < 0.8
    assert np.mean(ratio_useless) <= 1.03

    # the per-label rates' bootstrap intervals: sensitivity 0.85 and specificity 0.9 of a judge on 300 items
    hits = {"sensitivity": 0, "specificity": 0}
    runs = 600
    for i in range(runs):
        truth = rng.random(300) < 0.4
        judge = np.where(truth, rng.random(300) < 0.85, rng.random(300) >= 0.9)
        profile = confusion_error_profile(
            truth.astype(float), judge.astype(float), ["no", "yes"], n_resamples=400, seed=i
        )
        yes = profile.per_label[1].statistics
        hits["sensitivity"] += yes["sensitivity"].low <= 0.85 <= yes["sensitivity"].high
        hits["specificity"] += yes["specificity"].low <= 0.9 <= yes["specificity"].high
    for name, count in hits.items():
        assert 0.93 <= count / runs <= 0.97, (name, count / runs)


def test_interval_scores_get_a_mean_estimate_and_no_label_shares() -> None:
    rng = np.random.default_rng(6)
    truth = rng.normal(3, 1, 400)
    frame = pd.DataFrame({"judge": truth + rng.normal(0, 0.4, 400), "e": truth + rng.normal(0, 0.2, 400)})
    frame.loc[120:, "e"] = np.nan
    result = unlabelled_estimates(frame, "judge", ["e"], "interval")
    (mean,) = result.targets
    expected = ppi_mean(frame["e"][:120].to_numpy(), frame["judge"][:120].to_numpy(), frame["judge"][120:].to_numpy())
    assert mean.target == "mean score" and mean.ppi.mean.estimate == pytest.approx(expected.mean.estimate)
    assert result.rogan_gladen is None and mean.judge_helps is True
