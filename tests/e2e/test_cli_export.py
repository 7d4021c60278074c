"""The export commands end to end, as a user types them: datasets, report --html, export, import-archive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from selene_eval.testing.expected import REPORT_SECTIONS

REPO = Path(__file__).resolve().parents[2]


def cli(studies: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m selene_eval --studies-dir STUDIES ARGS`` in a fresh process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "selene_eval", "--studies-dir", str(studies), *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=600,
    )


def sections(html: str) -> list[str]:
    return [s for s in re.findall(r'<section id="([a-z]+)">', html) if s != "robustness"]


def test_kqa_from_the_shared_copy_to_html_report_tables_charts_and_archive(
    shared_datasets: Path, studies_dir: Path, tmp_path: Path
) -> None:
    out = cli(
        studies_dir, "datasets", "import", "kqa", "--from", str(shared_datasets / "kqa_physician_nli"), "--study", "kqa"
    )
    assert out.returncode == 0, out.stderr
    assert "Imported 185 items with 3 expert(s)" in out.stdout and "MIT" in out.stderr

    fresh = tmp_path / "fresh.html"
    out = cli(studies_dir, "report", "kqa", "--html", str(fresh), "--resamples", "0")
    assert out.returncode == 0, out.stderr
    html = fresh.read_text(encoding="utf-8")
    assert sections(html) == REPORT_SECTIONS and "No judgments yet" in html

    out = cli(studies_dir, "run", "kqa", "--backend", "scripted", "--limit", "40")
    assert out.returncode == 0, out.stderr
    judged = tmp_path / "judged.html"
    out = cli(studies_dir, "report", "kqa", "--html", str(judged), "--resamples", "200", "--seed", "3")
    assert out.returncode == 0, out.stderr
    html = judged.read_text(encoding="utf-8")
    assert sections(html) == REPORT_SECTIONS and "40 of 185 items judged" in html
    assert "200 resamples (seed 3)" in html and 'data-chart="expert-labels"' in html and "confusion-" in html

    out = cli(
        studies_dir,
        "export",
        "kqa",
        "--tables",
        str(tmp_path / "t"),
        "--charts",
        str(tmp_path / "c"),
        "--chart-format",
        "svg",
        "--archive",
        str(tmp_path / "kqa.zip"),
        "--resamples",
        "0",
    )
    assert out.returncode == 0, out.stderr
    metrics = pd.read_csv(tmp_path / "t" / "metrics.csv", encoding="utf-8-sig")
    assert {"accuracy", "cohen_kappa", "krippendorff_alpha"} <= set(metrics["statistic"])
    judgments = pd.read_parquet(tmp_path / "t" / "judgments.parquet")
    assert len(judgments) == 185 and judgments["judge_label"].notna().sum() == 40
    assert all(p.read_text().startswith("<svg") for p in (tmp_path / "c").glob("*.svg"))

    out = cli(studies_dir, "import-archive", str(tmp_path / "kqa.zip"))
    assert out.returncode == 2 and "already exists" in out.stderr and "Traceback" not in out.stderr
    out = cli(studies_dir, "import-archive", str(tmp_path / "kqa.zip"), "--as", "kqa-copy")
    assert out.returncode == 0, out.stderr
    assert "185 items, 40 judgments" in out.stdout


def test_export_errors_are_one_line(studies_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    out = cli(studies_dir, "import-archive", str(bad))
    assert out.returncode == 2 and "not a zip" in out.stderr and "Traceback" not in out.stderr
    out = cli(studies_dir, "datasets", "import", "nope", "--from", str(tmp_path), "--study", "x")
    assert out.returncode == 2 and "known: kqa" in out.stderr
    out = cli(studies_dir, "export", "missing", "--archive", str(tmp_path / "a.zip"))
    assert out.returncode == 2 and "No study named 'missing'" in out.stderr


def test_datasets_list_names_every_adapter_with_its_licence(studies_dir: Path) -> None:
    out = cli(studies_dir, "datasets", "list")
    assert out.returncode == 0, out.stderr
    for name, licence in (
        ("kqa", "MIT"),
        ("financebench", "CC-BY-NC-4.0"),
        ("expertqa", "MIT"),
        ("pandalm", "Apache-2.0"),
        ("healthbench", "MIT"),
        ("mtbench", "CC-BY-4.0"),
    ):
        assert re.search(rf"^{name}\s", out.stdout, flags=re.M) and licence in out.stdout
