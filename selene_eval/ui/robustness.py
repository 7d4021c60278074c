"""The Robustness page's pieces: tidy frames for the charts (pure) and the Streamlit sections that show them."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.status import NOT_JUDGED, JudgmentStatus
from selene_eval.presentation import charts
from selene_eval.presentation.report import JudgeRobustness, StudyReport
from selene_eval.results.table import expert_consensus
from selene_eval.stats.registry import statistic_name
from selene_eval.study.store import Study
from selene_eval.ui.results import show_chart, table_for
from selene_eval.ui.state import keep_valid
from selene_eval.ui.text import METRIC_NAMES, fmt_share, fmt_stat, md_escape, plural
from selene_eval.ui.views import STATUS_NAMES

HEATMAP_ITEMS = 60
UNREADABLE_CELL = "unreadable"
NOT_JUDGED_CELL = "not judged"
"""How the item heatmap labels a cell without a judge label: an answer without a readable label, or no answer."""


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def forest_frame(report: StudyReport, robust: JudgeRobustness, metric: str) -> pd.DataFrame:
    """Rows ``condition``, ``axis``, ``value``, ``low``, ``high``, ``baseline`` for :func:`charts.forest_plot`."""
    measures = robust.measures
    own = {r.variant_id: r for r in report.results if r.judge_id == robust.judge_id}
    rows = []
    for name in measures.conditions:
        result = own.get(name)
        a = result.agreement if result else None
        value = {**a.metrics, **a.extra_metrics}.get(metric, math.nan) if a else math.nan
        interval = a.intervals.get(metric) if a else None
        rows.append(
            {
                "condition": name,
                "axis": measures.axis_of.get(name, ""),
                "value": value,
                "low": interval.low if interval else math.nan,
                "high": interval.high if interval else math.nan,
                "baseline": name == measures.baseline,
            }
        )
    return pd.DataFrame(rows, columns=["condition", "axis", "value", "low", "high", "baseline"])


def expert_band(report: StudyReport, robust: JudgeRobustness, metric: str) -> tuple[float, float] | None:
    """The range of ``metric`` between pairs of experts (the baseline's ceiling), when it is measured there."""
    result = next(
        (r for r in report.results if r.judge_id == robust.judge_id and r.variant_id == robust.measures.baseline), None
    )
    ceiling = result.agreement.ceiling if result and result.agreement else None
    if ceiling is None or metric not in ("accuracy", "cohen_kappa", "krippendorff_alpha"):
        return None
    values = [getattr(p, metric) for p in ceiling.expert_pairs if math.isfinite(getattr(p, metric))]
    return (min(values), max(values)) if values else None


def heatmap_frame(tables: dict[str, pd.DataFrame], reference: list[str | None]) -> pd.DataFrame:
    """Rows (item, condition, label, expert, instability) for :func:`charts.items_heatmap`, judged items only.

    ``tables``: condition -> :func:`~selene_eval.results.table.judgment_table` (same item order);
    ``reference``: the experts' label per item. Instability = distinct labels the item got across conditions.
    An item judged under no condition is left out (a pilot of 20 items of 4,507 draws 20 rows); a cell
    without a label says why: :data:`UNREADABLE_CELL` or :data:`NOT_JUDGED_CELL` (judged under other variants).
    """
    rows = []
    names = list(tables)
    if not names:
        return pd.DataFrame(columns=["item", "condition", "label", "expert", "instability"])
    ids = list(tables[names[0]]["item_id"])
    has_status = all("judge_status" in tables[n].columns for n in names)
    for i, item in enumerate(ids):
        labels = [tables[n]["judge_label"].iloc[i] for n in names]
        statuses = (
            [tables[n]["judge_status"].iloc[i] for n in names] if has_status else [JudgmentStatus.OK.value] * len(names)
        )
        if all(status in NOT_JUDGED for status in statuses):
            continue
        distinct = len({v for v in labels if v is not None and v == v})
        for name, label, status in zip(names, labels, statuses):
            if label is None or label != label:
                label = NOT_JUDGED_CELL if status in NOT_JUDGED else UNREADABLE_CELL if has_status else None
            rows.append(
                {
                    "item": item,
                    "condition": name,
                    "label": label,
                    "expert": reference[i] if i < len(reference) else None,
                    "instability": distinct,
                }
            )
    return pd.DataFrame(rows, columns=["item", "condition", "label", "expert", "instability"])


def coverage_caption(robust: JudgeRobustness) -> str:
    """How many of the study's items the robustness figures rest on: judged under every variant, under some
    only, never (left out)."""
    m = robust.measures
    variants = plural(len(m.conditions), "variant")
    if m.n_judged_all is None or m.n_judged_any is None:
        return f"{plural(m.n_items, 'item')} × {variants}."
    every = "both variants" if len(m.conditions) == 2 else f"all {variants}"
    parts = [f"{plural(m.n_judged_all, 'item')} judged under {every}"]
    if m.n_judged_any > m.n_judged_all:
        parts.append(f"{m.n_judged_any - m.n_judged_all:,} more under some of them only")
    never = m.n_items - m.n_judged_any
    if never:
        parts.append(
            f"{never:,} of the study's {m.n_items:,} items not judged yet (left out: run them to include them)"
        )
    return "; ".join(parts) + "."


def missing_from_plot(report: StudyReport, robust: JudgeRobustness, metric: str) -> list[str]:
    """One line per variant the forest plot cannot draw for ``metric``, saying why (never dropped silently)."""
    own = {r.variant_id: r for r in report.results if r.judge_id == robust.judge_id}
    bad = {u.condition: u for u in robust.measures.unparseable}
    out = []
    for name in robust.measures.conditions:
        result = own.get(name)
        a = result.agreement if result else None
        value = {**a.metrics, **a.extra_metrics}.get(metric, math.nan) if a else math.nan
        if value is not None and math.isfinite(value):
            continue
        u = bad.get(name)
        if u is not None and u.n_judged and u.n_unparseable == u.n_judged:
            why = f"all {plural(u.n_judged, 'answer')} had no readable label"
        elif a is not None and a.reason(metric):
            why = f"{statistic_name(metric)} is undefined: {a.reason(metric)}"
        else:
            why = "no judged item"
        out.append(f"{name}: {why}")
    return out


def flips_frame(robust: JudgeRobustness) -> pd.DataFrame:
    """Rows ``a``, ``b``, ``rate``, ``n_flipped``, ``toward``, ``away`` of every pair of conditions."""
    return pd.DataFrame(
        [
            {
                "a": f.a,
                "b": f.b,
                "rate": _nan(f.flips.rate),
                "n_flipped": f.flips.n_flipped,
                "toward": f.flips.n_toward_reference,
                "away": f.flips.n_away_from_reference,
            }
            for f in robust.measures.flips
        ],
        columns=["a", "b", "rate", "n_flipped", "toward", "away"],
    )


def axes_frame(robust: JudgeRobustness) -> pd.DataFrame:
    """One row per axis for :func:`charts.axis_summary_chart`."""
    return pd.DataFrame(
        [
            {
                "axis": a.axis,
                "n_variants": len(a.conditions),
                "mean_abs_difference": _nan(a.mean_abs_difference),
                "max_abs_difference": _nan(a.max_abs_difference),
                "mean_flip_rate": _nan(a.mean_flip_rate),
                "significant": a.n_significant,
            }
            for a in robust.measures.axes
        ],
        columns=["axis", "n_variants", "mean_abs_difference", "max_abs_difference", "mean_flip_rate", "significant"],
    )


def variants_table(robust: JudgeRobustness) -> pd.DataFrame:
    """Per variant: the statistic, its change vs canonical with interval and Holm p, McNemar, flips, unparseable."""
    m = robust.measures
    comp = {c.a: c for c in m.comparisons}
    acc = {c.a: c for c in m.accuracy_tests}
    flips = {f.b: f.flips for f in m.flips_vs_baseline}
    bad = {u.condition: u for u in m.unparseable}
    rows = []
    for name in m.conditions:
        c, t, f, u = comp.get(name), acc.get(name), flips.get(name), bad.get(name)
        rows.append(
            {
                "Prompt variant": name,
                "Axis": m.axis_of.get(name, ""),
                METRIC_NAMES.get(m.statistic, m.statistic): m.values.get(name, math.nan),
                "Change vs canonical": c.difference if c else math.nan,
                "Interval": (
                    f"{c.interval.low:.2f} to {c.interval.high:.2f}"
                    if c and c.interval and math.isfinite(c.interval.low)
                    else ""
                ),
                "p (bootstrap, Holm)": c.p_holm if c else math.nan,
                "p (McNemar, Holm)": t.p_holm if t else math.nan,
                "Flip rate vs canonical": f.rate if f else math.nan,
                "Flips towards experts": f.n_toward_reference if f else 0,
                "Flips away from experts": f.n_away_from_reference if f else 0,
                "Unreadable": u.rate if u else math.nan,
            }
        )
    return pd.DataFrame(rows)


def variants_text(frame: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """:func:`variants_table` as shown: figures as text, ``n/a`` where undefined (never an empty or NaN cell),
    the baseline's comparisons with itself as "baseline", shares as percentages."""
    against_baseline = ("Change vs canonical", "p (bootstrap, Holm)", "p (McNemar, Holm)", "Flip rate vs canonical")
    out = frame.copy().astype(object)
    is_base = out["Prompt variant"] == baseline
    for column in out.columns:
        if column in ("Prompt variant", "Axis", "Interval", "Flips towards experts", "Flips away from experts"):
            continue
        share = column in ("Flip rate vs canonical", "Unreadable")
        out[column] = [fmt_share(v) if share else fmt_stat(v) for v in frame[column]]
        if column in against_baseline:
            out.loc[is_base, column] = "baseline"
    out.loc[is_base, "Interval"] = ""
    return out


def summary(robust: JudgeRobustness, report: StudyReport) -> None:
    """The headline numbers: self-agreement beside the experts', spread, the most unstable axis."""
    m = robust.measures
    stat = METRIC_NAMES.get(m.statistic, m.statistic)
    main = next((s for s in m.spreads if s.statistic == m.statistic), None)
    cols = st.columns(3)
    cols[0].metric(
        "Judge vs itself across variants (alpha)",
        f"{m.self_agreement.alpha:.2f}" if math.isfinite(m.self_agreement.alpha) else "n/a",
        help="Krippendorff's alpha with the prompt variants as raters: 1 means the verdicts never change.",
    )
    ref = m.reference_alpha
    cols[1].metric(
        "Experts among themselves (alpha)", f"{ref:.2f}" if ref is not None and math.isfinite(ref) else "n/a"
    )
    cols[2].metric(
        f"Spread of {stat} (max - min)",
        f"{main.range:.2f}" if main and math.isfinite(main.range) else "n/a",
        help=f"SD {main.sd:.3f} across {main.n_conditions} variants" if main and math.isfinite(main.sd) else None,
    )


def position_section(robust: JudgeRobustness) -> None:
    """Position consistency of each pairwise variant and its swapped twin."""
    rows = [p.to_dict() for p in robust.measures.position]
    if not rows:
        return
    # Undefined figures (no item with a reference, ...) read n/a, never None.
    frame = pd.DataFrame(rows).astype(object)
    frame = frame.where(frame.notna(), "n/a")
    st.subheader("Position swap (A/B and B/A)")
    st.markdown(
        "Each item judged in both orders. **Consistent**: the same response wins in both. When the "
        "winner changes, the judge picked the same *slot* twice: that is position bias."
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def item_reasoning(study: Study, judge: JudgeSpec, robust: JudgeRobustness, items: list[str]) -> None:
    """A selectbox of items (most unstable first); each variant's label and reasoning for the chosen item."""
    if not items:
        return
    keep_valid("robust_item", items)
    item = st.selectbox(
        "Read each variant's reasoning for item",
        items,
        key="robust_item",
        help="Items are listed most unstable first (the most distinct labels across variants).",
    )
    rows = []
    for name in robust.measures.conditions:
        table = table_for(study, judge, name)
        hit = table[table["item_id"] == item]
        if len(hit):
            row = hit.iloc[0]
            status = row["judge_status"]
            label = row["judge_label"]
            rows.append(
                {
                    "Variant": name,
                    "Label": label
                    if isinstance(label, str)
                    else NOT_JUDGED_CELL
                    if status in NOT_JUDGED
                    else UNREADABLE_CELL,
                    "Status": STATUS_NAMES.get(status, status),
                    "Reasoning": row["judge_reasoning"] if isinstance(row["judge_reasoning"], str) else "",
                }
            )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def show(study: Study, report: StudyReport, judges: dict[str, JudgeSpec], robust: JudgeRobustness, metric: str) -> None:
    """Every robustness chart and table for one judge."""
    m = robust.measures
    judge = judges.get(robust.judge_id)
    summary(robust, report)
    axes = len(set(m.axis_of.values()) - {"canonical"})
    st.caption(
        f"Canonical variant (baseline): {md_escape(m.baseline)} · {plural(len(m.conditions), 'variant')} on "
        f"{plural(axes, 'axis', 'axes')} · {md_escape(coverage_caption(robust))}"
    )
    stat = statistic_name(metric)
    band = expert_band(report, robust, metric)
    missing = missing_from_plot(report, robust, metric)
    if len(missing) < len(m.conditions):
        show_chart(
            charts.forest_plot(
                forest_frame(report, robust, metric), metric_title=stat, band=band, band_title="Expert vs expert"
            )
        )
    if missing:
        lines = "\n".join(f"- {md_escape(line)}" for line in missing)
        st.warning(f"Not in the plot ({stat} is n/a):\n{lines}", icon=":material/visibility_off:")
    if band is not None:
        between = (
            f"between the experts ({band[0]:.2f})"
            if f"{band[0]:.2f}" == f"{band[1]:.2f}"
            else f"between pairs of experts ({band[0]:.2f} to {band[1]:.2f})"
        )
        st.caption(f"Grey band: {stat} {between}, the agreement a judge would need to label like one more expert.")
    st.subheader("Each variant against the canonical one")
    st.dataframe(
        variants_text(variants_table(robust), m.baseline),
        hide_index=True,
        width="stretch",
        column_config={
            "Unreadable": st.column_config.TextColumn(
                help="Share of the variant's judged items whose answer had no readable label."
            )
        },
    )
    if m.axes:
        show_chart(
            charts.axis_summary_chart(axes_frame(robust), metric_title=METRIC_NAMES.get(m.statistic, m.statistic))
        )
    if m.flips:
        show_chart(charts.flip_matrix_chart(flips_frame(robust)))
    position_section(robust)
    if judge is not None:
        st.subheader("Item by item")
        tables = {name: table_for(study, judge, name) for name in m.conditions}
        reference = expert_consensus(next(iter(tables.values())), study.spec.task)
        frame = heatmap_frame(tables, reference)
        ranked = (
            frame.groupby("item", sort=False)["instability"]
            .max()
            .sort_values(ascending=False, kind="stable")
            .index.tolist()
        )
        if not ranked:
            st.info("No item is judged yet under these variants.", icon=":material/info:")
            return
        # A row per item stays readable up to a few dozen: show the most unstable ones.
        shown = ranked[:HEATMAP_ITEMS]
        never = len(next(iter(tables.values()))) - len(ranked)
        st.caption(
            (
                f"The {HEATMAP_ITEMS} most unstable of the {plural(len(ranked), 'judged item')}."
                if len(ranked) > HEATMAP_ITEMS
                else f"Every judged item ({len(ranked):,})."
            )
            + (
                f" {plural(never, 'item')} not judged under any variant {'is' if never == 1 else 'are'} left out."
                if never
                else ""
            )
            + f" Grey cells: '{UNREADABLE_CELL}' (an answer without a readable label) or '{NOT_JUDGED_CELL}' (not run "
            "under that variant yet)."
        )
        show_chart(charts.items_heatmap(frame[frame["item"].isin(shown)], labels=list(study.spec.task.expert_labels)))
        item_reasoning(study, judge, robust, ranked)
