"""The command line: ``python -m selene_eval [--studies-dir DIR] COMMAND ...``.

User mistakes end as one readable line on stderr and a non-zero exit, never a traceback. The parser is in
:mod:`~selene_eval.cli.parser`; the commands in :mod:`~selene_eval.cli.studies` (import, list, export, ...),
:mod:`~selene_eval.cli.run_command` (run), :mod:`~selene_eval.cli.report` (report, agree) and
:mod:`~selene_eval.cli.reproduce` (reproduce).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from selene_eval.cli.parser import build_parser
from selene_eval.cli.report import cmd_agree, cmd_report
from selene_eval.cli.reproduce import cmd_reproduce
from selene_eval.cli.run_command import cmd_run
from selene_eval.cli.studies import (
    cmd_check_judge,
    cmd_datasets,
    cmd_export,
    cmd_import,
    cmd_import_archive,
    cmd_judges,
    cmd_list,
    cmd_variants,
)
from selene_eval.errors import SeleneEvalError, ValidationFailed

EXIT_USER_ERROR = 2

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check-judge": cmd_check_judge,
    "export": cmd_export,
    "import-archive": cmd_import_archive,
    "datasets": cmd_datasets,
    "import": cmd_import,
    "run": cmd_run,
    "report": cmd_report,
    "agree": cmd_agree,
    "list": cmd_list,
    "variants": cmd_variants,
    "judges": cmd_judges,
    "reproduce": cmd_reproduce,
}
"""Each command's function: it gets the parsed arguments and returns the exit status."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ValidationFailed as exc:
        print(f"error: the data has problems that block the import:\n{exc.report}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SeleneEvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


__all__ = ["COMMANDS", "EXIT_USER_ERROR", "build_parser", "main"]
