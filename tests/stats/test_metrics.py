"""Agreement metrics: hand-checked values, consensus rules, edge cases and errors.

Reference comparisons against sklearn / scipy / krippendorff live in test_metrics_reference.py, the
property-based test in test_metrics_properties.py.
"""

from __future__ import annotations

import json
import math
import warnings

import pandas as pd
import pytest

from selene_eval.errors import SeleneEvalError, StatisticsError
from selene_eval.stats.agreement import AgreementReport, agreement
from selene_eval.stats.consensus import consensus
from selene_eval.stats.registry import METRICS, statistic_name

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def note_for(report: AgreementReport, name: str) -> list[str]:
    return [n for n in report.notes if n.startswith(f"{statistic_name(name)} is undefined")]


@pytest.fixture(autouse=True)
def no_warnings_escape():
    """Undefined statistics are notes, never warnings that leak into the CLI output."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def binary_table() -> pd.DataFrame:
    # 10 items, one expert. Expert: 6 yes, 4 no. Judge: 5 of the 6 yes right, 3 of the 4 no right.
    expert = ["yes"] * 6 + ["no"] * 4
    judge = ["yes"] * 5 + ["no"] + ["no"] * 3 + ["yes"]
    return pd.DataFrame({"judge": judge, "e1": expert})


# --------------------------------------------------------------------------------------------------
# hand-checked values
# --------------------------------------------------------------------------------------------------


def test_binary_hand_checked() -> None:
    report = agreement(binary_table(), "judge", ["e1"], "nominal", order=["yes", "no"])
    # p_o = 8/10 = 0.8
    # marginals: expert yes .6 / no .4, judge yes (5+1)/10 = .6 / no .4
    # p_e = .6*.6 + .4*.4 = .52
    # kappa = (.8 - .52) / (1 - .52) = .28 / .48 = 7/12
    # Krippendorff nominal, 2 raters x 10 units: n = 20 pairable values, n_yes = 12, n_no = 8,
    # o_yes,no = 2 (two disagreeing units), alpha = 1 - (n - 1) * o_yn / (n_yes * n_no)
    #                                            = 1 - 19 * 2 / 96 = 58/96 = 29/48
    assert report.metrics["accuracy"] == pytest.approx(0.8, abs=1e-12)
    assert report.metrics["cohen_kappa"] == pytest.approx(7 / 12, abs=1e-12)
    assert report.metrics["krippendorff_alpha"] == pytest.approx(29 / 48, abs=1e-12)
    assert set(report.metrics) == set(METRICS["nominal"])
    assert report.labels == ("yes", "no")
    # rows = expert consensus, columns = judge, in the given order
    assert report.confusion is not None
    assert report.confusion.counts == ((5, 1), (1, 3))
    frame = report.confusion.to_frame()
    assert frame.loc["no", "yes"] == 1 and frame.loc["yes", "no"] == 1
    assert frame.index.name == "expert consensus" and frame.columns.name == "judge"
    assert (report.n_items, report.n_compared, report.n_judge_missing) == (10, 10, 0)
    assert report.unparseable_share == 0.0
    assert report.experts is None  # one expert: no inter-expert reliability


def test_nominal_default_order_is_sorted() -> None:
    report = agreement(binary_table(), "judge", ["e1"], "nominal")
    assert report.labels == ("no", "yes")
    assert report.confusion is not None and report.confusion.counts == ((3, 1), (1, 5))
    assert report.metrics["cohen_kappa"] == pytest.approx(7 / 12, abs=1e-12)


def test_ordinal_qwk_hand_checked() -> None:
    # ranks: consensus 0,1,2,2 ; judge 0,2,2,1 (order low < mid < high)
    # observed: sum (i-j)^2 over pairs = 0 + 1 + 0 + 1 = 2
    # expected: marginals r = c = (1,1,2); sum_ij (i-j)^2 r_i c_j / n
    #   = (1*1*1 + 1*2*4  +  1*1*1 + 1*2*1  +  2*1*4 + 2*1*1) / 4 = 22/4 = 5.5
    # QWK = 1 - 2/5.5 = 7/11. Cross-check: 2 cov / (var_x + var_y + (mean_x - mean_y)^2)
    #   = 2 * .4375 / (.6875 + .6875 + 0) = 7/11.
    # unweighted: p_o = 2/4, p_e = (1*1 + 1*1 + 2*2)/16 = 6/16, kappa = (.5 - .375) / .625 = 0.2
    table = pd.DataFrame({"j": ["low", "high", "high", "mid"], "e": ["low", "mid", "high", "high"]})
    report = agreement(table, "j", ["e"], "ordinal", order=["low", "mid", "high"])
    assert report.metrics["quadratic_weighted_kappa"] == pytest.approx(7 / 11, abs=1e-12)
    assert report.metrics["cohen_kappa"] == pytest.approx(0.2, abs=1e-12)
    assert report.metrics["accuracy"] == pytest.approx(0.5, abs=1e-12)
    # Pearson on ranks = cov / sqrt(var_x var_y) = .4375 / .6875 = 7/11 as well
    assert report.metrics["pearson"] == pytest.approx(7 / 11, abs=1e-12)
    assert set(report.metrics) == set(METRICS["ordinal"])


def test_interval_hand_checked() -> None:
    # consensus = means (1+2)/2 = 1.5, (3+3)/2 = 3, (4+5)/2 = 4.5, (6)/1 = 6 (one expert skipped)
    # judge 1.5, 2, 5, 6 -> exact matches 2/4; |errors| 0, 1, .5, 0 -> MAE = 1.5/4 = .375
    table = pd.DataFrame({"j": [1.5, 2, 5, 6], "a": [1, 3, 4, 6], "b": [2, 3, 5, None]})
    report = agreement(table, "j", ["a", "b"], "interval")
    assert report.metrics["accuracy"] == pytest.approx(0.5, abs=1e-12)
    assert report.metrics["mean_absolute_error"] == pytest.approx(0.375, abs=1e-12)
    assert set(report.metrics) == set(METRICS["interval"])
    assert report.confusion is None and report.labels == ()
    assert report.n_no_majority == 0


def test_interval_numeric_strings_are_parsed() -> None:
    table = pd.DataFrame({"j": ["1", " 2.5 ", "3"], "a": ["1.0", "2.5", "4"]})
    report = agreement(table, "j", ["a"], "interval")
    assert report.metrics["accuracy"] == pytest.approx(2 / 3)
    assert report.metrics["mean_absolute_error"] == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------------
# consensus
# --------------------------------------------------------------------------------------------------


def test_three_expert_majority() -> None:
    labels = pd.DataFrame(
        {
            "e1": ["yes", "yes", "no", None, "A", "yes"],
            "e2": ["yes", "no", None, None, "B", "yes"],
            "e3": ["no", None, None, "", "tie", "yes"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    result = consensus(labels, "nominal")
    # 10: yes,yes,no -> 2 of 3 > 1.5 -> yes
    # 11: yes,no (2 labellers) -> 1 of 2 is not > 1 -> no majority
    # 12: no (1 labeller) -> no
    # 13: nothing ("" is missing) -> unlabelled
    # 14: A,B,tie -> 1 of 3 -> no majority
    # 15: unanimous yes
    assert result.values.tolist() == ["yes", None, "no", None, None, "yes"]
    assert list(result.values.index) == [10, 11, 12, 13, 14, 15]
    assert result.n_no_majority == 2
    assert result.n_unlabelled == 1


def test_consensus_interval_is_mean_of_present() -> None:
    labels = pd.DataFrame({"a": [1.0, None, 2.0], "b": [2.0, None, None], "c": [6.0, None, "4"]})
    result = consensus(labels, "interval")
    assert result.values.iloc[0] == pytest.approx(3.0)
    assert math.isnan(result.values.iloc[1])
    assert result.values.iloc[2] == pytest.approx(3.0)
    assert (result.n_no_majority, result.n_unlabelled) == (0, 1)


def test_consensus_canonicalises_numbers() -> None:
    # 4, 4.0 and "4" are one label; ordinal without order sorts numerically
    labels = pd.DataFrame({"a": [4, 10, 2.0], "b": [4.0, "10", None], "c": ["4", 9, None]})
    result = consensus(labels, "ordinal")
    assert result.values.tolist() == ["4", "10", "2"]


def test_consensus_order_restricts_labels() -> None:
    labels = pd.DataFrame({"a": ["good", "bad"], "b": ["good", "awful"]})
    with pytest.raises(StatisticsError, match="awful"):
        consensus(labels, "ordinal", order=["bad", "good"])


def test_two_experts_disagreeing_everywhere() -> None:
    table = pd.DataFrame({"j": ["yes", "no", "yes"], "a": ["yes", "no", "yes"], "b": ["no", "yes", "no"]})
    report = agreement(table, "j", ["a", "b"], "nominal")
    assert report.n_no_majority == 3 and report.n_compared == 0
    for name in METRICS["nominal"]:
        assert math.isnan(report.metrics[name])
        assert note_for(report, name)
    assert report.confusion is not None and report.confusion.counts == ((0, 0), (0, 0))
    # experts: 3 units, each (yes, no): n = 6, n_yes = n_no = 3, o_yn = 3
    # alpha = 1 - (6-1) * 3 / (3*3) = 1 - 15/9 = -2/3
    assert report.experts is not None
    assert report.experts.krippendorff_alpha == pytest.approx(-2 / 3, abs=1e-12)
    assert any("no strict majority" in n for n in report.notes)


# --------------------------------------------------------------------------------------------------
# missing judge labels, off-scale labels
# --------------------------------------------------------------------------------------------------


def test_missing_and_offscale_judge_labels() -> None:
    table = pd.DataFrame(
        {
            "j": ["yes", None, "", "  ", float("nan"), "maybe", "no"],
            "e": ["yes", "yes", "no", "no", "yes", "no", "no"],
        }
    )
    report = agreement(table, "j", ["e"], "nominal", order=["yes", "no"])
    assert report.n_judge_missing == 5
    assert report.unparseable_share == pytest.approx(5 / 7)
    assert report.n_compared == 2
    assert report.metrics["accuracy"] == 1.0
    assert any("'maybe'" in n and "outside the label order" in n for n in report.notes)
    assert any(n.startswith("5 items have no usable judge label") for n in report.notes)


def test_all_missing_judge() -> None:
    table = pd.DataFrame({"j": [None, None, None], "a": [1, 2, 3], "b": [1, 2, 2]})
    report = agreement(table, "j", ["a", "b"], "ordinal")
    assert report.n_judge_missing == 3 and report.unparseable_share == 1.0
    assert report.n_compared == 0
    for name in METRICS["ordinal"]:
        assert math.isnan(report.metrics[name]) and note_for(report, name)
    # experts still agree on something; with the judge added alpha is the same (judge adds no values)
    assert report.experts is not None
    assert report.experts.alpha_with_judge == pytest.approx(report.experts.krippendorff_alpha)
    # JSON: every nan is None
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert all(v is None for v in data["metrics"].values())


def test_single_class_kappa_undefined() -> None:
    table = pd.DataFrame({"j": ["yes"] * 4, "e": ["yes"] * 4})
    report = agreement(table, "j", ["e"], "nominal", order=["yes", "no"])
    assert report.metrics["accuracy"] == 1.0
    for name in ("cohen_kappa", "krippendorff_alpha"):
        assert math.isnan(report.metrics[name])
        assert note_for(report, name)
    assert report.confusion is not None and report.confusion.counts == ((4, 0), (0, 0))


def test_constant_but_different_classes_kappa_is_zero() -> None:
    # judge always "yes", experts always "no": p_o = 0, p_e = 1*0 + 0*1 = 0 -> kappa = 0 (defined)
    table = pd.DataFrame({"j": ["yes"] * 3, "e": ["no"] * 3})
    report = agreement(table, "j", ["e"], "nominal")
    assert report.metrics["cohen_kappa"] == 0.0
    # alpha: n = 6, n_yes = n_no = 3, o_yn = 3 -> 1 - 5*3/9 = -2/3
    assert report.metrics["krippendorff_alpha"] == pytest.approx(-2 / 3)


def test_constant_judge_correlations_undefined() -> None:
    table = pd.DataFrame({"j": [3, 3, 3, 3], "e": [1, 2, 3, 4]})
    report = agreement(table, "j", ["e"], "ordinal")
    for name in ("spearman", "kendall_tau", "pearson"):
        assert math.isnan(report.metrics[name])
        assert any("the judge is constant" in n for n in note_for(report, name))
    assert report.metrics["accuracy"] == 0.25
    assert report.metrics["cohen_kappa"] == 0.0  # p_o = .25 = p_e


def test_single_compared_item() -> None:
    table = pd.DataFrame({"j": [2.0, None], "e": [2.0, 5.0]})
    report = agreement(table, "j", ["e"], "interval")
    assert report.n_compared == 1
    assert report.metrics["accuracy"] == 1.0 and report.metrics["mean_absolute_error"] == 0.0
    assert any("at least 2 compared items, got 1" in n for n in note_for(report, "pearson"))


def test_one_expert_has_no_expert_agreement() -> None:
    report = agreement(binary_table(), "judge", ["e1"], "nominal")
    assert report.experts is None
    assert report.to_dict()["experts"] is None
    assert any("at least 2 expert columns" in n for n in report.notes)


def test_expert_alpha_undefined_without_overlap() -> None:
    # no item labelled by both experts -> alpha has no pairable unit
    table = pd.DataFrame({"j": ["a", "b", "a"], "x": ["a", None, "b"], "y": [None, "b", None]})
    report = agreement(table, "j", ["x", "y"], "nominal")
    assert report.experts is not None
    assert math.isnan(report.experts.krippendorff_alpha)
    assert any(n.startswith("The experts' own Krippendorff's alpha is undefined") for n in report.notes)
    assert math.isfinite(report.experts.alpha_with_judge)


def test_empty_table() -> None:
    table = pd.DataFrame({"j": pd.Series([], dtype=object), "a": [], "b": []})
    report = agreement(table, "j", ["a", "b"], "nominal")
    assert report.n_items == 0 and math.isnan(report.unparseable_share)
    assert report.to_dict()["unparseable_share"] is None
    assert any(n.startswith("The share of unreadable judge answers is undefined") for n in report.notes)
    assert report.confusion is not None and report.confusion.to_frame().shape == (0, 0)


# --------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"judge": "nope", "experts": ["e1"]}, "nope"),
        ({"judge": "judge", "experts": ["e1", "e9"]}, "e9"),
        ({"judge": "judge", "experts": ["e1"], "group": "cluster"}, "cluster"),
    ],
)
def test_unknown_column_is_named(kwargs: dict, named: str) -> None:
    with pytest.raises(StatisticsError) as info:
        agreement(binary_table(), level="nominal", **kwargs)
    message = str(info.value)
    assert repr(named) in message
    assert "'judge'" in message and "'e1'" in message  # lists the available columns


def test_unknown_level() -> None:
    with pytest.raises(StatisticsError, match="ratio"):
        agreement(binary_table(), "judge", ["e1"], "ratio")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError):
        consensus(binary_table(), "scale")  # type: ignore[arg-type]


def test_interval_non_numeric_names_column_and_values() -> None:
    table = pd.DataFrame({"j": [1, 2, 3], "a": [1, "two", "3"], "b": [1, 2, "lots"]})
    with pytest.raises(StatisticsError) as info:
        agreement(table, "j", ["a", "b"], "interval")
    assert "'a'" in str(info.value) and "'two'" in str(info.value)
    with pytest.raises(StatisticsError, match="'oops'"):
        agreement(pd.DataFrame({"j": [1, "oops"], "a": [1, 2]}), "j", ["a"], "interval")


def test_ordinal_text_without_order_asks_for_order() -> None:
    table = pd.DataFrame({"j": ["low", "high"], "a": ["low", "mid"]})
    with pytest.raises(StatisticsError, match="--order"):
        agreement(table, "j", ["a"], "ordinal")


def test_expert_value_outside_order_is_an_error() -> None:
    table = pd.DataFrame({"j": ["1", "2"], "a": ["1", "7"]})
    with pytest.raises(StatisticsError, match="'a'.*'7'"):
        agreement(table, "j", ["a"], "ordinal", order=["1", "2", "3"])


@pytest.mark.parametrize(
    ("judge", "experts", "order"),
    [
        ("judge", [], None),
        ("judge", ["e1", "e1"], None),
        ("judge", ["judge", "e1"], None),
        ("judge", ["e1"], ["yes", "yes", "no"]),
        ("judge", ["e1"], []),
    ],
)
def test_bad_setup_raises_statistics_error(judge: str, experts: list[str], order: list[str] | None) -> None:
    with pytest.raises(StatisticsError):
        agreement(binary_table(), judge, experts, "nominal", order=order)


def test_statistics_error_is_a_user_error() -> None:
    assert issubclass(StatisticsError, SeleneEvalError)


# --------------------------------------------------------------------------------------------------
# group and to_dict
# --------------------------------------------------------------------------------------------------


def test_group_is_counted() -> None:
    table = binary_table().assign(conv=["c1", "c1", "c2", "c2", "c3", "c3", "c4", "", None, "c4"])
    report = agreement(table, "judge", ["e1"], "nominal", group="conv")
    assert report.group == "conv" and report.n_groups == 4
    assert any("2 items have no id in the group column 'conv'" in n for n in report.notes)
    data = report.to_dict()
    assert data["group"] == "conv" and data["n_groups"] == 4


def test_to_dict_is_json_ready() -> None:
    table = pd.DataFrame(
        {
            "j": ["1", "2", "3", None, "5"],
            "a": ["1", "2", "4", "4", "5"],
            "b": ["1", "3", "4", "4", "5"],
            "c": ["2", "2", "3", "4", None],
        }
    )
    report = agreement(table, "j", ["a", "b", "c"], "ordinal", order=["1", "2", "3", "4", "5"])
    data = report.to_dict()
    assert set(data) == {
        "level", "labels", "n_items", "n_compared", "n_no_majority", "n_unlabelled", "n_judge_missing",
        "unparseable_share", "metrics", "notes", "confusion", "experts", "group", "n_groups",
    }  # fmt: skip
    assert data["confusion"]["labels"] == ["1", "2", "3", "4", "5"]
    assert data["experts"]["n_experts"] == 3
    assert data["group"] is None and data["n_groups"] is None
    assert json.loads(json.dumps(data, allow_nan=False)) == data
