"""Agreement page sections of issue #17: error profile and ambiguity, and "Using the judge on the unlabelled
items" - with unlabelled items, with none (says why it is empty) and with no expert label at all (says what is
missing)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.testing.dashboard import texts
from selene_eval.testing.studies import make_study as build_study
from selene_eval.testing.studies import slipping_experts

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUDGE = JudgeSpec(backend="scripted", model="scripted-profile-ui", quantization="none", name="Scripted (not a model)")


def make_study(studies_dir: Path, *, n: int, n_labelled: int) -> None:
    """A binary study of ``n`` items, the first ``n_labelled`` with three experts' labels; all judged."""

    def answer(messages: list[Message]) -> str:
        item = int(messages[-1].content.split("Question ")[1].split(":")[0])
        verdict = "Yes" if (item % 2) != (item % 9 == 0) else "No"  # wrong on every 9th item
        return f"**Reasoning:** Fine.\n\n**Result:** {verdict}"

    experts = ("e0", "e1", "e2")
    build_study(
        studies_dir,
        n,
        slug="profile",
        title="Profile",
        experts=experts,
        labels=slipping_experts(experts),
        n_labelled=n_labelled,
        question="Question {i}: is it fine?",
        answers=answer,
        scripted_judge=JUDGE,
    ).close()


def open_agreement() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.selectbox(key="app_study").set_value("profile").run()
    at.switch_page("pages/4_agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def frame_with(at: AppTest, column: str):
    """The static table (st.table) with ``column``, its row names back as the first column."""
    return next(t.value.reset_index() for t in at.table if column in t.value.reset_index().columns)


def test_sections_show_the_profile_ambiguity_and_ppi_estimates(studies_dir: Path) -> None:
    make_study(studies_dir, n=80, n_labelled=50)
    at = open_agreement()
    headers = texts(at.subheader)
    assert "Error profile and ambiguous items" in headers and "Using the judge on the unlabelled items" in headers
    overall = frame_with(at, "Interval")
    assert list(overall["Statistic"]) == ["Accuracy", "Balanced accuracy", "Majority-label baseline"]
    assert all(" – " in text for text in overall["Interval"])
    per_label = frame_with(at, "Sensitivity (recall)")
    assert list(per_label["Label"]) == ["yes", "no"] or list(per_label["Label"]) == ["no", "yes"]
    ambiguity = frame_with(at, "Count")
    assert {"unanimous items", "split items"} <= set(ambiguity["Items"])
    estimates = frame_with(at, "PPI++")
    assert "share of 'yes'" in set(estimates["Quantity"])
    assert "30" in texts(at.markdown)  # the unlabelled items are counted
    assert "Rogan–Gladen" in texts(at.caption)


def test_no_unlabelled_items_says_why_the_section_is_empty(studies_dir: Path) -> None:
    make_study(studies_dir, n=40, n_labelled=40)
    at = open_agreement()
    assert "every item has an expert label, so there are no unlabelled items" in texts(at.info)
    assert frame_with(at, "Sensitivity (recall)") is not None  # the error profile is still shown


def test_every_item_unlabelled_says_what_is_missing(studies_dir: Path) -> None:
    make_study(studies_dir, n=30, n_labelled=0)
    at = open_agreement()
    info = texts(at.info)
    assert "have experts label a random sample of the items" in info
    assert "No error profile: there are no compared items" in info
