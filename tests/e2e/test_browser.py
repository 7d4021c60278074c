"""The dashboard in a real browser: upload a file, map it, save a study, run a real (tiny) model, read the results.

This mirrors ``tests/ui/test_app.py::test_full_flow_upload_map_save_run_and_agreement`` (the AppTest flow), but
through ``streamlit run app.py`` and Debian's Chromium driven by Playwright, so the real file input, the real
widgets, the websocket round trips and the chart rendering are all exercised.

* The browser is ``/usr/bin/chromium`` (override with ``SELENE_EVAL_CHROMIUM``), launched through Playwright's
  ``executable_path``; ``playwright install`` (which downloads a browser) is never needed. The test skips when
  the browser or the ``playwright`` package is missing.
* The judge is :func:`selene_eval.testing.build_tiny_model` with ``answer_label="Yes"``: a real tiny Llama that
  always answers ``**Result:** Yes``, so the expected statistics follow from the CSV written here.
* Streamlit's ``st.dataframe`` draws on a canvas; the test reads the accessible table the grid keeps in the
  DOM beside it (``th[role=columnheader]`` / ``td[role=gridcell]``), which holds the cells' values (numbers
  unrounded: the canvas shows ``0.636`` where the table holds ``0.6363636363636364``). The grid fills that table
  only while it is shown, so the test reads visible grids only.
* Streamlit scrolls an inner container, so screenshots use a tall viewport, never ``full_page=True``.

The README's screenshot (``docs/agreement.png``) is of the illustrative study ``studies/example-finance``, copied
into the test's studies folder. It is always saved beside the test's temporary files; it is written into
``docs/`` only when that file is missing or ``SELENE_EVAL_UPDATE_SCREENSHOTS=1`` is set, so that running the
tests does not modify the checkout.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from selene_eval.testing import browser as testing_browser

sync_api = testing_browser.playwright_or_skip()
expect = sync_api.expect

from selene_eval.core.tasks import TaskType  # noqa: E402
from selene_eval.study import StudyStore  # noqa: E402
from selene_eval.ui.data import label_value_key  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "agreement.png"
EXAMPLE_STUDY = REPO / "studies" / "example-finance"
SERVER_START_S = 60
TIMEOUT_MS = 30_000  # any one step of the app (a rerun, a page switch)
RUN_TIMEOUT_MS = 120_000  # loading the tiny model and judging 12 items on 2 CPU cores takes ~10 s

# --- the uploaded file: illustrative medication answers, labelled by three physicians ----------------------
# Each row: question, answer, and the three experts' labels. "Unsure" is not a label the app knows: it is
# mapped to "(no label)" through the UI, so row 4 has two labels and row 12 has no majority (Correct vs
# Incorrect), as in the AppTest flow.
ROWS = [
    (
        "What is a usual adult dose of amoxicillin for acute otitis media?",
        "500 mg three times a day for 5 to 7 days.",
        "Correct",
        "Correct",
        "Correct",
    ),
    (
        "Can ibuprofen be taken together with warfarin?",
        "Yes, there is no interaction worth mentioning.",
        "Incorrect",
        "Incorrect",
        "Incorrect",
    ),
    ("How often do adults need a tetanus booster?", "Every 10 years (Td or Tdap).", "Correct", "Correct", "Correct"),
    (
        "Is metformin a first-line drug for type 2 diabetes?",
        "Yes, unless kidney function is severely reduced.",
        "Correct",
        "Correct",
        "Unsure",
    ),
    (
        "What is a normal resting heart rate for adults?",
        "Between 60 and 100 beats per minute.",
        "Correct",
        "Correct",
        "Correct",
    ),
    (
        "Should antibiotics be given for a common cold?",
        "Yes, they shorten the illness.",
        "Incorrect",
        "Incorrect",
        "Incorrect",
    ),
    (
        "What does HbA1c measure?",
        "Average blood glucose over the past two to three months.",
        "Correct",
        "Correct",
        "Correct",
    ),
    ("Is 6 g of paracetamol a day safe for an adult?", "Yes, for a few days.", "Incorrect", "Incorrect", "Correct"),
    (
        "What is the first thing to do for a suspected stroke?",
        "Call emergency services and note when the symptoms started.",
        "Correct",
        "Correct",
        "Correct",
    ),
    ("Can statins cause muscle pain?", "Yes, muscle aches are a known side effect.", "Correct", "Correct", "Incorrect"),
    (
        "Is a blood pressure of 150/95 mmHg normal for an adult?",
        "Yes, that is within the normal range.",
        "Incorrect",
        "Incorrect",
        "Incorrect",
    ),
    ("How long should hands be washed with soap?", "At least 20 seconds.", "Correct", "Unsure", "Incorrect"),
]
LABEL_MEANING = {"Correct": "yes", "Incorrect": "no", "Unsure": None}
FILE_NAME = "physician_labels.csv"
SLUG = "medication-answers"
TITLE = "Medication answers checked by three physicians (illustrative)"


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["question", "answer", "expert_1", "expert_2", "expert_3"])
        writer.writerows(ROWS)
    return path


def expected_statistics() -> dict[str, float]:
    """What the Agreement page must show, computed from ``ROWS`` independently of the app.

    The experts' majority is a strict majority of the labels given ("Unsure" is no label); items without one
    are not compared. The judge always says yes: accuracy is the share of compared items whose majority is
    yes (here 7 of 11 = 0.636), and Cohen's kappa of a constant judge is 0.
    """
    consensus = []
    for *_, a, b, c in ROWS:
        votes = [LABEL_MEANING[v] for v in (a, b, c) if LABEL_MEANING[v] is not None]
        top = max(sorted(set(votes)), key=votes.count)
        consensus.append(top if 2 * votes.count(top) > len(votes) else None)
    compared = [c for c in consensus if c is not None]
    n_yes = sum(c == "yes" for c in compared)
    return {
        "judged": len(ROWS),
        "compared": len(compared),
        "accuracy": n_yes / len(compared),
        "yes_yes": n_yes,  # heatmap cells: experts' majority x judge
        "no_yes": len(compared) - n_yes,
    }


# --- the server and the browser ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    """A fresh studies folder holding a copy of the illustrative finance study (for the README screenshot)."""
    path = tmp_path / "studies"
    path.mkdir()
    if EXAMPLE_STUDY.is_dir():
        shutil.copytree(EXAMPLE_STUDY, path / EXAMPLE_STUDY.name)
    return path


@pytest.fixture
def server(tmp_path: Path, studies_dir: Path) -> Iterator[Server]:
    """``streamlit run app.py`` on a free localhost port, in its own process group, stopped afterwards."""
    port = testing_browser.free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("SELENE_EVAL_ENABLE_SCRIPTED", None)
    process = testing_browser.start_streamlit(port, env, log, REPO)
    url = f"http://127.0.0.1:{port}"
    result = Server(url, log)
    try:
        try:
            testing_browser.wait_until_served(process, url, timeout_s=SERVER_START_S)
        except testing_browser.ServerDidNotStart as exc:
            pytest.fail(f"{exc}:\n{result.log_tail()}")
        yield result
    finally:
        testing_browser.stop_process_group(process)


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile and a tall viewport (Streamlit scrolls an inner container)."""
    with testing_browser.chromium_context(
        tmp_path / "chromium-profile", timeout_ms=TIMEOUT_MS, viewport={"width": 1400, "height": 3000}
    ) as context:
        yield context


@pytest.fixture
def tiny_yes_model(tmp_path: Path) -> Path:
    """A tiny real Llama-3.1-style model that always answers '**Result:** Yes' in Selene's format."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path / "tiny", answer_label="Yes")


# --- helpers over Streamlit's DOM ----------------------------------------------------------------------------


def settle(page: Page) -> None:
    """Wait until the app is idle (see :func:`selene_eval.testing.browser.settle`)."""
    testing_browser.settle(page, TIMEOUT_MS)


def no_exception(page: Page, where: str) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, f"{where}: the app shows an exception:\n{shown.first.inner_text()}"


def go_to(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation and wait for its title."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    expect(page.locator("h1").filter(has_text=title)).to_be_visible()
    settle(page)


choose = testing_browser.choose


def open_study(page: Page, slug: str) -> None:
    """Make ``slug`` the current study through the sidebar's selectbox."""
    box = page.get_by_role("combobox", name="Current study")
    box.click()
    page.get_by_role("option", name=re.compile(rf"\({re.escape(slug)}\)$")).click()
    settle(page)


def grid_rows(dataframe: Locator) -> list[dict[str, str]]:
    """The rows of a visible ``st.dataframe``, read from the grid's accessible table (header -> value as text)."""
    dataframe.locator('td[role="gridcell"]').first.wait_for(state="attached")
    return dataframe.evaluate(
        """(root) => {
            const heads = {};
            root.querySelectorAll('th[role="columnheader"]').forEach(
                (th) => { heads[th.getAttribute('aria-colindex')] = th.textContent.trim(); });
            return Array.from(root.querySelectorAll('tbody tr[role="row"]')).map((tr) => Object.fromEntries(
                Array.from(tr.querySelectorAll('td[role="gridcell"]')).map(
                    (td) => [heads[td.getAttribute('aria-colindex')], td.textContent.trim()])));
        }"""
    )


def rendered_charts(page: Page, count: int, *, at_least: bool = False) -> list[Locator]:
    """The Vega-Lite charts on the page, each checked to be drawn: non-zero size, an svg or canvas, marks.

    With ``at_least`` the page may hold more charts (e.g. the calibration charts, present only when the judge
    gave label probabilities); the first ``count`` are checked and returned.
    """
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    if at_least:
        charts.nth(count - 1).wait_for()
    else:
        expect(charts).to_have_count(count)
    found: list[Locator] = []
    for index in range(count):
        chart = charts.nth(index)
        surface = chart.locator("svg.marks, canvas").first
        surface.wait_for()
        for element in (chart, surface):
            box = element.bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 50, (index, box)
        if surface.evaluate("(el) => el.tagName.toLowerCase()") == "svg":
            expect(surface.locator(".role-mark path").first).to_be_attached()  # bars / cells were drawn
        found.append(chart)
    return found


@contextlib.contextmanager
def diagnosed(page_holder: dict[str, Page], server: Server, tmp_path: Path) -> Iterator[None]:
    """On failure: add the server's log tail and a screenshot of the current page to the error."""
    try:
        yield
    except Exception as exc:
        shot = tmp_path / "failure.png"
        page = page_holder.get("page")
        if page is not None:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot))
        raise AssertionError(
            f"{type(exc).__name__}: {exc}\n--- screenshot: {shot}\n--- streamlit log tail:\n{server.log_tail()}"
        ) from exc


# --- the test ------------------------------------------------------------------------------------------------


def readme_screenshot(context: BrowserContext, server: Server, tmp_path: Path, holder: dict[str, Page]) -> Path:
    """The Agreement page of the illustrative finance study, cropped to the main content, for the README.

    Taken first, in its own browser session, while no model is loaded in the app.
    """
    page = context.new_page()
    holder["page"] = page
    page.set_viewport_size({"width": 1500, "height": 2400})
    page.goto(server.url)
    open_study(page, EXAMPLE_STUDY.name)
    go_to(page, "4 · Agreement")
    no_exception(page, "example study, Agreement")
    rows = grid_rows(page.locator('[data-testid="stDataFrame"]:visible').first)
    assert [r["Prompt variant"] for r in rows][:2] == ["selene-ref", "selene"], rows
    charts = rendered_charts(page, 2, at_least=True)
    page.evaluate("() => document.fonts.ready")
    settle(page)
    # From the page title down to the end of the disagreements table: metrics, both charts, the items.
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    title = page.locator("h1").first.bounding_box()
    last_table = page.locator('[data-testid="stDataFrame"]:visible').nth(1).bounding_box()
    assert main and title and last_table and charts
    top = max(title["y"] - 24, 0)
    clip = {
        "x": main["x"] + 40,
        "y": top,
        "width": main["width"] - 80,
        "height": last_table["y"] + last_table["height"] + 12 - top,
    }
    shot = tmp_path / "agreement.png"
    page.screenshot(path=str(shot), clip=clip)
    page.close()
    if os.environ.get("SELENE_EVAL_UPDATE_SCREENSHOTS") == "1" or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    assert shot.stat().st_size < 500_000, shot.stat().st_size
    return shot


def test_upload_map_save_run_and_read_agreement_in_chromium(
    tmp_path: Path, studies_dir: Path, tiny_yes_model: Path, server: Server, browser_context: BrowserContext
) -> None:
    expected = expected_statistics()
    upload = write_csv(tmp_path / FILE_NAME)
    holder: dict[str, Page] = {}
    with diagnosed(holder, server, tmp_path):
        if (studies_dir / EXAMPLE_STUDY.name).is_dir():
            readme_screenshot(browser_context, server, tmp_path, holder)

        page = browser_context.new_page()
        holder["page"] = page
        page.goto(server.url)

        # 1 · Data: the real file input, then the task, the column mapping and the label mapping.
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload))
        expect(page.get_by_text(f"{FILE_NAME}: 12 rows, 5 columns, read as csv")).to_be_visible()
        assert grid_rows(page.locator('[data-testid="stDataFrame"]:visible').first)[0]["question"] == ROWS[0][0]
        page.locator(".st-key-data_task").get_by_text("Yes or no (binary classification)", exact=True).click()
        expect(page.get_by_text("What does each label value mean?")).to_be_visible()
        settle(page)
        # guess_mapping pre-fills the columns from their names.
        expect(page.get_by_role("combobox", name="Question or instruction")).to_have_value("question")
        expect(page.get_by_role("combobox", name="Response to judge")).to_have_value("answer")
        experts = page.locator(".st-key-data_experts")
        for column in ("expert_1", "expert_2", "expert_3"):
            expect(experts.get_by_text(column, exact=True)).to_be_visible()
        # Correct/Incorrect are recognised; "Unsure" is not, and blocks saving until it has a meaning.
        label_box = {
            raw: page.locator(f".st-key-{label_value_key(TaskType.BINARY, raw)} [role=combobox]")
            for raw in LABEL_MEANING
        }
        expect(label_box["Correct"]).to_have_value("yes")
        expect(label_box["Incorrect"]).to_have_value("no")
        expect(label_box["Unsure"]).to_have_value("")
        expect(page.get_by_text("'Unsure' (2 cells)")).to_be_visible()
        expect(page.get_by_role("button", name="Save the study")).to_have_count(0)
        choose(page, label_box["Unsure"], "(no label)")
        expect(page.get_by_text(re.compile(r"12 items ready from 12 rows"))).to_be_visible()
        settle(page)
        no_exception(page, "Data page")

        page.locator(".st-key-data_title input").fill(TITLE)
        page.locator(".st-key-data_slug input").fill(SLUG)
        page.get_by_role("button", name="Save the study").click()
        expect(page.get_by_text("Saved study")).to_be_visible()
        expect(page.get_by_role("combobox", name="Current study")).to_have_value(re.compile(re.escape(SLUG)))
        study = StudyStore(studies_dir).open(SLUG)
        try:
            assert study.spec.title == TITLE and len(study.items) == 12
            assert study.spec.label_map == LABEL_MEANING
            assert study.spec.experts == ["expert_1", "expert_2", "expert_3"]
        finally:
            study.close()

        # 3 · Run: the tiny model from a local folder, unquantized for speed.
        go_to(page, "3 · Run the judge")
        page.locator(".st-key-run_kind").get_by_text("A model in a local folder", exact=True).click()
        folder = page.locator(".st-key-run_folder input")
        folder.fill(str(tiny_yes_model))
        folder.press("Enter")
        expect(page.get_by_text(f"Model files found in {tiny_yes_model}")).to_be_visible()
        quantize = page.get_by_role("checkbox", name="Load in 4-bit (NF4)")
        if quantize.is_checked():
            page.locator(".st-key-run_quantize label").click()
        expect(quantize).not_to_be_checked()
        plan = page.get_by_text(re.compile(r"This run asks tiny \(full precision\) for 12 judgments"))
        expect(plan).to_contain_text("none is stored yet")
        expect(plan).to_contain_text("12 prompts will be sent")
        settle(page)
        page.locator(".st-key-run_start button").click()
        expect(page.get_by_text("Run finished: 12 judgments made, 0 already stored, 0 failed")).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        settle(page)
        no_exception(page, "Run page")
        expect(page.locator(".st-key-run_start button")).to_be_disabled()  # nothing left to run

        # 4 · Agreement: the statistics computed above, and both charts drawn with the right counts.
        go_to(page, "4 · Agreement")
        no_exception(page, "Agreement page")
        rows = grid_rows(page.locator('[data-testid="stDataFrame"]:visible').first)
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["Judge"] == "tiny (full precision)" and row["Prompt variant"] == "selene", row
        # Statistics are shown as text rounded to 3 decimals (as on the Studies page, in the CLI and the report).
        assert float(row["Judged"]) == expected["judged"], row
        assert float(row["Compared"]) == expected["compared"], row
        assert float(row["Accuracy"]) == pytest.approx(expected["accuracy"], abs=5e-4), (row, expected)  # 7 of 11
        assert float(row["Cohen's kappa"]) == pytest.approx(0.0, abs=5e-4), row  # a constant judge is chance level
        # The confusion heatmap and the label distribution come first (calibration charts may follow).
        heatmap, distribution = rendered_charts(page, 2, at_least=True)
        for experts_said, count in (("yes", expected["yes_yes"]), ("no", expected["no_yes"])):
            cell = heatmap.locator(
                f"[aria-label^=\"Judge's label: yes; Experts' majority label: {experts_said}; Items: {count};\"]"
            )
            expect(cell).to_have_count(1)
        expect(distribution.locator('[aria-label*="Who: Judge; Count: 12;"]')).to_have_count(1)
        expect(page.get_by_text("All 12 judge answers had a readable label.")).to_be_visible()
        n_disagree = expected["no_yes"]
        expect(page.get_by_text(f"{n_disagree} items shown of {n_disagree} disagreements.")).to_be_visible()
        no_exception(page, "Agreement page, at the end")
