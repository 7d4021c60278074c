"""Plain-text wording shared by every front end (the CLI, the dashboard, the reports): durations and counts."""

from __future__ import annotations

import math


def fmt_duration(seconds: float | None) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 05 min``; ``unknown`` for ``None``."""
    if seconds is None or math.isnan(seconds):
        return "unknown"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 item``, ``2 items`` (``plural_form`` for irregular words)."""
    return f"{n:,} {word if n == 1 else (plural_form or word + 's')}"
