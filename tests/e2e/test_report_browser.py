"""The HTML report in a real browser: it opens offline and its charts render with size and marks.

A K-QA study is made from the shared copy (three physicians per item), judged by the scripted backend on
part of its items, and its report written as one file. Debian's Chromium (through Playwright, as in
``test_browser.py``) opens it from disk with every network request refused: the report must need none.
A second test presses the Studies page's download buttons in the running dashboard and reads the files.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from selene_eval.testing import browser as testing_browser

sync_api = testing_browser.playwright_or_skip()

from selene_eval.adapters import KQA, create_study_from_dataset  # noqa: E402
from selene_eval.core.judge_spec import JudgeSpec  # noqa: E402
from selene_eval.judge.scripted import ScriptedBackend  # noqa: E402
from selene_eval.presentation.html import write_html_report  # noqa: E402
from selene_eval.run.runner import run_study  # noqa: E402
from selene_eval.study import StudyStore  # noqa: E402
from selene_eval.testing.expected import REPORT_SECTIONS  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile; every request that is not the report file is refused."""
    viewport = {"width": 1200, "height": 2000}
    with testing_browser.chromium_context(tmp_path / "profile", timeout_ms=30_000, viewport=viewport) as context:
        refused: list[str] = []

        def route(r) -> None:  # noqa: ANN001
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                refused.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        context.refused = refused  # type: ignore[attr-defined]
        yield context


def _open(context: BrowserContext, path: Path) -> Page:
    page = context.new_page()
    page.goto(path.as_uri())
    return page


def _check_sections(page: Page) -> None:
    ids = [i for i in page.locator("section").evaluate_all("els => els.map(e => e.id)") if i != "robustness"]
    assert ids == REPORT_SECTIONS
    for section in REPORT_SECTIONS:
        assert page.locator(f"section#{section} h2").is_visible()


def _chart_sizes(page: Page) -> dict[str, tuple[float, float, int, float]]:
    """chart name -> (svg width, svg height, number of drawn marks, largest mark area) as the browser laid them out."""
    return page.locator("figure.chart").evaluate_all(
        """figs => Object.fromEntries(figs.map(f => {
            const svg = f.querySelector('svg');
            const box = svg.getBoundingClientRect();
            const marks = [...svg.querySelectorAll('g.role-mark > path')];
            const areas = marks.map(m => { const b = m.getBoundingClientRect(); return b.width * b.height; });
            return [f.dataset.chart, [box.width, box.height, marks.length, Math.max(0, ...areas)]];
        }))"""
    )


def test_kqa_report_opens_offline_with_every_section_and_rendered_charts(
    shared_datasets: Path, studies_dir: Path, tmp_path: Path, browser: BrowserContext
) -> None:
    store = StudyStore(studies_dir)
    study = create_study_from_dataset(KQA, shared_datasets / "kqa_physician_nli", store, "kqa")
    fresh = write_html_report(study, tmp_path / "fresh.html", n_resamples=0)

    page = _open(browser, fresh)
    _check_sections(page)
    assert page.locator("section#statistics").get_by_text("No judgments yet").is_visible()
    charts = _chart_sizes(page)
    assert list(charts) == ["expert-labels"]
    width, height, marks, area = charts["expert-labels"]
    assert width > 300 and height > 100 and marks == 3 * 2 and area > 100  # 3 physicians x 2 labels

    outputs = ["**Reasoning:** The answer states it.\n**Result:** Yes", "**Reasoning:** Not addressed.\n**Result:** No"]
    run_study(study, ScriptedBackend(JudgeSpec(backend="scripted", model="scripted-kqa"), script=outputs), limit=40)
    judged = write_html_report(study, tmp_path / "judged.html", n_resamples=200)

    page = _open(browser, judged)
    _check_sections(page)
    charts = _chart_sizes(page)
    confusion = [name for name in charts if name.startswith("confusion-")]
    assert len(confusion) == 1 and any(name.startswith("labels-") for name in charts)
    for name, (width, height, marks, area) in charts.items():
        assert width > 300 and height > 100, name
        assert marks > 0 and area > 50, name
    assert charts[confusion[0]][2] == 4  # a 2 x 2 confusion matrix: four cells
    page.locator("section#disagreements details").first.click()
    assert page.locator("section#disagreements details[open] pre").first.is_visible()
    page.screenshot(path=str(tmp_path / "report.png"))
    assert browser.refused == []  # type: ignore[attr-defined]


def test_studies_page_downloads_the_report_and_the_archive(
    shared_datasets: Path, studies_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, dashboard: str
) -> None:
    study = create_study_from_dataset(KQA, shared_datasets / "kqa_physician_nli", StudyStore(studies_dir), "kqa")
    run_study(
        study,
        ScriptedBackend(JudgeSpec(backend="scripted", model="scripted-kqa"), script=["**Result:** Yes"]),
        limit=20,
    )
    study.close()
    profile = tmp_path_factory.mktemp("profile")
    with testing_browser.chromium_context(
        profile, timeout_ms=60_000, viewport={"width": 1400, "height": 2400}, accept_downloads=True
    ) as context:
        page = context.new_page()
        page.goto(dashboard)
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Studies", exact=True).click()
        sync_api.expect(page.locator("h1").filter(has_text="Studies")).to_be_visible()
        with page.expect_download() as info:
            page.get_by_role("button", name="HTML report").click()
        report = tmp_path / "report.html"
        info.value.save_as(report)
        html = report.read_text(encoding="utf-8")
        assert '<section id="statistics">' in html and "20 of 185 items judged" in html
        with page.expect_download() as info:
            page.get_by_role("button", name="Study archive").click()
        archive = tmp_path / "kqa.zip"
        info.value.save_as(archive)
        with zipfile.ZipFile(archive) as z:
            assert "kqa/judgments.sqlite" in z.namelist()
        assert page.locator('[data-testid="stException"]').count() == 0
