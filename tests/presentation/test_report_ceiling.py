"""The study report carries the intervals, warnings and the expert ceiling (library and ``report --json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.presentation.report import study_report
from selene_eval.study import StudyStore
from selene_eval.testing.dashboard import go, open_in_sidebar, start
from selene_eval.testing.studies import make_study as build_study
from selene_eval.testing.studies import slipping_experts, yes_if_good

SPEC = JudgeSpec(backend="scripted", model="scripted-test")
EXPERTS = ("ann", "bob", "cy")


answer = yes_if_good


def make_study(studies_dir: Path, n: int = 40, grouped: bool = True, categories: bool = False):
    return build_study(
        studies_dir,
        n,
        slug="s3",
        title="three experts",
        experts=EXPERTS,
        labels=slipping_experts(EXPERTS),
        response=lambda i: "a good answer" if i % 2 else "a bad answer",
        group=(lambda i: f"g{i // 4}") if grouped else None,
        category=(lambda i: ["loans", "<b>cards</b>"][i % 2] if i < 36 else None) if categories else None,
        answers=answer,
        scripted_judge=SPEC,
        batch_size=8,
    )


def test_study_report_has_intervals_ceiling_and_groups(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    report = study_report(study, n_resamples=500, seed=3)
    (result,) = report.results
    a = result.agreement
    assert a is not None and a.group == "group_id" and a.n_groups == 10
    assert a.n_resamples == 500 and a.seed == 3
    assert set(a.intervals) == {"accuracy", "cohen_kappa", "krippendorff_alpha", "gwet_ac1"}
    assert a.ceiling is not None and [s.replaced for s in a.ceiling.substitution] == [f"expert:{e}" for e in EXPERTS]
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    agreement = data["results"][0]["agreement"]
    assert agreement["intervals"]["cohen_kappa"]["n_resamples"] == 500
    assert len(agreement["ceiling"]["leave_one_out"]) == 6
    assert all(row["interval"] is not None for row in agreement["ceiling"]["substitution"])
    # the same seed gives the same report; no resamples gives none
    assert study_report(study, n_resamples=500, seed=3).to_dict() == report.to_dict()
    assert study_report(study, n_resamples=0).results[0].agreement.intervals == {}  # type: ignore[union-attr]


def test_report_json_from_the_cli(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_study(studies_dir, grouped=False).close()
    assert main(["--studies-dir", str(studies_dir), "report", "s3", "--json", "--resamples", "200", "--seed", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    agreement = data["results"][0]["agreement"]
    assert agreement["group"] is None and agreement["n_resamples"] == 200 and agreement["seed"] == 1
    ceiling = agreement["ceiling"]
    assert [r["replaced"] for r in ceiling["substitution"]] == [f"expert:{e}" for e in EXPERTS]
    for row in ceiling["substitution"]:
        assert row["interval"]["low"] <= row["difference"] <= row["interval"]["high"]
    for interval in agreement["intervals"].values():
        if interval["low"] is not None:
            assert interval["low"] <= interval["estimate"] <= interval["high"]

    assert main(["--studies-dir", str(studies_dir), "report", "s3", "--resamples", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["agreement"]["intervals"] == {}

    assert main(["--studies-dir", str(studies_dir), "report", "s3"]) == 0
    text = capsys.readouterr().out
    assert "could the judge stand in for an expert?" in text
    assert "replacing bob by the judge changes the experts' alpha by" in text
    assert "Cohen's kappa" in text and "[" in text


# The Agreement page (AppTest): the app's studies folder is ``app_studies_dir`` (tests/conftest.py).


def test_agreement_page_shows_intervals_and_the_ceiling(app_studies_dir: Path) -> None:
    make_study(app_studies_dir).close()
    at = go(open_in_sidebar(start(), "s3"), "pages/4_agreement.py")
    frame = at.dataframe[0].value
    # Shown as text, rounded as every figure of the app is (n/a where undefined, never an empty cell).
    assert frame.iloc[0]["Cohen's kappa"] == "0.900"
    ci = frame.iloc[0]["Cohen's kappa 95% CI"]
    assert ci.startswith("[") and " – " in ci
    assert "Could the judge stand in for an expert?" in [s.value for s in at.subheader]
    loo = at.table[1].value
    assert list(loo.index) == list(EXPERTS)
    assert "Judge vs the same consensus" in loo.columns
    sentences = [m.value for m in at.markdown if "by the judge changes the experts' alpha" in m.value]
    assert len(sentences) == 3 and all("\\[" in s for s in sentences)  # with its interval, escaped
    stats = at.table[0].value
    assert "Gwet's AC1" in stats.index


def test_subgroups_per_category_in_the_report_json_and_on_the_page(app_studies_dir: Path) -> None:
    make_study(app_studies_dir, categories=True).close()
    study = StudyStore(app_studies_dir).open("s3")
    data = json.loads(json.dumps(study_report(study, n_resamples=200).to_dict(), allow_nan=False))
    study.close()
    subgroups = data["results"][0]["subgroups"]
    assert list(subgroups) == ["category"]
    rows = subgroups["category"]
    assert [r["value"] for r in rows] == ["<b>cards</b>", "loans", None]
    assert [r["agreement"]["n_compared"] for r in rows] == [18, 18, 4]
    assert all(any("fewer than 30" in w for w in r["agreement"]["warnings"]) for r in rows[:2])
    assert all("cohen_kappa" in r["agreement"]["intervals"] for r in rows[:2])
    # 4 compared items, under the study's minimum of 10: no statistic, no interval, and the reason.
    few = rows[2]["agreement"]
    assert few["metrics"]["cohen_kappa"] is None and few["intervals"] == {}
    assert any("fewer than this study's minimum of 10" in w for w in few["warnings"])

    at = go(open_in_sidebar(start(), "s3"), "pages/4_agreement.py")
    assert "Agreement by category" in [s.value for s in at.subheader]
    table = at.table[2].value
    assert list(table.index) == [r"\<b\>cards\</b\>", "loans", "(no category)"]  # user text escaped
    assert list(table["Note"]) == ["fewer than 30 items"] * 2 + [
        "n/a: fewer than this study's minimum of 10 compared items"
    ]
    assert table.loc["(no category)", "Accuracy"] == "n/a"


def test_no_subgroups_without_categories(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    assert study_report(study, n_resamples=0).to_dict()["results"][0]["subgroups"] is None  # type: ignore[index]
