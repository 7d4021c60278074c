"""Recipes: the Selene Mini paper's domain-expert evaluations (its Table 2), reproduced in one command each.

A :class:`Recipe` names a public dataset, the studies to import from it (with the adapter options that match
the paper's task) and the paper's figures. :func:`prepare_studies` imports them (once; later calls reuse them),
:func:`run_recipe` judges every study with one backend (the model loads once; stored judgments are reused, so an
interrupted recipe resumes) and :func:`recipe_results` reads each study's agreement back beside the paper's
numbers, with what the paper leaves out: chance-corrected statistics (Cohen's kappa, Gwet's AC1), the
majority-label baseline and the experts' own agreement.

The CLI is ``python -m selene_eval reproduce NAME --from PATH`` (see docs/REPRODUCE.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from selene_eval.adapters import create_study_from_dataset, get_adapter
from selene_eval.adapters.craftmd import EXPERT_PAIR as CRAFTMD_EXPERT_PAIR
from selene_eval.core.expert_labels import expert_column, expert_columns
from selene_eval.core.numbers import finite_or_none, fmt_stat
from selene_eval.core.status import NOT_JUDGED
from selene_eval.errors import DataError, StatisticsError, StudyError
from selene_eval.judge import JudgeBackend, JudgeSpec
from selene_eval.results.table import judgment_table
from selene_eval.run.runner import Progress, RunResult, plan_run
from selene_eval.run.start import start_run
from selene_eval.stats.agreement import agreement
from selene_eval.stats.baseline import MajorityBaseline, majority_baseline
from selene_eval.stats.consensus import consensus
from selene_eval.stats.uncertainty import Interval
from selene_eval.study import Study, StudyStore


@dataclass(frozen=True)
class PaperFigure:
    """Accuracy the Selene Mini paper reports (its Table 2) for Selene Mini and its base model."""

    selene_mini: float
    llama_base: float
    """Llama-3.1-8B-Instruct, the paper's only baseline."""


@dataclass(frozen=True)
class RecipeStudy:
    """One study of a recipe: a dataset import with fixed options, and the paper's figure for it."""

    slug: str
    label: str
    options: Mapping[str, str]
    paper: PaperFigure
    expert_pair: tuple[str, str] | None = None
    """Two expert columns whose agreement is the experts' own (None: one label per item)."""


@dataclass(frozen=True)
class Recipe:
    """A dataset of the paper's Table 2 and the studies that reproduce it."""

    name: str
    dataset: str
    """The adapter's name (``datasets list``)."""
    title: str
    studies: tuple[RecipeStudy, ...]
    mean_paper: PaperFigure | None = None
    """The paper's mean over the studies, when it reports one (CRAFT-MD)."""
    unknowns: tuple[str, ...] = ()
    """What the paper does not say, and what the recipe chose instead."""


RECIPES: dict[str, Recipe] = {
    "craftmd": Recipe(
        name="craftmd",
        dataset="craftmd",
        title="CRAFT-MD (medical; dermatologists' yes/no answers)",
        studies=(
            RecipeStudy(
                "paper-craftmd-terminology",
                "medical terminology",
                {"question": "terminology"},
                PaperFigure(0.92, 0.79),
                CRAFTMD_EXPERT_PAIR,
            ),
            RecipeStudy(
                "paper-craftmd-diagnosis",
                "most likely diagnosis",
                {"question": "diagnosis"},
                PaperFigure(0.62, 0.51),
                CRAFTMD_EXPERT_PAIR,
            ),
            RecipeStudy(
                "paper-craftmd-history",
                "relevant medical history",
                {"question": "history"},
                PaperFigure(0.68, 0.62),
                CRAFTMD_EXPERT_PAIR,
            ),
        ),
        mean_paper=PaperFigure(0.74, 0.64),
        unknowns=(
            "The paper publishes neither its items, its prompts nor which expert label it scored against; here: all "
            "45 cases x 4 clinical LLMs per question, scored against the tie-broken label (majority of the three "
            "dermatologist columns), our own rubric per question, the judge shown the diagnoses as the experts were.",
            "Mapping the paper's sub-task names onto the workbook questions is ours (Q1 = most likely diagnosis, "
            "Q2 = relevant medical history, Q3 = medical terminology).",
        ),
    ),
    "financebench": Recipe(
        name="financebench",
        dataset="financebench",
        title="FinanceBench (finance; answers reviewed by hand)",
        studies=(
            RecipeStudy(
                "paper-financebench",
                "answer correct",
                {"refusal": "no", "context": "none", "rubric": "paper"},
                PaperFigure(0.717, 0.664),
            ),
        ),
        unknowns=(
            "The paper publishes neither its items, its prompt, how it counted refusals nor whether the judge saw "
            "evidence; here: every reviewed answer of the 16 configurations, a refusal counts as not correct, the "
            "judge sees question, answer and gold answer (Selene's classification-with-reference format).",
            "FinanceBench has one label per answer (the authors' review): there is no experts' agreement to show.",
        ),
    ),
}
"""Every recipe by name."""


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; DataError listing the known ones otherwise."""
    try:
        return RECIPES[name.strip().lower()]
    except KeyError:
        raise DataError(f"No recipe named {name!r}; known: {', '.join(RECIPES)}.") from None


def prepare_studies(
    recipe: Recipe,
    source: str | os.PathLike[str],
    store: StudyStore,
    *,
    overwrite: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> list[Study]:
    """Import each of the recipe's studies from the dataset copy at ``source``; a study already there is reused
    (its stored judgments too) unless ``overwrite``. Raises the adapter's DataError for a wrong folder, and
    StudyError when a study of that name holds other data (other files, or another rubric)."""
    adapter = get_adapter(recipe.dataset)
    studies = []
    for part in recipe.studies:
        if store.exists(part.slug) and not overwrite:
            study = store.open(part.slug)
            loaded = adapter.load(source, part.options)
            same_files = study.spec.source is not None and study.spec.source.sha256 == loaded.table.sha256
            if not same_files or study.spec.rubric != loaded.rubric:
                raise StudyError(
                    f"Study {part.slug!r} in {store.root} holds other data than {source} gives "
                    f"({'other source files' if not same_files else 'another rubric'}). Pass --overwrite to "
                    "re-import it (its judgments are lost), or choose another --studies-dir."
                )
            studies.append(study)
            continue
        studies.append(
            create_study_from_dataset(
                adapter,
                source,
                store,
                part.slug,
                options=part.options,
                title=f"{recipe.title.split(' (')[0]}: {part.label} (paper recipe)",
                overwrite=overwrite,
                on_warning=on_warning,
            )
        )
    return studies


def run_recipe(
    studies: list[Study],
    judge: JudgeSpec,
    backend: JudgeBackend,
    *,
    limit: int | None = None,
    batch_size: int = 8,
    on_progress: Callable[[str, Progress], None] | None = None,
) -> list[RunResult]:
    """Judge every study with ``backend`` (built once by the caller for ``judge``), each study's canonical prompt
    variant only; ``limit`` judges a stratified sample of that many items per study (a pilot)."""
    results = []
    for study in studies:
        plan = plan_run(study, judge, variant_ids=[study.spec.variants[0]], limit=limit)
        callback = (lambda progress, slug=study.slug: on_progress(slug, progress)) if on_progress else None
        # Started as `run` starts one (lock check, the judge saved), on the one backend the caller loaded.
        results.append(
            start_run(study, plan, batch_size=batch_size, load_backend=lambda _judge: backend, on_progress=callback)
        )
    return results


@dataclass(frozen=True)
class ExpertPairAgreement:
    """Two experts against each other on the items both labelled: the human ceiling the paper does not show."""

    expert_a: str
    expert_b: str
    n: int
    accuracy: float
    cohen_kappa: float
    gwet_ac1: float


@dataclass(frozen=True)
class RecipeRow:
    """One study's figures: ours beside the paper's."""

    label: str
    slug: str
    variant_id: str
    n_items: int
    n_judged: int
    n_compared: int
    n_unparseable: int
    accuracy: float
    cohen_kappa: float
    gwet_ac1: float
    intervals: dict[str, Interval]
    baseline: MajorityBaseline | None
    """Always giving the most frequent reference label, on the same items as ``accuracy``."""
    experts: ExpertPairAgreement | None
    paper: PaperFigure


@dataclass(frozen=True)
class RecipeResult:
    """A recipe's figures for one judge."""

    recipe: Recipe
    judge_name: str
    rows: tuple[RecipeRow, ...]
    mean_accuracy: float | None = None
    """The unweighted mean of the rows' accuracies, as the paper's CRAFT-MD mean (None for one study)."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        rows = []
        for row in self.rows:
            rows.append(
                {
                    "label": row.label,
                    "study": row.slug,
                    "variant": row.variant_id,
                    "n_items": row.n_items,
                    "n_judged": row.n_judged,
                    "n_compared": row.n_compared,
                    "n_unparseable": row.n_unparseable,
                    "accuracy": finite_or_none(row.accuracy),
                    "cohen_kappa": finite_or_none(row.cohen_kappa),
                    "gwet_ac1": finite_or_none(row.gwet_ac1),
                    "intervals": {k: [finite_or_none(v.low), finite_or_none(v.high)] for k, v in row.intervals.items()},
                    "majority_baseline": row.baseline.to_dict() if row.baseline else None,
                    "experts": None
                    if row.experts is None
                    else {
                        "experts": [row.experts.expert_a, row.experts.expert_b],
                        "n": row.experts.n,
                        "accuracy": finite_or_none(row.experts.accuracy),
                        "cohen_kappa": finite_or_none(row.experts.cohen_kappa),
                        "gwet_ac1": finite_or_none(row.experts.gwet_ac1),
                    },
                    "paper": {"selene_mini": row.paper.selene_mini, "llama_3_1_8b_instruct": row.paper.llama_base},
                }
            )
        mean = self.recipe.mean_paper
        return {
            "recipe": self.recipe.name,
            "judge": self.judge_name,
            "rows": rows,
            "mean_accuracy": finite_or_none(self.mean_accuracy),
            "paper_mean": None
            if mean is None
            else {"selene_mini": mean.selene_mini, "llama_3_1_8b_instruct": mean.llama_base},
            "unknowns": list(self.recipe.unknowns),
            "notes": list(self.notes),
        }


def _expert_pair(frame: pd.DataFrame, pair: tuple[str, str]) -> ExpertPairAgreement | None:
    a, b = (expert_column(name) for name in pair)
    if a not in frame or b not in frame:
        return None
    both = frame[frame[a].notna() & frame[b].notna()]
    if both.empty:
        return None
    report = agreement(both, a, [b], "nominal", order=["yes", "no"], n_resamples=0)
    return ExpertPairAgreement(
        pair[0],
        pair[1],
        report.n_compared,
        report.metrics["accuracy"],
        report.metrics["cohen_kappa"],
        report.extra_metrics.get("gwet_ac1", math.nan),
    )


def recipe_results(
    recipe: Recipe, store: StudyStore, judge: JudgeSpec, *, n_resamples: int = 1000, seed: int = 0
) -> RecipeResult:
    """Each study's accuracy, kappa and AC1 (with bootstrap intervals by the study's groups) for ``judge`` on
    its canonical variant, beside the majority-label baseline, the experts' own agreement and the paper's figures.
    Raises StudyError when a study of the recipe has not been imported."""
    rows = []
    notes = []
    for part in recipe.studies:
        study = store.open(part.slug)
        variant_id = study.spec.variants[0]
        frame = judgment_table(study, judge, variant_id)
        experts = expert_columns(frame)
        judged = frame[~frame["judge_status"].isin(NOT_JUDGED)]
        group = "group_id" if frame["group_id"].notna().any() else None
        experts_agree = _expert_pair(frame, part.expert_pair) if part.expert_pair else None
        if judged.empty:
            rows.append(
                RecipeRow(
                    part.label,
                    part.slug,
                    variant_id,
                    len(frame),
                    0,
                    0,
                    0,
                    math.nan,
                    math.nan,
                    math.nan,
                    {},
                    None,
                    experts_agree,
                    part.paper,
                )
            )
            notes.append(f"{part.label}: nothing judged yet by {judge.display_name}.")
            continue
        report = agreement(
            judged,
            "judge_label",
            experts,
            "nominal",
            order=["yes", "no"],
            group=group,
            n_resamples=n_resamples,
            seed=seed,
        )
        compared = judged[judged["judge_label"].notna()]
        reference = consensus(compared[experts], "nominal", order=["yes", "no"]).values
        try:
            baseline = majority_baseline(reference)
        except StatisticsError:
            baseline = None
        rows.append(
            RecipeRow(
                part.label,
                part.slug,
                variant_id,
                len(frame),
                len(judged),
                report.n_compared,
                report.n_judge_missing,
                report.metrics["accuracy"],
                report.metrics["cohen_kappa"],
                report.extra_metrics.get("gwet_ac1", math.nan),
                dict(report.intervals),
                baseline,
                experts_agree,
                part.paper,
            )
        )
        if len(judged) < len(frame):
            notes.append(f"{part.label}: {len(judged)} of {len(frame)} items judged (a pilot or an unfinished run).")
    accuracies = [r.accuracy for r in rows]
    mean = (sum(accuracies) / len(accuracies)) if len(rows) > 1 and not any(math.isnan(a) for a in accuracies) else None
    return RecipeResult(recipe, judge.display_name, tuple(rows), mean, tuple(notes))


SMALL_N = 30
"""Below this many compared items, the text output warns that the figures are unstable."""


def _f(value: float | None, digits: int = 2) -> str:
    """A statistic with two decimals, as the paper's tables print them."""
    return fmt_stat(value, digits)


def _ci(interval: Interval | None) -> str:
    if interval is None or math.isnan(interval.low) or math.isnan(interval.high):
        return ""
    return f" [{interval.low:.2f}, {interval.high:.2f}]"


def format_results(result: RecipeResult) -> str:
    """The recipe's figures as plain text: one block per study, then the mean and what the paper leaves open."""
    lines = [
        f"{result.recipe.title}: judge {result.judge_name}",
        "(accuracy, kappa and AC1 against the experts' resolved label; in brackets a 95% bootstrap interval "
        "by case or question)",
    ]
    for row in result.rows:
        lines.append("")
        lines.append(
            f"{row.label} (study {row.slug}, variant {row.variant_id}): {row.n_compared} of {row.n_items} "
            f"items compared"
            + (f", {row.n_unparseable} unparseable" if row.n_unparseable else "")
            + (" (fewer than 30: read every figure with care)" if row.n_compared < SMALL_N else "")
        )
        lines.append(
            f"  accuracy        {_f(row.accuracy)}{_ci(row.intervals.get('accuracy'))}   paper: Selene Mini "
            f"{row.paper.selene_mini:g}, Llama-3.1-8B-Instruct {row.paper.llama_base:g}"
        )
        if row.baseline is not None:
            lines.append(
                f"  majority label  {_f(row.baseline.accuracy)}   (always answering {row.baseline.label!r}; "
                + ", ".join(f"{k} {v}" for k, v in row.baseline.counts.items())
                + ")"
            )
        lines.append(f"  Cohen's kappa   {_f(row.cohen_kappa)}{_ci(row.intervals.get('cohen_kappa'))}")
        lines.append(f"  Gwet's AC1      {_f(row.gwet_ac1)}{_ci(row.intervals.get('gwet_ac1'))}")
        if row.experts is not None:
            e = row.experts
            lines.append(
                f"  experts' own    {e.expert_a} vs {e.expert_b} on the {e.n} items both labelled: accuracy "
                f"{_f(e.accuracy)}, kappa {_f(e.cohen_kappa)}, AC1 {_f(e.gwet_ac1)}"
            )
    mean = result.recipe.mean_paper
    if mean is not None:
        lines.append("")
        lines.append(
            f"mean accuracy   {_f(result.mean_accuracy)}   paper: Selene Mini {mean.selene_mini:g}, "
            f"Llama-3.1-8B-Instruct {mean.llama_base:g}"
        )
    for note in result.notes:
        lines.append(f"note: {note}")
    for unknown in result.recipe.unknowns:
        lines.append(f"not comparable: {unknown}")
    return "\n".join(lines)
