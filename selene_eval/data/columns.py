"""Which column of a table plays which role: :class:`ColumnMapping`, the roles it knows, and how messages
list names.

Kept apart from :mod:`~selene_eval.data.mapping` (which applies a mapping to the rows) so that
:mod:`~selene_eval.data.validation`, which checks a mapping against a table, sits below both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from selene_eval.core.items import ROLES
from selene_eval.errors import MappingError

EXPERT_ROLE = "expert"
SUBGROUP_ROLE = "subgroup"
LONG_ROLES: tuple[str, ...] = ("annotator", "label")
VALID_ROLES: tuple[str, ...] = (*ROLES, EXPERT_ROLE, SUBGROUP_ROLE, *LONG_ROLES)
"""Roles accepted by :meth:`ColumnMapping.from_pairs` (``expert`` may repeat)."""


class ColumnMapping(BaseModel):
    """Which column of the table plays which role.

    Wide format: ``experts`` lists one label column per expert (the column name names the expert). Long
    format: ``annotator`` and ``label`` name the columns of (id, annotator, label) rows; ``id`` is then
    required. Column names are stripped; an empty name counts as unmapped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = None
    group: str | None = None
    input: str | None = None
    response: str | None = None
    response_b: str | None = None
    reference: str | None = None
    context: str | None = None
    category: str | None = None
    experts: list[str] = []
    subgroups: list[str] = []
    """Extra columns (a domain, a difficulty, a source...) to report every statistic within each value of."""
    annotator: str | None = None
    label: str | None = None

    @field_validator(
        "id",
        "group",
        "input",
        "response",
        "response_b",
        "reference",
        "context",
        "category",
        "annotator",
        "label",
        mode="before",
    )
    @classmethod
    def _strip_column(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("experts", "subgroups", mode="before")
    @classmethod
    def _strip_column_lists(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [v.strip() if isinstance(v, str) else v for v in value if not (isinstance(v, str) and not v.strip())]
        return value

    @model_validator(mode="after")
    def _one_layout(self) -> ColumnMapping:
        # MappingError (not ValueError) so that pydantic lets it through unchanged: callers catch the
        # project's own errors only.
        if self.experts and (self.annotator or self.label):
            raise MappingError(
                "Use either expert columns (one per expert) or an annotator column with a label column (long "
                "format), not both. Remove the expert columns or the annotator/label columns."
            )
        repeated = [name for name, n in Counter(self.experts).items() if n > 1]
        if repeated:
            raise MappingError(
                f"The expert column(s) {quoted_list(repeated)} are listed more than once; list each once."
            )
        repeated = [name for name, n in Counter(self.subgroups).items() if n > 1]
        if repeated:
            raise MappingError(
                f"The subgroup column(s) {quoted_list(repeated)} are listed more than once; list each once."
            )
        roles = {getattr(self, role): role for role in (*ROLES, *LONG_ROLES) if getattr(self, role) is not None}
        roles.update({column: "an expert's labels" for column in self.experts})
        taken = [f"{column!r} (already mapped to {roles[column]})" for column in self.subgroups if column in roles]
        if taken:
            raise MappingError(
                f"A subgroup column must be a column of its own: {', '.join(taken)}. The statistics are given per "
                "category anyway when a category column is mapped; choose other columns as subgroups."
            )
        return self

    @property
    def is_long(self) -> bool:
        """True for the long format (both ``annotator`` and ``label`` set)."""
        return self.annotator is not None and self.label is not None

    def columns(self) -> dict[str, str]:
        """Role -> column for every set role; expert columns appear as ``expert:<column>``."""
        mapped = {role: getattr(self, role) for role in ROLES if getattr(self, role) is not None}
        mapped.update({f"{EXPERT_ROLE}:{column}": column for column in self.experts})
        mapped.update({f"{SUBGROUP_ROLE}:{column}": column for column in self.subgroups})
        mapped.update({role: getattr(self, role) for role in LONG_ROLES if getattr(self, role) is not None})
        return mapped

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> ColumnMapping:
        """Build a mapping from ``ROLE=COLUMN`` strings (the CLI's ``--map``); ``expert`` and ``subgroup`` may
        repeat.

        Raises :class:`~selene_eval.errors.MappingError` for a missing ``=``, an unknown or repeated role,
        or an empty column name.
        """
        values: dict[str, object] = {}
        experts: list[str] = []
        subgroups: list[str] = []
        for pair in pairs:
            role, sep, column = pair.partition("=")  # the first '=': role names never contain one
            role, column = role.strip().lower(), column.strip()
            if not sep:
                raise MappingError(f"--map {pair!r} has no '='. Write ROLE=COLUMN, e.g. input=question. {_ROLES_HELP}")
            if role not in VALID_ROLES:
                raise MappingError(f"Unknown role {role!r} in --map {pair!r}. {_ROLES_HELP}")
            if not column:
                raise MappingError(f"--map {pair!r} names no column. Write ROLE=COLUMN, e.g. {role}=my_column.")
            if role == EXPERT_ROLE:
                experts.append(column)
            elif role == SUBGROUP_ROLE:
                subgroups.append(column)
            elif role in values:
                raise MappingError(f"The role {role!r} is mapped twice ({values[role]!r} and {column!r}); map it once.")
            else:
                values[role] = column
        return cls(**values, experts=experts, subgroups=subgroups)  # type: ignore[arg-type]


_ROLES_HELP = (
    f"Valid roles: {', '.join(ROLES)}, {EXPERT_ROLE} (once per expert column), {SUBGROUP_ROLE} (once per extra "
    "column to break the statistics down by), and for a long table "
    f"{' and '.join(LONG_ROLES)}."
)


def quoted_list(values: Iterable[object], limit: int = 8) -> str:
    """``'a', 'b' and 3 more`` for messages."""
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")
