"""The dashboard through Streamlit's AppTest, always starting from ``app.py`` as a user would.

Uploads are simulated with ``at.file_uploader[...].set_value((name, bytes, mime))`` (AppTest 1.67). Every test
gets its own studies folder (``SELENE_EVAL_STUDIES_DIR``, see ``conftest.py``). The full flow runs the tiny
real Llama model built on the fly (``build_tiny_model(..., answer_label="yes")``), so the judge's labels are
known and the expected statistics can be computed independently here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.study import StudyStore
from selene_eval.testing import build_tiny_model
from selene_eval.testing.dashboard import APP, go, open_in_sidebar, start, texts
from selene_eval.testing.studies import DASHBOARD_JUDGE
from selene_eval.testing.studies import even_odd_study as make_study
from selene_eval.testing.studies import make_study as build_study
from selene_eval.ui.data import label_value_key

PAGES = [
    "pages/1_data.py",
    "pages/2_prompts.py",
    "pages/3_run.py",
    "pages/4_agreement.py",
    "pages/5_robustness.py",
    "pages/6_studies.py",
]
REPO = Path(__file__).resolve().parents[2]

# The full flow's file: two experts with their own words for the labels ("Unsure" will mean "no label").
EXPERT_A = [
    "Correct",
    "Correct",
    "Incorrect",
    "Correct",
    "Incorrect",
    "Correct",
    "Correct",
    "Incorrect",
    "Correct",
    "Incorrect",
    "Correct",
    "Incorrect",
]
EXPERT_B = [
    "Correct",
    "Incorrect",
    "Incorrect",
    "Correct",
    "Incorrect",
    "Unsure",
    "Correct",
    "Correct",
    "Correct",
    "Incorrect",
    "Correct",
    "Incorrect",
]
LABEL_MEANING = {"Correct": "yes", "Incorrect": "no", "Unsure": None}


def flow_csv() -> bytes:
    lines = ["question,answer,expert_a,expert_b"]
    for i, (a, b) in enumerate(zip(EXPERT_A, EXPERT_B)):
        lines.append(f'"What is the dose of drug {i}?","Take {i} mg, twice a day.",{a},{b}')
    return ("\n".join(lines) + "\n").encode()


def make_other_task_study(studies_dir: Path, task: TaskType) -> None:
    """A small judged study of another task (1-5 scores, or A/B with ties among the experts)."""
    labels = list(task.expert_labels)
    build_study(
        studies_dir,
        15,
        slug=task.value,
        title=task.value,
        task=task,
        response="Answer {i}.",
        labels=lambda i: {"e1": labels[i % len(labels)], "e2": labels[(i + i // 3) % len(labels)]},
        backend=ScriptedBackend(DASHBOARD_JUDGE),
    ).close()


@pytest.fixture(scope="module")
def tiny_yes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real Llama-3.1-style model that always answers '**Result:** yes' in Selene's format."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "yes-model", answer_label="yes")


# --- every page opens ----------------------------------------------------------------------------------


def test_every_page_opens_without_a_study(studies_dir: Path) -> None:
    at = start()
    assert "Studies are stored in" in texts(at.sidebar.caption)
    assert str(studies_dir.resolve()) in texts(at.sidebar.code)
    for page in PAGES:
        go(at, page)
        assert at.title, page
    # Pages that need a study say so and point to where to get one.
    go(at, "pages/4_agreement.py")
    assert "No study is open" in texts(at.info)


def test_every_page_opens_on_a_judged_study(studies_dir: Path) -> None:
    make_study(studies_dir, judged=True, variants=("selene", "selene-ref"))
    at = open_in_sidebar(start(), "demo")
    for page in PAGES:
        go(at, page)
        assert not at.error, (page, texts(at.error))
    # Two prompt variants: one row each, and either can be looked at in detail.
    go(at, "pages/4_agreement.py")
    assert list(at.dataframe[0].value["Prompt variant"]) == ["selene", "selene-ref"]
    at.selectbox(key="agree_pick").set_value(1).run()
    assert not at.exception, [e.message for e in at.exception]
    go(at, "pages/5_robustness.py")
    assert list(at.dataframe[0].value["Prompt variant"]) == ["selene", "selene-ref"]
    # The sidebar stays on every page (app.py draws it before the page).
    assert at.sidebar.selectbox(key="app_study").value == "demo"


@pytest.mark.parametrize("task", [TaskType.ABSOLUTE, TaskType.PAIRWISE])
def test_every_page_opens_on_other_tasks(studies_dir: Path, task: TaskType) -> None:
    make_other_task_study(studies_dir, task)
    at = open_in_sidebar(start(), task.value)
    for page in PAGES:
        go(at, page)
        assert not at.error, (page, texts(at.error))
    go(at, "pages/4_agreement.py")
    columns = at.dataframe[0].value.columns
    assert ("Weighted kappa (quadratic)" in columns) is (task is TaskType.ABSOLUTE)
    assert len(at.get("vega_lite_chart")) == 2


def test_opening_the_app_imports_neither_torch_nor_transformers(studies_dir: Path) -> None:
    make_study(studies_dir, judged=True)
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from streamlit.runtime import pages_manager
original = pages_manager.PagesManager.__init__
def init(self, *a, **k):
    original(self, *a, **k)
    pages_manager.PagesManager.uses_pages_directory = False
pages_manager.PagesManager.__init__ = init
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({APP!r}, default_timeout=60)
at.run()
at.selectbox(key="app_study").set_value("demo").run()
for page in {PAGES!r}:
    at.switch_page(page).run()
    assert not at.exception, (page, [e.message for e in at.exception])
print({{"torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}})
"""
    env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies_dir)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "{'torch': False, 'transformers': False}"


def test_the_first_page_does_not_load_the_statistics(studies_dir: Path) -> None:
    # The first paint pays for every import of the first script run; the Data page needs no statistics,
    # scipy or charts (bench/app.py measures the first paint).
    make_study(studies_dir, judged=True)
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({APP!r}, default_timeout=60)
at.run()
assert not at.exception, [e.message for e in at.exception]
print(sorted(m for m in ("scipy", "sklearn", "altair", "selene_eval.stats.agreement", "selene_eval.presentation.report") if m in sys.modules))
"""
    env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies_dir)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


# --- data page ---------------------------------------------------------------------------------------------


def test_data_page_opens_a_saved_study(studies_dir: Path) -> None:
    make_study(studies_dir, "first")
    make_study(studies_dir, "second")
    at = start()
    at.selectbox(key="data_open_choice").set_value("second")
    at.button(key="data_open_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.sidebar.selectbox(key="app_study").value == "second"
    assert "Opened study" in texts(at.success)
    assert at.metric[0].value == "12"  # the open study's overview: its items


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("junk.csv", bytes(range(256)) * 64, "cannot be read"),
        ("empty.csv", b"", "is empty"),
        ("blank.xlsx", b"   \n\n", "is empty"),
    ],
)
def test_unreadable_uploads_show_an_error_not_a_traceback(
    studies_dir: Path, name: str, content: bytes, expected: str
) -> None:
    at = start()
    at.file_uploader(key="data_upload").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = texts(at.error)
    assert "cannot be read" in shown and expected in shown, shown
    assert not list(StudyStore(studies_dir).list())


def test_full_flow_upload_map_save_run_and_agreement(studies_dir: Path, tiny_yes_model: Path) -> None:
    at = start()
    at.file_uploader(key="data_upload").set_value(("Drug answers.csv", flow_csv(), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe[0].value.shape == (12, 4)  # the preview

    at.radio(key="data_task").set_value(TaskType.BINARY).run()
    # guess_mapping pre-fills the dropdowns from the column names.
    assert at.selectbox(key="data_role_input").value == "question"
    assert at.selectbox(key="data_role_response").value == "answer"
    assert at.multiselect(key="data_experts").value == ["expert_a", "expert_b"]

    # One dropdown per distinct raw label value; "Unsure" is unknown, so saving is blocked until it has a meaning.
    keys = {raw: label_value_key(TaskType.BINARY, raw) for raw in LABEL_MEANING}
    assert {at.selectbox(key=k).label for k in keys.values()} == {
        "Meaning of value 1",
        "Meaning of value 2",
        "Meaning of value 3",
    }
    assert at.selectbox(key=keys["Unsure"]).value is None
    assert "Unsure" in texts(at.error)
    assert not [b for b in at.button if b.label == "Save the study"]
    for raw, meaning in LABEL_MEANING.items():
        at.selectbox(key=keys[raw]).set_value(meaning if meaning is not None else "")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, texts(at.error)
    assert "12 items ready from 12 rows" in texts(at.success)

    # The study name is suggested from the file name.
    assert at.text_input(key="data_slug").value == "drug-answers"
    at.text_input(key="data_slug").set_value("drug-flow")
    next(b for b in at.button if b.label == "Save the study").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.sidebar.selectbox(key="app_study").value == "drug-flow"
    assert "Saved study" in texts(at.success)
    study = StudyStore(studies_dir).open("drug-flow")
    assert study.spec.label_map == {"Correct": "yes", "Incorrect": "no", "Unsure": None}
    assert study.spec.variants == ["selene"] and len(study.items) == 12
    study.close()

    # Run: Selene is not here, so choose the tiny model's folder, unquantized for speed.
    go(at, "pages/3_run.py")
    at.radio(key="run_kind").set_value("local").run()
    at.text_input(key="run_folder").set_value(str(tiny_yes_model)).run()
    at.checkbox(key="run_quantize").uncheck().run()
    assert not at.exception, [e.message for e in at.exception]
    plan = texts(at.info)
    assert "12 judgments" in plan and "none is stored yet" in plan and "12 prompts will be sent" in plan, plan
    assert "Model files found" in texts(at.success)
    at.button(key="run_start").click().run(timeout=180)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, texts(at.error)
    assert "Run finished: 12 judgments made" in texts(at.success)

    # Resume: nothing left to run, the plan says so.
    at.run()
    assert "12 are already stored" in texts(at.info) and "0 prompts will be sent" in texts(at.info)
    assert at.button(key="run_start").disabled

    # Agreement: the table holds the statistics computed independently here.
    go(at, "pages/4_agreement.py")
    table = at.dataframe[0].value
    consensus = []
    for a, b in zip(EXPERT_A, EXPERT_B):
        votes = [LABEL_MEANING[v] for v in (a, b) if LABEL_MEANING[v] is not None]
        top = max(set(votes), key=votes.count)
        consensus.append(top if 2 * votes.count(top) > len(votes) else None)  # strict majority
    compared = [c for c in consensus if c is not None]
    judge = ["yes"] * len(compared)  # the tiny model always answers yes
    expected_accuracy = sum(c == "yes" for c in compared) / len(compared)
    expected_kappa = cohen_kappa_score(compared, judge, labels=["yes", "no"])
    row = table.iloc[0]
    assert row["Judged"] == 12 and row["Compared"] == len(compared) == 10
    assert row["No expert majority"] == 2
    # Statistics are shown as text, rounded as everywhere else in the app.
    assert row["Accuracy"] == f"{expected_accuracy:.3f}"  # 6 of 10
    assert row["Cohen's kappa"] == f"{expected_kappa:.3f}"  # 0: a constant judge is chance level
    assert row["Unreadable"] == 0
    # Two experts: their own alpha stands beside the judge's.
    assert "Experts' own alpha" in table.columns
    assert any(m.label == "Alpha, 2 experts among themselves" for m in at.metric)
    # Disagreements: the 4 items the experts called "no" (the judge said yes), with the judge's reasoning.
    disagreements = at.dataframe[1].value
    assert len(disagreements) == 4
    assert set(disagreements["Judge"]) == {"yes"} and set(disagreements["Experts' majority"]) == {"no"}
    assert set(disagreements["Judge's reasoning"]) == {"The response is adequate."}
    assert "All 12 judge answers had a readable label" in texts(at.success)
    assert len(at.get("vega_lite_chart")) == 2  # confusion matrix + label distribution


# --- run page --------------------------------------------------------------------------------------------


def test_run_page_without_selene_weights_explains_and_offers_alternatives(
    studies_dir: Path, no_hub_cache: Path
) -> None:
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    assert at.radio(key="run_kind").value == "selene"
    warning = texts(at.warning)
    assert "Selene Mini's weights are not on this computer" in warning
    assert "huggingface-cli download AtlaAI/Selene-1-Mini-Llama-3.1-8B" in warning
    assert "local folder" in warning and "demo judge" in warning and "not Selene" in warning
    assert at.button(key="run_start").disabled
    # What can run here is on offer: a local folder and the demo judge (labelled as not Selene).
    options = at.radio(key="run_kind").options
    assert any("local folder" in o for o in options)
    assert any("demo" in o.lower() and "not Selene" in o for o in options)
    assert not any("Scripted" in o for o in options)  # the testing aid stays hidden without its env var


def test_run_page_reports_a_bad_local_folder(studies_dir: Path, tmp_path: Path) -> None:
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("local").run()
    at.text_input(key="run_folder").set_value(str(tmp_path)).run()
    assert not at.exception
    assert "has no config.json" in texts(at.warning)
    assert at.button(key="run_start").disabled


def test_a_model_that_fails_to_load_is_an_error_message(studies_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama"}')
    (broken / "model.safetensors").write_bytes(b"not weights")
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("local").run()
    at.text_input(key="run_folder").set_value(str(broken)).run()
    at.checkbox(key="run_quantize").uncheck().run()
    at.button(key="run_start").click().run(timeout=120)
    assert not at.exception, [e.message for e in at.exception]
    assert "The run could not finish" in texts(at.error) and "Cannot load the judge model" in texts(at.error)
    assert StudyStore(studies_dir).open("demo").judgments.count() == 0


def test_scripted_judge_runs_a_pilot_then_resumes(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("scripted").run()
    at.checkbox(key="run_limit_on").check().run()
    at.number_input(key="run_limit").set_value(5).run()
    assert "5 judgments" in texts(at.info)
    at.button(key="run_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Run finished: 5 judgments made" in texts(at.success)
    at.checkbox(key="run_limit_on").uncheck().run()
    plan = texts(at.info)
    assert "12 judgments" in plan and "5 are already stored" in plan and "7 prompts will be sent" in plan, plan
    at.button(key="run_start").click().run()
    assert "Run finished: 7 judgments made, 5 already stored" in texts(at.success)
    # The scripted judge is labelled as what it is wherever its numbers appear.
    go(at, "pages/4_agreement.py")
    assert "not a model" in at.dataframe[0].value.iloc[0]["Judge"]


# --- prompts page ------------------------------------------------------------------------------------------


def test_prompts_page_checks_templates_previews_and_saves(studies_dir: Path) -> None:
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/2_prompts.py")
    # The exact prompt for the first item, as plain text.
    preview = texts(at.code)
    assert "Question 0: is 0 even?" in preview and "It is even." in preview
    # A template missing the response placeholder is refused with the reason.
    at.text_input(key="prompts_custom_id").set_value("short")
    at.text_area(key="prompts_custom_text").set_value("Question: {user_input}\n{rubric_objectiv}").run()
    error = texts(at.error)
    assert "unknown placeholder(s) {rubric_objectiv}" in error and "{assistant_response}" in error
    at.text_area(key="prompts_custom_text").set_value(
        "Question: {user_input}\nAnswer: {assistant_response}\nAnswer **Result:** Yes or No."
    ).run()
    assert "Template OK" in texts(at.success)
    at.button(key="prompts_add_written").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.multiselect(key="prompts_variants").value == ["selene", "short"]
    # Rubric edits are saved into the study spec.
    at.text_area(key="prompts_objective").set_value("Is the parity right?").run()
    assert "unsaved changes" in texts(at.warning)
    at.button(key="prompts_save").click().run()
    study = StudyStore(studies_dir).open("demo")
    assert study.spec.rubric.objective == "Is the parity right?"
    assert study.spec.variants == ["selene", "short"] and study.spec.custom_variants[0].id == "short"
    study.close()
    # The preview shows the new variant's exact prompt.
    at.selectbox(key="prompts_preview_variant").set_value("short").run()
    assert "Question: Question 0: is 0 even?\nAnswer: It is even." in texts(at.code)


def test_prompts_page_loads_an_atla_yaml_template(studies_dir: Path) -> None:
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/2_prompts.py")
    yaml_text = "user_template: |\n  Judge {assistant_response} for {user_input}.\n  {rubric_objective}\n"
    at.file_uploader(key="prompts_template_file").set_value(("Atla Custom.yaml", yaml_text.encode(), "text/yaml")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_input(key="prompts_upload_id").value == "atla-custom"
    assert "Template OK" in texts(at.success)
    bad = "prompt: {user_input}\n"
    at.file_uploader(key="prompts_template_file").set_value(("bad.yaml", bad.encode(), "text/yaml")).run()
    assert "no 'user_template' key" in texts(at.error)


# --- agreement and robustness -------------------------------------------------------------------------------


def test_agreement_shows_unparseable_judgments_and_escapes_text(studies_dir: Path) -> None:
    make_study(studies_dir, judged=True)
    at = go(open_in_sidebar(start(), "demo"), "pages/4_agreement.py")
    row = at.dataframe[0].value.iloc[0]
    assert row["Unreadable"] == 1 and row["Judged"] == 12
    assert "1 answer of 12 (8.3%) had no readable label" in texts(at.warning)
    unreadable = at.dataframe[-1].value
    assert list(unreadable["Item"]) == ["3"] and "no **Result:** here" in unreadable.iloc[0]["Judge's raw output"]
    # The judge's reasoning (it contains HTML and a Markdown link) appears only as text, never as Markdown.
    assert "<b>Looks</b>" not in texts(at.markdown, raw=True)
    # Filters narrow the disagreement table.
    before = at.dataframe[1].value
    assert len(before) == 2 and set(before["Item"]) == {"1", "7"}
    at.text_input(key="agree_search").set_value("question 7").run()
    assert list(at.dataframe[1].value["Item"]) == ["7"]
    at.text_input(key="agree_search").set_value("").run()
    assert at.multiselect(key="agree_category").options == ["odd"]  # categories among the disagreements
    at.multiselect(key="agree_consensus").set_value(["no"]).run()
    assert at.dataframe[1].value.empty  # both disagreements are items the experts called "yes"


def test_robustness_with_one_variant_points_to_the_prompts_page(studies_dir: Path) -> None:
    make_study(studies_dir, judged=True)
    at = go(open_in_sidebar(start(), "demo"), "pages/5_robustness.py")
    assert "at least two prompt variants" in texts(at.info)


def test_studies_rename_duplicate_delete_with_confirmation_and_compare(studies_dir: Path) -> None:
    make_study(studies_dir, "alpha", judged=True)
    make_study(studies_dir, "beta", experts=1)
    at = go(open_in_sidebar(start(), "alpha"), "pages/6_studies.py")
    assert list(at.dataframe[0].value["Name"]) == ["alpha", "beta"]

    at.selectbox(key="studies_selected").set_value("alpha").run()
    at.text_input(key="studies_rename_to").set_value("alpha-2")
    at.button(key="studies_rename").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Renamed" in texts(at.success)
    assert at.sidebar.selectbox(key="app_study").value == "alpha-2"  # the open study followed its new name

    at.text_input(key="studies_copy_to").set_value("alpha-copy")
    at.button(key="studies_duplicate").click().run()
    assert StudyStore(studies_dir).open("alpha-copy").judgments.count() == 12

    at.text_input(key="studies_rename_to").set_value("Not A Slug!")
    at.button(key="studies_rename").click().run()
    assert "is not allowed" in texts(at.error)

    # Delete asks first.
    at.selectbox(key="studies_selected").set_value("beta").run()
    at.button(key="studies_delete").click().run()
    assert "cannot be undone" in texts(at.warning)
    at.button(key="studies_delete_no").click().run()
    assert StudyStore(studies_dir).exists("beta")
    at.button(key="studies_delete").click().run()
    at.button(key="studies_delete_yes").click().run()
    assert not StudyStore(studies_dir).exists("beta")
    assert "Deleted study" in texts(at.success)

    # Compare two studies side by side: each column has its own metrics table.
    at.selectbox(key="studies_compare_a").set_value("alpha-2")
    at.selectbox(key="studies_compare_b").set_value("alpha-copy").run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.dataframe) == 3  # the list + one metrics table per compared study


def test_user_text_is_never_rendered_as_markdown(studies_dir: Path) -> None:
    make_study(studies_dir, "md", title="**Bold** [link](http://example.com) <script>x</script>")
    at = go(open_in_sidebar(start(), "md"), "pages/2_prompts.py")
    caption = texts(at.caption, raw=True)
    assert "\\*\\*Bold\\*\\*" in caption and "\\[link\\]" in caption and "\\<script\\>" in caption
    assert "**Bold**" not in texts(at.markdown, raw=True) + texts(at.caption, raw=True)


def test_a_second_run_on_a_busy_study_is_refused_before_loading_a_judge(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir)
    at = go(open_in_sidebar(start(), "demo"), "pages/3_run.py")
    at.radio(key="run_kind").set_value("scripted").run()
    study = StudyStore(studies_dir).open("demo")
    try:
        with study.run_lock():  # as the command line would while it judges this study
            at.button(key="run_start").click().run()
    finally:
        study.close()
    assert not at.exception, [e.message for e in at.exception]
    errors = texts(at.error)
    assert "Another run is judging this study" in errors and "is being judged by another run" in errors, errors
    study = StudyStore(studies_dir).open("demo")
    try:
        assert study.judgments.count() == 0  # nothing was judged twice, nothing at all
    finally:
        study.close()
