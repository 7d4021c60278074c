"""Read a user's table file (CSV, TSV, Excel, JSON, JSON Lines, Parquet) into a frame of strings.

The format is recognised from the content, never from the file name: uploads are often renamed, and a
``.json`` file may hold JSON Lines or a ``.csv`` file may be tab-separated. Every cell comes back as a Python
``str`` or ``None`` (missing or blank), so later steps never meet pandas' type guessing ("NA" stays the
text "NA", an id "007" keeps its zeros). Every problem becomes a :class:`~selene_eval.errors.DataError`
whose one-line message says what is wrong and how to fix it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import numbers
import os
import posixpath
import pyexpat
import sys
import zipfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, TypeVar
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from selene_eval.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

_Parsed = TypeVar("_Parsed")

MAX_BYTES = 200 * 2**20
"""Default size limit of :func:`read_table` (200 MB, the same as the dashboard's upload limit)."""
MAX_UNPACKED_BYTES = 2 * 2**30
"""Default limit on what an Excel or Parquet file unpacks to (2 GB): a small compressed file must not be
able to fill the memory (a "zip bomb")."""
MAX_ROWS = 1_000_000
"""Default limit on data rows: far more than any judge run takes, small enough to stay in memory."""
MAX_COLUMNS = 10_000
"""Default limit on columns (a header line of a million commas must not build a million columns)."""
MAX_CELL_CHARS = 1_000_000
"""Default limit on one cell's length in characters (about 250k tokens, beyond any judge's context)."""
MAX_DECODED_BYTES = 512 * 2**20
"""Default limit on what a file decodes to (512 MB): the text of every cell plus :data:`DECODED_CELL_COST` per
cell. A few kilobytes of Excel can repeat one long shared string in thousands of cells, and a dictionary-encoded
Parquet column one long value in every row; this bounds the memory and the study files that would make."""
DECODED_CELL_COST = 8
"""What each cell counts towards :data:`MAX_DECODED_BYTES` besides its characters: a cell costs memory (a
pointer in the table) even when it is empty, so a grid of a billion empty cells is no cheaper than its text."""

LIMIT_ENV: dict[str, str] = {
    "max_bytes": "SELENE_EVAL_MAX_FILE_MB",
    "max_unpacked_bytes": "SELENE_EVAL_MAX_UNPACKED_MB",
    "max_rows": "SELENE_EVAL_MAX_ROWS",
    "max_columns": "SELENE_EVAL_MAX_COLUMNS",
    "max_cell_chars": "SELENE_EVAL_MAX_CELL_CHARS",
    "max_decoded_bytes": "SELENE_EVAL_MAX_DECODED_MB",
}
"""The environment variable that sets each :class:`ReadLimits` field (sizes in megabytes, the rest counts)."""

SUPPORTED_FORMATS: tuple[str, ...] = ("csv", "tsv", "xlsx", "json", "jsonl", "parquet")
_SUPPORTED_TEXT = "CSV, TSV (or semicolon/pipe-separated text), Excel .xlsx, JSON, JSON Lines and Parquet"

UNNAMED_FIRST_COLUMN = "Unnamed: 0"
"""Name given to a first column whose header cell is empty: the row index that ``DataFrame.to_csv`` writes
by default. pandas calls it the same, so a file read here and re-saved by pandas keeps its column names."""

JSON_RECORD_KEYS: tuple[str, ...] = ("records", "data", "rows", "items")
"""Keys of a JSON object under which a list of records is accepted."""

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 200
# Python's csv module refuses fields over 128 KiB by default; long documents in one cell are normal here.
_CSV_FIELD_LIMIT = 2**31 - 1
# Share of control characters above which decoded "text" is taken for binary junk.
_MAX_CONTROL_SHARE = 0.01


@dataclass(frozen=True)
class ReadLimits:
    """How much :func:`read_table` accepts; exceeding any limit is a :class:`DataError` naming the setting.

    Each field can be set from the environment (:data:`LIMIT_ENV`; sizes there in megabytes), which is how
    the dashboard and the command line are configured, or passed to :func:`read_table` directly.
    """

    max_bytes: int = MAX_BYTES
    """Size of the file as stored."""
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    """What an Excel (zip) or Parquet (compressed) file unpacks to."""
    max_rows: int = MAX_ROWS
    """Data rows (the header not counted)."""
    max_columns: int = MAX_COLUMNS
    """Columns in the header."""
    max_cell_chars: int = MAX_CELL_CHARS
    """Characters in one cell."""
    max_decoded_bytes: int = MAX_DECODED_BYTES
    """What the whole table decodes to: the characters of every cell, plus :data:`DECODED_CELL_COST` per cell
    (counted in UTF-8 bytes where it is measured before decoding). Checked before the cells are materialised."""

    def __post_init__(self) -> None:
        for name in LIMIT_ENV:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"The read limit {name} must be a whole number of at least 1 (got {value!r}).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReadLimits:
        """The defaults, overridden by any variable of :data:`LIMIT_ENV` that is set (``os.environ`` by default)."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field_name, variable in LIMIT_ENV.items():
            text = (environ.get(variable) or "").strip()
            if not text:
                continue
            in_mb = field_name.endswith("bytes")
            try:
                number = float(text) if in_mb else int(text)
            except ValueError:
                number = -1
            if not number > 0 or number != number or number == float("inf"):
                unit = "a number of megabytes (e.g. 500)" if in_mb else "a whole number (e.g. 200000)"
                raise DataError(f"The environment variable {variable}={text!r} is not valid: set it to {unit}.")
            values[field_name] = max(1, int(number * 2**20)) if in_mb else int(number)
        return cls(**values)


def _limit_hint(field_name: str) -> str:
    """How to raise one limit, for error messages."""
    return f"raise the limit with the {LIMIT_ENV[field_name]} environment variable (the {field_name} setting of read_table)"


@dataclass(frozen=True)
class TableFile:
    """A table read from a file: the cells as strings plus where they came from."""

    frame: pd.DataFrame
    """Every cell a Python ``str``, or ``None`` where missing or blank; column names are stripped strings."""
    format: str
    """One of :data:`SUPPORTED_FORMATS`."""
    encoding: str | None
    """Text encoding used (``utf-8``, ``utf-8-sig``, ``cp1252``, ``latin-1``, ``utf-16``); ``None`` for binary."""
    name: str
    """File name shown to users."""
    sha256: str
    """SHA-256 of the raw bytes, hex."""

    @property
    def n_rows(self) -> int:
        """Number of data rows (the header not counted)."""
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        """The column names, in file order."""
        return [str(c) for c in self.frame.columns]


def read_table(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    name: str | None = None,
    max_bytes: int | None = None,
    limits: ReadLimits | None = None,
) -> TableFile:
    """Read a table from a path, raw bytes or a binary file object.

    The format is decided from the content (see :data:`SUPPORTED_FORMATS`); for text formats the encoding
    is detected (UTF-8 with or without BOM, UTF-16 with BOM, then Windows-1252, then Latin-1). ``name`` is
    the file name shown to users (default: the path's name, or ``"upload"``). Raises
    :class:`~selene_eval.errors.DataError` for anything that is not a readable table of at most
    ``max_bytes`` bytes with a unique, non-empty header and at least one data row.

    ``limits`` bounds the size, unpacked size, decoded size, rows, columns and cell length (default:
    :meth:`ReadLimits.from_env`); ``max_bytes``, when given, overrides its ``max_bytes``.
    """
    limits = limits or ReadLimits.from_env()
    if max_bytes is not None:
        limits = replace(limits, max_bytes=max_bytes)
    raw, shown = _load_bytes(source, name, limits.max_bytes)
    if not raw.strip():
        raise DataError(f"{shown} is empty. Choose a file that holds a table with a header row and data rows.")
    fmt, encoding, header, rows = _parse(raw, shown, limits)
    frame = _make_frame(header, rows, shown, limits)
    return TableFile(frame=frame, format=fmt, encoding=encoding, name=shown, sha256=hashlib.sha256(raw).hexdigest())


def cell_display_text(value: object) -> str | None:
    """One cell as the text a user would see, or ``None`` when it is missing or blank.

    Strings are kept exactly (whitespace-only ones become ``None``); integer-valued numbers lose their
    ``.0`` (Excel, JSON and Parquet store ``5`` as ``5.0``); lists and dicts become JSON text; dates become
    ISO text. Used for every format so that the same value reads the same wherever it came from.

    Not the statistics' :func:`selene_eval.stats.consensus.cell_text`, which makes a label key of a cell
    (stripped, so that ``" yes"`` and ``"yes"`` are one label): this one keeps what the file says.
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (bool, np.bool_)):  # before Integral: True is an int to Python
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, (numbers.Real, Decimal)):
        return _number_text(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=cell_display_text)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return cell_display_text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy arrays and scalars (e.g. list columns from Parquet)
        return cell_display_text(value.tolist())
    return cell_display_text(str(value))


def _number_text(value: numbers.Real | Decimal) -> str | None:
    if value != value:  # NaN
        return None
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        return str(value)
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return repr(number)  # shortest round-trip text: 2.5 -> "2.5", 0.1 -> "0.1"


def _datetime_text(value: dt.datetime) -> str:
    if value.tzinfo is None and value.time() == dt.time(0):
        return value.date().isoformat()  # Excel stores plain dates as midnight datetimes
    return value.isoformat(sep=" ")


# --- getting the bytes ----------------------------------------------------------------------------------


def _load_bytes(
    source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None, max_bytes: int
) -> tuple[bytes, str]:
    """The raw bytes (at most ``max_bytes``) and the name to show."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        shown = name or "upload"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        shown = name or path.name or str(path)
        try:
            size = path.stat().st_size
            if size > max_bytes:  # check before reading a huge file into memory
                raise _too_big(shown, size, max_bytes)
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"File not found: {path}. Check the path and the file name.") from None
        except IsADirectoryError:
            raise DataError(f"{path} is a folder, not a file. Give the path of the table file inside it.") from None
        except OSError as exc:
            raise DataError(
                f"Cannot read {path}: {exc.strerror or exc}. Check that the file exists and is readable."
            ) from None
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        # A text-mode file object still has a reasonable meaning: its text, as UTF-8.
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data or b"")
        file_name = getattr(source, "name", None)
        shown = name or (Path(file_name).name if isinstance(file_name, str) and file_name else "upload")
        if len(raw) > max_bytes:
            raise _too_big(shown, None, max_bytes)
    else:
        raise TypeError(f"read_table needs a path, bytes or a binary file object, not {type(source).__name__}")
    if len(raw) > max_bytes:
        raise _too_big(shown, len(raw), max_bytes)
    return raw, shown


def _too_big(shown: str, size: int | None, max_bytes: int) -> DataError:
    """``size`` is ``None`` for a stream, which is read only up to the limit."""
    what = f"is {_size_text(size)}, more than" if size is not None else "is larger than"
    return DataError(
        f"{shown} {what} the {_size_text(max_bytes)} limit. Split it into smaller files or keep only the columns "
        f"you need, or {_limit_hint('max_bytes')}."
    )


def _size_text(n: int) -> str:
    if n < 2**10:
        return f"{n:,} bytes"
    if n < 2**20:
        return f"{n / 2**10:,.1f} KB"
    return f"{n / 2**20:,.1f} MB".replace(".0 MB", " MB")


# --- recognising and parsing the formats ----------------------------------------------------------------

Rows = list[list[object]]


def _parse(raw: bytes, shown: str, limits: ReadLimits) -> tuple[str, str | None, list[object], Rows]:
    """Detect the format and return (format, encoding, header cells, data rows)."""
    binary = _parse_binary(raw, shown, limits)
    if binary is not None:
        fmt, header, rows = binary
        return fmt, None, header, rows
    text, encoding = _decode(raw, shown)
    if text.lstrip()[:1] in ("[", "{"):
        # Parsing builds every object and array at once; each costs memory whatever its text (an upper
        # bound: braces inside strings count too).
        _DecodedBudget(shown, limits).add(_JSON_CONTAINER_COST * (text.count("{") + text.count("[")))
        fmt, header, rows = _parse_json_text(text, shown)
    else:
        fmt, header, rows = _parse_delimited(text, shown, limits)
    return fmt, encoding, header, rows


def _parse_binary(raw: bytes, shown: str, limits: ReadLimits) -> tuple[str, list[object], Rows] | None:
    """Parse Parquet or Excel when the bytes say so; ``None`` for anything that may be text."""
    if raw[:4] == b"PAR1" and raw[-4:] == b"PAR1" and len(raw) >= 12:
        from selene_eval.data.isolation import read_parquet_isolated  # pyarrow can abort the process

        table = read_parquet_isolated(raw, shown, limits)
        # Validated in the worker (text that is not UTF-8, for one); any surprise left is still one DataError.
        return "parquet", *_guarded(lambda *_: parquet_rows(table), raw, shown, "a Parquet", limits)
    if raw[:4] == b"PK\x03\x04":
        return "xlsx", *_guarded(_parse_xlsx, raw, shown, "an Excel", limits)
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            f"{shown} is an old-style Excel (.xls) or other Office file, which is not supported. "
            "Open it in Excel or LibreOffice and save it as .xlsx or CSV."
        )
    return None


def _guarded(
    parse: Callable[[bytes, str, ReadLimits], _Parsed],
    raw: bytes,
    shown: str,
    kind: str,
    limits: ReadLimits,
) -> _Parsed:
    """Run a third-party parser; anything it raises (its exception types vary by version) is a DataError."""
    try:
        return parse(raw, shown, limits)
    except DataError:
        raise
    except MemoryError:
        raise DataError(
            f"{shown} unpacks to more than this machine's memory holds. Split it into smaller files, or save it as CSV."
        ) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl/pyarrow/zipfile raise many unrelated types for bad files
        raise DataError(
            f"{shown} looks like {kind} file but cannot be read ({exc.__class__.__name__}: {_first_line(exc)}). "
            "It may be damaged or password-protected: open it in the program that made it and save it again, or "
            "export the table as CSV."
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"


def read_parquet_table(raw: bytes, shown: str, limits: ReadLimits) -> pa.Table:
    """The Parquet file ``raw`` as an Arrow table, after its footer's sizes and decoded size are checked.

    Run in the Parquet worker process (:mod:`selene_eval.data.isolation`): pyarrow can abort the process
    on a damaged footer. Raises :class:`DataError` for a file over a limit; pyarrow's own errors pass through.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    # The footer says how big the table is: check it before decompressing anything.
    metadata = pq.ParquetFile(pa.BufferReader(raw)).metadata
    _check_rows(metadata.num_rows, shown, limits)
    _check_columns(metadata.num_columns, shown, limits)
    unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    _check_unpacked(unpacked, shown, limits)
    _check_parquet_decoded(raw, metadata, shown, limits)
    return pq.read_table(pa.BufferReader(raw))


def parquet_rows(table: pa.Table) -> tuple[list[object], Rows]:
    """Header and data rows of an Arrow table (as :func:`read_parquet_table` gives it)."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(table.column_names), [list(row) for row in zip(*columns)]


def _check_parquet_decoded(raw: bytes, metadata: object, shown: str, limits: ReadLimits) -> None:
    """Refuse a Parquet file whose cells decode to more than ``limits.max_decoded_bytes``, without decoding them.

    The sizes in the footer are those of the *encoded* pages: with dictionary encoding, one long value stored
    once can fill every row. So the footer's value count is charged first (a cell per value), then each row
    group is read with its text columns kept dictionary-encoded (small), and the length of every value is
    summed from the dictionary's lengths, never expanding the texts themselves.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    budget = _DecodedBudget(shown, limits)
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]  # type: ignore[attr-defined]
    budget.add(DECODED_CELL_COST * sum(g.column(j).num_values for g in groups for j in range(g.num_columns)))
    source = pq.ParquetFile(pa.BufferReader(raw))
    text_paths = [column.path for column in source.schema if column.physical_type == "BYTE_ARRAY"]
    source = pq.ParquetFile(pa.BufferReader(raw), read_dictionary=text_paths)
    for index in range(len(groups)):
        for column in source.read_row_group(index).columns:
            for chunk in column.chunks:
                budget.add(_arrow_decoded_size(chunk))


_NESTED_VALUE_COST = 4
"""Characters a value inside a list or struct adds to its cell's JSON text besides its own (quotes, comma, space)."""


def _arrow_decoded_size(column: object) -> int:
    """Bytes of text (and other data) in an Arrow array once its dictionaries are expanded, computed in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type  # type: ignore[attr-defined]
    if pa.types.is_dictionary(kind):
        dictionary, indices = column.dictionary, column.indices  # type: ignore[attr-defined]
        if _is_arrow_text(dictionary.type):
            return _arrow_sum(pc.take(pc.binary_length(dictionary), indices))
        per_entry = -(-dictionary.nbytes // max(len(dictionary), 1))  # values of a fixed width: the average is exact
        return per_entry * (len(indices) - indices.null_count)
    if _is_arrow_text(kind):
        return _arrow_sum(pc.binary_length(column))
    if pa.types.is_map(kind):  # before lists: a map is a list to Arrow, but list_flatten has no kernel for it
        keys, items = column.keys, column.items  # type: ignore[attr-defined]
        return _arrow_decoded_size(keys) + _arrow_decoded_size(items) + 2 * _NESTED_VALUE_COST * len(keys)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        values = column.flatten()  # type: ignore[attr-defined]
        return _arrow_decoded_size(values) + _NESTED_VALUE_COST * len(values)
    if pa.types.is_struct(kind):
        fields = column.flatten()  # type: ignore[attr-defined]
        return sum(_arrow_decoded_size(field) + _NESTED_VALUE_COST * len(field) for field in fields)
    # Numbers, dates: their size as stored (a float's text can be longer; the frame's exact total catches it).
    return int(column.nbytes)  # type: ignore[attr-defined]


def _is_arrow_text(kind: object) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _arrow_sum(lengths: object) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(lengths).as_py() or 0)


def _parse_xlsx(raw: bytes, shown: str, limits: ReadLimits) -> tuple[list[object], Rows]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        names = set(archive.namelist())
        # The sizes in the zip directory bound what openpyxl will unpack (a zip bomb is caught here).
        _check_unpacked(sum(info.file_size for info in archive.infolist()), shown, limits)
        if "xl/workbook.xml" in names:
            _check_xlsx_decoded(archive, names, shown, limits)
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            hint = "It is a binary Excel workbook (.xlsb): save it as .xlsx or CSV."
        elif "content.xml" in names:
            hint = "It looks like an OpenDocument file (.ods): save it as .xlsx or CSV."
        else:
            hint = f"Extract the table from the archive, or save it as one of: {_SUPPORTED_TEXT}."
        raise DataError(f"{shown} is a zip archive, not an Excel workbook. {hint}")
    # header=None: the header row is checked here like for every other format (duplicates, blanks);
    # dtype=object + na_filter=False: cells keep their Python values, no "NA" guessing.
    sheet = pd.read_excel(io.BytesIO(raw), sheet_name=0, header=None, dtype=object, na_filter=False, engine="openpyxl")
    values = sheet.to_numpy(dtype=object).tolist()
    if not values:
        raise DataError(f"The first sheet of {shown} is empty. Put the table (header row first) on the first sheet.")
    return values[0], values[1:]


# --- what an Excel workbook decodes to, read as a stream before openpyxl builds a cell -----------------------

_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _check_xlsx_decoded(archive: zipfile.ZipFile, names: set[str], shown: str, limits: ReadLimits) -> None:
    """Refuse a workbook whose first sheet decodes to more than ``limits.max_decoded_bytes``.

    Excel stores each distinct text once (the shared strings) and cells point at it by number, so a 16 KB file
    can repeat a 900,000-character text in thousands of cells. The shared strings (which openpyxl loads whole)
    and the first sheet's cells are read here as XML streams, summing what every cell will hold, and the grid
    that pandas pads the rows to; nothing is kept but one number per shared string.
    """
    budget = _DecodedBudget(shown, limits)
    strings = _shared_string_sizes(archive, names, budget)
    for part in _first_sheet_parts(archive, names):
        with archive.open(part) as stream:
            _charge_sheet(stream, strings, budget)


def _xml_events(stream: IO[bytes]) -> Iterator[tuple[str, ElementTree.Element, ElementTree.Element | None]]:
    """``(event, element, parent)`` of an XML stream, each element dropped from its parent once it ends, so
    that memory stays flat whatever the size of the document (read what you need at the element's end)."""
    open_elements: list[ElementTree.Element] = []
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        if event == "start":
            parent = open_elements[-1] if open_elements else None
            open_elements.append(element)
            yield event, element, parent
        else:
            open_elements.pop()
            parent = open_elements[-1] if open_elements else None
            yield event, element, parent
            if parent is not None:
                parent.remove(element)  # its only child by now: the earlier ones were removed the same way


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shared_string_sizes(archive: zipfile.ZipFile, names: set[str], budget: _DecodedBudget) -> array:
    """Characters of each shared string, in order; each string is charged to ``budget`` (openpyxl keeps them all)."""
    sizes = array("q")
    part = _shared_strings_part(archive, names)
    if part is None:
        return sizes
    state = {"size": 0, "in_text": False, "phonetic": 0}

    def start(name: str, _attributes: dict[str, str]) -> None:
        local = name.rsplit("}", 1)[-1]
        if local == "si":
            state["size"] = 0
        elif local == "t":
            state["in_text"] = not state["phonetic"]
        elif local == "rPh":  # a phonetic reading: openpyxl leaves it out of the text
            state["phonetic"] += 1

    def end(name: str) -> None:
        local = name.rsplit("}", 1)[-1]
        if local == "t":
            state["in_text"] = False
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "si":
            sizes.append(state["size"])
            budget.add(state["size"] + DECODED_CELL_COST)

    def text(data: str) -> None:
        if state["in_text"]:
            state["size"] += len(data)

    with archive.open(part) as stream:
        _expat_stream(stream, start, end, text)
    return sizes


def _expat_stream(
    stream: IO[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    text: Callable[[str], None],
) -> None:
    """Run an XML stream through expat's callbacks: nothing is built, so memory stays flat whatever its size
    (and expat is several times faster than ElementTree for a sheet of a million cells). Element names come
    as ``namespace}local``. Expat refuses entity-expansion bombs itself."""
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.ParseFile(stream)


def _shared_strings_part(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """The part openpyxl reads the shared strings from: the one [Content_Types].xml declares, else the usual name."""
    if "[Content_Types].xml" in names:
        with archive.open("[Content_Types].xml") as stream:
            for event, element, _parent in _xml_events(stream):
                if (
                    event == "end"
                    and _local_name(element.tag) == "Override"
                    and element.get("ContentType") == _SHARED_STRINGS_TYPE
                ):
                    part = (element.get("PartName") or "").lstrip("/")
                    if part in names:
                        return part
    return "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else None


_SHEETS_CONSIDERED = 1_000
"""How many of the workbook's first sheets are tried when looking for its first worksheet (the ones before it
can be chart sheets); bounds what is kept from a workbook or relationships part of any size."""


def _first_sheet_parts(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    """The part of the first worksheet (the one pandas reads), found like openpyxl finds it; every worksheet part
    when the workbook's relationships cannot say (charging them all is safe, if strict)."""
    sheet_ids: list[str] = []
    with archive.open("xl/workbook.xml") as stream:
        for event, element, _parent in _xml_events(stream):
            if event == "end" and _local_name(element.tag) == "sheet":
                sheet_ids.append(element.get(_RELATIONSHIP_ID) or "")
                if len(sheet_ids) >= _SHEETS_CONSIDERED:
                    break
    wanted = set(sheet_ids)
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        with archive.open("xl/_rels/workbook.xml.rels") as stream:
            for event, element, _parent in _xml_events(stream):
                if (
                    event == "end"
                    and _local_name(element.tag) == "Relationship"
                    and element.get("Id") in wanted
                    and (element.get("Type") or "").endswith("/worksheet")
                ):
                    target = element.get("Target") or ""
                    part = (
                        target.lstrip("/")
                        if target.startswith("/")
                        else posixpath.normpath(posixpath.join("xl", target))
                    )
                    targets[element.get("Id") or ""] = part
    for sheet_id in sheet_ids:
        if targets.get(sheet_id) in names:
            return [targets[sheet_id]]
    return sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))


class _SheetCharge:
    """Expat callbacks that charge every cell of a worksheet holding a value, and the grid pandas pads the rows to."""

    _KEPT_DIGITS = 24  # of a <v>: enough for a shared-string index; its length is counted whole

    def __init__(self, strings: array, budget: _DecodedBudget) -> None:
        self.strings, self.budget = strings, budget
        self.row = self.column = 0
        self.last_row = self.last_column = 0  # the extent of the cells that hold a value
        self.grid_charged = 0
        self.cell_type: str | None = None
        self.value: list[str] | None = None  # the start of the <v> text
        self.value_length = 0
        self.inline: int | None = None  # characters of an inline string (<is>)
        self.where = ""  # "v" or "t" while inside one
        self.phonetic = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit("}", 1)[-1]
        if local == "c":
            self.column = _column_number(attributes.get("r")) or self.column + 1
            self.cell_type, self.value, self.value_length, self.inline = attributes.get("t"), None, 0, None
        elif local == "v":
            self.where, self.value, self.value_length = "v", [], 0
        elif local == "t" and self.inline is not None and not self.phonetic:
            self.where = "t"
        elif local == "is":
            self.inline = 0
        elif local == "rPh":
            self.phonetic += 1
        elif local == "row":
            self.row = _whole_number(attributes.get("r")) or self.row + 1
            self.column = 0

    def text(self, data: str) -> None:
        if self.where == "t":
            self.inline += len(data)  # type: ignore[operator]  # set with where = "t"
        elif self.where == "v":
            self.value_length += len(data)
            if self.value_length <= self._KEPT_DIGITS:
                self.value.append(data)  # type: ignore[union-attr]  # set with where = "v"

    def end(self, name: str) -> None:
        local = name.rsplit("}", 1)[-1]
        if local in ("v", "t"):
            self.where = ""
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "c":
            self._charge_cell()

    def _charge_cell(self) -> None:
        if self.inline is not None:
            size = self.inline
        elif self.value is None or self.cell_type == "inlineStr":
            return  # no value (a styled or formula-only cell): openpyxl reads it as empty
        elif self.cell_type == "s":
            index = _whole_number("".join(self.value))
            size = self.strings[index] if index is not None and index < len(self.strings) else self.value_length
        else:
            size = self.value_length
        self.budget.add(size)
        self.last_row, self.last_column = max(self.last_row, self.row), max(self.last_column, self.column)
        grid = DECODED_CELL_COST * self.last_row * self.last_column
        if grid > self.grid_charged:
            self.budget.add(grid - self.grid_charged)
            self.grid_charged = grid


def _charge_sheet(stream: IO[bytes], strings: array, budget: _DecodedBudget) -> None:
    """Charge every cell of a worksheet that holds a value, and the grid pandas pads the rows to."""
    charge = _SheetCharge(strings, budget)
    _expat_stream(stream, charge.start, charge.end, charge.text)


def _whole_number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 12 else None


def _column_number(reference: str | None) -> int | None:
    """``"AB12"`` -> 28: the column of a cell reference, or ``None`` when it has none."""
    letters = ""
    for char in (reference or "").strip().upper():
        if "A" <= char <= "Z":
            letters += char
        else:
            break
    if not letters or len(letters) > 4:
        return None
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - ord("A") + 1
    return number


def _decode(raw: bytes, shown: str) -> tuple[str, str]:
    """Decode text bytes; reject binary junk. The BOM, if any, is removed."""
    candidates: list[str]
    if raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig", "cp1252", "latin-1"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]  # Excel's "Unicode text" export
    else:
        if b"\x00" in raw[:_SNIFF_CHARS]:
            raise _not_a_table(shown)
        # Windows-1252 before Latin-1: it is what Excel on Windows writes ("€" is 0x80 there).
        candidates = ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16":
            text = text.lstrip("\ufeff")
        if _looks_binary(text):
            raise _not_a_table(shown)
        return text, encoding
    raise DataError(
        f"{shown} cannot be decoded as text ({' or '.join(candidates)}). Save it again as UTF-8 CSV, or as .xlsx."
    )


def _looks_binary(text: str) -> bool:
    sample = text[:_SNIFF_CHARS]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\x7f")
    return control > _MAX_CONTROL_SHARE * max(len(sample), 1)


def _not_a_table(shown: str) -> DataError:
    return DataError(
        f"Could not recognise {shown} as a table: it looks like a binary file. Supported formats are "
        f"{_SUPPORTED_TEXT}; export your data as one of them."
    )


# --- JSON and JSON Lines ----------------------------------------------------------------------------------


class _JsonNumberTooLong(ValueError):
    """A JSON integer longer than Python turns into a number (``sys.get_int_max_str_digits``, 4,300 by default)."""

    def __init__(self, digits: int, limit: int) -> None:
        super().__init__(f"a JSON integer of {digits} digits")
        self.digits, self.limit = digits, limit

    def problem(self) -> str:
        """The rest of a one-line message: what is wrong and how to fix it."""
        return (
            f"holds a number of {self.digits:,} digits, more than the {self.limit:,} a number may have. If it is an "
            'id or a code, put it in quotes ("...") to keep it as text; otherwise remove it.'
        )


def _json_integer(text: str) -> int:
    """``int(text)``, refusing an integer too long to convert with our own error (Python's is a bare ValueError)."""
    limit = sys.get_int_max_str_digits()
    digits = len(text) - text.startswith("-")
    if limit and digits > limit:
        raise _JsonNumberTooLong(digits, limit)
    return int(text)


def _json_loads(text: str) -> object:
    """``json.loads`` whose only errors are JSONDecodeError, RecursionError and :class:`_JsonNumberTooLong`."""
    return json.loads(text, parse_int=_json_integer)


_JSON_CONTAINER_COST = 64
"""Bytes a parsed JSON object or array costs at the least (an empty dict is 64 bytes in CPython)."""


def _parse_json_text(text: str, shown: str) -> tuple[str, list[object], Rows]:
    """A JSON document (array, records container, columns) or JSON Lines."""
    try:
        document = _json_loads(text)
    except _JsonNumberTooLong as exc:
        if text.lstrip().startswith("{") and "\n" in text.strip() and _first_line_is_object(text):
            return "jsonl", *_parse_json_lines(text, shown)  # its error names the line
        raise DataError(f"{shown} {exc.problem()}") from None
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{") and _first_line_is_object(text):
            return "jsonl", *_parse_json_lines(text, shown)
        raise DataError(
            f"{shown} looks like JSON but is not valid: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Fix the JSON there (or export the file again), or save the table as CSV."
        ) from None
    except RecursionError:
        raise DataError(
            f"{shown} is JSON nested too deeply to be a table. Save the table as a flat JSON array or CSV."
        ) from None
    return "json", *_json_document_table(document, shown)


def _first_line_is_object(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0].strip()
    try:
        return isinstance(_json_loads(first), dict)
    except _JsonNumberTooLong:
        return True  # read as JSON Lines, whose error then names the line with that number
    except (ValueError, RecursionError):
        return False


def _parse_json_lines(text: str, shown: str) -> tuple[list[object], Rows]:
    records: list[dict[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (often a trailing one) carry nothing
        try:
            record = _json_loads(line)
        except _JsonNumberTooLong as exc:
            raise DataError(f"Line {number} of {shown} {exc.problem()}") from None
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Line {number} of {shown} is not valid JSON ({exc.msg} at column {exc.colno}). In JSON Lines "
                "every line must be one complete JSON object: fix or remove that line."
            ) from None
        except RecursionError:
            raise DataError(f"Line {number} of {shown} is JSON nested too deeply. Flatten the records.") from None
        if not isinstance(record, dict):
            raise DataError(
                f"Line {number} of {shown} is a JSON {_json_kind(record)}, not an object. In JSON Lines every line "
                'must be one object such as {"question": "...", "answer": "..."}.'
            )
        records.append(record)
    return _records_table(records)


def _json_document_table(document: object, shown: str) -> tuple[list[object], Rows]:
    """Turn a parsed JSON document into header and rows (see :func:`read_table` for the shapes)."""
    if isinstance(document, list):
        return _records_from_list(document, shown, "The JSON array")
    if not isinstance(document, dict):
        raise DataError(f"{shown} holds a single JSON {_json_kind(document)}, not a table. {_JSON_SHAPES}")
    for key in JSON_RECORD_KEYS:
        value = document.get(key)
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            return _records_from_list(value, shown, f'The "{key}" list')
    if isinstance(document.get("columns"), list) and isinstance(document.get("data"), list):
        return _split_table(document, shown)  # pandas' to_json(orient="split")
    values = list(document.values())
    if values and all(isinstance(v, list) for v in values):
        return _columns_of_lists(document, shown)
    if values and all(isinstance(v, dict) for v in values):
        return _columns_of_dicts(document)  # pandas' default to_json(): {column: {row: value}}
    return _records_table([document])  # one object of fields: a one-row table


_JSON_SHAPES = (
    'Use an array of objects ([{"question": ..., "answer": ...}, ...]), an object with a "records" list, an '
    "object of equal-length column lists, or JSON Lines (one object per line)."
)


def _json_kind(value: object) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _records_from_list(records: list[object], shown: str, what: str) -> tuple[list[object], Rows]:
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DataError(
                f"{what} in {shown} holds a {_json_kind(record)} at position {index}, not an object. {_JSON_SHAPES}"
            )
    return _records_table(records)  # type: ignore[arg-type]  # checked above


def _records_table(records: Sequence[dict[str, object]]) -> tuple[list[object], Rows]:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    header: list[object] = list(keys)
    return header, [[record.get(k) for k in keys] for record in records]


def _split_table(document: dict[str, object], shown: str) -> tuple[list[object], Rows]:
    header = list(document["columns"])  # type: ignore[call-overload]  # the caller checked it is a list
    rows = document["data"]
    if not all(isinstance(row, list) and len(row) == len(header) for row in rows):  # type: ignore[attr-defined]
        raise DataError(
            f'Every row of "data" in {shown} must be a list of {len(header)} values, one per column. {_JSON_SHAPES}'
        )
    return header, [list(row) for row in rows]  # type: ignore[attr-defined]  # the caller checked it is a list


def _columns_of_lists(document: dict[str, object], shown: str) -> tuple[list[object], Rows]:
    lengths = {key: len(value) for key, value in document.items()}  # type: ignore[arg-type]
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k!r}: {n}" for k, n in list(lengths.items())[:6])
        raise DataError(
            f"The column lists in {shown} have different lengths ({detail}). Give every column one value per row."
        )
    return list(document), [list(row) for row in zip(*document.values())]  # type: ignore[call-overload]


def _columns_of_dicts(document: dict[str, object]) -> tuple[list[object], Rows]:
    index: dict[str, None] = {}
    for column in document.values():
        index.update(dict.fromkeys(column))  # type: ignore[call-overload]  # the caller checked it is a dict
    return list(document), [[column.get(i) for column in document.values()] for i in index]  # type: ignore[attr-defined]


# --- delimited text ------------------------------------------------------------------------------------------


def _parse_delimited(text: str, shown: str, limits: ReadLimits) -> tuple[str, list[object], Rows]:
    """CSV-like text with a sniffed delimiter; rows must match the header's width."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    delimiter = _sniff_delimiter(text)
    kind = _DELIMITER_NAMES.get(delimiter, "one-column")
    # strict: a quote that is never closed is an error instead of silently swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    named_width = 0
    rows: Rows = []
    budget = _DecodedBudget(shown, limits)
    start = 1  # the line where the record being read starts
    try:
        for record in reader:
            budget.add(sum(map(len, record)) + DECODED_CELL_COST * len(record))
            if record and header is None:
                header, named_width = record, _named_width(record)
                _check_columns(named_width, shown, limits)
            elif record:
                rows.append(_fit_row(record, header, named_width, start, shown, kind))  # type: ignore[arg-type]
                if len(rows) > limits.max_rows:  # stop early: the rest of a huge file need not be parsed
                    _check_rows(len(rows), shown, limits)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            problem = "has a double quote that is never closed"
        else:
            problem = f"cannot be read as {kind} text ({exc})"
        raise DataError(
            f"{shown} {problem}, in the row starting on line {start}. Check the quotes there: a field that contains "
            'the delimiter, a quote or a line break must be enclosed in double quotes, with inner quotes doubled ("").'
        ) from None
    if header is None:
        raise DataError(f"{shown} has no header row. The first line must name the columns.")
    return ("tsv" if delimiter == "\t" else "csv"), list(header), rows


_DELIMITER_NAMES = {",": "comma-separated", "\t": "tab-separated", ";": "semicolon-separated", "|": "pipe-separated"}


def _named_width(header: Sequence[str]) -> int:
    """Number of header cells up to the last non-empty one (trailing delimiters name nothing)."""
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    return width


def _fit_row(
    record: list[str], header: Sequence[str], named_width: int, line: int, shown: str, kind: str
) -> list[object]:
    """A data row padded or trimmed to the header's width where nothing is lost; otherwise a DataError."""
    width = len(header)
    if len(record) == width:
        return record  # type: ignore[return-value]
    if len(record) > width and not any(field.strip() for field in record[width:]):
        return record[:width]  # type: ignore[return-value]  # only extra empty fields (trailing delimiters)
    if named_width <= len(record) < width:
        return record + [None] * (width - len(record))  # only unnamed trailing columns are missing
    raise DataError(
        f"Line {line} of {shown} has {len(record)} fields but the header has {width} ({kind}). Fix that line: "
        "enclose any field that contains the delimiter, a quote or a line break in double quotes."
    )


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits a sample into the most consistent rows of at least two fields.

    ``csv.Sniffer``'s guess is tried first, but only kept if the rows agree with it: the sniffer alone is
    easily fooled by punctuation inside long texts. A file where no delimiter gives two columns is read as
    one column (with a separator that does not occur in it, so commas inside values stay in the value).
    """
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    candidates = list(_DELIMITERS)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
        candidates.remove(sniffed)
        candidates.insert(0, sniffed)
    except (csv.Error, ValueError):
        pass
    best, best_score = None, (0.0, 0)
    for delimiter in candidates:
        score = _delimiter_score(sample, delimiter, truncated)
        if score > best_score:
            best, best_score = delimiter, score
    if best is not None:
        return best
    return next((c for c in ("\x1f", "\x1e", "\x1d") if c not in text), ",")


def _delimiter_score(sample: str, delimiter: str, truncated: bool) -> tuple[float, int]:
    """(share of rows as wide as the header, header width); (0, 0) if the header has under two fields."""
    rows: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if record:
                rows.append(record)
            if len(rows) > _SNIFF_ROWS:
                break
    except csv.Error:
        pass  # judge on the rows read so far
    if truncated and len(rows) > 1:
        rows.pop()  # the sample may end inside the last row
    if not rows or len(rows[0]) < 2:
        return (0.0, 0)
    width = len(rows[0])
    data = rows[1:]
    consistent = sum(len(r) == width for r in data) / len(data) if data else 1.0
    return (consistent, width)


# --- the frame -----------------------------------------------------------------------------------------------


def _make_frame(
    header: Sequence[object], rows: Sequence[Sequence[object]], shown: str, limits: ReadLimits | None = None
) -> pd.DataFrame:
    """Build the string frame; check the header (names unique and present), the limits and that there is data."""
    limits = limits or ReadLimits()
    _check_columns(_named_width([(cell_display_text(h) or "") for h in header]), shown, limits)
    _check_rows(len(rows), shown, limits)
    names = [(cell_display_text(h) or "").strip().lstrip("\ufeff").strip() for h in header]
    for index, name in enumerate(names):
        if len(name) > limits.max_cell_chars:
            _cell_too_long(shown, 0, index, len(name), limits)
    columns: list[list[str | None]] = [[] for _ in names]
    longest = limits.max_cell_chars
    budget = _DecodedBudget(shown, limits)
    budget.add(sum(map(len, names)) + DECODED_CELL_COST * len(names))
    for number, row in enumerate(rows, start=1):
        decoded = DECODED_CELL_COST * len(row)
        for index, value in enumerate(row):
            text = cell_display_text(value)
            if text is not None:
                if len(text) > longest:
                    _cell_too_long(shown, number, index, len(text), limits)
                decoded += len(text)
            columns[index].append(text)
        budget.add(decoded)  # the exact total, whatever a format's own check estimated
    keep = _named_columns(names, columns, shown)
    names = [names[i] for i in keep]
    columns = [columns[i] for i in keep]
    n_rows = _trim_blank_tail(columns)
    if n_rows == 0:
        raise DataError(f"{shown} has a header but no data rows. Add at least one row of data under the header.")
    data = {index: column[:n_rows] for index, column in enumerate(columns)}
    frame = pd.DataFrame(data, dtype=object)
    frame.columns = pd.Index(names, dtype=object)
    return frame


def _named_columns(names: list[str], columns: list[list[str | None]], shown: str) -> list[int]:
    """Indexes of the columns to keep; unnamed empty columns are dropped, other naming problems raise."""
    keep: list[int] = []
    unnamed: list[int] = []
    for index, name in enumerate(names):
        if name:
            keep.append(index)
        elif not any(v is not None for v in columns[index]):
            continue  # an unnamed, empty column: trailing delimiters or an untouched spreadsheet column
        elif index == 0:
            names[0] = UNNAMED_FIRST_COLUMN  # a row index written without a name (pandas' to_csv default)
            keep.append(0)
        else:
            unnamed.append(index + 1)
    if unnamed:
        where = ", ".join(str(n) for n in unnamed[:10])
        raise DataError(
            f"Column{'s' if len(unnamed) > 1 else ''} {where} of {shown} hold{'' if len(unnamed) > 1 else 's'} values but "
            "no name in the header row. Give every column a name in the first row (or delete the unnamed columns)."
        )
    seen: dict[str, list[int]] = {}
    for index in keep:
        seen.setdefault(names[index], []).append(index + 1)
    duplicates = {name: pos for name, pos in seen.items() if len(pos) > 1}
    if duplicates:
        detail = "; ".join(
            f"{name!r} (columns {', '.join(map(str, pos))})" for name, pos in list(duplicates.items())[:5]
        )
        raise DataError(
            f"The header of {shown} repeats column names: {detail}. Rename the columns so every name is unique "
            "(e.g. label_1, label_2)."
        )
    return keep


def _check_rows(n_rows: int, shown: str, limits: ReadLimits) -> None:
    if n_rows > limits.max_rows:
        raise DataError(
            f"{shown} has more than {limits.max_rows:,} data rows, the row limit. Split it into smaller files (a pilot "
            f"of a few hundred items tells a lot), or {_limit_hint('max_rows')}."
        )


def _check_columns(n_columns: int, shown: str, limits: ReadLimits) -> None:
    if n_columns > limits.max_columns:
        raise DataError(
            f"{shown} has {n_columns:,} columns, more than the limit of {limits.max_columns:,}. Keep only the columns "
            f"you need, check that the delimiter is right, or {_limit_hint('max_columns')}."
        )


def _check_unpacked(n_bytes: int, shown: str, limits: ReadLimits) -> None:
    if n_bytes > limits.max_unpacked_bytes:
        raise DataError(
            f"{shown} unpacks to {_size_text(n_bytes)}, more than the {_size_text(limits.max_unpacked_bytes)} limit. "
            f"Split it into smaller files, save it as CSV, or {_limit_hint('max_unpacked_bytes')}."
        )


class _DecodedBudget:
    """A running total of what a table decodes to; raises the decoded-size DataError once it passes the limit."""

    def __init__(self, shown: str, limits: ReadLimits) -> None:
        self.shown, self.limit, self.total = shown, limits.max_decoded_bytes, 0

    def add(self, n_bytes: int) -> None:
        """Charge ``n_bytes`` more."""
        self.total += n_bytes
        if self.total > self.limit:
            raise DataError(
                f"{self.shown} decodes to more than {_size_text(self.limit)} of cell text (each cell counted as its "
                f"characters plus {DECODED_CELL_COST}), the decoded-size limit; a small file can repeat one long text "
                f"in many cells. Keep only the rows and columns you need, shorten the repeated texts, or "
                f"{_limit_hint('max_decoded_bytes')}."
            )


def _cell_too_long(shown: str, row: int, index: int, length: int, limits: ReadLimits) -> None:
    where = "the header" if row == 0 else f"data row {row:,}"
    raise DataError(
        f"A cell of {shown} ({where}, column {index + 1}) has {length:,} characters, more than the limit of "
        f"{limits.max_cell_chars:,}. Check the quotes around it (an unclosed quote swallows the rest of the file), "
        f"shorten the text, or {_limit_hint('max_cell_chars')}."
    )


def _trim_blank_tail(columns: list[list[str | None]]) -> int:
    """Number of rows left after dropping trailing rows that are empty in every column."""
    n_rows = len(columns[0]) if columns else 0
    while n_rows and all(column[n_rows - 1] is None for column in columns):
        n_rows -= 1
    return n_rows
