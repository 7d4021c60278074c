"""How the experts' labels are named wherever they are shown (dashboard tables, the HTML report).

A label column's name describes the file, not the study: in a column ``hallucination`` whose ``yes`` was
mapped to the study's ``no`` (no hallucination), "Expert hallucination: yes" would say the opposite of what
the stored label means. So stored labels (always the task's canonical ones) are shown as the experts' labels:
"Expert label" for a study's only expert, "Expert label (NAME)" where several experts need telling apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

EXPERT_PREFIX = "expert:"
"""Prefix of the expert label columns of an items frame or a judgment table (``expert:<name>``)."""


def expert_column(name: str) -> str:
    """The column of expert ``name``'s labels (``ann`` -> ``expert:ann``)."""
    return f"{EXPERT_PREFIX}{name}"


def expert_name(column: str) -> str:
    """The expert an ``expert:<name>`` column holds the labels of (``expert:ann`` -> ``ann``); any other
    name (``judge_label``, an already bare name) is returned as it is."""
    return column.removeprefix(EXPERT_PREFIX)


def expert_columns(columns: Iterable[str]) -> list[str]:
    """The ``expert:<name>`` columns among ``columns``, in order (a frame iterates over its column names,
    so an items frame or a judgment table can be passed as it is)."""
    return [c for c in columns if isinstance(c, str) and c.startswith(EXPERT_PREFIX)]


def expert_label_headings(columns: Sequence[str]) -> dict[str, str]:
    """Column -> heading for the ``expert:<name>`` columns among ``columns`` (other columns are left out)."""
    experts = expert_columns(columns)
    if len(experts) == 1:
        return {experts[0]: "Expert label"}
    return {c: f"Expert label ({expert_name(c)})" for c in experts}


def expert_labels_text(labels: Mapping[str, str | None]) -> str:
    """One item's expert labels in words: ``yes`` for a single expert, ``yes (dr_a), no label (dr_b)`` for several.

    ``labels`` maps an expert name (or an ``expert:<name>`` column) to its canonical label (``None``: no label).
    """

    def shown(label: str | None) -> str:
        return "no label" if label is None or label == "" else str(label)

    if len(labels) == 1:
        return shown(next(iter(labels.values())))
    return ", ".join(f"{shown(label)} ({expert_name(name)})" for name, label in labels.items())
