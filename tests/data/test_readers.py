"""read_table: every format recognised from the content, encodings, string cells, and every DataError."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selene_eval.data import SUPPORTED_FORMATS, TableFile, cell_display_text, read_table
from selene_eval.data.readers import UNNAMED_FIRST_COLUMN
from selene_eval.errors import DataError


def rows(table: TableFile) -> list[list[str | None]]:
    return table.frame.values.tolist()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def xlsx_bytes(*sheets: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for index, sheet_rows in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet(f"sheet{index}")
        for row in sheet_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def assert_data_error(data: bytes, *fragments: str, **kwargs: object) -> str:
    with pytest.raises(DataError) as info:
        read_table(data, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# --- delimited text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("question,answer,label\nq1,a1,yes\nq2,a2,no\n", "csv"),
        ("question\tanswer\tlabel\nq1\ta1\tyes\nq2\ta2\tno\n", "tsv"),
        ("question;answer;label\nq1;a1;yes\nq2;a2;no\n", "csv"),
        ("question|answer|label\nq1|a1|yes\nq2|a2|no\n", "csv"),
        ("question,answer,label\r\nq1,a1,yes\r\nq2,a2,no\r\n", "csv"),
    ],
    ids=["comma", "tab", "semicolon", "pipe", "crlf"],
)
def test_delimiters_are_sniffed(text: str, fmt: str) -> None:
    table = read_table(text.encode())
    assert table.format == fmt and table.encoding == "utf-8"
    assert table.columns == ["question", "answer", "label"]
    assert rows(table) == [["q1", "a1", "yes"], ["q2", "a2", "no"]]


def test_tab_separated_file_named_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", b"q\ta, with comma\tlabel\nwhat?\tit is, I think\tyes\n")
    table = read_table(path)
    assert table.format == "tsv" and table.name == "export.csv"
    assert table.columns == ["q", "a, with comma", "label"]
    assert rows(table) == [["what?", "it is, I think", "yes"]]


def test_semicolon_with_decimal_commas() -> None:
    table = read_table(b"score;note\n2,5;good, really\n1,5;fine\n")
    assert table.columns == ["score", "note"] and rows(table) == [["2,5", "good, really"], ["1,5", "fine"]]


def test_quoted_fields_with_delimiters_quotes_and_line_breaks() -> None:
    text = 'id,text\n1,"Hello, world"\n2,"She said ""hi""\nand left"\n'
    table = read_table(text.encode())
    assert rows(table) == [["1", "Hello, world"], ["2", 'She said "hi"\nand left']]


def test_single_column_keeps_commas_inside_values() -> None:
    table = read_table(b"question\nWhat is 1, 2, 3?\nWhy\n")
    assert table.format == "csv" and table.columns == ["question"]
    assert rows(table) == [["What is 1, 2, 3?"], ["Why"]]


def test_cells_are_strings_without_na_guessing() -> None:
    table = read_table(b"id,a,b,c\n007,NA,None,  padded  \n008,null,   ,\n")
    assert rows(table) == [["007", "NA", "None", "  padded  "], ["008", "null", None, None]]
    assert all(isinstance(v, str) or v is None for v in table.frame.to_numpy().ravel())


def test_header_names_are_stripped() -> None:
    assert read_table(b" question , answer\nq,a\n").columns == ["question", "answer"]


def test_long_fields_over_the_csv_module_default_limit() -> None:
    long_text = "x" * 300_000
    table = read_table(f"id,text\n1,{long_text}\n".encode())
    assert table.frame.loc[0, "text"] == long_text


def test_unnamed_first_column_is_the_pandas_row_index() -> None:
    table = read_table(b",question,label\n31,q1,yes\n32,q2,no\n")
    assert table.columns == [UNNAMED_FIRST_COLUMN, "question", "label"]
    assert rows(table)[0] == ["31", "q1", "yes"]


def test_trailing_delimiters_blank_lines_and_blank_tail_rows_are_dropped() -> None:
    text = "a,b,\n1,2,\n\n3,4,,\n5,6\n,,\n,,\n"
    table = read_table(text.encode())
    assert table.columns == ["a", "b"]
    assert rows(table) == [["1", "2"], ["3", "4"], ["5", "6"]]


def test_middle_empty_rows_are_kept_so_row_numbers_match_the_file() -> None:
    table = read_table(b"a,b\n1,2\n,\n3,4\n")
    assert rows(table) == [["1", "2"], [None, None], ["3", "4"]]


# --- encodings -------------------------------------------------------------------------------------------


def test_utf8_bom_is_stripped() -> None:
    table = read_table("\ufeffquestion,answer\nq,réponse\n".encode("utf-8"))
    assert table.encoding == "utf-8-sig"
    assert table.columns == ["question", "answer"] and not table.columns[0].startswith("\ufeff")
    assert rows(table) == [["q", "réponse"]]


def test_cp1252_bytes() -> None:
    data = "item,price\ncafé,5 €\nthé,4 €\n".encode("cp1252")
    assert b"\x80" in data  # the euro sign in Windows-1252, not valid UTF-8
    table = read_table(data)
    assert table.encoding == "cp1252"
    assert rows(table) == [["café", "5 €"], ["thé", "4 €"]]


def test_latin1_when_cp1252_cannot_decode() -> None:
    data = b"name,note\nx,caf\xe9 \x81\n"  # 0x81 is undefined in Windows-1252
    table = read_table(data)
    assert table.encoding == "latin-1" and rows(table) == [["x", "café \x81"]]


def test_utf16_with_bom() -> None:
    table = read_table("q\ta\nx\tÿ\n".encode("utf-16"))
    assert table.encoding == "utf-16" and table.format == "tsv" and rows(table) == [["x", "ÿ"]]


# --- Excel ---------------------------------------------------------------------------------------------------


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    data = xlsx_bytes(
        [
            ["id", "score", "ratio", "when", "text"],
            [1, 5.0, 2.5, dt.datetime(2024, 1, 5), "NA"],
            [2, 4, None, dt.datetime(2024, 1, 5, 10, 30), "  "],
        ],
        [["other sheet"], ["ignored"]],
    )
    path = write(tmp_path, "labels.csv", data)  # wrong extension on purpose
    table = read_table(path)
    assert table.format == "xlsx" and table.encoding is None
    assert table.columns == ["id", "score", "ratio", "when", "text"]
    assert rows(table) == [["1", "5", "2.5", "2024-01-05", "NA"], ["2", "4", None, "2024-01-05 10:30:00", None]]


def test_xlsx_written_by_pandas() -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"q": ["a", "b"], "label": [1.0, 0.0]}).to_excel(buffer, index=False)
    table = read_table(buffer.getvalue(), name="x.json")
    assert table.format == "xlsx" and table.name == "x.json" and rows(table) == [["a", "1"], ["b", "0"]]


# --- Parquet -------------------------------------------------------------------------------------------------


def test_parquet_with_types_and_nested_values(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "score": [5.0, 2.5, None],
            "tags": [["a", "b"], [], None],
            "text": ["NA", " ", "z"],
        }
    )
    table = read_table(write(tmp_path, "data.txt", parquet_bytes(frame)))
    assert table.format == "parquet" and table.encoding is None
    assert rows(table) == [["1", "5", '["a", "b"]', "NA"], ["2", "2.5", "[]", None], ["3", None, None, "z"]]


# --- JSON and JSON Lines -------------------------------------------------------------------------------------

RECORDS = [
    {"q": "first", "score": 5.0, "ratio": 2.5, "ok": True, "meta": {"a": [1, 2]}, "none": None},
    {"q": "second", "score": 3, "extra": "only here"},
]
EXPECTED = [
    ["first", "5", "2.5", "true", '{"a": [1, 2]}', None, None],
    ["second", "3", None, None, None, None, "only here"],
]


def test_json_array_of_records() -> None:
    table = read_table(json.dumps(RECORDS).encode())
    assert table.format == "json"
    assert table.columns == ["q", "score", "ratio", "ok", "meta", "none", "extra"]
    assert rows(table) == EXPECTED


@pytest.mark.parametrize("key", ["records", "data", "rows", "items"])
def test_json_object_holding_records(key: str) -> None:
    table = read_table(json.dumps({"version": 1, key: RECORDS}, indent=2).encode())
    assert table.format == "json" and rows(table) == EXPECTED


def test_json_dict_of_columns() -> None:
    table = read_table(json.dumps({"q": ["a", "b"], "score": [1.0, 4.5]}).encode())
    assert table.columns == ["q", "score"] and rows(table) == [["a", "1"], ["b", "4.5"]]


@pytest.mark.parametrize("orient", ["columns", "split", "records", "table"])
def test_json_written_by_pandas(orient: str) -> None:
    frame = pd.DataFrame({"q": ["a", "b"], "score": [1.0, 4.5], "label": ["yes", None]})
    table = read_table(frame.to_json(orient=orient).encode())
    assert table.format == "json"
    # orient="table" adds an "index" column; the data columns read the same for every orientation.
    assert table.frame[["q", "score", "label"]].values.tolist() == [["a", "1", "yes"], ["b", "4.5", None]]


def test_jsonl_inside_a_json_file_with_blank_lines(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(r) for r in RECORDS)
    path = write(tmp_path, "results.json", ("\n" + text.replace("\n", "\n\n") + "\n\n").encode())
    table = read_table(path)
    assert table.format == "jsonl" and rows(table) == EXPECTED


def test_single_json_object_is_one_row() -> None:
    table = read_table(b'{"q": "only", "n": 1}')
    assert table.format == "json" and rows(table) == [["only", "1"]]


# --- TableFile -----------------------------------------------------------------------------------------------


def test_table_file_metadata_from_path_bytes_and_stream(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3,4\n"
    from_path = read_table(write(tmp_path, "my file.csv", data))
    assert from_path.name == "my file.csv" and from_path.n_rows == 2
    assert from_path.sha256 == hashlib.sha256(data).hexdigest()
    assert read_table(data).name == "upload"
    assert read_table(str(tmp_path / "my file.csv"), name="shown.csv").name == "shown.csv"
    stream = open(tmp_path / "my file.csv", "rb")  # noqa: SIM115 - closed below
    try:
        assert read_table(stream).name == "my file.csv"
    finally:
        stream.close()
    assert rows(read_table(io.BytesIO(data))) == [["1", "2"], ["3", "4"]]
    assert set(SUPPORTED_FORMATS) == {"csv", "tsv", "xlsx", "json", "jsonl", "parquet"}


def test_frame_has_object_cells_and_default_index() -> None:
    frame = read_table(b"a\n1\n\n2\n").frame
    assert list(frame.index) == [0, 1] and all(dtype == object for dtype in frame.dtypes)  # noqa: E721  (a dtype equals, not is, object)


# --- cell_display_text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
        (pd.NaT, None),
        ("", None),
        ("  \t", None),
        (" x ", " x "),
        (5.0, "5"),
        (np.float64(5.0), "5"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (np.int64(7), "7"),
        (True, "true"),
        (np.bool_(False), "false"),
        (Decimal("5.00"), "5"),
        (Decimal("1.25"), "1.25"),
        ([1, "a"], '[1, "a"]'),
        ({"k": "é"}, '{"k": "é"}'),
        (b"bytes", "bytes"),
        (dt.date(2024, 2, 1), "2024-02-01"),
        (dt.datetime(2024, 2, 1, 8, 0), "2024-02-01 08:00:00"),
        (np.array([1, 2]), "[1, 2]"),
    ],
)
def test_cell_text(value: object, text: str | None) -> None:
    assert cell_display_text(value) == text


# --- every DataError -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t "], ids=["zero-bytes", "whitespace"])
def test_empty_file(data: bytes) -> None:
    assert_data_error(data, "is empty", "header row")


def test_file_over_the_limit(tmp_path: Path) -> None:
    data = b"a,b\n" + b"1,2\n" * 600
    path = write(tmp_path, "big.csv", data)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(DataError) as info:
            read_table(source, max_bytes=1024)
        message = str(info.value)
        assert "1.0 KB limit" in message and "max_bytes" in message and "Split" in message
    assert "2.3 KB" in assert_data_error(data, max_bytes=1024)
    assert read_table(data, max_bytes=len(data)).n_rows == 600


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02\x03binary\x00", bytes(range(1, 32)) * 20, b"\x7fELF\x02\x01\x01\x00" + bytes(200)],
    ids=["nul", "control", "elf"],
)
def test_binary_junk(data: bytes) -> None:
    assert_data_error(data, "Could not recognise", "Supported formats are", "CSV")


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert_data_error(buffer.getvalue(), "not an Excel workbook", "Extract the table")


def test_ods_and_xlsb_are_named() -> None:
    for member, hint in (("content.xml", ".ods"), ("xl/workbook.bin", ".xlsb")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(member, "x")
        assert_data_error(buffer.getvalue(), hint, "save it as .xlsx or CSV")


def test_old_xls() -> None:
    assert_data_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), ".xls", "save it as .xlsx or CSV")


def test_damaged_xlsx_and_parquet() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really/>")
    assert_data_error(buffer.getvalue(), "looks like an Excel file but cannot be read", "save it again")
    good = parquet_bytes(pd.DataFrame({"a": [1]}))
    broken = good[:4] + b"\x00" * (len(good) - 8) + good[-4:]
    assert_data_error(broken, "looks like a Parquet file but cannot be read", "save it again")
    assert_data_error(b"PK\x03\x04garbage", "Excel")


def test_empty_first_sheet() -> None:
    assert_data_error(xlsx_bytes([]), "first sheet", "is empty")


def test_malformed_json_names_the_line() -> None:
    message = assert_data_error(b'[\n  {"a": 1},\n  {"a": 2\n]\n', "not valid", "line 4", "Fix the JSON")
    assert "column" in message


def test_malformed_json_lines_names_the_line() -> None:
    assert_data_error(b'{"a": 1}\n{"a": 2\n{"a": 3}\n', "Line 2", "not valid JSON", "one complete JSON object")


def test_json_lines_with_a_non_object_line() -> None:
    assert_data_error(b'{"a": 1}\n[1, 2]\n', "Line 2", "array, not an object")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"[1, 2, 3]", "number at position 1"),
        (b'[{"a": 1}, "x"]', "string at position 2"),
        (b'{"a": [1, 2], "b": [1]}', "different lengths"),
        (b'{"columns": ["a", "b"], "data": [[1]]}', "list of 2 values"),
        (b"[]", "no data rows"),
        (b'{"records": []}', "no data rows"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_json_that_is_not_a_table(data: bytes, fragment: str) -> None:
    assert_data_error(data, fragment)


def test_ragged_rows_name_the_line() -> None:
    assert_data_error(b"a,b,c\n1,2,3\n4,5,6,7\n", "Line 3", "4 fields", "header has 3", "double quotes")
    assert_data_error(b"a,b,c\n1,2,3\n4,5\n", "Line 3", "2 fields")


def test_unclosed_quote_is_an_error_not_a_swallowed_file() -> None:
    assert_data_error(b'a,b\n1,ok\n2,"never closed\n3,x\n4,y\n', "never closed", "line 3", "double quotes")


def test_text_after_a_closing_quote_is_an_error() -> None:
    assert_data_error(b'a,b\n1,"quoted"tail\n', "line 2", "double quotes")


def test_duplicate_header_names() -> None:
    assert_data_error(b"label,q,label,q\n1,2,3,4\n", "'label' (columns 1, 3)", "'q' (columns 2, 4)", "Rename")


def test_duplicates_after_stripping() -> None:
    assert_data_error(b"label ,label\n1,2\n", "'label'", "Rename")


def test_empty_header_names_with_values() -> None:
    assert_data_error(b"a,,b,\n1,2,3,4\n", "Columns 2, 4", "no name", "Give every column a name")


def test_header_without_rows() -> None:
    assert_data_error(b"question,answer\n", "no data rows", "Add at least one row")
    assert_data_error(b"question,answer\n,\n,\n", "no data rows")
    assert_data_error(xlsx_bytes([["q", "a"]]), "no data rows")


def test_missing_path_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="File not found.*Check the path"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


# --- robustness ----------------------------------------------------------------------------------------------


def _read_or_data_error(data: bytes) -> None:
    try:
        table = read_table(data)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(table, TableFile) and table.n_rows >= 1
    assert all(isinstance(v, str) or v is None for v in table.frame.to_numpy().ravel())
    assert all(isinstance(c, str) and c for c in table.frame.columns)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_end_in_a_table_or_a_data_error(data: bytes) -> None:
    _read_or_data_error(data)


@FUZZ
@given(st.lists(st.sampled_from([*'ab1 ,;\t|"\n\r{}[]:\\é€\ufeff', "5.0", "null", '"x"']), max_size=120).map("".join))
def test_random_table_like_text_ends_in_a_table_or_a_data_error(text: str) -> None:
    _read_or_data_error(text.encode("utf-8"))


@FUZZ
@given(st.sampled_from([b"PAR1", b"PK\x03\x04", b"[", b"{", b"\xef\xbb\xbf", b"\xff\xfe"]), st.binary(max_size=300))
def test_random_bytes_behind_magic_numbers(prefix: bytes, rest: bytes) -> None:
    _read_or_data_error(prefix + rest + (b"PAR1" if prefix == b"PAR1" else b""))
