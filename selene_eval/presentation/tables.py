"""Tables of a study as files: CSV that spreadsheets cannot turn into formulas, and Parquet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets ("CSV injection"). Study tables hold text from files and from the
judge's output, so every such CSV cell gets a leading apostrophe, which spreadsheets show as text. A line
break inside a cell would start a new row for a CSV reader, and the text after it would be a fresh cell,
formula included: every cell that holds a carriage return or a line feed is therefore quoted, so that readers
keep it whole. Parquet keeps types and is not opened as a formula sheet, so it is written unchanged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from selene_eval.core.items import items_frame
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import SeleneEvalError
from selene_eval.presentation.frames import with_consensus
from selene_eval.presentation.report import StudyReport
from selene_eval.results.table import JudgmentTables
from selene_eval.study.store import Study

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula."""

TABLE_FORMATS: tuple[str, ...] = ("csv", "parquet")


def neutralise_cell(value: object) -> object:
    """``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through :func:`neutralise_cell`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell).astype(object)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


CSV_LINE_END = "\r\n"
"""Rows end in CR LF (RFC 4180). Python's CSV writer quotes a cell that holds any character of the line end
(before Python 3.12, only those), so with CR LF every cell holding either break is quoted; with "\n" alone a
bare CR was written unquoted and a reader started a new row, and a new cell, after it."""


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (with a BOM, so that Excel reads the accents right), formulas neutralised and
    every cell holding a line break quoted, so that no reader finds a row that starts inside a cell."""
    text = neutralise_frame(frame).to_csv(index=False, lineterminator=CSV_LINE_END, quoting=csv.QUOTE_MINIMAL)
    return text.encode("utf-8-sig")


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet; nested cells (dicts, lists) are stored as JSON text."""
    return _flat(frame).to_parquet(index=False)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, (dict, list, tuple))).any():
            out[column] = out[column].map(
                lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False) if isinstance(v, (dict, list, tuple)) else v
            )
    out.columns = [str(c) for c in out.columns]
    return out


@dataclass(frozen=True)
class StudyTables:
    """The tables of one study, ready to write: name -> frame (``items``, ``metrics``, ``judgments``, ...)."""

    frames: Mapping[str, pd.DataFrame]

    def write(self, directory: str | Path, formats: Iterable[str] = TABLE_FORMATS) -> list[Path]:
        """Write each table in each format to ``directory`` (created); returns the paths written."""
        formats = list(formats)
        unknown = [f for f in formats if f not in TABLE_FORMATS]
        if unknown:
            raise SeleneEvalError(f"Unknown table format(s) {', '.join(unknown)}; use {' or '.join(TABLE_FORMATS)}.")
        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
            written = []
            for name, frame in self.frames.items():
                for fmt in formats:
                    path = out / f"{name}.{fmt}"
                    path.write_bytes(to_csv_bytes(frame) if fmt == "csv" else to_parquet_bytes(frame))
                    written.append(path)
        except OSError as exc:
            raise SeleneEvalError(f"Cannot write the tables to {out}: {exc.strerror or exc}.") from None
        return written


def study_tables(
    study: Study,
    report: StudyReport,
    judges: Mapping[str, JudgeSpec] | None = None,
    *,
    tables: JudgmentTables | None = None,
) -> StudyTables:
    """Every table a methods section or a re-analysis needs.

    * ``items``: the normalized items with each expert's label and the experts' majority.
    * ``metrics``: one row per judge x variant x statistic: value, 95% interval and its method.
    * ``judgments``: one row per judge x variant x item: the judge's label, status and reasoning beside the
      experts' labels and majority (the table to re-analyse elsewhere).
    * ``ceiling``: experts against each other and the judge against each expert (two or more experts).

    ``tables``: the :class:`~selene_eval.results.table.JudgmentTables` the report was built from, if any (each
    judgment table is then built once).
    """
    tables = JudgmentTables(study) if tables is None else tables
    judges = dict(judges) if judges is not None else {j.judge_id: j for j in study.judgments.judges()}
    items = with_consensus(items_frame(study.items), study.spec.task.level, list(study.spec.task.expert_labels))
    frames: dict[str, pd.DataFrame] = {"items": items, "metrics": metrics_long(report)}
    judged = []
    for result in report.results:
        spec = judges.get(result.judge_id)
        if spec is None:
            continue
        table = with_consensus(
            tables.table(spec, result.variant_id), study.spec.task.level, list(study.spec.task.expert_labels)
        )
        table.insert(0, "variant", result.variant_id)
        table.insert(0, "judge", result.judge_name)
        table.insert(0, "judge_id", result.judge_id)
        judged.append(table)
    if judged:
        frames["judgments"] = pd.concat(judged, ignore_index=True)
    ceiling = ceiling_long(report)
    if not ceiling.empty:
        frames["ceiling"] = ceiling
    return StudyTables(frames)


def metrics_long(report: StudyReport) -> pd.DataFrame:
    """Tidy statistics: ``judge, judge_id, variant, statistic, value, ci_low, ci_high, ci_method, n_compared``."""
    rows = []
    for result in report.results:
        a = result.agreement
        if a is None:
            continue
        for name, value in {**a.metrics, **a.extra_metrics}.items():
            interval = a.intervals.get(name)
            rows.append(
                {
                    "judge": result.judge_name,
                    "judge_id": result.judge_id,
                    "variant": result.variant_id,
                    "statistic": name,
                    "value": finite_or_none(value),
                    "ci_low": finite_or_none(interval.low) if interval else None,
                    "ci_high": finite_or_none(interval.high) if interval else None,
                    "ci_method": interval.method if interval else None,
                    "n_compared": a.n_compared,
                    "n_resamples": a.n_resamples,
                    "seed": a.seed,
                }
            )
    columns = [
        "judge",
        "judge_id",
        "variant",
        "statistic",
        "value",
        "ci_low",
        "ci_high",
        "ci_method",
        "n_compared",
        "n_resamples",
        "seed",
    ]
    return pd.DataFrame(rows, columns=columns)


def ceiling_long(report: StudyReport) -> pd.DataFrame:
    """Pairwise agreement among the experts and of the judge with each expert, one row per pair."""
    rows = []
    for result in report.results:
        a = result.agreement
        if a is None or a.ceiling is None:
            continue
        for kind, pairs in (
            ("expert_pair", a.ceiling.expert_pairs),
            ("judge_vs_expert", a.ceiling.judge_vs_expert),
            ("leave_one_out", a.ceiling.leave_one_out),
        ):
            for pair in pairs:
                rows.append(
                    {
                        "judge": result.judge_name,
                        "variant": result.variant_id,
                        "kind": kind,
                        "rater_a": pair.rater_a,
                        "rater_b": pair.rater_b,
                        "n": pair.n,
                        "cohen_kappa": finite_or_none(pair.cohen_kappa),
                        "krippendorff_alpha": finite_or_none(pair.krippendorff_alpha),
                        "accuracy": finite_or_none(pair.accuracy),
                    }
                )
    columns = ["judge", "variant", "kind", "rater_a", "rater_b", "n", "cohen_kappa", "krippendorff_alpha", "accuracy"]
    return pd.DataFrame(rows, columns=columns)
