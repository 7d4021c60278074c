"""Prompt variants (data files), rendering, and the one parser for judge output."""

from selene_eval.prompts.compose import Axes, applicable_axes, compose, swapped, variant_diff
from selene_eval.prompts.parser import (
    ParsedJudgment,
    ParseStatus,
    label_choices,
    label_probs_for_variant,
    parse_for_variant,
    parse_judgment,
)
from selene_eval.prompts.render import RenderedPrompt, cache_key, render
from selene_eval.prompts.rubric import Rubric, default_rubric
from selene_eval.prompts.variants import (
    PromptVariant,
    builtin_variants,
    default_variant_ids,
    find_variant,
    load_template_file,
    load_template_text,
)

__all__ = [
    "Axes",
    "applicable_axes",
    "compose",
    "label_probs_for_variant",
    "parse_for_variant",
    "swapped",
    "variant_diff",
    "ParseStatus",
    "ParsedJudgment",
    "PromptVariant",
    "RenderedPrompt",
    "Rubric",
    "builtin_variants",
    "cache_key",
    "default_rubric",
    "label_choices",
    "default_variant_ids",
    "find_variant",
    "load_template_file",
    "load_template_text",
    "parse_judgment",
    "render",
]
