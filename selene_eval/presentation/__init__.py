"""Presentation of a study's results: the study report (:mod:`~selene_eval.presentation.report`), judges
compared, frames and charts for the dashboard, and the exports (the self-contained HTML report, tables as
CSV or Parquet, charts as SVG or PNG). The portable archive is :mod:`selene_eval.study.archive`.

Nothing here imports streamlit or torch; the dashboard's download buttons (:mod:`selene_eval.ui.exports`)
and the CLI (``report --html``, ``export``, ``import-archive``) call these functions.
"""

# Nothing is imported here: import each name from the module that defines it, so that a light module
# (words.py, say) does not load the report, the statistics and scipy with it.
