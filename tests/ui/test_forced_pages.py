"""Issue #16 on the pages: forced labels counted apart on the Agreement page, statistics with and without them,
and the Run page's "force a verdict" setting (on by default for the demo judge only)."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from selene_eval.run.runner import run_study
from selene_eval.testing.forcing import ForcingBackend, experts_say_no, forcing_script

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")


def make_study(studies_dir: Path) -> None:
    """12 items the experts call "no": 4 written "Yes", 6 forced "no", 2 unreadable (see the unit test's backend)."""
    study = experts_say_no(studies_dir, slug="forced", title="Forced")
    run_study(study, ForcingBackend(forcing_script))
    study.close()


def test_agreement_counts_forced_labels_apart_and_reads_the_statistics_without_them(studies_dir: Path) -> None:
    make_study(studies_dir)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("forced").run()
    at.switch_page("pages/4_agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    row = at.dataframe[0].value.iloc[0]
    assert (row["Judged"], row["Compared"], row["Forced"], row["Unreadable"], row["Accuracy"]) == (
        12,
        10,
        6,
        2,
        "0.600",
    )
    assert "6 of 12 judge answers wrote no readable result; their label was forced" in "\n".join(
        i.value for i in at.info
    )
    at.checkbox(key="app_include_forced").set_value(False).run()
    assert not at.exception, [e.message for e in at.exception]
    row = at.dataframe[0].value.iloc[0]
    assert (row["Compared"], row["Forced"], row["Unreadable"], row["Accuracy"]) == (4, 6, 8, "0.000")


def test_the_run_page_gives_the_demo_judge_its_forcing_and_budget_by_default(studies_dir: Path) -> None:
    make_study(studies_dir)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("forced").run()
    at.switch_page("pages/3_run.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.radio(key="run_kind").set_value("selene").run()
    assert at.checkbox(key="run_force_verdict:selene").value is False
    assert at.number_input(key="run_max_new_tokens").value == 512
    at.radio(key="run_kind").set_value("demo").run()
    assert at.checkbox(key="run_force_verdict:demo").value is True
    assert at.number_input(key="run_max_new_tokens").value == 256  # the demo judge's measured budget
    assert re.search("Force a verdict", at.checkbox(key="run_force_verdict:demo").label)
