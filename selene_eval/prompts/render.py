"""Rendering a variant for one item: the exact chat messages the judge sees."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import Message
from selene_eval.core.tasks import TaskType
from selene_eval.errors import TemplateError
from selene_eval.prompts.rubric import Rubric
from selene_eval.prompts.variants import PromptVariant, template_fields

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class RenderedPrompt:
    """The messages for one (item, variant) pair, with the variant's identity for the store."""

    item_id: str
    variant_id: str
    variant_hash: str
    messages: tuple[Message, ...]

    @property
    def text(self) -> str:
        """All message contents joined (for previews and length estimates)."""
        return "\n\n".join(m.content for m in self.messages)

    def fingerprint(self) -> str:
        """A stable JSON form of the messages (what the cache key hashes)."""
        return json.dumps([[m.role, m.content] for m in self.messages], ensure_ascii=False)


def placeholder_values(item: Item, rubric: Rubric, task: TaskType) -> dict[str, str]:
    """The value of every placeholder for ``item``.

    ``user_input`` carries the item's context after the input when there is one, so that the canonical
    templates show it; templates that place ``{context}`` themselves get the bare input instead (see
    :func:`render`).
    """
    values: dict[str, str] = {
        "user_input": item.input,
        "rubric_objective": rubric.objective,
        "reference_response": item.reference or "",
        "context": item.context or "",
        "category": item.category or "",
    }
    if task is TaskType.PAIRWISE:
        values["assistant_response_a"] = item.response
        values["assistant_response_b"] = item.response_b or ""
    else:
        values["assistant_response"] = item.response
    if task is TaskType.ABSOLUTE:
        for n in range(1, 6):
            values[f"rubric_score_{n}_description"] = rubric.descriptions.get(str(n), "")
    elif task is TaskType.BINARY:
        values["rubric_yes_description"] = rubric.descriptions.get("yes", "")
        values["rubric_no_description"] = rubric.descriptions.get("no", "")
    return values


def fill(template: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` fields once, left to right; ``{{``/``}}`` are literal braces.

    Unlike ``str.format`` this never interprets the *values*, and it refuses unknown names.
    """
    template_fields(template)  # validates the template's syntax first

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"The template uses {{{name}}}, which has no value for this task.")
        return values[name]

    return _FIELD.sub(replace, template)


def render(variant: PromptVariant, item: Item, rubric: Rubric) -> RenderedPrompt:
    """Render ``variant`` for ``item``; raises :class:`TemplateError` if it needs data the item lacks."""
    if variant.uses_reference and not (item.reference or "").strip():
        raise TemplateError(
            f"Variant {variant.id!r} shows a reference answer, but item {item.item_id!r} has none; map a "
            "reference column or choose a variant without a reference (e.g. 'selene')."
        )
    values = placeholder_values(item, rubric, variant.task)
    if item.context and "context" not in variant.placeholders:
        values["user_input"] = f"{item.input}\n\nContext:\n{item.context}"
    if variant.swap_responses:
        # The position-swap variant shows B first; the parser maps the answer back (see parse_for_variant).
        values["assistant_response_a"], values["assistant_response_b"] = (
            values["assistant_response_b"],
            values["assistant_response_a"],
        )
    if variant.value_format == "json":
        # Inside a JSON string a quote or newline in the data would break the object: escape every value.
        values = {name: json.dumps(value, ensure_ascii=False)[1:-1] for name, value in values.items()}
    messages = []
    if variant.system_template:
        messages.append(Message("system", fill(variant.system_template, values)))
    messages.append(Message("user", fill(variant.user_template, values)))
    return RenderedPrompt(item.item_id, variant.id, variant.content_hash, tuple(messages))


def cache_key(judge_identity: dict[str, object] | str, prompt: RenderedPrompt) -> str:
    """The judgment's key: a hash of everything that changes the output (judge settings and messages).

    ``judge_identity`` may be given already serialised (:func:`identity_text`): a study's plan computes
    one key per item and variant with the same judge, so it serialises the judge once.
    """
    text = judge_identity if isinstance(judge_identity, str) else identity_text(judge_identity)
    blob = text + "\n" + prompt.fingerprint()
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def identity_text(judge_identity: dict[str, object]) -> str:
    """The judge's identity as the cache key hashes it (stable JSON)."""
    return json.dumps(judge_identity, sort_keys=True)
