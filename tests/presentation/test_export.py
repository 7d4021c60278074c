"""Exports: CSV formula neutralisation, Parquet, chart images, and the HTML report's sections and escaping."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, build_items, read_table
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.figures import chart_png, chart_svg, study_charts, write_charts
from selene_eval.presentation.html import SECTION_BUILDERS, ReportSection, build_html_report, register_section
from selene_eval.presentation.report import study_report
from selene_eval.presentation.tables import neutralise_cell, study_tables, to_csv_bytes, to_parquet_bytes
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore, new_study_spec
from selene_eval.testing.expected import REPORT_SECTIONS

SCRIPTED = JudgeSpec(backend="scripted", model="scripted-export-test")
EVIL = "<script>alert('x')</script>"

CSV = "id,question,answer,e1,e2,e3\n" + "".join(
    f'{i},Question {i % 4},=HYPERLINK("http://x") answer {i},{a},{b},{c}\n'
    for i, (a, b, c) in enumerate(
        [("yes", "yes", "yes"), ("no", "no", "yes"), ("yes", "no", "no"), ("no", "no", "no")] * 3, start=1
    )
)


def _study(studies_dir: Path, *, title: str = "Export test", question: str | None = None):
    text = CSV if question is None else CSV.replace("Question 1,", f"{question},")
    table = read_table(text.encode(), name="export.csv")
    mapping = ColumnMapping(id="id", group="question", input="question", response="answer", experts=["e1", "e2", "e3"])
    items, report = build_items(table.frame, mapping, TaskType.BINARY)
    assert report.ok
    spec = new_study_spec(table, mapping, TaskType.BINARY, {}, items, slug="export-test", title=title)
    return StudyStore(studies_dir).create(spec, items)


def _judge(study, answer: str = "**Reasoning:** It is fine.\n**Result:** Yes") -> None:
    run_study(study, ScriptedBackend(SCRIPTED, script=[answer, "**Reasoning:** No.\n**Result:** No"]))


# --- CSV / Parquet ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil")'])
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "a=b", " =1", "", 5, None, 1.5])
def test_other_cells_are_unchanged(value: object) -> None:
    assert neutralise_cell(value) == value


def test_csv_export_neutralises_formulas_in_cells_and_headers_and_round_trips_the_rest() -> None:
    frame = pd.DataFrame({"=col": ["=1+1", "safe", None], "n": [1, 2, 3], "neg": ["-5", "x", "@me"]})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(back.columns) == ["'=col", "n", "neg"]
    assert back["'=col"].tolist() == ["'=1+1", "safe", ""]
    assert back["neg"].tolist() == ["'-5", "x", "'@me"]
    assert back["n"].tolist() == ["1", "2", "3"]
    # No cell of the file starts with a formula character any more.
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@"))


def test_parquet_keeps_values_and_types_and_flattens_nested_cells() -> None:
    frame = pd.DataFrame({"text": ["=1+1", "x"], "n": [1, 2], "probs": [{"yes": 0.9, "no": 0.1}, None]})
    back = pd.read_parquet(io.BytesIO(to_parquet_bytes(frame)))
    assert back["text"].tolist() == ["=1+1", "x"]  # Parquet is data, not a sheet: unchanged
    assert back["n"].tolist() == [1, 2]
    assert back["probs"].tolist()[0] == '{"no": 0.1, "yes": 0.9}'


def test_study_tables_hold_items_metrics_judgments_and_ceiling(studies_dir: Path, tmp_path: Path) -> None:
    study = _study(studies_dir)
    _judge(study)
    report = study_report(study, n_resamples=100)
    tables = study_tables(study, report)
    assert set(tables.frames) == {"items", "metrics", "judgments", "ceiling"}
    assert len(tables.frames["items"]) == 12
    assert tables.frames["items"]["consensus"].tolist()[:4] == ["yes", "no", "no", "no"]
    metrics = tables.frames["metrics"]
    kappa = metrics[metrics["statistic"] == "cohen_kappa"].iloc[0]
    assert kappa["value"] == pytest.approx(report.results[0].agreement.metrics["cohen_kappa"])
    assert kappa["ci_low"] <= kappa["value"] <= kappa["ci_high"]
    judgments = tables.frames["judgments"]
    assert len(judgments) == 12 and set(judgments["judge_label"]) == {"yes", "no"}
    written = tables.write(tmp_path / "tables")
    assert sorted(p.name for p in written) == sorted(f"{n}.{f}" for n in tables.frames for f in ("csv", "parquet"))
    items_csv = (tmp_path / "tables" / "items.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in items_csv and "\n=HYPERLINK" not in items_csv and ",=HYPERLINK" not in items_csv


# --- charts ------------------------------------------------------------------------------------------------------


def test_charts_render_as_svg_with_marks_and_as_png(studies_dir: Path, tmp_path: Path) -> None:
    study = _study(studies_dir)
    _judge(study)
    report = study_report(study, n_resamples=0)
    named = study_charts(study, report)
    names = [n.name for n in named]
    assert names[0] == "expert-labels" and any(n.startswith("confusion-") for n in names)
    svg = chart_svg(named[0].chart)
    assert svg.startswith("<svg") and 'class="marks"' in svg
    width = float(re.search(r'width="([0-9.]+)"', svg).group(1))
    assert width > 300
    assert svg.count("<path") + svg.count("<rect") > 4  # bars are drawn, not only axes
    png = chart_png(named[0].chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    written = write_charts(named, tmp_path / "charts")
    assert {p.suffix for p in written} == {".svg", ".png"} and len(written) == 2 * len(named)


def test_chart_text_from_data_is_escaped_in_the_svg() -> None:
    import altair as alt

    chart = alt.Chart(pd.DataFrame({"label": [EVIL, "b"], "n": [1, 2]})).mark_bar().encode(x="label:N", y="n:Q")
    svg = chart_svg(chart)
    assert "<script" not in svg and "&lt;script&gt;" in svg


# --- the HTML report ----------------------------------------------------------------------------------------------


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, flags=re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def test_report_of_a_study_without_judgments_has_every_section_and_says_so(studies_dir: Path) -> None:
    study = _study(studies_dir)
    html = build_html_report(study, n_resamples=0)
    ids = re.findall(r'<section id="([a-z]+)">', html)
    assert [i for i in ids if i != "robustness"] == REPORT_SECTIONS
    for section in ("statistics", "disagreements"):
        assert "No judgments yet" in _section(html, section)
    assert "python -m selene_eval run export-test" in _section(html, "judges")
    assert 'data-chart="expert-labels"' in _section(html, "charts")
    assert "No judge has been run" in _section(html, "methods")
    ceiling = _section(html, "ceiling")  # the experts' own agreement needs no judge
    assert "Fleiss" in ceiling and ceiling.count("<td>e1</td>") == 2 and "No judgments yet" in ceiling
    assert "<script" not in html.lower()  # opens offline: no JavaScript at all


def test_report_of_a_judged_study_shows_statistics_ceiling_prompts_disagreements_and_methods(studies_dir: Path) -> None:
    study = _study(studies_dir)
    _judge(study)
    html = build_html_report(study, n_resamples=100, seed=7)
    stats = _section(html, "statistics")
    assert "Cohen&#39;s kappa" in stats and re.search(r"\[-?[01]\.\d{3}, -?[01]\.\d{3}\]", stats)
    assert "scripted test judge" in stats
    ceiling = _section(html, "ceiling")
    assert "Leave one out" in ceiling and "Substitution" in ceiling
    prompts = _section(html, "prompts")
    variant = study.variant(study.spec.variants[0])
    assert variant.content_hash in prompts and "{assistant_response}" in prompts
    disagreements = _section(html, "disagreements")
    assert "The judge's reasoning" in disagreements and "Item <code>" in disagreements
    methods = _section(html, "methods")
    assert "100 resamples (seed 7)" in methods and "resampling whole groups" in methods
    assert "vl-convert-python" in methods and "--seed 7" in methods
    assert html.count('class="chart"') >= 3


def test_user_text_is_escaped_everywhere(studies_dir: Path) -> None:
    study = _study(studies_dir, title=EVIL, question=EVIL)
    _judge(study, answer=f"**Reasoning:** {EVIL}\n**Result:** No")
    html = build_html_report(study, n_resamples=0)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_sections_are_pluggable(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from markupsafe import Markup

    monkeypatch.setattr("selene_eval.presentation.html.SECTION_BUILDERS", list(SECTION_BUILDERS))

    def extra(ctx):  # noqa: ANN001, ANN202
        return ReportSection("extra", "An extra analysis", Markup("<p>%s</p>") % ctx.study.spec.title)

    register_section(extra, after="statistics_section")
    study = _study(studies_dir, title="Plug <b>in</b>")
    html = build_html_report(study, n_resamples=0)
    ids = re.findall(r'<section id="([a-z]+)">', html)
    assert ids.index("extra") == ids.index("statistics") + 1
    assert "<p>Plug &lt;b&gt;in&lt;/b&gt;</p>" in html
    with pytest.raises(ValueError, match="no_such_section"):
        register_section(extra, after="no_such_section")


def test_robustness_results_are_rendered_when_the_report_has_them(studies_dir: Path) -> None:
    study = _study(studies_dir)
    study.spec = study.spec.model_copy(update={"variants": ["selene", "selene.layout-json"]})
    study.save_spec()
    _judge(study)
    report = study_report(study, n_resamples=0)
    if "robustness" not in report.to_dict():
        pytest.skip("this study report has no robustness results")
    html = build_html_report(study, report)
    section = _section(html, "robustness")
    assert "selene.layout-json" in section and "All robustness figures" in section


def test_robustness_section_falls_back_to_a_generic_rendering(studies_dir: Path) -> None:
    from selene_eval.presentation.html import ReportContext, robustness_section

    study = _study(studies_dir)
    report = study_report(study, n_resamples=0)
    odd = {"robustness": {"surprise": [1.5, EVIL, None]}}
    ctx = ReportContext(study, report, {}, [], "now", cache={"report_dict": odd})
    body = str(robustness_section(ctx).body)
    assert "1.500" in body and "&lt;script&gt;" in body and "n/a" in body
    ctx = ReportContext(study, report, {}, [], "now", cache={"report_dict": {}})
    assert robustness_section(ctx) is None
