"""The validation report: one test per issue code, plus the report's text and dict forms."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, Issue, ValidationReport, build_items
from selene_eval.data.validation import MAX_ROWS

A, B, P = TaskType.ABSOLUTE, TaskType.BINARY, TaskType.PAIRWISE


def frame(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=object)


def binary_rows(n: int, **overrides: object) -> list[dict[str, str | None]]:
    """n good binary rows (both classes), with per-row overrides {row_number: {column: value}}."""
    rows = [
        {"id": f"i{k}", "q": f"question {k}", "a": f"answer {k}", "e1": "yes" if k % 2 else "no", "e2": "yes"}
        for k in range(1, n + 1)
    ]
    for row, values in overrides.items():
        rows[int(row.lstrip("r")) - 1].update(values)  # type: ignore[arg-type]
    return rows


WIDE = ColumnMapping(id="id", input="q", response="a", experts=["e1", "e2"])


def only(report: ValidationReport, code: str) -> Issue:
    matching = [issue for issue in report.issues if issue.code == code]
    assert len(matching) == 1, report
    return matching[0]


def test_clean_data_has_no_issues() -> None:
    items, report = build_items(frame(binary_rows(12)), WIDE, B)
    assert report.ok and report.issues == () and len(items) == 12
    assert report.n_rows == 12 and report.n_items == 12


def test_missing_column_suggests_close_matches() -> None:
    mapping = ColumnMapping(id="id", input="qestion", response="A", experts=["e1", "e9"])
    data = frame([{**row, "question": row["q"]} for row in binary_rows(12)])
    items, report = build_items(data, mapping, B)
    assert items == [] and not report.ok
    missing = {issue.column: issue for issue in report.errors if issue.code == "missing_column"}
    assert set(missing) == {"qestion", "A", "e9"}
    assert "'question'" in missing["qestion"].fix and "mapped to input" in missing["qestion"].message
    assert "Did you mean 'a'" in missing["A"].fix  # case differs only
    assert "e1" in missing["e9"].fix


def test_missing_column_without_close_match_lists_the_columns() -> None:
    _, report = build_items(frame(binary_rows(3)), ColumnMapping(input="zzzzzz", response="a", experts=["e1"]), B)
    assert "The file's columns are: 'id', 'q', 'a', 'e1', 'e2'" in only(report, "missing_column").fix


@pytest.mark.parametrize(
    ("task", "mapping", "roles"),
    [
        (B, ColumnMapping(experts=["e1"]), {"input", "response"}),
        (A, ColumnMapping(input="q", experts=["e1"]), {"response"}),
        (P, ColumnMapping(input="q", response="a", experts=["e1"]), {"response_b"}),
    ],
)
def test_missing_required_roles(task: TaskType, mapping: ColumnMapping, roles: set[str]) -> None:
    items, report = build_items(frame(binary_rows(3)), mapping, task)
    issues = [i for i in report.errors if i.code == "missing_role"]
    assert items == [] and {i.message.split("'")[1] for i in issues} == roles
    # The fix is in words (it is shown in the dashboard too); the option is kept apart for the command line.
    assert all("--" not in i.fix and i.command.startswith("--map ") for i in issues)


def test_half_a_long_mapping_is_a_missing_role() -> None:
    _, report = build_items(frame(binary_rows(3)), ColumnMapping(id="id", input="q", response="a", annotator="e1"), B)
    issue = only(report, "missing_role")
    assert "only the annotator column" in issue.message and "--map label=COLUMN" in issue.command
    assert "--" not in issue.fix


def test_no_experts() -> None:
    items, report = build_items(frame(binary_rows(3)), ColumnMapping(input="q", response="a"), B)
    assert items == [] and only(report, "no_experts").severity == "error"
    assert "--map expert=COLUMN" in only(report, "no_experts").command and "--" not in only(report, "no_experts").fix
    assert "On the command line: --map expert=COLUMN" in str(only(report, "no_experts"))


def test_empty_required_column_is_an_error_optional_a_warning() -> None:
    data = frame(binary_rows(12, r1={"a": None}))
    for row in data.index:
        data.loc[row, "a"] = None if row % 2 else "   "
    data["gold"] = None
    items, report = build_items(data, ColumnMapping(input="q", response="a", reference="gold", experts=["e1"]), B)
    empties = {issue.column: issue.severity for issue in report.issues if issue.code == "empty_column"}
    assert empties == {"a": "error", "gold": "warning"} and items == []

    data["a"] = "x"
    items, report = build_items(data, ColumnMapping(input="q", response="a", reference="gold", experts=["e1"]), B)
    assert report.ok and only(report, "empty_column").column == "gold" and len(items) == 12


def test_unmapped_labels_lists_values_counts_rows_and_the_fix() -> None:
    data = frame(binary_rows(12, r2={"e1": "Correct Answer"}, r5={"e1": "Correct Answer"}, r7={"e1": "Refusal"}))
    items, report = build_items(data, WIDE, B)
    issue = only(report, "unmapped_labels")
    assert issue.severity == "error" and not report.ok
    assert "'Correct Answer' (2 cells), 'Refusal' (1 cell)" in issue.message
    assert issue.rows == (2, 5, 7) and issue.column == "e1"
    assert '--label-map "Correct Answer=yes"' in issue.command and "--" not in issue.fix
    assert len(items) == 12  # built anyway, for a preview; the error blocks saving
    assert "items_without_labels" not in codes(report)  # e2 still labels those rows


def test_unmapped_labels_across_columns_has_no_single_column() -> None:
    data = frame(binary_rows(12, r1={"e1": "maybe"}, r3={"e2": "perhaps"}))
    assert only(build_items(data, WIDE, B)[1], "unmapped_labels").column is None


def test_rows_with_only_unmapped_labels_are_not_also_reported_as_unlabelled() -> None:
    data = frame(binary_rows(12, r4={"e1": "maybe", "e2": None}))
    report = build_items(data, WIDE, B)[1]
    assert codes(report) == {"unmapped_labels"}


def test_duplicate_ids() -> None:
    data = frame(binary_rows(12, r4={"id": "i1"}, r9={"id": "i1"}, r10={"id": "i2"}))
    issue = only(build_items(data, WIDE, B)[1], "duplicate_ids")
    assert issue.severity == "error" and issue.rows == (1, 2, 4, 9, 10) and issue.column == "id"
    assert "'i1' (rows 1, 4, 9)" in issue.message and "'i2' (rows 2, 10)" in issue.message
    assert "group" in issue.fix


def test_empty_ids() -> None:
    issue = only(build_items(frame(binary_rows(12, r3={"id": " "})), WIDE, B)[1], "empty_id")
    assert issue.severity == "error" and issue.rows == (3,)


def test_empty_texts_are_warnings_with_rows() -> None:
    data = frame(binary_rows(12, r2={"q": None}, r6={"q": "  "}, r8={"a": ""}))
    items, report = build_items(data, WIDE, B)
    assert report.ok
    by_column = {i.column: i for i in report.issues if i.code == "empty_text"}
    assert by_column["q"].rows == (2, 6) and by_column["a"].rows == (8,)
    assert by_column["q"].severity == "warning"
    assert items[1].input == items[5].input == ""  # blank cells are missing, like read_table makes them


def test_items_without_labels() -> None:
    data = frame(binary_rows(12, r3={"e1": None, "e2": None}, r4={"e1": "skip", "e2": " "}))
    items, report = build_items(data, WIDE, B, {"skip": None})
    issue = only(report, "items_without_labels")
    assert report.ok and issue.severity == "warning" and issue.rows == (3, 4) and len(items) == 12
    assert "kept out of the agreement statistics" in issue.message and "unlabelled items" in issue.message


def test_single_class() -> None:
    rows = binary_rows(12)
    for row in rows:
        row["e1"] = row["e2"] = "Correct"
    issue = only(build_items(frame(rows), WIDE, B, {"correct": "yes"})[1], "single_class")
    assert issue.severity == "warning" and "'yes'" in issue.message and "kappa" in issue.message


def test_too_few_items() -> None:
    report = build_items(frame(binary_rows(4)), WIDE, B)[1]
    issue = only(report, "too_few_items")
    assert (
        report.ok and issue.severity == "warning" and "Only 4 items" in issue.message and "--min-items" in issue.command
    )
    assert "too_few_items" not in codes(build_items(frame(binary_rows(4)), WIDE, B, min_items=4)[1])


def test_no_labels_at_all() -> None:
    data = frame(binary_rows(12))
    data["e1"] = data["e2"] = "N/A"
    items, report = build_items(data, WIDE, B, {"n/a": None})
    assert only(report, "no_labels").severity == "error" and len(items) == 12
    assert "items_without_labels" not in codes(report) and "too_few_items" not in codes(report)


def test_no_items() -> None:
    empty = frame([]).reindex(columns=["q", "a", "e1"])
    items, report = build_items(empty, ColumnMapping(input="q", response="a", experts=["e1"]), B)
    assert items == [] and not report.ok and codes(report) == {"no_items"}


def test_long_format_issues() -> None:
    rows = [
        {"id": "i1", "q": "q1", "a": "a1", "who": "ann", "lab": "yes"},
        {"id": "i1", "q": "q1 changed", "a": "a1", "who": "bob", "lab": "no"},
        {"id": "i1", "q": "q1", "a": "a1", "who": "ann", "lab": "no"},
        {"id": None, "q": "q2", "a": "a2", "who": "ann", "lab": "yes"},
        {"id": "i3", "q": "q3", "a": "a3", "who": None, "lab": "yes"},
        {"id": "i4", "q": "q4", "a": None, "who": "bob", "lab": "no"},
    ]
    mapping = ColumnMapping(id="id", input="q", response="a", annotator="who", label="lab")
    items, report = build_items(frame(rows), mapping, B)
    assert [i.item_id for i in items] == ["i1", "i3", "i4"]
    assert only(report, "duplicate_annotation").rows == (1, 3)
    assert "id 'i1', annotator 'ann' (rows 1 and 3)" in only(report, "duplicate_annotation").message
    inconsistent = only(report, "inconsistent_text")
    assert inconsistent.severity == "warning" and inconsistent.column == "q" and inconsistent.rows == (2,)
    assert only(report, "empty_id").rows == (4,)
    assert only(report, "missing_annotator").rows == (5,)
    assert only(report, "empty_text").rows == (6,)  # the item's first row
    assert dict(items[0].experts) == {"ann": "yes", "bob": "no"}  # the first of the duplicate labels is kept
    assert not report.ok


def test_row_numbers_are_capped() -> None:
    data = frame(binary_rows(50))
    data["q"] = [None if k % 2 == 0 else "q" for k in range(50)]
    issue = only(build_items(data, WIDE, B)[1], "empty_text")
    assert len(issue.rows) == MAX_ROWS and issue.rows[0] == 1 and "25 items" in issue.message


def test_report_text_and_dict() -> None:
    data = frame(binary_rows(4, r2={"e1": "Correct Answer"}, r3={"q": None}))
    report = build_items(data, WIDE, B)[1]
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "4 rows read, 4 items built: 1 error, 2 warnings"
    assert lines[1].startswith("ERROR [unmapped_labels]") and "column 'e1'; row 2" in lines[1] and "Fix: " in lines[1]
    assert any(line.startswith("WARNING [empty_text]") and "row 3" in line for line in lines)
    assert len(lines) == 4
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["ok"] is False and as_dict["n_errors"] == 1 and as_dict["n_warnings"] == 2
    assert {"severity", "code", "message", "column", "rows", "fix"} <= set(as_dict["issues"][0])  # type: ignore[index]


def test_report_properties() -> None:
    issues = (Issue("warning", "w", "a warning"), Issue("error", "e", "an error", rows=(3,), fix="do this"))
    report = ValidationReport(issues, n_rows=3, n_items=2)
    assert report.errors == issues[1:] and report.warnings == issues[:1] and not report.ok
    assert ValidationReport().ok and str(ValidationReport()) == "0 rows read, 0 items built: 0 errors, 0 warnings"
    assert str(issues[1]) == "ERROR [e] an error (row 3) Fix: do this"


def codes(report: ValidationReport) -> set[str]:
    return {issue.code for issue in report.issues}


# --- rows with bad ids can be skipped (issue 14, point 5) ----------------------------------------------------


def test_bad_id_rows_are_named_with_their_reason_and_can_be_skipped() -> None:
    from selene_eval.data import rows_with_bad_ids

    data = frame(binary_rows(12, r3={"id": " "}, r4={"id": "i1"}, r9={"id": "i1"}))
    bad = rows_with_bad_ids(data, WIDE)
    assert bad == {
        1: "item id 'i1' is on 3 rows",
        3: "no item id",
        4: "item id 'i1' is on 3 rows",
        9: "item id 'i1' is on 3 rows",
    }
    assert {"duplicate_ids", "empty_id"} <= codes(build_items(data, WIDE, B)[1])
    assert all(
        "Skip these rows" in i.fix and "--skip-bad-ids" in i.command for i in build_items(data, WIDE, B)[1].errors
    )

    items, report = build_items(data, WIDE, B, skip_rows=bad)
    assert report.ok and report.skipped_rows == (1, 3, 4, 9) and report.n_rows == 12
    assert [item.item_id for item in items] == ["i2", "i5", "i6", "i7", "i8", "i10", "i11", "i12"]
    issue = only(report, "skipped_rows")
    assert issue.severity == "warning" and issue.rows == (1, 3, 4, 9) and "rows 1, 3, 4 and 9" in issue.message
    assert str(report).startswith("12 rows read (4 rows skipped), 8 items built")
    assert report.to_dict()["skipped_rows"] == [1, 3, 4, 9]


def test_skipping_keeps_the_file_row_numbers_in_other_issues() -> None:
    data = frame(binary_rows(12, r2={"id": "i1"}, r7={"q": None}))
    _, report = build_items(data, WIDE, B, skip_rows=[1, 2])
    assert only(report, "empty_text").rows == (7,)  # row 7 of the file, not the 5th row built


def test_bad_id_rows_of_a_long_table() -> None:
    from selene_eval.data import rows_with_bad_ids

    rows = [
        {"id": "x", "q": "q", "a": "a", "who": "ann", "lab": "yes"},
        {"id": "x", "q": "q", "a": "a", "who": "ann", "lab": "no"},
        {"id": None, "q": "q", "a": "a", "who": "bob", "lab": "no"},
        {"id": "y", "q": "q", "a": "a", "who": "ann", "lab": "no"},
    ]
    mapping = ColumnMapping(id="id", input="q", response="a", annotator="who", label="lab")
    bad = rows_with_bad_ids(frame(rows), mapping)
    assert bad == {
        1: "item id 'x' labelled by 'ann' more than once",
        2: "item id 'x' labelled by 'ann' more than once",
        3: "no item id",
    }
    items, report = build_items(frame(rows), mapping, B, skip_rows=bad, min_items=1)
    assert report.ok and [item.item_id for item in items] == ["y"]
    assert rows_with_bad_ids(frame(rows), ColumnMapping(input="q", response="a", experts=["lab"])) == {}


# --- label maps that contradict themselves (issue 14, point 3) -----------------------------------------------


def test_spellings_of_one_word_mapped_to_different_labels_are_flagged() -> None:
    from selene_eval.data import conflicting_spellings

    label_map = {"no": "yes", "No.": "no", " NO": "no", "yes": "no", "Yes": "yes", "yse": "yes", "skip": None}
    assert conflicting_spellings(label_map) == [{"no": "yes", "No.": "no", " NO": "no"}, {"yes": "no", "Yes": "yes"}]
    assert conflicting_spellings({"no": "no", "No.": "no", "n/a": None, "N/A": None}) == []
    data = frame(binary_rows(12, r2={"e1": "No."}, r3={"e1": "Yes"}))
    issues = [i for i in build_items(data, WIDE, B, label_map)[1].issues if i.code == "conflicting_spellings"]
    assert len(issues) == 2 and all(i.severity == "warning" for i in issues)
    assert "'no' means 'yes', 'No.' means 'no'" in issues[0].message


def test_the_command_line_example_of_an_unknown_value_does_not_guess_its_meaning() -> None:
    # An example like --label-map "n0=yes" would tell the user a meaning nobody knows.
    issue = only(build_items(frame(binary_rows(12, r2={"e1": "n0"})), WIDE, B)[1], "unmapped_labels")
    assert '--label-map "n0=LABEL"' in issue.command and "LABEL one of yes, no" in issue.command
    assert "--" not in issue.fix and "one of yes, no" in issue.fix
