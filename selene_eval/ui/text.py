"""Wording and formatting shared by the pages (no streamlit calls).

Everything a user typed or a file contained (column names, study names, responses, reasoning) must reach
the screen as text, never as Markdown or HTML that runs. Streamlit renders Markdown in ``st.markdown``,
``st.caption``, ``st.error`` & co. and in widget labels, so user text placed there goes through
:func:`md_escape` first; long texts go to ``st.text``, ``st.code`` or dataframes instead.
"""

from __future__ import annotations

import re

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import fmt_share, fmt_stat  # noqa: F401  (the pages' wording, re-exported)
from selene_eval.core.tasks import TaskType
from selene_eval.presentation.words import fmt_duration, plural  # noqa: F401  (the pages' wording, re-exported)
from selene_eval.stats.registry import REGISTRY

# Every ASCII punctuation character can be backslash-escaped in CommonMark; Streamlit adds its own
# syntax on top (":material/icon:", ":red[text]", "$math$"), which the same escaping neutralises.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^\"'])")

TASK_NAMES: dict[TaskType, str] = {task: task.display_name for task in TaskType}
"""How each task is named on screen (:attr:`TaskType.display_name`)."""

METRIC_NAMES: dict[str, str] = {s.key: s.name for s in REGISTRY if s.headline}
"""Display names of the headline statistics (keys as in :data:`selene_eval.stats.registry.METRICS`)."""

METRIC_HELP: dict[str, str] = {s.key: s.help for s in REGISTRY if s.help is not None}
"""The dashboard's one-line explanation of each headline statistic."""

DEMO_WARNING = "a weak demo model, not Selene"
SCRIPTED_WARNING = "a scripted test judge, not a model"


def md_escape(text: object) -> str:
    """``text`` with every Markdown (and Streamlit shortcode) character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def is_demo_judge(spec: JudgeSpec) -> bool:
    """Whether ``spec`` is the offline demo judge (SmolLM2-135M), which must be labelled as such."""
    model = spec.model.replace("\\", "/").lower()
    return "smollm" in model or "smollm" in (spec.gguf_file or "").lower()


def judge_title(spec: JudgeSpec) -> str:
    """The judge's display name, with a plain warning for the demo and scripted judges."""
    name = spec.display_name
    if spec.backend == "scripted":
        warning = SCRIPTED_WARNING
    elif is_demo_judge(spec):
        warning = DEMO_WARNING
    else:
        return name
    lowered = name.lower()
    if any(phrase in lowered for phrase in (warning, "not a model", "not a real model", "not selene")):
        return name
    if warning == DEMO_WARNING and "weak" in lowered:
        return f"{name}, not Selene"
    return f"{name} ({warning})"
