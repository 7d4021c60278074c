"""Benchmark: the server judge reads a stream in time linear in its length.

A hostile server (:class:`selene_eval.testing.server.ScriptedServer` on 127.0.0.1) answers one reasoned
request with a short reasoning, then N newline-only chunks (``"\\n"``), then the label. The real backend
reads it (the byte limit raised so that the whole stream is read); the time of ``generate`` is measured for
N = 10,000, 20,000 and 40,000. Linear reading doubles the time when N doubles (ratios about 2); before,
the whole answer was joined and searched again at every newline chunk (10k/20k/40k: 3.5/12/51 s, ratios
3.4 and 4.3). Also the parser on an answer with N blanks after ``**Result:**`` (its marker pattern rescanned
a blank run from each position before: 100,000 blanks took 28 s).

``--compare`` also times the old per-newline rescan on the same chunks (in process, no server), for 10k
and 20k only (40k took 51 s).

Run: ``.venv/bin/python bench/server_stream.py [--compare]``; prints a table, writes
``bench/results/server_stream.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from selene_eval.core.judge_spec import JudgeSpec, LabelChoices, Message  # noqa: E402
from selene_eval.core.tasks import TaskType  # noqa: E402
from selene_eval.judge import openai_backend as ob  # noqa: E402  (after the path set-up)
from selene_eval.prompts.parser import parse_judgment, result_line_complete  # noqa: E402
from selene_eval.testing.server import Reply, ScriptedServer, delta_chunk, event, head  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "server_stream.json"
SIZES = (10_000, 20_000, 40_000)
BLANKS = (1_000_000, 2_000_000, 4_000_000)
REPEATS = 5


def chunks(n: int) -> list[str]:
    return ["**Reasoning:** fine", *["\n"] * n, "**Result:**", " Yes", "\n"]


def stream_bytes(n: int) -> bytes:
    return (
        head(200, {"Content-Type": "text/event-stream"})
        + b"".join(event(delta_chunk(c)) for c in chunks(n))
        + b"data: [DONE]\n\n"
    )


def time_backend(n: int) -> float:
    """Best of :data:`REPEATS`: one request answered with N newline chunks, read by the real backend."""
    body = stream_bytes(n)

    def script(request: dict[str, Any], reply: Reply) -> None:
        reply.send(body)

    best = float("inf")
    with ScriptedServer(script) as server:
        spec = JudgeSpec(backend="openai", model="judge", endpoints=(server.url,), timeout_s=600)
        backend = ob.OpenAIBackend(spec, max_answer_bytes=len(body) * 2)
        try:
            for _ in range(REPEATS):
                start = time.perf_counter()
                [gen] = backend.generate([[Message("user", "x")]], [LabelChoices(words=(("Yes", "yes"), ("No", "no")))])
                best = min(best, time.perf_counter() - start)
                assert gen.finish_reason == "stop" and gen.text == "".join(chunks(n)), gen
        finally:
            backend.close()
    return best


def time_old_rescan(n: int) -> float:
    """The loop before: at each newline chunk, join everything so far and look for the result line again."""
    start = time.perf_counter()
    pieces: list[str] = []
    for piece in chunks(n):
        pieces.append(piece)
        if "\n" in piece and result_line_complete("".join(pieces)):
            break
    return time.perf_counter() - start


def time_parser(n: int) -> float:
    text = "**Reasoning:** fine\n\n**Result:**" + " " * n + "Yes"
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        parse_judgment(text, TaskType.BINARY)
        best = min(best, time.perf_counter() - start)
    return best


def ratios(times: list[float]) -> list[float]:
    return [later / earlier for earlier, later in zip(times, times[1:])]


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--compare", action="store_true", help="also time the old per-newline rescan (10k, 20k)")
    compare = args.parse_args().compare
    stream = [time_backend(n) for n in SIZES]
    parser = [time_parser(n) for n in BLANKS]
    old = [time_old_rescan(n) for n in SIZES[:2]] if compare else []
    print(f"{'newline chunks':>16} {'backend s':>10}" + (f" {'old rescan s':>13}" if compare else ""))
    for i, n in enumerate(SIZES):
        print(f"{n:>16,} {stream[i]:>10.3f}" + (f" {old[i]:>13.2f}" if i < len(old) else ""))
    print("ratios (x2 chunks): " + ", ".join(f"{r:.2f}" for r in ratios(stream)) + "  (linear: about 2)")
    print(f"\n{'blanks after marker':>20} {'parse s':>10}")
    for n, t in zip(BLANKS, parser):
        print(f"{n:>20,} {t:>10.4f}")
    print("ratios (x2 blanks): " + ", ".join(f"{r:.2f}" for r in ratios(parser)) + "  (linear: about 2)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "newline_chunks": dict(zip(map(str, SIZES), map(lambda t: round(t, 4), stream))),
                "newline_ratios": [round(r, 2) for r in ratios(stream)],
                "old_rescan_s": dict(zip(map(str, SIZES), map(lambda t: round(t, 2), old))),
                "parser_blanks": dict(zip(map(str, BLANKS), map(lambda t: round(t, 5), parser))),
                "parser_ratios": [round(r, 2) for r in ratios(parser)],
                "recorded_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
