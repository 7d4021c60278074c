"""Parquet files are decoded in a separate process (this module: the caller's side and the messages; the worker's
loop is :mod:`selene_eval.data.parquet_worker`), so that a damaged file cannot take the dashboard down.

pyarrow does not always answer a damaged Parquet footer with an exception: on some (a size-statistics
histogram of the wrong length, for one) its C++ code calls ``std::terminate`` and the *whole process* aborts:
the command line with a core dump instead of one readable line, the dashboard's server for every user. So
:func:`parse_parquet_isolated` hands the bytes to a worker process (``python -m
selene_eval.data.parquet_worker``), started on first use and reused for later files. The worker runs the
same checks and read as before (the footer's sizes, the decoded-size budget, then the table) and sends back
the header and rows or the :class:`~selene_eval.errors.DataError` message. When the worker dies on a file,
that file is refused with a :class:`DataError` and the next file starts a new worker.

Each message over the worker's stdin/stdout is two length-prefixed frames: a JSON header (the file's name and
the limits; or the outcome, its message and the worker's peak memory) and a blob (the file's bytes; or the
table as an Arrow IPC stream). No pickle: the parent decodes only JSON and Arrow data.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

from selene_eval.errors import DataError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance  # ReadLimits; readers imports this module, not the reverse

_LENGTH = struct.Struct("!Q")


def _send(stream: IO[bytes], header: dict[str, Any], blob: bytes = b"") -> None:
    for frame in (json.dumps(header).encode("utf-8"), blob):
        stream.write(_LENGTH.pack(len(frame)))
        stream.write(frame)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def _receive(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """The next message (header, blob), or ``None`` when the other end is gone (end of file mid-message too)."""
    header = _read_frame(stream)
    if header is None:
        return None
    blob = _read_frame(stream)
    if blob is None:
        return None
    return json.loads(header), blob


def _peak_rss_kb() -> int:
    """This process's peak resident memory (``VmHWM``), 0 where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


class _Worker:
    """One worker process and the lock that keeps its requests one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.last_peak_kb = 0
        """The worker's peak resident memory after the last file (for the memory tests and figures)."""

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the same selene_eval
        return subprocess.Popen(
            [sys.executable, "-m", "selene_eval.data.parquet_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def parse(self, raw: bytes, shown: str, limits: DataclassInstance) -> Any:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                _send(process.stdin, {"shown": shown, "limits": dataclasses.asdict(limits)}, raw)
                reply = _receive(process.stdout)
            except (BrokenPipeError, OSError):
                reply = None
            if reply is None:  # the worker died on this file: the next one gets a new worker
                process.kill()
                process.wait()
                self._process = None
                raise DataError(
                    f"{shown} looks like a Parquet file, but the Parquet reader stopped on it (it is damaged: "
                    f"the reader exited with code {process.returncode}). Open it in the program that made it and "
                    "save it again, or export the table as CSV."
                )
        header, blob = reply
        self.last_peak_kb = int(header["peak_kb"])
        if header["kind"] == "error":
            raise DataError(str(header["message"]))
        import pyarrow as pa

        return pa.ipc.open_stream(pa.BufferReader(blob)).read_all()


_WORKER = _Worker()


def read_parquet_isolated(raw: bytes, shown: str, limits: DataclassInstance) -> Any:
    """The Parquet file ``raw`` as an Arrow table, decoded and validated in the worker process; a
    :class:`DataError` for a file it refuses, or one it dies on. ``limits`` is the caller's ``ReadLimits``."""
    return _WORKER.parse(raw, shown, limits)


def worker_peak_rss_mb() -> float:
    """The worker's peak resident memory (MB) as of the last file it read."""
    return _WORKER.last_peak_kb / 1024
