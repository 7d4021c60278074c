"""The command line: ``python -m selene_eval [--studies-dir DIR] COMMAND ...``.

User mistakes end as one readable line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from selene_eval.cli.reproduce import add_reproduce_parser, cmd_reproduce
from selene_eval.errors import SeleneEvalError, ValidationFailed
from selene_eval.cli.judge_args import judge_from_args
from selene_eval.stats.registry import statistic_name
from selene_eval.core.expert_labels import expert_name
from selene_eval.core.status import READABLE_OR_UNJUDGED, JudgmentStatus
from selene_eval.core.tasks import TaskType

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="selene-eval",
        description="Measure how far an LLM judge (Atla Selene Mini) agrees with your experts.",
    )
    parser.add_argument("--studies-dir", default="studies", metavar="DIR", help="folder of studies (default: studies/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="read an expert-labelled file into a new study")
    p.add_argument("file", metavar="FILE", help="CSV, TSV, Excel, JSON, JSON Lines or Parquet")
    p.add_argument("--task", required=True, choices=[t.value for t in TaskType])
    p.add_argument(
        "--map",
        dest="mapping",
        action="extend",
        nargs="+",
        required=True,
        metavar="ROLE=COLUMN",
        help="map a column to a role: id, group, input, response, response_b, reference, context, category, "
        "expert (repeat once per expert column), subgroup (repeat once per extra column to break the statistics "
        "down by, e.g. subgroup=specialty), or annotator + label for long format",
    )
    p.add_argument("--label-map", action="extend", nargs="+", default=[], metavar="RAW=CANONICAL",
                   help="map raw label values to 1-5, yes/no or A/B/tie ('RAW=' means no label)")
    p.add_argument("--study", required=True, metavar="SLUG", help="name of the new study (a-z, 0-9, -, _)")
    p.add_argument("--title", help="a readable title (default: the file name)")
    p.add_argument("--rubric", metavar="YAML", help="rubric file: objective + descriptions per label")
    p.add_argument("--template", action="append", default=[], metavar="FILE",
                   help="add a prompt template (Atla YAML with user_template, or plain text) as a variant")
    p.add_argument("--variants", action="extend", nargs="+", metavar="ID", help="variant ids to run (default: Selene's canonical one)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing study of that name")
    p.add_argument("--min-items", type=int, default=10, metavar="N",
                   help="warn below N labelled items; statistics on fewer compared items are n/a (default 10)")
    p.add_argument("--skip-bad-ids", action="store_true",
                   help="leave out the rows whose item id is empty or repeated (they are listed in study.yaml) "
                        "instead of refusing the file")

    p = sub.add_parser("run", help="judge a study's items with the model")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--model", metavar="ID_OR_PATH", help="hub id or local folder (default: the study's, Selene Mini)")
    p.add_argument("--revision", metavar="R", help="model revision (hub branch, tag or commit)")
    quantize = p.add_mutually_exclusive_group()
    quantize.add_argument("--no-quantize", action="store_true", help="load full-precision weights instead of 4-bit NF4")
    quantize.add_argument("--quantize", action="store_true",
                          help="load 4-bit NF4 weights (the default; undoes the study's earlier --no-quantize)")
    p.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--device", choices=["auto", "cuda", "cpu"])
    p.add_argument("--max-new-tokens", type=int, metavar="N")
    p.add_argument("--backend", choices=["transformers", "openai", "scripted"],
                   help="judge backend (default: transformers; openai = a vLLM, Ollama or llama.cpp server)")
    p.add_argument("--mode", choices=["reasoned", "fast"],
                   help="reasoned (default): the judge explains, then answers; fast: no reasoning, the label is read "
                        "from one forward pass (a different measurement)")
    p.add_argument("--force-verdict", action=argparse.BooleanOptionalAction, default=None,
                   help="when an answer ends, loops or runs out of tokens without a readable result, read the most "
                        "probable allowed label after the result marker, stored as 'forced' (default: off; on for "
                        "--demo)")
    p.add_argument("--endpoint", action="append", default=[], metavar="URL",
                   help="base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1; repeat for replicas "
                        "(implies --backend openai)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="name of the environment variable that holds the server's API key (the key is never stored)")
    p.add_argument("--concurrency", type=int, metavar="N", help="concurrent requests per endpoint (default 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one server request may take in all, answer included (default 120)")
    p.add_argument("--demo", action="store_true", help="use the offline demo judge (SmolLM2-135M; a weak model)")
    p.add_argument("--download", action="store_true",
                   help="download the model from the Hugging Face hub if it is not in the local cache")
    p.add_argument("--gguf-file", metavar="NAME", help="a GGUF file inside the --model folder to load")
    p.add_argument("--variants", action="extend", nargs="+", metavar="ID",
                   help="variant ids (default: the study's); built-in ids not yet in the study are added to it")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help="prompts per batch (default 8; for servers at least endpoints x concurrency)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="a pilot: judge a random sample of N items, stratified by the experts' majority label")
    p.add_argument("--sample-seed", type=int, default=0, metavar="S",
                   help="seed of the --limit sample (default 0; the same seed gives the same items)")

    p = sub.add_parser("report", help="agreement between the judge and the experts")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--without-forced", action="store_true",
                   help="leave forced labels (--force-verdict) out of every statistic, as unreadable answers are")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--html", metavar="OUT", help="write the self-contained HTML report (opens offline) to OUT")
    _add_bootstrap_options(p)
    _add_export_parsers(sub)
    add_reproduce_parser(sub)

    p = sub.add_parser("agree", help="agreement statistics for any table with judge and expert labels")
    p.add_argument("table", metavar="TABLE")
    p.add_argument("--judge", required=True, metavar="COL")
    p.add_argument("--expert", action="append", required=True, metavar="COL", help="repeat once per expert")
    p.add_argument("--level", required=True, choices=["nominal", "ordinal", "interval"])
    p.add_argument("--order", metavar="L1,L2,...", help="order of string labels for ordinal data")
    p.add_argument("--group", metavar="COL", help="column of group ids (items that share a question)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_bootstrap_options(p)

    sub.add_parser("list", help="list the studies")

    p = sub.add_parser("variants", help="list the built-in prompt variants of a task")
    p.add_argument("--task", required=True, choices=[t.value for t in TaskType])

    p = sub.add_parser("judges", help="the judges that have judged a study (and give one a short name)")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--rename", nargs=2, metavar=("JUDGE_ID", "NAME"), help="show judge JUDGE_ID as NAME ('' resets)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("check-judge", help="test the connection to OpenAI-compatible judge servers before a run")
    p.add_argument("study", metavar="SLUG", nargs="?", help="start from this study's saved judge (optional)")
    p.add_argument("--endpoint", action="append", default=[], metavar="URL",
                   help="base URL of a server, e.g. http://localhost:8000/v1; repeat for replicas")
    p.add_argument("--model", metavar="NAME", help="the served model's name")
    p.add_argument("--api-key-env", metavar="VAR", help="name of the environment variable holding the API key")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one request may take in all, answer included (default 120)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _add_export_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The ``export``, ``import-archive`` and ``datasets`` commands (see :mod:`selene_eval.presentation`)."""
    p = sub.add_parser("export", help="write a study's tables, charts or whole archive")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--tables", metavar="DIR", help="write items, metrics, judgments (and ceiling) tables to DIR")
    p.add_argument("--format", dest="table_formats", nargs="+", choices=["csv", "parquet"], default=["csv", "parquet"],
                   help="table formats (default: both; CSV cells that would run as formulas get a leading ')")
    p.add_argument("--charts", metavar="DIR", help="write the report's charts to DIR")
    p.add_argument("--chart-format", dest="chart_formats", nargs="+", choices=["svg", "png"], default=["svg", "png"])
    p.add_argument("--archive", metavar="FILE", help="write the whole study (judgments included) as one .zip")
    _add_bootstrap_options(p)

    p = sub.add_parser("import-archive", help="add a study from an archive made by `export --archive`")
    p.add_argument("archive", metavar="FILE")
    p.add_argument("--as", dest="slug", metavar="SLUG", help="name of the new study (default: the archive's)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing study of that name")

    p = sub.add_parser("datasets", help="public datasets with expert labels: list, download, import as a study")
    dsub = p.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    dsub.add_parser("list", help="the datasets, their licences and sources")
    q = dsub.add_parser("download", help="fetch a dataset's pinned files (checksums checked)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--to", required=True, metavar="DIR")
    q = dsub.add_parser("import", help="turn a local copy of a dataset into a new study")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--from", dest="source", required=True, metavar="PATH", help="the dataset's file or folder")
    q.add_argument("--study", required=True, metavar="SLUG")
    q.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="a dataset option (see list)")
    q.add_argument("--title", help="a readable title (default: the dataset's)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing study of that name")


def _add_bootstrap_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0: no intervals)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed of the bootstrap (default 0)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ValidationFailed as exc:
        print(f"error: the data has problems that block the import:\n{exc.report}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SeleneEvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


def _cmd_import(args: argparse.Namespace) -> int:
    import yaml

    from selene_eval.data import ColumnMapping, build_items, parse_label_map, read_table, rows_with_bad_ids
    from selene_eval.prompts import Rubric, default_rubric, find_variant, load_template_file
    from selene_eval.study import StudyStore, new_study_spec, validate_slug

    validate_slug(args.study)
    store = StudyStore(args.studies_dir)
    if store.exists(args.study) and not args.overwrite:
        raise SeleneEvalError(f"A study named {args.study!r} already exists; choose another name or pass --overwrite.")
    if args.overwrite:
        store.refuse_if_running(args.study)  # before reading the file; the swap itself takes the run lock too
    task = TaskType(args.task)
    table = read_table(args.file)
    mapping = ColumnMapping.from_pairs(args.mapping)
    label_map = parse_label_map(args.label_map, task)
    skipped = rows_with_bad_ids(table.frame, mapping) if args.skip_bad_ids else {}
    items, report = build_items(table.frame, mapping, task, label_map, min_items=args.min_items, skip_rows=skipped)
    if not report.ok:
        raise ValidationFailed(report)
    for issue in report.warnings:
        print(f"warning: {issue.message}" + (f" {issue.fix}" if issue.fix else "")
              + (f" On the command line: {issue.command}" if issue.command else ""), file=sys.stderr)

    rubric = default_rubric(task)
    if args.rubric:
        try:
            data = yaml.safe_load(Path(args.rubric).read_text(encoding="utf-8"))
            rubric = Rubric.model_validate(data)
        except OSError as exc:
            raise SeleneEvalError(f"Cannot read rubric file {args.rubric}: {exc.strerror or exc}.") from None
        except Exception as exc:  # yaml or pydantic: both mean the file's content is wrong
            raise SeleneEvalError(
                f"Rubric file {args.rubric} must be YAML with 'objective' and 'descriptions' ({exc.__class__.__name__})."
            ) from None
    rubric.check(task)
    custom = [load_template_file(path, task) for path in args.template]
    spec = new_study_spec(
        table, mapping, task, label_map, items,
        slug=args.study, title=args.title or Path(args.file).name, rubric=rubric,
        variants=args.variants, custom_variants=custom, skipped_rows=skipped,
    )
    # The same minimum holds for the statistics: a kappa from two compared items is shown as n/a.
    spec.min_compared = max(1, args.min_items)
    for variant_id in spec.variants:
        find_variant(variant_id, task, custom)  # an unknown id fails before anything is written
    study = store.create(spec, items, overwrite=args.overwrite)
    print(
        f"Imported {len(items)} items with {len(spec.experts)} expert(s) into study {spec.slug!r} "
        f"({study.path}). Next: python -m selene_eval run {spec.slug}"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from selene_eval.judge import create_backend
    from selene_eval.run.runner import Progress, estimate_run, plan_run, run_study
    from selene_eval.study import StudyStore

    # This command prints its own progress: keep library progress bars and advice out of the way.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    store = StudyStore(args.studies_dir)
    study = store.open(args.study)
    judge = judge_from_args(study.spec.judge, args)
    added = _variants_to_add(study, args.variants or [])
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
        print(f"note: --sample-seed has no effect: the run judges every item (it draws the sample of --limit N, "
              f"N below the study's {plan.n_study_items} items).", file=sys.stderr)
    if plan.is_sample:
        print(f"Pilot: a random sample of {plan.n_items} of the study's {plan.n_study_items} items, stratified by the "
              f"experts' majority label (seed {plan.sample_seed}; --sample-seed draws another).", file=sys.stderr)
    for skipped in plan.skipped[:5]:
        print(f"skipped: {skipped.reason}", file=sys.stderr)
    # Refuse before loading a model when another run holds the study (the run itself takes the lock too).
    holder = study.run_holder()
    if holder is not None:
        from selene_eval.study.store import busy_error

        raise busy_error(study.slug, holder)
    study.spec = study.spec.model_copy(update={"judge": judge})
    study.save_spec()
    if added:
        print(f"Added variant(s) {', '.join(added)} to study {study.slug!r}, so that `report` includes their "
              f"judgments (its variants now: {', '.join(study.spec.variants)}).", file=sys.stderr)
    estimate = estimate_run(study, plan)
    if estimate is not None:
        from selene_eval.ui.text import fmt_duration

        expected = "under a second" if estimate.seconds < 1 else f"about {fmt_duration(estimate.seconds)}"
        print(f"Expected time: {expected} ({estimate.seconds_per_judgment:.2f} s per "
              f"judgment, the pace of this judge's {estimate.n_measured} judgments in {estimate.where}).",
              file=sys.stderr)
    elif plan.pending:
        print("Expected time: unknown until the first batch is done (this judge has no judgments to time yet).",
              file=sys.stderr)
    if not plan.pending:
        print("Nothing to run: every judgment is already stored.", file=sys.stderr)
        return 0
    batch_size = args.batch_size if args.batch_size is not None else (
        max(8, len(judge.endpoints) * judge.concurrency) if judge.backend == "openai" else 8
    )
    if args.download:
        from selene_eval.judge.transformers_backend import DOWNLOAD_ENV

        os.environ[DOWNLOAD_ENV] = "1"
    backend = create_backend(judge)

    def show(progress: Progress) -> None:
        if progress.done + progress.failed == 0:
            return
        eta = f", about {progress.eta_s:.0f}s left" if progress.eta_s is not None else ""
        print(
            f"[{progress.done + progress.failed:>6}/{progress.total}] {progress.rate:.2f} judgments/s{eta}"
            + (f", {progress.failed} failed" if progress.failed else ""),
            file=sys.stderr,
        )

    try:
        result = run_study(study, backend, plan=plan, batch_size=batch_size, on_progress=show)
    except KeyboardInterrupt:
        stored = study.judgments.count(judge.judge_id)
        print(f"Cancelled. {stored} judgments of this judge are stored; run the same command to resume.", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        backend.close()
    counted = ([f"{result.n_forced} with a forced label"] if result.n_forced else []) + (
        [f"{result.n_unreadable} without a readable label"] if result.n_unreadable else []
    )
    unreadable = f" ({', '.join(counted)})" if counted else ""
    print(
        f"Done: {result.n_judged} judged{unreadable}, {result.n_cached} from the store, {result.n_failed} failed "
        f"in {result.elapsed_s:.1f}s. Next: python -m selene_eval report {study.slug}"
    )
    if result.n_unreadable:
        print(f"warning: {result.n_unreadable} of {result.n_judged} answers had no readable label; they are kept and "
              "left out of the statistics. `report` lists them; an answer cut off at the token limit needs a larger "
              "--max-new-tokens.", file=sys.stderr)
    for failure in result.failures[:5]:
        print(f"failed: item {failure.item_id} ({failure.variant_id}): {failure.error}", file=sys.stderr)
    return 0 if not result.n_failed else 1


def _variants_to_add(study: "Study", variant_ids: Sequence[str]) -> list[str]:  # noqa: F821
    """The asked variants the study does not list yet (each checked to exist: an unknown id is an error)."""
    added = [v for v in dict.fromkeys(variant_ids) if v not in study.spec.variants]
    for variant_id in added:
        study.variant(variant_id)  # raises naming the known variants
    return added


def _cmd_report(args: argparse.Namespace) -> int:
    from selene_eval.presentation.report import study_report
    from selene_eval.study import StudyStore

    study = StudyStore(args.studies_dir).open(args.study)
    report = study_report(study, n_resamples=args.resamples, seed=args.seed, include_forced=not args.without_forced)
    if args.html:
        from selene_eval.presentation import write_html_report

        path = write_html_report(study, args.html, report=report, n_resamples=args.resamples, seed=args.seed)
        print(f"Wrote the HTML report of study {study.slug!r} to {path}", file=sys.stderr)
        if not args.json:
            return 0
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
        return 0
    print(f"Study {report.slug}: {report.title} ({report.task}, {report.n_items} items, experts: {', '.join(report.experts)})")
    print("Expert labels: " + ", ".join(f"{k} {v}" for k, v in report.expert_label_counts.items()))
    if report.experts_agreement:
        print(f"Experts among themselves: Krippendorff's alpha = {_fmt(report.experts_agreement.krippendorff_alpha)}")
    if not report.results:
        print(f"No judgments yet. Run: python -m selene_eval run {report.slug}")
    for result in report.results:
        print(f"\nJudge {result.judge_name}, variant {result.variant_id}: {result.n_judged}/{result.n_items} judged"
              + (f", {result.n_pending} pending" if result.n_pending else ""))
        a = result.agreement
        if a is None:
            continue
        unreadable = sum(n for status, n in result.status_counts.items() if status not in READABLE_OR_UNJUDGED)
        print(f"  {unreadable} of {result.n_judged} judge answers without a readable label")
        forced = result.status_counts.get(JudgmentStatus.FORCED, 0)
        if forced:
            print(f"  {forced} of {result.n_judged} judge answers with a forced label ("
                  + ("included in" if report.include_forced else "left out of") + " the statistics below)")
        print(f"  compared with the expert consensus on {a.n_compared} item{'' if a.n_compared == 1 else 's'} "
              f"(no majority: {a.n_no_majority}, no usable judge label: {a.n_judge_missing} = {a.unparseable_share:.1%})")
        _print_agreement(a, indent="  ")
        if result.profile is not None:
            from selene_eval.stats.profile import profile_lines

            print("\n".join("  " + line for line in profile_lines(result.profile)))
        for split in result.subgroups:
            print(f"  by {split.by}" + (f" ({split.omitted} less frequent values left out)" if split.omitted else "") + ":")
            for value, sub in split.groups:
                kappa = sub.metrics.get("cohen_kappa", sub.metrics["krippendorff_alpha"])
                name = "cohen_kappa" if "cohen_kappa" in sub.metrics else "krippendorff_alpha"
                print(f"    {value if value is not None else '(none)'}: {sub.n_compared} compared, "
                      f"accuracy {_fmt(sub.metrics['accuracy'])}{_fmt_interval(sub.intervals.get('accuracy'))}, "
                      f"{statistic_name(name)} {_fmt(kappa)}{_fmt_interval(sub.intervals.get(name))}"
                      + (" (few items)" if sub.n_compared < 30 else ""))
        if result.calibration is not None:
            c = result.calibration
            print(f"  calibration ({c.n_compared} verdicts with label probabilities): ECE {_fmt(c.ece)}, "
                  f"Brier {_fmt(c.brier)}, mean confidence {_fmt(c.mean_confidence)} vs share right {_fmt(c.accuracy)}")
        plan = result.planning()
        if plan is not None:
            needs = ", ".join(f"width {w:g}: {n} items" for w, n in plan.items_for_width.items())
            print(f"  items for a 95% interval of {statistic_name(plan.statistic)} (now {plan.n_compared} items, width "
                  f"{_fmt(plan.width)}): {needs}")
    for comparison in report.judge_comparisons:  # several judges on the same items
        print(f"\nJudges compared on variant {comparison.variant_id} ({statistic_name(comparison.statistic)}, paired "
              "tests, Holm):")
        for j in comparison.judges:
            print(f"  {j.name:<48} {_fmt(j.value)}{_fmt_interval(j.interval)} on {j.n_compared} item"
                  + ("" if j.n_compared == 1 else "s"))
        for pair in comparison.pairs:
            t = pair.test
            print(f"  {comparison.name_of(pair.a)} - {comparison.name_of(pair.b)}: {_fmt(t.difference)}"
                  f"{_fmt_interval(t.interval)}, p {_fmt(t.p_value)} ({t.test}), Holm p {_fmt(t.p_holm)}, "
                  f"labels differ on {pair.flips.n_flipped}/{pair.flips.n_compared}"
                  + (f" [only {', '.join(pair.build_difference)} differs]" if pair.build_difference else ""))
    for robust in report.robustness:  # prompt-format robustness: how much the verdicts depend on the variant
        m = robust.measures
        print(f"\nRobustness of {robust.judge_name} across {len(m.conditions)} variants (baseline {m.baseline}, "
              f"{statistic_name(m.statistic)}): judge-vs-itself alpha {_fmt(m.self_agreement.alpha)}, experts alpha "
              f"{_fmt(m.reference_alpha if m.reference_alpha is not None else float('nan'))}")
        flips = {f.b: f.flips for f in m.flips_vs_baseline}
        tests = {c.a: c for c in m.comparisons}
        bad = {u.condition: u for u in m.unparseable}
        for name in m.conditions:
            f, c = flips.get(name), tests.get(name)
            print(f"  {name:<40} {statistic_name(m.statistic)} {_fmt(m.values[name])}"
                  + (f", change {_fmt(c.difference)} (Holm p {_fmt(c.p_holm)})" if c else "")
                  + (f", flips {f.n_flipped}/{f.n_compared} ({f.n_toward_reference} towards, "
                     f"{f.n_away_from_reference} away from the experts)" if f else "")
                  + f", unreadable {_fmt(bad[name].rate) if name in bad else 'n/a'}")
        for p in m.position:
            print(f"  position swap {p.original} / {p.swapped}: consistent {_fmt(p.consistency)}, "
                  f"position bias {_fmt(p.position_bias_rate)}, first slot share {_fmt(p.first_slot_share)}")
    return 0


def _print_agreement(result: "AgreementReport", indent: str = "") -> None:  # noqa: F821
    """The metrics (with intervals), the experts' figures, the ceiling, warnings and notes, one per line."""
    if result.intervals:
        print(f"{indent}(in brackets: {result.ci_level:.0%} bootstrap interval, {result.n_resamples} resamples"
              + (f" of the groups in {result.group!r}" if result.group else "") + ")")
    for name, value in {**result.metrics, **result.extra_metrics}.items():
        print(f"{indent}{statistic_name(name):<26} {_fmt(value)}{_fmt_interval(result.intervals.get(name))}")
    if result.experts:
        print(f"{indent}{'experts alpha':<26} {_fmt(result.experts.krippendorff_alpha)}")
        print(f"{indent}{'experts + judge alpha':<26} {_fmt(result.experts.alpha_with_judge)}")
    if result.ceiling is not None:
        _print_ceiling(result, indent)
    for warning in result.warnings:
        print(f"{indent}warning: {warning}")
    for note in result.notes:
        print(f"{indent}note: {note}")


def _print_ceiling(result: "AgreementReport", indent: str) -> None:  # noqa: F821
    """Each expert vs the others' consensus beside the judge vs the same consensus; the substitution test."""
    ceiling = result.ceiling
    print(f"{indent}could the judge stand in for an expert? (Krippendorff's alpha, same items per row)")
    rows = ceiling.leave_one_out
    for expert_row, judge_row in zip(rows[0::2], rows[1::2]):
        print(f"{indent}  {expert_name(expert_row.rater_a)} vs the other experts' consensus: {_fmt(expert_row.krippendorff_alpha)}"
              f"   judge vs the same consensus: {_fmt(judge_row.krippendorff_alpha)}   (n = {expert_row.n})")
    for sub in ceiling.substitution:
        interval = result.substitution_intervals.get(sub.replaced)
        print(f"{indent}  replacing {expert_name(sub.replaced)} by the judge changes the experts' alpha by "
              f"{_fmt_signed(sub.difference)}{_fmt_interval(interval, signed=True)}")


def _fmt_interval(interval: "Interval | None", signed: bool = False) -> str:  # noqa: F821
    """`` [0.61, 0.93]`` or empty when there is no interval."""
    if interval is None or math.isnan(interval.low) or math.isnan(interval.high):
        return ""
    f = _fmt_signed if signed else (lambda v: f"{v:.2f}")
    return f" [{f(interval.low)}, {f(interval.high)}]"


def _fmt_signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.3f}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _cmd_agree(args: argparse.Namespace) -> int:
    from selene_eval.data import read_table
    from selene_eval.stats.agreement import agreement
    from selene_eval.stats.profile import judge_profile, profile_lines

    table = read_table(args.table)
    order = [s.strip() for s in args.order.split(",")] if args.order else None
    result = agreement(table.frame, args.judge, args.expert, args.level, order=order, group=args.group,
                       n_resamples=args.resamples, seed=args.seed)
    # rows whose expert cells are all empty are the unlabelled items the profile estimates for
    profile = judge_profile(table.frame, args.judge, args.expert, args.level, order=order, group=args.group,
                            n_resamples=args.resamples, seed=args.seed)
    if args.json:
        data = {**result.to_dict(with_uncertainty=True), "profile": profile.to_dict()}
        print(json.dumps(data, indent=2, allow_nan=False))
        return 0
    print(f"{result.n_compared} of {result.n_items} items compared (level {result.level}; no majority: "
          f"{result.n_no_majority}; judge missing: {result.n_judge_missing})")
    _print_agreement(result)
    print("\n".join(profile_lines(profile)))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from selene_eval.study import StudyStore

    listing = StudyStore(args.studies_dir).survey()
    if not listing.studies and not listing.damaged:
        print(f"No studies in {args.studies_dir}. Create one with: python -m selene_eval import FILE ...")
    for s in listing.studies:
        tag = " (illustrative)" if s.illustrative else ""
        print(f"{s.slug:<32} {s.task:<9} {s.n_items:>6} items {s.n_judgments:>7} judgments  {s.title}{tag}")
    for damaged in listing.damaged:  # listed, not fatal: one damaged study never hides the others
        print(f"{damaged.slug:<32} DAMAGED: {damaged.reason}")
    if listing.damaged:
        print(f"warning: {len(listing.damaged)} damaged study folder(s) in {args.studies_dir}; import them again or "
              "delete them.", file=sys.stderr)
    return 0


def _cmd_judges(args: argparse.Namespace) -> int:
    from selene_eval.study import StudyStore

    study = StudyStore(args.studies_dir).open(args.study)
    if args.rename:
        spec = study.judgments.rename_judge(args.rename[0], args.rename[1])
        print(f"Judge {spec.judge_id} is now shown as {spec.display_name!r}.", file=sys.stderr)
    rows = [
        {"judge_id": spec.judge_id, "name": spec.display_name, "judgments": study.judgments.count(spec.judge_id),
         **{k: v for k, v in spec.identity().items() if v is not None}}
        for spec in study.judgments.judges()
    ]
    if args.json:
        print(json.dumps({"study": study.slug, "judges": rows}, indent=2))
        return 0
    if not rows:
        print(f"No judge has judged study {study.slug!r} yet. Run: python -m selene_eval run {study.slug}")
    for row in rows:
        settings = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("judge_id", "name", "judgments"))
        print(f"{row['judge_id']}  {row['name']}  ({row['judgments']} judgments; {settings})")
    return 0


def _cmd_variants(args: argparse.Namespace) -> int:
    from selene_eval.prompts import builtin_variants

    for v in builtin_variants(TaskType(args.task)):
        print(f"{v.id:<24} axis={v.axis:<10} {v.description}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from selene_eval.presentation import study_charts, study_tables, write_charts
    from selene_eval.study.archive import write_archive
    from selene_eval.presentation.report import study_report
    from selene_eval.results.table import JudgmentTables
    from selene_eval.study import StudyStore

    if not (args.tables or args.charts or args.archive):
        raise SeleneEvalError("Say what to export: --tables DIR, --charts DIR and/or --archive FILE.")
    study = StudyStore(args.studies_dir).open(args.study)
    if args.tables or args.charts:
        tables = JudgmentTables(study)  # each judgment table built once for the report, the tables and the charts
        report = study_report(study, n_resamples=args.resamples, seed=args.seed, tables=tables)
        if args.tables:
            for path in study_tables(study, report, tables=tables).write(args.tables, args.table_formats):
                print(path)
        if args.charts:
            for path in write_charts(study_charts(study, report, tables=tables), args.charts, args.chart_formats):
                print(path)
    if args.archive:
        manifest = write_archive(study, args.archive)
        print(args.archive)
        print(f"Archived study {manifest.slug!r}: {manifest.n_items} items, {manifest.n_judgments} judgments.",
              file=sys.stderr)
    return 0


def _cmd_import_archive(args: argparse.Namespace) -> int:
    from selene_eval.study.archive import import_archive
    from selene_eval.study import StudyStore

    study = import_archive(StudyStore(args.studies_dir), args.archive, slug=args.slug, overwrite=args.overwrite)
    print(f"Imported study {study.slug!r} ({len(study.items)} items, {study.judgments.count()} judgments) into "
          f"{study.path}.")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from selene_eval.adapters import ADAPTERS, create_study_from_dataset, get_adapter
    from selene_eval.study import StudyStore

    if args.datasets_command == "list":
        for adapter in ADAPTERS.values():
            print(f"{adapter.name:<13} {adapter.title}")
            print(f"{'':<13} licence {adapter.licence}; {adapter.annotators}; {adapter.source_url}")
            for option in adapter.options:
                print(f"{'':<13} --option {option.name}={'|'.join(option.choices)} (default {option.default}): {option.help}")
        return 0
    adapter = get_adapter(args.name)
    if args.datasets_command == "download":
        folder = adapter.download(args.to)
        print(f"{adapter.title}: files in {folder}. Licence: {adapter.licence_text}")
        return 0
    options = {}
    for pair in args.option:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SeleneEvalError(f"--option {pair!r} must be NAME=VALUE.")
        options[name.strip()] = value.strip()
    study = create_study_from_dataset(adapter, args.source, StudyStore(args.studies_dir), args.study, options=options,
                                      title=args.title, overwrite=args.overwrite,
                                      on_warning=lambda line: print(f"warning: {line}", file=sys.stderr))
    print(f"Licence: {adapter.licence_text}", file=sys.stderr)
    print(f"Imported {len(study.items)} items with {len(study.spec.experts)} expert(s) from {adapter.title} into "
          f"study {study.slug!r} ({study.path}). Next: python -m selene_eval run {study.slug}")
    return 0


def _cmd_check_judge(args: argparse.Namespace) -> int:
    """List each server's models, check the judge's model is served, send one tiny request; exit 1 if not ready."""
    import dataclasses

    from selene_eval.judge import JudgeSpec
    from selene_eval.judge.openai_backend import check_connection
    from selene_eval.study import StudyStore

    base = StudyStore(args.studies_dir).open(args.study).spec.judge if args.study else JudgeSpec(backend="openai")
    updates: dict[str, object] = {"backend": "openai"}
    if args.endpoint:
        updates["endpoints"] = tuple(args.endpoint)
    if args.model:
        updates["model"] = args.model
    if args.api_key_env:
        updates["api_key_env"] = args.api_key_env
    if args.timeout:
        updates["timeout_s"] = args.timeout
    spec = JudgeSpec.model_validate({**base.model_dump(), **updates})
    if not spec.endpoints:
        raise SeleneEvalError("No server to check: give --endpoint URL (or a study whose judge has endpoints).")
    report = check_connection(spec)
    if args.json:
        print(json.dumps({"model": report.model, "ok": report.ok,
                          "endpoints": [dataclasses.asdict(e) | {"ok": e.ok} for e in report.endpoints]}, indent=2))
    else:
        print(report.describe())
    return 0 if report.ok else 1


_COMMANDS = {
    "check-judge": _cmd_check_judge,
    "export": _cmd_export,
    "import-archive": _cmd_import_archive,
    "datasets": _cmd_datasets,
    "import": _cmd_import,
    "run": _cmd_run,
    "report": _cmd_report,
    "agree": _cmd_agree,
    "list": _cmd_list,
    "variants": _cmd_variants,
    "judges": _cmd_judges,
    "reproduce": cmd_reproduce,
}
