"""Test-only study builders: one flexible :func:`make_study` for every test that needs a study on disk.

A test describes its items by arguments (how many, their texts, the experts' labels, groups, categories,
subgroups, which items are unlabelled) or passes its own :class:`~selene_eval.core.items.Item` list; the study
can be judged at once by the scripted judge with a given answer function (or by any backend). Text arguments
are either a template formatted with the item's index (``"Question {i}?"``) or a function of the index.

The product never imports this module (``scripts/check_imports.py`` keeps ``selene_eval.testing`` on top).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import Script, ScriptedBackend
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import RunResult, run_study
from selene_eval.study import Study, StudySpec, StudyStore

Text = str | Callable[[int], str | None] | None
"""An item's text: a template formatted with ``i`` (the item's index), a function of the index, or none."""

Labels = Callable[[int], Mapping[str, str | None]]
"""The experts' labels of item ``i`` (expert name -> canonical label, ``None`` for no label)."""

SCRIPTED_JUDGE = JudgeSpec(backend="scripted", model="scripted-test")
"""The judge a study is judged by when a test gives answers but no judge of its own."""


def _text(value: Text, i: int) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else value.format(i=i)
    return value(i)


def _cycled_labels(task: TaskType, experts: Sequence[str]) -> Labels:
    """Each expert's labels run through the task's canonical labels, one step apart from the previous expert."""
    choices = list(task.expert_labels)
    return lambda i: {name: choices[(i + k) % len(choices)] for k, name in enumerate(experts)}


def make_items(
    n: int = 12,
    *,
    task: TaskType = TaskType.BINARY,
    experts: Sequence[str] = ("e1", "e2"),
    labels: Labels | None = None,
    n_labelled: int | None = None,
    question: Text = "Question {i}?",
    response: Text = "Answer {i}.",
    response_b: Text = None,
    reference: Text = None,
    category: Text = None,
    group: Text = None,
    subgroups: Callable[[int], Mapping[str, str | None]] | None = None,
) -> list[Item]:
    """``n`` items with ids ``"0"`` .. ``str(n - 1)``.

    ``labels`` gives the experts' labels of each item (default: the task's canonical labels in turn);
    items from index ``n_labelled`` on carry no expert label at all. A pairwise task gets a second response
    (``"Other answer {i}."``) unless ``response_b`` says otherwise.
    """
    label_of = labels or _cycled_labels(task, experts)
    if response_b is None and task is TaskType.PAIRWISE:
        response_b = "Other answer {i}."
    return [
        Item(
            str(i),
            _text(question, i) or "",
            _text(response, i) or "",
            group_id=_text(group, i),
            response_b=_text(response_b, i),
            reference=_text(reference, i),
            category=_text(category, i),
            experts=dict(label_of(i)) if n_labelled is None or i < n_labelled else {},
            subgroups=dict(subgroups(i)) if subgroups else {},
        )
        for i in range(n)
    ]


def make_study(
    studies_dir: Path,
    items: int | Sequence[Item] = 12,
    *,
    slug: str = "s",
    title: str | None = None,
    task: TaskType = TaskType.BINARY,
    experts: Sequence[str] | None = None,
    variants: Sequence[str] = ("selene",),
    min_compared: int | None = None,
    judge: JudgeSpec | None = None,
    answers: Script | None = None,
    backend: JudgeBackend | None = None,
    scripted_judge: JudgeSpec = SCRIPTED_JUDGE,
    batch_size: int | None = None,
    limit: int | None = None,
    **item_options: object,
) -> Study:
    """A study of ``items`` (a count, built by :func:`make_items` with ``item_options``, or the items) in
    ``studies_dir``, open; the caller closes it.

    ``experts`` defaults to ``("e1", "e2")`` for built items and to the experts named in given items;
    ``judge`` is the study's saved judge (what the Run page starts from), ``min_compared`` its minimum.
    With ``answers`` the scripted judge ``scripted_judge`` answers from that script at once (``batch_size``
    and ``limit`` as :func:`~selene_eval.run.runner.run_study` takes them); with ``backend``, that backend does.
    """
    if isinstance(items, int):
        names = tuple(experts) if experts is not None else ("e1", "e2")
        items = make_items(items, task=task, experts=names, **item_options)  # type: ignore[arg-type]
    else:
        if item_options:
            raise TypeError(f"item options {sorted(item_options)} need a count of items, not the items")
        names = tuple(experts) if experts is not None else tuple(dict.fromkeys(e for it in items for e in it.experts))
    saved: dict[str, Any] = {"min_compared": min_compared, "judge": judge}
    spec = StudySpec(
        slug=slug,
        title=title or slug,
        task=task,
        experts=list(names),
        rubric=default_rubric(task),
        variants=list(variants),
        **{k: v for k, v in saved.items() if v is not None},
    )
    study = StudyStore(studies_dir).create(spec, list(items))
    if answers is not None or backend is not None:
        judge_study(
            study, backend or ScriptedBackend(scripted_judge, script=answers), batch_size=batch_size, limit=limit
        )
    return study


def judge_study(
    study: Study, backend: JudgeBackend, *, batch_size: int | None = None, limit: int | None = None
) -> RunResult:
    """Run ``backend`` over ``study`` with :func:`~selene_eval.run.runner.run_study`'s defaults unless given."""
    options: dict[str, int] = {}
    if batch_size is not None:
        options["batch_size"] = batch_size
    if limit is not None:
        options["limit"] = limit
    return run_study(study, backend, **options)  # type: ignore[arg-type]


def slipping_experts(names: Sequence[str] = ("ann", "bob", "cy")) -> Labels:
    """Three experts' labels: the first gives the truth (``yes`` on odd items), the second flips it on every
    5th item and the third on every 7th (item 0 included), so they agree mostly but not always."""
    first, second, third = names
    flip = {"yes": "no", "no": "yes"}

    def labels(i: int) -> dict[str, str | None]:
        truth = "yes" if i % 2 else "no"
        return {first: truth, second: truth if i % 5 else flip[truth], third: truth if i % 7 else flip[truth]}

    return labels


DASHBOARD_JUDGE = JudgeSpec(
    backend="scripted", model="scripted-ui-test", quantization="none", name="Scripted (not a model)"
)
"""The scripted judge as the dashboard's Run page offers it (``SELENE_EVAL_ENABLE_SCRIPTED=1``)."""


def even_odd_study(
    studies_dir: Path,
    slug: str = "demo",
    *,
    n: int = 12,
    experts: int = 2,
    judged: bool = False,
    title: str | None = None,
    variants: tuple[str, ...] = ("selene",),
) -> None:
    """The dashboard tests' binary study (closed): "is i even?" items in categories ``even``/``odd``, expert
    ``ek`` saying no where ``(i + k) % 3 == 0``; when ``judged``, the scripted judge answers yes on the "even"
    items, no on the others, and an unreadable answer on item 3."""
    backend = ScriptedBackend(
        DASHBOARD_JUDGE,
        script={
            "Question 3:": "no **Result:** here",
            "even.": "**Reasoning:** <b>Looks</b> [right](http://x)\n\n**Result:** Yes",
        },
        default="**Reasoning:** No.\n\n**Result:** No",
    )
    make_study(
        studies_dir,
        n,
        slug=slug,
        title=title or slug.title(),
        experts=[f"e{k}" for k in range(experts)],
        labels=lambda i: {f"e{k}": ("yes" if (i + k) % 3 else "no") for k in range(experts)},
        question="Question {i}: is {i} even?",
        response=lambda i: "It is even." if i % 2 == 0 else "It is odd.",
        reference=lambda i: "Even." if i % 2 == 0 else "Odd.",
        category=lambda i: "even" if i % 2 == 0 else "odd",
        variants=variants,
        backend=backend if judged else None,
    ).close()


def yes_if_good(messages: Sequence[Message]) -> str:
    """A scripted answer in Selene's contract: ``Yes`` where the prompt contains "good", else ``No``."""
    return "**Reasoning:** scripted\n\n**Result:** " + ("Yes" if "good" in messages[-1].content else "No")
