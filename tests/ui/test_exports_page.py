"""The dashboard's exports through AppTest: start from a public dataset, download buttons, import an archive."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from selene_eval.adapters import KQA, create_study_from_dataset
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.study.archive import export_archive
from selene_eval.testing.dashboard import go, messages, start
from selene_eval.ui.exports import (
    archive_bytes,
    charts_zip,
    html_report_bytes,
    tables_zip,
)

TIMEOUT = 120


@pytest.fixture
def judged_kqa(shared_datasets: Path, studies_dir: Path):
    study = create_study_from_dataset(KQA, shared_datasets / "kqa_physician_nli", StudyStore(studies_dir), "kqa")
    outputs = ["**Reasoning:** States it.\n**Result:** Yes", "**Reasoning:** Does not.\n**Result:** No"]
    run_study(study, ScriptedBackend(JudgeSpec(backend="scripted", model="scripted-ui"), script=outputs), limit=30)
    study.close()
    return StudyStore(studies_dir).open("kqa")


def test_start_from_a_public_dataset_on_the_data_page(shared_datasets: Path, studies_dir: Path) -> None:
    at = go(start(timeout=TIMEOUT), "pages/1_data.py")
    at.selectbox(key="data_dataset").select("kqa").run()
    assert "Licence: MIT" in messages(at)
    at.radio(key="data_dataset_kqa_question").set_value("entailment")
    at.text_input(key="data_dataset_kqa_path").input(str(shared_datasets / "kqa_physician_nli"))
    at.text_input(key="data_dataset_slug").input("kqa-from-ui")
    next(b for b in at.button if b.label == "Create the study").click().run()
    assert not at.exception, [e.message for e in at.exception]
    study = StudyStore(studies_dir).open("kqa-from-ui")
    assert len(study.items) == 185 and study.spec.experts == ["label_0", "label_1", "label_2"]
    assert "Created study **kqa-from-ui**" in messages(at)

    # The same name again is refused with a readable error, and nothing is overwritten.
    at = go(at, "pages/1_data.py")
    at.selectbox(key="data_dataset").select("kqa").run()
    at.text_input(key="data_dataset_kqa_path").input(str(shared_datasets / "kqa_physician_nli"))
    at.text_input(key="data_dataset_slug").input("kqa-from-ui")
    next(b for b in at.button if b.label == "Create the study").click().run()
    assert "already exists" in messages(at)


def test_a_wrong_folder_is_a_readable_error(studies_dir: Path, tmp_path: Path) -> None:
    at = go(start(timeout=TIMEOUT), "pages/1_data.py")
    at.selectbox(key="data_dataset").select("pandalm").run()
    at.text_input(key="data_dataset_pandalm_path").input(str(tmp_path))
    at.text_input(key="data_dataset_slug").input("panda")
    next(b for b in at.button if b.label == "Create the study").click().run()
    assert not at.exception
    assert "No PandaLM test set found" in messages(at)
    assert not StudyStore(studies_dir).exists("panda")


def test_studies_page_offers_the_four_downloads(judged_kqa) -> None:
    at = go(start(timeout=TIMEOUT), "pages/6_studies.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["HTML report", "Tables (CSV + Parquet)", "Charts (SVG + PNG)", "Study archive"]


def test_the_download_contents(judged_kqa, tmp_path: Path) -> None:
    html = html_report_bytes(judged_kqa, 0, 0).decode("utf-8")
    assert '<section id="statistics">' in html and "30 of 185 items judged" in html
    with zipfile.ZipFile(io.BytesIO(tables_zip(judged_kqa, 0, 0))) as archive:
        names = set(archive.namelist())
    assert {"kqa-tables/items.csv", "kqa-tables/metrics.parquet", "kqa-tables/judgments.csv"} <= names
    with zipfile.ZipFile(io.BytesIO(charts_zip(judged_kqa))) as archive:
        names = archive.namelist()
    assert "kqa-charts/expert-labels.svg" in names and "kqa-charts/expert-labels.png" in names
    assert archive_bytes(judged_kqa)[:2] == b"PK"


def test_import_an_archive_on_the_studies_page(judged_kqa, studies_dir: Path) -> None:
    data, _ = export_archive(judged_kqa)
    at = go(start(timeout=TIMEOUT), "pages/6_studies.py")
    at.file_uploader(key="studies_archive").set_value(("kqa.selene.zip", data, "application/zip")).run()
    next(b for b in at.button if b.label == "Import the archive").click().run()
    assert "already exists" in messages(at)  # the same name: refused, never replaced silently
    at.text_input(key="studies_import_as").input("kqa-imported")
    next(b for b in at.button if b.label == "Import the archive").click().run()
    assert not at.exception, [e.message for e in at.exception]
    copy = StudyStore(studies_dir).open("kqa-imported")
    assert len(copy.items) == 185 and copy.judgments.count() == 30
