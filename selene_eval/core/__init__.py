"""The vocabulary every stage shares: task types, items, expert-label columns and the judge's
description (:class:`~selene_eval.core.judge_spec.JudgeSpec`, messages, generations)."""
