"""The Parquet worker process: ``python -m selene_eval.data.parquet_worker`` (see :mod:`selene_eval.data.isolation`).

It reads files from its stdin, decodes each with the same checks as :func:`selene_eval.data.read_table`, and
answers with the validated Arrow table or the error's message, until its input ends.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from selene_eval.data.isolation import _peak_rss_kb, _receive, _send
from selene_eval.data.readers import ReadLimits, _guarded, read_parquet_table
from selene_eval.errors import DataError


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker's loop: read a file, answer with its table or the error's message, until end of input."""
    import pyarrow as pa

    while True:
        request = _receive(requests)
        if request is None:
            return
        header, raw = request
        shown = str(header["shown"])
        try:
            table = _guarded(read_parquet_table, raw, shown, "a Parquet", ReadLimits(**header["limits"]))
            # Every value must be what its type says (text cells valid UTF-8): the caller turns them into
            # Python values, which would fail there.
            _guarded(lambda *_: table.validate(full=True), raw, shown, "a Parquet", ReadLimits())  # noqa: B023  (called at once)
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:  # type: ignore[attr-defined]
                writer.write_table(table)
            _send(replies, {"kind": "ok", "peak_kb": _peak_rss_kb()}, sink.getvalue().to_pybytes())
        except DataError as exc:
            _send(replies, {"kind": "error", "message": str(exc), "peak_kb": _peak_rss_kb()})
        except Exception as exc:  # noqa: BLE001 - a bug of ours must still end as an answer, not a dead worker
            message = f"{shown} could not be read as a Parquet file ({exc.__class__.__name__})."
            _send(replies, {"kind": "error", "message": message, "peak_kb": _peak_rss_kb()})


if __name__ == "__main__":
    # Replies go to a copy of the original stdout; descriptor 1 itself is pointed at stderr (discarded), so
    # that nothing a library prints can end up inside a reply.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, replies)
