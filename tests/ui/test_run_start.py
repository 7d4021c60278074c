"""The Run page starts its run with start_run (selene_eval.run.start), as the command line does, passing the
dashboard's batch-size rule and its shared model loader; a study another run holds is refused in words."""

from __future__ import annotations

from pathlib import Path

import pytest

import selene_eval.ui.run as ui_run
from selene_eval.run.start import start_run
from selene_eval.study import StudyStore
from tests.ui.test_app import go, make_study, open_in_sidebar, start, texts


def test_the_run_page_starts_its_run_with_start_run(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir, n=5)
    calls: list[dict[str, object]] = []

    def spy(study: object, plan: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return start_run(study, plan, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ui_run, "start_run", spy)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("scripted").run()
    at.number_input(key="run_batch").set_value(2).run()
    at.button(key="run_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Run finished: 5 judgments made" in texts(at.success)
    assert len(calls) == 1
    assert calls[0]["batch_size"] == 2 and calls[0]["fill_server_slots"] is True
    assert calls[0]["load_backend"] is not None  # the dashboard's one loaded model, not a new one per run
    study = StudyStore(studies_dir).open("demo")
    assert study.spec.judge.backend == "scripted"  # start_run saved the judge
    study.close()


def test_the_run_page_refuses_a_study_another_run_holds(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir, n=3)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("scripted").run()
    study = StudyStore(studies_dir).open("demo")
    saved = study.spec.judge
    with study.run_lock(owner="the command line"):
        at.button(key="run_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    error = texts(at.error)
    assert "Another run is judging this study" in error and "the command line" in error, error
    assert StudyStore(studies_dir).open("demo").spec.judge == saved and saved.backend != "scripted"
    study.close()
