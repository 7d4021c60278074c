"""Judge items x prompt variants, storing each batch as soon as it exists.

The runner renders every (item, variant) prompt, keys it by the judge's identity and the rendered messages
(:func:`selene_eval.prompts.render.cache_key`), skips keys already stored, and sends the rest to the backend
in batches of similar length. Each batch is committed in one transaction before the next starts, so a
cancelled or crashed run loses at most the batch in flight, and a re-run picks up where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from selene_eval.backends.base import JudgeBackend, JudgeSpec
from selene_eval.errors import SeleneEvalError, TemplateError
from selene_eval.prompts.parser import label_choices, label_probs_for_variant, parse_for_variant
from selene_eval.prompts.render import RenderedPrompt, cache_key, identity_text, render
from selene_eval.store.judgments import StoredFailure, StoredJudgment
from selene_eval.store.studies import Study, holding_run_lock


@dataclass(frozen=True)
class PendingJudgment:
    """One prompt to send to the judge."""

    cache_key: str
    prompt: RenderedPrompt


@dataclass(frozen=True)
class Skipped:
    """An (item, variant) pair that cannot be rendered, and why."""

    item_id: str
    variant_id: str
    reason: str


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, computed before any model work (shown to the user before starting)."""

    judge: JudgeSpec
    variant_ids: tuple[str, ...]
    n_items: int
    n_total: int
    n_cached: int
    pending: tuple[PendingJudgment, ...]
    skipped: tuple[Skipped, ...]

    @property
    def n_pending(self) -> int:
        return len(self.pending)


@dataclass(frozen=True)
class Progress:
    """Reported after every batch."""

    done: int
    total: int
    cached: int
    failed: int
    elapsed_s: float
    unreadable: int = 0  # of ``done``: answers stored without a readable label

    @property
    def rate(self) -> float:
        """Judgments per second so far (0 before the first batch)."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate, or ``None`` when unknown."""
        remaining = self.total - self.done - self.failed
        return remaining / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    judge_id: str
    n_total: int
    n_cached: int
    n_judged: int
    n_failed: int
    n_skipped: int
    cancelled: bool
    elapsed_s: float
    failures: tuple[StoredFailure, ...] = ()
    n_unreadable: int = 0
    """Of ``n_judged``: answers stored without a readable label (kept, and left out of the statistics)."""

    @property
    def n_readable(self) -> int:
        """New judgments with a readable label."""
        return self.n_judged - self.n_unreadable

    def summary(self) -> str:
        """One line for people: ``24 judgments made (21 without a readable label), 0 from the store, 0 failed``."""
        made = f"{self.n_judged:,} judgment{'' if self.n_judged == 1 else 's'} made"
        if self.n_unreadable:
            made += f" ({self.n_unreadable:,} of them without a readable label)"
        return f"{made}, {self.n_cached:,} already stored, {self.n_failed:,} failed"


def plan_run(
    study: Study,
    judge: JudgeSpec,
    *,
    variant_ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> RunPlan:
    """Render every prompt of the run and split it into cached and pending judgments.

    ``variant_ids`` defaults to the study's variants; ``limit`` takes the first N items in file order.
    """
    if limit is not None and limit < 1:
        raise SeleneEvalError(f"--limit must be at least 1 (got {limit}).")
    ids = tuple(variant_ids or study.spec.variants)
    if not ids:
        raise SeleneEvalError(f"Study {study.slug!r} has no prompt variants; add one (e.g. 'selene').")
    variants = [study.variant(v) for v in ids]
    items = study.items[:limit] if limit else study.items
    identity = identity_text(judge.identity())  # serialised once, not once per prompt
    prompts: list[PendingJudgment] = []
    skipped: list[Skipped] = []
    for variant in variants:
        for item in items:
            try:
                prompt = render(variant, item, study.spec.rubric)
            except TemplateError as exc:
                skipped.append(Skipped(item.item_id, variant.id, str(exc)))
                continue
            prompts.append(PendingJudgment(cache_key(identity, prompt), prompt))
    cached = study.judgments.existing_keys(p.cache_key for p in prompts)
    # Two items that render identically share one judgment: send each key once.
    pending: dict[str, PendingJudgment] = {}
    for p in prompts:
        if p.cache_key not in cached:
            pending.setdefault(p.cache_key, p)
    return RunPlan(
        judge=judge,
        variant_ids=ids,
        n_items=len(items),
        n_total=len(prompts),
        n_cached=sum(1 for p in prompts if p.cache_key in cached),
        pending=tuple(pending.values()),
        skipped=tuple(skipped),
    )


@holding_run_lock  # one run per study at a time; a second one gets StudyBusy naming the first
def run_study(
    study: Study,
    backend: JudgeBackend,
    *,
    plan: RunPlan | None = None,
    variant_ids: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RunResult:
    """Judge what ``plan`` (or a fresh plan) leaves pending with ``backend``; store each batch at once.

    ``should_cancel`` is polled between batches; a cancelled run returns with ``cancelled=True`` and
    everything finished so far stored.
    """
    if batch_size < 1:
        raise SeleneEvalError(f"The batch size must be at least 1 (got {batch_size}).")
    judge = backend.spec
    if plan is None:
        plan = plan_run(study, judge, variant_ids=variant_ids, limit=limit)
    elif plan.judge.judge_id != judge.judge_id:
        raise SeleneEvalError("The run plan was made for another judge; plan again with this backend's settings.")
    store = study.judgments
    store.register_judge(judge)
    task = study.spec.task
    aliases = {v: study.variant(v).label_aliases for v in plan.variant_ids}
    choices = {v: label_choices(task, a) for v, a in aliases.items()}
    # Similar lengths in one batch waste less padding.
    ordered = sorted(plan.pending, key=lambda p: len(p.prompt.text))
    start = time.perf_counter()
    done = failed = unreadable = 0
    failures: list[StoredFailure] = []
    cancelled = False

    def report() -> None:
        if on_progress:
            on_progress(Progress(done, len(ordered), plan.n_cached, failed, time.perf_counter() - start, unreadable))

    report()
    for offset in range(0, len(ordered), batch_size):
        if should_cancel and should_cancel():
            cancelled = True
            break
        batch = ordered[offset : offset + batch_size]
        t0 = time.perf_counter()
        generations = backend.generate(
            [list(p.prompt.messages) for p in batch], [choices.get(p.prompt.variant_id) for p in batch]
        )
        per_item = (time.perf_counter() - t0) / max(len(batch), 1)
        if len(generations) != len(batch):
            raise SeleneEvalError(
                f"The {judge.backend} backend returned {len(generations)} answers for {len(batch)} prompts."
            )
        judged, failed_now = [], []
        for pending, gen in zip(batch, generations):
            prompt = pending.prompt
            if gen.finish_reason == "error":
                failed_now.append(
                    StoredFailure(pending.cache_key, judge.judge_id, prompt.item_id, prompt.variant_id, gen.error or "unknown error")
                )
                continue
            variant = study.variant(prompt.variant_id)  # a position-swapped variant maps its answer back
            parsed = parse_for_variant(gen.text, variant)
            judged.append(
                StoredJudgment(
                    cache_key=pending.cache_key,
                    judge_id=judge.judge_id,
                    item_id=prompt.item_id,
                    variant_id=prompt.variant_id,
                    variant_hash=prompt.variant_hash,
                    label=parsed.label,
                    status=parsed.status.value,
                    reasoning=parsed.reasoning,
                    raw_text=gen.text,
                    finish_reason=gen.finish_reason,
                    n_prompt_tokens=gen.n_prompt_tokens,
                    n_new_tokens=gen.n_new_tokens,
                    label_probs=label_probs_for_variant(gen.label_probs, variant),
                    duration_s=per_item,
                )
            )
        store.add(judged, failed_now)
        done += len(judged)
        unreadable += sum(1 for j in judged if j.status != "ok")
        failed += len(failed_now)
        failures.extend(failed_now)
        report()
    return RunResult(
        judge_id=judge.judge_id,
        n_total=plan.n_total,
        n_cached=plan.n_cached,
        n_judged=done,
        n_failed=failed,
        n_skipped=len(plan.skipped),
        cancelled=cancelled,
        elapsed_s=time.perf_counter() - start,
        failures=tuple(failures),
        n_unreadable=unreadable,
    )
