"""A test-only judge that forces a verdict: the scripted judge plus a forced label for answers without a result
line (what the transformers backend does with ``force_verdict``), and the script the forced-label tests share.

The product never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.judge.scripted import Script, ScriptedBackend
from selene_eval.study import Study
from selene_eval.testing.studies import make_study

FORCING_JUDGE = JudgeSpec(backend="scripted", model="scripted-forcing", force_verdict=True)
READABLE = "**Reasoning:** fine\n\n**Result:** Yes"
RAMBLE = "It is correct on every point that matters."
UNREADABLE = "**Reasoning:** unsure\n\n**Result:** Maybe"


class ForcingBackend:
    """The scripted backend, plus what a forcing backend adds: a forced label for answers without a result line."""

    def __init__(self, script: Script, forced: str = "no") -> None:
        self.inner = ScriptedBackend(FORCING_JUDGE, script=script)
        self.spec = FORCING_JUDGE
        self.forced = forced

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        """The scripted answers; those without ``**Result:**`` get the forced label and its probabilities."""
        out = []
        for generation in self.inner.generate(prompts, choices):
            if "**Result:**" not in generation.text:
                probs = {"yes": 0.2, "no": 0.8} if self.forced == "no" else {"yes": 0.8, "no": 0.2}
                generation = replace(
                    generation, finish_reason="repetition", forced_label=self.forced, label_probs=probs
                )
            out.append(generation)
        return out

    def close(self) -> None:
        """Close the scripted backend inside."""
        self.inner.close()


def forcing_script(messages: Sequence[Message]) -> str:
    """Items 0-3 readable (Yes), 4-9 rambling (forced), 10-11 unreadable (a result line with no allowed label)."""
    text = messages[-1].content
    number = next(i for i in range(11, -1, -1) if f"Question {i}?" in text)
    return READABLE if number < 4 else RAMBLE if number < 10 else UNREADABLE


def experts_say_no(
    studies_dir: Path, n: int = 12, *, slug: str = "s", title: str = "t", variants: Sequence[str] = ("selene",)
) -> Study:
    """A binary study (open) of ``n`` items both experts call "no": with :func:`forcing_script`, forced "no"
    labels agree with them and written "Yes" ones do not. Its minimum of compared items is 1."""
    return make_study(
        studies_dir,
        n,
        slug=slug,
        title=title,
        response="Answer {i}",
        variants=variants,
        labels=lambda i: {"e1": "no", "e2": "no"},
        min_compared=1,
    )
