"""``python -m selene_eval run SLUG``: judge a study's items, printing the plan, the pace and the outcome.

The run itself starts as the dashboard's does (:func:`selene_eval.run.start.start_run`); this module says in
words, on stderr, what it will do and how it goes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from selene_eval.cli.judge_args import judge_from_args

if TYPE_CHECKING:
    from selene_eval.run.runner import Progress
    from selene_eval.study import Study

EXIT_CANCELLED = 130
"""The exit status of a run stopped with Ctrl-C (the judgments made so far are stored)."""


def cmd_run(args: argparse.Namespace) -> int:
    """Plan the run, say what it will do, judge, and say how it ended; exit 1 when judgments failed."""
    from selene_eval.run.runner import estimate_run, plan_run
    from selene_eval.run.start import start_run
    from selene_eval.study import StudyStore

    # This command prints its own progress: keep library progress bars and advice out of the way.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    store = StudyStore(args.studies_dir)
    study = store.open(args.study)
    judge = judge_from_args(study.spec.judge, args)
    added = variants_to_add(study, args.variants or [])
    if added:  # kept in memory until the run starts: a refused run changes nothing
        study.spec = study.spec.model_copy(update={"variants": [*study.spec.variants, *added]})
    plan = plan_run(study, judge, variant_ids=args.variants, limit=args.limit, sample_seed=args.sample_seed)
    print(
        f"Judge: {judge.display_name}. {plan.n_total} judgments ({plan.n_items} items x {len(plan.variant_ids)} "
        f"variant(s)): {plan.n_cached} already stored, {plan.n_pending} to run"
        + (f", {len(plan.skipped)} not renderable" if plan.skipped else "")
        + ".",
        file=sys.stderr,
    )
    if args.sample_seed != 0 and not plan.is_sample:
        print(
            f"note: --sample-seed has no effect: the run judges every item (it draws the sample of --limit N, "
            f"N below the study's {plan.n_study_items} items).",
            file=sys.stderr,
        )
    if plan.is_sample:
        print(
            f"Pilot: a random sample of {plan.n_items} of the study's {plan.n_study_items} items, stratified by the "
            f"experts' majority label (seed {plan.sample_seed}; --sample-seed draws another).",
            file=sys.stderr,
        )
    for skipped in plan.skipped[:5]:
        print(f"skipped: {skipped.reason}", file=sys.stderr)

    def claimed() -> None:
        """The study is ours and the judge saved: say what was added and what comes, before a model loads."""
        if added:
            print(
                f"Added variant(s) {', '.join(added)} to study {study.slug!r}, so that `report` includes their "
                f"judgments (its variants now: {', '.join(study.spec.variants)}).",
                file=sys.stderr,
            )
        estimate = estimate_run(study, plan)
        if estimate is not None:
            from selene_eval.presentation.words import fmt_duration

            expected = "under a second" if estimate.seconds < 1 else f"about {fmt_duration(estimate.seconds)}"
            print(
                f"Expected time: {expected} ({estimate.seconds_per_judgment:.2f} s per "
                f"judgment, the pace of this judge's {estimate.n_measured} judgments in {estimate.where}).",
                file=sys.stderr,
            )
        elif plan.pending:
            print(
                "Expected time: unknown until the first batch is done (this judge has no judgments to time yet).",
                file=sys.stderr,
            )
        if not plan.pending:
            print("Nothing to run: every judgment is already stored.", file=sys.stderr)
        elif args.download:
            from selene_eval.judge.transformers_backend import DOWNLOAD_ENV

            os.environ[DOWNLOAD_ENV] = "1"

    try:
        result = start_run(study, plan, batch_size=args.batch_size, on_claimed=claimed, on_progress=_show_progress)
    except KeyboardInterrupt:
        stored = study.judgments.count(judge.judge_id)
        print(
            f"Cancelled. {stored} judgments of this judge are stored; run the same command to resume.", file=sys.stderr
        )
        return EXIT_CANCELLED
    if not plan.pending:
        return 0
    counted = ([f"{result.n_forced} with a forced label"] if result.n_forced else []) + (
        [f"{result.n_unreadable} without a readable label"] if result.n_unreadable else []
    )
    unreadable = f" ({', '.join(counted)})" if counted else ""
    print(
        f"Done: {result.n_judged} judged{unreadable}, {result.n_cached} from the store, {result.n_failed} failed "
        f"in {result.elapsed_s:.1f}s. Next: python -m selene_eval report {study.slug}"
    )
    if result.n_unreadable:
        print(
            f"warning: {result.n_unreadable} of {result.n_judged} answers had no readable label; they are kept and "
            "left out of the statistics. `report` lists them; an answer cut off at the token limit needs a larger "
            "--max-new-tokens.",
            file=sys.stderr,
        )
    for failure in result.failures[:5]:
        print(f"failed: item {failure.item_id} ({failure.variant_id}): {failure.error}", file=sys.stderr)
    return 0 if not result.n_failed else 1


def _show_progress(progress: Progress) -> None:
    """One line on stderr after every batch (none before the first)."""
    if progress.done + progress.failed == 0:
        return
    eta = f", about {progress.eta_s:.0f}s left" if progress.eta_s is not None else ""
    print(
        f"[{progress.done + progress.failed:>6}/{progress.total}] {progress.rate:.2f} judgments/s{eta}"
        + (f", {progress.failed} failed" if progress.failed else ""),
        file=sys.stderr,
    )


def variants_to_add(study: Study, variant_ids: Sequence[str]) -> list[str]:
    """The asked variants the study does not list yet (each checked to exist: an unknown id is an error)."""
    added = [v for v in dict.fromkeys(variant_ids) if v not in study.spec.variants]
    for variant_id in added:
        study.variant(variant_id)  # raises naming the known variants
    return added
