"""The paper recipes end to end: ``reproduce NAME --from PATH`` imports, judges and reports in one command.

* CRAFT-MD on workbooks written here in the upstream layout, judged by the tiny real Llama (4-bit, as Selene Mini
  runs) scripted to answer "No": its accuracy must equal the majority-label baseline the recipe prints.
* CRAFT-MD on the shared upstream files (all 45 cases) with the scripted judge: the baseline and the experts'
  own agreement must be the shared README's figures, and a second run judges nothing again.
* FinanceBench on the shared demo part with the tiny model (a pilot of a few items per study).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.cli.reproduce import RECIPE_NAMES
from selene_eval.recipes import RECIPES
from selene_eval.testing.craftmd_layout import D1, write_craftmd


def reproduce(capsys: pytest.CaptureFixture[str], studies_dir: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--studies-dir", str(studies_dir), "reproduce", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def tiny_no_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real Llama that always answers Selene's contract with "No"."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "no", answer_label="No")


@pytest.mark.model
def test_craftmd_recipe_on_the_original_layout_with_the_tiny_model(
    tmp_path: Path, studies_dir: Path, tiny_no_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_craftmd(tmp_path / "craft-md")
    code, out, err = reproduce(
        capsys,
        studies_dir,
        "craftmd",
        "--from",
        str(source),
        "--model",
        str(tiny_no_model),
        "--json",
        "--resamples",
        "0",
    )
    assert code == 0, err
    result = json.loads(out)
    assert [row["study"] for row in result["rows"]] == [s.slug for s in RECIPES["craftmd"].studies]
    for row in result["rows"]:
        assert row["n_items"] == 6 and row["n_compared"] == 6 and row["n_unparseable"] == 0
        # A judge that always says "no" scores exactly the baseline of always answering the majority label "no".
        assert row["majority_baseline"]["label"] == "no"
        assert row["accuracy"] == pytest.approx(row["majority_baseline"]["accuracy"])
        # Both dermatologists labelled the two case_1 rows of the fixture.
        assert row["experts"]["n"] == 2 and row["experts"]["experts"] == ["dermatologist_1", "dermatologist_2"]
        assert {"selene_mini", "llama_3_1_8b_instruct"} == set(row["paper"])
    by_study = {row["study"]: row for row in result["rows"]}
    # Q1 resolved labels: yes (tie-break), no, no, no, yes, no -> always "no" is right on 4 of 6.
    assert by_study["paper-craftmd-diagnosis"]["accuracy"] == pytest.approx(4 / 6)
    assert by_study["paper-craftmd-diagnosis"]["experts"]["accuracy"] == pytest.approx(0.5)  # d1/d2 agree on 1 of 2
    assert result["mean_accuracy"] == pytest.approx(sum(r["accuracy"] for r in result["rows"]) / 3)
    assert result["paper_mean"] == {"selene_mini": 0.74, "llama_3_1_8b_instruct": 0.64}
    assert "Judge: " in err and str(tiny_no_model.name) in err


def test_craftmd_recipe_on_the_shared_upstream_files_gives_the_readme_figures_and_resumes(
    shared_datasets: Path, studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = shared_datasets / "craftmd_expert_validation" / "original"
    if not original.is_dir():
        pytest.skip("the shared CRAFT-MD original files are absent")
    args = ("craftmd", "--from", str(original), "--backend", "scripted", "--resamples", "200")
    code, out, err = reproduce(capsys, studies_dir, *args)
    assert code == 0, err
    # The text report: the paper's figure beside ours, the baseline, kappa and AC1 for each question.
    assert "paper: Selene Mini 0.92, Llama-3.1-8B-Instruct 0.79" in out
    assert "majority label  0.93   (always answering 'no'; no 167, yes 13)" in out
    assert "majority label  0.67   (always answering 'no'; no 121, yes 59)" in out
    assert "majority label  0.59   (always answering 'no'; no 107, yes 73)" in out
    assert out.count("Cohen's kappa") == 3 and out.count("Gwet's AC1") == 3
    assert "mean accuracy" in out and "paper: Selene Mini 0.74, Llama-3.1-8B-Instruct 0.64" in out
    # The experts' own agreement, from the shared README: 56, 49 and 48 of 60; kappa 0.47, 0.62, 0.58.
    assert "on the 60 items both labelled: accuracy 0.93, kappa 0.47" in out
    assert "on the 60 items both labelled: accuracy 0.82, kappa 0.62" in out
    assert "on the 60 items both labelled: accuracy 0.80, kappa 0.58" in out
    assert "Judged 540, 0 from the store, 0 failed" in err

    code, out_again, err = reproduce(capsys, studies_dir, *args)
    assert code == 0 and "Judged 0," in err  # every judgment is reused: the same command resumes
    assert out_again == out


@pytest.mark.model
def test_financebench_recipe_on_the_shared_demo_data_with_the_tiny_model(
    shared_datasets: Path, studies_dir: Path, tiny_no_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_datasets / "financebench"
    code, out, err = reproduce(
        capsys,
        studies_dir,
        "financebench",
        "--from",
        str(source),
        "--model",
        str(tiny_no_model),
        "--limit",
        "12",
        "--json",
        "--resamples",
        "0",
    )
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["variant"] == "selene-ref" and row["n_judged"] == 12 and row["n_items"] == 736
    assert row["accuracy"] == pytest.approx(row["majority_baseline"]["counts"].get("no", 0) / 12)
    assert row["experts"] is None and row["paper"] == {"selene_mini": 0.717, "llama_3_1_8b_instruct": 0.664}
    from selene_eval.study import StudyStore

    spec = StudyStore(studies_dir).open("paper-financebench").spec
    assert spec.rubric is not None and spec.rubric.objective.startswith("Given the reference answer")
    assert spec.label_map.get("Refusal") == "no"


def test_every_recipe_is_offered_by_the_command() -> None:
    assert set(RECIPE_NAMES) == set(RECIPES)


def test_wrong_recipe_folder_and_limit_are_readable_errors(
    tmp_path: Path, studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = reproduce(capsys, studies_dir, "nejm", "--from", str(tmp_path), "--backend", "scripted")
    assert code == 2 and "No recipe named 'nejm'; known: craftmd, financebench" in err
    code, _, err = reproduce(capsys, studies_dir, "craftmd", "--from", str(tmp_path), "--backend", "scripted")
    assert code == 2 and "has no validation_clinicalllm_patientai_d1.xlsx" in err and "datasets download craftmd" in err
    code, _, err = reproduce(capsys, studies_dir, "craftmd", "--from", str(tmp_path), "--limit", "0")
    assert code == 2 and "--limit must be at least 1" in err
    assert not list(studies_dir.glob("paper-*"))  # nothing half-made


def test_a_study_of_the_recipe_holding_other_data_is_refused_until_overwrite(
    tmp_path: Path, studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_craftmd(tmp_path / "first")
    code, _, err = reproduce(
        capsys, studies_dir, "craftmd", "--from", str(first), "--backend", "scripted", "--json", "--resamples", "0"
    )
    assert code == 0, err
    other = write_craftmd(tmp_path / "other", d1={**D1, ("GPT-4", "case_2"): ("Yes", "Yes", "Yes")})
    code, _, err = reproduce(capsys, studies_dir, "craftmd", "--from", str(other), "--backend", "scripted")
    assert code == 2 and "holds other data" in err and "--overwrite" in err
    code, out, err = reproduce(
        capsys,
        studies_dir,
        "craftmd",
        "--from",
        str(other),
        "--backend",
        "scripted",
        "--json",
        "--resamples",
        "0",
        "--overwrite",
    )
    assert code == 0, err
    from selene_eval.study import StudyStore

    study = StudyStore(studies_dir).open("paper-craftmd-diagnosis")
    assert {i.item_id: i.experts for i in study.items}["case_2:gpt4_1106:Q1"]["dermatologist_1"] == "yes"
