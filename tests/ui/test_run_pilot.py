"""The Run page's pilot (a seeded stratified sample), its time estimate, and the sidebar's judge during a run;
the open study's downloads on the Agreement and Robustness pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.run.runner import pilot_sample
from selene_eval.study import StudyStore
from selene_eval.testing.dashboard import go, open_in_sidebar, start, texts
from selene_eval.testing.studies import even_odd_study as make_study


def judged_items(studies_dir: Path, slug: str = "demo") -> set[str]:
    study = StudyStore(studies_dir).open(slug)
    try:
        return {j.item_id for j in study.judgments.get(_keys(study)).values()}
    finally:
        study.close()


def _keys(study) -> list[str]:
    conn = study.judgments._conn
    return [r[0] for r in conn.execute("SELECT cache_key FROM judgments")]


def test_a_pilot_judges_a_seeded_sample_and_says_how_long_the_next_run_takes(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir, n=30)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("scripted").run()
    at.checkbox(key="run_limit_on").check().run()
    at.number_input(key="run_limit").set_value(6).run()
    at.number_input(key="run_sample_seed").set_value(4).run()
    plan = texts(at.info)
    assert "random sample of the study's 30" in plan and "seed 4" in plan, plan
    assert "measured on the first batch" in plan  # the judge was never timed
    at.button(key="run_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Run finished: 6 judgments made" in texts(at.success)
    study = StudyStore(studies_dir).open("demo")
    expected = {i.item_id for i in pilot_sample(study.items, 6, seed=4)}
    study.close()
    assert judged_items(studies_dir) == expected != {str(i) for i in range(6)}  # not the first six rows
    # The next run is timed from the pilot's pace.
    at.checkbox(key="run_limit_on").uncheck().run()
    assert "It should take" in texts(at.info) and "6 judgments in this study" in texts(at.info)


def test_the_sidebar_names_the_judge_chosen_for_the_run(studies_dir: Path, no_hub_cache: Path) -> None:
    make_study(studies_dir)  # its saved judge is Selene, whose weights are not here
    at = open_in_sidebar(start(), "demo")
    assert "model files not found" in texts(at.sidebar.caption).lower()
    go(at, "pages/3_run.py")
    at.radio(key="run_kind").set_value("demo").run()
    # The sidebar is drawn before the page, so the run started by the next click shows this same sidebar.
    sidebar = texts(at.sidebar.caption)
    assert "Judge chosen on the Run page: SmolLM2" in sidebar, sidebar
    assert "not found" not in sidebar.lower()
    go(at, "pages/4_agreement.py")
    assert "SmolLM2" in texts(at.sidebar.caption)  # on every page, until a run saves it with the study


@pytest.mark.parametrize("page", ["pages/4_agreement.py", "pages/5_robustness.py"])
def test_results_pages_offer_the_open_studys_downloads(studies_dir: Path, page: str) -> None:
    make_study(studies_dir, "other", judged=True, title="Other study")
    make_study(studies_dir, "mine", judged=True, title="My study", variants=("selene", "selene.layout-xml"))
    at = go(open_in_sidebar(start(), "mine"), page)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == [
        "HTML report",
        "Tables (CSV + Parquet)",
        "Charts (SVG + PNG)",
        "Study archive",
    ]
    note = texts(at.markdown)
    assert "My study" in note and "mine-report.html" in note and "Other study" not in note


def test_the_studies_page_names_the_study_its_downloads_are_of(studies_dir: Path) -> None:
    make_study(studies_dir, "another", judged=True, title="Another")
    make_study(studies_dir, "mine", judged=True, title="Mine")
    at = go(start(), "pages/6_studies.py")  # no study open: the list's first
    assert "another-report.html" in texts(at.markdown)
    # Opening a study elsewhere moves the Studies page's choice (and its downloads) to it.
    at = go(open_in_sidebar(at, "mine"), "pages/6_studies.py")
    assert at.selectbox(key="studies_selected").value == "mine"
    assert "mine-report.html" in texts(at.markdown) and "Mine" in texts(at.markdown)


def test_the_progress_bar_says_the_expected_time_until_the_first_batch_is_done() -> None:
    from selene_eval.run.runner import Progress
    from selene_eval.ui.run import _show_progress

    class Bar:
        def progress(self, value: float, text: str) -> None:
            self.value, self.text = value, text

    bar = Bar()
    _show_progress(bar, Progress(0, 40, 0, 0, 0.0), "expected time about 2 min 00 s")  # type: ignore[arg-type]
    assert (bar.value, bar.text) == (0.0, "0 of 40 judgments done · expected time about 2 min 00 s")
    _show_progress(bar, Progress(8, 40, 0, 0, 16.0), "expected time about 2 min 00 s")  # type: ignore[arg-type]
    assert bar.value == 0.2 and "about 1 min 04 s left" in bar.text and "expected" not in bar.text
