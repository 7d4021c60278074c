"""StatisticsOptions: one record of the shared settings, equal to passing its fields as keywords."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from selene_eval.errors import StatisticsError
from selene_eval.stats.agreement import agreement, subgroup_agreement
from selene_eval.stats.options import StatisticsOptions
from selene_eval.stats.profile import judge_profile

LABELS = ["1", "2", "3", "4", "5"]


def _table(n: int = 120, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, n)
    data = {"judge": [LABELS[i] for i in np.clip(truth + rng.integers(-1, 2, n), 0, 4)]}
    for e in range(3):
        data[f"e{e}"] = [LABELS[i] for i in np.clip(truth + rng.integers(-1, 2, n) * (rng.random(n) < 0.3), 0, 4)]
    data["question"] = [f"q{i // 4}" for i in range(n)]
    data["topic"] = [f"t{i % 3}" for i in range(n)]
    return pd.DataFrame(data)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def test_options_record_equals_keywords() -> None:
    table, experts = _table(), ["e0", "e1", "e2"]
    settings = dict(order=LABELS, group="question", n_resamples=200, ci_level=0.9, seed=4, min_compared=5)
    options = StatisticsOptions(**settings)  # type: ignore[arg-type]
    by_keywords = agreement(table, "judge", experts, "ordinal", **settings)  # type: ignore[arg-type]
    by_record = agreement(table, "judge", experts, "ordinal", options)
    assert _json(by_record.to_dict(with_uncertainty=True)) == _json(by_keywords.to_dict(with_uncertainty=True))
    profile_a = judge_profile(table, "judge", experts, "ordinal", options)
    profile_b = judge_profile(table, "judge", experts, "ordinal", **settings)  # type: ignore[arg-type]
    assert _json(profile_a.to_dict()) == _json(profile_b.to_dict())
    subgroups = subgroup_agreement(table, "topic", "judge", experts, "ordinal", options)
    assert [key for key, _ in subgroups] == ["t0", "t1", "t2"]


def test_keywords_override_the_record_and_bad_settings_raise() -> None:
    table, experts = _table(), ["e0", "e1", "e2"]
    base = StatisticsOptions(order=LABELS, n_resamples=200, seed=1)
    report = agreement(table, "judge", experts, "ordinal", base, seed=2, n_resamples=0)
    assert (report.seed, report.n_resamples, report.intervals) == (2, 0, {})
    with pytest.raises(StatisticsError, match="n_resamples"):
        agreement(table, "judge", experts, "ordinal", base, n_resamples=50)
    with pytest.raises(StatisticsError, match="min_compared"):
        agreement(table, "judge", experts, "ordinal", base, min_compared=-1)
    with pytest.raises(TypeError):
        agreement(table, "judge", experts, "ordinal", base, no_such_setting=1)  # type: ignore[call-arg]
