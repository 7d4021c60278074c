"""The validation report: every problem found while turning a table into items, with where and how to fix.

Errors block building a study; warnings explain something the user should know (items that cannot enter
the statistics, a single label class, few items). The checks on the mapping and on the built items live
here; the checks that need the raw rows while items are built (label values, long format) live in
:mod:`selene_eval.data.mapping` and produce the same :class:`Issue` objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from selene_eval.core.items import MAX_SUBGROUPS, Item
from selene_eval.core.tasks import TaskType
from selene_eval.data.columns import ColumnMapping, quoted_list

MAX_ROWS = 20
"""At most this many row numbers are kept on an issue (the message gives the full count)."""

Severity = Literal["error", "warning"]

TEXT_ROLES: tuple[str, ...] = ("input", "response", "response_b")
"""Roles whose empty cells are worth a warning: the judge sees nothing there."""


def required_roles(task: TaskType) -> tuple[str, ...]:
    """The column roles a task cannot do without."""
    return ("input", "response", "response_b") if task is TaskType.PAIRWISE else ("input", "response")


@dataclass(frozen=True)
class Issue:
    """One problem in the data or the mapping."""

    severity: Severity
    code: str
    """Stable machine code, e.g. ``missing_column`` or ``unmapped_labels``."""
    message: str
    """One readable sentence."""
    column: str | None = None
    rows: tuple[int, ...] = ()
    """1-based data row numbers (row 1 is the first row under the header), at most :data:`MAX_ROWS`."""
    fix: str = ""
    """What to do about it, in words that hold wherever the data is imported (dashboard or command line)."""
    command: str = ""
    """The same fix as a command-line option (``--map expert=COLUMN``): printed by the CLI, never shown in the
    dashboard, where options mean nothing."""

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:10])
            where.append(f"row{'s' if len(self.rows) > 1 else ''} {shown}{', …' if len(self.rows) > 10 else ''}")
        text = f"{self.severity.upper()} [{self.code}] {self.message}"
        if where:
            text += f" ({'; '.join(where)})"
        if self.fix:
            text += f" Fix: {self.fix}"
        if self.command:
            text += f" On the command line: {self.command}"
        return text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "rows": list(self.rows),
            "fix": self.fix,
            "command": self.command,
        }


def error(
    code: str, message: str, *, column: str | None = None, rows: Iterable[int] = (), fix: str = "", command: str = ""
) -> Issue:
    """An :class:`Issue` of severity ``error``, with the row numbers trimmed to :data:`MAX_ROWS`."""
    return Issue("error", code, message, column, row_sample(rows), fix, command)


def warning(
    code: str, message: str, *, column: str | None = None, rows: Iterable[int] = (), fix: str = "", command: str = ""
) -> Issue:
    """An :class:`Issue` of severity ``warning``, with the row numbers trimmed to :data:`MAX_ROWS`."""
    return Issue("warning", code, message, column, row_sample(rows), fix, command)


def row_sample(rows: Iterable[int]) -> tuple[int, ...]:
    """The first :data:`MAX_ROWS` distinct row numbers, in order."""
    return tuple(sorted(set(rows)))[:MAX_ROWS]


@dataclass(frozen=True)
class ValidationReport:
    """Everything :func:`~selene_eval.data.mapping.build_items` found, plus the counts it worked on."""

    issues: tuple[Issue, ...] = ()
    n_rows: int = 0
    n_items: int = 0
    skipped_rows: tuple[int, ...] = ()
    """Data rows left out on request (see ``build_items(skip_rows=...)``), all of them, in order."""

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Issues that block building a study."""
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Issues worth reading that do not block."""
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def __str__(self) -> str:
        head = (
            f"{_count(self.n_rows, 'row')} read"
            + (f" ({_count(len(self.skipped_rows), 'row')} skipped)" if self.skipped_rows else "")
            + f", {_count(self.n_items, 'item')} built: "
            f"{_count(len(self.errors), 'error')}, {_count(len(self.warnings), 'warning')}"
        )
        ordered = self.errors + self.warnings
        return "\n".join([head, *(str(issue) for issue in ordered)])

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "n_items": self.n_items,
            "skipped_rows": list(self.skipped_rows),
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "issues": [issue.to_dict() for issue in self.issues],
        }


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# --- checks on the mapping against the frame ---------------------------------------------------------------


def mapping_issues(frame: pd.DataFrame, mapping: ColumnMapping, task: TaskType) -> list[Issue]:
    """Problems with the mapping itself: roles missing, columns not in the file, columns with no values.

    Any error here means items cannot be built sensibly, so :func:`build_items` stops after these.
    """
    issues: list[Issue] = []
    columns = [str(c) for c in frame.columns]
    required = required_roles(task)
    for role in required:
        if getattr(mapping, role) is None:
            issues.append(
                error(
                    "missing_role",
                    f"No column is mapped to {role!r}, which the {task.value} task needs.",
                    fix=f"Choose the column that holds the {_ROLE_WORDS[role]}.",
                    command=f"--map {role}=COLUMN",
                )
            )
    if (mapping.annotator is None) != (mapping.label is None):
        have, lack = ("annotator", "label") if mapping.label is None else ("label", "annotator")
        issues.append(
            error(
                "missing_role",
                f"The long format needs both an annotator column and a label column; only the {have} column is mapped.",
                fix=f"Choose the {lack} column too, or use one column per expert instead.",
                command=f"--map {lack}=COLUMN, or --map expert=COLUMN once per expert column",
            )
        )
    elif not mapping.experts and not mapping.is_long:
        issues.append(
            error(
                "no_experts",
                "No expert label column is mapped, so there is nothing to compare the judge with.",
                fix="Choose the column(s) with the experts' labels (one per expert), or the annotator and label "
                "columns for a long table.",
                command="--map expert=COLUMN (once per expert column), or --map annotator=COLUMN label=COLUMN",
            )
        )
    for key, column in mapping.columns().items():
        if column not in frame.columns:
            issues.append(_missing_column(key, column, columns))
            continue
        if len(frame) and all(v is None for v in frame[column].map(_blank_to_none)):  # no rows: a no_items error
            role = key.split(":", 1)[0]
            if role in required or role in ("id", "annotator", "label"):
                issues.append(
                    error(
                        "empty_column",
                        f"The column {column!r} (mapped to {role}) has no values.",
                        column=column,
                        fix="Map the column that holds the values, or fill this one in.",
                    )
                )
            else:
                issues.append(
                    warning(
                        "empty_column",
                        f"The column {column!r} (mapped to {role}) has no values; it is ignored.",
                        column=column,
                        fix="Map a different column, or leave this role unmapped.",
                    )
                )
    return issues


_ROLE_WORDS = {
    "input": "question or instruction",
    "response": "response to judge",
    "response_b": "second response (B)",
}


def _missing_column(key: str, column: str, columns: Sequence[str]) -> Issue:
    role = key.split(":", 1)[0]
    folded = [c for c in columns if c.casefold() == column.casefold()]
    close = folded or difflib.get_close_matches(column, columns, n=3, cutoff=0.6)
    if close:
        fix = f"Did you mean {' or '.join(repr(c) for c in close)}? Column names must match exactly."
    else:
        fix = f"The file's columns are: {quoted_list(columns, 12)}."
    return error(
        "missing_column", f"The column {column!r} (mapped to {role}) is not in the file.", column=column, fix=fix
    )


def _blank_to_none(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return None if isinstance(value, str) and not value.strip() else value


# --- checks on the built items --------------------------------------------------------------------------------


def item_issues(
    items: Sequence[Item],
    item_rows: Sequence[int],
    mapping: ColumnMapping,
    task: TaskType,
    *,
    min_items: int,
    check_duplicate_ids: bool = True,
    unlabelled_explained: Iterable[int] = (),
) -> list[Issue]:
    """Problems visible on the items: duplicate ids, empty texts, missing labels, one class, too few items.

    ``item_rows[i]`` is the (first) data row of ``items[i]``. ``unlabelled_explained`` holds indexes of items
    whose labels were all unmapped values; they are reported with the unmapped values, not again here.
    """
    if not items:
        return [
            error(
                "no_items",
                "No items could be built from the file.",
                fix="Check that the file has data rows under the header.",
            )
        ]
    issues: list[Issue] = []
    if check_duplicate_ids:
        issues.extend(_duplicate_ids(items, item_rows, mapping))
    for role in TEXT_ROLES:
        column = getattr(mapping, role)
        if column is None:
            continue
        empty = [row for item, row in zip(items, item_rows) if not (getattr(item, role) or "").strip()]
        if empty and len(empty) < len(items):  # a wholly empty column is already an empty_column issue
            issues.append(
                warning(
                    "empty_text",
                    f"{_count(len(empty), 'item')} {'has' if len(empty) == 1 else 'have'} an empty {role}; the judge "
                    "will see nothing there.",
                    column=column,
                    rows=empty,
                    fix="Fill in the missing texts, or remove those rows.",
                )
            )
    for column in mapping.subgroups:
        distinct = {item.subgroups.get(column) for item in items} - {None}
        if len(distinct) > MAX_SUBGROUPS:
            issues.append(
                warning(
                    "many_subgroups",
                    f"The subgroup column {column!r} has {len(distinct):,} different values; statistics are given for "
                    f"its {MAX_SUBGROUPS} most frequent values only, and groups that small are hard to read.",
                    column=column,
                    fix="Choose a column with a few broad values (a domain, a specialty, a difficulty), or group the "
                    "values into fewer in the file.",
                )
            )
    explained = set(unlabelled_explained)
    labelled = [item for item in items if any(v is not None for v in item.experts.values())]
    unlabelled = [
        row
        for index, (item, row) in enumerate(zip(items, item_rows))
        if index not in explained and not any(v is not None for v in item.experts.values())
    ]
    if not labelled:
        if not explained:  # all-unmapped labels are already an error of their own
            issues.append(
                error(
                    "no_labels",
                    "No item has an expert label, so there is nothing to compare the judge with.",
                    fix="Check that the expert column(s) are the right ones and that the label map does not drop every value.",
                )
            )
        return issues
    if unlabelled:
        issues.append(
            warning(
                "items_without_labels",
                f"{_count(len(unlabelled), 'item')} {'has' if len(unlabelled) == 1 else 'have'} no expert label; "
                f"{'it is' if len(unlabelled) == 1 else 'they are'} kept out of the agreement statistics, judged, and "
                "counted as unlabelled items the report estimates for (label shares, mean score).",
                rows=unlabelled,
                fix="Add the missing labels, or remove those rows if they should not be judged.",
            )
        )
    classes = {v for item in labelled for v in item.experts.values() if v is not None}
    if len(classes) == 1:
        (only,) = classes
        issues.append(
            warning(
                "single_class",
                f"Every expert label is {only!r}: kappa-type statistics are undefined when only one class occurs "
                "(accuracy is still reported).",
                fix="Check the label map (are other values mapped to the same label?), or add items of the other classes.",
            )
        )
    if len(labelled) < min_items:
        issues.append(
            warning(
                "too_few_items",
                f"Only {_count(len(labelled), 'item')} with an expert label; statistics on fewer than {min_items} are "
                "not reliable.",
                fix="Add more labelled items if you can.",
                command=f"--min-items N sets the minimum (now {min_items})",
            )
        )
    return issues


def _duplicate_ids(items: Sequence[Item], item_rows: Sequence[int], mapping: ColumnMapping) -> list[Issue]:
    rows_by_id: dict[str, list[int]] = {}
    for item, row in zip(items, item_rows):
        rows_by_id.setdefault(item.item_id, []).append(row)
    duplicated: Mapping[str, list[int]] = {k: v for k, v in rows_by_id.items() if len(v) > 1}
    if not duplicated:
        return []
    detail = "; ".join(f"{k!r} (rows {', '.join(map(str, v[:5]))})" for k, v in list(duplicated.items())[:5])
    more = f" and {len(duplicated) - 5} more" if len(duplicated) > 5 else ""
    return [
        error(
            "duplicate_ids",
            f"{_count(len(duplicated), 'item id')} occur{'s' if len(duplicated) == 1 else ''} on more than one row: "
            f"{detail}{more}.",
            column=mapping.id,
            rows=[r for rows in duplicated.values() for r in rows],
            fix="Skip these rows, make the ids unique in the file, or leave the id unmapped (items are then numbered "
            "by row). If rows that share an id belong to one question, map that column as group instead.",
            command="--skip-bad-ids leaves these rows out (they are listed in the study's record)",
        )
    ]
