"""The dashboard's Streamlit layer: the only code besides ``app.py`` and ``pages/`` that imports streamlit.

Pages are thin scripts: they lay out a step and call the components here, which call the core
(:mod:`selene_eval.data`, :mod:`selene_eval.runner`, :mod:`selene_eval.report`, ...). Pure helpers that
need no streamlit live in :mod:`selene_eval.ui.views` and :mod:`selene_eval.ui.text`; charts in
:mod:`selene_eval.charts`.

Importing this package imports neither torch nor transformers: the judge model loads when a run starts.
"""

from selene_eval.ui.common import (
    PAGES,
    PageInfo,
    opened_study,
    page_link,
    page_title,
    plain,
    show_error,
    study_caption,
    study_opened,
)
from selene_eval.ui.data import (
    FILE_TYPES_HELP,
    create_study,
    distinct_labels,
    label_map_editor,
    mapping_editor,
    read_upload,
    study_overview,
    suggested_slug,
    task_picker,
    validate,
    validation_report,
)
from selene_eval.ui.judge import weights_status
from selene_eval.ui.prompts import (
    load_study_into_widgets,
    prompt_preview,
    remove_variant,
    rubric_editor,
    save_prompts,
    template_sources,
    variant_picker,
)
from selene_eval.ui.results import (
    disagreement_browser,
    expert_figures,
    judges_of,
    metrics_table,
    notes,
    report_for,
    result_picker,
    show_chart,
    table_for,
    unparseable_table,
)
from selene_eval.ui.run import (
    execute_run,
    finish_run,
    last_outcome,
    judge_picker,
    load_judge_into_widgets,
    plan_summary,
    scope_picker,
)
from selene_eval.ui.sidebar import render_sidebar
from selene_eval.ui.state import (
    current_slug,
    declare,
    init_app_state,
    keep_valid,
    open_study,
    put,
    show_flash,
    study_store,
)
from selene_eval.ui.studies import compare_column, manage_study, studies_frame
from selene_eval.ui.text import METRIC_NAMES, md_escape, plural
from selene_eval.ui.views import confusion_frame, distribution_frame, variant_frame, with_consensus

__all__ = [
    "FILE_TYPES_HELP",
    "METRIC_NAMES",
    "PAGES",
    "PageInfo",
    "compare_column",
    "confusion_frame",
    "create_study",
    "current_slug",
    "declare",
    "disagreement_browser",
    "distinct_labels",
    "distribution_frame",
    "execute_run",
    "finish_run",
    "last_outcome",
    "expert_figures",
    "init_app_state",
    "judge_picker",
    "judges_of",
    "keep_valid",
    "label_map_editor",
    "load_judge_into_widgets",
    "load_study_into_widgets",
    "manage_study",
    "mapping_editor",
    "md_escape",
    "metrics_table",
    "notes",
    "open_study",
    "opened_study",
    "page_link",
    "page_title",
    "plain",
    "plan_summary",
    "plural",
    "prompt_preview",
    "put",
    "read_upload",
    "remove_variant",
    "render_sidebar",
    "report_for",
    "result_picker",
    "rubric_editor",
    "save_prompts",
    "scope_picker",
    "show_chart",
    "show_error",
    "show_flash",
    "studies_frame",
    "study_caption",
    "study_opened",
    "study_overview",
    "study_store",
    "suggested_slug",
    "table_for",
    "task_picker",
    "template_sources",
    "unparseable_table",
    "validate",
    "validation_report",
    "variant_frame",
    "variant_picker",
    "weights_status",
    "with_consensus",
]
