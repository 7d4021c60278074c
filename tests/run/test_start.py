"""start_run: the one start of a run, for the command line and the dashboard (run/start.py).

The dashboard's side is in tests/ui/test_run_start.py (it needs Streamlit's AppTest set-up).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.errors import StudyBusy
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.prompts import default_rubric
from selene_eval.run import start
from selene_eval.run.runner import plan_run
from selene_eval.run.start import DEFAULT_BATCH_SIZE, batch_size_for, start_run
from selene_eval.study import Study, StudySpec, StudyStore

SPEC = JudgeSpec(backend="scripted", model="scripted-start")


def scripted_study(studies_dir: Path, n: int = 10) -> Study:
    """A binary study of ``n`` items, saved with the default judge (Selene), never judged."""
    items = [
        Item(f"i{k}", f"Question {k}?", f"Answer {k}.", experts={"a": "yes", "b": "no" if k % 3 else "yes"})
        for k in range(n)
    ]
    spec = StudySpec(
        slug="s",
        title="S",
        task=TaskType.BINARY,
        experts=["a", "b"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    return StudyStore(studies_dir).create(spec, items)


class CountingLoader:
    """A ``load_backend`` that counts its calls and hands out one scripted backend it keeps (never closed)."""

    def __init__(self) -> None:
        self.calls: list[JudgeSpec] = []
        self.closed = False

    def __call__(self, judge: JudgeSpec) -> JudgeBackend:
        self.calls.append(judge)
        backend = ScriptedBackend(judge)
        original = backend.close

        def close() -> None:
            self.closed = True
            original()

        backend.close = close  # type: ignore[method-assign]
        return backend


# --- the command line goes through start_run --------------------------------------------------------------


def test_the_cli_run_command_starts_its_run_with_start_run(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_study(studies_dir).close()
    calls: list[dict[str, object]] = []

    def spy(study: Study, plan: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return start_run(study, plan, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(start, "start_run", spy)
    cli = ["--studies-dir", str(studies_dir)]
    assert main([*cli, "run", "s", "--backend", "scripted", "--batch-size", "3"]) == 0
    out, err = capsys.readouterr()
    assert "Done: 10 judged, 0 from the store, 0 failed" in out
    assert err.count("/10] ") == 4  # batches of 3: 3, 6, 9, 10
    assert len(calls) == 1 and calls[0]["batch_size"] == 3 and not calls[0].get("fill_server_slots")
    study = StudyStore(studies_dir).open("s")
    assert study.spec.judge.backend == "scripted" and study.judgments.count(study.spec.judge.judge_id) == 10
    study.close()
    # Again: everything is stored, so nothing loads; the judge is still saved and the CLI says so.
    assert main([*cli, "run", "s", "--backend", "scripted"]) == 0
    out, err = capsys.readouterr()
    assert len(calls) == 2 and calls[1]["batch_size"] is None
    assert "Nothing to run: every judgment is already stored." in err and "Done:" not in out


def test_the_cli_refuses_a_study_another_run_holds_and_changes_nothing(
    studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = scripted_study(studies_dir)
    with study.run_lock(owner="another test run"):
        assert main(["--studies-dir", str(studies_dir), "run", "s", "--backend", "scripted"]) == 2
    err = capsys.readouterr().err
    assert "is being judged by another run" in err and "Traceback" not in err
    assert StudyStore(studies_dir).open("s").spec.judge == JudgeSpec()  # the judge was not saved
    study.close()


# --- start_run itself --------------------------------------------------------------------------------------


def test_a_held_lock_is_a_clear_error_before_any_model_loads_or_anything_is_saved(studies_dir: Path) -> None:
    study = scripted_study(studies_dir)
    loader = CountingLoader()
    claimed: list[bool] = []
    plan = plan_run(study, SPEC)
    with study.run_lock(owner="a test holding the study"):
        busy = r"Study 's' is being judged by another run: .*a test holding the study.*Wait for that run"
        with pytest.raises(StudyBusy, match=busy):
            start_run(study, plan, load_backend=loader, on_claimed=lambda: claimed.append(True))
    assert loader.calls == [] and claimed == []
    assert StudyStore(studies_dir).open("s").spec.judge == JudgeSpec()
    study.close()


def test_the_judge_is_saved_then_the_caller_hears_then_the_model_loads(studies_dir: Path) -> None:
    study = scripted_study(studies_dir)
    loader = CountingLoader()
    events: list[str] = []

    def claimed() -> None:
        events.append("claimed")
        assert StudyStore(studies_dir).open("s").spec.judge == SPEC  # saved before the caller hears
        assert loader.calls == []  # and before any model loads

    result = start_run(
        study,
        plan_run(study, SPEC),
        load_backend=loader,
        on_claimed=claimed,
        on_progress=lambda progress: events.append("progress"),
    )
    assert events[0] == "claimed" and "progress" in events
    assert loader.calls == [SPEC] and not loader.closed  # the caller's backend stays open
    assert (result.n_judged, result.n_cached, result.n_failed) == (10, 0, 0)
    study.close()


def test_a_backend_start_run_creates_is_closed_however_the_run_ends(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = scripted_study(studies_dir)
    loader = CountingLoader()
    monkeypatch.setattr(start, "create_backend", loader)

    def stop(progress: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C in the middle of the run

    with pytest.raises(KeyboardInterrupt):
        start_run(study, plan_run(study, SPEC), on_progress=stop)
    assert loader.calls == [SPEC] and loader.closed
    study.close()


def test_a_run_resumes_where_a_cancelled_one_stopped(studies_dir: Path) -> None:
    study = scripted_study(studies_dir)
    loader = CountingLoader()
    batches: list[int] = []
    first = start_run(
        study,
        plan_run(study, SPEC),
        batch_size=4,
        load_backend=loader,
        on_progress=lambda p: batches.append(p.done),
        should_cancel=lambda: len(batches) > 1,
    )
    assert first.cancelled and first.n_judged == 4
    second = start_run(study, plan_run(study, SPEC), batch_size=4, load_backend=loader)
    assert not second.cancelled and (second.n_judged, second.n_cached) == (6, 4)
    # Nothing left: no model is loaded, and the result counts the stored judgments.
    third = start_run(study, plan_run(study, SPEC), load_backend=loader)
    assert len(loader.calls) == 2
    assert (third.n_judged, third.n_cached, third.n_total, third.cancelled) == (0, 10, 10, False)
    assert study.judgments.count(SPEC.judge_id) == 10
    study.close()


@pytest.mark.parametrize(
    ("backend", "endpoints", "concurrency", "requested", "fill", "expected"),
    [
        ("transformers", (), 4, None, False, DEFAULT_BATCH_SIZE),
        ("transformers", (), 4, 2, False, 2),
        ("transformers", (), 4, 2, True, 2),  # a local model has no server slots to fill
        ("openai", ("http://a/v1",), 4, None, False, 8),  # the default is at least 8...
        ("openai", ("http://a/v1", "http://b/v1", "http://c/v1"), 4, None, False, 12),  # ...and fills every slot
        ("openai", ("http://a/v1", "http://b/v1", "http://c/v1"), 4, 2, False, 2),  # --batch-size N is taken as given
        ("openai", ("http://a/v1", "http://b/v1", "http://c/v1"), 4, 2, True, 12),  # the dashboard fills the slots
        ("openai", ("http://a/v1",), 4, 32, True, 32),
    ],
)
def test_the_batch_size_rule(
    backend: str, endpoints: tuple[str, ...], concurrency: int, requested: int | None, fill: bool, expected: int
) -> None:
    judge = JudgeSpec(backend=backend, model="m", endpoints=endpoints, concurrency=concurrency)
    assert batch_size_for(judge, requested, fill_server_slots=fill) == expected


def test_start_run_uses_the_batch_size_rule(studies_dir: Path) -> None:
    study = scripted_study(studies_dir)
    sizes: list[int] = []
    start_run(study, plan_run(study, SPEC), load_backend=CountingLoader(), on_progress=lambda p: sizes.append(p.done))
    assert sizes == [0, DEFAULT_BATCH_SIZE, 10]  # batches of the default 8
    study.close()
