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
    if not len(frame) or int(frame["count"].sum()) == 0:
        # An all-zero matrix drawn in colour reads as a result; callers say "nothing compared" instead.
        raise ValueError("confusion_heatmap needs at least one compared item; every count is 0.")
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
        # Counts are whole numbers: an integer legend (Vega's default would label a one-count scale 0.000000).
        color=alt.Color(
            "count:Q",
            title="Items",
            scale=alt.Scale(scheme="blues", domainMin=0),
            legend=alt.Legend(format="d", tickMinStep=1),
        ),
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
    return alt.layer(cells, numbers).properties(title="Judge vs experts' majority", height=alt.Step(ROW_STEP))


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
                "judge:N",
                title="Judge",
                scale=alt.Scale(range=list(PALETTE)),
                legend=alt.Legend(orient="bottom", labelLimit=600),
            ),
            tooltip=tooltip,
        )
        .properties(title=f"{metric_title} per prompt variant", height=alt.Step(ROW_STEP))
    )


# --------------------------------------------------------------------------------------------------
# Robustness across prompt variants (or any conditions: judges, modes)


def forest_plot(
    frame: pd.DataFrame,
    *,
    metric_title: str,
    band: tuple[float, float] | None = None,
    band_title: str = "Experts among themselves",
) -> alt.LayerChart:
    """One statistic per condition with its interval; the baseline highlighted; an optional band behind.

    ``frame``: ``condition``, ``value``, ``low``, ``high`` (NaN: no interval), ``baseline`` (bool), optionally
    ``axis`` (shown in the tooltip and as the row's colour). ``band`` = (low, high) of a reference range,
    e.g. the experts' own agreement, drawn as a shaded vertical band labelled ``band_title``.
    """
    _require(frame, ("condition", "value", "low", "high", "baseline"), "forest_plot")
    data = frame.copy()
    for column in ("value", "low", "high"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    data = data[data["value"].notna()].reset_index(drop=True)
    data["condition"] = data["condition"].astype(str)
    data["baseline"] = data["baseline"].astype(bool)
    data["role"] = data["baseline"].map({True: "canonical (baseline)", False: "variant"})
    if "axis" not in data.columns:
        data["axis"] = ""
    order = list(data["condition"])
    lows = [v for v in [*data["low"].dropna(), *data["value"], *(band or ())] if pd.notna(v)]
    low = min([0.0, *lows])
    scale = alt.Scale(domain=[low, 1.0])
    y = alt.Y("condition:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    tooltip = [
        alt.Tooltip("condition:N", title="Variant"),
        alt.Tooltip("axis:N", title="Axis"),
        alt.Tooltip("value:Q", title=metric_title, format=".3f"),
        alt.Tooltip("low:Q", title="Interval low", format=".3f"),
        alt.Tooltip("high:Q", title="Interval high", format=".3f"),
    ]
    colour = alt.Color(
        "role:N",
        title=None,
        scale=alt.Scale(domain=["canonical (baseline)", "variant"], range=[EXPERT_COLOUR, JUDGE_COLOUR]),
        legend=alt.Legend(orient="bottom"),
    )
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(x=alt.X("low:Q", title=metric_title, scale=scale), x2="high:Q", y=y, color=colour, tooltip=tooltip)
    )
    dots = (
        alt.Chart(data)
        .mark_circle(size=140, opacity=1)
        .encode(x=alt.X("value:Q", scale=scale), y=y, color=colour, tooltip=tooltip)
    )
    layers: list[alt.Chart] = []
    if band is not None and all(pd.notna(v) for v in band):
        shade = pd.DataFrame([{"low": float(min(band)), "high": float(max(band)), "what": band_title}])
        layers.append(
            alt.Chart(shade)
            .mark_rect(opacity=0.18, color="#999999")
            .encode(
                x=alt.X("low:Q", scale=scale),
                x2="high:Q",
                tooltip=[
                    alt.Tooltip("what:N", title="Band"),
                    alt.Tooltip("low:Q", format=".3f"),
                    alt.Tooltip("high:Q", format=".3f"),
                ],
            )
        )
    return alt.layer(*layers, bars, dots).properties(
        title=f"{metric_title} per prompt variant (95% interval)", height=alt.Step(30)
    )


def items_heatmap(frame: pd.DataFrame, *, labels: Sequence[str] | None = None) -> alt.Chart:
    """Items (rows, most unstable first) x conditions (columns) coloured by the judge's label.

    ``frame``: one row per (item, condition) with ``item``, ``condition``, ``label`` (``"unreadable"``, ``"not
    judged"`` or ``None``, drawn as "none", are grey), ``expert`` (the experts' label, a column of its own named "experts"),
    and ``instability`` (the sort key: e.g. the number of distinct labels the item received).
    """
    _require(frame, ("item", "condition", "label", "expert", "instability"), "items_heatmap")
    data = frame.loc[:, ["item", "condition", "label", "expert", "instability"]].copy()
    data["label"] = data["label"].map(lambda v: "none" if v is None or v != v else str(v))
    data["expert"] = data["expert"].map(lambda v: "none" if v is None or v != v else str(v))
    data["item"] = data["item"].astype(str)
    data["condition"] = data["condition"].astype(str)
    items = data.groupby("item", sort=False)["instability"].max().sort_values(ascending=False, kind="stable")
    expert_rows = data.drop_duplicates("item").assign(condition="experts", label=lambda d: d["expert"])
    conditions = ["experts", *dict.fromkeys(data["condition"])]
    data = pd.concat([expert_rows, data], ignore_index=True)
    # Cells without a label are grey: darker for an unreadable answer, lighter for one not asked for yet.
    greys = {"unreadable": "#9E9E9E", "not judged": "#E6E6E6", "none": "#DDDDDD"}
    present = set(data["label"])
    domain = [v for v in _order(data["label"], labels) if v not in greys] + [
        g for g in greys if g in present or g == "none"
    ]
    n_colours = len(domain) - sum(1 for g in greys if g in domain)
    palette = [*PALETTE[:n_colours], *(greys[g] for g in greys if g in domain)] if n_colours <= len(PALETTE) else None
    colour = alt.Color(
        "label:N",
        title="Label",
        scale=alt.Scale(domain=domain, range=palette) if palette else alt.Scale(domain=domain),
        legend=alt.Legend(orient="bottom"),
    )
    return (
        alt.Chart(data)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "condition:N",
                sort=conditions,
                title=None,
                axis=alt.Axis(labelAngle=-40, labelLimit=240, orient="top", labelOverlap=False),
            ),
            y=alt.Y(
                "item:N",
                sort=list(items.index),
                title="Item (most unstable first)",
                axis=alt.Axis(labelOverlap=False, labelLimit=200),
            ),
            color=colour,
            tooltip=[
                alt.Tooltip("item:N", title="Item"),
                alt.Tooltip("condition:N", title="Variant"),
                alt.Tooltip("label:N", title="Label"),
                alt.Tooltip("expert:N", title="Experts' label"),
                alt.Tooltip("instability:Q", title="Distinct labels"),
            ],
        )
        .properties(title="The judge's label per item and variant", height=alt.Step(18))
    )


def flip_matrix_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Flip rate between every pair of conditions: ``a``, ``b``, ``rate`` (both orders present or not)."""
    _require(frame, ("a", "b", "rate"), "flip_matrix_chart")
    data = frame.loc[:, ["a", "b", "rate"]].copy()
    data["rate"] = pd.to_numeric(data["rate"], errors="coerce").astype(float)
    mirrored = data.rename(columns={"a": "b", "b": "a"})
    data = pd.concat([data, mirrored], ignore_index=True).drop_duplicates(["a", "b"])
    data = data[data["rate"].notna()].reset_index(drop=True)
    order = list(dict.fromkeys([*frame["a"].astype(str), *frame["b"].astype(str)]))
    base = alt.Chart(data).encode(
        x=alt.X(
            "b:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelAngle=-40, labelLimit=240, orient="top", labelOverlap=False),
        ),
        y=alt.Y("a:N", sort=order, title=None, axis=alt.Axis(labelLimit=240, labelOverlap=False)),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "rate:Q",
            title="Flip rate",
            scale=alt.Scale(scheme="oranges", domain=[0, max(0.01, float(data["rate"].max()) if len(data) else 1.0)]),
        ),
        tooltip=[
            alt.Tooltip("a:N", title="Variant"),
            alt.Tooltip("b:N", title="Other variant"),
            alt.Tooltip("rate:Q", title="Share of items that flip", format=".0%"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("rate:Q", format=".0%"))
    return alt.layer(cells, text).properties(
        title="How often the verdict flips between two variants", height=alt.Step(30)
    )


def axis_summary_chart(frame: pd.DataFrame, *, metric_title: str) -> alt.Chart:
    """Per axis: mean |change| of the statistic vs the baseline (bars) with the mean flip rate in the tooltip.

    ``frame``: ``axis``, ``mean_abs_difference``, ``max_abs_difference``, ``mean_flip_rate``, ``n_variants``.
    """
    _require(
        frame,
        ("axis", "mean_abs_difference", "max_abs_difference", "mean_flip_rate", "n_variants"),
        "axis_summary_chart",
    )
    data = frame.copy()
    for column in ("mean_abs_difference", "max_abs_difference", "mean_flip_rate"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    data = data.sort_values("mean_abs_difference", ascending=False, na_position="last").reset_index(drop=True)
    return (
        alt.Chart(data)
        .mark_bar(color=JUDGE_COLOUR)
        .encode(
            x=alt.X("mean_abs_difference:Q", title=f"Mean |change in {metric_title}| vs canonical"),
            y=alt.Y("axis:N", sort=list(data["axis"]), title="Axis"),
            tooltip=[
                alt.Tooltip("axis:N", title="Axis"),
                alt.Tooltip("n_variants:Q", title="Variants"),
                alt.Tooltip("mean_abs_difference:Q", title="Mean |change|", format=".3f"),
                alt.Tooltip("max_abs_difference:Q", title="Largest |change|", format=".3f"),
                alt.Tooltip("mean_flip_rate:Q", title="Mean flip rate", format=".0%"),
            ],
        )
        .properties(title="Which axis moves agreement most", height=alt.Step(ROW_STEP))
    )


# --------------------------------------------------------------------------------------------------
# Judges side by side, and calibration


def judge_variant_heatmap(frame: pd.DataFrame, *, metric_title: str) -> alt.LayerChart:
    """Judges (rows) x prompt variants (columns) coloured by an agreement statistic, the value written in.

    ``frame``: ``judge``, ``variant``, ``value`` (NaN: no judgment there, drawn empty), ``n_compared``.
    A judge that is best under one format and worst under another shows as a row that changes colour.
    """
    _require(frame, ("judge", "variant", "value", "n_compared"), "judge_variant_heatmap")
    data = frame.loc[:, ["judge", "variant", "value", "n_compared"]].copy()
    data["value"] = pd.to_numeric(data["value"], errors="coerce").astype(float)
    data["judge"] = data["judge"].astype(str)
    data["variant"] = data["variant"].astype(str)
    judges = list(dict.fromkeys(data["judge"]))
    variants = list(dict.fromkeys(data["variant"]))
    base = alt.Chart(data).encode(
        x=alt.X(
            "variant:N",
            sort=variants,
            title="Prompt variant",
            axis=alt.Axis(labelAngle=-40, labelLimit=240, orient="top"),
        ),
        y=alt.Y("judge:N", sort=judges, title=None, axis=alt.Axis(labelLimit=320)),
    )
    tooltip = [
        alt.Tooltip("judge:N", title="Judge"),
        alt.Tooltip("variant:N", title="Variant"),
        alt.Tooltip("value:Q", title=metric_title, format=".3f"),
        alt.Tooltip("n_compared:Q", title="Items compared"),
    ]
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "value:Q",
            title=metric_title,
            scale=alt.Scale(scheme="blues", domain=[0, 1], clamp=True),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("value:Q", format=".2f"),
        color=alt.condition("datum.value > 0.6", alt.value("white"), alt.value("black")),
        tooltip=tooltip,
    )
    return alt.layer(cells, text).properties(title=f"{metric_title}: judge x prompt variant", height=alt.Step(ROW_STEP))


def reliability_diagram(frame: pd.DataFrame) -> alt.LayerChart:
    """Accuracy against confidence per confidence bin, with the diagonal of perfect calibration.

    ``frame``: ``mean_confidence``, ``accuracy``, ``n`` (empty bins may be present with NaN; they are
    dropped). Dot size is the number of verdicts in the bin.
    """
    _require(frame, ("mean_confidence", "accuracy", "n"), "reliability_diagram")
    data = frame.loc[:, ["mean_confidence", "accuracy", "n"]].copy()
    for column in ("mean_confidence", "accuracy"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    data = data[data["n"] > 0].dropna().reset_index(drop=True)
    scale = alt.Scale(domain=[0, 1])
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#999999")
        .encode(x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale))
    )
    line = (
        alt.Chart(data)
        .mark_line(color=JUDGE_COLOUR)
        .encode(
            x=alt.X("mean_confidence:Q", title="The judge's confidence (probability of its label)", scale=scale),
            y=alt.Y("accuracy:Q", title="Share matching the experts", scale=scale),
        )
    )
    dots = (
        alt.Chart(data)
        .mark_circle(color=JUDGE_COLOUR, opacity=1)
        .encode(
            x=alt.X("mean_confidence:Q", scale=scale),
            y=alt.Y("accuracy:Q", scale=scale),
            size=alt.Size("n:Q", title="Verdicts", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("mean_confidence:Q", title="Mean confidence", format=".2f"),
                alt.Tooltip("accuracy:Q", title="Share right", format=".2f"),
                alt.Tooltip("n:Q", title="Verdicts"),
            ],
        )
    )
    return alt.layer(diagonal, line, dots).properties(
        title="Reliability: is the judge as right as it is sure?", height=320
    )


def coverage_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Agreement on the verdicts kept when the judge abstains on its least confident share.

    ``frame``: ``abstain_share``, ``accuracy``, ``n_kept``.
    """
    _require(frame, ("abstain_share", "accuracy", "n_kept"), "coverage_chart")
    data = frame.loc[:, ["abstain_share", "accuracy", "n_kept"]].copy()
    data["accuracy"] = pd.to_numeric(data["accuracy"], errors="coerce").astype(float)
    data = data.dropna().reset_index(drop=True)
    encode = dict(
        x=alt.X(
            "abstain_share:Q",
            title="Share of least confident verdicts set aside",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y=alt.Y("accuracy:Q", title="Share of the rest matching the experts", scale=alt.Scale(zero=False)),
    )
    line = alt.Chart(data).mark_line(color=JUDGE_COLOUR).encode(**encode)
    dots = (
        alt.Chart(data)
        .mark_circle(color=JUDGE_COLOUR, size=60, opacity=1)
        .encode(
            **encode,
            tooltip=[
                alt.Tooltip("abstain_share:Q", title="Set aside", format=".0%"),
                alt.Tooltip("n_kept:Q", title="Verdicts kept"),
                alt.Tooltip("accuracy:Q", title="Share right", format=".3f"),
            ],
        )
    )
    return alt.layer(line, dots).properties(
        title="Coverage and agreement: does confidence tell whom to trust?", height=320
    )
