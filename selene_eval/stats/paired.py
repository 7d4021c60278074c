"""Paired comparisons of two *conditions* judged on the same items: prompt variants, judges, modes.

A condition is anything that gives one judge label per item (a prompt variant, a judge, a quantization, the
fast mode). Comparing two conditions on the *same* items is a paired design, so the tests here are paired:

* :func:`flip_rate` - how often the label changes between two conditions, and whether each change moves
  towards or away from the expert label.
* :func:`mcnemar_correctness` - McNemar's test on correctness (label == expert label): do the two
  conditions get *different items* right more often than chance would explain? Exact binomial when the
  discordant pairs are few (< 25), else the chi-square statistic with continuity correction
  (statsmodels' ``mcnemar``; Fagerland, Lydersen & Laake 2013 recommend the exact or mid-p form for small
  samples).
* :func:`compare_conditions` - the difference of an agreement statistic (kappa, alpha, AC1...) between two
  conditions with a paired bootstrap interval, resampling groups (items that share a question move
  together), its bootstrap p-value, McNemar on correctness, and Holm's correction across the comparisons.
* :func:`holm` - Holm's step-down correction (statsmodels' ``multipletests``), tolerant of NaN.

Labels are canonical strings (``"4"``, ``"yes"``, ``"A"``) or ``None`` for "no usable label" (unparseable,
missing, not judged): an item missing in either condition (or in the reference) is left out of that
comparison and counted in ``n_excluded``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from selene_eval.core.numbers import finite_or_none
from selene_eval.errors import StatisticsError
from selene_eval.stats.consensus import LEVELS
from selene_eval.stats.uncertainty import Interval, paired_bootstrap_difference, statistic_value

Label = str | None

# Below this many discordant pairs McNemar's chi-square approximation is poor: use the exact binomial test.
EXACT_BELOW = 25


@dataclass(frozen=True)
class FlipRate:
    """How often the label changes between conditions ``a`` and ``b`` on the items both labelled.

    ``n_toward_reference`` / ``n_away_from_reference`` / ``n_sideways`` split the flips by the expert label
    (only items that have one): towards = ``b`` is closer to the expert label than ``a`` (nominal: ``a``
    wrong and ``b`` right; ordinal/interval: smaller absolute distance), away = the opposite, sideways =
    neither (nominal: wrong to another wrong label; ordinal: the same distance on the other side).
    ``rate`` is NaN when no item has both labels.
    """

    n_compared: int
    n_flipped: int
    rate: float
    n_toward_reference: int = 0
    n_away_from_reference: int = 0
    n_sideways: int = 0
    n_excluded: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_compared": self.n_compared,
            "n_flipped": self.n_flipped,
            "rate": finite_or_none(self.rate),
            "n_toward_reference": self.n_toward_reference,
            "n_away_from_reference": self.n_away_from_reference,
            "n_sideways": self.n_sideways,
            "n_excluded": self.n_excluded,
        }


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on correctness of conditions ``a`` and ``b`` against the reference labels.

    The 2x2 table counts items by (``a`` right?, ``b`` right?). Only the discordant cells
    (``n_only_a_right``, ``n_only_b_right``) carry information. ``exact`` says whether the exact binomial
    test was used (``statistic`` is then the smaller discordant count) or the continuity-corrected
    chi-square. ``p_value`` is 1.0 when there are no discordant pairs (nothing suggests a difference) and
    NaN when no item could be compared.
    """

    n_both_right: int
    n_only_a_right: int
    n_only_b_right: int
    n_both_wrong: int
    statistic: float
    p_value: float
    exact: bool

    @property
    def n_compared(self) -> int:
        return self.n_both_right + self.n_only_a_right + self.n_only_b_right + self.n_both_wrong

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_both_right": self.n_both_right,
            "n_only_a_right": self.n_only_a_right,
            "n_only_b_right": self.n_only_b_right,
            "n_both_wrong": self.n_both_wrong,
            "statistic": finite_or_none(self.statistic),
            "p_value": finite_or_none(self.p_value),
            "exact": self.exact,
        }


@dataclass(frozen=True)
class PairedDifference:
    """Condition ``a`` vs condition ``b`` on the items where the reference and both have a label.

    ``difference`` = ``value_a - value_b`` of ``statistic`` (agreement with the reference) with a paired
    bootstrap ``interval`` (its ``p_value`` is the bootstrap p-value). ``p_value`` is the test this
    comparison is judged by: McNemar's on correctness when ``statistic`` is ``accuracy`` (correctness is
    exactly what it tests), else the paired bootstrap p-value of the statistic's difference. ``p_holm`` is
    ``p_value`` after Holm's correction across the comparisons returned together. ``mcnemar`` is reported
    for every statistic (on correctness), as a second view.
    """

    a: str
    b: str
    statistic: str
    n_items: int
    n_excluded: int
    value_a: float
    value_b: float
    difference: float
    interval: Interval | None
    mcnemar: McNemar
    p_value: float
    p_holm: float
    test: str

    @property
    def significant(self) -> bool:
        """Whether the difference is more than noise at the 5% level after Holm's correction."""
        return math.isfinite(self.p_holm) and self.p_holm < 0.05

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "statistic": self.statistic,
            "n_items": self.n_items,
            "n_excluded": self.n_excluded,
            "value_a": finite_or_none(self.value_a),
            "value_b": finite_or_none(self.value_b),
            "difference": finite_or_none(self.difference),
            "interval": None if self.interval is None else self.interval.to_dict(),
            "mcnemar": self.mcnemar.to_dict(),
            "p_value": finite_or_none(self.p_value),
            "p_holm": finite_or_none(self.p_holm),
            "test": self.test,
            "significant": self.significant,
        }


# --------------------------------------------------------------------------------------------------


def _check_lengths(**columns: Sequence[object] | None) -> int:
    lengths = {name: len(col) for name, col in columns.items() if col is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise StatisticsError(f"The label lists must have one entry per item, but {detail}.")
    return next(iter(lengths.values()), 0)


def _numeric(label: Label, order: Sequence[str] | None) -> float:
    """A label's position for distances: its rank in ``order``, else its numeric value."""
    if order is not None:
        ranks: list[Label] = list(order)  # a None label is not in it: ValueError, as any unknown label
        try:
            return float(ranks.index(label))
        except ValueError:
            raise StatisticsError(f"Label {label!r} is not in the label order {list(order)}.") from None
    try:
        return float(str(label))
    except ValueError:
        raise StatisticsError(
            f"Label {label!r} is not a number; pass the label order to measure distances between labels."
        ) from None


def flip_rate(
    a: Sequence[Label],
    b: Sequence[Label],
    reference: Sequence[Label] | None = None,
    *,
    level: str = "nominal",
    order: Sequence[str] | None = None,
) -> FlipRate:
    """Share of items whose label differs between conditions ``a`` and ``b``, split by direction.

    ``level`` ``nominal`` judges direction by right/wrong; ``ordinal`` (ranks in ``order``) and ``interval``
    (numeric labels) by distance to the ``reference`` label. Items without both labels are excluded.
    """
    if level not in LEVELS:  # narrows level to Level
        raise StatisticsError(f"Unknown level {level!r}; use nominal, ordinal or interval.")
    n = _check_lengths(a=a, b=b, reference=reference)
    compared = flipped = toward = away = sideways = 0
    for i in range(n):
        x, y = a[i], b[i]
        if x is None or y is None:
            continue
        compared += 1
        if x == y:
            continue
        flipped += 1
        ref = reference[i] if reference is not None else None
        if ref is None:
            continue
        if level == "nominal":
            if x != ref and y == ref:
                toward += 1
            elif x == ref and y != ref:
                away += 1
            else:
                sideways += 1
        else:
            rank_order = order if level == "ordinal" else None
            dist_x = abs(_numeric(x, rank_order) - _numeric(ref, rank_order))
            dist_y = abs(_numeric(y, rank_order) - _numeric(ref, rank_order))
            if dist_y < dist_x:
                toward += 1
            elif dist_y > dist_x:
                away += 1
            else:
                sideways += 1
    return FlipRate(
        n_compared=compared,
        n_flipped=flipped,
        rate=flipped / compared if compared else math.nan,
        n_toward_reference=toward,
        n_away_from_reference=away,
        n_sideways=sideways,
        n_excluded=n - compared,
    )


def mcnemar_correctness(reference: Sequence[Label], a: Sequence[Label], b: Sequence[Label]) -> McNemar:
    """McNemar's test of "``a`` and ``b`` are right equally often" on the items all three label."""
    from statsmodels.stats.contingency_tables import mcnemar

    n = _check_lengths(reference=reference, a=a, b=b)
    cells = np.zeros((2, 2), dtype=int)  # rows: a right/wrong, columns: b right/wrong
    for i in range(n):
        ref, x, y = reference[i], a[i], b[i]
        if ref is None or x is None or y is None:
            continue
        cells[0 if x == ref else 1, 0 if y == ref else 1] += 1
    both_right, only_a, only_b, both_wrong = (int(v) for v in cells.ravel())
    if cells.sum() == 0:
        return McNemar(0, 0, 0, 0, math.nan, math.nan, exact=True)
    discordant = only_a + only_b
    if discordant == 0:
        # No item separates the two: no evidence of a difference (statsmodels would divide by zero).
        return McNemar(both_right, only_a, only_b, both_wrong, 0.0, 1.0, exact=True)
    exact = discordant < EXACT_BELOW
    result = mcnemar(cells, exact=exact, correction=True)
    return McNemar(both_right, only_a, only_b, both_wrong, float(result.statistic), float(result.pvalue), exact)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order; NaN entries stay NaN and do not count."""
    from statsmodels.stats.multitest import multipletests

    values = [float(p) for p in p_values]
    finite = [i for i, p in enumerate(values) if math.isfinite(p)]
    out = [math.nan] * len(values)
    if finite:
        for p in (values[i] for i in finite):
            if not 0.0 <= p <= 1.0:
                raise StatisticsError(f"A p-value must lie between 0 and 1, got {p}.")
        adjusted = multipletests([values[i] for i in finite], method="holm")[1]
        for i, p in zip(finite, adjusted):
            out[i] = float(p)
    return out


def group_codes(groups: Sequence[object]) -> np.ndarray:
    """One integer id per item for the bootstrap's groups; items without a group id (None or NaN) are groups
    of their own."""
    return np.array(
        [hash(("group", g)) if g is not None and g == g else hash(("item", i)) for i, g in enumerate(groups)]
    )


def _codes(labels: Sequence[Label], level: str, order: Sequence[str] | None) -> np.ndarray:
    if level == "interval":
        return np.array([_numeric(v, None) for v in labels], dtype=float)
    assert order is not None
    index: dict[Label, int] = {label: k for k, label in enumerate(order)}
    try:
        return np.array([index[v] for v in labels], dtype=float)
    except KeyError as exc:
        raise StatisticsError(f"Label {exc.args[0]!r} is not in the label order {list(order)}.") from None


def compare_conditions(
    reference: Sequence[Label],
    labels: Mapping[str, Sequence[Label]],
    *,
    level: str,
    order: Sequence[str] | None = None,
    statistic: str = "cohen_kappa",
    groups: Sequence[object] | None = None,
    baseline: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> tuple[PairedDifference, ...]:
    """Compare conditions pairwise on their agreement with ``reference`` (e.g. the expert consensus).

    ``labels`` maps each condition's name to one label per item (aligned with ``reference``). With
    ``baseline`` every other condition is compared with it (``a`` = the condition, ``b`` = baseline);
    without, every pair in the mapping's order. ``statistic`` is one the bootstrap knows (``accuracy``,
    ``cohen_kappa``, ``krippendorff_alpha``, ``gwet_ac1``, ``quadratic_weighted_kappa``...). ``groups``
    (one id per item, ``None`` = a group of its own) makes the bootstrap resample whole groups.
    ``n_resamples=0`` gives no interval and no bootstrap p-value (only McNemar). ``order`` is the label
    order (required for nominal/ordinal; it must contain every label, the reference's included).
    """
    if level not in LEVELS:  # narrows level to Level
        raise StatisticsError(f"Unknown level {level!r}; use nominal, ordinal or interval.")
    if level != "interval" and not order:
        raise StatisticsError("Comparing nominal or ordinal labels needs the label order (e.g. the task's labels).")
    if baseline is not None and baseline not in labels:
        raise StatisticsError(f"The baseline {baseline!r} is not one of the conditions: {', '.join(labels)}.")
    n = _check_lengths(reference=reference, groups=groups, **{f"condition {k!r}": v for k, v in labels.items()})
    if baseline is not None:
        pairs = [(name, baseline) for name in labels if name != baseline]
    else:
        pairs = list(itertools.combinations(labels, 2))
    group_ids = None if groups is None else group_codes(groups)
    raw: list[dict[str, Any]] = []
    for name_a, name_b in pairs:
        a, b = labels[name_a], labels[name_b]
        keep = [i for i in range(n) if reference[i] is not None and a[i] is not None and b[i] is not None]
        mc = mcnemar_correctness(reference, a, b)
        entry: dict[str, Any] = dict(
            a=name_a, b=name_b, statistic=statistic, n_items=len(keep), n_excluded=n - len(keep), mcnemar=mc
        )
        value_a = value_b = difference = math.nan
        interval = None
        boot_p = math.nan
        if keep:
            ref_c = _codes([reference[i] for i in keep], level, order)
            a_c = _codes([a[i] for i in keep], level, order)
            b_c = _codes([b[i] for i in keep], level, order)
            g = None if group_ids is None else group_ids[keep]
            n_labels = None if level == "interval" else len(order or ())
            value_a = statistic_value(ref_c, a_c, level=level, n_labels=n_labels, statistic=statistic)
            value_b = statistic_value(ref_c, b_c, level=level, n_labels=n_labels, statistic=statistic)
            difference = value_a - value_b if math.isfinite(value_a) and math.isfinite(value_b) else math.nan
            if n_resamples:
                interval = paired_bootstrap_difference(
                    ref_c,
                    a_c,
                    b_c,
                    level=level,
                    n_labels=n_labels,
                    statistic=statistic,
                    groups=g,
                    n_resamples=n_resamples,
                    level_ci=ci_level,
                    seed=seed,
                )
                boot_p = interval.p_value if interval.p_value is not None else math.nan
        if statistic == "accuracy":
            p_value, test = mc.p_value, "mcnemar" + (" (exact)" if mc.exact else " (chi-square)")
        else:
            p_value, test = boot_p, "paired bootstrap"
        entry.update(
            value_a=value_a, value_b=value_b, difference=difference, interval=interval, p_value=p_value, test=test
        )
        raw.append(entry)
    adjusted = holm([e["p_value"] for e in raw])
    return tuple(PairedDifference(**e, p_holm=p) for e, p in zip(raw, adjusted))
