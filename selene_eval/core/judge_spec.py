"""What every judge backend speaks: chat messages in, generated text out.

A backend never parses judgments (that is :mod:`selene_eval.prompts.parser`'s job) and never touches the
store. It is identified by a :class:`JudgeSpec`; the parts of the spec that change the model's output make
up :meth:`JudgeSpec.identity`, which enters every judgment's cache key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "AtlaAI/Selene-1-Mini-Llama-3.1-8B"


@dataclass(frozen=True)
class Message:
    """One chat message (``role`` is ``system``, ``user`` or ``assistant``)."""

    role: str
    content: str


FinishReason = Literal["stop", "length", "repetition", "error"]
"""Why a generation ended (see :class:`Generation`)."""


@dataclass(frozen=True)
class Generation:
    """The backend's answer to one prompt.

    ``finish_reason`` is ``stop`` (the model ended its answer), ``length`` (cut off at ``max_new_tokens``),
    ``repetition`` (stopped early because the answer was repeating a cycle of tokens) or ``error`` (this
    prompt failed; ``error`` says why, ``text`` is empty).
    """

    text: str
    finish_reason: FinishReason = "stop"
    n_prompt_tokens: int | None = None
    n_new_tokens: int | None = None
    error: str | None = None
    label_probs: dict[str, float] | None = None
    """Canonical label -> the judge's probability for it at the result position, normalised over the allowed
    labels; ``None`` when the backend cannot read probabilities (or the answer has no result label)."""
    forced_label: str | None = None
    """With ``JudgeSpec.force_verdict``: the canonical label read by continuing an answer that had no readable
    result line with the result marker (the most probable allowed label there; ``label_probs`` then holds that
    reading's probabilities). ``None`` when the answer needed no forcing or forcing was off."""


@dataclass(frozen=True)
class LabelChoices:
    """The answers a prompt allows after the result marker, each with the canonical label it stands for.

    ``words`` pairs the spelling the prompt asks for (``"Yes"``, ``"Pass"``, ``"5"``) with its canonical label
    (``"yes"``, ``"5"``). Backends read label probabilities (and fast mode's one-pass answer) over these words;
    several words may map to one label (their probabilities add up). ``result_marker`` is what precedes the
    label in the output contract.
    """

    words: tuple[tuple[str, str], ...]
    result_marker: str = "**Result:**"

    @property
    def labels(self) -> tuple[str, ...]:
        """The canonical labels, in first-seen order."""
        return tuple(dict.fromkeys(label for _, label in self.words))


JudgeMode = Literal["reasoned", "fast"]


FAST_MODE_REASONING = "(not requested)"
"""What fast mode's prefilled answer gives as reasoning.

Selene was trained to write ``**Reasoning:** ...`` then a blank line then ``**Result:** <label>``; the
prefill keeps that exact shape so the label position looks like the one it learned. An empty reasoning
field would be off the contract, and any real sentence ("The response is accurate.") would argue for a
verdict; a bracketed note that the reasoning was not asked for does neither.
"""


def fast_mode_prefill(marker: str = "**Result:**") -> str:
    """The assistant turn fast mode prefills, ending with the result marker (no space after it)."""
    return f"**Reasoning:** {FAST_MODE_REASONING}\n\n{marker}"


class JudgeSpec(BaseModel):
    """Which judge to run and how. Stored in the study spec; its :meth:`identity` keys the cache.

    * ``backend``: ``transformers`` (local model), ``openai`` (an OpenAI-compatible server: vLLM, Ollama,
      llama.cpp), ``scripted`` (tests and demos).
    * ``model``: a hub id (default Selene Mini) or a local folder; for ``openai``, the served model's name.
    * ``gguf_file``: a GGUF file inside ``model`` to load through transformers (the offline demo judge).
    * ``quantization``: ``nf4`` (4-bit bitsandbytes, the default) or ``none``.
    * ``dtype``: compute/weights dtype; ``auto`` picks bfloat16 on CUDA and float32 on CPU.
    * ``device``: ``auto`` (CUDA when present), ``cuda`` or ``cpu``. Not part of the identity.
    * ``max_new_tokens``: generation budget; decoding is always greedy so a cached answer is the answer.
    * ``mode``: ``reasoned`` (the judge writes its reasoning, then the result) or ``fast`` (no reasoning: the
      answer is prefilled up to the result marker and the label read from one forward pass). A different
      measurement, so part of the identity.
    * ``force_verdict``: when an answer ends, loops or runs out of budget without a readable result line,
      continue it with the result marker and take the most probable allowed label, stored with the status
      ``forced`` (counted apart from readable and unreadable answers). Off by default (Selene's format
      failures are a finding); on for the demo judge. Part of the identity when on.
    * ``endpoints``, ``api_key_env``, ``concurrency``, ``timeout_s`` (``openai`` only): base URLs of one or
      more replicas serving the same model, the *name* of the environment variable holding the API key (the
      key itself is never stored), concurrent requests per endpoint, seconds one request may take in all
      (a total deadline: connecting, sending and reading the whole answer).
      Where the work runs, not what it computes: not part of the identity.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = "transformers"
    model: str = DEFAULT_MODEL
    revision: str | None = None
    gguf_file: str | None = None
    quantization: Literal["nf4", "none"] = "nf4"
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    device: Literal["auto", "cuda", "cpu"] = "auto"
    max_new_tokens: int = Field(default=512, ge=1, le=8192)
    mode: JudgeMode = "reasoned"
    force_verdict: bool = False
    endpoints: tuple[str, ...] = ()
    api_key_env: str | None = None
    concurrency: int = Field(default=4, ge=1, le=256)
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    name: str | None = None
    """A short display name; not part of the identity."""

    def identity(self) -> dict[str, object]:
        """The settings that change the output (and only those)."""
        return {
            "backend": self.backend,
            "model": self.model,
            "revision": self.revision,
            "gguf_file": self.gguf_file,
            "quantization": self.quantization,
            "dtype": self.dtype,
            "max_new_tokens": self.max_new_tokens,
            "decoding": "greedy",
            # Only a non-default mode enters the identity, so judges stored before modes existed keep their ids.
            # Fast mode's prefilled answer changes what the model sees, so its exact text is part of the key.
            **({"mode": self.mode, "prefill": fast_mode_prefill()} if self.mode == "fast" else {}),
            # Likewise only when on: forced labels are another measurement, judges without forcing keep their ids.
            **({"force_verdict": True} if self.force_verdict else {}),
        }

    @property
    def judge_id(self) -> str:
        """A short stable hash of :meth:`identity`."""
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def display_name(self) -> str:
        """``name`` if set, else a readable summary such as ``Selene-1-Mini-Llama-3.1-8B (4-bit NF4)``."""
        if self.name:
            return self.name
        base = self.model.rstrip("/").split("/")[-1] or self.model
        fast = (", fast mode" if self.mode == "fast" else "") + (", forced verdicts" if self.force_verdict else "")
        if self.backend != "transformers":
            return f"{base} [{self.backend}{fast}]"
        return f"{base} ({'4-bit NF4' if self.quantization == 'nf4' else 'full precision'}{fast})"


@runtime_checkable
class JudgeBackend(Protocol):
    """A loaded judge. ``generate`` takes a batch of chat prompts and returns one :class:`Generation` each.

    A backend must return exactly one generation per prompt, in order, and report per-prompt failures as
    ``finish_reason="error"`` rather than raising, so that a batch never loses finished work. It may raise
    :class:`selene_eval.errors.BackendError` for failures that affect every prompt.

    ``choices`` (one per prompt, or ``None``) lists the answers each prompt allows: a backend that can read
    token probabilities fills :attr:`Generation.label_probs` from them, and fast mode needs them.
    """

    spec: JudgeSpec

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]: ...

    def close(self) -> None: ...
