"""Judge backends behind one protocol, created lazily so that listing them imports no torch."""

from __future__ import annotations

import importlib

from selene_eval.core.judge_spec import DEFAULT_MODEL, Generation, JudgeBackend, JudgeSpec, LabelChoices, Message
from selene_eval.errors import BackendError

# "module:Class" targets, imported only when a backend is created.
BACKENDS: dict[str, str] = {
    "transformers": "selene_eval.judge.transformers_backend:TransformersBackend",
    "openai": "selene_eval.judge.openai_backend:OpenAIBackend",
    "scripted": "selene_eval.judge.scripted:ScriptedBackend",
}


def create_backend(spec: JudgeSpec) -> JudgeBackend:
    """Load the backend ``spec.backend`` names (this may load a model: slow, and imports torch)."""
    target = BACKENDS.get(spec.backend)
    if target is None:
        raise BackendError(f"Unknown backend {spec.backend!r}; choose one of: {', '.join(sorted(BACKENDS))}.")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(spec)


__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Generation",
    "JudgeBackend",
    "JudgeSpec",
    "LabelChoices",
    "Message",
    "create_backend",
]
