"""One-line reasons for errors caused by damaged files (shared by the store and study archives)."""

from __future__ import annotations


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """``exc`` as a short, one-line reason: never a huge value, a stack depth or Python's own advice."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "a number of more than 4,300 digits"
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[:limit] + "..."
