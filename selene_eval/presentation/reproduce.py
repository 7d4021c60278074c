"""The commands that rebuild a study and repeat its runs: the report's "To reproduce" section.

Run in a folder that holds the study's source file, the commands import it with the study's mapping,
label map, rubric and variants, repeat every recorded run (its judge settings, variants, pilot size and
sample seed, batch size) and write the report, so that a fresh studies folder ends with the same judgments
(same cache keys, same labels). The judge's settings are spelled out in full rather than relative to
defaults: each ``run`` starts from the judge the study saved last, so a flag left out would silently take
the previous run's value. Every judge's flags are checked by parsing them back through the CLI.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

import yaml

from selene_eval.core.items import ROLES
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.data.columns import LONG_ROLES
from selene_eval.presentation.report import StudyReport
from selene_eval.prompts.rubric import default_rubric
from selene_eval.study.judgments import RunRecord
from selene_eval.study.spec import DEFAULT_MIN_COMPARED
from selene_eval.study.store import Study

CLI = "python -m selene_eval"
RUBRIC_FILE = "rubric.yaml"
_SINGLE_ROLES = (*ROLES, *LONG_ROLES)  # the roles one --map ROLE=COLUMN names


def _line(words: Sequence[str]) -> str:
    """One shell command line, every word quoted where the shell would split or expand it."""
    return " ".join(shlex.quote(str(word)) for word in words)


def _option(flag: str, value: str) -> list[str]:
    """``[flag, value]``, or ``[flag=value]`` when the value starts with '-' (argparse would take it for a flag)."""
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def judge_flags(spec: JudgeSpec) -> list[str]:
    """``run`` flags that give exactly ``spec`` whatever judge the study had before.

    Every setting of the judge's identity is given (``--model`` also clears the previous judge's revision and
    GGUF file); where the work runs (device, servers, key variable, concurrency, timeout) is given when it
    is not the default.
    """
    default = JudgeSpec()
    flags = ["--backend", spec.backend, *_option("--model", spec.model)]
    if spec.revision:
        flags += _option("--revision", spec.revision)
    if spec.gguf_file:
        flags += _option("--gguf-file", spec.gguf_file)
    flags += [
        "--quantize" if spec.quantization == "nf4" else "--no-quantize",
        "--dtype",
        spec.dtype,
        "--max-new-tokens",
        str(spec.max_new_tokens),
        "--mode",
        spec.mode,
        "--force-verdict" if spec.force_verdict else "--no-force-verdict",
    ]
    if spec.device != default.device:
        flags += ["--device", spec.device]
    for endpoint in spec.endpoints:
        flags += ["--endpoint", endpoint]
    if spec.api_key_env:
        flags += ["--api-key-env", spec.api_key_env]
    if spec.concurrency != default.concurrency:
        flags += ["--concurrency", str(spec.concurrency)]
    if spec.timeout_s != default.timeout_s:
        flags += ["--timeout", f"{spec.timeout_s:g}"]
    return flags


def run_command(slug: str, run: RunRecord) -> str:
    """The ``run`` command that repeats one recorded run."""
    words = [*CLI.split(), "run", slug, *judge_flags(run.judge), "--variants", *run.variant_ids]
    if run.limit is not None:
        words += ["--limit", str(run.limit), "--sample-seed", str(run.sample_seed)]
    words += ["--batch-size", str(run.batch_size)]
    return _line(words)


def import_commands(study: Study) -> list[str]:
    """Shell lines that import the study's source file again with its settings (comments when impossible)."""
    spec = study.spec
    if spec.source is None:
        return [
            f"# The study {spec.slug!r} was not imported from a file (an example or a hand-made study): import",
            f"# its archive instead: {CLI} import-archive {shlex.quote(spec.slug)}.selene.zip",
        ]
    from selene_eval.adapters import ADAPTERS

    adapter = next((a for a in ADAPTERS.values() if a.source_url and a.source_url in spec.description), None)
    if adapter is not None:  # made from a dataset's files through its adapter, not from one file
        return [
            f"# The study {spec.slug!r} was made from the public dataset {adapter.title}: with a copy of it,",
            f"# {CLI} datasets import {adapter.name} --from PATH --study {shlex.quote(spec.slug)} (and the "
            "same --option values)",
        ]
    lines = [f"# In a folder holding {spec.source.file_name} (SHA-256 {spec.source.sha256}):"]
    words = [*CLI.split(), "import", spec.source.file_name, "--task", spec.task.value, "--map"]
    for role in _SINGLE_ROLES:
        column = spec.mapping.get(role)
        if isinstance(column, str):
            words.append(f"{role}={column}")
    for role, key in (("expert", "experts"), ("subgroup", "subgroups")):
        columns = spec.mapping.get(key) or []
        words += [f"{role}={column}" for column in columns] if isinstance(columns, list) else []
    pairs = [f"{raw}={label or ''}" for raw, label in spec.label_map.items()]
    plain = [pair for pair in pairs if not pair.startswith("-")]
    if plain:
        words += ["--label-map", *plain]
    words += [f"--label-map={pair}" for pair in pairs if pair.startswith("-")]
    words += ["--study", spec.slug, *_option("--title", spec.title)]
    if spec.skipped_rows:  # the same rule leaves out the same rows of the same file
        words += ["--skip-bad-ids"]
    if spec.min_compared != DEFAULT_MIN_COMPARED:  # changed on the Agreement page: the statistics depend on it
        words += ["--min-items", str(spec.min_compared)]
    if spec.rubric != default_rubric(spec.task):
        text = yaml.safe_dump(spec.rubric.model_dump(), sort_keys=False, allow_unicode=True, width=100)
        lines += [f"cat > {RUBRIC_FILE} <<'SELENE_EVAL_RUBRIC'", text.rstrip("\n"), "SELENE_EVAL_RUBRIC"]
        words += ["--rubric", RUBRIC_FILE]
    custom = {v.id for v in spec.custom_variants}
    builtin = [v for v in spec.variants if v not in custom]
    if builtin:
        words += ["--variants", *builtin]
    if custom:
        lines.append(
            f"# The study's own templates ({', '.join(sorted(custom))}) are in its archive "
            f"(export {spec.slug} --archive FILE); add them with --template."
        )
    lines.append(_line(words))
    return lines


def run_commands(study: Study, report: StudyReport, judges: Mapping[str, JudgeSpec]) -> list[str]:
    """The study's recorded runs as commands, oldest first; for judges judged before runs were recorded, one
    command over every item, said so."""
    slug = study.slug
    lines: list[str] = []
    recorded = study.judgments.runs()
    for run in recorded:
        command = run_command(slug, run)
        if command not in lines:
            lines.append(command)
    recorded_judges = {run.judge.judge_id for run in recorded}
    for judge_id, spec in judges.items():
        results = [r for r in report.results if r.judge_id == judge_id and r.n_judged]
        if judge_id in recorded_judges or not results:
            continue
        judged = sum(r.n_judged for r in results)
        lines.append(
            f"# {spec.display_name} judged before runs were recorded ({judged:,} judgments): the line "
            "below judges every item, so it may make more judgments than the study holds."
        )
        words = [*CLI.split(), "run", slug, *judge_flags(spec), "--variants", *(r.variant_id for r in results)]
        lines.append(_line(words))
    return lines


def runs_sentence(study: Study) -> str | None:
    """A methods sentence on which items the recorded runs judged (pilots with their sample size and seed)."""
    runs = study.judgments.runs()
    pilots = [run for run in runs if run.limit is not None]
    if not runs:
        return None
    if not pilots:
        return "Every recorded run judged all items."
    samples = "; ".join(
        dict.fromkeys(
            f"{run.n_items:,} of {len(study.items):,} items for {run.judge.display_name} (seed {run.sample_seed})"
            for run in pilots
        )
    )
    return (
        f"{len(pilots)} of the {len(runs)} recorded runs were pilots on a random sample of the items, "
        f"stratified by the experts' majority label: {samples}."
    )


def reproduce_commands(
    study: Study, report: StudyReport, judges: Mapping[str, JudgeSpec], *, n_resamples: int, seed: int
) -> str:
    """The whole "To reproduce" block: import, every run, the report (one command or comment per line)."""
    slug = shlex.quote(study.slug)
    lines = import_commands(study)
    lines += run_commands(study, report, judges)
    lines.append(f"{CLI} report {slug} --resamples {n_resamples} --seed {seed}")
    lines.append(f"{CLI} report {slug} --html report.html --resamples {n_resamples} --seed {seed}")
    return "\n".join(lines)
