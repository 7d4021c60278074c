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

from selene_eval.errors import SeleneEvalError, ValidationFailed
from selene_eval.tasks import TaskType

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
        "expert (repeat once per expert column), or annotator + label for long format",
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
    p.add_argument("--min-items", type=int, default=10, metavar="N", help="warn below N items (default 10)")

    p = sub.add_parser("run", help="judge a study's items with the model")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--model", metavar="ID_OR_PATH", help="hub id or local folder (default: the study's, Selene Mini)")
    p.add_argument("--revision", metavar="R", help="model revision (hub branch, tag or commit)")
    p.add_argument("--no-quantize", action="store_true", help="load full-precision weights instead of 4-bit NF4")
    p.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--device", choices=["auto", "cuda", "cpu"])
    p.add_argument("--max-new-tokens", type=int, metavar="N")
    p.add_argument("--backend", choices=["transformers", "openai", "scripted"],
                   help="judge backend (default: transformers; openai = a vLLM, Ollama or llama.cpp server)")
    p.add_argument("--mode", choices=["reasoned", "fast"],
                   help="reasoned (default): the judge explains, then answers; fast: no reasoning, the label is read "
                        "from one forward pass (a different measurement)")
    p.add_argument("--endpoint", action="append", default=[], metavar="URL",
                   help="base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1; repeat for replicas "
                        "(implies --backend openai)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="name of the environment variable that holds the server's API key (the key is never stored)")
    p.add_argument("--concurrency", type=int, metavar="N", help="concurrent requests per endpoint (default 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds before a server request times out (default 120)")
    p.add_argument("--demo", action="store_true", help="use the offline demo judge (SmolLM2-135M; a weak model)")
    p.add_argument("--download", action="store_true",
                   help="download the model from the Hugging Face hub if it is not in the local cache")
    p.add_argument("--variants", action="extend", nargs="+", metavar="ID", help="variant ids (default: the study's)")
    p.add_argument("--batch-size", type=int, default=8, metavar="N")
    p.add_argument("--limit", type=int, metavar="N", help="judge only the first N items")

    p = sub.add_parser("report", help="agreement between the judge and the experts")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_bootstrap_options(p)

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
    return parser


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

    from selene_eval.data import ColumnMapping, build_items, parse_label_map, read_table
    from selene_eval.prompts import Rubric, default_rubric, find_variant, load_template_file
    from selene_eval.store import StudyStore, new_study_spec, validate_slug

    validate_slug(args.study)
    store = StudyStore(args.studies_dir)
    if store.exists(args.study) and not args.overwrite:
        raise SeleneEvalError(f"A study named {args.study!r} already exists; choose another name or pass --overwrite.")
    task = TaskType(args.task)
    table = read_table(args.file)
    mapping = ColumnMapping.from_pairs(args.mapping)
    label_map = parse_label_map(args.label_map, task)
    items, report = build_items(table.frame, mapping, task, label_map, min_items=args.min_items)
    if not report.ok:
        raise ValidationFailed(report)
    for issue in report.warnings:
        print(f"warning: {issue.message}" + (f" {issue.fix}" if issue.fix else ""), file=sys.stderr)

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
        variants=args.variants, custom_variants=custom,
    )
    for variant_id in spec.variants:
        find_variant(variant_id, task, custom)  # an unknown id fails before anything is written
    study = store.create(spec, items, overwrite=args.overwrite)
    print(
        f"Imported {len(items)} items with {len(spec.experts)} expert(s) into study {spec.slug!r} "
        f"({study.path}). Next: python -m selene_eval run {spec.slug}"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from selene_eval.backends import create_backend
    from selene_eval.runner import Progress, plan_run, run_study
    from selene_eval.store import StudyStore

    # This command prints its own progress: keep library progress bars and advice out of the way.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    store = StudyStore(args.studies_dir)
    study = store.open(args.study)
    judge = _judge_from_args(study.spec.judge, args)
    plan = plan_run(study, judge, variant_ids=args.variants, limit=args.limit)
    print(
        f"Judge: {judge.display_name}. {plan.n_total} judgments ({plan.n_items} items x {len(plan.variant_ids)} "
        f"variant(s)): {plan.n_cached} already stored, {plan.n_pending} to run"
        + (f", {len(plan.skipped)} not renderable" if plan.skipped else "")
        + ".",
        file=sys.stderr,
    )
    for skipped in plan.skipped[:5]:
        print(f"skipped: {skipped.reason}", file=sys.stderr)
    study.spec = study.spec.model_copy(update={"judge": judge})
    study.save_spec()
    if not plan.pending:
        print("Nothing to run: every judgment is already stored.", file=sys.stderr)
        return 0
    if args.download:
        from selene_eval.backends.transformers_backend import DOWNLOAD_ENV

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
        result = run_study(study, backend, plan=plan, batch_size=args.batch_size, on_progress=show)
    except KeyboardInterrupt:
        stored = study.judgments.count(judge.judge_id)
        print(f"Cancelled. {stored} judgments of this judge are stored; run the same command to resume.", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        backend.close()
    print(
        f"Done: {result.n_judged} judged, {result.n_cached} from the store, {result.n_failed} failed "
        f"in {result.elapsed_s:.1f}s. Next: python -m selene_eval report {study.slug}"
    )
    for failure in result.failures[:5]:
        print(f"failed: item {failure.item_id} ({failure.variant_id}): {failure.error}", file=sys.stderr)
    return 0 if not result.n_failed else 1


def _judge_from_args(base: "JudgeSpec", args: argparse.Namespace) -> "JudgeSpec":  # noqa: F821
    from selene_eval.backends import JudgeSpec

    if args.demo:
        from selene_eval.testing import demo_judge_spec

        spec = demo_judge_spec()
    else:
        updates: dict[str, object] = {}
        if args.model:
            updates.update(model=args.model, revision=None, gguf_file=None, name=None)
        if args.revision:
            updates["revision"] = args.revision
        if args.backend:
            updates["backend"] = args.backend
        elif args.endpoint:
            updates["backend"] = "openai"
        spec = base.model_copy(update=updates)
    updates = {}
    if args.mode:
        updates["mode"] = args.mode
    if args.endpoint:
        updates["endpoints"] = tuple(args.endpoint)
    if args.api_key_env:
        updates["api_key_env"] = args.api_key_env
    if args.concurrency:
        updates["concurrency"] = args.concurrency
    if args.timeout:
        updates["timeout_s"] = args.timeout
    if args.no_quantize:
        updates["quantization"] = "none"
    if args.dtype:
        updates["dtype"] = args.dtype
    if args.device:
        updates["device"] = args.device
    if args.max_new_tokens:
        updates["max_new_tokens"] = args.max_new_tokens
    # model_validate re-checks the values (model_copy does not).
    return JudgeSpec.model_validate({**spec.model_dump(), **updates})


def _cmd_report(args: argparse.Namespace) -> int:
    from selene_eval.report import study_report
    from selene_eval.store import StudyStore

    study = StudyStore(args.studies_dir).open(args.study)
    report = study_report(study, n_resamples=args.resamples, seed=args.seed)
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
        print(f"  compared with the expert consensus on {a.n_compared} items "
              f"(no majority: {a.n_no_majority}, unparseable: {a.n_judge_missing} = {a.unparseable_share:.1%})")
        _print_agreement(a, indent="  ")
        if result.subgroups:
            print(f"  by {result.subgroup_by}:")
            for value, sub in result.subgroups:
                kappa = sub.metrics.get("cohen_kappa", sub.metrics["krippendorff_alpha"])
                name = "cohen_kappa" if "cohen_kappa" in sub.metrics else "krippendorff_alpha"
                print(f"    {value if value is not None else '(none)'}: {sub.n_compared} compared, "
                      f"accuracy {_fmt(sub.metrics['accuracy'])}{_fmt_interval(sub.intervals.get('accuracy'))}, "
                      f"{name} {_fmt(kappa)}{_fmt_interval(sub.intervals.get(name))}"
                      + (" (few items)" if sub.n_compared < 30 else ""))
    return 0


def _print_agreement(result: "AgreementReport", indent: str = "") -> None:  # noqa: F821
    """The metrics (with intervals), the experts' figures, the ceiling, warnings and notes, one per line."""
    if result.intervals:
        print(f"{indent}(in brackets: {result.ci_level:.0%} bootstrap interval, {result.n_resamples} resamples"
              + (f" of the groups in {result.group!r}" if result.group else "") + ")")
    for name, value in {**result.metrics, **result.extra_metrics}.items():
        print(f"{indent}{name:<26} {_fmt(value)}{_fmt_interval(result.intervals.get(name))}")
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
        print(f"{indent}  {expert_row.rater_a.removeprefix('expert:')} vs the other experts' consensus: {_fmt(expert_row.krippendorff_alpha)}"
              f"   judge vs the same consensus: {_fmt(judge_row.krippendorff_alpha)}   (n = {expert_row.n})")
    for sub in ceiling.substitution:
        interval = result.substitution_intervals.get(sub.replaced)
        print(f"{indent}  replacing {sub.replaced.removeprefix('expert:')} by the judge changes the experts' alpha by "
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
    from selene_eval.metrics import agreement

    table = read_table(args.table)
    order = [s.strip() for s in args.order.split(",")] if args.order else None
    result = agreement(table.frame, args.judge, args.expert, args.level, order=order, group=args.group,
                       n_resamples=args.resamples, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_dict(with_uncertainty=True), indent=2, allow_nan=False))
        return 0
    print(f"{result.n_compared} of {result.n_items} items compared (level {result.level}; no majority: "
          f"{result.n_no_majority}; judge missing: {result.n_judge_missing})")
    _print_agreement(result)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from selene_eval.store import StudyStore

    studies = StudyStore(args.studies_dir).list()
    if not studies:
        print(f"No studies in {args.studies_dir}. Create one with: python -m selene_eval import FILE ...")
    for s in studies:
        tag = " (illustrative)" if s.illustrative else ""
        print(f"{s.slug:<32} {s.task:<9} {s.n_items:>6} items {s.n_judgments:>7} judgments  {s.title}{tag}")
    return 0


def _cmd_variants(args: argparse.Namespace) -> int:
    from selene_eval.prompts import builtin_variants

    for v in builtin_variants(TaskType(args.task)):
        print(f"{v.id:<24} axis={v.axis:<10} {v.description}")
    return 0


_COMMANDS = {
    "import": _cmd_import,
    "run": _cmd_run,
    "report": _cmd_report,
    "agree": _cmd_agree,
    "list": _cmd_list,
    "variants": _cmd_variants,
}
