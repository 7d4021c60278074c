"""The one status enum: its values are stored in SQLite and shown, so they never change."""

from __future__ import annotations

import json

import pandas as pd

from selene_eval.core.status import (
    NOT_JUDGED,
    PARSE_STATUSES,
    READABLE,
    READABLE_OR_UNJUDGED,
    JudgmentStatus,
)
from selene_eval.prompts.parser import ParseStatus


def test_the_values_are_the_stored_strings() -> None:
    assert [s.value for s in JudgmentStatus] == [
        "ok",
        "missing_result",
        "out_of_range",
        "ambiguous",
        "forced",
        "pending",
        "not_renderable",
    ]
    assert ParseStatus is JudgmentStatus
    assert {s.value for s in PARSE_STATUSES} == {"ok", "missing_result", "out_of_range", "ambiguous"}


def test_members_read_like_their_values() -> None:
    # a plain string read back from SQLite or a table meets the members in sets, dicts, isin and text
    assert "pending" in NOT_JUDGED and "forced" in READABLE and "ambiguous" not in READABLE_OR_UNJUDGED
    assert {"forced": 3}.get(JudgmentStatus.FORCED) == 3
    assert f"{JudgmentStatus.OUT_OF_RANGE}" == "out_of_range" and json.dumps([JudgmentStatus.OK]) == '["ok"]'
    column = pd.Series(["ok", "pending", "ambiguous", "not_renderable", "forced"])
    assert column.isin(NOT_JUDGED).tolist() == [False, True, False, True, False]
    assert column.isin(READABLE).tolist() == [True, False, False, False, True]


def test_judged_readable_unreadable() -> None:
    table = {s: (s.judged, s.readable, s.unreadable) for s in JudgmentStatus}
    assert table == {
        JudgmentStatus.OK: (True, True, False),
        JudgmentStatus.MISSING_RESULT: (True, False, True),
        JudgmentStatus.OUT_OF_RANGE: (True, False, True),
        JudgmentStatus.AMBIGUOUS: (True, False, True),
        JudgmentStatus.FORCED: (True, True, False),
        JudgmentStatus.PENDING: (False, False, False),
        JudgmentStatus.NOT_RENDERABLE: (False, False, False),
    }
