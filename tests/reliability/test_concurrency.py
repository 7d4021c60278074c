"""Concurrent use: one run per study (threads, processes), stale locks, readers during a run.

A second run on a study that is being judged (another browser session of the dashboard = another thread of
the same process; the command line = another process) is refused with a ``StudyBusy`` that names the
holder. A run killed with SIGKILL leaves no lock behind. Readers with their own connections see only whole
batches while a run writes, and the counts they see never go back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import Generation, LabelChoices, Message
from selene_eval.errors import StudyBusy, StudyError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import RunResult, run_study
from selene_eval.study import JudgmentStore, Study, StudyStore
from tests.reliability.helpers import SCRIPTED, env_for_subprocess, make_study, scripted_answer

CHILD = Path(__file__).with_name("child_run.py")


class GatedBackend(ScriptedBackend):
    """Scripted answers, but each batch waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(SCRIPTED, script=scripted_answer)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return super().generate(prompts, choices)


@contextmanager
def run_in_a_thread(study: Study) -> Iterator[list[RunResult]]:
    """A run of ``study`` in another thread (another browser session), held inside its first batch.

    Yields the list that receives the run's result once the block ends and the run is let go.
    """
    gated = GatedBackend()
    outcome: list[RunResult] = []
    first = threading.Thread(target=lambda: outcome.append(run_study(study, gated, batch_size=4)))
    first.start()
    try:
        assert gated.entered.wait(60)
        yield outcome
    finally:
        gated.gate.set()
        first.join(60)


def test_a_second_run_in_another_thread_is_refused_naming_the_holder(studies_dir: Path) -> None:
    study = make_study(studies_dir, 8)
    with run_in_a_thread(study) as outcome:
        # Another browser session opens the same study and starts a run: refused, nothing judged twice.
        other = StudyStore(studies_dir).open("s")
        second = ScriptedBackend(SCRIPTED, script=scripted_answer)
        with pytest.raises(StudyBusy) as info:
            run_study(other, second, batch_size=4)
        message = str(info.value)
        assert "being judged by another run" in message and "this same process" in message
        assert "started" in message and "finished judgments are kept" in message
        assert second.calls == [] and info.value.holder.pid == os.getpid()  # type: ignore[attr-defined]
        assert other.run_holder() is not None
        # Deleting or renaming the study under a running run is refused too.
        with pytest.raises(StudyBusy):
            StudyStore(studies_dir).delete("s")
        with pytest.raises(StudyBusy):
            StudyStore(studies_dir).rename("s", "t")
    assert outcome and outcome[0].n_judged == 8
    # Once the first run is over the study is free again: the next run finds everything stored.
    assert study.run_holder() is None
    again = run_study(StudyStore(studies_dir).open("s"), ScriptedBackend(SCRIPTED, script=scripted_answer))
    assert (again.n_cached, again.n_judged) == (8, 0)


def start_holding_child(studies_dir: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(studies_dir), "s", "--hold"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for_subprocess(),
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "holding", line + (child.stderr.read() if child.stderr else "")
    return child


def test_a_run_in_another_process_is_refused_and_a_killed_one_leaves_no_lock(studies_dir: Path) -> None:
    study = make_study(studies_dir, 6)
    child = start_holding_child(studies_dir)
    try:
        backend = ScriptedBackend(SCRIPTED, script=scripted_answer)
        with pytest.raises(StudyBusy) as info:
            run_study(study, backend)
        message = str(info.value)
        assert f"process {child.pid} on host" in message and "child_run.py" in message and "s --hold" in message, (
            message
        )
        assert backend.calls == []
        holder = study.run_holder()
        assert holder is not None and holder.pid == child.pid
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    # The kernel dropped the dead process's lock: no stale lock file blocks the next run.
    assert study.run_holder() is None
    result = run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    assert result.n_judged == 6 and not result.cancelled


def test_the_command_line_refuses_a_study_that_is_being_judged(studies_dir: Path) -> None:
    make_study(studies_dir, 4)
    child = start_holding_child(studies_dir)
    try:
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "selene_eval",
                "--studies-dir",
                str(studies_dir),
                "run",
                "s",
                "--backend",
                "scripted",
            ],
            capture_output=True,
            text=True,
            env=env_for_subprocess(),
            timeout=120,
        )
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    assert cli.returncode != 0 and "Traceback" not in cli.stderr
    assert f"Study 's' is being judged by another run: process {child.pid}" in cli.stderr, cli.stderr


def test_readers_see_whole_batches_while_a_run_writes(studies_dir: Path) -> None:
    """Two readers (own connections, as two browser sessions or a report would have) while a process writes."""
    n_items, batch = 80, 4
    make_study(studies_dir, n_items)
    database = studies_dir / "s" / "judgments.sqlite"
    JudgmentStore(database).close()  # the schema exists before the readers start
    writer = subprocess.Popen(
        [sys.executable, str(CHILD), str(studies_dir), "s", "--delay", "0.01", "--batch-size", str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for_subprocess(),
    )
    seen: list[list[int]] = [[], []]
    problems: list[str] = []
    expected = {i.item_id: i.experts["e1"] for i in StudyStore(studies_dir).open("s").items}

    def read(slot: int) -> None:
        store = JudgmentStore(database)
        try:
            while writer.poll() is None or not seen[slot] or seen[slot][-1] < n_items:
                count = store.count()
                rows = store.get(_all_keys(store))
                if count % batch or len(rows) % batch:
                    problems.append(f"reader {slot} saw part of a batch: count {count}, rows {len(rows)}")
                if seen[slot] and count < seen[slot][-1]:
                    problems.append(f"reader {slot} saw the count go back from {seen[slot][-1]} to {count}")
                for row in rows.values():
                    if row.status != "ok" or row.label != expected[row.item_id]:
                        problems.append(
                            f"reader {slot} saw a wrong row for item {row.item_id}: {row.status}, {row.label}"
                        )
                seen[slot].append(count)
                if writer.poll() is not None and count == n_items:
                    break
        finally:
            store.close()

    readers = [threading.Thread(target=read, args=(slot,)) for slot in (0, 1)]
    for thread in readers:
        thread.start()
    out, errors = writer.communicate(timeout=300)
    for thread in readers:
        thread.join(120)
    assert writer.returncode == 0, errors
    assert not problems, problems[:5]
    for counts in seen:
        assert counts[-1] == n_items
        # Reads happened while the run was under way, not only before and after it.
        assert any(0 < c < n_items for c in counts), counts[:10]


def _all_keys(store: JudgmentStore) -> list[str]:
    with store._lock:  # the store's own connection; a plain SELECT of every key
        return [row[0] for row in store._conn.execute("SELECT cache_key FROM judgments")]


def test_the_lock_file_content_is_only_a_description(studies_dir: Path) -> None:
    """A leftover lock file (from a crash) with any content does not block; nobody holds it."""
    study = make_study(studies_dir, 2)
    (study.path / ".run.lock").write_text('{"pid": 999999, "host": "gone", "started_at": "x", "owner": "y"}')
    assert study.run_holder() is None
    assert run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer)).n_judged == 2
    with study.run_lock(owner="test") as lock:
        assert lock.held
        with pytest.raises(StudyError, match="already held by this run"):
            lock.acquire()
    assert not lock.held and (study.path / ".run.lock").read_text() == ""


def test_duplicate_copies_a_consistent_database_and_no_lock(studies_dir: Path) -> None:
    study = make_study(studies_dir, 5)
    run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    with study.run_lock(owner="test"):  # duplicating while a run holds the study is fine: it is a snapshot
        copy = StudyStore(studies_dir).duplicate("s", "copy")
    assert copy.judgments.count() == 5 and not (copy.path / ".run.lock").exists()
    assert copy.run_holder() is None
