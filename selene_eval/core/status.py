"""The status of one item's judgment, from the parser's verdict to "not judged yet": one enum for every stage.

The values are the strings stored in SQLite (``judgments.status``), shown on the pages and written to the
exports, so they never change. A judgment table (:func:`selene_eval.results.table.judgment_table`) holds
the plain string values, not the members: a table is written to CSV, Parquet and JSON as it is. Because the
enum is a :class:`~enum.StrEnum`, a member equals, hashes and formats like its value, so the sets below
test membership of plain strings and of members alike (also in ``Series.isin``).
"""

from __future__ import annotations

from enum import StrEnum


class JudgmentStatus(StrEnum):
    """What became of one item under one judge and prompt variant."""

    # The parser's verdicts on an answer (the first four are what the text alone can say).
    OK = "ok"
    MISSING_RESULT = "missing_result"  # no result marker, or nothing after it
    OUT_OF_RANGE = "out_of_range"  # a label outside the allowed set (6, 3.5, "Maybe", "tie")
    AMBIGUOUS = "ambiguous"  # more than one label ("4 or 5", "Yes/No", "A and B")
    # No readable label in the text, so the backend forced one (``JudgeSpec.force_verdict``): the stored
    # judgment holds it, the text does not.
    FORCED = "forced"
    # No stored judgment: not run yet, or the prompt cannot be built for the item (a template error).
    PENDING = "pending"
    NOT_RENDERABLE = "not_renderable"

    @property
    def judged(self) -> bool:
        """Whether the item has a stored judgment (readable or not)."""
        return self not in NOT_JUDGED

    @property
    def readable(self) -> bool:
        """Whether the judgment holds a label: one the judge wrote, or a forced one."""
        return self in READABLE

    @property
    def unreadable(self) -> bool:
        """Whether the item was judged but the answer holds no usable label."""
        return self.judged and not self.readable


PARSE_STATUSES: frozenset[JudgmentStatus] = frozenset(
    {
        JudgmentStatus.OK,
        JudgmentStatus.MISSING_RESULT,
        JudgmentStatus.OUT_OF_RANGE,
        JudgmentStatus.AMBIGUOUS,
    }
)
"""The statuses the parser gives an answer's text."""

NOT_JUDGED: frozenset[JudgmentStatus] = frozenset({JudgmentStatus.PENDING, JudgmentStatus.NOT_RENDERABLE})
"""Statuses of items without a stored judgment."""

READABLE: frozenset[JudgmentStatus] = frozenset({JudgmentStatus.OK, JudgmentStatus.FORCED})
"""Statuses of judgments with a label: written by the judge, or forced."""

READABLE_OR_UNJUDGED: frozenset[JudgmentStatus] = READABLE | NOT_JUDGED
"""Statuses that are not an unreadable answer: a label the judge wrote, a forced label, and the two kinds of
items not judged."""
