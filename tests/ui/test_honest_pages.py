"""Honest results on the pages (issue 14, points 6-8 and 12): unreadable answers counted, n/a with its reason
instead of a success message or a blue all-zero matrix, robustness on judged items only, one rounding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.run.runner import RunResult
from selene_eval.study import StudyStore
from selene_eval.testing.dashboard import texts
from selene_eval.testing.studies import make_study as build_study

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUDGE = JudgeSpec(backend="scripted", model="scripted-honest-ui", quantization="none", name="Scripted (not a model)")
READABLE = "**Reasoning:** Fine.\n\n**Result:** Yes"
UNREADABLE = "I would rather not say."


def make_study(
    studies_dir: Path,
    *,
    n: int,
    readable: set[int],
    variants: tuple[str, ...] = ("selene",),
    limit: int | None = None,
    unreadable_variant: str | None = None,
) -> None:
    """A binary study whose two experts always agree; the judge answers readably only for ``readable`` items
    (and never under ``unreadable_variant``)."""

    def answer(messages: list[Message]) -> str:
        text = messages[-1].content
        item = int(text.split("Question ")[1].split(":")[0])
        if unreadable_variant == "selene.layout-json" and "as JSON" in text:
            return UNREADABLE
        return READABLE if item in readable else UNREADABLE

    build_study(
        studies_dir,
        n,
        slug="honest",
        title="Honest",
        experts=("e0", "e1"),
        variants=variants,
        question="Question {i}: is it fine?",
        labels=lambda i: {"e0": "yes" if i % 2 else "no", "e1": "yes" if i % 2 else "no"},
        answers=answer,
        scripted_judge=JUDGE,
        limit=limit,
    ).close()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("honest").run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def no_none_cells(at: AppTest) -> None:
    for frame in at.dataframe:
        value = frame.value
        assert not value.isna().any().any(), value
        assert not value.astype(str).isin(["None", "nan"]).any().any(), value


def test_agreement_with_nothing_compared_says_so_instead_of_success(studies_dir: Path) -> None:
    make_study(studies_dir, n=12, readable=set())
    at = open_page("pages/4_agreement.py")
    row = at.dataframe[0].value.iloc[0]
    assert (row["Judged"], row["Compared"], row["Unreadable"], row["Unreadable share"]) == (12, 0, 12, "100.0%")
    assert (row["Accuracy"], row["Cohen's kappa"], row["Krippendorff's alpha"]) == ("n/a", "n/a", "n/a")
    captions = texts(at.caption)
    assert "no item has both a judge label and an expert consensus" in captions
    assert "cohen_kappa" not in captions and "krippendorff_alpha" not in captions
    # No success message, no all-zero confusion matrix: the page says there was nothing to compare.
    assert "judge gave the experts' majority label" not in texts(at.success)
    assert "nothing to agree or disagree on" in texts(at.info)
    assert "No confusion matrix" in texts(at.info)
    assert len(at.get("vega_lite_chart")) == 1  # the label shares only
    assert "12 answers of 12 (100.0%) had no readable label" in texts(at.warning)
    no_none_cells(at)


def test_agreement_below_the_minimum_shows_na_with_the_reason_and_names_the_big_numbers(studies_dir: Path) -> None:
    make_study(studies_dir, n=12, readable={1, 3})  # two compared items, both agreeing: a "success" before
    at = open_page("pages/4_agreement.py")
    row = at.dataframe[0].value.iloc[0]
    assert row["Compared"] == 2 and row["Cohen's kappa"] == "n/a" and row["Accuracy"] == "n/a"
    reason = "it would rest on 2 compared items, fewer than this study's minimum of 10"
    assert reason in texts(at.caption)
    detail = at.table[0].value
    assert (
        detail.loc["Gwet's AC1", "Value"] == "n/a"
        and detail.loc["Gwet's AC1", "Method, or why n/a"] == f"n/a: {reason}"
    )
    assert "On all" not in texts(at.success) and "too few to conclude" in texts(at.info)
    assert "No confusion matrix" not in texts(at.info)  # two items were compared: the matrix is real counts
    # The three big numbers say which statistic they are.
    labels = [m.label for m in at.metric]
    assert labels == [
        "Alpha, 2 experts among themselves",
        "Alpha, judge vs experts' majority",
        "Alpha, experts + the judge as one more",
    ]
    assert "Krippendorff's alpha" in texts(at.markdown)
    assert at.metric[1].value == "n/a"
    no_none_cells(at)


def test_studies_and_agreement_round_a_statistic_alike(studies_dir: Path) -> None:
    # The example study's kappa is exactly 0.8125: the Agreement table showed 0.813, the Studies page 0.812.
    shutil.copytree(REPO / "studies" / "example-finance", studies_dir / "example-finance")
    StudyStore(studies_dir).duplicate("example-finance", "finance-copy").close()  # the comparison needs two
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("example-finance").run()
    at.switch_page("pages/4_agreement.py").run()
    table = at.dataframe[0].value.set_index("Prompt variant")
    on_agreement = table.loc["selene-ref", "Cohen's kappa"]
    at.switch_page("pages/6_studies.py").run()
    assert not at.exception, [e.message for e in at.exception]
    compact = next(f.value for f in at.dataframe if "Figure" in f.value.columns).set_index("Figure")
    column = next(c for c in compact.columns if c.endswith("· selene-ref"))
    assert on_agreement == compact.loc["Cohen's kappa", column] == "0.812"


def test_run_summary_counts_unreadable_answers() -> None:
    def page() -> None:
        from selene_eval.run.runner import RunResult
        from selene_eval.ui import run

        run.page_link = lambda *args, **kwargs: None  # a lone function has no pages to link to
        run.run_outcome(RunResult("j", 24, 0, 24, 0, 0, False, 3.0, n_unreadable=21))

    at = AppTest.from_function(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.success  # 21 of 24 unreadable is no success
    warning = texts(at.warning)
    assert "21 of 24 answers had no readable label" in warning
    assert "24 judgments made (21 of them without a readable label), 0 already stored, 0 failed" in warning
    assert RunResult("j", 1, 0, 1, 0, 0, False, 1.0).summary() == "1 judgment made, 0 already stored, 0 failed"


def test_unreadable_hint_names_the_setting_as_the_run_page_does() -> None:
    def page() -> None:
        import pandas as pd

        from selene_eval.ui.results import unparseable_table

        unparseable_table(
            pd.DataFrame(
                {
                    "item_id": ["1", "2"],
                    "input": ["q", "q"],
                    "response": ["a", "a"],
                    "judge_label": [None, "yes"],
                    "judge_status": ["missing_result", "ok"],
                    "judge_reasoning": [None, "ok"],
                    "judge_raw": ["cut", "ok"],
                    "judge_finish": ["length", "stop"],
                }
            )
        )

    at = AppTest.from_function(page).run()
    assert not at.exception, [e.message for e in at.exception]
    hint = texts(at.caption)
    assert "Longest answer (tokens)" in hint and "max new tokens" not in hint
    assert "1 answer of these stopped" in hint


def test_heatmap_frame_draws_judged_items_only_and_says_why_a_cell_is_empty() -> None:
    from selene_eval.ui.robustness import heatmap_frame

    def table(labels: list[str | None], statuses: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"item_id": ["a", "b", "c"], "judge_label": labels, "judge_status": statuses})

    frame = heatmap_frame(
        {
            "x": table(["yes", None, None], ["ok", "missing_result", "pending"]),
            "y": table(["no", "yes", None], ["ok", "ok", "pending"]),
            "z": table([None, None, None], ["pending", "ambiguous", "pending"]),
        },
        ["yes", "no", "yes"],
    )
    assert sorted(set(frame["item"])) == ["a", "b"]  # "c" was never judged: not drawn
    cells = frame.set_index(["item", "condition"])["label"]
    assert (cells["a", "z"], cells["b", "x"], cells["b", "z"]) == ("not judged", "unreadable", "unreadable")
    assert frame.set_index(["item", "condition"])["instability"]["a", "x"] == 2


def test_robustness_counts_judged_items_only_and_names_a_variant_missing_from_the_plot(studies_dir: Path) -> None:
    variants = ("selene", "selene.layout-xml", "selene.layout-json")
    make_study(
        studies_dir, n=30, readable=set(range(30)), variants=variants, limit=12, unreadable_variant="selene.layout-json"
    )
    at = open_page("pages/5_robustness.py")
    assert not at.error, [e.value for e in at.error]
    captions = texts(at.caption)
    assert "12 items judged under all 3 variants" in captions
    assert "18 of the study's 30 items not judged yet" in captions
    assert "Every judged item (12). 18 items not judged under any variant are left out." in captions
    assert "of 30 items" not in captions
    warning = texts(at.warning)
    assert "Not in the plot" in warning and "selene.layout-json: all 12 answers had no readable label" in warning
    table = at.dataframe[0].value.set_index("Prompt variant")
    assert table.loc["selene.layout-json", "Unreadable"] == "100.0%"
    assert table.loc["selene.layout-json", "Cohen's kappa"] == "n/a"
    first = at.selectbox(key="robust_item").options[0]  # any judged item (a pilot may be a sample, not 0-11)
    at.selectbox(key="robust_item").set_value(first).run()
    reasons = at.dataframe[-1].value.set_index("Variant")
    assert reasons.loc["selene.layout-json", "Label"] == "unreadable"
    assert reasons.loc["selene.layout-json", "Status"] == "no result line"
    no_none_cells(at)


def test_the_study_minimum_is_set_on_the_agreement_page_and_saved(studies_dir: Path) -> None:
    make_study(studies_dir, n=12, readable={1, 3})
    at = open_page("pages/4_agreement.py")
    assert at.number_input(key="agree_min_compared").value == 10
    assert at.dataframe[0].value.iloc[0]["Accuracy"] == "n/a"
    at.number_input(key="agree_min_compared").set_value(2).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe[0].value.iloc[0]["Accuracy"] == "1.000"
    assert StudyStore(studies_dir).open("honest").spec.min_compared == 2
