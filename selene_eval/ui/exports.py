"""Download buttons (HTML report, tables, charts, the study archive) and importing an archive.

Each file is made when its button is pressed (Streamlit calls the ``data`` function then), never on every
rerun: rendering the charts and the bootstrap take seconds. The functions open the study afresh from its
folder, so a download reflects the study as it is on disk at that moment.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from selene_eval.errors import SeleneEvalError
from selene_eval.presentation.figures import chart_png, chart_svg, study_charts
from selene_eval.presentation.html import build_html_report
from selene_eval.presentation.report import study_report
from selene_eval.presentation.tables import study_tables, to_csv_bytes, to_parquet_bytes
from selene_eval.results.table import JudgmentTables
from selene_eval.study import Study, StudyStore
from selene_eval.study.archive import export_archive, import_archive
from selene_eval.ui.state import flash, put, study_store
from selene_eval.ui.text import md_escape, plural


def _with_study(path: Path, make: Callable[[Study], bytes | str]) -> Callable[[], bytes | str]:
    """A deferred ``make(study)`` on a freshly opened copy of the study at ``path``."""

    def run() -> bytes | str:
        study = StudyStore(path.parent).open(path.name)
        try:
            return make(study)
        finally:
            study.close()

    return run


def html_report_bytes(study: Study, n_resamples: int, seed: int) -> bytes:
    """The self-contained HTML report, UTF-8."""
    return build_html_report(study, n_resamples=n_resamples, seed=seed).encode("utf-8")


def tables_zip(study: Study, n_resamples: int, seed: int) -> bytes:
    """Every table as CSV (formulas neutralised) and Parquet, in one zip."""
    judged = JudgmentTables(study)  # each judgment table built once for the report and the tables
    tables = study_tables(study, study_report(study, n_resamples=n_resamples, seed=seed, tables=judged), tables=judged)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in tables.frames.items():
            archive.writestr(f"{study.slug}-tables/{name}.csv", to_csv_bytes(frame))
            archive.writestr(f"{study.slug}-tables/{name}.parquet", to_parquet_bytes(frame))
    return buffer.getvalue()


def charts_zip(study: Study) -> bytes:
    """Every chart of the report as SVG and PNG, in one zip."""
    judged = JudgmentTables(study)  # each judgment table built once for the report and the charts
    named = study_charts(study, study_report(study, n_resamples=0, tables=judged), tables=judged)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in named:
            archive.writestr(f"{study.slug}-charts/{item.name}.svg", chart_svg(item.chart))
            archive.writestr(f"{study.slug}-charts/{item.name}.png", chart_png(item.chart))
    return buffer.getvalue()


def archive_bytes(study: Study) -> bytes:
    """The study as an importable archive."""
    return export_archive(study)[0]


def download_file_names(slug: str) -> tuple[str, str, str, str]:
    """The names the four downloads of study ``slug`` get: report, tables, charts, archive."""
    return f"{slug}-report.html", f"{slug}-tables.zip", f"{slug}-charts.zip", f"{slug}.selene.zip"


def whose_files(study: Study, which: str) -> str:
    """Markdown naming the study the buttons below download, and the files' names (so that nobody downloads
    another study's report by mistake)."""
    names = ", ".join(f"`{name}`" for name in download_file_names(study.slug))
    return f"Files of {which} **{md_escape(study.spec.title)}** ({md_escape(study.slug)}): {names}."


def open_study_downloads(study: Study, *, key: str) -> None:
    """The open study's four downloads, offered where its results are shown (Agreement, Robustness)."""
    from selene_eval.ui.results import bootstrap_settings  # the Agreement page's interval settings

    st.subheader("Download these results")
    st.markdown(whose_files(study, "the open study"))
    n_resamples, seed = bootstrap_settings()
    download_buttons(study, n_resamples=n_resamples, seed=seed, key=key)


def download_buttons(study: Study, *, n_resamples: int = 1000, seed: int = 0, key: str = "exports") -> None:
    """The four downloads of a study, side by side."""
    path = study.path
    report_name, tables_name, charts_name, archive_name = download_file_names(study.slug)
    st.caption(
        "Each file is made when you press its button. The report and the tables use "
        f"{'no bootstrap intervals' if n_resamples == 0 else f'{n_resamples:,} bootstrap resamples'} (seed {seed})."
    )
    cols = st.columns(4)
    cols[0].download_button(
        "HTML report",
        _with_study(path, lambda s: html_report_bytes(s, n_resamples, seed)),
        file_name=report_name,
        mime="text/html",
        key=f"{key}_html",
        icon=":material/description:",
        help="One file that opens offline in any browser: data, judge, prompts, statistics with intervals, the "
        "expert ceiling, charts, disagreements and a methods paragraph.",
        on_click="ignore",
    )
    cols[1].download_button(
        "Tables (CSV + Parquet)",
        _with_study(path, lambda s: tables_zip(s, n_resamples, seed)),
        file_name=tables_name,
        mime="application/zip",
        key=f"{key}_tables",
        icon=":material/table:",
        help="Items, statistics, every judgment and the expert ceiling. CSV cells that a spreadsheet would run as a "
        "formula start with an apostrophe.",
        on_click="ignore",
    )
    cols[2].download_button(
        "Charts (SVG + PNG)",
        _with_study(path, charts_zip),
        file_name=charts_name,
        mime="application/zip",
        key=f"{key}_charts",
        icon=":material/bar_chart:",
        on_click="ignore",
    )
    cols[3].download_button(
        "Study archive",
        _with_study(path, archive_bytes),
        file_name=archive_name,
        mime="application/zip",
        key=f"{key}_archive",
        icon=":material/archive:",
        help="The whole study (spec, items, judgments) as one file another user can import on the Studies page.",
        on_click="ignore",
    )


def import_archive_action() -> None:
    """Callback of the import form: validate and add the uploaded archive; the outcome is flashed."""
    uploaded = st.session_state.get("studies_archive")
    if uploaded is None:
        flash("error", "Choose an archive file first.")
        return
    name = str(st.session_state.get("studies_import_as") or "").strip() or None
    try:
        study = import_archive(
            study_store(),
            uploaded.getvalue(),
            slug=name,
            overwrite=bool(st.session_state.get("studies_import_overwrite")),
        )
    except SeleneEvalError as exc:
        flash("error", f"**The archive was not imported**  \n{md_escape(str(exc))}")
        return
    try:
        n_items, n_judgments = len(study.items), study.judgments.count()
    finally:
        study.close()
    # A callback runs before the page draws its widgets, so the studies list may switch to the new study.
    put("studies_selected", study.slug)
    flash(
        "success",
        f"Imported study **{md_escape(study.slug)}** with {plural(n_items, 'item')} and "
        f"{plural(n_judgments, 'judgment')}.",
    )


def import_archive_form() -> None:
    """Upload a study archive, choose its name, import it (never replacing a study unless asked)."""
    uploaded = st.file_uploader("Study archive (.zip exported by selene-eval)", type=["zip"], key="studies_archive")
    if uploaded is None:
        return
    with st.form("studies_import_form"):
        st.text_input("Name of the imported study (empty: the name in the archive)", key="studies_import_as")
        st.checkbox(
            "Replace a study of that name if there is one (its judgments are deleted)", key="studies_import_overwrite"
        )
        st.form_submit_button("Import the archive", type="primary", on_click=import_archive_action)
