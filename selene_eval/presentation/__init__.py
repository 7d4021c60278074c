"""Presentation of a study's results: the study report (:mod:`~selene_eval.presentation.report`), judges
compared, frames and charts for the dashboard, and the exports (the self-contained HTML report, tables as
CSV or Parquet, charts as SVG or PNG). The portable archive is :mod:`selene_eval.study.archive`.

Nothing here imports streamlit or torch; the dashboard's download buttons (:mod:`selene_eval.ui.exports`)
and the CLI (``report --html``, ``export``, ``import-archive``) call these functions.
"""

from selene_eval.presentation.figures import CHART_FORMATS, NamedChart, chart_png, chart_svg, study_charts, write_charts
from selene_eval.presentation.html import (
    SECTION_BUILDERS,
    ReportContext,
    ReportSection,
    build_html_report,
    register_section,
    write_html_report,
)
from selene_eval.presentation.tables import (
    FORMULA_PREFIXES,
    TABLE_FORMATS,
    StudyTables,
    neutralise_cell,
    neutralise_frame,
    study_tables,
    to_csv_bytes,
    to_parquet_bytes,
)

__all__ = [
    "CHART_FORMATS",
    "FORMULA_PREFIXES",
    "SECTION_BUILDERS",
    "TABLE_FORMATS",
    "NamedChart",
    "ReportContext",
    "ReportSection",
    "StudyTables",
    "build_html_report",
    "chart_png",
    "chart_svg",
    "neutralise_cell",
    "neutralise_frame",
    "register_section",
    "study_charts",
    "study_tables",
    "to_csv_bytes",
    "to_parquet_bytes",
    "write_charts",
    "write_html_report",
]
