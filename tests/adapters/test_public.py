"""Public dataset adapters on the shared copies: valid studies whose label counts match each dataset's README.

The shared copies are the ``demo`` (or ``holdout``) parts described in each README; the expected counts
below are copied from those READMEs' tables, and the part is recognised by its size. Tests skip when the
shared datasets are absent. The HealthBench and MT-Bench adapters have no shared copy: they are tested on
small files written here in the published record format.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from selene_eval.adapters import ADAPTERS, create_study_from_dataset, get_adapter, git_blob_sha1
from selene_eval.adapters.base import RemoteFile, verify
from selene_eval.core.expert_labels import expert_columns
from selene_eval.core.items import items_frame
from selene_eval.core.tasks import TaskType
from selene_eval.errors import DataError, StudyError
from selene_eval.stats.consensus import consensus
from selene_eval.study import StudyStore


def _study(name: str, path: Path, studies_dir: Path, **options: str):
    return create_study_from_dataset(get_adapter(name), path, StudyStore(studies_dir), name, options=options)


def _majority(study) -> Counter:
    frame = items_frame(study.items)
    experts = expert_columns(frame)
    values = consensus(frame[experts], study.spec.task.level, order=list(study.spec.task.expert_labels)).values
    return Counter(v for v in values if v is not None)


def _all_labels(study) -> Counter:
    frame = items_frame(study.items)
    return Counter(v for c in expert_columns(frame) for v in frame[c] if isinstance(v, str))


# K-QA README: demo 22 questions, 185 rows, majority Entailment/Neutral/Contradiction 67/111/7; holdout 28, 214, 86/123/5.
KQA_PARTS = {185: (22, 67, 111, 7), 214: (28, 86, 123, 5), 399: (50, 153, 234, 12)}


def test_kqa(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("kqa", shared_datasets / "kqa_physician_nli", studies_dir)
    assert study.spec.task is TaskType.BINARY and study.spec.experts == ["label_0", "label_1", "label_2"]
    n_questions, entail, neutral, contradict = KQA_PARTS[len(study.items)]
    assert len({i.group_id for i in study.items}) == n_questions
    # Entailment = yes: a majority of "yes" is exactly a majority of Entailment in the three-way labels.
    assert _majority(study) == Counter({"yes": entail, "no": neutral + contradict})
    assert all(i.reference for i in study.items)  # the physician statement is the judge's reference
    assert study.spec.variants == ["selene-ref"]
    assert "MIT" in study.spec.description


def test_kqa_contradiction_question(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("kqa", shared_datasets / "kqa_physician_nli", studies_dir, question="contradiction")
    contradict = KQA_PARTS[len(study.items)][3]
    assert _majority(study)["yes"] == contradict


# FinanceBench README: demo 46 questions, 736 answers, Correct/Incorrect/Refusal 350/154/232; holdout 104, 1664, 785/374/505.
FB_PARTS = {736: (46, 350, 154, 232), 1664: (104, 785, 374, 505), 2400: (150, 1135, 528, 737)}


def test_financebench_refusals_as_no(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("financebench", shared_datasets / "financebench", studies_dir)
    n_questions, correct, incorrect, refusal = FB_PARTS[len(study.items)]
    assert len({i.group_id for i in study.items}) == n_questions
    assert _all_labels(study) == Counter({"yes": correct, "no": incorrect + refusal})
    assert len({i.category for i in study.items}) == 16  # one category per model configuration
    # ... and subgroups by answering model and by retrieval set-up on their own
    assert {i.subgroups["model"] for i in study.items} == {"claude-2", "gpt-4-1106-preview", "gpt-4", "llama2"}
    assert len({i.subgroups["eval_mode"] for i in study.items}) == 7
    assert "refusals count as not correct" in study.spec.description


def test_financebench_refusals_dropped(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("financebench", shared_datasets / "financebench", studies_dir, refusal="drop")
    for _, correct, incorrect, _refusal in FB_PARTS.values():
        if len(study.items) == correct + incorrect:
            assert _all_labels(study) == Counter({"yes": correct, "no": incorrect})
            break
    else:
        pytest.fail(f"{len(study.items)} items match no part of the README")
    assert "left out" in study.spec.description


# ExpertQA README: demo 49 answers (34/11/4 medicine/business/economics), 277 claims; holdout 86 (67/12/7), 470.
# Claim correctness over the whole subset (747 claims): 417/213/78/11/26 from Definitely correct down, 2 missing.
EQA_PARTS = {277: (34, 11, 4), 470: (67, 12, 7), 747: (101, 23, 11)}


def test_expertqa(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("expertqa", shared_datasets / "expertqa_med_fin", studies_dir)
    assert study.spec.task is TaskType.ABSOLUTE
    medicine, business, economics = EQA_PARTS[len(study.items)]
    answers = {(i.group_id, i.category) for i in study.items}
    assert Counter(c for _, c in answers) == Counter(
        {"Healthcare / Medicine": medicine, "Business": business, "Economics": economics}
    )
    labels = _all_labels(study)
    assert sum(labels.values()) >= len(study.items) - 2 and set(labels) <= set("12345")
    if len(study.items) == 747:
        assert labels == Counter({"5": 417, "4": 213, "3": 78, "2": 11, "1": 26})
    assert all(i.context for i in study.items)  # the whole answer goes along as context


# PandaLM README: demo 314 items, majority 1/2/0 = 147/140/27; holdout 685, 275/332/78.
PANDA_PARTS = {314: (147, 140, 27), 685: (275, 332, 78), 999: (422, 472, 105)}


def test_pandalm(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("pandalm", shared_datasets / "pandalm_human_pairwise", studies_dir)
    assert study.spec.task is TaskType.PAIRWISE and len(study.spec.experts) == 3
    a, b, tie = PANDA_PARTS[len(study.items)]
    assert _majority(study) == Counter({"A": a, "B": b, "tie": tie})
    # Some upstream responses are empty (the weak 2023 models said nothing); most have both.
    assert sum(1 for i in study.items if i.response and i.response_b) > 0.9 * len(study.items)


def test_an_adapter_refuses_another_dataset(shared_datasets: Path, studies_dir: Path) -> None:
    with pytest.raises(DataError, match="does not look like"):
        _study("kqa", shared_datasets / "pandalm_human_pairwise" / "testset-v1.json", studies_dir)
    with pytest.raises(DataError, match="Cannot read|does not look like"):
        _study("pandalm", shared_datasets / "expertqa_med_fin" / "expertqa_med_fin.jsonl", studies_dir)
    with pytest.raises(DataError, match="does not exist"):
        _study("kqa", shared_datasets / "no-such-folder", studies_dir)


def test_existing_studies_are_not_overwritten(shared_datasets: Path, studies_dir: Path) -> None:
    _study("kqa", shared_datasets / "kqa_physician_nli", studies_dir)
    with pytest.raises(StudyError, match="already exists"):
        _study("kqa", shared_datasets / "kqa_physician_nli", studies_dir)


def test_unknown_names_and_options_say_what_exists() -> None:
    with pytest.raises(DataError, match="kqa, financebench"):
        get_adapter("nope")
    with pytest.raises(DataError, match="refusal"):
        ADAPTERS["financebench"].resolve_options({"refusal": "maybe"})
    with pytest.raises(DataError, match="no option"):
        ADAPTERS["pandalm"].resolve_options({"x": "y"})


def test_every_adapter_states_licence_source_and_pinned_files() -> None:
    for adapter in ADAPTERS.values():
        assert adapter.licence and len(adapter.licence_text) > 40 and adapter.source_url.startswith("https://")
        for remote in adapter.files:
            assert remote.url.startswith("https://")
            # Pinned: a commit id or a dated file name in the URL.
            assert any(len(part) == 40 for part in remote.url.split("/")) or "2025-" in remote.url


# --- downloads (no network: a local opener stands in for it) ------------------------------------------------------


def test_git_blob_ids_match_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_download_checks_checksums_and_keeps_good_files(tmp_path: Path) -> None:
    from dataclasses import replace

    content = b"id,x\n1,2\n"
    good = RemoteFile(
        "data/a.csv",
        "https://example.invalid/a.csv",
        git_blob_sha1=git_blob_sha1(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    adapter = replace(ADAPTERS["kqa"], files=(good,))
    fetched: list[str] = []

    def opener(url: str) -> bytes:
        fetched.append(url)
        return content

    folder = adapter.download(tmp_path / "dl", opener=opener)
    assert (folder / "data" / "a.csv").read_bytes() == content and fetched == [good.url]
    adapter.download(tmp_path / "dl", opener=opener)
    assert fetched == [good.url]  # already there and verified: not fetched again

    bad = replace(adapter, files=(replace(good, path="b.csv"),))
    with pytest.raises(DataError, match="does not match its pinned checksum"):
        bad.download(tmp_path / "dl", opener=lambda url: content + b"changed")
    assert not (tmp_path / "dl" / "b.csv").exists()

    def offline(url: str) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(DataError, match="--from"):
        replace(adapter, files=(replace(good, path="c.csv"),)).download(tmp_path / "dl", opener=offline)
    with pytest.raises(DataError, match="cannot be downloaded automatically"):
        ADAPTERS["mtbench"].download(tmp_path / "dl")


def test_verify_accepts_a_recorded_prefix_only_when_it_matches() -> None:
    data = b"x"
    assert verify(data, RemoteFile("x", "u", git_blob_sha1=git_blob_sha1(data)[:8]))
    assert not verify(data, RemoteFile("x", "u", git_blob_sha1="00000000"))


# --- HealthBench and MT-Bench on files written in their published format --------------------------------------


def test_healthbench_meta_eval_format(tmp_path: Path, studies_dir: Path) -> None:
    rows = []
    for n in range(12):
        rows.append(
            {
                "prompt": [{"role": "user", "content": f"I have symptom {n}. What should I do?"}],
                "completion": f"Answer {n}",
                "prompt_id": f"p{n // 2}",
                "completion_id": f"c{n}",
                "rubric": f"Advises seeing a doctor for symptom {n}",
                "category": "cluster:emergency",
                "binary_labels": [True, n % 3 != 0, n % 2 == 0],
                "anonymized_physician_ids": ["d1", "d2", f"d{3 + n % 2}"],
            }
        )
    path = tmp_path / "2025-05-07-06-14-12_oss_meta_eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    study = _study("healthbench", tmp_path, studies_dir)
    assert len(study.items) == 12 and set(study.spec.experts) == {"d1", "d2", "d3", "d4"}
    assert sum(1 for i in study.items for v in i.experts.values() if v is not None) == 36
    assert _majority(study) == Counter("yes" if sum([True, n % 3 != 0, n % 2 == 0]) >= 2 else "no" for n in range(12))
    assert "Physician-written criterion" in (study.items[0].context or "")


def test_mtbench_human_judgments_format(tmp_path: Path, studies_dir: Path) -> None:
    def conversation(model: str) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": f"{model} answer 1"},
            {"role": "user", "content": "Q2"},
            {"role": "assistant", "content": f"{model} answer 2"},
        ]

    rows = []
    for question in range(1, 7):
        for turn in (1, 2):
            for judge, winner in (("expert_1", "model_a"), ("expert_2", "tie" if question % 2 else "model_b")):
                rows.append(
                    {
                        "question_id": question,
                        "model_a": "gpt-4",
                        "model_b": "llama-13b",
                        "winner": winner,
                        "judge": judge,
                        "conversation_a": conversation("gpt-4"),
                        "conversation_b": conversation("llama-13b"),
                        "turn": turn,
                    }
                )
    rows.append(dict(rows[0]))  # the same judge voting twice on one pair counts once
    path = tmp_path / "human-00000-of-00001.parquet"
    pd.DataFrame(rows).to_parquet(path)
    study = _study("mtbench", tmp_path, studies_dir)
    assert len(study.items) == 12 and study.spec.task is TaskType.PAIRWISE
    assert _all_labels(study) == Counter({"A": 12, "tie": 6, "B": 6})
    second = next(i for i in study.items if "turn2" in i.item_id)
    assert "Follow-up question" in second.input and second.response == "gpt-4 answer 2"
    assert second.response_b == "llama-13b answer 2"


def test_financebench_with_the_gold_evidence_as_context(shared_datasets: Path, studies_dir: Path) -> None:
    study = _study("financebench", shared_datasets / "financebench", studies_dir, context="evidence")
    assert len(study.items) in FB_PARTS
    with_context = [i for i in study.items if i.context]
    assert len(with_context) > 0.9 * len(study.items)
    questions = {
        json.loads(line)["financebench_id"]: json.loads(line)
        for line in (shared_datasets / "financebench" / "financebench_open_source.jsonl").open()
    }
    item = with_context[0]
    assert questions[item.group_id]["evidence"][0]["evidence_text"].strip() in item.context
    assert "evidence passages" in study.spec.description
