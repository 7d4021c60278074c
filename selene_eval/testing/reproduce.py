"""Test-only: read back the judge flags of a "To reproduce" command with the CLI's own parser.

The product never imports this module.
"""

from __future__ import annotations

from selene_eval.cli import build_parser
from selene_eval.cli.judge_args import judge_from_args
from selene_eval.core.judge_spec import JudgeSpec


def judge_from_flags(flags: list[str], base: JudgeSpec | None = None) -> JudgeSpec:
    """The judge ``run SLUG <flags>`` would use in a study whose saved judge is ``base`` (the CLI's own parse)."""
    return judge_from_args(base or JudgeSpec(), build_parser().parse_args(["run", "study", *flags]))
