"""The normalized item: one thing to be judged, with its experts' canonical labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from selene_eval.core.expert_labels import expert_column

ROLES: tuple[str, ...] = (
    "id",
    "group",
    "input",
    "response",
    "response_b",
    "reference",
    "context",
    "category",
)
"""Column roles a user maps (besides expert label columns)."""


@dataclass(frozen=True)
class Item:
    """One item to judge.

    ``experts`` maps each expert's name (the source column, or the annotator id in long format) to that
    expert's canonical label, or ``None`` where the expert gave no label.
    """

    item_id: str
    input: str
    response: str
    group_id: str | None = None
    response_b: str | None = None
    reference: str | None = None
    context: str | None = None
    category: str | None = None
    experts: Mapping[str, str | None] = field(default_factory=dict)
    subgroups: Mapping[str, str | None] = field(default_factory=dict)
    """Values of the extra columns mapped as subgroups (column name -> value, ``None`` when blank): the
    statistics are also given within each value of each of them, like within each category."""

    def to_record(self) -> dict[str, object]:
        """A JSON-ready dict (the line format of ``items.jsonl``)."""
        return {
            "item_id": self.item_id,
            "group_id": self.group_id,
            "input": self.input,
            "response": self.response,
            "response_b": self.response_b,
            "reference": self.reference,
            "context": self.context,
            "category": self.category,
            "experts": dict(self.experts),
            # Only when mapped, so that the items file of a study without subgroups keeps its old form.
            **({"subgroups": dict(self.subgroups)} if self.subgroups else {}),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Item:
        """Inverse of :meth:`to_record`."""
        experts = record.get("experts") or {}
        return cls(
            item_id=str(record["item_id"]),
            input=str(record.get("input") or ""),
            response=str(record.get("response") or ""),
            group_id=_opt(record.get("group_id")),
            response_b=_opt(record.get("response_b")),
            reference=_opt(record.get("reference")),
            context=_opt(record.get("context")),
            category=_opt(record.get("category")),
            experts=_text_map(experts, "experts"),
            subgroups=_text_map(record.get("subgroups") or {}, "subgroups"),
        )


def _text_map(value: object, field: str) -> dict[str, str | None]:
    """A record's name -> text mapping; ``TypeError`` for anything else (a damaged or hand-made file)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{field} is not a mapping of names to values")
    return {str(k): _opt(v) for k, v in value.items()}


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def items_frame(items: Sequence[Item]) -> pandas.DataFrame:  # type: ignore[name-defined]  # noqa: F821
    """A flat DataFrame of items: the role columns, one ``expert:<name>`` column per expert and one
    ``subgroup:<name>`` column per mapped subgroup column."""
    import pandas as pd

    experts = expert_names(items)
    subgroups = subgroup_names(items)
    rows = []
    for item in items:
        row = {k: v for k, v in item.to_record().items() if k not in ("experts", "subgroups")}
        for name in experts:
            row[expert_column(name)] = item.experts.get(name)
        for name in subgroups:
            row[f"{SUBGROUP_PREFIX}{name}"] = item.subgroups.get(name)
        rows.append(row)
    columns = ["item_id", "group_id", "input", "response", "response_b", "reference", "context", "category"]
    return pd.DataFrame(
        rows, columns=columns + [expert_column(n) for n in experts] + [f"{SUBGROUP_PREFIX}{n}" for n in subgroups]
    )


MAX_SUBGROUPS = 40
"""The most values of one subgroup column that get statistics of their own (the most frequent): a column
with hundreds of values (an id, a free text) would cost a bootstrap each and give groups too small to read."""

SUBGROUP_PREFIX = "subgroup:"
"""Prefix of the subgroup columns of :func:`items_frame` (and of judgment tables and exports)."""


def subgroup_columns(frame: pandas.DataFrame) -> list[str]:  # type: ignore[name-defined]  # noqa: F821
    """The ``subgroup:<name>`` columns of an items frame (or a judgment table) that hold any value."""
    return [c for c in frame.columns if c.startswith(SUBGROUP_PREFIX) and frame[c].notna().any()]


def subgroup_names(items: Iterable[Item]) -> list[str]:
    """Subgroup column names in first-seen order across items."""
    return _first_seen(item.subgroups for item in items)


def expert_names(items: Iterable[Item]) -> list[str]:
    """Expert names in first-seen order across items."""
    return _first_seen(item.experts for item in items)


def _first_seen(mappings: Iterable[Mapping[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in mappings:
        for name in mapping:
            seen.setdefault(name, None)
    return list(seen)
