"""Benchmark: the dashboard's first paint and the Agreement page of a 10,000-item study, in a real browser.

1. Writes a 10,000-item yes/no study (three experts, two prompt variants, 20,000 scripted judgments stored
   through the runner) into a temporary ``SELENE_EVAL_STUDIES_DIR``. It is marked illustrative, so the app
   opens it as the current study.
2. Starts Debian's Chromium through Playwright first (the browser's own start-up is not the app's cost),
   then ``streamlit run app.py`` (headless, a free port) and measures from that command to
   * **served**: ``/_stcore/health`` answers;
   * **first paint**: the first page's title is visible in Chromium and the app is idle (no script running,
     nothing stale).
3. Measures the switch to the Agreement page (click in the sidebar until its tables are drawn and the app
   is idle), twice: cold, then back from another page (Streamlit's caches warm).
4. Checks that the server process has not loaded torch: ``libtorch`` must not be mapped into its memory
   (``/proc/<pid>/maps``) after both pages were drawn. A subprocess also renders both pages with
   Streamlit's AppTest and prints whether ``torch`` or ``transformers`` entered ``sys.modules``.

Target: first paint under 3 s. Prints a table, writes ``bench/results/app.json``.
Run: ``.venv/bin/python bench/app.py`` (needs ``/usr/bin/chromium`` and the ``playwright`` package; about a
minute, most of it writing the study). Make target: ``make bench-app``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from selene_eval.testing import browser as testing_browser  # noqa: E402  (after the path set-up)

RESULTS = Path(__file__).resolve().parent / "results" / "app.json"
N_ITEMS = 10_000
SLUG = "bench-10k"
TARGET_FIRST_PAINT_S = 3.0
AGREEMENT = "4 · Agreement"
IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                   && !document.querySelector('[data-stale="true"]')"""

_APPTEST = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=300).run()
assert not at.exception, at.exception
at.switch_page("pages/4_agreement.py").run()
assert not at.exception, at.exception
print(",".join(m for m in ("torch", "transformers") if m in sys.modules) or "none")
"""


def write_study(root: Path) -> float:
    """The 10,000-item study with scripted judgments; returns the seconds it took."""
    from selene_eval.core.items import Item
    from selene_eval.core.judge_spec import JudgeSpec, Message
    from selene_eval.core.tasks import TaskType
    from selene_eval.judge.scripted import ScriptedBackend
    from selene_eval.prompts import default_rubric
    from selene_eval.run.runner import run_study
    from selene_eval.study import StudySpec, StudyStore

    start = time.perf_counter()
    experts = ["e1", "e2", "e3"]
    items = []
    for i in range(N_ITEMS):
        truth = "yes" if (i * 7) % 10 < 6 else "no"
        flip = "no" if truth == "yes" else "yes"
        labels = [truth, truth if i % 5 else flip, truth if i % 7 else flip]
        items.append(
            Item(
                f"i{i:05d}",
                f"Question {i}: what was reported for segment {i % 37}?",
                f"The answer for segment {i % 37} is {i % 101} million.",
                group_id=f"g{i // 4}",
                reference=f"{i % 101} million",
                category=("finance", "medicine")[i % 2],
                experts=dict(zip(experts, labels, strict=True)),
            )
        )
    spec = StudySpec(
        slug=SLUG,
        title="Benchmark: 10,000 items",
        illustrative=True,
        task=TaskType.BINARY,
        experts=experts,
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene-ref", "selene"],
        judge=JudgeSpec(backend="scripted", model="bench", name="Scripted (benchmark)"),
    )
    study = StudyStore(root).create(spec, items)

    def answer(messages: list[Message]) -> str:
        # A judge that agrees with the first expert on 85% of items, by a stable rule.
        text = messages[-1].content
        number = int(text.split("Question ", 1)[1].split(":", 1)[0])
        truth = "Yes" if (number * 7) % 10 < 6 else "No"
        other = "No" if truth == "Yes" else "Yes"
        return f"**Reasoning:** Scripted for the benchmark.\n\n**Result:** {truth if number % 7 else other}"

    run_study(study, ScriptedBackend(spec.judge, script=answer), batch_size=512)
    study.close()
    return time.perf_counter() - start


def torch_mapped(pid: int) -> bool:
    """Whether process ``pid`` has torch's shared library mapped (i.e. has imported torch)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text(encoding="utf-8", errors="replace")


def main() -> int:
    try:
        from playwright.sync_api import expect
    except ImportError:
        print(
            "bench/app.py needs the playwright package (pip install playwright; no browser download).", file=sys.stderr
        )
        return 2
    if not testing_browser.CHROMIUM.exists():
        print(f"bench/app.py needs Chromium at {testing_browser.CHROMIUM} (apt-get install chromium).", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="selene-app-bench-") as tmp:
        studies = Path(tmp) / "studies"
        studies.mkdir()
        print(f"writing a {N_ITEMS:,}-item study with 2 variants ...", flush=True)
        write_s = write_study(studies)
        env = {**os.environ, "SELENE_EVAL_STUDIES_DIR": str(studies), "HF_HUB_OFFLINE": "1"}
        env.pop("SELENE_EVAL_ENABLE_SCRIPTED", None)
        port = testing_browser.free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "streamlit.log"
        profile = Path(tmp) / "profile"
        viewport = {"width": 1400, "height": 2000}
        with testing_browser.chromium_context(profile, timeout_ms=120_000, viewport=viewport) as context:
            page = context.new_page()
            t0 = time.perf_counter()
            server = testing_browser.start_streamlit(port, env, log, REPO)
            try:
                try:
                    # Polled often: the time to the first answer is one of the measurements.
                    testing_browser.wait_until_served(server, url, poll_s=0.02)
                except testing_browser.ServerDidNotStart as exc:
                    raise SystemExit(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}") from None
                served_s = time.perf_counter() - t0
                page.goto(url)
                expect(page.locator("h1").first).to_be_visible(timeout=120_000)
                page.wait_for_function(IDLE_JS)
                first_paint_s = time.perf_counter() - t0
                first_title = page.locator("h1").first.inner_text()

                switches = []
                for _ in range(2):
                    start = time.perf_counter()
                    page.locator('[data-testid="stSidebarNav"]').get_by_text(AGREEMENT, exact=True).click()
                    expect(page.locator("h1").filter(has_text=AGREEMENT)).to_be_visible(timeout=120_000)
                    page.locator('[data-testid="stDataFrame"]').first.wait_for()
                    page.wait_for_function(IDLE_JS)
                    switches.append(time.perf_counter() - start)
                    shown = page.locator('[data-testid="stException"]')
                    if shown.count():
                        raise SystemExit(f"the Agreement page shows an exception: {shown.first.inner_text()}")
                    page.locator('[data-testid="stSidebarNav"]').get_by_text("1 · Data", exact=True).click()
                    page.wait_for_function(IDLE_JS)
                server_has_torch = torch_mapped(server.pid)
            finally:
                testing_browser.stop_process_group(server)
        apptest = subprocess.run(
            [sys.executable, "-c", _APPTEST], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
        )
        heavy = (
            apptest.stdout.strip().splitlines()[-1] if apptest.returncode == 0 else f"error: {apptest.stderr[-500:]}"
        )

    rows = [
        ("writing the 10,000-item study (2 variants, scripted judge)", write_s),
        ("`streamlit run` -> health endpoint answers", served_s),
        (f"`streamlit run` -> first page rendered in Chromium ({first_title!r})", first_paint_s),
        ("switch to the Agreement page, 10,000 items (cold)", switches[0]),
        ("switch to the Agreement page, 10,000 items (again)", switches[1]),
    ]
    table = "\n".join(["| step | seconds |", "|---|---:|", *(f"| {what} | {s:.2f} |" for what, s in rows)])
    print(table)
    print(f"server process has torch loaded: {server_has_torch}; AppTest of Data + Agreement imported: {heavy}")
    met = first_paint_s < TARGET_FIRST_PAINT_S
    print(f"target first paint < {TARGET_FIRST_PAINT_S:.0f} s: {'met' if met else 'missed'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "command": "python bench/app.py",
                "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
                "n_items": N_ITEMS,
                "write_study_s": write_s,
                "served_s": served_s,
                "first_paint_s": first_paint_s,
                "agreement_switch_s": switches,
                "server_has_torch": server_has_torch,
                "apptest_heavy_modules": heavy,
                "target_first_paint_met": met,
                "markdown": table,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
