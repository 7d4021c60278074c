"""A real judge run in its own process, for the crash and concurrency tests (not a test module).

``python tests/reliability/child_run.py STUDIES_DIR SLUG [--delay S] [--batch-size N] [--hold]`` opens the
study, writes its spec (as the command line's ``run`` does), and judges every pending prompt with a scripted
judge that takes ``--delay`` seconds per prompt. After each batch is committed it prints
``committed KEY KEY ...`` (flushed), so the parent knows exactly which judgments were finished before it
killed the process. ``--hold`` makes the judge wait forever inside its first batch (a run that holds the
study's run lock until it is killed). Refused runs print ``busy: MESSAGE`` and exit with status 3.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from selene_eval.core.judge_spec import Generation  # noqa: E402
from selene_eval.errors import StudyBusy  # noqa: E402
from selene_eval.judge.scripted import ScriptedBackend  # noqa: E402
from selene_eval.run.runner import plan_run, run_study  # noqa: E402
from selene_eval.study import StudyStore  # noqa: E402
from tests.reliability.helpers import SCRIPTED, scripted_answer  # noqa: E402


class SlowBackend(ScriptedBackend):
    """The scripted judge, ``delay`` seconds per prompt (``hold``: forever, once started)."""

    def __init__(self, delay: float, hold: bool) -> None:
        super().__init__(SCRIPTED, script=scripted_answer)
        self.delay, self.hold = delay, hold

    def generate(self, prompts, choices=None) -> list[Generation]:  # type: ignore[no-untyped-def]
        if self.hold:
            print("holding", flush=True)
            while True:
                time.sleep(3600)
        time.sleep(self.delay * len(prompts))
        return super().generate(prompts, choices)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("studies_dir")
    parser.add_argument("slug")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    study = StudyStore(args.studies_dir).open(args.slug)
    # As the command line does before a run: the spec is rewritten (here with a new title each time, so a
    # kill during the write would leave a mix of two versions if writes were not atomic).
    study.spec = study.spec.model_copy(update={"judge": SCRIPTED, "description": f"run {args.tag} " * 200})
    study.save_spec()
    plan = plan_run(study, SCRIPTED)
    backend = SlowBackend(args.delay, args.hold)
    keys = [p.cache_key for p in plan.pending]
    reported: set[str] = set()

    def committed(progress) -> None:  # type: ignore[no-untyped-def]
        # Called after each batch's transaction: what the store holds now is what this run has finished.
        new = study.judgments.existing_keys(keys) - reported
        if new:
            print("committed " + " ".join(sorted(new)), flush=True)
            reported.update(new)

    try:
        run_study(study, backend, plan=plan, batch_size=args.batch_size, on_progress=committed)
    except StudyBusy as exc:
        print(f"busy: {exc}", flush=True)
        return 3
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
