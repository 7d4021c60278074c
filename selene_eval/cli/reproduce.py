"""``python -m selene_eval reproduce NAME --from PATH``: a paper recipe (:mod:`selene_eval.recipes`) in one command.

Imports the dataset's studies (once), judges them with Selene Mini 4-bit or the judge the flags name, and prints
our figures beside the paper's. Kept apart from :mod:`selene_eval.cli` so that the command's options live with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

RECIPE_NAMES = ("craftmd", "financebench")
"""The recipes of :data:`selene_eval.recipes.RECIPES`, named here so that building the parser imports nothing heavy."""


def add_reproduce_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``reproduce`` command's parser. Its judge flags mean what ``run``'s do."""
    p = sub.add_parser(
        "reproduce", help="reproduce a Selene Mini paper evaluation (import, run, report) in one command"
    )
    p.add_argument("recipe", metavar="NAME", help=f"one of: {', '.join(RECIPE_NAMES)}")
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="PATH",
        help="the dataset's local copy (see `datasets download NAME --to DIR`)",
    )
    p.add_argument("--demo", action="store_true", help="the offline demo judge (SmolLM2-135M; a weak model, for a try)")
    p.add_argument("--model", metavar="ID_OR_PATH", help="hub id or local folder (default: Selene Mini)")
    p.add_argument("--backend", choices=["transformers", "openai", "scripted"], help="judge backend (as for `run`)")
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="an OpenAI-compatible server (vLLM, Ollama, llama.cpp) serving the judge; repeat for replicas",
    )
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the server's API key")
    p.add_argument("--concurrency", type=int, metavar="N", help="concurrent requests per endpoint (default 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds before a server request times out")
    p.add_argument("--no-quantize", action="store_true", help="full-precision weights instead of 4-bit NF4")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"])
    p.add_argument("--max-new-tokens", type=int, metavar="N")
    p.add_argument("--download", action="store_true", help="download the model from the hub if it is not cached")
    p.add_argument("--limit", type=int, metavar="N", help="a pilot: judge a stratified sample of N items per study")
    p.add_argument("--batch-size", type=int, default=8, metavar="N", help="prompts per batch (default 8)")
    p.add_argument("--overwrite", action="store_true", help="re-import the studies (their judgments are lost)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--resamples", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="bootstrap seed (default 0)")
    # `run`'s judge flags this command does not offer, at their `run` defaults (for judge_from_args).
    p.set_defaults(gguf_file=None, revision=None, mode=None, quantize=False, dtype=None)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Import, judge and report one recipe; exit 1 when judgments failed (the figures are still printed)."""
    from selene_eval.cli.judge_args import judge_from_args
    from selene_eval.cli.run_command import EXIT_CANCELLED
    from selene_eval.errors import SeleneEvalError
    from selene_eval.judge import JudgeSpec, create_backend
    from selene_eval.recipes import format_results, get_recipe, prepare_studies, recipe_results, run_recipe
    from selene_eval.run.runner import Progress
    from selene_eval.study import StudyStore

    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if args.limit is not None and args.limit < 1:
        raise SeleneEvalError(f"--limit must be at least 1 (got {args.limit}).")
    recipe = get_recipe(args.recipe)
    store = StudyStore(args.studies_dir)
    studies = prepare_studies(
        recipe,
        args.source,
        store,
        overwrite=args.overwrite,
        on_warning=lambda line: print(f"warning: {line}", file=sys.stderr),
    )
    print(f"{recipe.title}: studies {', '.join(s.slug for s in studies)} in {store.root}.", file=sys.stderr)
    judge = judge_from_args(JudgeSpec(), args)
    if args.download:
        from selene_eval.judge.transformers_backend import DOWNLOAD_ENV

        os.environ[DOWNLOAD_ENV] = "1"
    print(f"Judge: {judge.display_name}.", file=sys.stderr)
    backend = create_backend(judge)

    def show(slug: str, progress: Progress) -> None:
        finished = progress.done + progress.failed
        # About ten lines per study, and the last one.
        step = max(1, progress.total // 10)
        if finished and (finished == progress.total or finished % step < args.batch_size):
            eta = f", about {progress.eta_s:.0f}s left" if progress.eta_s is not None else ""
            print(
                f"[{slug} {progress.done + progress.failed:>5}/{progress.total}] {progress.rate:.2f} judgments/s{eta}"
                + (f", {progress.failed} failed" if progress.failed else ""),
                file=sys.stderr,
            )

    try:
        runs = run_recipe(studies, judge, backend, limit=args.limit, batch_size=args.batch_size, on_progress=show)
    except KeyboardInterrupt:
        print("Cancelled. The judgments made so far are stored; the same command resumes.", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        backend.close()
    failed = sum(r.n_failed for r in runs)
    print(
        f"Judged {sum(r.n_judged for r in runs)}, {sum(r.n_cached for r in runs)} from the store, {failed} failed, "
        f"in {sum(r.elapsed_s for r in runs):.1f}s.",
        file=sys.stderr,
    )
    result = recipe_results(recipe, store, judge, n_resamples=args.resamples, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_results(result))
        print(
            f"\nEach study's full report (subgroups, expert ceiling, calibration): python -m selene_eval report "
            f"{studies[0].slug}" + (" (and the others above)" if len(studies) > 1 else "")
        )
    return 1 if failed else 0
