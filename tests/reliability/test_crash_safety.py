"""Crash safety: a judge run killed with SIGKILL at random points loses nothing and resumes exactly.

Each round starts a real run in a child process (``child_run.py``: the runner, the SQLite store and the spec
write of the command line, with a scripted judge that takes a few milliseconds per prompt), waits until it
has committed at least one batch, kills it with SIGKILL after a random pause, and then checks the study as
the next process would find it:

* every judgment the child reported committed is stored, exactly once per (judge, item, variant);
* no row is half-written: every stored answer is byte-for-byte the judge's answer to its prompt, parsed;
* the database passes ``PRAGMA integrity_check``; ``study.yaml`` and ``items.jsonl`` load;
* the killed run's lock does not block the next run.

Finally a last run finishes the study and the count is exactly items x variants.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.prompts.render import cache_key, render
from selene_eval.study import StudyStore
from selene_eval.study.store import dump_spec
from tests.reliability.figures import record
from tests.reliability.helpers import SCRIPTED, env_for_subprocess, make_study, scripted_answer

CHILD = Path(__file__).with_name("child_run.py")


def expected_answers(studies_dir: Path, slug: str) -> dict[str, tuple[str, str, str]]:
    """cache key -> (item id, variant id, the judge's exact answer) for every prompt of the study."""
    study = StudyStore(studies_dir).open(slug)
    identity = SCRIPTED.identity()
    out = {}
    for variant_id in study.spec.variants:
        variant = study.variant(variant_id)
        for item in study.items:
            prompt = render(variant, item, study.spec.rubric)
            out[cache_key(identity, prompt)] = (item.item_id, variant_id, scripted_answer(list(prompt.messages)))
    return out


def check_study(studies_dir: Path, slug: str, expected: dict[str, tuple[str, str, str]], must_have: set[str]) -> int:
    """Everything a later process needs is intact; returns the number of stored judgments."""
    study = StudyStore(studies_dir).open(slug)  # study.yaml parses and validates
    assert len(study.items) == len({i for i, _, _ in expected.values()})  # items.jsonl complete
    assert study.spec.judge in (SCRIPTED, JudgeSpec())  # the old spec or the new one, never a mix
    study.judgments.count()  # opens the database as the next run would (a kill may come before it exists)
    study.close()
    connection = sqlite3.connect(studies_dir / slug / "judgments.sqlite")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute(
            "SELECT cache_key, judge_id, item_id, variant_id, raw_text, status, label, finish_reason FROM judgments"
        ).fetchall()
    finally:
        connection.close()
    keys = [row[0] for row in rows]
    pairs = [(row[1], row[2], row[3]) for row in rows]
    assert len(set(pairs)) == len(pairs), "an (item, variant) was judged twice"
    missing = must_have - set(keys)
    assert not missing, f"{len(missing)} judgment(s) reported committed before the kill are gone"
    for key, judge_id, item_id, variant_id, raw_text, status, label, finish_reason in rows:
        assert key in expected, "a stored judgment belongs to no prompt of the study"
        exp_item, exp_variant, answer = expected[key]
        assert (judge_id, item_id, variant_id) == (SCRIPTED.judge_id, exp_item, exp_variant)
        assert raw_text == answer, "a stored answer differs from the judge's (half-written row)"
        assert (status, finish_reason) == ("ok", "stop") and label == ("yes" if "Yes" in answer.split()[-1] else "no")
    return len(rows)


def start_child(studies_dir: Path, slug: str, tag: str, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(studies_dir), slug, "--delay", str(delay), "--batch-size", "4", "--tag", tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for_subprocess(),
    )


def committed_keys(stdout: str) -> set[str]:
    return {key for line in stdout.splitlines() if line.startswith("committed ") for key in line.split()[1:]}


def kill_and_resume(studies_dir: Path, *, n_items: int, kills: int, seed: int, delay: float) -> dict[str, int]:
    """Kill ``kills`` runs at random points, checking the study after each; then finish it. Returns figures."""
    rng = random.Random(seed)
    make_study(studies_dir, n_items, slug="crash", variants=("selene", "selene-ref"))
    expected = expected_answers(studies_dir, "crash")
    reported: set[str] = set()
    survived = finished_early = 0
    for round_number in range(kills):
        child = start_child(studies_dir, "crash", str(round_number), delay=delay)
        assert child.stdout is not None
        first = ""
        if rng.random() < 0.25:
            # Early: while it starts, rewrites study.yaml or plans (no judgment is committed yet).
            time.sleep(rng.uniform(0.0, 0.5))
            os.kill(child.pid, signal.SIGKILL)
        else:
            # Wait for the first committed batch (the run is under way), or for the child to end.
            first = child.stdout.readline()
            if first.startswith("committed "):
                time.sleep(rng.uniform(0.0, 0.2))
                os.kill(child.pid, signal.SIGKILL)
        rest, errors = child.communicate(timeout=120)
        if child.returncode == -signal.SIGKILL:
            survived += 1
        else:  # it finished (or failed) before the kill
            assert child.returncode == 0, f"the run failed: {first}{rest}{errors}"
            finished_early += 1
        assert "being judged" not in first + rest, "a killed run's lock blocked the next run"
        reported |= committed_keys(first + rest)
        stored = check_study(studies_dir, "crash", expected, reported)
        if stored == len(expected):
            break
    reported_before_final = len(reported)
    final = start_child(studies_dir, "crash", "final", delay=0.0)
    out, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors
    reported |= committed_keys(out)
    assert check_study(studies_dir, "crash", expected, reported) == len(expected) == n_items * 2
    return {
        "kills_survived": survived,
        "runs_finished_before_kill": finished_early,
        "judgments_expected": len(expected),
        "judgments_committed_before_kills": reported_before_final,
        "judgments_lost": 0,
        "duplicates": 0,
    }


def test_sigkill_at_random_points_loses_nothing(studies_dir: Path) -> None:
    figures = kill_and_resume(studies_dir, n_items=60, kills=5, seed=1, delay=0.003)
    assert figures["kills_survived"] >= 1


@pytest.mark.slow
def test_many_sigkills_lose_nothing(studies_dir: Path) -> None:
    figures = kill_and_resume(studies_dir, n_items=300, kills=40, seed=int(time.time()), delay=0.012)
    assert figures["kills_survived"] >= 20
    record("crash", figures)


def test_study_files_are_replaced_atomically(studies_dir: Path) -> None:
    """The spec writer leaves the old or the new file, never a mix, and flushes before renaming."""
    study = make_study(studies_dir, 3)
    calls: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def spy_replace(src: str, dst: object) -> None:
        calls.append(f"replace {Path(str(dst)).name}")
        assert Path(src).read_text(encoding="utf-8") == dump_spec(study.spec)  # complete before it is renamed
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", spy_fsync)
        patch.setattr(os, "replace", spy_replace)
        study.spec = study.spec.model_copy(update={"description": "new"})
        study.save_spec()
    # data flushed, then renamed over the old file, then the folder flushed so the rename survives a power cut
    assert calls == ["fsync", "replace study.yaml", "fsync"], calls
    assert StudyStore(studies_dir).open("s").spec.description == "new"
    assert not [p for p in study.path.iterdir() if p.name.startswith(".study.yaml.")]  # no temporary left
