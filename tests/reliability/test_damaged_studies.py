"""Damaged study files: one readable line and a non-zero exit from every command, never a traceback.

Each case damages one file of a judged study the way a disk, a hand edit or a hostile copy could (invalid
UTF-8, a JSON list for an item, a 5,000-digit number, nesting 100,000 levels deep, a missing or foreign
file, a database of another schema or with rows this program never writes), then runs every command that
reads the study. ``list`` keeps listing the other studies and marks the damaged one with the reason.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from tests.reliability.helpers import SCRIPTED, env_for_subprocess, make_study, scripted_answer


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _replace_with_folder(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return damage


def _sql(script: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        conn = sqlite3.connect(folder / "judgments.sqlite")
        conn.executescript(script)
        conn.commit()
        conn.close()

    return damage


def _truncate_database(folder: Path) -> None:
    data = (folder / "judgments.sqlite").read_bytes()
    (folder / "judgments.sqlite").write_bytes(data[: len(data) // 2])


DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b"9" * 5_000

# case -> (damage, words the message must hold, whether `list` can see the damage without opening every row)
CASES: dict[str, tuple[Callable[[Path], None], str, bool]] = {
    "items: invalid UTF-8": (
        _write("items.jsonl", b'{"item_id": "\xff\xfe"}\n'),
        "items.jsonl is damaged at line 1",
        True,
    ),
    "items: a JSON list": (_write("items.jsonl", b"[1, 2]\n"), "items.jsonl is damaged at line 1", True),
    "items: a 5,000-digit number": (_write("items.jsonl", b'{"item_id": ' + HUGE + b"}\n"), "4,300 digits", True),
    "items: deep nesting": (_write("items.jsonl", DEEP + b"\n"), "nested too deeply", True),
    "items: a lone surrogate": (
        _write("items.jsonl", b'{"item_id": "1", "input": "\\ud800"}\n'),
        "items.jsonl is damaged",
        True,
    ),
    "items: experts not a mapping": (
        _write("items.jsonl", b'{"item_id": "1", "experts": [1]}\n'),
        "items.jsonl is damaged",
        True,
    ),
    "items: missing": (lambda folder: (folder / "items.jsonl").unlink(), "has no items.jsonl", True),
    "spec: deep nesting": (
        _write("study.yaml", b"[" * 10_000 + b"]" * 10_000),
        "study.yaml is damaged (nested too deeply)",
        True,
    ),
    "spec: a 5,000-digit number": (_write("study.yaml", b"slug: " + HUGE), "4,300 digits", True),
    "spec: invalid UTF-8": (_write("study.yaml", b"\xff\xfe\x00title"), "study.yaml is damaged", True),
    "spec: a list": (_write("study.yaml", b"- 1\n- 2\n"), "study.yaml is damaged", True),
    "spec: a folder": (_replace_with_folder("study.yaml"), "has no study.yaml", True),
    "database: junk bytes": (_write("judgments.sqlite", b"x" * 5000), "judgments.sqlite", True),
    "database: cut in half": (_truncate_database, "judgments.sqlite", True),
    "database: another schema": (_sql("DROP TABLE judgments; CREATE TABLE judgments (x);"), "judgments.sqlite", True),
    "database: label_probs not JSON": (
        _sql("UPDATE judgments SET label_probs = 'not json';"),
        "judgments.sqlite",
        False,
    ),
    "database: label_probs a list": (_sql("UPDATE judgments SET label_probs = '[1]';"), "judgments.sqlite", False),
    "database: a judge that is not JSON": (_sql("UPDATE judges SET spec_json = '{';"), "judgments.sqlite", False),
    "database: a folder": (_replace_with_folder("judgments.sqlite"), "judgments.sqlite", True),
}

COMMANDS = [
    ["report", "s"],
    ["report", "s", "--json"],
    ["report", "s", "--html", "{out}/r.html"],
    ["export", "s", "--tables", "{out}/tables"],
    ["export", "s", "--archive", "{out}/s.zip"],
    ["run", "s", "--backend", "scripted", "--model", "reliability-test"],
]


def _damaged_study(studies_dir: Path, damage: Callable[[Path], None]) -> None:
    study = make_study(studies_dir, 6, variants=("selene",))
    # Fake label probabilities so that the rows have some to damage.
    run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    study.close()
    conn = sqlite3.connect(studies_dir / "s" / "judgments.sqlite")
    conn.execute("""UPDATE judgments SET label_probs = '{"yes": 0.75, "no": 0.25}'""")
    conn.commit()
    conn.close()
    make_study(studies_dir, 3, slug="fine").close()
    damage(studies_dir / "s")


def _cli(studies_dir: Path, args: list[str]) -> tuple[int, str, str]:
    """Run the command line in this process: an exception escaping ``main`` is a traceback and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--studies-dir", str(studies_dir), *args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", list(CASES))
def test_every_command_on_a_damaged_study_ends_in_one_line(case: str, studies_dir: Path, tmp_path: Path) -> None:
    damage, words, listed_as_damaged = CASES[case]
    _damaged_study(studies_dir, damage)
    out = tmp_path / "out"
    out.mkdir()
    for command in COMMANDS:
        args = [a.format(out=out) for a in command]
        code, _, err = _cli(studies_dir, args)
        if args[0] == "run" and not listed_as_damaged and code == 0:
            # Damage inside rows the run never reads (it only asks which keys exist): nothing to run is right.
            assert "Nothing to run" in err, err
            continue
        assert code == 2, (args, code, err)
        assert err.startswith("error: ") and words in err, (args, err)
        assert len(err) < 1000, err
    assert not list(out.iterdir())  # nothing half-written: no report, table or archive
    code, listing, err = _cli(studies_dir, ["list"])
    assert code == 0 and listing.startswith("fine "), (listing, err)  # the other study is still listed
    if listed_as_damaged:
        file = {"items": "items.jsonl", "spec": "study.yaml", "database": "judgments.sqlite"}[case.split(":")[0]]
        line = next(line for line in listing.splitlines() if line.startswith("s "))
        assert line.startswith(f"s{' ' * 31} DAMAGED: ") and file in line, listing
        assert "1 damaged study folder" in err
    # The damaged study can still be replaced by a good one (its folder is swapped out whole).
    store = StudyStore(studies_dir)
    good = make_study(tmp_path / "good", 2)
    store.create(good.spec.model_copy(update={"slug": "s"}), good.items, overwrite=True)
    assert len(store.open("s").items) == 2 and not store.survey().damaged


def test_the_command_line_process_prints_no_traceback_for_deep_nesting(studies_dir: Path) -> None:
    """In a real process (its own stack and recursion limit), not only through ``main``."""
    _damaged_study(studies_dir, _write("items.jsonl", DEEP + b"\n"))
    for args in (["report", "s"], ["list"]):
        result = subprocess.run(
            [sys.executable, "-m", "selene_eval", "--studies-dir", str(studies_dir), *args],
            capture_output=True,
            text=True,
            env=env_for_subprocess(),
            timeout=300,
        )
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == (0 if args == ["list"] else 2), result.stderr
        assert ("nested too deeply" if args[0] == "report" else "DAMAGED") in (result.stdout + result.stderr)


def test_a_damaged_study_is_listed_with_its_reason_and_the_others_stay_usable(studies_dir: Path) -> None:
    make_study(studies_dir, 3, slug="a-good").close()
    make_study(studies_dir, 4, slug="b-bad").close()
    make_study(studies_dir, 5, slug="c-good").close()
    (studies_dir / "b-bad" / "study.yaml").write_bytes(b"[" * 10_000)
    (studies_dir / "only-items").mkdir()
    (studies_dir / "only-items" / "items.jsonl").write_text("{}\n")
    (studies_dir / "not-a-study").mkdir()  # no study file: not listed at all
    listing = StudyStore(studies_dir).survey()
    assert [s.slug for s in listing.studies] == ["a-good", "c-good"]
    assert [s.n_items for s in listing.studies] == [3, 5]
    assert [d.slug for d in listing.damaged] == ["b-bad", "only-items"]
    assert "b-bad/study.yaml is damaged (" in listing.damaged[0].reason
    assert listing.damaged[1].reason.startswith("Study 'only-items' has no study.yaml; import it again or delete")
    assert [s.slug for s in StudyStore(studies_dir).list()] == ["a-good", "c-good"]
