"""Judge items x prompt variants, storing each batch as soon as it exists.

The runner renders every (item, variant) prompt, keys it by the judge's identity and the rendered messages
(:func:`selene_eval.prompts.render.cache_key`), skips keys already stored, and sends the rest to the backend
in batches of similar length. Each batch is committed in one transaction before the next starts, so a
cancelled or crashed run loses at most the batch in flight, and a re-run picks up where it stopped.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeBackend, JudgeSpec
from selene_eval.core.status import READABLE, JudgmentStatus
from selene_eval.errors import SeleneEvalError, TemplateError
from selene_eval.prompts.parser import (
    forced_label_for_variant,
    label_choices,
    label_probs_for_variant,
    parse_for_variant,
)
from selene_eval.prompts.render import RenderedPrompt, cache_key, identity_text, render
from selene_eval.study.judgments import RunRecord, StoredFailure, StoredJudgment
from selene_eval.study.store import DB_FILE, Study, holding_run_lock


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
    limit: int | None = None
    """The pilot's size as asked (``None``: every item); ``n_items`` is how many it took."""
    sample_seed: int = 0
    """The seed of the pilot's random sample (see :func:`pilot_sample`)."""
    n_study_items: int = 0
    """How many items the study has (a pilot's sample is drawn from them)."""

    @property
    def n_pending(self) -> int:
        return len(self.pending)

    @property
    def is_sample(self) -> bool:
        """Whether the run judges a random sample of the study's items rather than all of them."""
        return self.n_items < self.n_study_items


@dataclass(frozen=True)
class Progress:
    """Reported after every batch."""

    done: int
    total: int
    cached: int
    failed: int
    elapsed_s: float
    unreadable: int = 0  # of ``done``: answers stored without a readable label
    forced: int = 0  # of ``done``: answers without a readable label whose label was forced (force_verdict)

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
    n_forced: int = 0
    """Of ``n_judged``: answers without a readable label whose label was forced (``JudgeSpec.force_verdict``);
    counted apart from both readable and unreadable answers."""

    @property
    def n_readable(self) -> int:
        """New judgments with a label the judge wrote itself."""
        return self.n_judged - self.n_unreadable - self.n_forced

    def summary(self) -> str:
        """One line for people: ``24 judgments made (21 without a readable label), 0 from the store, 0 failed``."""
        made = f"{self.n_judged:,} judgment{'' if self.n_judged == 1 else 's'} made"
        details = [f"{self.n_forced:,} with a forced label"] if self.n_forced else []
        if self.n_unreadable:
            details.append(f"{self.n_unreadable:,} {'' if details else 'of them '}without a readable label")
        if details:
            made += f" ({', '.join(details)})"
        return f"{made}, {self.n_cached:,} already stored, {self.n_failed:,} failed"


DEFAULT_SAMPLE_SEED = 0
"""The seed of a pilot's sample unless another is given (``run --sample-seed``, the Run page)."""


def majority_label(item: Item) -> str | None:
    """The label more than half of the item's labelling experts gave, or ``None`` (no labels, or no majority)."""
    labels = [label for label in item.experts.values() if label is not None]
    if not labels:
        return None
    label, count = Counter(labels).most_common(1)[0]
    return label if count * 2 > len(labels) else None


def pilot_sample(items: Sequence[Item], size: int, seed: int = DEFAULT_SAMPLE_SEED) -> list[Item]:
    """A seeded random sample of ``size`` items, stratified by the experts' majority label; in file order.

    The first N items of a file are often sorted (by source, by date, by label) and say little about the
    rest. Each stratum (items sharing a majority label; items without one form a stratum of their own)
    gets its share of the sample by largest remainder, and at least one item whenever the sample has room
    for every stratum, so a rare label is never left out of a pilot. Within a stratum the items with the
    smallest ``sha256(seed, item id)`` are taken: the same seed gives the same sample on any computer and
    in any file order, and a larger pilot with the same seed keeps the items of a smaller one (their
    judgments are reused).
    """
    if size < 1:
        raise SeleneEvalError(f"A pilot needs at least 1 item (got {size}).")
    if size >= len(items):
        return list(items)
    strata: dict[str | None, list[Item]] = {}
    for item in items:
        strata.setdefault(majority_label(item), []).append(item)
    order = sorted(strata, key=lambda label: (label is None, str(label)))
    quotas = {label: size * len(strata[label]) / len(items) for label in order}
    shares = {label: int(quotas[label]) for label in order}
    by_remainder = sorted(order, key=lambda label: quotas[label] - shares[label], reverse=True)
    for label in by_remainder[: size - sum(shares.values())]:
        shares[label] += 1
    if size >= len(order):
        for label in order:
            if shares[label] == 0:  # take one from the largest share (which has more than one)
                donor = max(order, key=lambda other: shares[other])
                shares[donor] -= 1
                shares[label] = 1

    def draw_key(item: Item) -> str:
        return hashlib.sha256(f"{seed}\x00{item.item_id}".encode()).hexdigest()

    chosen = {id(item) for label in order for item in sorted(strata[label], key=draw_key)[: shares[label]]}
    return [item for item in items if id(item) in chosen]


def plan_run(
    study: Study,
    judge: JudgeSpec,
    *,
    variant_ids: Sequence[str] | None = None,
    limit: int | None = None,
    sample_seed: int = DEFAULT_SAMPLE_SEED,
) -> RunPlan:
    """Render every prompt of the run and split it into cached and pending judgments.

    ``variant_ids`` defaults to the study's variants and must be among them (a variant outside the study
    would be judged and then left out of every report). ``limit`` makes the run a pilot on
    :func:`pilot_sample` of that many items, drawn with ``sample_seed``.
    """
    if limit is not None and limit < 1:
        raise SeleneEvalError(f"--limit must be at least 1 (got {limit}).")
    ids = tuple(dict.fromkeys(variant_ids or study.spec.variants))
    if not ids:
        raise SeleneEvalError(f"Study {study.slug!r} has no prompt variants; add one (e.g. 'selene').")
    variants = [study.variant(v) for v in ids]  # an unknown id fails here, naming the known ones
    outside = [v for v in ids if v not in study.spec.variants]
    if outside:
        raise SeleneEvalError(
            f"Variant(s) {', '.join(repr(v) for v in outside)} are not in study {study.slug!r} (its variants: "
            f"{', '.join(study.spec.variants) or 'none'}), so their judgments would appear in no report. Add them "
            "to the study's variants first: on the dashboard's Prompts page, or on the command line, where `run "
            "--variants` adds them and says so."
        )
    items = pilot_sample(study.items, limit, sample_seed) if limit else study.items
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
        limit=limit,
        sample_seed=sample_seed,
        n_study_items=len(study.items),
    )


@dataclass(frozen=True)
class RunEstimate:
    """How long a run's pending judgments should take, from this judge's earlier judgments."""

    seconds: float
    seconds_per_judgment: float
    n_measured: int
    """How many earlier judgments the pace was measured on."""
    where: str
    """``this study`` or ``other studies in this folder``."""


def estimate_run(study: Study, plan: RunPlan) -> RunEstimate | None:
    """The time the plan's pending judgments should take at the judge's stored pace, or ``None`` without one.

    The pace is the mean time per judgment of the same judge (same identity) in this study, else in the
    other studies of the same folder. Without either, the run measures its first batch and its progress
    gives the time left from then on.
    """
    if not plan.pending:
        return None
    judge_id = plan.judge.judge_id
    own = _stored_pace(study.path / DB_FILE, judge_id)
    if own is not None:
        return RunEstimate(own[0] * plan.n_pending, own[0], own[1], "this study")
    total = count = 0.0
    for database in sorted(study.path.parent.glob(f"*/{DB_FILE}")):
        if database.parent == study.path:
            continue
        pace = _stored_pace(database, judge_id)
        if pace is not None:
            total += pace[0] * pace[1]
            count += pace[1]
    if not count:
        return None
    return RunEstimate(total / count * plan.n_pending, total / count, int(count), "other studies in this folder")


def _stored_pace(database: Path, judge_id: str) -> tuple[float, int] | None:
    """(mean seconds per judgment, how many) of ``judge_id`` in one judgment database, read-only."""
    if not database.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            mean, count = conn.execute(
                "SELECT AVG(duration_s), COUNT(duration_s) FROM judgments WHERE judge_id = ? AND duration_s IS NOT NULL",
                (judge_id,),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # a damaged or foreign file: no pace from it
    return (float(mean), int(count)) if count else None


@holding_run_lock  # one run per study at a time; a second one gets StudyBusy naming the first
def run_study(
    study: Study,
    backend: JudgeBackend,
    *,
    plan: RunPlan | None = None,
    variant_ids: Sequence[str] | None = None,
    limit: int | None = None,
    sample_seed: int = DEFAULT_SAMPLE_SEED,
    batch_size: int = 8,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RunResult:
    """Judge what ``plan`` (or a fresh plan) leaves pending with ``backend``; store each batch at once.

    ``should_cancel`` is polled between batches; a cancelled run returns with ``cancelled=True`` and
    everything finished so far stored. A run with work to do is recorded in the study
    (:meth:`~selene_eval.study.judgments.JudgmentStore.add_run`) so that its report can say how to repeat it.
    """
    if batch_size < 1:
        raise SeleneEvalError(f"The batch size must be at least 1 (got {batch_size}).")
    judge = backend.spec
    if plan is None:
        plan = plan_run(study, judge, variant_ids=variant_ids, limit=limit, sample_seed=sample_seed)
    elif plan.judge.judge_id != judge.judge_id:
        raise SeleneEvalError("The run plan was made for another judge; plan again with this backend's settings.")
    store = study.judgments
    store.register_judge(judge)
    if plan.pending:
        store.add_run(
            RunRecord(
                judge,
                plan.variant_ids,
                plan.limit if plan.is_sample else None,
                plan.sample_seed,
                batch_size,
                plan.n_items,
            )
        )
    task = study.spec.task
    aliases = {v: study.variant(v).label_aliases for v in plan.variant_ids}
    choices = {v: label_choices(task, a) for v, a in aliases.items()}
    # Similar lengths in one batch waste less padding.
    ordered = sorted(plan.pending, key=lambda p: len(p.prompt.text))
    start = time.perf_counter()
    done = failed = unreadable = forced = 0
    failures: list[StoredFailure] = []
    cancelled = False

    def report() -> None:
        if on_progress:
            on_progress(
                Progress(done, len(ordered), plan.n_cached, failed, time.perf_counter() - start, unreadable, forced)
            )

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
                    StoredFailure(
                        pending.cache_key,
                        judge.judge_id,
                        prompt.item_id,
                        prompt.variant_id,
                        gen.error or "unknown error",
                    )
                )
                continue
            variant = study.variant(prompt.variant_id)  # a position-swapped variant maps its answer back
            parsed = parse_for_variant(gen.text, variant)
            label, status = parsed.label, parsed.status.value
            if not parsed.ok and gen.forced_label is not None:
                # No readable verdict in the text: the backend continued it with the result marker.
                label, status = forced_label_for_variant(gen.forced_label, variant), JudgmentStatus.FORCED.value
            judged.append(
                StoredJudgment(
                    cache_key=pending.cache_key,
                    judge_id=judge.judge_id,
                    item_id=prompt.item_id,
                    variant_id=prompt.variant_id,
                    variant_hash=prompt.variant_hash,
                    label=label,
                    status=status,
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
        forced += sum(1 for j in judged if j.status == JudgmentStatus.FORCED)
        unreadable += sum(1 for j in judged if j.status not in READABLE)
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
        n_forced=forced,
    )
