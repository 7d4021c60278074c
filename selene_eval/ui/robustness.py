"""The Robustness page's pieces: tidy frames for the charts (pure) and the Streamlit sections that show them."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from selene_eval import charts
from selene_eval.backends.base import JudgeSpec
from selene_eval.report import JudgeRobustness, StudyReport
from selene_eval.store.studies import Study
from selene_eval.ui.results import show_chart, table_for
from selene_eval.ui.state import keep_valid
from selene_eval.ui.text import METRIC_NAMES, md_escape


HEATMAP_ITEMS = 60


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
        rows.append({
            "condition": name, "axis": measures.axis_of.get(name, ""), "value": value,
            "low": interval.low if interval else math.nan, "high": interval.high if interval else math.nan,
            "baseline": name == measures.baseline,
        })
    return pd.DataFrame(rows, columns=["condition", "axis", "value", "low", "high", "baseline"])


def expert_band(report: StudyReport, robust: JudgeRobustness, metric: str) -> tuple[float, float] | None:
    """The range of ``metric`` between pairs of experts (the baseline's ceiling), when it is measured there."""
    result = next((r for r in report.results if r.judge_id == robust.judge_id
                   and r.variant_id == robust.measures.baseline), None)
    ceiling = result.agreement.ceiling if result and result.agreement else None
    if ceiling is None or metric not in ("accuracy", "cohen_kappa", "krippendorff_alpha"):
        return None
    values = [getattr(p, metric) for p in ceiling.expert_pairs if math.isfinite(getattr(p, metric))]
    return (min(values), max(values)) if values else None


def heatmap_frame(tables: dict[str, pd.DataFrame], reference: list[str | None]) -> pd.DataFrame:
    """Rows (item, condition, label, expert, instability) for :func:`charts.items_heatmap`.

    ``tables``: condition -> :func:`~selene_eval.report.judgment_table` (same item order);
    ``reference``: the experts' label per item. Instability = distinct labels the item got across conditions.
    """
    rows = []
    names = list(tables)
    if not names:
        return pd.DataFrame(columns=["item", "condition", "label", "expert", "instability"])
    ids = list(tables[names[0]]["item_id"])
    for i, item in enumerate(ids):
        labels = [tables[n]["judge_label"].iloc[i] for n in names]
        distinct = len({v for v in labels if v is not None and v == v})
        for name, label in zip(names, labels):
            rows.append({"item": item, "condition": name, "label": label,
                         "expert": reference[i] if i < len(reference) else None, "instability": distinct})
    return pd.DataFrame(rows)


def flips_frame(robust: JudgeRobustness) -> pd.DataFrame:
    """Rows ``a``, ``b``, ``rate``, ``n_flipped``, ``toward``, ``away`` of every pair of conditions."""
    return pd.DataFrame(
        [{"a": f.a, "b": f.b, "rate": _nan(f.flips.rate), "n_flipped": f.flips.n_flipped,
          "toward": f.flips.n_toward_reference, "away": f.flips.n_away_from_reference}
         for f in robust.measures.flips],
        columns=["a", "b", "rate", "n_flipped", "toward", "away"],
    )


def axes_frame(robust: JudgeRobustness) -> pd.DataFrame:
    """One row per axis for :func:`charts.axis_summary_chart`."""
    return pd.DataFrame(
        [{"axis": a.axis, "n_variants": len(a.conditions), "mean_abs_difference": _nan(a.mean_abs_difference),
          "max_abs_difference": _nan(a.max_abs_difference), "mean_flip_rate": _nan(a.mean_flip_rate),
          "significant": a.n_significant} for a in robust.measures.axes],
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
        rows.append({
            "Prompt variant": name,
            "Axis": m.axis_of.get(name, ""),
            METRIC_NAMES.get(m.statistic, m.statistic): m.values.get(name, math.nan),
            "Change vs canonical": c.difference if c else math.nan,
            "Interval": (f"{c.interval.low:.2f} to {c.interval.high:.2f}" if c and c.interval
                         and math.isfinite(c.interval.low) else ""),
            "p (bootstrap, Holm)": c.p_holm if c else math.nan,
            "p (McNemar, Holm)": t.p_holm if t else math.nan,
            "Flip rate vs canonical": f.rate if f else math.nan,
            "Flips towards experts": f.n_toward_reference if f else 0,
            "Flips away from experts": f.n_away_from_reference if f else 0,
            "Unparseable": u.rate if u else math.nan,
        })
    return pd.DataFrame(rows)


def summary(robust: JudgeRobustness, report: StudyReport) -> None:
    """The headline numbers: self-agreement beside the experts', spread, the most unstable axis."""
    m = robust.measures
    stat = METRIC_NAMES.get(m.statistic, m.statistic)
    main = next((s for s in m.spreads if s.statistic == m.statistic), None)
    cols = st.columns(3)
    cols[0].metric("Judge vs itself across variants (alpha)", f"{m.self_agreement.alpha:.2f}"
                   if math.isfinite(m.self_agreement.alpha) else "n/a",
                   help="Krippendorff's alpha with the prompt variants as raters: 1 means the verdicts never change.")
    ref = m.reference_alpha
    cols[1].metric("Experts among themselves (alpha)", f"{ref:.2f}" if ref is not None and math.isfinite(ref) else "n/a")
    cols[2].metric(f"Spread of {stat} (max - min)",
                   f"{main.range:.2f}" if main and math.isfinite(main.range) else "n/a",
                   help=f"SD {main.sd:.3f} across {main.n_conditions} variants" if main and math.isfinite(main.sd) else None)


def position_section(robust: JudgeRobustness) -> None:
    """Position consistency of each pairwise variant and its swapped twin."""
    rows = [p.to_dict() for p in robust.measures.position]
    if not rows:
        return
    st.subheader("Position swap (A/B and B/A)")
    st.markdown("Each item judged in both orders. **Consistent**: the same response wins in both. When the "
                "winner changes, the judge picked the same *slot* twice: that is position bias.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def item_reasoning(study: Study, judge: JudgeSpec, robust: JudgeRobustness, items: list[str]) -> None:
    """A selectbox of items (most unstable first); each variant's label and reasoning for the chosen item."""
    if not items:
        return
    keep_valid("robust_item", items)
    item = st.selectbox("Read each variant's reasoning for item", items, key="robust_item",
                        help="Items are listed most unstable first (the most distinct labels across variants).")
    rows = []
    for name in robust.measures.conditions:
        table = table_for(study, judge, name)
        hit = table[table["item_id"] == item]
        if len(hit):
            row = hit.iloc[0]
            rows.append({"Variant": name, "Label": row["judge_label"], "Status": row["judge_status"],
                         "Reasoning": row["judge_reasoning"]})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def show(study: Study, report: StudyReport, judges: dict[str, JudgeSpec], robust: JudgeRobustness, metric: str) -> None:
    """Every robustness chart and table for one judge."""
    m = robust.measures
    judge = judges.get(robust.judge_id)
    summary(robust, report)
    st.caption(f"Canonical variant (baseline): {md_escape(m.baseline)} · {len(m.conditions)} variants on "
               f"{len(set(m.axis_of.values()) - {'canonical'})} axes · {m.n_items} items.")
    stat = METRIC_NAMES.get(metric, metric)
    band = expert_band(report, robust, metric)
    show_chart(charts.forest_plot(forest_frame(report, robust, metric), metric_title=stat,
                                  band=band, band_title="Expert vs expert"))
    if band is not None:
        st.caption(f"Grey band: {stat} between pairs of experts ({band[0]:.2f} to {band[1]:.2f}), the "
                   "agreement a judge would need to label like one more expert.")
    st.subheader("Each variant against the canonical one")
    st.dataframe(variants_table(robust), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                (METRIC_NAMES.get(m.statistic, m.statistic), "Change vs canonical",
                                 "p (bootstrap, Holm)", "p (McNemar, Holm)", "Flip rate vs canonical", "Unparseable")})
    if m.axes:
        show_chart(charts.axis_summary_chart(axes_frame(robust), metric_title=METRIC_NAMES.get(m.statistic, m.statistic)))
    if m.flips:
        show_chart(charts.flip_matrix_chart(flips_frame(robust)))
    position_section(robust)
    if judge is not None:
        st.subheader("Item by item")
        tables = {name: table_for(study, judge, name) for name in m.conditions}
        reference = _reference(report, tables)
        frame = heatmap_frame(tables, reference)
        ranked = (frame.groupby("item", sort=False)["instability"].max()
                  .sort_values(ascending=False, kind="stable").index.tolist())
        # A row per item stays readable up to a few dozen: show the most unstable ones.
        shown = ranked[:HEATMAP_ITEMS]
        if len(ranked) > HEATMAP_ITEMS:
            st.caption(f"The {HEATMAP_ITEMS} most unstable of {len(ranked):,} items.")
        show_chart(charts.items_heatmap(frame[frame["item"].isin(shown)],
                                        labels=list(study.spec.task.expert_labels)))
        item_reasoning(study, judge, robust, ranked)


def _reference(report: StudyReport, tables: dict[str, pd.DataFrame]) -> list[str | None]:
    from selene_eval.metrics import consensus
    from selene_eval.report import expert_columns

    first = next(iter(tables.values()))
    experts = expert_columns(first)
    if not experts:
        return [None] * len(first)
    values = consensus(first[experts], report.level, order=None if report.level == "interval" else
                       list(dict.fromkeys([*report.expert_label_counts]))).values
    return [None if v is None or v != v else str(v) for v in values]
