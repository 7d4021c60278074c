"""The command line's parts fit together: every command the parser offers has its function, and the entry
points (``selene_eval.cli:main``, ``python -m selene_eval``) reach them."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from selene_eval.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[2]


def parser_commands() -> set[str]:
    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_every_command_of_the_parser_has_its_function_and_no_other() -> None:
    assert parser_commands() == set(COMMANDS)


def test_main_dispatches_and_user_errors_are_one_line(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--studies-dir", str(studies_dir), "list"]) == 0
    assert "No studies in" in capsys.readouterr().out
    assert main(["--studies-dir", str(studies_dir), "report", "nothing-here"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No study named 'nothing-here'") and err.count("\n") == 1


def test_python_dash_m_selene_eval_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "selene_eval", "variants", "--task", "binary"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("selene ")
