"""The runner: caching, resume, cancel, per-item failures, progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import Generation, JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import Progress, plan_run, run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.studies import make_study as build_study

SPEC = JudgeSpec(backend="scripted", model="scripted-test")


def answer(messages: list[Message]) -> str:
    # Items whose response contains "good" are judged yes.
    return "**Reasoning:** scripted\n\n**Result:** " + ("Yes" if "good" in messages[-1].content else "No")


def make_study(studies_dir: Path, n: int = 10, variants: tuple[str, ...] = ("selene",)):
    return build_study(
        studies_dir,
        n,
        slug="s",
        title="t",
        experts=("e1",),
        variants=variants,
        response=lambda i: "a good answer" if i % 2 else "a bad answer" + " padding" * i,
        labels=lambda i: {"e1": "yes" if i % 2 else "no"},
    )


def test_run_stores_every_judgment_with_its_parse(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    result = run_study(study, ScriptedBackend(SPEC, script=answer), batch_size=3)
    assert (result.n_total, result.n_judged, result.n_cached, result.n_failed, result.cancelled) == (
        10,
        10,
        0,
        0,
        False,
    )
    assert study.judgments.judges() == [SPEC]
    stored = study.judgments.get(_all_keys(study))
    assert len(stored) == 10
    for item in study.items:
        judgment = next(j for j in stored.values() if j.item_id == item.item_id)
        assert judgment.label == item.experts["e1"] and judgment.status == "ok"
        assert judgment.reasoning == "scripted" and judgment.variant_id == "selene"
    # Other generation settings are other keys: nothing is cached for them.
    assert plan_run(study, SPEC.model_copy(update={"max_new_tokens": 7})).n_cached == 0
    assert plan_run(reopen(study), SPEC).n_cached == 10


def reopen(study):
    """The same study opened afresh, as another process would."""
    return StudyStore(study.path.parent).open(study.slug)


def test_rerun_does_no_model_work_and_resume_skips_finished(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    first = ScriptedBackend(SPEC, script=answer)
    run_study(study, first, limit=4, batch_size=2)
    assert len(first.calls) == 4
    second = ScriptedBackend(SPEC, script=answer)
    result = run_study(reopen(study), second, batch_size=4)
    assert (result.n_cached, result.n_judged) == (4, 6)
    assert len(second.calls) == 6
    third = ScriptedBackend(SPEC, script=answer)
    result = run_study(study, third)
    assert third.calls == [] and result.n_judged == 0 and result.n_cached == 10


def test_cancel_between_batches_loses_nothing_and_resumes(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    backend = ScriptedBackend(SPEC, script=answer)
    result = run_study(study, backend, batch_size=3, should_cancel=lambda: len(backend.calls) >= 6)
    assert result.cancelled and result.n_judged == 6
    assert study.judgments.count() == 6
    resumed = ScriptedBackend(SPEC, script=answer)
    result = run_study(study, resumed, batch_size=3)
    assert not result.cancelled and result.n_judged == 4 and study.judgments.count() == 10
    seen = [m[-1].content for m in backend.calls + resumed.calls]
    assert len(seen) == len(set(seen)) == 10  # nothing judged twice


def test_a_crash_mid_run_keeps_the_finished_batches(studies_dir: Path) -> None:
    study = make_study(studies_dir)

    class Crashing(ScriptedBackend):
        def generate(self, prompts, choices=None):
            if len(self.calls) >= 4:
                raise RuntimeError("machine lost power")
            return super().generate(prompts, choices)

    with pytest.raises(RuntimeError):
        run_study(study, Crashing(SPEC, script=answer), batch_size=2)
    assert study.judgments.count() == 4
    assert run_study(study, ScriptedBackend(SPEC, script=answer)).n_judged == 6


def test_per_item_failures_are_recorded_and_retried(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    backend = ScriptedBackend(SPEC, script=answer, fail_on={"Question 3?"})
    result = run_study(study, backend, batch_size=4)
    assert (result.n_judged, result.n_failed) == (9, 1)
    assert [f.item_id for f in study.judgments.failures()] == ["3"]
    retry = run_study(study, ScriptedBackend(SPEC, script=answer))
    assert (retry.n_judged, retry.n_failed) == (1, 0) and study.judgments.failures() == []


def test_unparseable_outputs_are_stored_with_their_status(studies_dir: Path) -> None:
    study = make_study(studies_dir, n=3)
    run_study(
        study,
        ScriptedBackend(SPEC, script=["I refuse to answer.", "**Result:** Maybe", "**Result:** Yes"]),
        batch_size=1,
    )
    plan_keys = [p.cache_key for p in plan_run(study, SPEC.model_copy(update={"name": "same identity"})).pending]
    assert plan_keys == []  # the display name is not part of the identity
    statuses = sorted(j.status for j in study.judgments.get(_all_keys(study)).values())
    assert statuses == ["missing_result", "ok", "out_of_range"]


def _all_keys(study) -> list[str]:
    from selene_eval.prompts.render import cache_key, render

    variant = study.variant("selene")
    return [cache_key(SPEC.identity(), render(variant, item, study.spec.rubric)) for item in study.items]


def test_progress_is_reported_per_batch(studies_dir: Path) -> None:
    study = make_study(studies_dir, n=5)
    seen: list[Progress] = []
    run_study(study, ScriptedBackend(SPEC, script=answer), batch_size=2, on_progress=seen.append)
    assert [p.done for p in seen] == [0, 2, 4, 5]
    assert all(p.total == 5 for p in seen)
    assert seen[-1].rate > 0 and seen[-1].eta_s == 0


def test_identical_prompts_are_judged_once_and_bad_pairs_are_skipped(studies_dir: Path) -> None:
    items = [
        Item("a", "Same?", "same", reference="ref"),
        Item("b", "Same?", "same", reference="ref"),
        Item("c", "No reference?", "x"),
    ]
    spec = StudySpec(
        slug="d", title="t", task=TaskType.BINARY, rubric=default_rubric(TaskType.BINARY), variants=["selene-ref"]
    )
    study = StudyStore(studies_dir).create(spec, items)
    plan = plan_run(study, SPEC)
    assert (plan.n_total, plan.n_pending, len(plan.skipped)) == (2, 1, 1)
    assert plan.skipped[0].item_id == "c" and "has none" in plan.skipped[0].reason


def test_bad_arguments_are_clear_errors(studies_dir: Path) -> None:
    study = make_study(studies_dir, n=2)
    with pytest.raises(SeleneEvalError, match="batch size must be at least 1"):
        run_study(study, ScriptedBackend(SPEC, script=answer), batch_size=0)
    with pytest.raises(SeleneEvalError, match="--limit must be at least 1"):
        plan_run(study, SPEC, limit=0)
    with pytest.raises(SeleneEvalError, match="No prompt variant 'nope'"):
        plan_run(study, SPEC, variant_ids=["nope"])

    class Short(ScriptedBackend):
        def generate(self, prompts, choices=None):
            return [Generation("x")]

    with pytest.raises(SeleneEvalError, match="returned 1 answers for 2 prompts"):
        run_study(study, Short(SPEC, script=answer), batch_size=2)
