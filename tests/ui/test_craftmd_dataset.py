"""CRAFT-MD from the Data page's "Start from a public dataset", on workbooks written in the upstream layout."""

from __future__ import annotations

from pathlib import Path

from selene_eval.adapters.craftmd import QUESTIONS
from selene_eval.study import StudyStore
from selene_eval.testing.craftmd_layout import write_craftmd
from selene_eval.testing.dashboard import go, messages, start


def test_craftmd_question_study_from_the_data_page(studies_dir: Path, tmp_path: Path) -> None:
    source = write_craftmd(tmp_path / "craft-md", flat=True)
    at = go(start(timeout=120), "pages/1_data.py")
    at.selectbox(key="data_dataset").select("craftmd").run()
    assert "Licence: MIT" in messages(at)
    at.radio(key="data_dataset_craftmd_question").set_value("terminology")
    at.text_input(key="data_dataset_craftmd_path").input(str(source))
    at.text_input(key="data_dataset_slug").input("craft-q3")
    next(b for b in at.button if b.label == "Create the study").click().run()
    assert not at.exception, [e.message for e in at.exception]
    study = StudyStore(studies_dir).open("craft-q3")
    assert len(study.items) == 6
    assert study.spec.experts == ["dermatologist_1", "dermatologist_2", "dermatologist_3_tiebreak"]
    assert study.spec.rubric == QUESTIONS["terminology"].rubric
    assert all(item.item_id.endswith(":Q3") for item in study.items)
