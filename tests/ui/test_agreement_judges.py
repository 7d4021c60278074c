"""The Agreement page with several judges (side by side, paired tests, grid) and with label probabilities."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.testing.studies import make_study as build_study

APP = str(Path(__file__).resolve().parents[2] / "app.py")
N = 30


def _truth(i: int) -> str:
    return "yes" if i % 3 else "no"


class ConfidentScripted(ScriptedBackend):
    """A scripted judge that also reports label probabilities (0.9 on its answer), as a model backend would."""

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        out = []
        for gen in super().generate(prompts, choices):
            said = "yes" if gen.text.rstrip().endswith("Yes") else "no"
            out.append(
                Generation(
                    gen.text,
                    gen.finish_reason,
                    gen.n_prompt_tokens,
                    gen.n_new_tokens,
                    label_probs={said: 0.9, ("no" if said == "yes" else "yes"): 0.1},
                )
            )
        return out


def scripted(right: set[int]):
    def answer(messages: list[Message]) -> str:
        i = int(re.search(r"Question (\d+)\?", messages[-1].content).group(1))  # type: ignore[union-attr]
        label = _truth(i) if i in right else ("no" if _truth(i) == "yes" else "yes")
        return f"**Reasoning:** reasoning of item {i}\n\n**Result:** {label.capitalize()}"

    return answer


@pytest.fixture
def two_judge_study(studies_dir: Path) -> str:
    study = build_study(
        studies_dir,
        N,
        slug="judges",
        title="two judges",
        experts=("ann", "bob"),
        reference="Reference {i}.",
        labels=lambda i: {"ann": _truth(i), "bob": _truth(i)},
        variants=("selene", "selene-ref"),
    )
    x = JudgeSpec(backend="scripted", model="judge-x", name="Judge X")
    y = JudgeSpec(backend="scripted", model="judge-y", name="Judge Y")
    run_study(study, ConfidentScripted(x, script=scripted(set(range(24)))))
    run_study(study, ScriptedBackend(y, script=scripted(set(range(12)))))
    study.close()
    return "judges"


def test_agreement_page_compares_judges_and_shows_calibration(two_judge_study: str) -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.sidebar.selectbox(key="app_study").set_value(two_judge_study).run()
    at.switch_page("pages/4_agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Judges side by side" in [s.value for s in at.subheader]
    pairs = next(df.value for df in at.dataframe if "Judge A" in df.value.columns)
    row = pairs.iloc[0]
    assert {row["Judge A"], row["Judge B"]} == {"Judge X", "Judge Y"}
    assert row["Items"] == N and row["More than noise?"] in ("yes", "no")
    assert row["Labels differ"] == pytest.approx(12 / N)
    # The forest plot, the judge x variant grid and the charts of the detail section are drawn.
    assert len(at.get("vega_lite_chart")) >= 4
    # Fewer resamples is a setting; 'none' removes the intervals.
    at.selectbox(key="app_resamples").set_value(0).run()
    assert not at.exception, [e.message for e in at.exception]
    pairs = next(df.value for df in at.dataframe if "Judge A" in df.value.columns)
    assert pairs.iloc[0]["95% interval"] == ""
    # Disagreements between the two judges: both reasonings side by side.
    table = next(df.value for df in at.dataframe if "A's reasoning" in df.value.columns)
    assert len(table) == 12


def test_calibration_section_for_a_judge_with_probabilities(two_judge_study: str) -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.sidebar.selectbox(key="app_study").set_value(two_judge_study).run()
    at.switch_page("pages/4_agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    picker = at.selectbox(key="agree_pick")
    titles = {title: i for i, title in enumerate(picker.options)}  # options are the formatted titles
    shown = {}
    for judge in ("Judge X", "Judge Y"):
        index = next(i for title, i in titles.items() if judge in title and "selene-ref" not in title)
        at.selectbox(key="agree_pick").set_value(index).run()
        assert not at.exception, [e.message for e in at.exception]
        assert "Is the judge's confidence worth anything?" in [s.value for s in at.subheader]
        shown[judge] = ({m.label: m.value for m in at.metric}, " ".join(c.value for c in at.caption))
    metrics, _ = shown["Judge X"]
    # Judge X says 0.9 on every verdict and is right on 24 of 30: ECE = |0.8 - 0.9| = 0.1.
    assert metrics["Mean confidence"] == "0.900"
    assert metrics["Share right"] == "0.800"
    assert metrics["Expected calibration error"] == "0.100"
    metrics, captions = shown["Judge Y"]
    assert "Expected calibration error" not in metrics and "gave no label probabilities" in captions


def test_a_judge_can_be_renamed_from_the_agreement_page(two_judge_study: str) -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.sidebar.selectbox(key="app_study").set_value(two_judge_study).run()
    at.switch_page("pages/4_agreement.py").run()
    judge_id = JudgeSpec(backend="scripted", model="judge-y", name="Judge Y").judge_id
    at.selectbox(key="agree_rename_judge").set_value(judge_id).run()
    at.text_input(key=f"agree_rename_{judge_id}").set_value("Base model").run()
    next(b for b in at.button if b.label == "Save the name").click().run()
    assert not at.exception, [e.message for e in at.exception]
    pairs = next(df.value for df in at.dataframe if "Judge A" in df.value.columns)
    assert "Base model" in {pairs.iloc[0]["Judge A"], pairs.iloc[0]["Judge B"]}


def test_planning_says_how_many_items_an_interval_width_needs(two_judge_study: str) -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.sidebar.selectbox(key="app_study").set_value(two_judge_study).run()
    at.switch_page("pages/4_agreement.py").run()
    at.number_input(key="agree_plan_width").set_value(0.2).run()
    assert not at.exception, [e.message for e in at.exception]
    metric = next(m for m in at.metric if m.label == "Items with expert labels needed")
    needed_02 = int(metric.value.replace(",", ""))
    at.number_input(key="agree_plan_width").set_value(0.1).run()
    metric = next(m for m in at.metric if m.label == "Items with expert labels needed")
    needed_01 = int(metric.value.replace(",", ""))
    # Halving the width needs about four times the items.
    assert 3.9 * needed_02 <= needed_01 <= 4.1 * needed_02 + 4


def test_reading_a_study_keeps_its_cached_statistics_and_a_new_judgment_refreshes_them(
    two_judge_study: str, studies_dir: Path
) -> None:
    # Opening the judgments creates SQLite's -shm/-wal files and closing the last connection removes them;
    # when they counted, every visit of the Agreement page recomputed its statistics.
    from selene_eval.presentation.report import study_report
    from selene_eval.ui.results import study_fingerprint

    store = StudyStore(studies_dir)
    study = store.open(two_judge_study)
    before = study_fingerprint(study)
    study_report(study, n_resamples=0)  # reads every judgment
    assert study_fingerprint(study) == before
    assert study_fingerprint(store.open(two_judge_study)) == before
    study.close()
    assert study_fingerprint(store.open(two_judge_study)) == before

    again = store.open(two_judge_study)
    z = JudgeSpec(backend="scripted", model="judge-z")
    run_study(again, ScriptedBackend(z, script=scripted(set(range(N)))), variant_ids=["selene"], limit=1)
    assert study_fingerprint(again) != before  # while the connection is open (data in the -wal) ...
    again.close()
    assert study_fingerprint(store.open(two_judge_study)) != before  # ... and after it closed
