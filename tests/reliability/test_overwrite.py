"""Overwriting and deleting a study: refused while a run judges it, all-or-nothing when killed.

An overwrite (``import --overwrite``, ``import-archive --overwrite``, "Replace it" on the Data and Studies
pages) builds the new study in a hidden folder beside the old one and swaps the two in one step, holding the
old study's run lock: a run judging the old study makes it fail with ``StudyBusy`` (its judgments stay), and
a SIGKILL at any moment leaves the old study or the new one, never a mix. A study whose ``items.jsonl`` is
not the one its ``study.yaml`` was written with says so in ``report``, ``run``, ``export`` and ``list``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selene_eval.errors import StudyBusy, StudyError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.study.archive import export_archive, import_archive
from tests.reliability.figures import record
from tests.reliability.helpers import SCRIPTED, env_for_subprocess, make_study, scripted_answer
from tests.reliability.test_concurrency import run_in_a_thread, start_holding_child


def _csv(path: Path, n: int, expert: str = "other_expert") -> Path:
    """A binary upload of ``n`` rows labelled by ``expert`` (another study than :func:`make_study`'s)."""
    rows = "".join(f"n{i},new question {i},new answer {i},{'yes' if i % 3 else 'no'}\n" for i in range(n))
    path.write_text(f"id,q,a,{expert}\n" + rows, encoding="utf-8")
    return path


def _cli(studies_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "selene_eval", "--studies-dir", str(studies_dir), *args],
        capture_output=True,
        text=True,
        env=env_for_subprocess(),
        timeout=timeout,
    )


def _import_args(csv: Path) -> list[str]:
    return [
        "import",
        str(csv),
        "--task",
        "binary",
        "--map",
        "id=id",
        "input=q",
        "response=a",
        "expert=other_expert",
        "--study",
        "s",
        "--overwrite",
        "--min-items",
        "1",
    ]


def test_overwrite_and_delete_are_refused_while_a_run_judges_the_study(studies_dir: Path, tmp_path: Path) -> None:
    study = make_study(studies_dir, 8)
    other = make_study(tmp_path / "elsewhere", 3)
    archive, _ = export_archive(other)
    with run_in_a_thread(study) as outcome:
        store = StudyStore(studies_dir)
        with pytest.raises(StudyBusy, match="being judged by another run"):
            store.create(other.spec.model_copy(update={"slug": "s"}), other.items, overwrite=True)
        with pytest.raises(StudyBusy, match="being judged by another run"):
            import_archive(store, archive, slug="s", overwrite=True)
        with pytest.raises(StudyBusy):
            store.delete("s")
    # The run finished into the study it started on, and nothing of the refused overwrites is left anywhere.
    assert outcome and outcome[0].n_judged == 8
    reopened = StudyStore(studies_dir).open("s")
    assert [i.item_id for i in reopened.items] == [str(i) for i in range(8)]
    assert reopened.judgments.count() == 8
    assert sorted(p.name for p in studies_dir.iterdir()) == ["s"]


def test_the_command_line_refuses_to_overwrite_a_study_being_judged(studies_dir: Path, tmp_path: Path) -> None:
    make_study(studies_dir, 6)
    archive = tmp_path / "other.zip"
    archive.write_bytes(export_archive(make_study(tmp_path / "elsewhere", 3))[0])
    before = (studies_dir / "s" / "items.jsonl").read_bytes()
    child = start_holding_child(studies_dir)
    try:
        results = [
            _cli(studies_dir, *_import_args(_csv(tmp_path / "new.csv", 5))),
            _cli(studies_dir, "import-archive", str(archive), "--as", "s", "--overwrite"),
        ]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    for result in results:
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"Study 's' is being judged by another run: process {child.pid}" in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1  # one line
    assert (studies_dir / "s" / "items.jsonl").read_bytes() == before
    # Once the run is gone, the same overwrite goes through.
    done = _cli(studies_dir, *_import_args(_csv(tmp_path / "new.csv", 5)))
    assert done.returncode == 0, done.stderr
    assert len(StudyStore(studies_dir).open("s").items) == 5


def test_a_study_opened_before_an_overwrite_cannot_be_judged_or_saved_into_the_new_one(studies_dir: Path) -> None:
    stale = make_study(studies_dir, 4)
    replacement = make_study(studies_dir.parent / "elsewhere", 2)
    StudyStore(studies_dir).create(replacement.spec.model_copy(update={"slug": "s"}), replacement.items, overwrite=True)
    with pytest.raises(StudyError, match="was replaced"):
        run_study(stale, ScriptedBackend(SCRIPTED, script=scripted_answer))
    with pytest.raises(StudyError, match="was replaced"):
        stale.save_spec()
    fresh = StudyStore(studies_dir).open("s")
    assert len(fresh.items) == 2 and fresh.judgments.count() == 0


def test_a_study_whose_files_disagree_says_so_everywhere(studies_dir: Path, tmp_path: Path) -> None:
    """The state a killed overwrite left on main: the old study.yaml, another study's items.jsonl."""
    study = make_study(studies_dir, 6)
    run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    make_study(studies_dir, 3, slug="fine")
    other = make_study(tmp_path / "elsewhere", 9)
    (study.path / "items.jsonl").write_bytes((other.path / "items.jsonl").read_bytes())
    for args in (
        ["report", "s"],
        ["export", "s", "--archive", str(tmp_path / "a.zip")],
        ["run", "s", "--backend", "scripted"],
    ):
        result = _cli(studies_dir, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "is inconsistent" in result.stderr and "import the study again" in result.stderr, result.stderr
    assert not (tmp_path / "a.zip").exists()
    listed = _cli(studies_dir, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("fine ") and "3 items" in lines[0]
    assert lines[1].startswith("s ") and "DAMAGED" in lines[1] and "is inconsistent" in lines[1]
    assert "1 damaged study folder" in listed.stderr


def _judged_old_study(studies_dir: Path, n: int) -> None:
    study = make_study(studies_dir, n)
    run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    study.close()


def _state(studies_dir: Path, n_old: int, n_new: int) -> str:
    """``old`` or ``new`` when the study is whole; fails the test on anything mixed or damaged."""
    listing = StudyStore(studies_dir).survey()
    assert not listing.damaged, listing.damaged
    study = StudyStore(studies_dir).open("s")
    try:
        items, judgments = len(study.items), study.judgments.count()  # items load checks the fingerprint
        experts = study.spec.experts
    finally:
        study.close()
    if (items, judgments, experts) == (n_old, n_old, ["e1"]):
        return "old"
    assert (items, judgments, experts) == (n_new, 0, ["other_expert"]), (items, judgments, experts)
    return "new"


def test_leftovers_of_a_killed_build_are_ignored_then_removed(studies_dir: Path, tmp_path: Path) -> None:
    """What a SIGKILL leaves at each point of an overwrite, made by hand: the study reads whole every time."""
    make_study(studies_dir, 4).close()
    # Killed while writing the new study's files, and killed after the swap before the old folder was removed.
    partial = studies_dir / ".new-s-0123456789ab"
    partial.mkdir()
    (partial / "items.jsonl").write_text('{"item_id": "half', encoding="utf-8")
    swapped_out = studies_dir / ".new-s-ba9876543210"
    swapped_out.mkdir()
    for name in ("study.yaml", "items.jsonl"):
        (swapped_out / name).write_bytes((studies_dir / "s" / name).read_bytes())
    listing = StudyStore(studies_dir).survey()
    assert [s.slug for s in listing.studies] == ["s"] and not listing.damaged
    assert len(StudyStore(studies_dir).open("s").items) == 4
    # The next build of the same study removes them (nobody holds their lock); other names are left alone.
    unrelated = studies_dir / ".new-s-x-0123456789ab"  # a leftover of study "s-x", not of "s"
    unrelated.mkdir()
    _cli(studies_dir, *_import_args(_csv(tmp_path / "new.csv", 5)))
    assert sorted(p.name for p in studies_dir.iterdir()) == [".new-s-x-0123456789ab", "s"]
    assert len(StudyStore(studies_dir).open("s").items) == 5


def test_a_build_that_fails_half_way_leaves_the_old_study(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from selene_eval.study import store

    make_study(studies_dir, 4).close()
    other = make_study(studies_dir.parent / "elsewhere", 2)

    def write_then_die(folder: Path, spec: object, items_data: bytes, database: bytes | None = None) -> None:
        (folder / "items.jsonl").write_bytes(items_data)
        raise KeyboardInterrupt  # as a Ctrl-C between the two files

    monkeypatch.setattr(store, "write_study_files", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        StudyStore(studies_dir).create(other.spec.model_copy(update={"slug": "s"}), other.items, overwrite=True)
    assert sorted(p.name for p in studies_dir.iterdir()) == ["s"]
    assert len(StudyStore(studies_dir).open("s").items) == 4


@pytest.mark.slow
def test_sigkill_during_an_overwrite_leaves_the_old_study_or_the_new_one(studies_dir: Path, tmp_path: Path) -> None:
    """Kill ``import --overwrite`` at random moments, and as soon as its build folder appears; each time whole.

    Where each kill lands depends on the machine, so which side it leaves is recorded, not asserted; what is
    asserted is that every kill leaves the old study or the new one, whole.
    """
    n_old, n_new, kills = 10, 20_000, 12
    csv = _csv(tmp_path / "big.csv", n_new)
    rng = random.Random(19)
    # How long a whole import takes here (reading, checking, writing 20,000 items), to spread the kills over it.
    _judged_old_study(studies_dir, n_old)
    started = time.monotonic()
    assert _cli(studies_dir, *_import_args(csv)).returncode == 0
    duration = time.monotonic() - started
    assert _state(studies_dir, n_old, n_new) == "new"
    seen: dict[str, int] = {"old": 0, "new": 0}
    for kill in range(kills):
        StudyStore(studies_dir).delete("s")
        _judged_old_study(studies_dir, n_old)
        child = subprocess.Popen(
            [sys.executable, "-m", "selene_eval", "--studies-dir", str(studies_dir), *_import_args(csv)],
            env=env_for_subprocess(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if kill % 2:
            # The moment the new study's folder is being written (polled, no sleeping).
            while child.poll() is None and not list(studies_dir.glob(".new-s-*")):
                pass
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
        else:
            try:
                child.wait(timeout=rng.uniform(0.2, 1.1) * duration)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        seen[_state(studies_dir, n_old, n_new)] += 1
    # Leftovers of killed builds are cleaned up by the next one.
    assert _cli(studies_dir, *_import_args(_csv(tmp_path / "small.csv", 3))).returncode == 0
    assert sorted(p.name for p in studies_dir.iterdir()) == ["s"]
    record(
        "overwrite_kills",
        {
            "kills": kills,
            "items_old": n_old,
            "items_new": n_new,
            "old_study_whole": seen["old"],
            "new_study_whole": seen["new"],
            "mixed_or_damaged": 0,
            "import_duration_s": round(duration, 1),
        },
    )
