"""Label coding and expert consensus.

Everything statistical starts here: raw table cells (strings, numbers, blanks) are turned into numeric
codes once, so that the consensus and every metric work on plain ``float`` arrays with ``nan`` for
"missing".

* nominal / ordinal: a cell becomes the index of its label in the label order (``0 .. V-1``). For
  ordinal data that index is the rank.
* interval: a cell becomes its float value.

The expert consensus is the strict majority label (nominal / ordinal) or the mean value (interval) of
the experts who labelled an item.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from selene_eval.core.tasks import Level
from selene_eval.errors import StatisticsError

LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")

# How many distinct offending values an error message or note quotes before it says "and N more".
_MAX_QUOTED = 5


def check_level(level: object) -> Level:
    """Return ``level`` if it is a known measurement level, else raise :class:`StatisticsError`."""
    if level not in LEVELS:
        raise StatisticsError(f"Unknown measurement level {level!r}; use one of: {', '.join(LEVELS)}.")
    return level


def require_columns(table: pd.DataFrame, columns: Iterable[str], role: str) -> None:
    """Raise :class:`StatisticsError` naming every column of ``columns`` that ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        available = ", ".join(repr(str(c)) for c in table.columns) or "(none)"
        names = ", ".join(repr(str(c)) for c in missing)
        raise StatisticsError(
            f"Unknown {role} column{'s' if len(missing) > 1 else ''} {names}; available columns: {available}."
        )


def check_columns(
    table: pd.DataFrame,
    judge: str,
    experts: Sequence[str],
    group: str | None = None,
    *,
    min_experts: int = 1,
    too_few: str = "At least one expert column is needed.",
) -> list[str]:
    """The expert columns as a list, after checking the judge, expert and group columns of ``table``.

    Raises :class:`StatisticsError` (``too_few``, ``{n}`` = the count given) with fewer than ``min_experts`` expert columns, for an
    expert column listed twice, for the judge among the experts, and for a column the table lacks. A bare
    string is taken as one column (as a Sequence of characters it is almost surely a mistake).
    """
    if isinstance(experts, str):
        experts = [experts]
    experts = list(experts)
    if len(experts) < min_experts:
        raise StatisticsError(too_few.format(n=len(experts)))
    repeated = sorted({e for e in experts if experts.count(e) > 1})
    if repeated:
        raise StatisticsError(f"Expert columns are listed more than once: {quote_values(repeated)}.")
    if judge in experts:
        raise StatisticsError(f"Column {judge!r} cannot be both the judge and an expert.")
    require_columns(table, [judge], "judge")
    require_columns(table, experts, "expert")
    if group is not None:
        require_columns(table, [group], "group")
    return experts


def table_group_codes(table: pd.DataFrame, group: str | None) -> np.ndarray:
    """An integer cluster id per row: the ``group`` column's ids, or one group per row.

    Rows without a group id form a group of their own each (they are not clustered with anything).
    """
    n = len(table)
    if group is None:
        return np.arange(n)
    ids = [cell_text(v) for v in table[group].tolist()]
    lookup: dict[str, int] = {}
    out = np.empty(n, dtype=np.int64)
    for i, value in enumerate(ids):
        key = f"\x00row{i}" if value is None else value
        out[i] = lookup.setdefault(key, len(lookup))
    return out


def quote_values(values: Sequence[str]) -> str:
    """``'a', 'b', 'c' and 2 more`` - a short, readable list of offending values."""
    shown = ", ".join(repr(v) for v in values[:_MAX_QUOTED])
    rest = len(values) - _MAX_QUOTED
    return f"{shown} and {rest} more" if rest > 0 else shown


# --------------------------------------------------------------------------------------------------
# Cell normalisation
# --------------------------------------------------------------------------------------------------


def _format_number(value: float) -> str:
    """Canonical text of a number: ``5.0`` -> ``"5"`` (5, 5.0 and "5" are one label), ``2.5`` -> ``"2.5"``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _is_missing(value: object) -> bool:
    """None, NaN, pd.NA / NaT count as missing (blank strings are handled in :func:`cell_text`)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like cells: not "missing", they become bad values later
        return False


def cell_text(value: object) -> str | None:
    """Canonical label text of one cell, or ``None`` when the cell is empty.

    Numbers are written without a spurious ``.0`` because CSV readers turn integer columns with blanks
    into floats; strings are stripped so that ``" yes"`` and ``"yes"`` are one label.
    """
    if _is_missing(value):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        return _format_number(number) if math.isfinite(number) else str(value)
    text = str(value).strip()
    return text or None


def column_texts(cells: Sequence[object]) -> list[str | None]:
    """:func:`cell_text` of every cell, computed once per distinct value (a label column repeats a handful
    of values; a 10,000-item study's report spent a second here otherwise)."""
    seen: dict[tuple[type, object], str | None] = {}
    out: list[str | None] = []
    for value in cells:
        key = (type(value), value)  # by type too: True, 1 and 1.0 are equal keys but different labels
        try:
            text = seen[key]
        except KeyError:
            text = seen[key] = cell_text(value)
        except TypeError:  # an unhashable cell (a list): no memo
            text = cell_text(value)
        out.append(text)
    return out


def cell_float(value: object) -> float | None:
    """Float value of one cell: ``nan`` when empty, ``None`` when it is not a finite number."""
    text = cell_text(value)
    if text is None:
        return math.nan
    if isinstance(value, bool):
        return None  # True/False are not interval measurements
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isnan(number):
        return math.nan  # the literal text "nan" is how some exporters write a blank
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------------
# Coding a table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodedTable:
    """Expert (and optionally judge) labels of a table as numeric codes.

    ``experts`` has shape ``(n_items, n_experts)``, ``judge`` shape ``(n_items,)``; ``nan`` = missing.
    For nominal / ordinal data a code is the index into ``labels``; for interval data it is the value.
    """

    level: Level
    labels: tuple[str, ...]
    experts: np.ndarray
    judge: np.ndarray | None
    n_judge_offscale: int  # judge cells that were present but outside the label set (now nan)
    judge_offscale_values: tuple[str, ...]  # their distinct texts, for the note


def code_table(
    table: pd.DataFrame,
    experts: Sequence[str],
    level: Level,
    *,
    judge: str | None = None,
    order: Sequence[object] | None = None,
) -> CodedTable:
    """Code the ``experts`` (and ``judge``) columns of ``table`` at ``level``.

    Label set, by level:

    * nominal: ``order`` if given, else the sorted distinct values of judge and experts;
    * ordinal: ``order`` (ranks = positions) if given, else the distinct values sorted numerically
      (all values must then be numbers);
    * interval: none; every value must be a number. ``order`` is ignored.

    Expert values outside ``order`` raise :class:`StatisticsError` (the setup is wrong). Judge values
    outside ``order`` become missing and are counted in ``n_judge_offscale``: the judge answered
    off-scale, which is a property of the judge to report, not a reason to stop.
    """
    level = check_level(level)
    columns = ([judge] if judge is not None else []) + list(experts)
    require_columns(table, columns, "label")
    ambiguous = sorted({str(c) for c in columns if (table.columns == c).sum() > 1})
    if ambiguous:
        raise StatisticsError(f"The table has more than one column named {quote_values(ambiguous)}.")
    frame = table.loc[:, columns]
    n_items = len(frame)

    if level == "interval":
        values = np.empty((n_items, len(columns)), dtype=float)
        for j, column in enumerate(columns):
            cells = frame.iloc[:, j].tolist()
            parsed = [cell_float(v) for v in cells]
            bad = sorted({str(v) for v, p in zip(cells, parsed) if p is None})
            if bad:
                raise StatisticsError(
                    f"Column {column!r} holds values that are not numbers: {quote_values(bad)}; "
                    "interval statistics need numeric labels."
                )
            values[:, j] = parsed
        return _split(values, judge is not None, level, (), 0, ())

    texts = [column_texts(frame.iloc[:, j].tolist()) for j in range(len(columns))]
    if order is not None:
        labels = _checked_order(order)
        lookup = {label: code for code, label in enumerate(labels)}
    elif level == "ordinal":
        labels, lookup = _numeric_scale(columns, texts)
    else:
        labels = tuple(sorted({t for col in texts for t in col if t is not None}))
        lookup = {label: code for code, label in enumerate(labels)}

    codes = np.full((n_items, len(columns)), np.nan)
    offscale: list[str] = []
    for j, (column, col_texts) in enumerate(zip(columns, texts)):
        col_codes = [lookup.get(t, np.nan) if t is not None else np.nan for t in col_texts]
        unknown = [t for t, c in zip(col_texts, col_codes) if t is not None and np.isnan(c)]
        if unknown and (judge is None or j > 0):
            raise StatisticsError(
                f"Expert column {column!r} holds labels that are not in the order "
                f"({quote_values(list(labels))}): {quote_values(sorted(set(unknown)))}."
            )
        offscale.extend(unknown)
        codes[:, j] = col_codes
    return _split(codes, judge is not None, level, labels, len(offscale), tuple(sorted(set(offscale))))


def _split(
    matrix: np.ndarray,
    has_judge: bool,
    level: Level,
    labels: tuple[str, ...],
    n_offscale: int,
    offscale: tuple[str, ...],
) -> CodedTable:
    """Build a :class:`CodedTable` from a matrix whose first column is the judge when ``has_judge``."""
    judge = matrix[:, 0] if has_judge else None
    experts = matrix[:, 1:] if has_judge else matrix
    return CodedTable(level, labels, experts, judge, n_offscale, offscale)


def _checked_order(order: Sequence[object]) -> tuple[str, ...]:
    """Canonical label texts of a user-given order; blanks and duplicates are errors."""
    if isinstance(order, str):
        raise StatisticsError(f"The label order must be a list of labels, not the single string {order!r}.")
    labels = tuple(cell_text(v) for v in order)
    if not labels or any(label is None for label in labels):
        raise StatisticsError("The label order must list at least one label and no blank ones.")
    texts = cast(tuple[str, ...], labels)  # no None: checked just above
    duplicates = sorted({label for label in texts if texts.count(label) > 1})
    if duplicates:
        raise StatisticsError(f"The label order repeats {quote_values(duplicates)}.")
    return texts


def _numeric_scale(
    columns: Sequence[str], texts: Sequence[Sequence[str | None]]
) -> tuple[tuple[str, ...], dict[str, int]]:
    """Ordinal scale from numeric labels: distinct numbers sorted ascending.

    Returns the canonical labels and a lookup from every cell text to its rank, so that ``"3"`` and
    ``"3.0"`` share a rank.
    """
    numbers_of: dict[str, float] = {}
    for column, col_texts in zip(columns, texts):
        bad = set()
        for text in {t for t in col_texts if t is not None}:
            number = cell_float(text)
            if number is None or math.isnan(number):
                bad.add(text)
            else:
                numbers_of[text] = number
        if bad:
            raise StatisticsError(
                f"Column {column!r} holds non-numeric labels {quote_values(sorted(bad))}; ordinal labels "
                "without an explicit order must be numbers - pass --order to rank text labels."
            )
    scale = sorted(set(numbers_of.values()))
    rank = {number: code for code, number in enumerate(scale)}
    return tuple(_format_number(n) for n in scale), {t: rank[n] for t, n in numbers_of.items()}


# --------------------------------------------------------------------------------------------------
# Consensus
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # eq=False: comparing Series with == is elementwise, not a bool
class Consensus:
    """Expert consensus per item.

    ``values``: index = table index; canonical label (str) for nominal/ordinal, float for interval;
    ``None`` / ``NaN`` where there is no consensus. ``n_no_majority``: items with at least one expert
    label but no strict majority (always 0 for interval). ``n_unlabelled``: items no expert labelled.
    """

    values: pd.Series
    n_no_majority: int
    n_unlabelled: int


def consensus_codes(experts: np.ndarray, level: Level, n_labels: int) -> tuple[np.ndarray, int, int]:
    """Consensus of a coded ``(n_items, n_experts)`` matrix.

    Returns ``(codes, n_no_majority, n_unlabelled)`` where ``codes`` holds the majority code (or the mean
    value for interval) per item and ``nan`` where there is none. A strict majority is a label given by
    more than half of the experts who labelled the item - experts who skipped it do not vote.
    """
    present = ~np.isnan(experts)
    n_labelled = present.sum(axis=1)
    n_unlabelled = int((n_labelled == 0).sum())
    if level == "interval":
        sums = np.where(present, experts, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for unlabelled items is the nan we want
            return sums / n_labelled, 0, n_unlabelled
    if n_labels == 0:  # no label anywhere: every item is unlabelled
        return np.full(len(experts), np.nan), 0, n_unlabelled
    codes = np.where(present, experts, -1).astype(int)
    votes = (codes[:, :, None] == np.arange(n_labels)).sum(axis=1)  # (n_items, n_labels)
    top = votes.max(axis=1)
    has_majority = 2 * top > n_labelled  # strict: a tie at half is not a majority
    values = np.where(has_majority, votes.argmax(axis=1), np.nan)
    n_no_majority = int(((n_labelled > 0) & ~has_majority).sum())
    return values, n_no_majority, n_unlabelled


def decode(codes: np.ndarray, labels: tuple[str, ...], index: pd.Index, level: Level) -> pd.Series:
    """Series of canonical labels (``None`` where ``nan``) or of floats for interval data."""
    if level == "interval":
        return pd.Series(codes, index=index, dtype=float)
    decoded = [None if np.isnan(c) else labels[int(c)] for c in codes]
    return pd.Series(decoded, index=index, dtype=object)  # object keeps None (pandas 3 would infer str)


def consensus(labels: pd.DataFrame, level: Level, *, order: Sequence[object] | None = None) -> Consensus:
    """Expert consensus of ``labels`` (one column per expert; empty cells are missing).

    Nominal / ordinal: the label given by more than half of the experts who labelled the item (with
    3 labellers >= 2 votes, with 2 both must agree, with 1 that label). Interval: the mean of the numeric
    labels present. ``order`` (optional) restricts the allowed labels; at ordinal level without it the
    labels must be numeric. Raises :class:`StatisticsError` on bad values or an unknown level.
    """
    level = check_level(level)
    coded = code_table(labels, list(labels.columns), level, order=order)
    codes, n_no_majority, n_unlabelled = consensus_codes(coded.experts, level, len(coded.labels))
    return Consensus(decode(codes, coded.labels, labels.index, level), n_no_majority, n_unlabelled)
