"""Map a table's columns and label values to items.

A :class:`~selene_eval.data.columns.ColumnMapping` says which column plays which role (question, response,
...) and where the experts' labels are: either one column per expert ("wide") or an annotator column plus a label column, one
row per item and expert ("long"). A label map turns the file's raw label values ("Correct Answer",
"Entailment", "2") into the task's canonical labels. :func:`build_items` applies both and returns the items
with a :class:`~selene_eval.data.validation.ValidationReport`; it does not raise for problems in the data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from selene_eval.core.items import Item
from selene_eval.core.tasks import TaskType, canonical_label
from selene_eval.data.columns import SUBGROUP_ROLE, ColumnMapping
from selene_eval.data.readers import cell_display_text
from selene_eval.data.validation import Issue, ValidationReport, error, item_issues, mapping_issues, warning
from selene_eval.errors import MappingError

_TEXT_ROLES: tuple[str, ...] = ("input", "response", "response_b", "reference", "context")
"""Roles kept exactly as in the file: whitespace in a prompt or an answer can matter to the judge."""
_KEY_ROLES: tuple[str, ...] = ("group", "category")
"""Roles used as keys (grouping, filtering): stripped."""


# --- guessing a mapping -------------------------------------------------------------------------------------

# Candidate names per role, most likely first, compared after normalising (lower case, '_' for
# punctuation and spaces). A column is claimed by the first role that names it.
_ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "group": ("group", "group_id", "cluster", "cluster_id"),
    "id": ("id", "item_id", "idx", "uid", "example_id", "sample_id", "row_id", "question_id"),
    "reference": (
        "gold_answer",
        "reference",
        "reference_answer",
        "gold",
        "ground_truth",
        "expected_answer",
        "expected_output",
        "ideal_answer",
        "target",
        "correct_answer",
    ),
    "response_b": (
        "response_b",
        "response2",
        "response_2",
        "answer_b",
        "answer2",
        "answer_2",
        "output_b",
        "output2",
        "output_2",
        "completion_b",
    ),
    "response": (
        "answer",
        "response",
        "model_answer",
        "output",
        "model_output",
        "model_response",
        "completion",
        "generation",
        "prediction",
    ),
    "response_a": (
        "response_a",
        "response1",
        "response_1",
        "answer_a",
        "answer1",
        "answer_1",
        "output_a",
        "output1",
        "output_1",
        "completion_a",
    ),
    "input": ("question", "prompt", "instruction", "input", "query", "user_input", "problem"),
    "context": ("context", "passage", "document", "evidence", "source_text", "knowledge"),
    "category": ("category", "topic", "domain", "subject"),
}
_EXPERT_PREFIXES = ("label", "annotator", "annotation", "expert", "rating", "human", "rater", "grader")
_PAIRWISE_EXPERT_PREFIXES = ("preference", "preferred", "winner")
_ANNOTATOR_NAMES = (
    "annotator",
    "annotator_id",
    "annotator_name",
    "rater",
    "rater_id",
    "expert",
    "expert_id",
    "expert_name",
    "worker_id",
    "grader",
    "grader_id",
)
_LABEL_NAMES = ("label", "rating", "score", "judgment", "judgement", "grade", "verdict")
# Identifiers of people are neither label columns nor item ids.
_PERSON_ID = re.compile(r"^(annotator|rater|expert|worker|grader|judge|user)_?(id|name|email)$")
# Label-like names are never claimed by a role through a partial match ("gold_label" is not a reference).
_LABELISH = re.compile(r"label|rating|score|annotat|verdict|judg")


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def guess_mapping(columns: Sequence[str], task: TaskType) -> ColumnMapping:
    """A plausible mapping from column names alone, to pre-fill the dashboard's dropdowns.

    Matching is case-insensitive and ignores punctuation: exact candidate names first (``question``,
    ``answer``, ``gold_answer``, ``label_0`` ...), then names that start or end with one (``category_x``,
    ``financebench_id``). A table with one annotator column and one label column is taken as long format.
    """
    norms = {column: _norm(column) for column in columns}
    free = dict(norms)  # columns not yet claimed by a role
    chosen: dict[str, str] = {}
    order = ["group", "id", "reference"]
    order += ["response_b", "response_a", "response"] if task is TaskType.PAIRWISE else ["response", "response_a"]
    order += ["input", "context", "category"]
    for role in order:
        target = "response" if role == "response_a" else role
        if target in chosen:
            continue
        column = _pick({c: n for c, n in free.items() if not _PERSON_ID.match(n)}, _ROLE_CANDIDATES[role])
        if column is not None:
            chosen[target] = column
            del free[column]

    annotators = [c for c, n in free.items() if n in _ANNOTATOR_NAMES]
    labels = [c for c, n in free.items() if n in _LABEL_NAMES]
    prefixes = _EXPERT_PREFIXES + (_PAIRWISE_EXPERT_PREFIXES if task is TaskType.PAIRWISE else ())
    experts = [c for c, n in free.items() if n.startswith(prefixes) and not _PERSON_ID.match(n)]
    if len(annotators) == 1 and len(labels) == 1 and set(experts) <= {annotators[0], labels[0]}:
        return ColumnMapping(**chosen, annotator=annotators[0], label=labels[0])
    return ColumnMapping(**chosen, experts=experts)


def looks_pairwise(columns: Sequence[str]) -> tuple[str, str] | None:
    """The two response columns when the names say the file compares two responses (``response_a`` and
    ``response_b``, ``answer1`` and ``answer2`` ...), else ``None``. Column names cannot tell yes/no labels
    from 1-5 scores, so that choice is never guessed."""
    guess = guess_mapping(columns, TaskType.PAIRWISE)
    if guess.response is not None and guess.response_b is not None:
        return guess.response, guess.response_b
    return None


def _pick(free: Mapping[str, str], candidates: Sequence[str]) -> str | None:
    """The first column named exactly like a candidate, else one whose name starts or ends with one."""
    for candidate in candidates:
        for column, norm in free.items():
            if norm == candidate:
                return column
    for candidate in candidates:
        for column, norm in free.items():
            if (norm.startswith(candidate + "_") or norm.endswith("_" + candidate)) and not _LABELISH.search(norm):
                return column
    return None


# --- label maps -----------------------------------------------------------------------------------------------


def parse_label_map(pairs: Iterable[str], task: TaskType) -> dict[str, str | None]:
    """Parse ``RAW=CANONICAL`` strings (the CLI's ``--label-map``) into a label map.

    The split is on the last ``=``, so raw values may contain one. The canonical side must be one of the
    task's labels (any case: ``Yes`` -> ``yes``, ``a`` -> ``A``); an empty one (``Refusal=``) means "no
    label". Raises :class:`~selene_eval.errors.MappingError` otherwise, or for a value mapped twice.
    """
    label_map: dict[str, str | None] = {}
    allowed = ", ".join(task.expert_labels)
    for pair in pairs:
        raw, sep, target = pair.rpartition("=")
        raw, target = raw.strip(), target.strip()
        if not sep or not raw:
            raise MappingError(
                f'--label-map {pair!r} must be VALUE=LABEL, e.g. "Correct Answer={task.expert_labels[0]}" '
                f'(labels: {allowed}; "VALUE=" means no label).'
            )
        canonical = _canonical_target(target, task, f"--label-map {pair!r}")
        if raw in label_map and label_map[raw] != canonical:
            raise MappingError(
                f"The label value {raw!r} is mapped twice, to {label_map[raw]!r} and {canonical!r}; keep one."
            )
        label_map[raw] = canonical
    return label_map


def _canonical_target(target: str | None, task: TaskType, where: str) -> str | None:
    """The canonical label a label map points to (``None`` for "no label"); MappingError if not a label."""
    if target is None or not target.strip():
        return None
    canonical = canonical_label(task, target)
    if canonical is None:
        raise MappingError(
            f"{where} maps to {target!r}, which is not a {task.value} label. Use one of: "
            f"{', '.join(task.expert_labels)} (or nothing after '=' for \"no label\")."
        )
    return canonical


_ABSOLUTE_WORDS = {
    # ExpertQA's claim correctness scale, and its obvious synonyms.
    "definitely incorrect": "1",
    "likely incorrect": "2",
    "probably incorrect": "2",
    "unsure": "3",
    "probably correct": "4",
    "likely correct": "4",
    "definitely correct": "5",
    "very poor": "1",
    "poor": "2",
    "fair": "3",
    "good": "4",
    "excellent": "5",
}
_SUGGESTIONS: dict[TaskType, dict[str, str]] = {
    TaskType.BINARY: {
        **dict.fromkeys(
            (
                "correct",
                "correct answer",
                "true",
                "pass",
                "passed",
                "entailment",
                "entailed",
                "supported",
                "1",
                "y",
                "right",
                "accurate",
                "acceptable",
                "faithful",
            ),
            "yes",
        ),
        **dict.fromkeys(
            (
                "incorrect",
                "incorrect answer",
                "false",
                "fail",
                "failed",
                "contradiction",
                "neutral",
                "0",
                "n",
                "wrong",
                "not supported",
                "unsupported",
                "inaccurate",
                "unacceptable",
                "hallucination",
            ),
            "no",
        ),
    },
    TaskType.ABSOLUTE: _ABSOLUTE_WORDS,
    TaskType.PAIRWISE: {
        **dict.fromkeys(
            ("1", "response1", "response 1", "response_a", "response a", "a", "first", "model a", "model_a", "left"),
            "A",
        ),
        **dict.fromkeys(
            ("2", "response2", "response 2", "response_b", "response b", "b", "second", "model b", "model_b", "right"),
            "B",
        ),
        **dict.fromkeys(("0", "tie", "equal", "same", "both", "draw", "neither", "similar"), "tie"),
    },
}


def suggest_label_map(raw_values: Iterable[str], task: TaskType) -> dict[str, str | None]:
    """Likely meanings of raw label values, to pre-fill the dashboard's label map; unknown values are left out.

    Uses a small vocabulary (binary: ``Correct Answer``/``Entailment``/``true``/``1`` -> ``yes``, ...;
    absolute: ExpertQA's ``Definitely incorrect`` = 1 ... ``Definitely correct`` = 5; pairwise: ``1`` -> A,
    ``2`` -> B, ``0``/``tie`` -> tie) and values that already spell a canonical label.
    """
    vocabulary = _SUGGESTIONS[task]
    suggestions: dict[str, str | None] = {}
    for raw in raw_values:
        key = " ".join(str(raw).casefold().split()).rstrip(".")
        label = canonical_label(task, raw) or vocabulary.get(key) or canonical_label(task, _as_integer(key))
        if label is not None:
            suggestions[raw] = label
    return suggestions


def _as_integer(text: str) -> str:
    """``"5.0"`` -> ``"5"`` (scores typed as decimals); anything else unchanged."""
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def distinct_label_values(frame: pd.DataFrame, mapping: ColumnMapping) -> list[str]:
    """The distinct raw label values (stripped, non-empty) in the expert columns or the long label column, sorted.

    Columns that are not in ``frame`` are skipped (the validation report names them).
    """
    label_columns = [mapping.label] if mapping.label is not None else list(mapping.experts)
    values: set[str] = set()
    for column in label_columns:
        if column in frame.columns:
            values.update(text.strip() for text in map(cell_display_text, frame[column].tolist()) if text is not None)
    return sorted(values)


# --- building items -------------------------------------------------------------------------------------------


@dataclass
class _LabelResolver:
    """Turns raw label cells into canonical labels, remembering the values it could not map."""

    task: TaskType
    label_map: Mapping[str, str | None]
    folded: dict[str, str | None] = field(init=False)
    unmapped: dict[str, list[tuple[int, str]]] = field(init=False, default_factory=dict)
    """Raw value -> (row, column) of each cell it occurs in."""

    def __post_init__(self) -> None:
        checked = {
            str(raw).strip(): _canonical_target(target, self.task, f"The label map entry {raw!r}")
            for raw, target in self.label_map.items()
        }
        self.label_map = checked
        self.folded = {}
        for raw, target in checked.items():
            self.folded.setdefault(raw.casefold(), target)

    def resolve(self, value: object, row: int, column: str) -> tuple[str | None, bool]:
        """(canonical label or ``None``, whether the cell held a value that could not be mapped)."""
        text = cell_display_text(value)
        if text is None:
            return None, False
        raw = text.strip()
        if raw in self.label_map:
            return self.label_map[raw], False
        if raw.casefold() in self.folded:
            return self.folded[raw.casefold()], False
        canonical = canonical_label(self.task, raw)
        if canonical is None:
            self.unmapped.setdefault(raw, []).append((row, column))
            return None, True
        return canonical, False

    def issues(self) -> list[Issue]:
        if not self.unmapped:
            return []
        by_count = sorted(self.unmapped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        listed = ", ".join(
            f"{raw!r} ({len(cells)} cell{'s' if len(cells) > 1 else ''})" for raw, cells in by_count[:10]
        )
        more = f" and {len(by_count) - 10} more" if len(by_count) > 10 else ""
        columns = {column for cells in self.unmapped.values() for _, column in cells}
        example_raw = by_count[0][0]
        # Only a value whose meaning is known gets a concrete example: "n0=yes" would suggest a wrong meaning.
        example_label = suggest_label_map([example_raw], self.task).get(example_raw) or "LABEL"
        allowed = ", ".join(self.task.expert_labels)
        return [
            error(
                "unmapped_labels",
                f"{len(by_count)} label value{'s are' if len(by_count) > 1 else ' is'} not a {self.task.value} label "
                f"({allowed}) and not in the label map: {listed}{more}.",
                column=next(iter(columns)) if len(columns) == 1 else None,
                rows=[row for cells in self.unmapped.values() for row, _ in cells],
                fix=f"Say what each value means: one of {allowed}, or no label (the expert gave none).",
                command=f'--label-map "{example_raw}={example_label}" (one per value'
                + (f", LABEL one of {allowed}" if example_label == "LABEL" else "")
                + f'; "{example_raw}=" counts it as no label)',
            )
        ]


def build_items(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    task: TaskType,
    label_map: Mapping[str, str | None] | None = None,
    *,
    min_items: int = 10,
    skip_rows: Collection[int] = (),
) -> tuple[list[Item], ValidationReport]:
    """Turn the table into items with canonical expert labels, and report every problem found.

    Problems in the data never raise: the report lists them (callers raise
    :class:`~selene_eval.errors.ValidationFailed` when it has errors) and the items are those that could be
    built, possibly none. Raises :class:`~selene_eval.errors.MappingError` only for a label map pointing to
    a value that is not a label.

    Each label cell is stripped, then looked up in ``label_map`` (exactly, then ignoring case), then read as
    a canonical label (``Yes`` -> ``yes``); anything else is an unmapped value (an error). Empty cells, and
    values mapped to ``None``, mean the expert gave no label.

    ``skip_rows`` holds 1-based data rows to leave out (e.g. :func:`rows_with_bad_ids`): they build no item
    and raise no issue of their own; the report counts them (``skipped_rows``, and a warning naming them).
    Row numbers in every issue stay those of the file.
    """
    resolver = _LabelResolver(task, dict(label_map or {}))
    issues = mapping_issues(frame, mapping, task)
    if mapping.is_long and mapping.id is None:
        issues.append(
            error(
                "missing_role",
                "The long format (one row per item and expert) needs an item id column to know which rows belong to "
                "the same item.",
                fix="Choose the column that identifies the item on each row.",
                command="--map id=COLUMN",
            )
        )
    skipped = tuple(sorted({row for row in skip_rows if 1 <= row <= len(frame)}))
    if any(issue.severity == "error" for issue in issues):
        return [], ValidationReport(tuple(issues), n_rows=len(frame), n_items=0, skipped_rows=skipped)
    cells = _Cells(frame, skip=skipped)
    if mapping.is_long:
        items, item_rows, unmapped_only, build_issues = _build_long(cells, mapping, resolver)
    else:
        items, item_rows, unmapped_only, build_issues = _build_wide(cells, mapping, resolver)
    if skipped:
        issues.append(
            warning(
                "skipped_rows",
                f"{len(skipped):,} row{'s are' if len(skipped) > 1 else ' is'} left out as asked: "
                f"{_row_list(skipped)}. The study records which.",
                rows=skipped,
                fix="Correct those rows in the file and import it again to include them.",
            )
        )
    issues += build_issues
    issues += resolver.issues()
    issues += spelling_issues(resolver.label_map)
    issues += item_issues(
        items,
        item_rows,
        mapping,
        task,
        min_items=min_items,
        check_duplicate_ids=not mapping.is_long,
        unlabelled_explained=unmapped_only,
    )
    return items, ValidationReport(tuple(issues), n_rows=len(frame), n_items=len(items), skipped_rows=skipped)


def _row_list(rows: Sequence[int], limit: int = 12) -> str:
    """``rows 3, 7 and 12`` / ``rows 1, 2, … (40 in all)`` for messages."""
    shown = [str(r) for r in rows[:limit]]
    if len(rows) > limit:
        return f"rows {', '.join(shown)}, … ({len(rows):,} in all)"
    if len(shown) == 1:
        return f"row {shown[0]}"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


def spelling_key(raw: str) -> str:
    """What is left of a label value once case, spacing and punctuation are ignored: ``"No."`` -> ``"no"``."""
    return " ".join(re.sub(r"[^\w]+", " ", raw.casefold()).split())


def conflicting_spellings(label_map: Mapping[str, str | None]) -> list[dict[str, str | None]]:
    """Groups of raw values that spell one word (``no``, ``No.``) but are mapped to different labels.

    Each group maps its raw values to their labels (``None``: no label); groups with one meaning are left out.
    """
    groups: dict[str, dict[str, str | None]] = {}
    for raw, target in label_map.items():
        key = spelling_key(str(raw))
        if key:
            groups.setdefault(key, {})[str(raw)] = target
    return [group for group in groups.values() if len(set(group.values())) > 1]


def _meaning(target: str | None) -> str:
    return "no label" if target is None else repr(target)


def spelling_issues(label_map: Mapping[str, str | None]) -> list[Issue]:
    """A warning per group of :func:`conflicting_spellings`: almost always a slip in the label map."""
    return [
        warning(
            "conflicting_spellings",
            "These values differ only in case, spacing or punctuation but mean different labels: "
            + ", ".join(f"{raw!r} means {_meaning(target)}" for raw, target in group.items())
            + ".",
            fix="Give them the same meaning, unless the experts really used the spellings for different things.",
        )
        for group in conflicting_spellings(label_map)
    ]


def rows_with_bad_ids(frame: pd.DataFrame, mapping: ColumnMapping) -> dict[int, str]:
    """Data rows (1-based) whose item id blocks the import, with the reason in words, in row order.

    Wide format: rows without an id and every row of an id that occurs more than once (which of them is
    right cannot be known). Long format: rows without an id and both rows of an (item, annotator) pair given
    twice. Empty when no id column is mapped (or it is not in the file). Skipping these rows
    (``build_items(skip_rows=...)``) is the alternative to leaving the id unmapped for every row.
    """
    if mapping.id is None or mapping.id not in frame.columns:
        return {}
    cells = _Cells(frame)
    ids = [cells.text(mapping.id, index, "id") for index in range(cells.n_rows)]
    reasons: dict[int, str] = {row: "no item id" for row, item_id in enumerate(ids, start=1) if item_id is None}
    if mapping.is_long:
        if mapping.annotator is None or mapping.annotator not in frame.columns:
            return dict(sorted(reasons.items()))
        first_row: dict[tuple[str, str], int] = {}
        for index, item_id in enumerate(ids):
            annotator = cells.text(mapping.annotator, index, "annotator")
            if item_id is None or annotator is None:
                continue
            pair, row = (item_id, annotator), index + 1
            if pair in first_row:
                reason = f"item id {item_id!r} labelled by {annotator!r} more than once"
                reasons[first_row[pair]] = reasons[row] = reason
            else:
                first_row[pair] = row
        return dict(sorted(reasons.items()))
    counts = Counter(item_id for item_id in ids if item_id is not None)
    for row, item_id in enumerate(ids, start=1):
        if item_id is not None and counts[item_id] > 1:
            reasons[row] = f"item id {item_id!r} is on {counts[item_id]} rows"
    return dict(sorted(reasons.items()))


class _Cells:
    """Column access by name as plain lists, for fast row loops over frames of any cell types."""

    def __init__(self, frame: pd.DataFrame, skip: Collection[int] = ()) -> None:
        self._frame = frame
        self._columns: dict[str, list[object]] = {}
        self.n_rows = len(frame)
        self.skip = frozenset(skip)
        """1-based data rows the builders leave out."""

    def column(self, name: str | None) -> list[object]:
        if name is None:
            return [None] * self.n_rows
        if name not in self._columns:
            self._columns[name] = self._frame[name].tolist()
        return self._columns[name]

    def text(self, name: str | None, row_index: int, role: str) -> str | None:
        """A cell for ``role``: texts exactly as in the file, keys stripped, ``None`` when blank."""
        text = cell_display_text(self.column(name)[row_index])
        return text if text is None or role in _TEXT_ROLES else text.strip()


def _item_from_row(
    cells: _Cells, mapping: ColumnMapping, index: int, item_id: str, experts: dict[str, str | None]
) -> Item:
    texts = {role: cells.text(getattr(mapping, role), index, role) for role in (*_TEXT_ROLES, *_KEY_ROLES)}
    subgroups = {column: cells.text(column, index, SUBGROUP_ROLE) for column in mapping.subgroups}
    return Item(
        item_id=item_id,
        input=texts["input"] or "",
        response=texts["response"] or "",
        group_id=texts["group"],
        response_b=texts["response_b"],
        reference=texts["reference"],
        context=texts["context"],
        category=texts["category"],
        experts=experts,
        subgroups=subgroups,
    )


BuildResult = tuple[list[Item], list[int], list[int], list[Issue]]
"""(items, first data row of each item, indexes of items whose only labels were unmapped, issues)."""


def _build_wide(cells: _Cells, mapping: ColumnMapping, resolver: _LabelResolver) -> BuildResult:
    items: list[Item] = []
    rows: list[int] = []
    unmapped_only: list[int] = []
    empty_ids: list[int] = []
    for index in range(cells.n_rows):
        row = index + 1
        if row in cells.skip:
            continue
        item_id = str(row)
        if mapping.id is not None:
            item_id = cells.text(mapping.id, index, "id") or ""
            if not item_id:
                empty_ids.append(row)
                item_id = str(row)
        experts: dict[str, str | None] = {}
        any_unmapped = False
        for column in mapping.experts:
            experts[column], unmapped = resolver.resolve(cells.column(column)[index], row, column)
            any_unmapped |= unmapped
        if any_unmapped and not any(v is not None for v in experts.values()):
            unmapped_only.append(len(items))
        items.append(_item_from_row(cells, mapping, index, item_id, experts))
        rows.append(row)
    issues = [_empty_ids_issue(empty_ids, mapping)] if empty_ids else []
    return items, rows, unmapped_only, issues


def _empty_ids_issue(rows: list[int], mapping: ColumnMapping) -> Issue:
    return error(
        "empty_id",
        f"{len(rows)} row{'s have' if len(rows) > 1 else ' has'} no item id.",
        column=mapping.id,
        rows=rows,
        fix="Skip these rows, give every row an id in the file, or leave the id unmapped so that items are numbered "
        "by row.",
        command="--skip-bad-ids leaves these rows out (they are listed in the study's record)",
    )


@dataclass
class _LongItem:
    first_index: int
    labels: dict[str, str | None] = field(default_factory=dict)
    label_rows: dict[str, int] = field(default_factory=dict)
    unmapped: bool = False


def _build_long(cells: _Cells, mapping: ColumnMapping, resolver: _LabelResolver) -> BuildResult:
    """One item per id (first-appearance order); texts from the id's first row; labels from every row."""
    assert mapping.id is not None and mapping.annotator is not None and mapping.label is not None
    by_id: dict[str, _LongItem] = {}
    annotators: dict[str, None] = {}
    empty_ids: list[int] = []
    no_annotator: list[int] = []
    duplicates: list[tuple[str, str, int, int]] = []
    inconsistent: dict[str, list[int]] = {}
    for index in range(cells.n_rows):
        row = index + 1
        if row in cells.skip:
            continue
        item_id = cells.text(mapping.id, index, "id")
        if item_id is None:
            empty_ids.append(row)
            continue
        entry = by_id.get(item_id)
        if entry is None:
            entry = by_id[item_id] = _LongItem(index)
        else:
            keyed = [(getattr(mapping, role), role) for role in (*_TEXT_ROLES, *_KEY_ROLES)]
            for column, role in keyed + [(column, SUBGROUP_ROLE) for column in mapping.subgroups]:
                first, this = cells.text(column, entry.first_index, role), cells.text(column, index, role)
                if column is not None and this is not None and first is not None and this != first:
                    inconsistent.setdefault(column, []).append(row)
        annotator = cells.text(mapping.annotator, index, "annotator")
        label, unmapped = resolver.resolve(cells.column(mapping.label)[index], row, mapping.label)
        if annotator is None:
            if label is not None or unmapped:
                no_annotator.append(row)
            continue  # a row without annotator or label only introduces the item
        annotators.setdefault(annotator, None)
        if annotator in entry.label_rows:
            duplicates.append((item_id, annotator, entry.label_rows[annotator], row))
            continue
        entry.labels[annotator] = label
        entry.label_rows[annotator] = row
        entry.unmapped |= unmapped

    items: list[Item] = []
    rows: list[int] = []
    unmapped_only: list[int] = []
    for item_id, entry in by_id.items():
        experts = {name: entry.labels.get(name) for name in annotators}
        if entry.unmapped and not any(v is not None for v in experts.values()):
            unmapped_only.append(len(items))
        items.append(_item_from_row(cells, mapping, entry.first_index, item_id, experts))
        rows.append(entry.first_index + 1)
    return items, rows, unmapped_only, _long_issues(mapping, empty_ids, no_annotator, duplicates, inconsistent)


def _long_issues(
    mapping: ColumnMapping,
    empty_ids: list[int],
    no_annotator: list[int],
    duplicates: list[tuple[str, str, int, int]],
    inconsistent: dict[str, list[int]],
) -> list[Issue]:
    issues: list[Issue] = []
    if empty_ids:
        issues.append(_empty_ids_issue(empty_ids, mapping))
    if no_annotator:
        issues.append(
            error(
                "missing_annotator",
                f"{len(no_annotator)} row{'s have' if len(no_annotator) > 1 else ' has'} a label but no annotator.",
                column=mapping.annotator,
                rows=no_annotator,
                fix="Fill in who gave each label; a label without an expert cannot be compared.",
            )
        )
    if duplicates:
        detail = "; ".join(f"id {i!r}, annotator {a!r} (rows {r1} and {r2})" for i, a, r1, r2 in duplicates[:5])
        more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
        issues.append(
            error(
                "duplicate_annotation",
                f"{len(duplicates)} (item, annotator) pair{'s occur' if len(duplicates) > 1 else ' occurs'} more than once: "
                f"{detail}{more}.",
                column=mapping.annotator,
                rows=[r for *_, r1, r2 in duplicates for r in (r1, r2)],
                fix="Skip these rows, keep one label per annotator and item in the file, or check the id column.",
                command="--skip-bad-ids leaves these rows out (they are listed in the study's record)",
            )
        )
    for column, rows in inconsistent.items():
        issues.append(
            warning(
                "inconsistent_text",
                f"{len(rows)} row{'s' if len(rows) > 1 else ''} repeat an item id with a different value in {column!r} "
                "than the item's first row; the first row's value is used.",
                column=column,
                rows=rows,
                fix="Check that the id column identifies items (the same id must mean the same question and response).",
            )
        )
    return issues
