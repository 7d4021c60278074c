"""The rubric: what the judge is asked to assess, part of every study."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError


class Rubric(BaseModel):
    """An objective plus one description per judge label.

    ``descriptions`` is keyed by the task's judge labels: ``"1"`` .. ``"5"`` for absolute scoring,
    ``"yes"`` / ``"no"`` for classification; empty for pairwise (Selene's pairwise prompt has only the
    objective).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    objective: str = Field(min_length=1)
    descriptions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_blank_descriptions(self) -> Rubric:
        if not self.objective.strip():
            raise ValueError("the rubric objective is empty")
        return self

    def check(self, task: TaskType) -> None:
        """Raise :class:`TemplateError` unless there is one non-empty description per judge label."""
        if task is TaskType.PAIRWISE:
            return
        expected = set(task.judge_labels)
        missing = [label for label in task.judge_labels if not self.descriptions.get(label, "").strip()]
        extra = sorted(set(self.descriptions) - expected)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing a description for {', '.join(missing)}")
            if extra:
                parts.append(f"unknown labels {', '.join(extra)}")
            raise TemplateError(
                f"The rubric for a {task.value} task is {'; '.join(parts)}; give one description for each of "
                f"{', '.join(task.judge_labels)}."
            )


def default_rubric(task: TaskType) -> Rubric:
    """A sensible starting rubric for each task type (users are expected to edit it)."""
    if task is TaskType.ABSOLUTE:
        return Rubric(
            objective="How correct and complete is the response, as a domain expert would judge it?",
            descriptions={
                "1": "The response is wrong or harmful on the main point.",
                "2": "The response has a major error or omits most of what matters.",
                "3": "The response is partly correct but has a notable error or gap.",
                "4": "The response is correct with only minor gaps or imprecision.",
                "5": "The response is fully correct and complete.",
            },
        )
    if task is TaskType.BINARY:
        return Rubric(
            objective="Is the response correct, as a domain expert would judge it?",
            descriptions={
                "yes": "The response is correct on every point that matters.",
                "no": "The response is wrong, incomplete on a point that matters, or does not answer.",
            },
        )
    return Rubric(objective="Which response answers the instruction more correctly and helpfully?")
