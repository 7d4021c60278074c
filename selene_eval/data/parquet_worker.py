"""Parquet files are decoded in a separate process, so that a damaged file cannot take the dashboard down.

pyarrow does not always answer a damaged Parquet footer with an exception: on some (a size-statistics
histogram of the wrong length, for one) its C++ code calls ``std::terminate`` and the *whole process* aborts:
the command line with a core dump instead of one readable line, the dashboard's server for every user. So
:func:`parse_parquet_isolated` hands the bytes to a worker process (``python -m
selene_eval.data.parquet_worker``), started on first use and reused for later files. The worker runs the
same checks and read as before (the footer's sizes, the decoded-size budget, then the table) and sends back
the header and rows or the :class:`~selene_eval.errors.DataError` message. When the worker dies on a file,
that file is refused with a :class:`DataError` and the next file starts a new worker.

Messages are length-prefixed pickles over the worker's stdin/stdout; only this module's two ends write them.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any

from selene_eval.errors import DataError

_HEADER = struct.Struct("!Q")


def _send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or ``None`` when the other end is gone (end of file mid-message included)."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - written by our own worker, never by the file


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
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )

    def parse(self, raw: bytes, shown: str, limits: object) -> tuple[list[object], list[list[object]]]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                _send(process.stdin, (raw, shown, limits))
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
        kind, payload, self.last_peak_kb = reply
        if kind == "error":
            raise DataError(payload)
        return payload

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.kill()
                self._process.wait()
                self._process = None


_WORKER = _Worker()


def parse_parquet_isolated(raw: bytes, shown: str, limits: object) -> tuple[list[object], list[list[object]]]:
    """Header and rows of the Parquet file ``raw``, decoded in the worker process; a :class:`DataError` for a
    file it refuses, or one it dies on."""
    return _WORKER.parse(raw, shown, limits)


def worker_peak_rss_mb() -> float:
    """The worker's peak resident memory (MB) as of the last file it read."""
    return _WORKER.last_peak_kb / 1024


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker's loop: read a file, answer with its header and rows or the error's message, until EOF."""
    from selene_eval.data.readers import _guarded, _parse_parquet  # the same code as in the caller's process

    while True:
        request = _receive(requests)
        if request is None:
            return
        raw, shown, limits = request
        try:
            reply: tuple[str, object, int] = ("ok", _guarded(_parse_parquet, raw, shown, "a Parquet", limits), 0)
        except DataError as exc:
            reply = ("error", str(exc), 0)
        except Exception as exc:  # noqa: BLE001 - a bug of ours must still end as an answer, not a dead worker
            reply = ("error", f"{shown} could not be read as a Parquet file ({exc.__class__.__name__}).", 0)
        _send(replies, (reply[0], reply[1], _peak_rss_kb()))


if __name__ == "__main__":
    # Replies go to a copy of the original stdout; descriptor 1 itself is pointed at stderr (discarded), so
    # that nothing a library prints can end up inside a reply.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, replies)
