"""A user's own files on the Data page, one after another in one session (issue 14, points 1-5 and 12).

Each upload starts afresh (task and label meanings are not carried over from the last file), the labels'
meaning is shown beside the mapping with an editable rubric, spellings of one word given different meanings
are flagged, rows with bad ids can be skipped, and saved labels are shown as the experts' canonical labels.
The saved studies are read back with the store: they must hold exactly the labels each file means.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.html import build_html_report
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.ui.data import label_value_key, rubric_key
from selene_eval.ui.views import item_view

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
B, P = TaskType.BINARY, TaskType.PAIRWISE

# File 1: JSON Lines behind a .json name; "hallucination: yes" means the answer FAILS (study label "no").
HALLUCINATION = ["yes", "no", "no", "yes", "no", "no", "yes", "no", "no", "no", "yes", "no"]
# File 2: its own spellings; here "yes" means the answer passes. "yse" is a typo for yes.
SECOND = ["yes", "Yes", "No.", "yse", "No.", "yes", "Yes", "No.", "yes", "No.", "yse", "No."]
SECOND_MEANING = {"yes": "yes", "Yes": "yes", "No.": "no", "yse": "yes"}
# File 3: pairwise, the winner as 1 / 2 / 0 (tie).
WINNER = ["1", "2", "0", "1", "1", "2", "2", "0", "1", "2", "1", "2"]
WINNER_MEANING = {"1": "A", "2": "B", "0": "tie"}


def hallucination_json() -> bytes:
    rows = [
        {"id": f"h{k}", "question": f"Who wrote book {k}?", "answer": f"Author {k}.", "hallucination": label}
        for k, label in enumerate(HALLUCINATION, start=1)
    ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def second_csv() -> bytes:
    lines = ["id,question,answer,label"] + [
        f"s{k},Question {k}?,Answer {k}.,{label}" for k, label in enumerate(SECOND, 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def pairwise_csv() -> bytes:
    lines = ["prompt,response_a,response_b,winner"]
    lines += [f"Task {k},First answer {k},Second answer {k},{w}" for k, w in enumerate(WINNER, start=1)]
    return ("\n".join(lines) + "\n").encode()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(elements: object) -> str:
    """The elements' text, with Markdown's escapes and bold markers taken out."""
    joined = "\n".join(str(e.value) for e in elements)  # type: ignore[attr-defined]
    return re.sub(r"\\(.)", r"\1", joined).replace("**", "")


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, content, "application/octet-stream"))
    return ok(at.run())


def save(at: AppTest, slug: str) -> None:
    at.text_input(key="data_slug").set_value(slug)
    ok(next(b for b in at.button if b.label == "Save the study").click().run())
    assert "Saved study" in texts(at.success), texts(at.error)


def saved_labels(studies_dir: Path, slug: str) -> tuple[dict[str, dict[str, str | None]], object]:
    study = StudyStore(studies_dir).open(slug)
    try:
        return {item.item_id: dict(item.experts) for item in study.items}, study.spec
    finally:
        study.close()


def test_two_files_in_a_row_and_a_pairwise_one_each_get_their_own_meanings(studies_dir: Path) -> None:
    at = ok(AppTest.from_file(APP, default_timeout=60).run())

    # File 1: the expert column is "hallucination", so yes (hallucinated) means the study's "no".
    upload(at, "halueval_sample.json", hallucination_json())
    assert at.radio(key="data_task").value is None
    ok(at.radio(key="data_task").set_value(B).run())
    ok(at.multiselect(key="data_experts").set_value(["hallucination"]).run())
    # The meaning of the labels is shown beside the mapping, from the rubric, before anything is saved.
    meanings = texts(at.markdown)
    assert "yes = the response passes the rubric: \u201cIs the response correct" in meanings, meanings
    at.text_area(key=rubric_key(B, "objective")).set_value("Is the answer free of made-up facts?")
    at.selectbox(key=label_value_key(B, "yes")).set_value("no")
    at.selectbox(key=label_value_key(B, "no")).set_value("yes")
    ok(at.run())
    assert "yes = the response passes the rubric: \u201cIs the answer free of made-up facts?\u201d" in texts(
        at.markdown
    )
    assert "12 items ready from 12 rows" in texts(at.success)
    save(at, "halueval")
    labels, spec = saved_labels(studies_dir, "halueval")
    assert labels == {f"h{k}": {"hallucination": "no" if v == "yes" else "yes"} for k, v in enumerate(HALLUCINATION, 1)}
    assert spec.rubric.objective == "Is the answer free of made-up facts?"  # type: ignore[attr-defined]

    # File 2 in the same session: nothing of file 1's choices is carried over.
    upload(at, "second.csv", second_csv())
    assert at.radio(key="data_task").value is None  # chosen again for each file
    assert "look like two responses" not in texts(at.caption)
    ok(at.radio(key="data_task").set_value(B).run())
    boxes = {raw: at.selectbox(key=label_value_key(B, raw)) for raw in SECOND_MEANING}
    assert {raw: box.value for raw, box in boxes.items()} == {"yes": "yes", "Yes": "yes", "No.": "no", "yse": None}
    assert at.text_area(key=rubric_key(B, "objective")).value.startswith("Is the response correct")  # default again
    assert "'yse'" in texts(at.error)  # the typo blocks saving until it has a meaning
    assert not [b for b in at.button if b.label == "Save the study"]

    # Spellings of one word given different meanings are flagged, beside the row and in the check.
    at.selectbox(key=label_value_key(B, "yse")).set_value("yes")
    ok(at.selectbox(key=label_value_key(B, "yes")).set_value("no").run())
    assert "another spelling of this value means something else" in texts(at.markdown)
    assert "'Yes' means 'yes', 'yes' means 'no'" in texts(at.warning)
    ok(at.selectbox(key=label_value_key(B, "yes")).set_value("yes").run())
    assert "another spelling" not in texts(at.markdown) and "differ only in case" not in texts(at.warning)
    assert "12 items ready from 12 rows" in texts(at.success)
    save(at, "second")
    labels, _ = saved_labels(studies_dir, "second")
    assert labels == {f"s{k}": {"label": SECOND_MEANING[v]} for k, v in enumerate(SECOND, 1)}

    # File 3: a pairwise file after the yes/no ones.
    upload(at, "preferences.csv", pairwise_csv())
    assert at.radio(key="data_task").value is None
    assert "response_a and response_b look like two responses to compare" in texts(at.caption)
    ok(at.radio(key="data_task").set_value(P).run())
    assert at.selectbox(key="data_role_response_b").value == "response_b"
    assert at.multiselect(key="data_experts").value == ["winner"]
    assert {raw: at.selectbox(key=label_value_key(P, raw)).value for raw in WINNER_MEANING} == WINNER_MEANING
    assert "Every expert label is" not in texts(at.warning)
    assert "A = response A is the better one" in texts(at.markdown)
    save(at, "preferences")
    labels, spec = saved_labels(studies_dir, "preferences")
    assert spec.task is P  # type: ignore[attr-defined]
    assert labels == {str(k): {"winner": WINNER_MEANING[w]} for k, w in enumerate(WINNER, 1)}


def bad_ids_csv() -> bytes:
    ids = [f"q{k}" for k in range(1, 15)]
    ids[2], ids[8] = "", "q5"  # row 3 has no id; rows 5 and 9 share one
    lines = ["id,question,answer,label"]
    lines += [f"{i},Question {k}?,Answer {k}.,{'yes' if k % 3 else 'no'}" for k, i in enumerate(ids, start=1)]
    return ("\n".join(lines) + "\n").encode()


def test_rows_with_bad_ids_can_be_skipped_and_the_study_records_them(studies_dir: Path) -> None:
    at = ok(AppTest.from_file(APP, default_timeout=60).run())
    upload(at, "bad ids.csv", bad_ids_csv())
    ok(at.radio(key="data_task").set_value(B).run())
    assert "no item id" in texts(at.error) and "'q5' (rows 5, 9)" in texts(at.error)
    assert "--" not in texts(at.error)  # the dashboard gives no command-line options
    skip = at.checkbox(key="data_skip_bad_ids")
    assert skip.label.startswith("Skip the 3 rows whose item id is missing or repeated, and import the other 11")
    ok(skip.check().run())
    assert not at.error, texts(at.error)
    assert "11 items ready from 14 rows (3 skipped)" in texts(at.success)
    assert "3 rows are left out as asked: rows 3, 5 and 9" in texts(at.warning)
    save(at, "bad-ids")
    study = StudyStore(studies_dir).open("bad-ids")
    try:
        assert [i.item_id for i in study.items] == [f"q{k}" for k in (1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14)]
        assert [(s.row, s.reason) for s in study.spec.skipped_rows] == [
            (3, "no item id"),
            (5, "item id 'q5' is on 2 rows"),
            (9, "item id 'q5' is on 2 rows"),
        ]
    finally:
        study.close()
    # The open study's overview names them too.
    ok(at.run())
    assert any("3 rows of the file left out on import" in e.label for e in at.expander)


def test_the_dashboard_speaks_of_choices_not_command_line_options(studies_dir: Path) -> None:
    at = ok(AppTest.from_file(APP, default_timeout=60).run())
    upload(at, "labels.csv", b"question,answer,label\n" + b"".join(b"Q%d,A%d,n%d\n" % (k, k, k % 2) for k in range(12)))
    ok(at.radio(key="data_task").set_value(B).run())
    shown = texts(at.error)
    assert "'n0'" in shown and "one of yes, no, or no label" in shown, shown
    assert "--label-map" not in shown and "n0=yes" not in shown
    ok(at.multiselect(key="data_experts").set_value([]).run())
    assert "No expert label column" in texts(at.error) and "--map" not in texts(at.error)


def test_the_preview_shows_key_columns_first_with_canonical_label_headings(studies_dir: Path) -> None:
    at = ok(AppTest.from_file(APP, default_timeout=60).run())
    upload(at, "halueval_sample.json", hallucination_json())
    ok(at.radio(key="data_task").set_value(B).run())
    ok(at.multiselect(key="data_experts").set_value(["hallucination"]).run())
    at.selectbox(key=label_value_key(B, "yes")).set_value("no")
    ok(at.selectbox(key=label_value_key(B, "no")).set_value("yes").run())
    preview = at.dataframe[-1].value
    assert list(preview.columns) == ["Item", "Expert label", "Input", "Response"]
    assert preview.iloc[0].tolist() == ["h1", "no", "Who wrote book 1?", "Author 1."]


def test_saved_labels_are_shown_as_the_experts_canonical_labels_in_tables_and_report(studies_dir: Path) -> None:
    """A column named 'hallucination' whose yes was mapped to no: never 'Expert hallucination: yes'."""
    from selene_eval.data import ColumnMapping, build_items, read_table
    from selene_eval.study import new_study_spec

    table = read_table(hallucination_json(), name="halueval_sample.json")
    mapping = ColumnMapping(id="id", input="question", response="answer", experts=["hallucination"])
    items, report = build_items(table.frame, mapping, B, {"yes": "no", "no": "yes"})
    assert report.ok
    study = StudyStore(studies_dir).create(
        new_study_spec(table, mapping, B, {"yes": "no", "no": "yes"}, items, slug="halu"), items
    )
    judge = JudgeSpec(backend="scripted", model="scripted-labels")
    try:
        run_study(study, ScriptedBackend(judge, default="**Reasoning:** Fine.\n**Result:** Yes"))
        view = item_view(judgment_table(study, judge, "selene"))
        assert "Expert label" in view.columns and not [c for c in view.columns if "hallucination" in c]
        assert view.loc[0, "Expert label"] == "no"  # h1: hallucinated, so it fails the rubric
        html = build_html_report(study, n_resamples=0)
        assert "<th>Expert label</th>" in html and "<th>hallucination</th>" not in html
        assert "hallucination: " not in html
    finally:
        study.close()
    # The Agreement page's disagreements show the stored (mapped) label under "Expert label".
    at = ok(AppTest.from_file(APP, default_timeout=60).run())
    ok(at.selectbox(key="app_study").set_value("halu").run())
    ok(at.switch_page("pages/4_agreement.py").run())
    tables = [df.value for df in at.dataframe if "Expert label" in df.value.columns]
    assert tables, [list(df.value.columns) for df in at.dataframe]
    meant = {f"h{k}": "no" if v == "yes" else "yes" for k, v in enumerate(HALLUCINATION, start=1)}
    rows = tables[0]
    assert len(rows) and all(meant[item] == label for item, label in zip(rows["Item"], rows["Expert label"]))
    assert (rows["Judge"] != rows["Expert label"]).all()
    assert not [c for df in at.dataframe for c in df.value.columns if "hallucination" in str(c)]


@pytest.mark.parametrize("n_experts", [1, 3])
def test_expert_label_headings(n_experts: int) -> None:
    from selene_eval.core.expert_labels import expert_label_headings, expert_labels_text

    columns = ["item_id", *[f"expert:dr_{k}" for k in range(n_experts)], "judge_label"]
    headings = expert_label_headings(columns)
    if n_experts == 1:
        assert headings == {"expert:dr_0": "Expert label"}
        assert expert_labels_text({"expert:dr_0": "no"}) == "no"
    else:
        assert headings == {f"expert:dr_{k}": f"Expert label (dr_{k})" for k in range(3)}
        assert (
            expert_labels_text({"expert:dr_0": "no", "expert:dr_1": None, "dr_2": "yes"})
            == "no (dr_0), no label (dr_1), yes (dr_2)"
        )


def test_the_item_view_puts_the_labels_before_the_long_texts_and_names_missing_labels() -> None:
    """Wide tables scroll right: the item and the labels compared come first, a missing label is said in words."""
    table = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "input": ["Q" * 500, "Q2"],
            "response": ["R" * 500, "R2"],
            "expert:dr_a": ["yes", None],
            "expert:dr_b": ["no", "no"],
            "consensus": [None, "no"],
            "judge_label": ["yes", None],
            "judge_reasoning": ["Because.", ""],
        }
    )
    view = item_view(table)
    assert list(view.columns) == [
        "Item",
        "Expert label (dr_a)",
        "Expert label (dr_b)",
        "Experts' majority",
        "Judge",
        "Input",
        "Response",
        "Judge's reasoning",
    ]
    assert view.loc[1, "Expert label (dr_a)"] == "(no label)" and view.loc[0, "Experts' majority"] == "(no majority)"
    assert view.loc[1, "Judge"] == "(no readable label)"
