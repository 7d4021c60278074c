"""Model faults: each is recorded or reported per item, and the run goes on where it can.

* empty or unparseable answers, answers cut off at the token limit: stored with their status and finish
  reason, counted as unparseable, never re-sampled;
* CUDA out of memory for one prompt (simulated inside the real transformers backend, on the tiny model):
  that prompt is a per-item failure, the rest of the batch is judged, a re-run retries only it;
* a backend that fails as a whole mid-run (a server that goes away): the batches before are kept, the
  error is ours with a message, the study is free for the next run;
* a model that cannot be loaded: one clear error (library and command line), nothing stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.errors import BackendError, ModelUnavailableError
from selene_eval.judge import create_backend
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.testing import build_tiny_model
from tests.reliability.helpers import SCRIPTED, env_for_subprocess, make_study, scripted_answer


def stored_by_item(study) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with study.judgments._lock:
        keys = [r[0] for r in study.judgments._conn.execute("SELECT cache_key FROM judgments")]
    return {j.item_id: j for j in study.judgments.get(keys).values()}


def test_empty_unparseable_and_cut_off_answers_are_stored_and_counted(studies_dir: Path) -> None:
    study = make_study(studies_dir, 8)

    class Faulty(ScriptedBackend):
        def generate(self, prompts, choices=None):  # type: ignore[no-untyped-def]
            out = []
            for prompt in prompts:
                text = prompt[-1].content
                if "Question 1?" in text:
                    out.append(Generation("", "stop", 10, 0))  # an empty answer
                elif "Question 2?" in text:
                    out.append(Generation("I think it is fine, probably.", "stop", 10, 6))  # no result marker
                elif "Question 3?" in text:
                    out.append(Generation("**Reasoning:** The response is corr", "length", 10, 512))  # cut off
                elif "Question 4?" in text:
                    out.append(Generation("**Reasoning:** ok\n\n**Result:** Perhaps", "stop", 10, 5))  # not a label
                else:
                    out.append(super().generate([prompt])[0])
            return out

    result = run_study(study, Faulty(SCRIPTED, script=scripted_answer), batch_size=3)
    assert (result.n_judged, result.n_failed) == (8, 0)  # faulty answers are judgments, kept as they are
    stored = stored_by_item(study)
    assert (stored["1"].status, stored["1"].raw_text) == ("missing_result", "")
    assert stored["2"].status == "missing_result" and stored["2"].raw_text.startswith("I think")
    assert (stored["3"].status, stored["3"].finish_reason, stored["3"].n_new_tokens) == (
        "missing_result",
        "length",
        512,
    )
    assert stored["4"].status == "out_of_range" and stored["4"].label is None
    assert all(stored[i].status == "ok" for i in "0567")
    table = judgment_table(study, SCRIPTED, "selene")
    assert sorted(table.loc[table["judge_label"].isna(), "item_id"]) == ["1", "2", "3", "4"]
    # The table says which answer was cut off, so the dashboard can say "raise max new tokens".
    assert list(table.loc[table["judge_finish"] == "length", "item_id"]) == ["3"]
    # Greedy decoding gives the same answer again: a re-run does not re-sample them.
    again = run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    assert (again.n_cached, again.n_judged) == (8, 0)


class DiesAfter(ScriptedBackend):
    """Answers ``n_ok`` batches, then fails as a whole like a server that went away."""

    def __init__(self, n_ok: int, error: Exception) -> None:
        super().__init__(SCRIPTED, script=scripted_answer)
        self.n_ok, self.error, self.batches = n_ok, error, 0

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        self.batches += 1
        if self.batches > self.n_ok:
            raise self.error
        return super().generate(prompts, choices)


@pytest.mark.parametrize(
    "error", [BackendError("The judge server at http://x stopped answering."), RuntimeError("CUDA error")]
)
def test_a_backend_failing_mid_run_keeps_earlier_batches_and_frees_the_study(
    studies_dir: Path, error: Exception
) -> None:
    study = make_study(studies_dir, 10)
    with pytest.raises(type(error)) as info:
        run_study(study, DiesAfter(2, error), batch_size=3)
    assert str(info.value)  # ours carry a message; anything else is a bug the caller sees as it is
    assert study.judgments.count() == 6  # two batches of three, committed before the failure
    assert study.run_holder() is None  # the lock went with the run
    result = run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer), batch_size=3)
    assert (result.n_cached, result.n_judged) == (6, 4)


@pytest.fixture(scope="module")
def tiny_yes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("faults") / "yes", answer_label="Yes")


@pytest.mark.model
def test_cuda_out_of_memory_for_one_prompt_fails_that_item_only(
    studies_dir: Path, tiny_yes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    study = make_study(studies_dir, 6)
    spec = JudgeSpec(model=str(tiny_yes), quantization="none", device="cpu", max_new_tokens=24)
    backend = create_backend(spec)
    real_batch = backend._generate_batch  # type: ignore[attr-defined]

    def out_of_memory_for_item_4(batch):  # noqa: ANN001, ANN202 (the backend's private batch call)
        if any("Question 4?" in backend.tokenizer.decode(p.input_ids) for p in batch):  # type: ignore[attr-defined]
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_batch(batch)

    monkeypatch.setattr(backend, "_generate_batch", out_of_memory_for_item_4)
    result = run_study(study, backend, batch_size=6)
    assert (result.n_judged, result.n_failed) == (5, 1)
    (failure,) = result.failures
    assert failure.item_id == "4" and "CUDA out of memory for this prompt alone" in failure.error
    assert [f.item_id for f in study.judgments.failures()] == ["4"]  # recorded per item
    assert all(j.label == "yes" and j.status == "ok" for j in stored_by_item(study).values())
    # Memory is back: the re-run sends only the failed prompt, and the failure record is replaced.
    monkeypatch.setattr(backend, "_generate_batch", real_batch)
    again = run_study(study, backend)
    assert (again.n_cached, again.n_judged, again.n_failed) == (5, 1, 0) and study.judgments.failures() == []


@pytest.mark.model
def test_an_answer_cut_off_at_the_token_limit_is_marked(studies_dir: Path, tiny_yes: Path) -> None:
    study = make_study(studies_dir, 2)
    backend = create_backend(JudgeSpec(model=str(tiny_yes), quantization="none", device="cpu", max_new_tokens=3))
    run_study(study, backend)
    for judgment in stored_by_item(study).values():
        assert (judgment.finish_reason, judgment.status, judgment.n_new_tokens) == ("length", "missing_result", 3)


def test_a_model_that_cannot_be_loaded_is_one_clear_error(studies_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (broken / "model.safetensors").write_bytes(b"not weights")
    for model in (str(broken), str(tmp_path / "missing-folder")):
        with pytest.raises(ModelUnavailableError) as info:
            create_backend(JudgeSpec(model=model, quantization="none", device="cpu"))
        assert model in str(info.value) or "folder" in str(info.value)
    make_study(studies_dir, 3)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "selene_eval",
            "--studies-dir",
            str(studies_dir),
            "run",
            "s",
            "--model",
            str(broken),
            "--no-quantize",
        ],
        capture_output=True,
        text=True,
        env=env_for_subprocess(),
        timeout=300,
    )
    assert cli.returncode != 0 and "Traceback" not in cli.stderr
    assert "Cannot load" in cli.stderr or "cannot" in cli.stderr.lower(), cli.stderr
    study = StudyStore(studies_dir).open("s")
    assert study.judgments.count() == 0 and study.run_holder() is None
