"""The figures of the last reliability run, kept in ``bench/results/reliability.json`` for docs/RELIABILITY.md.

The slow tests call :func:`record` with what they tried (inputs fuzzed, kills survived, judgments lost); the
file is rewritten atomically, one key per test, so a partial run updates only what it ran.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / "bench" / "results" / "reliability.json"


def record(key: str, values: dict[str, object]) -> None:
    """Store ``values`` under ``key`` (with the date and machine) in the figures file."""
    try:
        data = json.loads(FIGURES.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[key] = {
        **values,
        "recorded_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "python": platform.python_version(),
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".reliability.", dir=FIGURES.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, FIGURES)


def markdown_table(data: dict[str, dict[str, object]] | None = None) -> str:
    """The figures as the Markdown table of docs/RELIABILITY.md ("Figures of the last run")."""
    if data is None:
        data = json.loads(FIGURES.read_text(encoding="utf-8"))
    crash = data.get("crash", {})
    archives, overwrite, server = (
        data.get("archives", {}),
        data.get("overwrite_kills", {}),
        data.get("hostile_server", {}),
    )
    fuzz = _merged_fuzz_shards(data)
    outcomes = fuzz.get("outcomes", {})
    rows = [
        ("Generated uploads tried (malformed, well-formed, damaged, decoding bombs)", fuzz.get("inputs_tried", "n/a")),
        ("... refused with a DataError (one-line message)", outcomes.get("data_error", "n/a")),
        ("... read, then refused by the mapping (MappingError)", outcomes.get("mapping_error", "n/a")),
        ("... read, validation report with errors", outcomes.get("report_errors", "n/a")),
        ("... read, clean report, study written and read back identical", outcomes.get("study_written", "n/a")),
        (
            "Unhandled exceptions / cases over the time bound",
            f"{fuzz.get('unhandled', 'n/a')} / {fuzz.get('hangs', 'n/a')}",
        ),
        ("Slowest upload (bound)", f"{fuzz.get('slowest_case_s', 'n/a')} s ({fuzz.get('case_bound_s', 'n/a')} s)"),
        (
            "Peak memory of a fuzzing process, imports included (cap)",
            f"{fuzz.get('peak_rss_mb', 'n/a')} MB ({fuzz.get('peak_rss_cap_mb', 'n/a')} MB)",
        ),
        (
            "Peak memory of its Parquet worker process, imports included (cap)",
            f"{fuzz.get('parquet_worker_peak_mb', 'n/a')} MB ({fuzz.get('peak_rss_cap_mb', 'n/a')} MB)",
        ),
        ("Runs killed with SIGKILL mid-run, study intact after each", crash.get("kills_survived", "n/a")),
        (
            "Judgments committed before a kill (all checked after it)",
            crash.get("judgments_committed_before_kills", "n/a"),
        ),
        (
            "Judgments expected at the end / lost / duplicated",
            f"{crash.get('judgments_expected', 'n/a')} / {crash.get('judgments_lost', 'n/a')} / {crash.get('duplicates', 'n/a')}",
        ),
        (
            "Hostile study archives tried / tracebacks",
            f"{archives.get('archives_tried', 'n/a')} / {archives.get('unhandled', 'n/a')}",
        ),
        (
            "... refused before anything was installed / imported whole",
            f"{_refused(archives)} / {archives.get('outcomes', {}).get('imported', 'n/a')}",
        ),
        (
            "Imports killed mid-overwrite / studies left mixed",
            f"{overwrite.get('kills', 'n/a')} / {overwrite.get('mixed_or_damaged', 'n/a')}",
        ),
        (
            "Hostile server answers tried / run crashes",
            f"{server.get('answers_tried', 'n/a')} / {server.get('crashes', 'n/a')}",
        ),
        (
            "Longest request (timeout)",
            f"{server.get('longest_request_s', 'n/a')} s ({server.get('timeout_s', 'n/a')} s)",
        ),
    ]
    dates = sorted({str(v.get("recorded_at", "")) for v in (fuzz, crash, archives, overwrite, server) if v})
    lines = ["| figure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    return "\n".join(lines) + f"\n\nRecorded {', '.join(dates) or 'never'} (Python {fuzz.get('python', 'n/a')})."


def _refused(archives: dict[str, object]) -> object:
    """How many hostile archives were refused, whatever the error."""
    outcomes = archives.get("outcomes")
    if not isinstance(outcomes, dict):
        return "n/a"
    return sum(int(n) for name, n in outcomes.items() if str(name).startswith("refused"))


def _merged_fuzz_shards(data: dict[str, dict[str, object]]) -> dict[str, object]:
    """The upload fuzz run's shards (keys ``fuzz:NAME``) as one: counts summed, the worst time and memory kept."""
    shards = [value for key, value in sorted(data.items()) if key.startswith("fuzz:")]
    if not shards:
        return {}
    outcomes: dict[str, int] = {}
    for shard in shards:
        for name, count in shard.get("outcomes", {}).items():  # type: ignore[union-attr]
            outcomes[name] = outcomes.get(name, 0) + int(count)
    merged: dict[str, object] = {
        key: sum(int(s.get(key, 0)) for s in shards) for key in ("inputs_tried", "unhandled", "hangs")
    }
    merged.update(
        {key: max(s.get(key, 0) for s in shards) for key in ("slowest_case_s", "peak_rss_mb", "parquet_worker_peak_mb")}
    )  # type: ignore[type-var]
    merged.update({key: shards[0].get(key) for key in ("case_bound_s", "peak_rss_cap_mb", "python")})
    merged["outcomes"] = outcomes
    merged["recorded_at"] = max(str(s.get("recorded_at", "")) for s in shards)
    return merged


if __name__ == "__main__":
    print(markdown_table())
