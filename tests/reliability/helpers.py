"""Shared helpers of the reliability tests: a study with scripted answers, a child-process environment."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.study import Study
from selene_eval.testing.studies import make_study as build_study

SCRIPTED = JudgeSpec(backend="scripted", model="reliability-test")


def scripted_answer(messages: list[Message]) -> str:
    """A deterministic Selene-style answer that depends on the prompt (so a truncated row is detectable)."""
    content = messages[-1].content
    label = "Yes" if "good" in content else "No"
    return f"**Reasoning:** checked {len(content)} characters.\n\n**Result:** {label}"


def make_study(studies_dir: Path, n: int = 20, *, slug: str = "s", variants: tuple[str, ...] = ("selene",)) -> Study:
    """A binary study of ``n`` items, half of them judged yes by :func:`scripted_answer`."""
    return build_study(
        studies_dir,
        n,
        slug=slug,
        title="reliability",
        experts=("e1",),
        variants=variants,
        response=lambda i: ("a good answer" if i % 2 else "a bad answer") + " padding" * (i % 7),
        reference="Reference {i}.",
        labels=lambda i: {"e1": "yes" if i % 2 else "no"},
    )


def env_for_subprocess() -> dict[str, str]:
    """The environment of a child Python process: the repository importable, the hub offline."""
    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    return env


class PeakRss:
    """How much resident memory the process gained at its peak while the block ran (sampled from /proc).

    The growth, not the total: in the full suite this runs in a pytest process that already holds a model
    and the dashboard's imports, whose size says nothing of this test.
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._baseline_mb = 0.0
        self._done = threading.Event()

    @staticmethod
    def _rss_mb() -> float | None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return None
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            now = self._rss_mb()
            if now is None:
                return
            self.peak_mb = max(self.peak_mb, now - self._baseline_mb)

    def __enter__(self) -> PeakRss:
        self._baseline_mb = self._rss_mb() or 0.0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
