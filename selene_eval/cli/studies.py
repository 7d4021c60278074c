"""The commands around studies: ``import``, ``list``, ``judges``, ``variants``, ``export``, ``import-archive``,
``datasets`` and ``check-judge``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError, ValidationFailed


def cmd_import(args: argparse.Namespace) -> int:
    """Read an expert-labelled file into a new study (refused, with every problem listed, when the data blocks it)."""
    import yaml

    from selene_eval.data import ColumnMapping, build_items, parse_label_map, read_table, rows_with_bad_ids
    from selene_eval.prompts import Rubric, default_rubric, find_variant, load_template_file
    from selene_eval.study import StudyStore, new_study_spec
    from selene_eval.study.store import PASS_OVERWRITE

    store = StudyStore(args.studies_dir)
    store.check_new_name(args.study, overwrite=args.overwrite, advice=PASS_OVERWRITE)
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
        print(
            f"warning: {issue.message}"
            + (f" {issue.fix}" if issue.fix else "")
            + (f" On the command line: {issue.command}" if issue.command else ""),
            file=sys.stderr,
        )

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
        table,
        mapping,
        task,
        label_map,
        items,
        slug=args.study,
        title=args.title or Path(args.file).name,
        rubric=rubric,
        variants=args.variants,
        custom_variants=custom,
        skipped_rows=skipped,
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


def cmd_list(args: argparse.Namespace) -> int:
    """The studies in the folder, one line each; damaged ones are listed with what is wrong."""
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
        print(
            f"warning: {len(listing.damaged)} damaged study folder(s) in {args.studies_dir}; import them again or "
            "delete them.",
            file=sys.stderr,
        )
    return 0


def cmd_judges(args: argparse.Namespace) -> int:
    """The judges that have judged a study, with their settings; ``--rename`` gives one a short name."""
    from selene_eval.study import StudyStore

    study = StudyStore(args.studies_dir).open(args.study)
    if args.rename:
        spec = study.judgments.rename_judge(args.rename[0], args.rename[1])
        print(f"Judge {spec.judge_id} is now shown as {spec.display_name!r}.", file=sys.stderr)
    rows = [
        {
            "judge_id": spec.judge_id,
            "name": spec.display_name,
            "judgments": study.judgments.count(spec.judge_id),
            **{k: v for k, v in spec.identity().items() if v is not None},
        }
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


def cmd_variants(args: argparse.Namespace) -> int:
    """The built-in prompt variants of a task."""
    from selene_eval.prompts import builtin_variants

    for v in builtin_variants(TaskType(args.task)):
        print(f"{v.id:<24} axis={v.axis:<10} {v.description}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a study's tables, charts and/or whole archive."""
    from selene_eval.presentation.figures import study_charts, write_charts
    from selene_eval.presentation.report import study_report
    from selene_eval.presentation.tables import study_tables
    from selene_eval.results.table import JudgmentTables
    from selene_eval.study import StudyStore
    from selene_eval.study.archive import write_archive

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
        print(
            f"Archived study {manifest.slug!r}: {manifest.n_items} items, {manifest.n_judgments} judgments.",
            file=sys.stderr,
        )
    return 0


def cmd_import_archive(args: argparse.Namespace) -> int:
    """Add a study from an archive made by ``export --archive``."""
    from selene_eval.study import StudyStore
    from selene_eval.study.archive import import_archive

    study = import_archive(StudyStore(args.studies_dir), args.archive, slug=args.slug, overwrite=args.overwrite)
    print(
        f"Imported study {study.slug!r} ({len(study.items)} items, {study.judgments.count()} judgments) into "
        f"{study.path}."
    )
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """Public datasets with expert labels: list them, download one, import one as a study."""
    from selene_eval.adapters import ADAPTERS, create_study_from_dataset, get_adapter
    from selene_eval.study import StudyStore

    if args.datasets_command == "list":
        for adapter in ADAPTERS.values():
            print(f"{adapter.name:<13} {adapter.title}")
            print(f"{'':<13} licence {adapter.licence}; {adapter.annotators}; {adapter.source_url}")
            for option in adapter.options:
                print(
                    f"{'':<13} --option {option.name}={'|'.join(option.choices)} (default {option.default}): {option.help}"
                )
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
    study = create_study_from_dataset(
        adapter,
        args.source,
        StudyStore(args.studies_dir),
        args.study,
        options=options,
        title=args.title,
        overwrite=args.overwrite,
        on_warning=lambda line: print(f"warning: {line}", file=sys.stderr),
    )
    print(f"Licence: {adapter.licence_text}", file=sys.stderr)
    print(
        f"Imported {len(study.items)} items with {len(study.spec.experts)} expert(s) from {adapter.title} into "
        f"study {study.slug!r} ({study.path}). Next: python -m selene_eval run {study.slug}"
    )
    return 0


def cmd_check_judge(args: argparse.Namespace) -> int:
    """List each server's models, check the judge's model is served, send one tiny request; exit 1 if not ready."""
    import dataclasses

    from selene_eval.cli.judge_args import server_flags
    from selene_eval.judge import JudgeSpec
    from selene_eval.judge.openai_backend import check_connection
    from selene_eval.study import StudyStore

    base = StudyStore(args.studies_dir).open(args.study).spec.judge if args.study else JudgeSpec(backend="openai")
    updates: dict[str, object] = {"backend": "openai", **server_flags(args)}
    if args.model:
        updates["model"] = args.model
    spec = JudgeSpec.model_validate({**base.model_dump(), **updates})
    if not spec.endpoints:
        raise SeleneEvalError("No server to check: give --endpoint URL (or a study whose judge has endpoints).")
    report = check_connection(spec)
    if args.json:
        print(
            json.dumps(
                {
                    "model": report.model,
                    "ok": report.ok,
                    "endpoints": [dataclasses.asdict(e) | {"ok": e.ok} for e in report.endpoints],
                },
                indent=2,
            )
        )
    else:
        print(report.describe())
    return 0 if report.ok else 1
