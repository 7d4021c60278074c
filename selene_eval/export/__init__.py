"""Exports of a study: the self-contained HTML report, tables (CSV, Parquet), charts (SVG, PNG) and a
portable archive that another user can import.

Nothing here imports streamlit or torch; the dashboard's download buttons (:mod:`selene_eval.ui.exports`)
and the CLI (``report --html``, ``export``, ``import-archive``) call these functions.
"""

from selene_eval.export.archive import ArchiveManifest, export_archive, import_archive, read_manifest
from selene_eval.export.charts import CHART_FORMATS, NamedChart, chart_png, chart_svg, study_charts, write_charts
from selene_eval.export.html import (
    SECTION_BUILDERS,
    ReportContext,
    ReportSection,
    build_html_report,
    register_section,
    write_html_report,
)
from selene_eval.export.tables import (
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
    "ArchiveManifest",
    "NamedChart",
    "ReportContext",
    "ReportSection",
    "StudyTables",
    "build_html_report",
    "chart_png",
    "chart_svg",
    "export_archive",
    "import_archive",
    "neutralise_cell",
    "neutralise_frame",
    "read_manifest",
    "register_section",
    "study_charts",
    "study_tables",
    "to_csv_bytes",
    "to_parquet_bytes",
    "write_charts",
    "write_html_report",
]
