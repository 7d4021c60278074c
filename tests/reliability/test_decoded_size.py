"""What a file decodes to is bounded before it is materialised (docs/RELIABILITY.md, "Bad files").

A few kilobytes of Excel can repeat one long shared string in thousands of cells, and a dictionary-encoded
Parquet column one long value in every row: the file, and what it unpacks to, pass every size limit while
the table it decodes to fills the memory. ``ReadLimits.max_decoded_bytes`` (``SELENE_EVAL_MAX_DECODED_MB``)
bounds the characters of all cells plus a cost per cell, and each format is checked before its cells are
built. The bombs are generated here, read in a child process, and its peak memory is measured.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from selene_eval.data import ReadLimits, read_table
from selene_eval.data.readers import DECODED_CELL_COST, MAX_DECODED_BYTES
from selene_eval.errors import DataError
from tests.reliability.helpers import env_for_subprocess

SETTING = "SELENE_EVAL_MAX_DECODED_MB"
PARQUET_WORKER_CAP_MB = 400
"""The Parquet worker's peak resident memory, imports included, after refusing a bomb (it reads the footer and
the dictionary-encoded columns only)."""
EXTRA_MEMORY_CAP_MB = 64
"""How much a refused bomb may add to the reading process's peak memory (imports excluded)."""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def raw_xlsx(rows: list[str], shared: list[str], *, sheet_target: str = "worksheets/sheet1.xml") -> bytes:
    """A minimal workbook written by hand: ``rows`` are ``<row>`` elements, ``shared`` the shared strings."""
    sheet_part = f"xl/{sheet_target}"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/{sheet_part}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_RELS}">'
            f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="{sheet_target}"/>'
            f'<Relationship Id="rId2" Type="{_DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": (
            f'<sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
            + "".join(f"<si><t>{text}</t></si>" for text in shared)
            + "</sst>"
        ),
        sheet_part: f'<worksheet xmlns="{_MAIN}"><sheetData>' + "".join(rows) + "</sheetData></worksheet>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text)
    return buffer.getvalue()


HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>question</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>answer</t></is></c></row>'
)


def shared_string_bomb(n_rows: int = 1000, length: int = 900_000) -> bytes:
    """``n_rows`` rows whose two cells both point at one ``length``-character shared string."""
    rows = [HEADER_ROW] + [
        f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>0</v></c></row>' for r in range(2, n_rows + 2)
    ]
    return raw_xlsx(rows, ["x" * length])


def dictionary_parquet_bomb(n_rows: int = 8000, length: int = 900_000) -> bytes:
    """A Parquet file whose ``question`` column repeats one ``length``-character value, stored once."""
    zeros = pa.array(np.zeros(n_rows, dtype=np.int32))
    table = pa.table(
        {
            "question": pa.DictionaryArray.from_arrays(zeros, pa.array(["q" * length])),
            "answer": pa.DictionaryArray.from_arrays(zeros, pa.array(["a"])),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


# The peak is read from /proc/self/status (VmHWM), not getrusage: ru_maxrss survives exec, so a child of a
# large pytest process starts with the parent's peak and a growth below it would not show.
READ_IN_CHILD = """
import json, sys
import openpyxl, pyarrow.parquet, pandas  # imported before the baseline: their memory is not the file's
from selene_eval.data import read_table
from selene_eval.errors import DataError
def peak_kb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
before = peak_kb()
try:
    outcome = "read %d rows" % read_table(sys.argv[1]).n_rows
except DataError as exc:
    outcome = "DataError: " + str(exc)
extra = (peak_kb() - before) / 1024
from selene_eval.data.isolation import worker_peak_rss_mb  # Parquet is decoded there, imports included
print(json.dumps({"outcome": outcome, "extra_mb": extra, "parquet_worker_mb": worker_peak_rss_mb()}))
"""


def read_in_child(path: Path) -> dict[str, object]:
    """Read ``path`` with the default limits in a fresh process: its outcome and the memory it added (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env_for_subprocess(),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_a_small_file_that_decodes_to_gigabytes_is_refused_with_little_memory(tmp_path: Path, kind: str) -> None:
    data = shared_string_bomb() if kind == "xlsx" else dictionary_parquet_bomb()
    assert len(data) < 16 * 1024  # passes the file and unpacked-size limits by far
    path = tmp_path / f"bomb.{kind}"
    path.write_bytes(data)
    result = read_in_child(path)
    outcome = str(result["outcome"])
    assert outcome.startswith("DataError: bomb.") and "decodes to more than 512 MB" in outcome and SETTING in outcome, (
        outcome
    )
    assert float(result["extra_mb"]) < EXTRA_MEMORY_CAP_MB, result  # it once took 4.9 GB (Excel) and 6 GB (Parquet)
    if kind == "parquet":  # the worker's whole peak, pyarrow and pandas included
        assert 0 < float(result["parquet_worker_mb"]) < PARQUET_WORKER_CAP_MB, result


def test_an_openpyxl_workbook_repeating_a_long_text_is_refused() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["question", "answer"])
    text = "long answer " * 2_000  # openpyxl stores it once, as a shared string
    for _ in range(200):
        sheet.append([text, "short"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    limits = ReadLimits(max_decoded_bytes=2 * 2**20)
    with pytest.raises(DataError, match=f"decodes to more than 2 MB.*{SETTING}"):
        read_table(buffer.getvalue(), name="book.xlsx", limits=limits)
    # The same workbook within the limit reads whole.
    assert read_table(buffer.getvalue(), limits=ReadLimits(max_decoded_bytes=8 * 2**20)).frame.iloc[199, 0] == text


def test_an_excel_grid_padded_to_a_million_rows_and_16384_columns_is_refused() -> None:
    """Two cells far apart make pandas pad every row to the widest: the grid is charged, not only the text."""
    rows = [HEADER_ROW, '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']
    with pytest.raises(DataError, match="decodes to more than 512 MB"):
        read_table(raw_xlsx(rows, []), name="sparse.xlsx")


def test_the_first_sheet_is_found_through_the_workbook_relationships() -> None:
    """The bomb is charged where openpyxl reads it, whatever the sheet's part is called."""
    rows = [HEADER_ROW] + [f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(2, 300)]
    data = raw_xlsx(rows, ["y" * 10_000], sheet_target="custom/data.xml")
    with pytest.raises(DataError, match="decodes to more than 1 MB"):
        read_table(data, limits=ReadLimits(max_decoded_bytes=2**20))
    assert read_table(data, limits=ReadLimits(max_decoded_bytes=4 * 2**20)).n_rows == 298


def test_text_formats_are_charged_as_they_are_parsed() -> None:
    limits = ReadLimits(max_decoded_bytes=2**20)
    many_empty_cells = b"q" + b"," * 999 + b"\n" + (b"x" + b"," * 999 + b"\n") * 200  # 200k cells, 8 bytes each
    huge_numbers = b"[" + b",".join(b'{"q": 1e300}' for _ in range(5_000)) + b"]"  # 12 bytes decode to 301
    empty_records = b"[" + b",".join(b"{}" for _ in range(20_000)) + b"]"  # each a dict in memory
    for data in (many_empty_cells, huge_numbers, empty_records):
        assert len(data) < 2**20 or data is many_empty_cells
        with pytest.raises(DataError, match=f"decodes to more than 1 MB of cell text.*{SETTING}"):
            read_table(data, name="upload.json", limits=limits)


def test_a_dictionary_encoded_parquet_within_the_limit_reads_whole() -> None:
    data = dictionary_parquet_bomb(n_rows=50, length=1_000)
    table = read_table(data, limits=ReadLimits(max_decoded_bytes=2**20))
    assert table.n_rows == 50 and table.frame["question"].tolist() == ["q" * 1_000] * 50
    with pytest.raises(DataError, match="decodes to more than"):
        read_table(data, limits=ReadLimits(max_decoded_bytes=40_000))


def test_the_decoded_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ReadLimits().max_decoded_bytes == MAX_DECODED_BYTES == 512 * 2**20
    monkeypatch.setenv(SETTING, "0.25")
    assert ReadLimits.from_env().max_decoded_bytes == 2**18
    # 1,000 rows of 300 characters: about 300 KB of text, over a quarter of a megabyte.
    data = b"q,a\n" + (b"x" * 300 + b",y\n") * 1_000
    with pytest.raises(DataError, match=f"decodes to more than 256.0 KB.*{SETTING}"):
        read_table(data)
    monkeypatch.setenv(SETTING, "1")
    assert read_table(data).n_rows == 1_000
    monkeypatch.setenv(SETTING, "none")
    with pytest.raises(DataError, match=f"{SETTING}='none' is not valid: set it to a number of megabytes"):
        read_table(data)
    assert DECODED_CELL_COST == 8


@pytest.mark.parametrize("shape", ["list", "map", "struct"])
def test_nested_parquet_columns_are_charged_through_their_dictionaries(shape: str) -> None:
    """One 100,000-character value, stored once, repeated 1,000 times inside a single cell's list, map or struct."""
    repeated = pa.DictionaryArray.from_arrays(pa.array(np.zeros(1_000, dtype=np.int32)), pa.array(["z" * 100_000]))
    if shape == "list":
        column = pa.ListArray.from_arrays(pa.array([0, 1_000], type=pa.int32()), repeated)
    elif shape == "map":
        keys = pa.array([f"k{i}" for i in range(1_000)])
        column = pa.MapArray.from_arrays(pa.array([0, 1_000], type=pa.int32()), keys, repeated.cast(pa.string()))
    else:
        column = pa.StructArray.from_arrays([repeated], names=["text"])
    buffer = io.BytesIO()
    pq.write_table(pa.table({"question": pa.array(["q"] * len(column)), "nested": column}), buffer, compression="zstd")
    assert len(buffer.getvalue()) < 64 * 1024
    with pytest.raises(DataError, match="decodes to more than 50 MB"):
        read_table(buffer.getvalue(), limits=ReadLimits(max_decoded_bytes=50 * 2**20))


@pytest.mark.parametrize("kind", ["xlsx-bomb", "json-long-integer"])
def test_the_command_line_refuses_in_one_line_and_writes_nothing(tmp_path: Path, kind: str) -> None:
    if kind == "xlsx-bomb":
        path, fragment = tmp_path / "bomb.xlsx", SETTING
        path.write_bytes(shared_string_bomb())
    else:
        path, fragment = tmp_path / "long.json", "holds a number of 5,001 digits"
        path.write_bytes(b'[{"question": "q", "answer": "a", "label": 1' + b"2" * 5000 + b"}]")
    studies = tmp_path / "studies"
    command = [
        sys.executable,
        "-m",
        "selene_eval",
        "--studies-dir",
        str(studies),
        "import",
        str(path),
        "--study",
        "s",
        "--task",
        "binary",
        "--map",
        "input=question",
        "response=answer",
        "expert=label",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env_for_subprocess(), timeout=600, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (studies / "s").exists()
