"""Tidy frames of a study's results, shared by the dashboard (``selene_eval.ui``) and the exports
(``selene_eval.presentation``): what a chart or a table is drawn from. Pure pandas; no streamlit, no altair."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

from selene_eval.core.expert_labels import expert_columns
from selene_eval.core.status import NOT_JUDGED
from selene_eval.results.table import consensus_values
from selene_eval.stats.agreement import ConfusionMatrix


def present(value: object) -> bool:
    """Whether a table cell holds a value (not ``None``, NaN or an empty string)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def confusion_frame(matrix: ConfusionMatrix) -> pd.DataFrame:
    """The confusion matrix as tidy rows ``expert``, ``judge``, ``count`` (every cell, zeros included)."""
    rows = [
        {"expert": expert, "judge": judge, "count": int(matrix.counts[i][j])}
        for i, expert in enumerate(matrix.labels)
        for j, judge in enumerate(matrix.labels)
    ]
    return pd.DataFrame(rows, columns=["expert", "judge", "count"])


def distribution_frame(table: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """How often each label was given by the judge and by the experts (all their labels), as tidy rows.

    ``table`` is a :func:`selene_eval.results.table.judgment_table`; only judged items count, so both sides
    describe the same items. Rows: ``source`` (``Judge`` / ``Experts``), ``label``, ``count``.
    """
    judged = table[~table["judge_status"].isin(NOT_JUDGED)]
    judge_counts = Counter(v for v in judged["judge_label"] if present(v))
    expert_counts = Counter(v for c in expert_columns(judged) for v in judged[c] if present(v))
    rows = [{"source": "Judge", "label": label, "count": judge_counts.get(label, 0)} for label in labels]
    rows += [{"source": "Experts", "label": label, "count": expert_counts.get(label, 0)} for label in labels]
    return pd.DataFrame(rows, columns=["source", "label", "count"])


def with_consensus(frame: pd.DataFrame, level: str, order: Sequence[str]) -> pd.DataFrame:
    """``frame`` plus a ``consensus`` column: the experts' strict-majority label (``None`` without one)."""
    out = frame.copy()
    out["consensus"] = consensus_values(frame, level, list(order))
    return out
