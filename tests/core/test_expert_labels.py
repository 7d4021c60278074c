"""The ``expert:<name>`` column convention, written in one place."""

from __future__ import annotations

import pandas as pd

from selene_eval.core.expert_labels import (
    EXPERT_PREFIX,
    expert_column,
    expert_columns,
    expert_name,
)


def test_column_and_name_are_inverse() -> None:
    assert expert_column("ann") == f"{EXPERT_PREFIX}ann" == "expert:ann"
    assert expert_name(expert_column("dr: b")) == "dr: b"
    assert expert_name("judge_label") == "judge_label"  # other columns pass unchanged


def test_expert_columns_of_a_frame_or_names() -> None:
    frame = pd.DataFrame(columns=["item_id", "expert:ann", "subgroup:site", "expert:bob", "judge_label"])
    assert expert_columns(frame) == expert_columns(list(frame.columns)) == ["expert:ann", "expert:bob"]
