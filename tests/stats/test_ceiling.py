"""Expert ceiling: hand-checked tables, the reference libraries called directly, exact properties of a
judge that copies an expert, and random tables."""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Sequence
from fractions import Fraction

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from selene_eval.errors import StatisticsError
from selene_eval.stats.ceiling import (
    Ceiling,
    PairAgreement,
    expert_ceiling,
    loo_words,
    pair_words,
    rater_words,
    substitution_statistic,
)
from selene_eval.stats.consensus import code_table
from selene_eval.stats.registry import statistic_name

TOL = 1e-9

# 3 experts x 8 items, labels a / b. Per item (e1, e2, e3):
#   1 aaa  2 aab  3 bbb  4 bbb  5 aba  6 bba  7 aaa  8 bbb
E1 = list("aabbabab")
E2 = list("aabbbbab")
E3 = list("abbbaaab")
JUDGE = list("abbaabab")  # differs from e1 on items 2 and 4


def table(judge: Sequence[object] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"e1": E1, "e2": E2, "e3": E3, "judge": JUDGE if judge is None else judge})


def pair(pairs: tuple[PairAgreement, ...], a: str, b: str) -> PairAgreement:
    return next(p for p in pairs if (p.rater_a, p.rater_b) == (a, b))


def test_hand_checked_nominal() -> None:
    c = expert_ceiling(table(), "judge", ["e1", "e2", "e3"], "nominal")

    # e1 vs e2: disagree only on item 5 -> accuracy 7/8.
    # kappa: e1 has 4 a / 4 b, e2 3 a / 5 b -> p_e = (4*3 + 4*5)/64 = 1/2 -> (7/8 - 1/2)/(1/2) = 3/4.
    # alpha (nominal, 2 coders, 8 units): o_aa = 6, o_bb = 8, o_ab = o_ba = 1, n_a = 7, n_b = 9, n = 16
    #   D_o = 2/16, D_e = 2*7*9/(16*15) = 126/240 -> alpha = 1 - 480/2016 = 16/21.
    p = pair(c.expert_pairs, "e1", "e2")
    assert (p.n, p.accuracy, p.cohen_kappa) == (8, 0.875, pytest.approx(0.75, abs=TOL))
    assert p.krippendorff_alpha == pytest.approx(16 / 21, abs=TOL)
    assert [(p.rater_a, p.rater_b) for p in c.expert_pairs] == [("e1", "e2"), ("e1", "e3"), ("e2", "e3")]

    # judge vs e1: disagree on items 2, 4 -> 6/8; both 4 a / 4 b -> p_e = 1/2 -> kappa = 1/2
    j1 = pair(c.judge_vs_expert, "judge", "e1")
    assert (j1.n, j1.accuracy, j1.cohen_kappa) == (8, 0.75, pytest.approx(0.5, abs=TOL))

    # Among experts. Counts (a, b): (3,0) (2,1) (0,3) (0,3) (2,1) (1,2) (3,0) (0,3)
    #   Fleiss: P_bar = (5*1 + 3*1/3)/8 = 3/4, P_e = (11^2 + 13^2)/24^2 = 290/576 -> 71/143
    #   AC1:   p_a = 3/4, p_e = 2*(11/24)(13/24) = 286/576 -> 146/290 = 73/145
    #   alpha: o_aa = 2*3 + 2*1 = 8, o_bb = 3*3 + 1 = 10, o_ab = o_ba = 3; n_a = 11, n_b = 13, n = 24
    #          D_o = 6/24, D_e = 2*11*13/(24*23) = 286/552 -> alpha = 1 - 138/286 = 74/143
    assert c.fleiss_kappa == pytest.approx(71 / 143, abs=TOL)
    assert c.gwet_ac1 == pytest.approx(73 / 145, abs=TOL)
    assert c.krippendorff_alpha == pytest.approx(74 / 143, abs=TOL)

    # Leave one out, e1: e2 and e3 agree (strict majority of 2 = both) on items 1 a, 3 b, 4 b, 7 a, 8 b;
    # items 2, 5, 6 have no majority. e1 matches on all 5; the judge (a b a a b there) on 4 of 5.
    loo_e1, loo_judge = c.leave_one_out[0], c.leave_one_out[1]
    assert (loo_e1.rater_a, loo_e1.rater_b) == ("e1", "consensus without e1")
    assert (loo_judge.rater_a, loo_judge.rater_b) == ("judge", "consensus without e1")
    assert (loo_e1.n, loo_e1.accuracy) == (5, 1.0)
    assert (loo_judge.n, loo_judge.accuracy) == (5, 0.8)
    # e3 vs consensus of e1, e2 (they agree on all items but 5): items 1 2 3 4 6 7 8, consensus
    # a a b b b a b, e3 a b b b a a b -> 5/7. kappa: e3 3 a / 4 b, consensus 3 a / 4 b
    # -> p_e = 25/49 -> (35/49 - 25/49)/(24/49) = 10/24.
    loo_e3 = c.leave_one_out[4]
    assert (loo_e3.rater_a, loo_e3.n) == ("e3", 7)
    assert loo_e3.accuracy == pytest.approx(5 / 7) and loo_e3.cohen_kappa == pytest.approx(10 / 24, abs=TOL)
    assert any("Leaving out e1: 3 items are left out" in n for n in c.notes)

    # Substitution, e2 -> judge: panel (e1, judge, e3) per item: aaa aba bbb bab aaa bba aaa bbb
    #   counts (3,0) (2,1) (0,3) (1,2) (3,0) (1,2) (3,0) (0,3)
    #   o_aa = 3*3 + 1 = 10, o_bb = 3*2 + ... computed with Fractions below from the coincidence rule.
    s2 = c.substitution[1]
    assert s2.replaced == "e2"
    assert s2.alpha_with_judge == pytest.approx(float(_nominal_alpha([E1, JUDGE, E3])), abs=TOL)
    assert s2.difference == pytest.approx(s2.alpha_with_judge - 74 / 143, abs=TOL)
    assert all(s.alpha_experts == c.krippendorff_alpha for s in c.substitution)
    json.dumps(c.to_dict(), allow_nan=False)


def _nominal_alpha(coders: list[list[str]]) -> Fraction:
    """Krippendorff's nominal alpha from the coincidence matrix, in exact fractions (no missing data)."""
    labels = sorted({x for coder in coders for x in coder})
    o = {(a, b): Fraction(0) for a in labels for b in labels}
    for unit in zip(*coders, strict=True):
        m = len(unit)
        for i, a in enumerate(unit):
            for j, b in enumerate(unit):
                if i != j:
                    o[a, b] += Fraction(1, m - 1)
    n_c = {a: sum(o[a, b] for b in labels) for a in labels}
    n = sum(n_c.values())
    d_o = sum(o[a, b] for a in labels for b in labels if a != b) / n
    d_e = sum(n_c[a] * n_c[b] for a in labels for b in labels if a != b) / (n * (n - 1))
    return Fraction(1) - Fraction(d_o) / Fraction(d_e)


def test_exact_alpha_helper_matches_hand_value() -> None:
    assert _nominal_alpha([E1, E2, E3]) == Fraction(74, 143)
    # panel with e2 replaced by e1 (a copy): aaa aab bbb bbb aaa bba aaa bbb
    # o_aa = 3*3 + 1 = 10, o_bb = 3*3 + 1 = 10, o_ab = o_ba = 2, n_a = n_b = 12
    # D_o = 4/24, D_e = 2*144/(24*23) = 12/23 -> alpha = 1 - 23/72 = 49/72
    assert _nominal_alpha([E1, E1, E3]) == Fraction(49, 72)


def test_pairs_equal_reference_libraries() -> None:
    frame = table()
    frame.loc[[1, 6], "e2"] = None  # missing labels: pairs use the items both labelled
    frame.loc[3, "judge"] = None
    c = expert_ceiling(frame, "judge", ["e1", "e2", "e3"], "nominal", order=["b", "a"])
    order = ["b", "a"]
    for p in c.expert_pairs + c.judge_vs_expert:
        both = frame[[p.rater_a, p.rater_b]].dropna()
        a, b = both[p.rater_a].tolist(), both[p.rater_b].tolist()
        assert p.n == len(both)
        assert p.accuracy == pytest.approx(np.mean([x == y for x, y in zip(a, b, strict=True)]))
        assert p.cohen_kappa == pytest.approx(cohen_kappa_score(a, b, labels=order), abs=TOL)
        reference = krippendorff.alpha(
            reliability_data=frame[[p.rater_a, p.rater_b]].T.fillna("nan").to_numpy(dtype=str),
            level_of_measurement="nominal",
            value_domain=order,
        )
        assert p.krippendorff_alpha == pytest.approx(reference, abs=TOL)
    coded = code_table(frame, ["e1", "e2", "e3"], "nominal", order=order)
    assert c.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=coded.experts.T, level_of_measurement="nominal"), abs=TOL
    )
    assert any("Fleiss' kappa uses only items labelled by every expert; 2 items are left out" in n for n in c.notes)


def test_ordinal_alpha_uses_level() -> None:
    frame = pd.DataFrame({"e1": [1, 2, 3, 4, 5, 3], "e2": [1, 3, 3, 5, 4, 2], "e3": [2, 2, 3, 4, 5, 3],
                          "judge": [1, 2, 4, 4, 5, 3]})  # fmt: skip
    c = expert_ceiling(frame, "judge", ["e1", "e2", "e3"], "ordinal")
    expected = krippendorff.alpha(reliability_data=frame[["e1", "e2", "e3"]].T.to_numpy(float) - 1,
                                  level_of_measurement="ordinal")  # fmt: skip
    assert c.krippendorff_alpha == pytest.approx(expected, abs=TOL)
    assert any("unweighted" in n for n in c.notes)


def test_judge_copying_an_expert() -> None:
    """What is exactly true when the judge copies expert e1 label for label (missing cells included)."""
    frame = table(judge=E1)
    frame.loc[2, ["e1", "judge"]] = None
    frame.loc[5, "e3"] = None
    c = expert_ceiling(frame, "judge", ["e1", "e2", "e3"], "nominal")
    # Replacing e1 by an identical column leaves the panel unchanged: the difference is exactly 0.
    assert c.substitution[0].difference == 0.0
    assert c.substitution[0].alpha_with_judge == c.substitution[0].alpha_experts
    # Against e1 itself the judge is perfect ...
    j1 = c.judge_vs_expert[0]
    assert (j1.accuracy, j1.cohen_kappa, j1.krippendorff_alpha) == (1.0, 1.0, 1.0)
    # ... against any other expert it scores what e1 scores (kappa, alpha, accuracy are symmetric).
    for other, expert_pair in (("e2", c.expert_pairs[0]), ("e3", c.expert_pairs[1])):
        jp = pair(c.judge_vs_expert, "judge", other)
        assert jp.n == expert_pair.n
        for field in ("cohen_kappa", "krippendorff_alpha", "accuracy"):
            assert getattr(jp, field) == pytest.approx(getattr(expert_pair, field), abs=1e-12)
    # Leave one out for e1: the judge's row is e1's row, value for value (same arrays, same items).
    e1_row, judge_row = c.leave_one_out[0], c.leave_one_out[1]
    assert (judge_row.n, judge_row.cohen_kappa, judge_row.krippendorff_alpha, judge_row.accuracy) == (
        e1_row.n, e1_row.cohen_kappa, e1_row.krippendorff_alpha, e1_row.accuracy,
    )  # fmt: skip
    # Replacing another expert by a copy of e1 is NOT 0 in general (e1 then counts twice): here it is
    # alpha(e1, e1, e3) - alpha(e1, e2, e3) on the complete rows, checked in the hand test above.


def test_substitution_statistic_is_pure_and_matches_ceiling() -> None:
    frame = table()
    coded = code_table(frame, ["e1", "e2", "e3"], "nominal", judge="judge")
    assert coded.judge is not None
    diffs = substitution_statistic(coded.experts, coded.judge, "nominal")
    c = expert_ceiling(frame, "judge", ["e1", "e2", "e3"], "nominal")
    assert diffs.tolist() == [s.difference for s in c.substitution]
    # resampled rows (what a bootstrap does) work and leave the inputs untouched
    before = coded.experts.copy()
    rows = np.array([0, 0, 3, 5, 7, 7, 2, 1])
    assert substitution_statistic(coded.experts[rows], coded.judge[rows], "nominal").shape == (3,)
    assert np.array_equal(before, coded.experts)
    with pytest.raises(StatisticsError):
        substitution_statistic(coded.experts, coded.judge[:3], "nominal")
    with pytest.raises(StatisticsError):
        substitution_statistic(coded.experts, coded.judge, "ratio")  # type: ignore[arg-type]


def test_ac1_category_count_does_not_depend_on_the_judge() -> None:
    # Without an order the label set comes from judge and experts; a judge answering "c" (which no expert
    # used) must not change the experts' AC1. K = 2 -> 73/145 (hand value of test_hand_checked_nominal).
    odd_judge = ["c"] * 8
    c = expert_ceiling(table(judge=odd_judge), "judge", ["e1", "e2", "e3"], "nominal")
    assert c.labels == ("a", "b", "c")
    assert c.gwet_ac1 == pytest.approx(73 / 145, abs=TOL)
    # With a declared order of 3 labels, K = 3: p_e = (2 * 143/576) / 2 = 143/576
    #   AC1 = (432/576 - 143/576) / (433/576) = 289/433
    c3 = expert_ceiling(table(), "judge", ["e1", "e2", "e3"], "nominal", order=["a", "b", "c"])
    assert c3.gwet_ac1 == pytest.approx(289 / 433, abs=TOL)


def test_two_experts_and_interval() -> None:
    frame = pd.DataFrame({"e1": [1.0, 2.0, 3.5, 4.0], "e2": [1.0, 2.5, 3.5, 5.0], "judge": [1.0, 2.0, 3.0, 4.0]})
    c = expert_ceiling(frame, "judge", ["e1", "e2"], "interval", order=["x"])
    assert math.isnan(c.fleiss_kappa) and math.isnan(c.gwet_ac1)
    assert all(math.isnan(p.cohen_kappa) for p in c.expert_pairs + c.judge_vs_expert + c.leave_one_out)
    assert any("not computed at interval level" in n for n in c.notes)
    assert any("order is ignored" in n for n in c.notes)
    assert c.expert_pairs[0].accuracy == 0.5  # identical values on items 1 and 3
    expected = krippendorff.alpha(reliability_data=frame[["e1", "e2"]].T.to_numpy(), level_of_measurement="interval")
    assert c.krippendorff_alpha == pytest.approx(expected, abs=TOL)
    # With 2 experts, the "consensus without e1" is e2 itself: e1's leave-one-out row is the e1-e2 pair.
    assert c.leave_one_out[0].krippendorff_alpha == pytest.approx(c.expert_pairs[0].krippendorff_alpha, abs=TOL)
    d = c.to_dict()
    assert d["fleiss_kappa"] is None and d["level"] == "interval"
    json.dumps(d, allow_nan=False)


def test_errors() -> None:
    frame = table()
    with pytest.raises(StatisticsError, match="at least 2 expert"):
        expert_ceiling(frame, "judge", ["e1"], "nominal")
    with pytest.raises(StatisticsError, match="at least 2 expert"):
        expert_ceiling(frame, "judge", "e1", "nominal")
    with pytest.raises(StatisticsError):
        expert_ceiling(frame, "judge", ["e1", "e1"], "nominal")
    with pytest.raises(StatisticsError):
        expert_ceiling(frame, "judge", ["e1", "nope"], "nominal")
    with pytest.raises(StatisticsError):
        expert_ceiling(frame, "judge", ["e1", "judge"], "nominal")
    with pytest.raises(StatisticsError):
        expert_ceiling(frame, "judge", ["e1", "e2"], "ratio")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError):
        expert_ceiling(frame, "judge", ["e1", "e2"], "nominal", order=["a"])  # expert label b off the order


def test_undefined_values_are_nan_with_notes() -> None:
    frame = pd.DataFrame({"e1": ["a", "a", None], "e2": ["a", "a", None], "judge": ["a", "zzz", None]})
    c = expert_ceiling(frame, "judge", ["e1", "e2"], "nominal", order=["a", "b"])
    assert math.isnan(c.krippendorff_alpha) and math.isnan(c.fleiss_kappa)
    assert c.gwet_ac1 == 1.0  # AC1 is defined without variation (its chance term does not reach 1)
    assert any(n.startswith("Krippendorff's alpha among the experts is undefined") for n in c.notes)
    assert any(n.startswith("Fleiss' kappa is undefined") for n in c.notes)
    assert any("outside the label order" in n for n in c.notes)
    assert math.isnan(c.substitution[0].difference)
    _check_nan_notes(c)


# --------------------------------------------------------------------------------------------------
# Random tables
# --------------------------------------------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(["", "a", "b", "c", "1", "2"]),
    st.integers(min_value=1, max_value=4),
    st.sampled_from([1.0, 2.5, float("inf")]),
    st.text(max_size=2),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], str, list[str] | None]:
    n_items = draw(st.integers(min_value=0, max_value=10))
    n_experts = draw(st.integers(min_value=1, max_value=4))
    # mostly small clean pools, so that most tables get past the input checks and exercise the statistics
    letters, numbers = st.sampled_from([None, "a", "b", "c"]), st.sampled_from([None, 1, 2, 3, 4.5])
    pool = draw(st.sampled_from([CELLS, letters, letters, numbers, numbers]))
    names = ["judge", *[f"e{i}" for i in range(n_experts)]]
    columns = {name: draw(st.lists(pool, min_size=n_items, max_size=n_items)) for name in names}
    level = draw(st.sampled_from(["nominal", "ordinal", "interval"]))
    order = draw(st.one_of(st.none(), st.none(), st.permutations(["a", "b", "c"]),
                           st.lists(st.sampled_from(["a", "b", "1", "2"]), max_size=4)))  # fmt: skip
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    return frame, names[1:], level, order


def _check_nan_notes(c: Ceiling) -> None:
    """Every nan is explained by a note that names it (or the interval-level note for kappa / AC1)."""
    interval = c.level == "interval"

    def explained(where: str, field: str) -> bool:
        """A note in words: "<Statistic> <where> is undefined" (no code names such as cohen_kappa)."""
        if field in ("cohen_kappa", "fleiss_kappa", "gwet_ac1") and interval:
            return any("not computed at interval level" in n for n in c.notes)
        start = f"{statistic_name(field)} {where}".strip() if field != "difference" else where
        return any(n.startswith(f"{start} is undefined") for n in c.notes)

    assert not any(
        re.search(r"cohen_kappa|fleiss_kappa|gwet_ac1|krippendorff_alpha|leave_one_out|substitution\[", n)
        for n in c.notes
    ), c.notes

    def check_pair(p: PairAgreement, where: str) -> None:
        for field in ("cohen_kappa", "krippendorff_alpha", "accuracy"):
            value = getattr(p, field)
            if math.isnan(value):
                assert explained(where, field), (where, field, c.notes)
            elif field == "accuracy":
                assert 0 <= value <= 1
            else:
                assert value <= 1 + 1e-9

    for p in c.expert_pairs:
        check_pair(p, pair_words(p.rater_a, p.rater_b))
    for p in c.judge_vs_expert:
        check_pair(p, pair_words("the judge", p.rater_b))
    for i, p in enumerate(c.leave_one_out):
        expert = p.rater_b.removeprefix("consensus without ")
        check_pair(p, loo_words(expert, judge=bool(i % 2)))
    for s in c.substitution:
        if math.isnan(s.difference):
            assert explained(f"The substitution difference for {rater_words(s.replaced)}", "difference")
    for field in ("fleiss_kappa", "gwet_ac1", "krippendorff_alpha"):
        value = getattr(c, field)
        if math.isnan(value):
            assert explained("among the experts" if field == "krippendorff_alpha" else "", field), (field, c.notes)
        else:
            assert value <= 1 + 1e-9


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables(case: tuple[pd.DataFrame, list[str], str, list[str] | None]) -> None:
    frame, experts, level, order = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an escaping warning would be an unhandled undefined case
        try:
            c = expert_ceiling(frame, "judge", experts, level, order=order)  # type: ignore[arg-type]
        except StatisticsError:
            return
    k = len(experts)
    assert len(c.expert_pairs) == k * (k - 1) // 2
    assert len(c.judge_vs_expert) == k and len(c.substitution) == k and len(c.leave_one_out) == 2 * k
    for i in range(0, 2 * k, 2):  # leave-one-out rows of one expert compare the same items
        assert c.leave_one_out[i].n == c.leave_one_out[i + 1].n
    _check_nan_notes(c)
    json.dumps(c.to_dict(), allow_nan=False)
