"""Starting a run: the one way the command line (``run``) and the dashboard (Run page) begin judging a study.

Both front ends plan the run first (:func:`~selene_eval.run.runner.plan_run`, to show what it will do), then
hand the plan to :func:`start_run`, which refuses a study another run is judging before any model is loaded,
saves the judge as the study's judge, chooses the batch size, loads the backend and judges. What differs
between the front ends stays with them: how they show progress, cancel, and load a model (the dashboard keeps
one loaded model per process, :func:`selene_eval.ui.judge_model.shared_backend`).
"""

from __future__ import annotations

from collections.abc import Callable

from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec
from selene_eval.judge import create_backend
from selene_eval.run.runner import Progress, RunPlan, RunResult, run_study
from selene_eval.study.store import Study, busy_error

DEFAULT_BATCH_SIZE = 8
"""Prompts per batch unless the user asks for another number (``run --batch-size``, the Run page)."""


def server_slots(judge: JudgeSpec) -> int:
    """How many requests a judge on OpenAI-compatible servers has in flight at once (0 for a local model)."""
    return len(judge.endpoints) * judge.concurrency if judge.backend == "openai" else 0


def batch_size_for(judge: JudgeSpec, requested: int | None = None, *, fill_server_slots: bool = False) -> int:
    """The batch size of a run of ``judge``: ``requested``, or :data:`DEFAULT_BATCH_SIZE` when none was asked.

    A batch smaller than the servers' free slots (:func:`server_slots`) would leave some of them idle, so the
    default is raised to them. ``fill_server_slots`` raises a requested size too: the dashboard's batch size
    always has a value, the command line's ``--batch-size N`` is taken as given.
    """
    if requested is None:
        return max(DEFAULT_BATCH_SIZE, server_slots(judge))
    return max(requested, server_slots(judge)) if fill_server_slots else requested


def start_run(
    study: Study,
    plan: RunPlan,
    *,
    batch_size: int | None = None,
    fill_server_slots: bool = False,
    load_backend: Callable[[JudgeSpec], JudgeBackend] | None = None,
    on_claimed: Callable[[], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RunResult:
    """Judge what ``plan`` leaves pending, as both front ends do it; returns how the run ended.

    In order: refuse with :class:`~selene_eval.errors.StudyBusy` when another run (any process) holds the
    study, before a model is loaded (the run itself takes the lock too); save ``plan.judge`` as the study's
    judge, so that the next run starts from it; call ``on_claimed`` (the caller's moment to say what happens
    next); then, when something is pending, load the backend and judge in batches of
    :func:`batch_size_for` ``(plan.judge, batch_size, fill_server_slots=...)``. With nothing pending no model
    is loaded, and the result counts the stored judgments only.

    ``load_backend`` gives a backend the caller keeps (a model loaded once per process) and is never closed
    here; without it the backend is created with :func:`selene_eval.judge.create_backend` and closed when
    the run ends, however it ends.
    """
    holder = study.run_holder()
    if holder is not None:
        raise busy_error(study.slug, holder)
    judge = plan.judge
    study.spec = study.spec.model_copy(update={"judge": judge})
    study.save_spec()
    if on_claimed is not None:
        on_claimed()
    if not plan.pending:
        return RunResult(judge.judge_id, plan.n_total, plan.n_cached, 0, 0, len(plan.skipped), False, 0.0)
    size = batch_size_for(judge, batch_size, fill_server_slots=fill_server_slots)
    backend = load_backend(judge) if load_backend is not None else create_backend(judge)
    try:
        return run_study(
            study, backend, plan=plan, batch_size=size, on_progress=on_progress, should_cancel=should_cancel
        )
    finally:
        if load_backend is None:
            backend.close()
