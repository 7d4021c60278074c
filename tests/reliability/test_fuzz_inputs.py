"""Bad files: thousands of malformed inputs end in a table, a validation report or one of our errors.

Hypothesis builds tables (ragged rows, duplicate and empty headers, formulas, nested JSON, huge cells, label
values outside the mapping), writes them in every supported format and encoding, then damages the bytes
(truncation, inserted junk, flipped bytes, mixed encodings). Each input goes through ``read_table`` and,
when it reads, through ``guess_mapping``, ``suggest_label_map``, ``build_items`` with a random mapping and
label map, and (when the report is clean) a study written to disk and read back. The only exceptions
allowed are :class:`~selene_eval.errors.SeleneEvalError` subclasses with a one-line message; anything else
fails the test with the input that caused it.

The fast tests run on every ``pytest``; the ``slow`` ones (run by ``make test`` too) try 10,000 uploads in
child processes (:mod:`tests.reliability.fuzz_uploads_child`), each case under a time bound and the process
under a peak-memory cap, and record the figures in ``bench/results/reliability.json``.
"""

from __future__ import annotations

import csv
import faulthandler
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, ReadLimits, build_items, distinct_label_values, guess_mapping, read_table
from selene_eval.data.mapping import suggest_label_map
from selene_eval.errors import DataError, MappingError, SeleneEvalError
from selene_eval.prompts import default_rubric
from selene_eval.study import StudySpec, StudyStore
from tests.reliability.figures import record
from tests.reliability.helpers import env_for_subprocess

# Small limits so that "enormous" cells and tables are cheap to build and still hit every limit.
LIMITS = ReadLimits(
    max_bytes=64 * 1024,
    max_unpacked_bytes=512 * 1024,
    max_rows=60,
    max_columns=12,
    max_cell_chars=400,
    max_decoded_bytes=2**20,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
EXPLORE = os.environ.get("SELENE_EVAL_FUZZ_EXPLORE") == "1"
"""Whether the long fuzz run draws new inputs each time. Off by default: CI sees the same 10,000 uploads on
every run (a fixed seed per shard), so a red run is a regression, not a coin toss; set it to 1 to hunt for
new failures (this is how the two Parquet faults in docs/RELIABILITY.md were found)."""
SLOW = settings(max_examples=1200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not EXPLORE)

HOSTILE_CELLS = [
    "=1+1",
    '=HYPERLINK("http://example.invalid","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\x00",
    '"',
    '""',
    'a "quoted" word',
    "a,b;c|d\te",
    "line\nbreak",
    "cr\rlf\r\n",
    "Yes",
    "no",
    "YES ",
    "5",
    "5.0",
    "2.5",
    "A",
    "b",
    "tie",
    "Tie.",
    '{"nested": [1, {"x": [2, [3]]}]}',
    "[[[[[]]]]]",
    "NaN",
    "null",
    "None",
    "N/A",
    "  ",
    "\ufeff",
    "\u202eevil",
    "\u2028",
    "é",
    "€",
    "ｙｅｓ",
    "５",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "**bold**",
    ":red[x]",
    "$x^2$",
    "x" * 450,
    "Correct Answer",
    "Entailment",
]
HEADER_NAMES = [
    "question",
    "answer",
    "response",
    "response_b",
    "id",
    "group",
    "label",
    "label_0",
    "label_1",
    "annotator",
    "reference",
    "Unnamed: 0",
    "",
    " ",
    "question",
    "=cmd",
    "é",
    "a,b",
    '"q"',
    "x" * 450,
]


def cells() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_CELLS),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
        st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=8),
    )


LABELS = ["yes", "No", "5", "3", "A", "tie", "", "Correct Answer", "maybe", "2.5", "=1+1", "<b>yes</b>"]


def _printable(text: str) -> bool:
    """No control characters (a few of them make a small file look binary, which is a DataError of its own)."""
    return all(ch >= " " or ch in "\t\n\r" for ch in text)


@st.composite
def clean_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A well-formed table of hostile texts and plausible labels: it reads, and often builds a study."""
    header = ["id", "question", "answer", "answer_b", "label_0", "label_1"]
    n_rows = draw(st.integers(3, 12))
    pool = draw(st.sampled_from([["yes", "No", "YES "], ["5", "3", "1", "4.0"], ["A", "B", "tie"]]))
    rows = []
    for index in range(n_rows):
        texts = draw(st.lists(cells().filter(_printable), min_size=3, max_size=3))
        labels = draw(st.lists(st.sampled_from(pool if draw(st.integers(0, 9)) else LABELS), min_size=2, max_size=2))
        rows.append([f"item-{index}", *texts, *labels])
    return header, rows


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header and rows; rows may be ragged, the header may repeat or leave out names."""
    if draw(st.integers(0, 2)) == 0:
        return draw(clean_tables())
    width = draw(st.integers(1, 6))
    header = draw(st.lists(st.one_of(st.sampled_from(HEADER_NAMES), cells()), min_size=width, max_size=width))
    ragged = draw(st.booleans())
    n_rows = draw(st.integers(0, 12))
    rows = []
    for _ in range(n_rows):
        row_width = draw(st.integers(0, width + 2)) if ragged else width
        rows.append(draw(st.lists(cells(), min_size=row_width, max_size=row_width)))
    if draw(st.integers(0, 9)) == 0:  # now and then a table over the row limit
        rows = rows + [rows[0] if rows else ["x"] * width] * (LIMITS.max_rows + 1)
    return header, rows


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, quoting: bool, encoding: str) -> bytes:
    if quoting:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
    else:  # naive joining: delimiters and line breaks inside cells break the structure
        text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
    return text.encode(encoding, errors="replace")


def _records(header: list[str], rows: list[list[str]]) -> list[dict[str, object]]:
    return [dict(zip(header, row)) for row in rows]


_WRITTEN: dict[tuple[object, ...], bytes] = {}


def _once(kind: str, header: list[str], rows: list[list[str]], write: Callable[[], bytes]) -> bytes:
    """The same table gives the same bytes within a session: an Excel file stamps the time it was saved, and
    hypothesis needs an example to be drawn the same way when it replays it."""
    key = (kind, tuple(header), tuple(tuple(r) for r in rows[:20]))
    if key not in _WRITTEN:
        _WRITTEN[key] = write()
    return _WRITTEN[key]


def _xlsx_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    return _once("xlsx", header, rows, lambda: _write_xlsx(header, rows))


def _write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in [header, *rows[:20]]:
        # openpyxl refuses control characters in cells; the fuzzing of Excel is in the damaged bytes
        sheet.append(["".join(ch for ch in cell if ch.isprintable() or ch in "\t\n") for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _parquet_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    return _once("parquet", header, rows, lambda: _write_parquet(header, rows))


def _write_parquet(header: list[str], rows: list[list[str]]) -> bytes:
    names = [f"{name}_{index}" for index, name in enumerate(header)]  # pyarrow wants unique names
    columns = {name: [row[i] if i < len(row) else None for row in rows[:20]] for i, name in enumerate(names)}
    buffer = io.BytesIO()
    pd.DataFrame(columns, dtype=object).to_parquet(buffer, index=False)
    return buffer.getvalue()


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """A table written in some format and encoding, then possibly damaged."""
    header, rows = draw(tables())
    kind = draw(
        st.sampled_from(
            ["csv", "csv", "naive", "json", "json-columns", "json-nested", "jsonl", "xlsx", "parquet", "junk", "mixed"]
        )
    )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    if kind in ("csv", "naive"):
        data = _csv_bytes(header, rows, delimiter, kind == "csv", encoding)
    elif kind == "json":
        data = json.dumps(_records(header, rows), ensure_ascii=draw(st.booleans())).encode(encoding, errors="replace")
    elif kind == "json-columns":
        data = json.dumps({name: [r[0] if r else None for r in rows] for name in header}).encode()
    elif kind == "json-nested":
        depth = draw(st.sampled_from([3, 50, 2000]))
        nested = "[" * depth + "1" + "]" * depth
        data = f'[{{"question": {nested}, "answer": {{"a": {{"b": [1, 2]}}}}, "label": "yes"}}]'.encode()
    elif kind == "jsonl":
        data = "\n".join(json.dumps(r) for r in _records(header, rows)).encode()
    elif kind == "xlsx":
        data = _xlsx_bytes(header, rows)
    elif kind == "parquet":
        data = _parquet_bytes(header, rows)
    elif kind == "junk":
        data = draw(st.binary(max_size=300))
    else:  # each row in its own encoding
        lines = [delimiter.join(r) for r in [header, *rows]]
        encodings = draw(
            st.lists(
                st.sampled_from(["utf-8", "cp1252", "utf-16-le", "latin-1"]), min_size=len(lines), max_size=len(lines)
            )
        )
        data = b"\n".join(line.encode(enc, errors="replace") for line, enc in zip(lines, encodings))
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "insert", "flip", "append"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    elif damage == "flip" and data:
        flipped = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(flipped) - 1))
            flipped[index] ^= draw(st.integers(1, 255))
        data = bytes(flipped)
    elif damage == "append":
        data += draw(st.binary(min_size=1, max_size=40))
    return data


@st.composite
def clean_files(draw: st.DrawFn) -> bytes:
    """A well-formed table of hostile texts in any format, undamaged: exercises mapping, validation and the store."""
    header, rows = draw(clean_tables())
    kind = draw(st.sampled_from(["csv", "tsv", "json", "jsonl", "xlsx", "parquet"]))
    if kind in ("csv", "tsv"):
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
        return _csv_bytes(header, rows, "," if kind == "csv" else "\t", True, encoding)
    if kind == "json":
        return json.dumps(_records(header, rows)).encode()
    if kind == "jsonl":
        return "\n".join(json.dumps(r) for r in _records(header, rows)).encode()
    if kind == "xlsx":
        return _xlsx_bytes(header, rows)
    return _parquet_bytes(header, rows)


@st.composite
def mappings(draw: st.DrawFn, columns: list[str]) -> dict[str, object]:
    """Role -> column choices, mostly from the file's columns, sometimes names that are not there."""
    pick = (
        st.one_of(st.sampled_from(columns), st.sampled_from(["", "missing", "Question ", "LABEL"]))
        if columns
        else st.just("x")
    )
    if columns and draw(st.booleans()):
        return guess_mapping(columns, draw(st.sampled_from(list(TaskType)))).model_dump()  # what the UI pre-fills
    roles: dict[str, object] = {}
    for role in ("id", "group", "input", "response", "response_b", "reference", "context", "category"):
        if draw(st.booleans()):
            roles[role] = draw(pick)
    if draw(st.integers(0, 3)) == 0:
        roles["annotator"] = draw(pick)
        roles["label"] = draw(pick)
    else:
        roles["experts"] = draw(st.lists(pick, max_size=4))
    return roles


def _check_message(exc: BaseException) -> None:
    message = str(exc)
    assert isinstance(exc, SeleneEvalError), f"{type(exc).__name__}: {message}"
    assert message.strip(), f"{type(exc).__name__} without a message"


def exercise(data: bytes, mapping_data: st.DataObject, tmp: Path, tally: Counter[str]) -> None:
    """Read ``data`` and take it as far as it goes; only our own errors may stop it."""
    try:
        table = read_table(data, name="upload.csv", limits=LIMITS)
    except DataError as exc:
        _check_message(exc)
        assert "\n" not in str(exc), "a reader error is one line"
        tally["data_error"] += 1
        return
    tally["read"] += 1
    assert all(isinstance(c, str) and c for c in table.columns)
    assert table.n_rows <= LIMITS.max_rows and len(table.columns) <= LIMITS.max_columns
    for value in table.frame.to_numpy().ravel():
        assert value is None or (isinstance(value, str) and len(value) <= LIMITS.max_cell_chars)
    task = mapping_data.draw(st.sampled_from(list(TaskType)))
    guess_mapping(table.columns, task)  # never raises
    try:
        mapping = ColumnMapping(**mapping_data.draw(mappings(table.columns)))
    except MappingError as exc:
        _check_message(exc)
        tally["mapping_error"] += 1
        return
    raw_values = distinct_label_values(table.frame, mapping)
    suggested = suggest_label_map(raw_values, task)
    targets = st.sampled_from([*task.expert_labels, None, "", "maybe", "YES"])
    extra = mapping_data.draw(st.dictionaries(st.sampled_from(raw_values or ["x"]), targets, max_size=3))
    try:
        items, report = build_items(table.frame, mapping, task, {**suggested, **extra}, min_items=3)
    except MappingError as exc:
        _check_message(exc)
        tally["mapping_error"] += 1
        return
    tally["report_errors" if not report.ok else "report_ok"] += 1
    str(report), report.to_dict()  # the report renders whatever it holds
    if report.ok and items:
        # A clean report is a study: it must be written and read back exactly, whatever the texts hold.
        store = StudyStore(tmp)
        spec = StudySpec(
            slug="fuzz",
            title=table.name,
            task=task,
            rubric=default_rubric(task),
            experts=sorted({e for i in items for e in i.experts}),
        )
        store.create(spec, items, overwrite=True)
        study = store.open("fuzz")
        assert study.items == items
        tally["study_written"] += 1


def _run(
    data_strategy: st.SearchStrategy[bytes],
    examples: settings,
    tmp: Path,
    tally: Counter[str],
    case_bound_s: float | None = None,
) -> None:
    """Exercise every example; with ``case_bound_s``, a case still running after that many seconds stops the
    process (faulthandler's watchdog thread: it fires even inside a parser's C code) with every thread's stack."""

    @examples
    @given(data=data_strategy, mapping_data=st.data())
    def check(data: bytes, mapping_data: st.DataObject) -> None:
        tally["inputs"] += 1
        if case_bound_s is not None:
            faulthandler.dump_traceback_later(case_bound_s, exit=True)
        started = time.perf_counter()
        try:
            exercise(data, mapping_data, tmp, tally)
        finally:
            if case_bound_s is not None:
                faulthandler.cancel_dump_traceback_later()
            tally["slowest_case_ms"] = max(tally["slowest_case_ms"], round(1000 * (time.perf_counter() - started)))

    check()


def _damaged_binaries() -> st.SearchStrategy[bytes]:
    """A valid Excel and Parquet file with bytes truncated, flipped or spliced: the zip and footer parsers."""
    base_xlsx = _xlsx_bytes(["question", "answer", "label"], [["q", "a", "yes"], ["q2", "a2", "no"]])
    base_parquet = _parquet_bytes(["question", "answer", "label"], [["q", "a", "yes"]])

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from([base_xlsx, base_parquet])))
        mode = draw(st.sampled_from(["truncate", "flip", "splice"]))
        if mode == "truncate":
            return bytes(data[: draw(st.integers(4, len(data) - 1))]) + (b"PAR1" if draw(st.booleans()) else b"")
        if mode == "flip":
            for _ in range(draw(st.integers(1, 20))):
                data[draw(st.integers(4, len(data) - 5))] = draw(st.integers(0, 255))
            return bytes(data)
        at = draw(st.integers(4, len(data) - 4))
        return bytes(data[:at]) + draw(st.binary(max_size=64)) + bytes(data[at:])

    return damaged()


@st.composite
def decoded_bombs(draw: st.DrawFn) -> bytes:
    """Small Excel and Parquet files that decode to far more than :data:`LIMITS` allow (one long text repeated
    by reference, or a grid padded to its far corner), sometimes damaged: refused before they are built."""
    from tests.reliability.test_decoded_size import HEADER_ROW, dictionary_parquet_bomb, raw_xlsx

    over = LIMITS.max_decoded_bytes  # every bomb decodes to more than this
    kind = draw(st.sampled_from(["shared-string", "grid", "parquet"]))
    if kind == "shared-string":
        n_rows = draw(st.integers(2, 3000))
        length = draw(st.integers(over // (2 * n_rows) + 1, 300_000))
        rows = [HEADER_ROW] + [
            f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>0</v></c></row>'
            for r in range(2, n_rows + 2)
        ]
        data = raw_xlsx(rows, ["x" * length])
    elif kind == "grid":
        column, width = draw(st.sampled_from([("B", 2), ("Z", 26), ("AZ", 52), ("ZZ", 702), ("XFD", 16_384)]))
        row = draw(st.integers(over // (8 * width) + 1, 1_048_576))
        data = raw_xlsx([HEADER_ROW, f'<row r="{row}"><c r="{column}{row}"><v>1</v></c></row>'], [])
    else:
        n_rows = draw(st.integers(3, 60))
        data = dictionary_parquet_bomb(n_rows=n_rows, length=draw(st.integers(over // n_rows + 1, 400_000)))
    if draw(st.integers(0, 4)) == 0:  # now and then damaged too
        flipped = bytearray(data)
        flipped[draw(st.integers(4, len(flipped) - 5))] ^= draw(st.integers(1, 255))
        data = bytes(flipped)
    return data


def test_malformed_files_end_in_a_table_a_report_or_our_error(tmp_path: Path) -> None:
    tally: Counter[str] = Counter()
    _run(files(), FAST, tmp_path, tally)
    assert tally["inputs"] >= 100
    assert tally["data_error"] and tally["read"], tally  # both outcomes are exercised


def test_well_formed_files_of_hostile_text_build_studies_that_read_back(tmp_path: Path) -> None:
    tally: Counter[str] = Counter()
    _run(clean_files(), FAST, tmp_path, tally)
    assert tally["study_written"] and tally["report_errors"], tally


def test_damaged_excel_and_parquet_files_are_data_errors(tmp_path: Path) -> None:
    tally: Counter[str] = Counter()
    _run(_damaged_binaries(), FAST, tmp_path, tally)
    assert tally["data_error"], tally


def test_files_that_decode_to_far_more_than_the_limit_are_data_errors(tmp_path: Path) -> None:
    tally: Counter[str] = Counter()
    _run(decoded_bombs(), settings(FAST, max_examples=40), tmp_path, tally)
    assert tally["data_error"] == tally["inputs"] >= 40, tally


# --- 10,000 uploads, in child processes under a time bound per case and a memory cap --------------------------

FUZZ_SHARDS: dict[str, list[tuple[str, int]]] = {
    "malformed-1": [("files", 3_500)],
    "malformed-2": [("files", 3_000), ("decoded_bombs", 500)],
    "well-formed": [("clean_files", 1_500), ("damaged_binaries", 1_500)],
}
"""Strategy name -> examples, per child process (each a slow test of about three minutes on two cores)."""
CASE_BOUND_S = 30.0
"""No upload may take longer than this to end in a table, a report or our error (they take milliseconds)."""
PEAK_RSS_CAP_MB = 512
"""Peak resident memory of a fuzzing process, imports included; a decoded bomb built whole would pass it."""
STRATEGIES: dict[str, Callable[[], st.SearchStrategy[bytes]]] = {
    "files": files,
    "clean_files": clean_files,
    "damaged_binaries": lambda: _damaged_binaries(),
    "decoded_bombs": decoded_bombs,
}


def fuzz_shard(shard: str, tmp: Path) -> dict[str, object]:
    """Run one shard of :data:`FUZZ_SHARDS` here (what the child process calls): its tally, slowest case, peak memory."""
    tally: Counter[str] = Counter()
    for strategy, examples in FUZZ_SHARDS[shard]:
        _run(STRATEGIES[strategy](), settings(SLOW, max_examples=examples), tmp, tally, case_bound_s=CASE_BOUND_S)
    from selene_eval.data.isolation import worker_peak_rss_mb

    peak_mb = _peak_rss_mb()
    slowest_ms = tally.pop("slowest_case_ms")
    # Parquet is decoded in a worker process (restarted after a file it dies on): its peak, as of the last worker.
    return {
        "outcomes": dict(sorted(tally.items())),
        "slowest_case_s": slowest_ms / 1000,
        "peak_rss_mb": round(peak_mb),
        "parquet_worker_peak_mb": round(worker_peak_rss_mb()),
    }


def _peak_rss_mb() -> float:
    """This process's own peak resident memory in MB (``VmHWM``).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across ``exec`` from the forking parent, so a
    child started by a pytest process of 1.4 GB reported 1.4 GB whatever it used itself.
    """
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # no /proc: the rusage figure (an upper bound there)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
@pytest.mark.parametrize("shard", list(FUZZ_SHARDS))
def test_ten_thousand_generated_uploads(tmp_path: Path, shard: str) -> None:
    command = [sys.executable, "-m", "tests.reliability.fuzz_uploads_child", shard, str(tmp_path)]
    repo = Path(__file__).resolve().parents[2]
    # The child has no timeout of its own to hit: each case is bounded inside it (CASE_BOUND_S), and a
    # traceback or an overrun ends it with the input or every thread's stack on stderr.
    done = subprocess.run(command, capture_output=True, text=True, env=env_for_subprocess(), cwd=repo, check=False)
    assert done.returncode == 0, (
        f"shard {shard} failed (traceback or a case over {CASE_BOUND_S} s):\n{done.stderr[-6000:]}"
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    outcomes = figures["outcomes"]
    assert outcomes["inputs"] >= sum(n for _, n in FUZZ_SHARDS[shard]), outcomes
    assert figures["slowest_case_s"] < CASE_BOUND_S  # the watchdog stops the child first; kept as documentation
    assert figures["peak_rss_mb"] < PEAK_RSS_CAP_MB and figures["parquet_worker_peak_mb"] < PEAK_RSS_CAP_MB, figures
    record(
        f"fuzz:{shard}",
        {
            **figures,
            "inputs_tried": outcomes["inputs"],
            "unhandled": 0,
            "hangs": 0,
            "case_bound_s": CASE_BOUND_S,
            "peak_rss_cap_mb": PEAK_RSS_CAP_MB,
        },
    )


# --- the limits: explicit settings with clear messages -------------------------------------------------------


def test_each_limit_has_a_clear_message_naming_its_setting() -> None:
    big_cell = b"q,a\n" + b"x," + b"y" * 500 + b"\n"
    many_rows = b"q,a\n" + b"x,y\n" * 61
    many_columns = (",".join(f"c{i}" for i in range(13)) + "\n" + ",".join("v" * 13) + "\n").encode()
    cases = [
        (big_cell, "500 characters", "SELENE_EVAL_MAX_CELL_CHARS"),
        (many_rows, "more than 60 data rows", "SELENE_EVAL_MAX_ROWS"),
        (many_columns, "13 columns", "SELENE_EVAL_MAX_COLUMNS"),
        (b"q,a\n" + b"x,y\n" * 20000, "64.0 KB limit", "SELENE_EVAL_MAX_FILE_MB"),
    ]
    for data, fragment, setting in cases:
        with pytest.raises(DataError) as info:
            read_table(data, limits=LIMITS)
        assert fragment in str(info.value) and setting in str(info.value), str(info.value)


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (2 * 2**20))  # 2 MB of zeros packs to a few KB
    data = buffer.getvalue()
    assert len(data) < LIMITS.max_bytes
    with pytest.raises(DataError, match="unpacks to 2 MB, more than the 512.0 KB limit.*SELENE_EVAL_MAX_UNPACKED_MB"):
        read_table(data, limits=LIMITS)


def test_a_parquet_file_over_the_row_limit_is_refused_from_its_footer() -> None:
    data = _parquet_bytes(["q"], [["x"]] * 20)
    with pytest.raises(DataError, match="more than 5 data rows"):
        read_table(data, limits=ReadLimits(max_rows=5))


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELENE_EVAL_MAX_ROWS", "2")
    monkeypatch.setenv("SELENE_EVAL_MAX_FILE_MB", "0.5")
    limits = ReadLimits.from_env()
    assert (limits.max_rows, limits.max_bytes, limits.max_cell_chars) == (2, 2**19, ReadLimits().max_cell_chars)
    with pytest.raises(DataError, match="more than 2 data rows"):
        read_table(b"q,a\n1,2\n3,4\n5,6\n")
    assert read_table(b"q,a\n1,2\n3,4\n").n_rows == 2
    monkeypatch.setenv("SELENE_EVAL_MAX_ROWS", "lots")
    with pytest.raises(DataError, match=r"SELENE_EVAL_MAX_ROWS='lots' is not valid: set it to a whole number"):
        read_table(b"q,a\n1,2\n")
    with pytest.raises(DataError, match="at least 1"):
        ReadLimits(max_rows=0)


# --- numbers Python refuses to convert -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, where",
    [
        (b'[{"question": "q", "id": 1' + b"2" * 5000 + b"}]", "upload.json holds"),
        (b'{"rows": [{"question": "q", "id": -' + b"9" * 4301 + b"}]}", "upload.json holds"),
        (b'{"question": "q", "id": 1}\n{"question": "r", "id": ' + b"7" * 5000 + b"}\n", "holds"),
        (
            b'{"question": "q", "id": 1}\n{"question": "r", "id": ' + b"7" * 5000 + b"}\n{oops\n",
            "Line 2 of upload.json holds",
        ),
        (b'{"question": "q", "id": ' + b"7" * 5000 + b'}\n{"question": "r", "id": 1}\n', "Line 1 of upload.json holds"),
    ],
)
def test_a_json_integer_over_4300_digits_is_one_readable_error(data: bytes, where: str) -> None:
    with pytest.raises(DataError) as info:
        read_table(data, name="upload.json")
    message = str(info.value)
    assert where in message and "digits, more than the 4,300" in message and "put it in quotes" in message, message
    assert "\n" not in message


def test_a_json_integer_of_4300_digits_still_reads_exactly() -> None:
    digits = "9" * 4300
    table = read_table(f'[{{"question": "q", "id": {digits}}}]'.encode())
    assert table.frame.loc[0, "id"] == digits


# --- a Parquet footer on which pyarrow aborts the process --------------------------------------------------

ABORTING_PARQUET_CHILD = """
import io, sys
import pyarrow as pa, pyarrow.parquet as pq
buffer = io.BytesIO()
pq.write_table(pa.table({"question": ["q"], "answer": ["a"], "label": ["yes"]}), buffer)
good = buffer.getvalue()
damaged = bytearray(good)
damaged[211] = 0  # inside the first column's size statistics: its level histogram gets the wrong length
damaged = bytes(damaged)
if sys.argv[1] == "pyarrow":
    pq.ParquetFile(pa.BufferReader(damaged)).metadata.row_group(0).column(0)
    print("pyarrow read it")
else:
    from selene_eval.data import read_table
    from selene_eval.errors import DataError
    try:
        read_table(damaged, name="damaged.parquet")
        print("read")
    except DataError as exc:
        print("DataError:", exc)
    print("then:", read_table(good, name="good.parquet").n_rows, "row")
"""


def test_a_parquet_file_on_which_pyarrow_aborts_is_refused_and_the_process_lives_on() -> None:
    """pyarrow 26 ends the whole process (``std::terminate``) on some damaged footers instead of raising: the
    dashboard's server with it. Parquet is decoded in a worker process, so this file is one DataError and the
    next file reads."""
    run = [sys.executable, "-c", ABORTING_PARQUET_CHILD]
    raw = subprocess.run([*run, "pyarrow"], capture_output=True, text=True, env=env_for_subprocess(), timeout=300)
    if raw.returncode >= 0:
        pytest.skip(f"this pyarrow no longer aborts on the damaged footer ({raw.stdout.strip() or raw.stderr[-200:]})")
    ours = subprocess.run([*run, "selene_eval"], capture_output=True, text=True, env=env_for_subprocess(), timeout=300)
    assert ours.returncode == 0, ours.stderr[-2000:]
    lines = ours.stdout.strip().splitlines()
    assert lines[0].startswith(
        "DataError: damaged.parquet looks like a Parquet file, but the Parquet reader stopped"
    ), lines
    assert lines[1] == "then: 1 row"


def test_a_parquet_text_column_that_is_not_utf8_is_a_data_error() -> None:
    """A byte flipped inside a text page (here 0xff) reads in pyarrow but is no text: one DataError, found by the
    upload fuzz run after Parquet moved to its worker process."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(
        pa.table({"question": ["what?"], "label": ["yes\u00e9"]}),
        buffer,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
    )
    raw = bytearray(buffer.getvalue())
    at = raw.index("yes\u00e9".encode())
    raw[at + 3] = 0xFF  # the first byte of "é" becomes one that starts no UTF-8 character
    with pytest.raises(DataError, match="looks like a Parquet file but cannot be read"):
        read_table(bytes(raw), name="flipped.parquet")
    assert read_table(buffer.getvalue(), name="good.parquet").n_rows == 1
