"""Each task's words have one home (TaskType), read by the dashboard and the HTML report alike."""

from __future__ import annotations

from selene_eval.core.tasks import TaskType
from selene_eval.presentation.words import fmt_duration, plural
from selene_eval.ui.text import TASK_NAMES


def test_every_task_has_a_display_name_and_words() -> None:
    for task in TaskType:
        assert task.display_name and task.words and task.display_name != task.words
    assert TaskType.BINARY.display_name == "Yes or no (binary classification)"
    assert TaskType.PAIRWISE.words.startswith("which of two responses is better, A or B")


def test_the_dashboard_names_tasks_by_their_display_name() -> None:
    assert {task: task.display_name for task in TaskType} == TASK_NAMES


def test_durations_and_counts_in_words() -> None:
    assert [fmt_duration(s) for s in (None, float("nan"), 0.4, 59.6, 185, 7_500)] == [
        "unknown",
        "unknown",
        "0 s",
        "1 min 00 s",
        "3 min 05 s",
        "2 h 05 min",
    ]
    assert (plural(1, "item"), plural(1_200, "item"), plural(2, "query", "queries")) == (
        "1 item",
        "1,200 items",
        "2 queries",
    )
