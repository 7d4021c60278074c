"""Altair charts for the dashboard and reports: a tidy DataFrame in, a chart out.

Every function here is pure (no ``st.*`` calls, no I/O): it checks that the frame has the columns it
needs, and returns an Altair chart whose data is embedded in the spec. Pages only display the result
(``st.altair_chart(chart, width="stretch")``); the HTML report can embed the same specs.

Input frames are *tidy*: one row per mark. Helpers in :mod:`selene_eval.ui.views` build them from the
core's result types.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

# Colours chosen to stay distinguishable for the common forms of colour blindness (Okabe-Ito).
JUDGE_COLOUR = "#0072B2"
EXPERT_COLOUR = "#E69F00"
ROW_STEP = 48
"""Height of one row (a label on the y axis) in pixels."""
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _require(frame: pd.DataFrame, columns: Sequence[str], chart: str) -> None:
    """Raise ``ValueError`` naming the columns ``frame`` lacks (a programming error, not a user one)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{chart} needs the columns {', '.join(missing)}; got {', '.join(map(str, frame.columns))}.")


def _order(values: pd.Series, order: Sequence[str] | None) -> list[str]:
    """``order`` followed by any values it does not list, in first-seen order."""
    seen = list(dict.fromkeys(str(v) for v in values))
    if order is None:
        return seen
    wanted = [str(v) for v in order]
    return wanted + [v for v in seen if v not in wanted]


def confusion_heatmap(frame: pd.DataFrame, *, labels: Sequence[str] | None = None) -> alt.LayerChart:
    """A confusion-matrix heatmap: rows are the expert consensus, columns the judge, cells the counts.

    ``frame`` has one row per cell with columns ``expert`` (consensus label), ``judge`` (judge label) and
    ``count``. ``labels`` fixes the order of both axes (the task's label order). Each cell also shows its
    share of the row (how the judge labelled the items the experts gave that label), in the tooltip.
    """
    _require(frame, ("expert", "judge", "count"), "confusion_heatmap")
    data = frame.loc[:, ["expert", "judge", "count"]].copy()
    data["expert"] = data["expert"].astype(str)
    data["judge"] = data["judge"].astype(str)
    data["count"] = data["count"].astype(int)
    row_totals = data.groupby("expert")["count"].transform("sum")
    data["row_share"] = (data["count"] / row_totals.where(row_totals > 0)).fillna(0.0).astype(float)
    data["agrees"] = data["expert"] == data["judge"]
    order = _order(pd.concat([data["expert"], data["judge"]]), labels)

    base = alt.Chart(data).encode(
        x=alt.X("judge:N", sort=order, title="Judge's label", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("expert:N", sort=order, title="Experts' majority label"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("count:Q", title="Items", scale=alt.Scale(scheme="blues")),
        tooltip=[
            alt.Tooltip("expert:N", title="Experts said"),
            alt.Tooltip("judge:N", title="Judge said"),
            alt.Tooltip("count:Q", title="Items"),
            alt.Tooltip("row_share:Q", title="Share of the experts' label", format=".0%"),
        ],
    )
    # Dark cells get white numbers, light cells black ones.
    threshold = float(data["count"].max()) / 2 if len(data) else 0.0
    numbers = base.mark_text(fontSize=14).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.count > threshold, alt.value("white"), alt.value("black")),
    )
    # Rows tall enough to read a count in each cell (a step per row: Streamlit keeps it); the width
    # follows the container.
    return alt.layer(cells, numbers).properties(
        title="Judge vs experts' majority", height=alt.Step(ROW_STEP)
    )


def label_distribution(frame: pd.DataFrame, *, labels: Sequence[str] | None = None) -> alt.Chart:
    """Side-by-side bars: how often each label was given, by the judge and by the experts.

    ``frame`` has one row per (source, label) with columns ``source`` (e.g. ``"Judge"``, ``"Experts"``),
    ``label`` and ``count``. The bars show the *share* of each source's labels, so that three experts'
    labels and one judge's labels compare fairly; the counts are in the tooltip.
    """
    _require(frame, ("source", "label", "count"), "label_distribution")
    data = frame.loc[:, ["source", "label", "count"]].copy()
    data["source"] = data["source"].astype(str)
    data["label"] = data["label"].astype(str)
    data["count"] = data["count"].astype(int)
    totals = data.groupby("source")["count"].transform("sum")
    data["share"] = (data["count"] / totals.where(totals > 0)).fillna(0.0).astype(float)
    label_order = _order(data["label"], labels)
    sources = list(dict.fromkeys(data["source"]))
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(sources))]
    if sources[:2] == ["Judge", "Experts"] or sources[:2] == ["Experts", "Judge"]:
        colours[sources.index("Judge")] = JUDGE_COLOUR
        colours[sources.index("Experts")] = EXPERT_COLOUR
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=label_order, title="Label", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("source:N", sort=sources),
            y=alt.Y("share:Q", title="Share of labels", axis=alt.Axis(format="%")),
            color=alt.Color("source:N", sort=sources, title="Who", scale=alt.Scale(domain=sources, range=colours)),
            tooltip=[
                alt.Tooltip("source:N", title="Who"),
                alt.Tooltip("label:N", title="Label"),
                alt.Tooltip("count:Q", title="Count"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(title="How often each label was given")
    )


def variant_dots(frame: pd.DataFrame, *, metric_title: str) -> alt.Chart:
    """A dot chart of one agreement statistic per prompt variant (rows) and judge (colour).

    ``frame`` has columns ``variant``, ``judge`` and ``value`` (``NaN`` rows are dropped: the statistic is
    undefined there), optionally ``n_compared`` (shown in the tooltip). ``metric_title`` names the
    statistic on the axis, e.g. ``"Cohen's kappa"``.
    """
    _require(frame, ("variant", "judge", "value"), "variant_dots")
    columns = ["variant", "judge", "value"] + (["n_compared"] if "n_compared" in frame.columns else [])
    data = frame.loc[:, columns].copy()
    data["value"] = pd.to_numeric(data["value"], errors="coerce").astype(float)
    data = data[data["value"].notna()].reset_index(drop=True)
    data["variant"] = data["variant"].astype(str)
    data["judge"] = data["judge"].astype(str)
    tooltip = [
        alt.Tooltip("variant:N", title="Prompt variant"),
        alt.Tooltip("judge:N", title="Judge"),
        alt.Tooltip("value:Q", title=metric_title, format=".3f"),
    ]
    if "n_compared" in data.columns:
        data["n_compared"] = data["n_compared"].astype(int)
        tooltip.append(alt.Tooltip("n_compared:Q", title="Items compared"))
    # Agreement statistics end at 1 (perfect): show the whole way from 0 (or below, if a value is) to 1,
    # so that a small difference between variants does not look large.
    low = float(data["value"].min()) if len(data) else 0.0
    high = float(data["value"].max()) if len(data) else 1.0
    scale = alt.Scale(domain=[min(0.0, low), 1.0]) if high <= 1.0 else alt.Scale(zero=False, nice=True)
    variants = list(dict.fromkeys(data["variant"]))
    return (
        alt.Chart(data)
        .mark_circle(size=160, opacity=0.9)
        .encode(
            x=alt.X("value:Q", title=metric_title, scale=scale),
            y=alt.Y("variant:N", title="Prompt variant", sort=variants),
            color=alt.Color(
                "judge:N", title="Judge", scale=alt.Scale(range=list(PALETTE)),
                legend=alt.Legend(orient="bottom", labelLimit=600),
            ),
            tooltip=tooltip,
        )
        .properties(title=f"{metric_title} per prompt variant", height=alt.Step(ROW_STEP))
    )
