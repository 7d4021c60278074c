"""The command line's argument parser: every command and its options (no command runs here)."""

from __future__ import annotations

import argparse

from selene_eval.cli.reproduce import add_reproduce_parser
from selene_eval.core.tasks import TaskType


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
    p.add_argument(
        "--label-map",
        action="extend",
        nargs="+",
        default=[],
        metavar="RAW=CANONICAL",
        help="map raw label values to 1-5, yes/no or A/B/tie ('RAW=' means no label)",
    )
    p.add_argument("--study", required=True, metavar="SLUG", help="name of the new study (a-z, 0-9, -, _)")
    p.add_argument("--title", help="a readable title (default: the file name)")
    p.add_argument("--rubric", metavar="YAML", help="rubric file: objective + descriptions per label")
    p.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="FILE",
        help="add a prompt template (Atla YAML with user_template, or plain text) as a variant",
    )
    p.add_argument(
        "--variants",
        action="extend",
        nargs="+",
        metavar="ID",
        help="variant ids to run (default: Selene's canonical one)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing study of that name")
    p.add_argument(
        "--min-items",
        type=int,
        default=10,
        metavar="N",
        help="warn below N labelled items; statistics on fewer compared items are n/a (default 10)",
    )
    p.add_argument(
        "--skip-bad-ids",
        action="store_true",
        help="leave out the rows whose item id is empty or repeated (they are listed in study.yaml) "
        "instead of refusing the file",
    )

    p = sub.add_parser("run", help="judge a study's items with the model")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--model", metavar="ID_OR_PATH", help="hub id or local folder (default: the study's, Selene Mini)")
    p.add_argument("--revision", metavar="R", help="model revision (hub branch, tag or commit)")
    quantize = p.add_mutually_exclusive_group()
    quantize.add_argument("--no-quantize", action="store_true", help="load full-precision weights instead of 4-bit NF4")
    quantize.add_argument(
        "--quantize",
        action="store_true",
        help="load 4-bit NF4 weights (the default; undoes the study's earlier --no-quantize)",
    )
    p.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--device", choices=["auto", "cuda", "cpu"])
    p.add_argument("--max-new-tokens", type=int, metavar="N")
    p.add_argument(
        "--backend",
        choices=["transformers", "openai", "scripted"],
        help="judge backend (default: transformers; openai = a vLLM, Ollama or llama.cpp server)",
    )
    p.add_argument(
        "--mode",
        choices=["reasoned", "fast"],
        help="reasoned (default): the judge explains, then answers; fast: no reasoning, the label is read "
        "from one forward pass (a different measurement)",
    )
    p.add_argument(
        "--force-verdict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="when an answer ends, loops or runs out of tokens without a readable result, read the most "
        "probable allowed label after the result marker, stored as 'forced' (default: off; on for "
        "--demo)",
    )
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1; repeat for replicas "
        "(implies --backend openai)",
    )
    p.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="name of the environment variable that holds the server's API key (the key is never stored)",
    )
    p.add_argument("--concurrency", type=int, metavar="N", help="concurrent requests per endpoint (default 4)")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds one server request may take in all, answer included (default 120)",
    )
    p.add_argument("--demo", action="store_true", help="use the offline demo judge (SmolLM2-135M; a weak model)")
    p.add_argument(
        "--download",
        action="store_true",
        help="download the model from the Hugging Face hub if it is not in the local cache",
    )
    p.add_argument("--gguf-file", metavar="NAME", help="a GGUF file inside the --model folder to load")
    p.add_argument(
        "--variants",
        action="extend",
        nargs="+",
        metavar="ID",
        help="variant ids (default: the study's); built-in ids not yet in the study are added to it",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="prompts per batch (default 8; for servers at least endpoints x concurrency)",
    )
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="a pilot: judge a random sample of N items, stratified by the experts' majority label",
    )
    p.add_argument(
        "--sample-seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the --limit sample (default 0; the same seed gives the same items)",
    )

    p = sub.add_parser("report", help="agreement between the judge and the experts")
    p.add_argument("study", metavar="SLUG")
    p.add_argument(
        "--without-forced",
        action="store_true",
        help="leave forced labels (--force-verdict) out of every statistic, as unreadable answers are",
    )
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
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="base URL of a server, e.g. http://localhost:8000/v1; repeat for replicas",
    )
    p.add_argument("--model", metavar="NAME", help="the served model's name")
    p.add_argument("--api-key-env", metavar="VAR", help="name of the environment variable holding the API key")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds one request may take in all, answer included (default 120)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _add_export_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``export``, ``import-archive`` and ``datasets`` commands (see :mod:`selene_eval.presentation`)."""
    p = sub.add_parser("export", help="write a study's tables, charts or whole archive")
    p.add_argument("study", metavar="SLUG")
    p.add_argument("--tables", metavar="DIR", help="write items, metrics, judgments (and ceiling) tables to DIR")
    p.add_argument(
        "--format",
        dest="table_formats",
        nargs="+",
        choices=["csv", "parquet"],
        default=["csv", "parquet"],
        help="table formats (default: both; CSV cells that would run as formulas get a leading ')",
    )
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
    p.add_argument(
        "--resamples",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for the 95%% intervals (default 1000; 0: no intervals)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed of the bootstrap (default 0)")
