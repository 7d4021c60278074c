"""The CRAFT-MD adapter on workbooks written in the upstream layout
(:mod:`selene_eval.testing.craftmd_layout`), and on the shared original files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from selene_eval.adapters import CRAFTMD, create_study_from_dataset, git_blob_sha1
from selene_eval.adapters.craftmd import ANNOTATIONS_DIR, CASES_FILE, QUESTIONS, WORKBOOKS
from selene_eval.core.expert_labels import expert_columns
from selene_eval.core.items import items_frame
from selene_eval.errors import DataError, StatisticsError, ValidationFailed
from selene_eval.stats.baseline import majority_baseline
from selene_eval.stats.consensus import consensus
from selene_eval.study import StudyStore
from selene_eval.testing.craftmd_layout import CASES, D1, HEADER, case_cells, write_craftmd


def _rows(location: Path, question: str = "diagnosis", **options: str) -> dict[str, dict]:
    frame = CRAFTMD.load(location, {"question": question, **options}).table.frame
    return {row["id"]: row for row in frame.to_dict("records")}


def _label(value: object) -> str | None:
    return value if isinstance(value, str) else None


def test_reads_every_label_of_the_original_layout(tmp_path: Path) -> None:
    rows = _rows(write_craftmd(tmp_path / "craft-md"))
    # 2 sheets x 3 cases; ids as in the shared tidy extract: case:results_dir:question.
    assert sorted(rows) == sorted(f"{case}:{folder}:Q1" for case in CASES for folder in ("gpt4_1106", "llama2-7b"))
    gpt4_case1 = rows["case_1:gpt4_1106:Q1"]
    assert (gpt4_case1["dermatologist_1"], gpt4_case1["dermatologist_2"], gpt4_case1["dermatologist_3_tiebreak"]) == (
        "yes",
        "no",
        "yes",
    )
    assert gpt4_case1["clinical_llm"] == "GPT-4" and gpt4_case1["case_source"] == "dermatology_private"
    assert gpt4_case1["conversation"] == case_cells("GPT-4", "case_1")[3]  # verbatim, whitespace kept
    assert "Vignette of case 1" in gpt4_case1["vignette"] and "What is the final diagnosis?" in gpt4_case1["vignette"]
    assert "Eczema" in gpt4_case1["diagnoses"] and "Contact dermatitis" in gpt4_case1["diagnoses"]
    # d1 alone on the MedQA case, d2 alone on the Derm-Public case.
    assert [_label(rows["case_2:llama2-7b:Q1"][e]) for e in WORKBOOKS] == ["no", None, None]
    assert [_label(rows["case_3:gpt4_1106:Q1"][e]) for e in WORKBOOKS] == [None, "yes", None]
    assert rows["case_3:gpt4_1106:Q1"]["case_source"] == "dermatology_public"


def test_each_question_reads_its_own_column_and_gets_its_own_rubric(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path)
    for question, column in (("diagnosis", 0), ("history", 1), ("terminology", 2)):
        loaded = CRAFTMD.load(root, {"question": question})
        rows = {r["id"]: r for r in loaded.table.frame.to_dict("records")}
        q = QUESTIONS[question].column
        for (sheet, case), answers in D1.items():
            folder = {"GPT-4": "gpt4_1106", "LLaMA2": "llama2-7b"}[sheet]
            assert rows[f"{case}:{folder}:{q}"]["dermatologist_1"] == answers[column].lower()
        assert loaded.rubric == QUESTIONS[question].rubric
        assert set(loaded.rubric.descriptions) == {"yes", "no"}
        assert q in loaded.title


def test_flat_folder_and_repository_copy_read_the_same(tmp_path: Path) -> None:
    repo, flat = write_craftmd(tmp_path / "repo"), write_craftmd(tmp_path / "flat", flat=True)
    assert _rows(repo, "history") == _rows(flat, "history")
    # A workbook itself may be given: its folder is read.
    assert _rows(flat / WORKBOOKS["dermatologist_1"], "history") == _rows(flat, "history")


def test_the_experts_majority_is_the_tie_broken_label_and_the_study_keeps_subgroups(tmp_path: Path) -> None:
    study = create_study_from_dataset(
        CRAFTMD,
        write_craftmd(tmp_path / "data"),
        StudyStore(tmp_path / "studies"),
        "craft-q1",
        options={"question": "diagnosis"},
    )
    frame = items_frame(study.items)
    experts = expert_columns(frame)
    assert [e.removeprefix("expert:") for e in experts] == list(WORKBOOKS)
    resolved = dict(zip(frame["item_id"], consensus(frame[experts], "nominal", order=["yes", "no"]).values))
    # d1 yes, d2 no, tie-breaker yes -> yes; d1 and d2 agree on no -> no; a single expert's label stands.
    assert resolved == {
        "case_1:gpt4_1106:Q1": "yes",
        "case_1:llama2-7b:Q1": "no",
        "case_2:gpt4_1106:Q1": "no",
        "case_2:llama2-7b:Q1": "no",
        "case_3:gpt4_1106:Q1": "yes",
        "case_3:llama2-7b:Q1": "no",
    }
    assert {i.group_id for i in study.items} == set(CASES)  # cases are the bootstrap groups
    assert study.spec.mapping["subgroups"] == ["clinical_llm", "case_source"]
    assert study.spec.rubric == QUESTIONS["diagnosis"].rubric
    assert "MIT" in study.spec.description and "tie" in study.spec.description


def test_diagnoses_can_be_hidden_from_the_judge(tmp_path: Path) -> None:
    loaded = CRAFTMD.load(write_craftmd(tmp_path), {"question": "diagnosis", "diagnoses": "hidden"})
    assert loaded.mapping.context is None
    assert loaded.table.frame["diagnoses"].isna().all()


def test_another_file_than_the_original_ones_is_refused(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, flat=True)
    tidy = root / "craftmd_expert_validation.jsonl"  # e.g. the shared tidy extract: not the original layout
    tidy.write_text("{}\n", encoding="utf-8")
    with pytest.raises(DataError, match="craftmd_expert_validation.jsonl is not one of CRAFT-MD's original files"):
        CRAFTMD.load(tidy)


def test_a_missing_workbook_is_named_with_the_fix(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, flat=True)
    (root / WORKBOOKS["dermatologist_3_tiebreak"]).unlink()
    with pytest.raises(DataError, match="validation_clinicallm_patientai_tiebreak_d3.xlsx.*datasets download craftmd"):
        CRAFTMD.load(root)


def test_a_case_missing_from_the_cases_csv_is_an_error(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, flat=True, d1={**D1, ("GPT-4", "case_7"): ("No", "No", "No")})
    with pytest.raises(DataError, match="does not list case.*case_7"):
        CRAFTMD.load(root)


def test_a_file_that_is_not_a_workbook_is_an_error(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, flat=True)
    (root / WORKBOOKS["dermatologist_2"]).write_text("not a workbook", encoding="utf-8")
    with pytest.raises(DataError, match="Cannot read .*d2.xlsx as an Excel workbook"):
        CRAFTMD.load(root)


def test_a_sheet_without_question_columns_is_an_error(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, flat=True)
    workbook = openpyxl.Workbook()
    workbook.active.title = "GPT-4"
    workbook.active.append(HEADER)
    workbook.save(root / WORKBOOKS["dermatologist_1"])
    with pytest.raises(DataError, match="Sheet 'GPT-4' of .*d1.xlsx has no column Q1, Q2, Q3"):
        CRAFTMD.load(root)


def test_a_label_other_than_yes_or_no_blocks_the_import_and_is_named(tmp_path: Path) -> None:
    root = write_craftmd(tmp_path, d1={**D1, ("GPT-4", "case_2"): ("Maybe", "Yes", "No")})
    with pytest.raises(ValidationFailed, match="maybe"):
        create_study_from_dataset(CRAFTMD, root, StudyStore(tmp_path / "studies"), "craft")


def test_download_pins_every_file_by_commit_and_git_blob() -> None:
    paths = {remote.path for remote in CRAFTMD.files}
    assert paths >= {f"{ANNOTATIONS_DIR}/{name}" for name in WORKBOOKS.values()} | {CASES_FILE}
    for remote in CRAFTMD.files:
        assert "3bb2737d4fae5d64694d38456f878c2c5d35576a" in remote.url and remote.url.endswith(remote.path)
        assert remote.git_blob_sha1 and len(remote.git_blob_sha1) == 40


def test_downloaded_files_land_in_the_repository_layout_the_adapter_reads(tmp_path: Path) -> None:
    from dataclasses import replace

    source = write_craftmd(tmp_path / "upstream")
    by_url = {}
    files = []
    for remote in CRAFTMD.files:
        local = source / remote.path
        data = local.read_bytes() if local.is_file() else b"MIT licence\n"
        by_url[remote.url] = data
        files.append(replace(remote, git_blob_sha1=git_blob_sha1(data)))  # the fixture's own checksums
    adapter = replace(CRAFTMD, files=tuple(files))
    folder = adapter.download(tmp_path / "download", opener=by_url.__getitem__)
    assert _rows(folder) == _rows(source)


# --- the shared copy of the upstream files (all 45 cases) ------------------------------------------------------------

# From the shared README: double-labelled (model, case) pairs 60 per question, d1 = d2 on 49 / 48 / 56 of them,
# 27 tie-breaks; against the resolved label, always answering "no" scores 0.672 / 0.594 / 0.928 (121 / 107 / 167 of 180).
SHARED = {"diagnosis": (49, 121), "history": (48, 107), "terminology": (56, 167)}


@pytest.mark.parametrize("question", sorted(SHARED))
def test_shared_original_files_give_the_readme_counts(shared_datasets: Path, question: str) -> None:
    original = shared_datasets / "craftmd_expert_validation" / "original"
    if not original.is_dir():
        pytest.skip("the shared CRAFT-MD original files are absent")
    frame = CRAFTMD.load(original, {"question": question}).table.frame
    assert len(frame) == 180 and frame["case_id"].nunique() == 45
    assert Counter(frame["case_source"]) == {"MedQA_USMLE": 60, "dermatology_public": 60, "dermatology_private": 60}
    both = frame.dropna(subset=["dermatologist_1", "dermatologist_2"])
    agreed, n_no = SHARED[question]
    assert len(both) == 60 and int((both["dermatologist_1"] == both["dermatologist_2"]).sum()) == agreed
    assert frame["dermatologist_3_tiebreak"].notna().sum() == 60 - agreed  # exactly the disagreements
    resolved = consensus(frame[list(WORKBOOKS)], "nominal", order=["yes", "no"])
    assert resolved.n_no_majority == 0 and resolved.n_unlabelled == 0
    baseline = majority_baseline(resolved.values)
    assert (baseline.label, baseline.counts["no"], baseline.n) == ("no", n_no, 180)


# --- the majority-label baseline --------------------------------------------------------------------------------------


def test_majority_baseline_by_hand() -> None:
    # no, no, no, yes (+ two missing): always "no" is right on 3 of the 4 labelled items.
    baseline = majority_baseline(["no", "yes", None, "no", float("nan"), "no"])
    assert (baseline.label, baseline.accuracy, baseline.n, baseline.counts, baseline.tied) == (
        "no",
        0.75,
        4,
        {"no": 3, "yes": 1},
        (),
    )


def test_majority_baseline_names_a_tie_and_refuses_no_labels() -> None:
    baseline = majority_baseline(["yes", "no"])
    assert (baseline.label, baseline.accuracy, baseline.tied) == ("no", 0.5, ("yes",))
    with pytest.raises(StatisticsError, match="at least one reference label"):
        majority_baseline([None, float("nan")])


# --- the rubric files in docs/rubrics are the adapters' rubrics, for `import --rubric` -------------------------------


def test_the_rubric_files_are_the_adapters_rubrics() -> None:
    import yaml

    from selene_eval.adapters.public import _FB_RUBRICS
    from selene_eval.prompts.rubric import Rubric

    rubrics = Path(__file__).resolve().parents[2] / "docs" / "rubrics"
    expected = {f"craftmd-{name}.yaml": q.rubric for name, q in QUESTIONS.items()}
    expected["financebench-paper.yaml"] = _FB_RUBRICS["paper"]
    for name, rubric in expected.items():
        assert Rubric.model_validate(yaml.safe_load((rubrics / name).read_text(encoding="utf-8"))) == rubric, name
