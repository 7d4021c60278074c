"""Tiny real Llamas for the backend tests, built once per session (each in a few tens of milliseconds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import Message

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "prompts"



@pytest.fixture(scope="session")
def tiny_random(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama-3.1-style model with random weights."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "random")


@pytest.fixture(scope="session")
def tiny_five(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model scripted to answer every prompt with Selene's contract and the label ``5``."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "five", answer_label="5")


@pytest.fixture(scope="session")
def judge_prompts() -> list[list[Message]]:
    """Three real rendered judge prompts of different lengths (binary, absolute with reference, pairwise)."""
    names = ("binary-selene", "absolute-selene-ref", "pairwise-selene-ref")
    return [[Message("user", (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8"))] for name in names]


@pytest.fixture(scope="session")
def contract() -> re.Pattern[str]:
    """Selene's output contract, matched just enough for these tests (the product's parser is tested elsewhere).

    Groups: ``reasoning`` and ``label``; the whole text must be the contract and nothing else.
    """
    return re.compile(r"\A\*\*Reasoning:\*\* (?P<reasoning>.+?)\n\n\*\*Result:\*\* (?P<label>\S+)\Z", re.DOTALL)
