"""In Chromium: the downloads on Agreement, Robustness and Studies are the open study's files.

The issue's trap: the Studies page was visited before a study was opened, so its own selector sat on the
first study (an example), and its "HTML report" gave that study's report while another study was open.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selene_eval.testing import browser as testing_browser

sync_api = testing_browser.playwright_or_skip()

from selene_eval.testing.studies import even_odd_study as make_study  # noqa: E402

pytestmark = pytest.mark.browser


def go_to(page: sync_api.Page, title: str) -> None:
    """Open a page from the sidebar's navigation (``title`` as listed there, e.g. ``4 · Agreement``)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    sync_api.expect(page.locator("h1").filter(has_text=title.split(" · ")[-1])).to_be_visible()


def download_report(page: sync_api.Page, tmp_path: Path, name: str) -> tuple[str, str]:
    """Press the page's "HTML report" button; (suggested file name, the report's text)."""
    button = page.get_by_role("button", name="HTML report")
    sync_api.expect(button).to_have_count(1)
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=120_000) as info:
        button.click()
    path = tmp_path / name
    info.value.save_as(path)
    return info.value.suggested_filename, path.read_text(encoding="utf-8")


def test_every_download_button_gives_the_open_studys_files(
    studies_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, dashboard: str
) -> None:
    from selene_eval.testing import browser as testing_browser

    make_study(studies_dir, "example-finance", judged=True, title="Example finance")
    make_study(studies_dir, "mine", judged=True, title="My own file", variants=("selene", "selene.layout-xml"))
    profile = tmp_path_factory.mktemp("profile")
    with testing_browser.chromium_context(
        profile, timeout_ms=60_000, viewport={"width": 1400, "height": 2400}, accept_downloads=True
    ) as context:
        page = context.new_page()
        page.goto(dashboard)
        go_to(page, "Studies")  # nothing open yet: its selector takes the first study
        sync_api.expect(page.get_by_text("example-finance-report.html")).to_be_visible()
        box = page.get_by_role("combobox", name="Current study")
        box.click()
        page.get_by_role("option", name=re.compile(r"\(mine\)$")).click()
        sync_api.expect(box).to_have_value(re.compile(r"mine"))
        for title in ("4 · Agreement", "5 · Robustness", "Studies"):
            go_to(page, title)
            name, html = download_report(page, tmp_path, f"{title[-6:]}.html")
            assert name == "mine-report.html", title
            assert "My own file" in html and "Example finance" not in html, title
        assert page.locator('[data-testid="stException"]').count() == 0
