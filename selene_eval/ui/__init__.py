"""The dashboard's Streamlit layer: the only code besides ``app.py`` and ``pages/`` that imports streamlit.

Pages are thin scripts: they lay out a step and call the components here, which call the core
(:mod:`selene_eval.data`, :mod:`selene_eval.run.runner`, :mod:`selene_eval.presentation.report`, ...). Pure helpers that
need no streamlit live in :mod:`selene_eval.ui.views` and :mod:`selene_eval.ui.text`; charts in
:mod:`selene_eval.presentation.charts`.

Importing this package imports neither torch nor transformers: the judge model loads when a run starts.
Nor does it import any component until a page asks for it (``ui.name`` loads the module that defines
``name``, PEP 562): the first page drawn (Data) then does not pay for the agreement statistics, scipy and the
charts, which keeps the dashboard's first paint short (``bench/app.py``).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME: dict[str, str] = {
    "PAGES": "common",
    "PageInfo": "common",
    "opened_study": "common",
    "page_link": "common",
    "page_title": "common",
    "plain": "common",
    "show_error": "common",
    "study_caption": "common",
    "study_opened": "common",
    "FILE_TYPES_HELP": "data",
    "create_study": "data",
    "distinct_labels": "data",
    "label_map_editor": "data",
    "mapping_editor": "data",
    "read_upload": "data",
    "study_overview": "data",
    "suggested_slug": "data",
    "task_picker": "data",
    "validate": "data",
    "validation_report": "data",
    "weights_status": "judge_model",
    "load_study_into_widgets": "prompts",
    "prompt_preview": "prompts",
    "remove_variant": "prompts",
    "rubric_editor": "prompts",
    "save_prompts": "prompts",
    "template_sources": "prompts",
    "variant_picker": "prompts",
    "disagreement_browser": "results",
    "expert_figures": "results",
    "judges_of": "results",
    "metrics_table": "results",
    "notes": "results",
    "report_for": "results",
    "result_picker": "results",
    "show_chart": "results",
    "table_for": "results",
    "unparseable_table": "results",
    "execute_run": "run",
    "finish_run": "run",
    "last_outcome": "run",
    "judge_picker": "run",
    "load_judge_into_widgets": "run",
    "plan_summary": "run",
    "scope_picker": "run",
    "render_sidebar": "sidebar",
    "current_slug": "state",
    "declare": "state",
    "init_app_state": "state",
    "keep_valid": "state",
    "open_study": "state",
    "put": "state",
    "show_flash": "state",
    "study_store": "state",
    "compare_column": "studies",
    "damaged_studies": "studies",
    "manage_study": "studies",
    "studies_frame": "studies",
    "METRIC_NAMES": "text",
    "md_escape": "text",
    "plural": "text",
    "confusion_frame": "views",
    "distribution_frame": "views",
    "variant_frame": "views",
    "with_consensus": "views",
}
"""Each public name of the package and the submodule that defines it."""


def __getattr__(name: str) -> Any:
    """Load the submodule that defines ``name`` on first use, and keep the name here for the next."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = sorted(_HOME)
