"""The scripted judge: a backend that answers from a script, with no model (``backend="scripted"``).

Used by the tests, the illustrative examples and anyone who wants to rehearse a study without a model.
Importing it is cheap (no torch, no transformers): it must load in a dashboard that has no torch installed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from selene_eval.core.judge_spec import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.errors import BackendError, ModelUnavailableError

Script = Callable[[list[Message]], str] | Mapping[str, str] | Sequence[str] | str
"""What :class:`ScriptedBackend` answers from: a function of the messages, ``{substring: output}`` rules, a
list of outputs used in turn, or one output for every prompt."""

SCRIPTED_REASONING = "Scripted judgment for tests."

# Label sets the default script recognises in a prompt's output format, tried in this order.
_LABEL_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1 and 5", ("1", "2", "3", "4", "5")),
    ("yes or no", ("Yes", "No")),
    ("a or b", ("A", "B")),
)


def scripted_default_answer(messages: Sequence[Message]) -> str:
    """Selene's contract with a label picked by a stable hash of the prompt among the labels it asks for.

    The labels are read from the output format in the prompt (``1 and 5``: 1-5; ``Yes or No``; ``A or B``;
    anything else: Yes/No), so every task type gets a parseable, deterministic answer.
    """
    text = messages[-1].content if messages else ""
    folded = text.casefold()
    labels = next((labels for marker, labels in _LABEL_SETS if marker in folded), ("Yes", "No"))
    digest = hashlib.sha256("\x00".join(f"{m.role}\x01{m.content}" for m in messages).encode()).digest()
    label = labels[int.from_bytes(digest[:8], "big") % len(labels)]
    return f"**Reasoning:** {SCRIPTED_REASONING}\n\n**Result:** {label}"


class ScriptedBackend:
    """A judge backend that answers from a script: no model, instant, thread-safe (``spec.backend == "scripted"``).

    ``script`` may be

    * a callable ``(messages) -> str``;
    * a mapping ``{substring: output}``: the first key (in order) found in the last message wins; prompts
      that match no key get ``default``;
    * a sequence of outputs, used in turn and cycling (one string: that output for every prompt).

    With ``script=None``, ``spec.model`` may name a JSON file holding ``{"outputs": [...]}`` or
    ``{"rules": {substring: output}, "default": "..."}``; if it names no file, every prompt gets
    :func:`scripted_default_answer`, which is also what unmatched prompts get when there is no ``default``.

    Prompts whose messages contain any substring in ``fail_on`` get ``finish_reason="error"``, to exercise
    per-item failures. Every prompt received is recorded in :attr:`calls`. Token counts are whitespace
    word counts: there is no tokenizer.
    """

    def __init__(
        self,
        spec: JudgeSpec,
        script: Script | None = None,
        *,
        default: str | None = None,
        fail_on: str | set[str] | frozenset[str] | Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.calls: list[list[Message]] = []
        self.fail_on: frozenset[str] = frozenset([fail_on] if isinstance(fail_on, str) else fail_on or ())
        self._lock = threading.Lock()
        self._turn = 0
        if script is None:
            script, file_default = _script_from_spec(spec)
            default = default if default is not None else file_default
        self._default = default
        self._answer = self._compile(script)

    def _compile(self, script: Script | None) -> Callable[[list[Message]], str]:
        """One function ``messages -> output`` for any kind of script."""
        if script is None:
            return scripted_default_answer
        if callable(script):
            return script
        if isinstance(script, Mapping):
            rules = dict(script)
            return lambda messages: self._by_rule(rules, messages)
        outputs = [script] if isinstance(script, str) else list(script)
        if not outputs:
            raise BackendError("A scripted judge needs at least one output.")
        return lambda messages: self._in_turn(outputs)

    def _by_rule(self, rules: dict[str, str], messages: list[Message]) -> str:
        text = messages[-1].content if messages else ""
        for needle, output in rules.items():
            if needle in text:
                return output
        return self._default if self._default is not None else scripted_default_answer(messages)

    def _in_turn(self, outputs: list[str]) -> str:
        # Called with self._lock held, so the turn counter is safe.
        output = outputs[self._turn % len(outputs)]
        self._turn += 1
        return output

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        """Answer each prompt from the script, in order (one :class:`Generation` per prompt).

        A script has no probabilities, so ``choices`` is accepted and ``label_probs`` stays ``None``. In fast
        mode (``spec.mode == "fast"``) the answer is only its result line, ``**Result:** <label>``.
        """
        results: list[Generation] = []
        with self._lock:
            for prompt in prompts:
                messages = list(prompt)
                self.calls.append(messages)
                n_prompt = sum(len(m.content.split()) for m in messages)
                failing = next((s for s in sorted(self.fail_on) if any(s in m.content for m in messages)), None)
                if failing is not None:
                    results.append(
                        Generation("", "error", n_prompt, 0, error=f"scripted failure: the prompt contains {failing!r}")
                    )
                    continue
                text = self._answer(messages)
                if self.spec.mode == "fast":
                    # Fast mode writes no reasoning: keep only the result line, as the model backends do.
                    text = _fast_answer(text)
                results.append(Generation(text, "stop", n_prompt, len(text.split())))
        return results

    def close(self) -> None:
        """Nothing to free."""


def _fast_answer(text: str) -> str:
    """``**Result:** <label>`` from a scripted answer (its first line after the last marker); an answer
    without a marker is returned unchanged, so a script that breaks the contract still breaks it."""
    marker = "**Result:**"
    if marker not in text:
        return text
    rest = text.rsplit(marker, 1)[1].strip()
    return f"{marker} {rest.splitlines()[0].strip() if rest else ''}".rstrip()


def _script_from_spec(spec: JudgeSpec) -> tuple[Script | None, str | None]:
    """``(script, default)`` from the JSON file ``spec.model`` names, or ``(None, None)`` when it names none."""
    path = Path(spec.model).expanduser()
    if not path.is_file():
        if spec.model.lower().endswith(".json"):
            raise ModelUnavailableError(f"The scripted judge's file {path} does not exist; check the model setting.")
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendError(f"The scripted judge's file {path} is not readable JSON: {exc}") from exc
    outputs = data.get("outputs") if isinstance(data, dict) else None
    rules = data.get("rules") if isinstance(data, dict) else None
    default = data.get("default") if isinstance(data, dict) else None
    if isinstance(outputs, list) and outputs and all(isinstance(o, str) for o in outputs):
        return outputs, None
    if (
        isinstance(rules, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in rules.items())
        and (default is None or isinstance(default, str))
    ):
        return rules, default
    raise BackendError(
        f'The scripted judge\'s file {path} must hold {{"outputs": ["...", ...]}} or '
        f'{{"rules": {{"substring": "output"}}, "default": "..."}} (strings only).'
    )
