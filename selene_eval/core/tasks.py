"""Task types and their canonical labels.

Three kinds of judgment are supported. Each has a fixed set of canonical label strings, used everywhere
(stored judgments, expert labels after mapping, statistics):

* ``absolute``: a 1-5 score, labels ``"1"`` .. ``"5"``; ordinal.
* ``binary``: a yes/no classification, labels ``"yes"`` / ``"no"``; nominal.
* ``pairwise``: which of two responses is better, labels ``"A"`` / ``"B"``; experts may also say ``"tie"``
  (Selene itself never answers tie). Nominal.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

Level = Literal["nominal", "ordinal", "interval"]
"""Measurement level of a label scale, which decides the statistics (see :attr:`TaskType.level`)."""


class TaskType(str, Enum):
    """The kind of judgment a study asks for."""

    ABSOLUTE = "absolute"
    BINARY = "binary"
    PAIRWISE = "pairwise"

    @property
    def expert_labels(self) -> tuple[str, ...]:
        """Canonical labels an expert may give, in order."""
        return _EXPERT_LABELS[self]

    @property
    def judge_labels(self) -> tuple[str, ...]:
        """Canonical labels the judge may give (no tie for pairwise)."""
        return _JUDGE_LABELS[self]

    @property
    def level(self) -> Level:
        """Measurement level used for statistics: ``ordinal`` for scores, ``nominal`` otherwise."""
        return "ordinal" if self is TaskType.ABSOLUTE else "nominal"

    @property
    def display_name(self) -> str:
        """How the task is named on screen (the dashboard's task picker, sidebar and study list)."""
        return _TITLES[self]

    @property
    def words(self) -> str:
        """The task in a sentence's words, as the HTML report's methods text says it ("asks for ...")."""
        return _WORDS[self]


_TITLES: dict[TaskType, str] = {
    TaskType.ABSOLUTE: "Score from 1 to 5 (absolute)",
    TaskType.BINARY: "Yes or no (binary classification)",
    TaskType.PAIRWISE: "Which of two responses is better, A or B (pairwise)",
}
_WORDS: dict[TaskType, str] = {
    TaskType.ABSOLUTE: "a score from 1 to 5 (absolute scoring)",
    TaskType.BINARY: "yes or no (binary classification)",
    TaskType.PAIRWISE: "which of two responses is better, A or B (pairwise preference; experts may say tie)",
}
_EXPERT_LABELS: dict[TaskType, tuple[str, ...]] = {
    TaskType.ABSOLUTE: ("1", "2", "3", "4", "5"),
    TaskType.BINARY: ("yes", "no"),
    TaskType.PAIRWISE: ("A", "B", "tie"),
}
_JUDGE_LABELS: dict[TaskType, tuple[str, ...]] = {
    TaskType.ABSOLUTE: ("1", "2", "3", "4", "5"),
    TaskType.BINARY: ("yes", "no"),
    TaskType.PAIRWISE: ("A", "B"),
}


def canonical_label(task: TaskType, raw: object) -> str | None:
    """Return the canonical label that ``raw`` already spells (case and spacing aside), or ``None``.

    ``"Yes "`` -> ``"yes"``, ``"5"`` / ``5`` / ``5.0`` -> ``"5"``, ``"a"`` -> ``"A"``, ``"TIE"`` -> ``"tie"``.
    Anything else (``"Correct Answer"``, ``"2.5"``) needs an explicit label map.
    """
    if raw is None:
        return None
    if isinstance(raw, float):
        if raw != raw:  # NaN
            return None
        if raw.is_integer():
            raw = int(raw)
    text = str(raw).strip()
    if not text:
        return None
    for label in task.expert_labels:
        if text.casefold() == label.casefold():
            return label
    return None
