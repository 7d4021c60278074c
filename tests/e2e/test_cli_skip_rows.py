"""``import --skip-bad-ids``: a file with a few bad item ids is imported without them, and the study says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.study import StudyStore


def write_file(path: Path) -> Path:
    """14 rows; row 3 has no id and rows 5 and 9 share the id 'q4'."""
    ids = [f"q{k}" for k in range(1, 15)]
    ids[2], ids[8] = "", "q5"
    lines = ["id,question,answer,label"]
    lines += [
        f"{item_id},Question {k}?,Answer {k}.,{'yes' if k % 3 else 'no'}" for k, item_id in enumerate(ids, start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ARGS = ["--task", "binary", "--map", "id=id", "input=question", "response=answer", "expert=label", "--study", "s"]


def test_bad_ids_refuse_the_file_and_say_how_to_skip_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upload = write_file(tmp_path / "labels.csv")
    assert main(["--studies-dir", str(tmp_path / "studies"), "import", str(upload), *ARGS]) != 0
    err = capsys.readouterr().err
    assert "no item id" in err and "'q5' (rows 5, 9)" in err and "On the command line: --skip-bad-ids" in err
    assert not StudyStore(tmp_path / "studies").exists("s")


def test_skip_bad_ids_imports_the_other_rows_and_records_the_skipped_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = write_file(tmp_path / "labels.csv")
    assert main(["--studies-dir", str(tmp_path / "studies"), "import", str(upload), *ARGS, "--skip-bad-ids"]) == 0
    assert "3 rows are left out as asked: rows 3, 5 and 9" in capsys.readouterr().err
    study = StudyStore(tmp_path / "studies").open("s")
    try:
        assert [item.item_id for item in study.items] == [f"q{k}" for k in (1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14)]
        assert [(s.row, s.reason) for s in study.spec.skipped_rows] == [
            (3, "no item id"),
            (5, "item id 'q5' is on 2 rows"),
            (9, "item id 'q5' is on 2 rows"),
        ]
    finally:
        study.close()
    assert "skipped_rows:" in (tmp_path / "studies" / "s" / "study.yaml").read_text(encoding="utf-8")


def test_the_html_report_names_the_skipped_rows(tmp_path: Path) -> None:
    from selene_eval.presentation.html import build_html_report

    upload = write_file(tmp_path / "labels.csv")
    assert main(["--studies-dir", str(tmp_path / "studies"), "import", str(upload), *ARGS, "--skip-bad-ids"]) == 0
    study = StudyStore(tmp_path / "studies").open("s")
    try:
        html = build_html_report(study, n_resamples=0)
    finally:
        study.close()
    assert "Rows left out on import</th><td>3: row 3 (no item id); row 5 (item id &#39;q5&#39; is on 2 rows)" in html
