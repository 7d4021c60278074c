"""The study report (library, `report --json`, CLI text) carries the judge profile (#17 point 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.presentation.report import study_report
from selene_eval.prompts import default_rubric
from selene_eval.study import StudySpec, StudyStore
from selene_eval.testing.studies import make_study as build_study
from selene_eval.testing.studies import slipping_experts, yes_if_good

SPEC = JudgeSpec(backend="scripted", model="scripted-test")
EXPERTS = ("ann", "bob", "cy")


answer = yes_if_good


def make_study(studies_dir: Path, n: int = 60, n_labelled: int = 40, slug: str = "p17"):
    """``n`` items of which the first ``n_labelled`` carry expert labels; the judge judges them all."""
    return build_study(
        studies_dir,
        n,
        slug=slug,
        title="partly labelled",
        experts=EXPERTS,
        labels=slipping_experts(EXPERTS),
        n_labelled=n_labelled,
        response=lambda i: (
            "a good answer" if (i % 2) != (i % 9 == 0) else "a bad answer"
        ),  # the judge errs on every 9th
        answers=answer,
        scripted_judge=SPEC,
        batch_size=8,
    )


def test_study_with_unlabelled_items_reports_the_profile(studies_dir: Path) -> None:
    study = make_study(studies_dir)
    report = study_report(study, n_resamples=200, seed=1)
    (result,) = report.results
    profile = result.profile
    assert profile is not None
    assert profile.unlabelled.n_unlabelled == 20 and profile.unlabelled.undefined is None
    assert profile.errors.n_compared == result.agreement.n_compared  # type: ignore[union-attr]
    assert profile.unlabelled.rogan_gladen is not None
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["results"][0]["profile"]["unlabelled"]["n_unlabelled"] == 20


def test_report_json_and_text_from_the_cli(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_study(studies_dir).close()
    assert main(["--studies-dir", str(studies_dir), "report", "p17", "--json", "--resamples", "200"]) == 0
    profile = json.loads(capsys.readouterr().out)["results"][0]["profile"]
    assert profile["error_profile"]["overall"]["balanced_accuracy"]["estimate"] is not None
    assert main(["--studies-dir", str(studies_dir), "report", "p17", "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "Majority-label baseline" in out and "Using the judge on the unlabelled items (20 unlabelled" in out


def test_a_study_whose_items_are_all_unlabelled_reports_what_is_missing(studies_dir: Path) -> None:
    # main failed here with "At least one expert column is needed": no item carried an expert label
    study = make_study(studies_dir, n=30, n_labelled=0, slug="bare")
    (result,) = study_report(study, n_resamples=200).results
    assert result.agreement is not None and result.agreement.n_compared == 0
    assert result.agreement.n_unlabelled == 30
    assert "have experts label a random sample" in result.profile.unlabelled.undefined  # type: ignore[union-attr]


def test_html_report_has_the_profile_section_and_its_methods_sentence(studies_dir: Path) -> None:
    import re

    from selene_eval.presentation.html import build_html_report

    study = make_study(studies_dir)
    html = build_html_report(study, n_resamples=200, seed=2)
    section = re.search(r'<section id="profile">(.*?)</section>', html, re.S)
    assert section is not None
    body = section.group(1)
    for text in (
        "Majority-label baseline",
        "Balanced accuracy",
        "Sensitivity (recall)",
        "unanimous items",
        "PPI++",
        "20 unlabelled",
        "Rogan-Gladen corrected rate",
    ):
        assert text in body, text
    methods = re.search(r'<section id="methods">(.*?)</section>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "PPI++, Angelopoulos et al. 2023" in methods and "Rogan-Gladen (1978)" in methods


def test_html_report_says_why_the_unlabelled_part_is_empty(studies_dir: Path) -> None:
    import re

    from selene_eval.presentation.html import build_html_report

    study = make_study(studies_dir, n=40, n_labelled=40, slug="full")
    html = build_html_report(study, n_resamples=200, seed=2)
    body = re.search(r'<section id="profile">(.*?)</section>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "every item has an expert label" in body


def test_html_report_of_an_unjudged_study_says_the_profile_needs_judgments(studies_dir: Path) -> None:
    import re

    from selene_eval.presentation.html import build_html_report

    items = [Item(str(i), f"Q{i}?", "an answer", experts={"ann": "yes" if i % 2 else "no"}) for i in range(12)]
    spec = StudySpec(
        slug="unjudged",
        title="unjudged",
        task=TaskType.BINARY,
        experts=["ann"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    study = StudyStore(studies_dir).create(spec, items)
    html = build_html_report(study, n_resamples=0)
    body = re.search(r'<section id="profile">(.*?)</section>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "No judgments yet" in body
