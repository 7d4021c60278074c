"""The one registry of the agreement statistics: one record per statistic, every other table derived from it.

A record names the statistic (its key in results and JSON, its words on each surface), says at which
measurement levels it is computed and in which role (a headline metric of :class:`~selene_eval.stats.
agreement.AgreementReport` or an extra one, its order there, a default of the bootstrap, the statistic a
level's comparisons and plans use), and points to its two implementations: the *point* function on the
compared pairs and the *bootstrap* form, a method of :class:`selene_eval.stats.uncertainty._Batch` that
evaluates it on rows of item weights (weights of 1 give the point value).

Light on purpose: the dashboard's first page names statistics without loading scipy, so this module imports
nothing heavy; the implementations are referenced as ``"module:attribute"`` strings and imported when asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selene_eval.core.tasks import Level  # light: the measurement levels, one definition for the package

_LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")
_ALL: tuple[Level, ...] = _LEVELS
_ORDERED: tuple[Level, ...] = ("ordinal", "interval")
_LABELLED: tuple[Level, ...] = ("nominal", "ordinal")

_POINT = "selene_eval.stats.pairs"  # the point functions on the compared (consensus, judge) pairs
_BATCH = "selene_eval.stats.uncertainty:_Batch"  # the vectorised weighted forms

_NO_VARIATION = "both raters give one and the same label on every item (expected disagreement is 0)"
_CONSTANT = "at least one rater is constant on the items"
_ICC_UNDEFINED = "there are fewer than 2 items, or the values vary neither between nor within items (0/0)"


@dataclass(frozen=True)
class Statistic:
    """One agreement statistic and everything the package says or does with it.

    ``name`` is the statistic in words for notes, tables, the CLI and the dashboard; ``report_name`` the
    words of the HTML report where they differ (``None``: the same as ``name``); ``help`` the dashboard's
    one-line explanation. ``levels``: where it may be computed (and bootstrapped); ``headline`` /
    ``extra``: where it is one of the report's ``metrics`` / ``extra_metrics`` (extras in ``extra_rank``
    order); ``bootstrap_default``: where :func:`~selene_eval.stats.uncertainty.bootstrap_intervals` computes
    it when no statistic is named; ``primary``: where judges, variants and robustness are compared on it;
    ``planning``: where the sample-size plan is made for it; ``chart``: where the per-variant charts show it.
    ``point`` / ``bootstrap``: ``"module:attribute"`` of the point function
    (``f(expert, judge, level, n_labels) -> (value, reason)``) and of the ``_Batch`` method;
    ``undefined``: why the bootstrap form can be undefined, in words.
    """

    key: str
    name: str
    report_name: str | None = None
    help: str | None = None
    levels: tuple[Level, ...] = ()
    headline: tuple[Level, ...] = ()
    extra: tuple[Level, ...] = ()
    extra_rank: int = 0
    bootstrap_default: tuple[Level, ...] = ()
    primary: tuple[Level, ...] = ()
    planning: tuple[Level, ...] = ()
    chart: tuple[Level, ...] = ()
    point: str | None = None
    bootstrap: str | None = None
    undefined: str = ""

    @property
    def words(self) -> str:
        """The HTML report's words for the statistic."""
        return self.report_name or self.name

    def point_function(self) -> Callable[..., tuple[float, str | None]]:
        """The point function (imported on first use: it needs scipy / scikit-learn)."""
        if self.point is None:
            raise KeyError(f"{self.key} has no point function on judge-vs-consensus pairs")
        return _resolve(self.point)

    def bootstrap_method(self) -> Callable[..., Any]:
        """The unbound ``_Batch`` method that evaluates the statistic on rows of weights."""
        if self.bootstrap is None:
            raise KeyError(f"{self.key} has no bootstrap form")
        return _resolve(self.bootstrap)


def _resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def _two_rater(key: str, name: str, **fields: Any) -> Statistic:
    """A judge-vs-consensus statistic: point function ``pairs.<key>``, bootstrap form ``_Batch.<key>``."""
    return Statistic(key, name, point=f"{_POINT}:{key}", bootstrap=f"{_BATCH}.{key}", **fields)


REGISTRY: tuple[Statistic, ...] = (
    _two_rater(
        "accuracy",
        "Accuracy",
        help="Share of items where the judge gave the experts' majority label.",
        levels=_ALL,
        headline=_ALL,
        bootstrap_default=_ALL,
        undefined="there are no items",
    ),
    _two_rater(
        "cohen_kappa",
        "Cohen's kappa",
        help="Agreement corrected for chance: 1 is perfect, 0 is what guessing would give.",
        levels=_LABELLED,
        headline=_LABELLED,
        bootstrap_default=_LABELLED,
        primary=("nominal",),
        planning=("nominal",),
        chart=("nominal",),
        undefined=_NO_VARIATION,
    ),
    _two_rater(
        "linear_weighted_kappa",
        "Weighted kappa (linear)",
        levels=("ordinal",),
        extra=("ordinal",),
        extra_rank=1,
        bootstrap_default=("ordinal",),
        undefined=_NO_VARIATION,
    ),
    _two_rater(
        "quadratic_weighted_kappa",
        "Weighted kappa (quadratic)",
        help="Kappa where a near miss (4 vs 5) costs far less than a far one (1 vs 5).",
        levels=("ordinal",),
        headline=("ordinal",),
        bootstrap_default=("ordinal",),
        primary=("ordinal",),
        planning=("ordinal",),
        undefined=_NO_VARIATION,
    ),
    _two_rater(
        "krippendorff_alpha",
        "Krippendorff's alpha",
        help="Chance-corrected agreement between the judge and the experts' majority label.",
        levels=_ALL,
        headline=_ALL,
        bootstrap_default=_ALL,
        primary=("interval",),
        chart=_ORDERED,
        undefined="all labels of both raters are one and the same value (no variation)",
    ),
    _two_rater(
        "gwet_ac1",
        "Gwet's AC1",
        levels=_LABELLED,
        extra=_LABELLED,
        extra_rank=0,
        bootstrap_default=_LABELLED,
        undefined="the scale has fewer than 2 labels",
    ),
    _two_rater(
        "spearman",
        "Spearman's rho",
        help="Rank correlation between the judge's and the experts' scores.",
        levels=_ORDERED,
        headline=_ORDERED,
        bootstrap_default=_ORDERED,
        undefined=_CONSTANT,
    ),
    _two_rater(
        "kendall_tau",
        "Kendall's tau",
        report_name="Kendall's tau-b",
        help="Rank correlation (tau-b) between the judge's and the experts' scores.",
        levels=_ORDERED,
        headline=_ORDERED,
        bootstrap_default=_ORDERED,
        undefined=_CONSTANT,
    ),
    _two_rater(
        "pearson",
        "Pearson's r",
        help="Linear correlation between the judge's and the experts' scores.",
        levels=_ORDERED,
        headline=_ORDERED,
        bootstrap_default=_ORDERED,
        undefined=_CONSTANT,
    ),
    # Ordinal MAE is in rank steps: it assumes equally spaced labels, which an ordinal scale does not
    # promise - an extra there, and left out of the ordinal bootstrap default.
    _two_rater(
        "mean_absolute_error",
        "Mean absolute error",
        help="Average distance between the judge's and the experts' scores.",
        levels=_ORDERED,
        headline=("interval",),
        extra=("ordinal",),
        extra_rank=2,
        bootstrap_default=("interval",),
        undefined="there are no items",
    ),
    # The ICCs treat judge and consensus as two raters; not in the interval bootstrap default.
    _two_rater(
        "icc_2_1",
        "ICC(2,1) absolute agreement",
        report_name="ICC(2,1)",
        levels=("interval",),
        extra=("interval",),
        extra_rank=0,
        planning=("interval",),
        undefined=_ICC_UNDEFINED,
    ),
    _two_rater(
        "icc_3_1",
        "ICC(3,1) consistency",
        report_name="ICC(3,1)",
        levels=("interval",),
        extra=("interval",),
        extra_rank=1,
        undefined=_ICC_UNDEFINED,
    ),
    # Among the experts only (the expert ceiling), never judge-vs-consensus.
    Statistic("fleiss_kappa", "Fleiss' kappa"),
)
"""Every statistic, in the order of :data:`STATISTICS` (the order ``bootstrap_intervals`` names them in)."""

BY_KEY: dict[str, Statistic] = {s.key: s for s in REGISTRY}


def statistic(key: str) -> Statistic:
    """The record of ``key``; :class:`KeyError` for an unknown key."""
    return BY_KEY[key]


def statistic_name(key: str) -> str:
    """The statistic ``key`` in words (``cohen_kappa`` -> ``Cohen's kappa``); unknown keys unchanged."""
    record = BY_KEY.get(key)
    return key if record is None else record.name


def report_words(key: str) -> str:
    """The HTML report's words for ``key`` (``Kendall's tau-b``); unknown keys unchanged."""
    record = BY_KEY.get(key)
    return key if record is None else record.words


def _keys(role: str, level: Level) -> tuple[str, ...]:
    return tuple(s.key for s in REGISTRY if level in getattr(s, role))


def _only(role: str, level: Level) -> str:
    (key,) = _keys(role, level)
    return key


# --- derived views (the tables the package used to spell out) ----------------------------------------------

STATISTICS: tuple[str, ...] = tuple(s.key for s in REGISTRY if s.bootstrap is not None)
"""Statistics the bootstrap can compute between two raters."""

METRICS: dict[Level, tuple[str, ...]] = {level: _keys("headline", level) for level in _LEVELS}
"""Headline metric keys per level, in report order (``AgreementReport.metrics``)."""

EXTRA_METRICS: dict[Level, tuple[str, ...]] = {
    level: tuple(sorted(_keys("extra", level), key=lambda k: BY_KEY[k].extra_rank)) for level in _LEVELS
}
"""Further judge-vs-consensus statistics per level (``AgreementReport.extra_metrics``), in report order."""

APPLICABLE: dict[Level, tuple[str, ...]] = {level: _keys("levels", level) for level in _LEVELS}
"""Statistics that may be asked for at each level."""

DEFAULT_STATISTICS: dict[Level, tuple[str, ...]] = {level: _keys("bootstrap_default", level) for level in _LEVELS}
"""What ``bootstrap_intervals`` computes when no statistic is named."""

PRIMARY_STATISTIC: dict[Level, str] = {level: _only("primary", level) for level in _LEVELS}
"""The statistic judges, prompt variants and robustness runs are compared on, per level."""

PLANNING_STATISTIC: dict[Level, str] = {level: _only("planning", level) for level in _LEVELS}
"""The statistic the sample-size plan is made for, per level."""

CHART_STATISTIC: dict[Level, str] = {level: _only("chart", level) for level in _LEVELS}
"""The statistic the per-variant charts show, per level."""

STATISTIC_NAMES: dict[str, str] = {s.key: s.name for s in REGISTRY}
"""Display name of each statistic key."""
