"""Charts: tidy frame in, Altair chart out, with the expected marks, encodings and data.

Also the pure helpers in :mod:`selene_eval.ui.views` that build those tidy frames from core results.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import pytest

from selene_eval.presentation import charts
from selene_eval.stats.agreement import ConfusionMatrix
from selene_eval.ui.views import confusion_frame, distribution_frame, filter_items, variant_frame


def _data(spec: dict) -> list[dict]:
    """The rows embedded in a chart spec (Altair puts a DataFrame under ``datasets``)."""
    (rows,) = spec["datasets"].values()
    return rows


def test_confusion_heatmap_has_cells_and_counts() -> None:
    frame = pd.DataFrame(
        {"expert": ["yes", "yes", "no", "no"], "judge": ["yes", "no", "yes", "no"], "count": [5, 1, 2, 4]}
    )
    chart = charts.confusion_heatmap(frame, labels=["yes", "no"])
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    cells, numbers = spec["layer"]
    assert cells["mark"]["type"] == "rect"
    assert numbers["mark"]["type"] == "text"
    encoding = cells["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"], encoding["color"]["field"]) == ("judge", "expert", "count")
    assert encoding["x"]["sort"] == ["yes", "no"] and encoding["y"]["sort"] == ["yes", "no"]
    assert numbers["encoding"]["text"]["field"] == "count"
    rows = {(r["expert"], r["judge"]): r for r in _data(spec)}
    assert rows[("yes", "no")]["count"] == 1
    # Share of the experts' label: 1 of the 6 items the experts called "yes".
    assert rows[("yes", "no")]["row_share"] == pytest.approx(1 / 6)
    assert rows[("no", "no")]["agrees"] is True


def test_confusion_heatmap_empty_rows_have_zero_share() -> None:
    frame = pd.DataFrame({"expert": ["A", "A", "B", "B"], "judge": ["A", "B", "A", "B"], "count": [0, 0, 1, 3]})
    rows = _data(charts.confusion_heatmap(frame).to_dict())
    assert [r["row_share"] for r in rows] == [0.0, 0.0, 0.25, 0.75]


def test_confusion_heatmap_refuses_an_all_zero_matrix_and_labels_counts_as_integers() -> None:
    # Issue 14: with nothing compared the page drew an all-zero matrix in blue, legend "0.000000".
    with pytest.raises(ValueError, match="at least one compared item"):
        charts.confusion_heatmap(pd.DataFrame({"expert": ["A", "A"], "judge": ["A", "B"], "count": [0, 0]}))
    spec = charts.confusion_heatmap(pd.DataFrame({"expert": ["A"], "judge": ["A"], "count": [1]})).to_dict()
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["format"] == "d" and legend["tickMinStep"] == 1


def test_label_distribution_compares_shares() -> None:
    frame = pd.DataFrame(
        {"source": ["Judge", "Judge", "Experts", "Experts"], "label": ["yes", "no", "yes", "no"], "count": [3, 1, 6, 6]}
    )
    spec = charts.label_distribution(frame, labels=["yes", "no"]).to_dict()
    assert spec["mark"]["type"] == "bar"
    encoding = spec["encoding"]
    assert encoding["x"]["field"] == "label" and encoding["x"]["sort"] == ["yes", "no"]
    assert encoding["xOffset"]["field"] == "source"
    assert encoding["y"]["field"] == "share"
    assert encoding["color"]["field"] == "source"
    # Judge and experts get their fixed colours.
    assert encoding["color"]["scale"]["range"] == [charts.JUDGE_COLOUR, charts.EXPERT_COLOUR]
    shares = {(r["source"], r["label"]): r["share"] for r in _data(spec)}
    assert shares[("Judge", "yes")] == pytest.approx(0.75)  # 3 of the judge's 4 labels
    assert shares[("Experts", "no")] == pytest.approx(0.5)  # 6 of the experts' 12 labels


def test_variant_dots_drops_undefined_values() -> None:
    frame = pd.DataFrame(
        {
            "variant": ["selene", "selene-ref", "terse"],
            "judge": ["Selene", "Selene", "Selene"],
            "value": [0.6, math.nan, 0.4],
            "n_compared": [50, 0, 48],
        }
    )
    spec = charts.variant_dots(frame, metric_title="Cohen's kappa").to_dict()
    assert spec["mark"]["type"] == "circle"
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"], encoding["color"]["field"]) == ("value", "variant", "judge")
    assert encoding["x"]["title"] == "Cohen's kappa"
    # The axis runs to 1 (perfect agreement) from 0, so small differences are not blown up.
    assert encoding["x"]["scale"]["domain"] == [0.0, 1.0]
    assert [(r["variant"], r["value"], r["n_compared"]) for r in _data(spec)] == [
        ("selene", 0.6, 50),
        ("terse", 0.4, 48),
    ]


def test_variant_dots_axis_extends_below_zero_when_a_value_does() -> None:
    frame = pd.DataFrame({"variant": ["a", "b"], "judge": ["J", "J"], "value": [-0.25, 0.5]})
    spec = charts.variant_dots(frame, metric_title="Krippendorff's alpha").to_dict()
    assert spec["encoding"]["x"]["scale"]["domain"] == [-0.25, 1.0]


@pytest.mark.parametrize(
    ("function", "kwargs"),
    [
        (charts.confusion_heatmap, {}),
        (charts.label_distribution, {}),
        (charts.variant_dots, {"metric_title": "x"}),
        (charts.forest_plot, {"metric_title": "x"}),
        (charts.items_heatmap, {}),
        (charts.flip_matrix_chart, {}),
        (charts.axis_summary_chart, {"metric_title": "x"}),
    ],
)
def test_missing_columns_are_named(function, kwargs) -> None:
    with pytest.raises(ValueError, match="needs the columns"):
        function(pd.DataFrame({"other": [1]}), **kwargs)


# --- the tidy frames behind the charts ----------------------------------------------------------------


def test_confusion_frame_lists_every_cell() -> None:
    matrix = ConfusionMatrix(labels=("yes", "no"), counts=((5, 1), (2, 4)))
    frame = confusion_frame(matrix)
    assert frame.to_dict("records") == [
        {"expert": "yes", "judge": "yes", "count": 5},
        {"expert": "yes", "judge": "no", "count": 1},
        {"expert": "no", "judge": "yes", "count": 2},
        {"expert": "no", "judge": "no", "count": 4},
    ]


def test_distribution_frame_counts_judged_items_only() -> None:
    table = pd.DataFrame(
        {
            "judge_label": ["yes", "no", None, None],
            "judge_status": ["ok", "ok", "missing_result", "pending"],
            "expert:a": ["yes", "yes", "no", "no"],
            "expert:b": ["no", None, "no", "yes"],
        }
    )
    frame = distribution_frame(table, ["yes", "no"])
    counts = {(r["source"], r["label"]): r["count"] for r in frame.to_dict("records")}
    # The pending row is left out on both sides; the unparseable one still has expert labels.
    assert counts == {("Judge", "yes"): 1, ("Judge", "no"): 1, ("Experts", "yes"): 2, ("Experts", "no"): 3}


def test_filter_items_combines_filters() -> None:
    table = pd.DataFrame(
        {
            "consensus": ["yes", "no", "yes"],
            "judge_label": ["no", "yes", "no"],
            "category": ["a", "a", "b"],
            "input": ["Dose of aspirin?", "Revenue?", "Aspirin for kids?"],
            "response": ["x", "y", "z"],
            "judge_reasoning": ["r", "r", "r"],
        }
    )
    assert len(filter_items(table)) == 3
    assert list(filter_items(table, search="ASPIRIN").index) == [0, 2]
    assert list(filter_items(table, search="aspirin", categories=["b"]).index) == [2]
    assert list(filter_items(table, consensus_labels=["no"]).index) == [1]


def test_variant_frame_keeps_undefined_as_nan() -> None:
    from selene_eval.core.judge_spec import JudgeSpec
    from selene_eval.presentation.report import StudyReport, VariantResult

    spec = JudgeSpec(backend="scripted", model="m", name="Scripted")
    result = VariantResult(spec.judge_id, "Scripted", "selene", 10, 0, 10, {"pending": 10}, None)
    report = StudyReport("s", "t", "binary", "nominal", 10, ("a",), {"yes": 5, "no": 5}, None, (result,))
    frame = variant_frame(report, {spec.judge_id: spec}, "accuracy")
    assert frame.loc[0, "variant"] == "selene" and math.isnan(frame.loc[0, "value"])
    assert "not a model" in frame.loc[0, "judge"]


def test_compact_metrics_turns_the_table_on_its_side() -> None:
    from selene_eval.ui.views import compact_metrics

    frame = pd.DataFrame(
        {
            "Judge": ["Selene", "Selene"],
            "Prompt variant": ["selene", "terse"],
            "Judged": [40, 38],
            "Accuracy": [0.8125, None],
            "Unreadable share": [0.0, 0.05],
        }
    )
    compact = compact_metrics(frame)
    assert list(compact.columns) == ["Figure", "Selene · selene", "Selene · terse"]
    assert compact.set_index("Figure").loc["Accuracy"].tolist() == ["0.812", "n/a"]
    assert compact.set_index("Figure").loc["Unreadable share"].tolist() == ["0.0%", "5.0%"]
    assert compact.set_index("Figure").loc["Judged"].tolist() == ["40", "38"]


# --- robustness charts ----------------------------------------------------------------------------------


def _layer_data(spec: dict) -> list[list[dict]]:
    return list(spec["datasets"].values())


def test_forest_plot_highlights_the_baseline_and_draws_the_expert_band() -> None:
    frame = pd.DataFrame(
        {
            "condition": ["selene", "xml", "json"],
            "value": [0.8, 0.6, math.nan],
            "low": [0.7, 0.4, math.nan],
            "high": [0.9, 0.75, math.nan],
            "baseline": [True, False, False],
            "axis": ["canonical", "layout", "layout"],
        }
    )
    spec = charts.forest_plot(frame, metric_title="Kappa", band=(0.55, 0.85)).to_dict()
    datasets = _layer_data(spec)
    rows = next(d for d in datasets if d and "condition" in d[0])
    assert [r["condition"] for r in rows] == ["selene", "xml"]  # undefined values dropped
    assert [r["role"] for r in rows] == ["canonical (baseline)", "variant"]
    band = next(d for d in datasets if d and "what" in d[0])
    assert (band[0]["low"], band[0]["high"]) == (0.55, 0.85)
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rect", "rule", "circle"]


def test_items_heatmap_sorts_by_instability_and_adds_the_expert_column() -> None:
    frame = pd.DataFrame(
        {
            "item": ["i1", "i1", "i2", "i2"],
            "condition": ["a", "b", "a", "b"],
            "label": ["yes", "yes", "yes", None],
            "expert": ["yes", "yes", "no", "no"],
            "instability": [1, 1, 2, 2],
        }
    )
    spec = charts.items_heatmap(frame, labels=["yes", "no"]).to_dict()
    rows = _data(spec)
    assert spec["encoding"]["y"]["sort"] == ["i2", "i1"]
    assert spec["encoding"]["x"]["sort"] == ["experts", "a", "b"]
    assert {(r["item"], r["condition"], r["label"]) for r in rows} >= {("i2", "experts", "no"), ("i2", "b", "none")}


def test_flip_matrix_is_symmetric() -> None:
    frame = pd.DataFrame({"a": ["x", "x"], "b": ["y", "z"], "rate": [0.25, 0.5]})
    rows = _layer_data(charts.flip_matrix_chart(frame).to_dict())[0]
    cells = {(r["a"], r["b"]): r["rate"] for r in rows}
    assert cells == {("x", "y"): 0.25, ("x", "z"): 0.5, ("y", "x"): 0.25, ("z", "x"): 0.5}


def test_axis_summary_orders_axes_by_effect() -> None:
    frame = pd.DataFrame(
        {
            "axis": ["layout", "labels"],
            "mean_abs_difference": [0.02, 0.2],
            "max_abs_difference": [0.03, 0.3],
            "mean_flip_rate": [0.05, 0.2],
            "n_variants": [2, 1],
        }
    )
    spec = charts.axis_summary_chart(frame, metric_title="kappa").to_dict()
    assert spec["encoding"]["y"]["sort"] == ["labels", "layout"]
