"""Issue #16 point 3: a GGUF judge is converted once; later loads read the converted copy from the user's cache,
keyed by the GGUF file's hash, and a half-written or damaged copy is converted again, never trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.judge import create_backend
from selene_eval.judge.transformers_backend import CACHE_ENV, converted_folder

pytestmark = pytest.mark.model


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def judge(gguf: Path) -> tuple[str, str, dict[str, float] | None]:
    """Load the GGUF judge, answer one prompt; (where the weights came from, the answer, its label probabilities)."""
    from selene_eval.core.tasks import TaskType
    from selene_eval.prompts.parser import label_choices

    backend = create_backend(JudgeSpec(model=str(gguf.parent), gguf_file=gguf.name, quantization="none", device="cpu"))
    try:
        (answer,) = backend.generate(
            [[Message("user", "Which is better, A or B?")]], [label_choices(TaskType.PAIRWISE)]
        )
        return backend.weights_source, answer.text, answer.label_probs  # type: ignore[attr-defined]
    finally:
        backend.close()


def copy_of(gguf: Path) -> Path:
    import torch

    return converted_folder(gguf, torch.float32)


def test_the_second_load_reads_the_converted_copy_with_the_same_answers(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("gguf")
    from selene_eval.testing import build_tiny_gguf

    gguf = build_tiny_gguf(tmp_path / "model", answer_label="A")
    first = judge(gguf)
    assert first[0] == "GGUF file" and first[1].endswith("**Result:** A")
    folder = copy_of(gguf)
    assert (
        folder.parent.parent == cache
        and json.loads((folder / "selene-eval-complete.json").read_text())["gguf_file"] == gguf.name
    )
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    second = judge(gguf)
    assert second == ("converted copy", first[1], pytest.approx(first[2]))


def test_a_changed_gguf_file_is_converted_again(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("gguf")
    from selene_eval.testing import build_tiny_gguf

    gguf = build_tiny_gguf(tmp_path / "model", answer_label="A")
    judge(gguf)
    build_tiny_gguf(tmp_path / "model", answer_label="B")  # same path, other weights
    source, text, _ = judge(gguf)
    assert source == "GGUF file" and text.endswith("**Result:** B")


@pytest.mark.parametrize("damage", ["truncated weights", "garbage weights", "half-written", "broken config"])
def test_a_damaged_or_half_written_copy_is_converted_again(tmp_path: Path, cache: Path, damage: str) -> None:
    pytest.importorskip("gguf")
    from selene_eval.testing import build_tiny_gguf

    gguf = build_tiny_gguf(tmp_path / "model", answer_label="A")
    judge(gguf)
    folder = copy_of(gguf)
    weights = folder / "model.safetensors"
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "garbage weights":
        weights.write_bytes(b"\x00" * 64)
    elif damage == "half-written":
        (folder / "selene-eval-complete.json").unlink()
    else:
        (folder / "config.json").write_text("{", encoding="utf-8")
    source, text, _ = judge(gguf)
    assert source == "GGUF file" and text.endswith("**Result:** A")
    assert judge(gguf)[0] == "converted copy"  # and the copy is whole again
