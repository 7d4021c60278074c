"""Your own files, one after another, in one real browser session (issue 14's done-criteria for the upload).

One Chromium session (Playwright, Debian's ``/usr/bin/chromium``) on ``streamlit run app.py`` uploads, through
the real file input:

1. a hallucination file: JSON Lines behind a ``.json`` name, one ``hallucination`` column of ``yes``/``no``
   whose meaning is the opposite of the study's (``yes`` = hallucinated = fails the rubric), with the rubric
   edited beside the label mapping;
2. a yes/no file with its own spellings (``yes``, ``Yes``, ``No.``, and the typo ``yse``), which must open
   with nothing of file 1's choices: no task chosen, ``yes`` suggested as yes again (not file 1's ``no``);
3. a pairwise file after the yes/no ones, which must not open as "Yes or no";
4. a file with a missing and a repeated item id, whose rows are skipped (and recorded) instead of refusing it.

Each is saved as a study and read back with the store: the studies hold exactly the labels each file means.
Streamlit widgets are found by their keys (``.st-key-<key>``), and every step waits on a condition (a text,
a value, the app idle), never on time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from selene_eval.testing import browser as testing_browser

sync_api = testing_browser.playwright_or_skip()
expect = sync_api.expect

from selene_eval.core.tasks import TaskType  # noqa: E402
from selene_eval.study import StudyStore  # noqa: E402
from selene_eval.ui.data import label_value_key, rubric_key  # noqa: E402
from selene_eval.ui.text import TASK_NAMES  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000
B, P = TaskType.BINARY, TaskType.PAIRWISE

HALLUCINATION = ["yes", "no", "no", "yes", "no", "no", "yes", "no", "no", "no", "yes", "no"]
HALLUCINATION_MEANING = {"yes": "no", "no": "yes"}  # hallucinated -> fails the rubric
SECOND = ["yes", "Yes", "No.", "yse", "No.", "yes", "Yes", "No.", "yes", "No.", "yse", "No."]
SECOND_MEANING = {"yes": "yes", "Yes": "yes", "No.": "no", "yse": "yes"}
WINNER = ["1", "2", "0", "1", "1", "2", "2", "0", "1", "2", "1", "2"]
WINNER_MEANING = {"1": "A", "2": "B", "0": "tie"}
OBJECTIVE = "Is the answer free of made-up facts?"


def write_files(folder: Path) -> tuple[Path, Path, Path]:
    first = folder / "halueval_sample.json"  # JSON Lines, whatever the name says
    first.write_text(
        "".join(
            json.dumps(
                {"id": f"h{k}", "question": f"Who wrote book {k}?", "answer": f"Author {k}.", "hallucination": v}
            )
            + "\n"
            for k, v in enumerate(HALLUCINATION, start=1)
        ),
        encoding="utf-8",
    )
    second = folder / "second.csv"
    second.write_text(
        "id,question,answer,label\n"
        + "".join(f"s{k},Question {k}?,Answer {k}.,{v}\n" for k, v in enumerate(SECOND, start=1)),
        encoding="utf-8",
    )
    ids = [f"q{k}" for k in range(1, 15)]
    ids[2], ids[8] = "", "q5"  # row 3 has no id; rows 5 and 9 share one
    (folder / "bad_ids.csv").write_text(
        "id,question,answer,label\n"
        + "".join(f"{i},Question {k}?,Answer {k}.,{'yes' if k % 3 else 'no'}\n" for k, i in enumerate(ids, start=1)),
        encoding="utf-8",
    )
    third = folder / "preferences.csv"
    third.write_text(
        "prompt,response_a,response_b,winner\n"
        + "".join(f"Task {k},First answer {k},Second answer {k},{w}\n" for k, w in enumerate(WINNER, start=1)),
        encoding="utf-8",
    )
    return first, second, third


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    path = tmp_path / "studies"
    path.mkdir()
    return path


@pytest.fixture
def page(tmp_path: Path, studies_dir: Path) -> Iterator[Page]:
    """The dashboard over an empty studies folder, open in a fresh headless Chromium."""
    env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("SELENE_EVAL_ENABLE_SCRIPTED", None)
    log = tmp_path / "streamlit.log"
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(testing_browser.served_dashboard(env, log, REPO))
        except testing_browser.ServerDidNotStart as exc:
            pytest.fail(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}")
        context = stack.enter_context(
            testing_browser.chromium_context(
                tmp_path / "profile", timeout_ms=TIMEOUT_MS, viewport={"width": 1400, "height": 3000}
            )
        )
        page = context.new_page()
        page.goto(url)
        # Assertions wait as long as actions: on a busy machine a rerun can take more than expect's 5 s default.
        expect.set_options(timeout=TIMEOUT_MS)
        stack.callback(expect.set_options, timeout=5_000)
        yield page


@contextlib.contextmanager
def diagnosed(page: Page, tmp_path: Path) -> Iterator[None]:
    """On failure: a screenshot of the page and the server's log tail, named in the error."""
    try:
        yield
    except Exception as exc:
        shot = tmp_path / "failure.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        log = (tmp_path / "streamlit.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"{type(exc).__name__}: {exc}\n--- screenshot: {shot}\n--- streamlit log:\n{log}") from exc


def settle(page: Page) -> None:
    testing_browser.settle(page, TIMEOUT_MS)


def label_box(page: Page, task: TaskType, raw: str) -> Locator:
    return page.locator(f".st-key-{label_value_key(task, raw)} [role=combobox]")


def upload(page: Page, path: Path, replacing: Path | None = None) -> None:
    """Upload ``path`` through the real file input, after removing the file ``replacing`` as a user would."""
    uploader = page.locator('[data-testid="stFileUploader"]')
    if replacing is not None:
        uploader.get_by_role("button", name=f"Remove {replacing.name}").click()
        expect(page.get_by_text(re.compile(rf"^{re.escape(replacing.name)}: \d+ rows"))).to_have_count(0)
        settle(page)
    uploader.locator('input[type="file"]').set_input_files(str(path))
    expect(page.get_by_text(re.compile(rf"^{re.escape(path.name)}: \d+ rows, 4 columns, read as"))).to_be_visible()
    settle(page)


def choose_task(page: Page, task: TaskType) -> None:
    expect(page.locator(".st-key-data_task input[type=radio]:checked")).to_have_count(0)  # nothing carried over
    page.locator(".st-key-data_task").get_by_text(TASK_NAMES[task], exact=True).click()
    expect(page.get_by_role("heading", name="What the labels mean")).to_be_visible()
    settle(page)


def save(page: Page, slug: str, ready: str = "12 items ready from 12 rows") -> None:
    expect(page.get_by_text(ready, exact=False)).to_be_visible()
    settle(page)
    page.locator(".st-key-data_slug input").fill(slug)
    page.get_by_role("button", name="Save the study").click()
    expect(
        page.get_by_text(re.compile(r"^Saved study .* with \d+ items"))
    ).to_be_visible()  # not the tab "Open a saved study"
    expect(page.get_by_role("combobox", name="Current study")).to_have_value(re.compile(rf"\({re.escape(slug)}\)$"))
    settle(page)


def saved_labels(studies_dir: Path, slug: str) -> dict[str, dict[str, str | None]]:
    study = StudyStore(studies_dir).open(slug)
    try:
        return {item.item_id: dict(item.experts) for item in study.items}
    finally:
        study.close()


def no_exception(page: Page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()


def test_one_session_uploads_four_files_and_each_study_holds_what_its_file_means(
    page: Page, tmp_path: Path, studies_dir: Path
) -> None:
    first, second, third = write_files(tmp_path)
    with diagnosed(page, tmp_path):
        # File 1: map the hallucination column, read what yes means, edit the rubric, give the labels their meaning.
        upload(page, first)
        choose_task(page, B)
        testing_browser.choose(page, page.locator(".st-key-data_experts input"), "hallucination")
        expect(page.get_by_text("What does each label value mean?")).to_be_visible()
        settle(page)
        meanings = page.locator("p").filter(has_text="What the labels mean in this study")
        expect(meanings).to_contain_text("yes = the response passes the rubric: \u201cIs the response correct")
        page.get_by_text("Edit the rubric", exact=False).click()
        objective = page.locator(f".st-key-{rubric_key(B, 'objective')} textarea")
        objective.fill(OBJECTIVE)
        # Leaving the field commits it (one rerun). With Ctrl+Enter instead the field kept the focus, and the
        # dropdown clicked next now and then did not open (its click also blurred the field).
        objective.blur()
        expect(meanings).to_contain_text(f"yes = the response passes the rubric: \u201c{OBJECTIVE}\u201d")
        settle(page)
        for raw, meaning in HALLUCINATION_MEANING.items():
            testing_browser.choose(page, label_box(page, B, raw), meaning)
            settle(page)
        for raw, meaning in HALLUCINATION_MEANING.items():
            expect(label_box(page, B, raw)).to_have_value(meaning)
        # The preview shows the labels as they will be saved: key columns first, under "Expert label".
        preview = page.get_by_test_id("stExpander").filter(has_text="as they will be saved")
        # A redraw can briefly show the old expander beside the new one: wait until there is one, then open it.
        settle(page)
        expect(preview).to_have_count(1)
        preview.get_by_text("as they will be saved").click()
        headers = preview.locator('th[role="columnheader"]')
        expect(headers.first).to_be_attached()
        assert headers.all_text_contents()[:2] == ["Item", "Expert label"], headers.all_text_contents()
        assert "hallucination" not in headers.all_text_contents()
        save(page, "halueval")
        no_exception(page)
        assert saved_labels(studies_dir, "halueval") == {
            f"h{k}": {"hallucination": HALLUCINATION_MEANING[v]} for k, v in enumerate(HALLUCINATION, start=1)
        }
        study = StudyStore(studies_dir).open("halueval")
        assert study.spec.rubric.objective == OBJECTIVE
        study.close()

        # File 2: the same session, its own meanings. "yes" is suggested as yes again, not file 1's "no".
        upload(page, second, replacing=first)
        choose_task(page, B)
        expect(page.locator(".st-key-data_experts").get_by_text("label", exact=True)).to_be_visible()
        for raw, suggested in {"yes": "yes", "Yes": "yes", "No.": "no", "yse": ""}.items():
            expect(label_box(page, B, raw)).to_have_value(suggested)
        expect(meanings).to_contain_text("passes the rubric: \u201cIs the response correct")  # file 1's edit is gone
        expect(page.get_by_role("button", name="Save the study")).to_have_count(0)  # "yse" has no meaning yet
        # A slip is flagged beside the row: "yes" made to mean no while "Yes" means yes.
        testing_browser.choose(page, label_box(page, B, "yes"), "no")
        settle(page)
        expect(page.get_by_text("another spelling of this value means something else").first).to_be_visible()
        testing_browser.choose(page, label_box(page, B, "yes"), "yes")
        testing_browser.choose(page, label_box(page, B, "yse"), "yes")
        settle(page)
        expect(page.get_by_text("another spelling of this value means something else")).to_have_count(0)
        save(page, "second")
        no_exception(page)
        assert saved_labels(studies_dir, "second") == {
            f"s{k}": {"label": SECOND_MEANING[v]} for k, v in enumerate(SECOND, start=1)
        }

        # File 3: a pairwise file after the yes/no ones: no task chosen, its labels read as A / B / tie.
        upload(page, third, replacing=second)
        choose_task(page, P)
        for raw, meaning in WINNER_MEANING.items():
            expect(label_box(page, P, raw)).to_have_value(meaning)
        expect(page.get_by_text(re.compile("Every expert label is"))).to_have_count(0)
        save(page, "preferences")
        no_exception(page)
        assert saved_labels(studies_dir, "preferences") == {
            str(k): {"winner": WINNER_MEANING[w]} for k, w in enumerate(WINNER, start=1)
        }
        study = StudyStore(studies_dir).open("preferences")
        assert study.spec.task is P
        study.close()

        # File 4: two bad ids. Skipping their rows imports the rest and the study records which were left out.
        bad_ids = tmp_path / "bad_ids.csv"
        upload(page, bad_ids, replacing=third)
        choose_task(page, B)
        expect(page.get_by_text("1 item id occurs on more than one row", exact=False)).to_be_visible()
        page.locator(".st-key-data_skip_bad_ids label").click()
        save(page, "bad-ids", ready="11 items ready from 14 rows (3 skipped)")
        no_exception(page)
        study = StudyStore(studies_dir).open("bad-ids")
        assert [(s.row, s.reason) for s in study.spec.skipped_rows] == [
            (3, "no item id"),
            (5, "item id 'q5' is on 2 rows"),
            (9, "item id 'q5' is on 2 rows"),
        ]
        assert len(study.items) == 11
        study.close()
