"""The public datasets with expert labels that selene-eval can turn into studies in one step.

Each adapter reads the dataset's files as published (field names unchanged) and maps them onto the
study's roles. Choices a dataset leaves open (what a FinanceBench refusal counts as) are options, and the
choice made is written into the study's description.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from selene_eval.adapters.base import (
    AdapterOption,
    DatasetAdapter,
    LoadedDataset,
    RemoteFile,
    find_file,
    table_from_records,
)
from selene_eval.adapters.craftmd import CRAFTMD
from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, read_table
from selene_eval.errors import DataError
from selene_eval.prompts.rubric import Rubric


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    records = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise DataError(f"Line {number} of {path} is not a JSON object.")
                    records.append(record)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"Cannot read {path} as JSON Lines ({exc}).") from None
    return records


def _github_raw(repo: str, commit: str, path: str) -> str:
    """The download URL of ``path`` in GitHub repository ``repo`` (``owner/name``) at ``commit``."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _github_page(repo: str, commit: str, path: str, *, kind: str = "tree") -> str:
    """The web page of ``path`` (a folder: ``kind="tree"``; a file: ``"blob"``) in ``repo`` at ``commit``."""
    return f"https://github.com/{repo}/{kind}/{commit}/{path}"


def _require(record: Mapping[str, object], fields: tuple[str, ...], path: Path, dataset: str) -> None:
    missing = [f for f in fields if f not in record]
    if missing:
        raise DataError(
            f"{path} does not look like {dataset}: its records lack {', '.join(missing)}. "
            "Point to the dataset's original file."
        )


# --- K-QA ---------------------------------------------------------------------------------------------------------

_KQA_REPO = "Itaymanes/K-QA"
_KQA_COMMIT = "ef403d012e199fcfa0d8c02b38a96ff95164f4d0"
_KQA_COLUMNS = ("Question", "answer", "claim", "label_0", "label_1", "label_2")
_KQA_NLI_LABELS = ("Entailment", "Neutral", "Contradiction")


@dataclass(frozen=True)
class _KqaQuestion:
    """What the judge is asked about each physician statement under one value of K-QA's ``question`` option."""

    yes: str
    """The physicians' NLI label that becomes ``yes``; the other two become ``no``."""
    objective: str
    yes_means: str
    no_means: str
    asked: str
    """The question in the study's description."""


_KQA_QUESTIONS = {
    "entailment": _KqaQuestion(
        "Entailment",
        "Does the response state the medical fact given in the reference answer (a statement written by a "
        "physician), in substance if not in the same words?",
        "The response states the reference statement, or something that clearly implies it.",
        "The response does not address the reference statement, or contradicts it.",
        "whether the answer states each physician statement (Entailment = yes; Neutral and Contradiction = no)",
    ),
    "contradiction": _KqaQuestion(
        "Contradiction",
        "Does the response contradict the medical fact given in the reference answer (a statement written by a "
        "physician)?",
        "The response states something that contradicts the reference statement.",
        "The response agrees with the reference statement or does not address it.",
        "whether the answer contradicts each physician statement (Contradiction = yes)",
    ),
}


def _load_kqa(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    path = find_file(
        location, ["NLI_medical_annotator.csv", "dataset/NLI_medical_annotator.csv"], "K-QA annotation file"
    )
    table = read_table(path)
    missing = [c for c in _KQA_COLUMNS if c not in table.frame.columns]
    if missing:
        raise DataError(f"{path} does not look like K-QA's NLI_medical_annotator.csv: no column {', '.join(missing)}.")
    has_id = "Unnamed: 0" in table.frame.columns
    mapping = ColumnMapping(
        id="Unnamed: 0" if has_id else None,
        group="Question",
        input="Question",
        response="answer",
        reference="claim",
        category="category_x" if "category_x" in table.frame.columns else None,
        experts=["label_0", "label_1", "label_2"],
    )
    question = _KQA_QUESTIONS[options["question"]]
    label_map: dict[str, str | None] = {nli: "yes" if nli == question.yes else "no" for nli in _KQA_NLI_LABELS}
    rubric = Rubric(objective=question.objective, descriptions={"yes": question.yes_means, "no": question.no_means})
    return LoadedDataset(
        table=table,
        mapping=mapping,
        task=TaskType.BINARY,
        label_map=label_map,
        rubric=rubric,
        title="K-QA: three physicians on LLM answers to patient questions",
        description=f"K-QA physician annotations: {question.asked}. The physician statement is the reference the "
        "judge checks the answer against; items are grouped by question for the bootstrap.",
    )


KQA = DatasetAdapter(
    name="kqa",
    title="K-QA (medical; three physicians per item)",
    domain="medicine",
    licence="MIT",
    licence_text="K-QA is released under the MIT licence (Copyright (c) 2023 Itay Manes): free to use, copy and "
    "modify, provided the copyright and licence notice are kept.",
    source_url=_github_page(_KQA_REPO, _KQA_COMMIT, "dataset"),
    citation='Manes et al., "K-QA: A Real-World Medical Q&A Benchmark", arXiv:2401.14493.',
    summary="Real patient questions, one LLM answer each, split into physician-written statements; three "
    "physicians label whether the answer states (entails), ignores or contradicts each statement.",
    annotators="three physicians per item",
    task=TaskType.BINARY,
    files=(
        RemoteFile(
            "NLI_medical_annotator.csv",
            _github_raw(_KQA_REPO, _KQA_COMMIT, "dataset/NLI_medical_annotator.csv"),
            git_blob_sha1="1cd74dae5c9d7671ac8c38fbdd6243e766c803f0",
        ),
    ),
    load_fn=_load_kqa,
    options=(
        AdapterOption(
            "question",
            tuple(_KQA_QUESTIONS),
            "entailment",
            "entailment: does the answer state the statement? contradiction: does it contradict it?",
        ),
    ),
    tags=("binary", "medical", "multi-annotator"),
)


# --- FinanceBench -------------------------------------------------------------------------------------------------

_FB_REPO = "patronus-ai/financebench"
_FB_COMMIT = "cc39aeb4afdf33909ee1412188bf89035950c2eb"
_FB_RESULTS = (
    "claude-2_inContext",
    "claude-2_inContext_reverse",
    "gpt-4-1106-preview_closedBook",
    "gpt-4-1106-preview_inContext",
    "gpt-4-1106-preview_inContext_reverse",
    "gpt-4-1106-preview_oracle",
    "gpt-4-1106-preview_oracle_reverse",
    "gpt-4-1106-preview_sharedStore",
    "gpt-4-1106-preview_singleStore",
    "gpt-4_closedBook",
    "gpt-4_oracle",
    "gpt-4_oracle_reverse",
    "gpt-4_sharedStore",
    "gpt-4_singleStore",
    "llama2_sharedStore",
    "llama2_singleStore",
)
_FB_FIELDS = ("financebench_id", "model_name", "eval_mode", "question", "gold_answer", "model_answer", "label")


def _financebench_files(location: Path) -> list[Path]:
    if location.is_file():
        return [location]
    for folder in (location / "results", location):
        files = sorted(p for p in folder.glob("*.jsonl") if p.stem in _FB_RESULTS or folder.name == "results")
        if files:
            return files
    raise DataError(f"No FinanceBench results found in {location}: expected results/<model>_<mode>.jsonl files.")


def _financebench_evidence(location: Path) -> tuple[dict[str, str], list[Path]]:
    """financebench_id -> the gold evidence passages, from ``financebench_open_source.jsonl`` beside the results."""
    folder = location if location.is_dir() else location.parent
    candidates = [
        folder / "financebench_open_source.jsonl",
        folder.parent / "financebench_open_source.jsonl",
        folder / "data" / "financebench_open_source.jsonl",
        folder.parent / "data" / "financebench_open_source.jsonl",
    ]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise DataError(
            f"The evidence option needs financebench_open_source.jsonl beside the results in {folder}; "
            "put it there or choose context=none."
        )
    evidence = {}
    for record in _read_jsonl(path):
        passages = [
            str(e.get("evidence_text") or "").strip()
            for e in cast("list[object]", record.get("evidence") or [])
            if isinstance(e, dict)
        ]
        evidence[str(record.get("financebench_id"))] = "\n\n".join(p for p in passages if p)
    return evidence, [path]


_FB_RUBRICS = {
    "standard": Rubric(
        objective="Is the response a correct answer to the financial question, judged against the reference "
        "answer (same figure, allowing for rounding and units)?",
        descriptions={
            "yes": "The response gives the reference answer's figure or conclusion.",
            "no": "The response gives a different answer, no answer, or declines to answer.",
        },
    ),
    # The Selene Mini paper's set-up as far as it is published: a zero-shot yes/no judgment of whether an answer
    # is correct, scored by accuracy against the reviewers' labels. Its prompt is not published; this rubric
    # asks the reviewers' own question (is the answer correct, given the gold answer?) in Selene's
    # classification-with-reference format. See docs/REPRODUCE.md for what is known and what is not.
    "paper": Rubric(
        objective="Given the reference answer, is the response a correct answer to the question about the "
        "company's filings?",
        descriptions={
            "yes": "The response reaches the reference answer: the same figure (within rounding and "
            "the question's units) or the same conclusion.",
            "no": "The response reaches a different answer, answers only in part, hedges without an "
            "answer, or declines to answer.",
        },
    ),
}
"""FinanceBench's rubrics by the adapter's ``rubric`` option."""


def _load_financebench(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    files = _financebench_files(location)
    with_evidence = options["context"] == "evidence"
    refusal_option = options["refusal"]
    evidence: dict[str, str] = {}
    if with_evidence:
        evidence, extra = _financebench_evidence(location)
        files = files + extra
    records: list[dict[str, object]] = []
    for path in files:
        if path.name == "financebench_open_source.jsonl":
            continue  # the evidence file, read above
        for record in _read_jsonl(path):
            _require(record, _FB_FIELDS, path, "FinanceBench results")
            if refusal_option == "drop" and record["label"] == "Refusal":
                continue
            records.append(
                {
                    "id": f"{path.stem}:{record['financebench_id']}",
                    "financebench_id": record["financebench_id"],
                    "configuration": f"{record['model_name']} {record['eval_mode']}",
                    "model": record["model_name"],
                    "eval_mode": record["eval_mode"],
                    "question": record["question"],
                    "gold_answer": record["gold_answer"],
                    "model_answer": record["model_answer"],
                    "label": record["label"],
                    "evidence": evidence.get(str(record["financebench_id"])) or None,
                }
            )
    columns = [
        "id",
        "financebench_id",
        "configuration",
        "model",
        "eval_mode",
        "question",
        "gold_answer",
        "model_answer",
        "label",
        "evidence",
    ]
    table = table_from_records(
        records, columns, name=f"FinanceBench results ({len(files)} files)", sources=files, fmt="jsonl"
    )
    label_map: dict[str, str | None] = {"Correct Answer": "yes", "Incorrect Answer": "no"}
    if refusal_option == "no":
        label_map["Refusal"] = "no"
    refusal = (
        "refusals count as not correct (no)"
        if refusal_option == "no"
        else "answers the reviewers marked as refusals are left out"
    )
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="id",
            group="financebench_id",
            input="question",
            response="model_answer",
            reference="gold_answer",
            category="configuration",
            experts=["label"],
            # Agreement per answering model and per retrieval set-up, besides per pair of both.
            subgroups=["model", "eval_mode"],
            context="evidence" if with_evidence else None,
        ),
        task=TaskType.BINARY,
        label_map=label_map,
        rubric=_FB_RUBRICS[options["rubric"]],
        title="FinanceBench: model answers reviewed by the authors",
        description=f"FinanceBench model answers on public-company filings, each reviewed by hand as correct, "
        f"incorrect or a refusal; {refusal}. One label per answer (no per-reviewer labels are "
        "published), so there is no expert ceiling. Category: the model configuration."
        + (" The gold evidence passages from the filing are given to the judge as context." if with_evidence else ""),
    )


FINANCEBENCH = DatasetAdapter(
    name="financebench",
    title="FinanceBench (finance; answers reviewed by hand)",
    domain="finance",
    licence="CC-BY-NC-4.0",
    licence_text="FinanceBench's open-source sample is marked CC-BY-NC-4.0 on its Hugging Face page (the GitHub "
    "repository has no licence file): attribution required, non-commercial use only. Cite the paper.",
    source_url=_github_page(_FB_REPO, _FB_COMMIT, "results"),
    citation='Islam et al., "FinanceBench: A New Benchmark for Financial Question Answering", arXiv:2311.11944.',
    summary="16 model configurations answered 150 questions about US company filings; every answer was reviewed "
    "as correct, incorrect or a refusal.",
    annotators="one label per answer (the authors' review)",
    task=TaskType.BINARY,
    files=tuple(
        RemoteFile(f"results/{name}.jsonl", _github_raw(_FB_REPO, _FB_COMMIT, f"results/{name}.jsonl"))
        for name in _FB_RESULTS
    )
    + (
        RemoteFile(
            "financebench_open_source.jsonl",
            _github_raw(_FB_REPO, _FB_COMMIT, "data/financebench_open_source.jsonl"),
            git_blob_sha1="4aef1d43a443474ba193f158f2baf70550ff528d",
        ),
    ),
    load_fn=_load_financebench,
    options=(
        AdapterOption(
            "refusal",
            ("no", "drop"),
            "no",
            "no: a refusal is not a correct answer; drop: leave refusals out of the study",
        ),
        AdapterOption(
            "context",
            ("none", "evidence"),
            "none",
            "none: the judge sees question, answer and gold answer; evidence: also the gold evidence "
            "passages (needs financebench_open_source.jsonl)",
        ),
        AdapterOption(
            "rubric",
            tuple(_FB_RUBRICS),
            "standard",
            "standard: correct against the gold answer, allowing for rounding and units; paper: the "
            "Selene Mini paper's task as far as it is published (docs/REPRODUCE.md)",
        ),
    ),
    download_note="The files are pinned by commit; no per-file checksum is published for them.",
    tags=("binary", "finance"),
)


# --- ExpertQA -----------------------------------------------------------------------------------------------------

_EQA_REPO = "chaitanyamalaviya/ExpertQA"
_EQA_COMMIT = "1aa7ba81bd4c083c12ef1aa2fee338f6cb60fa87"
_EQA_SPLITS = {
    "rand_test.jsonl": "fbbf29d1",
    "rand_val.jsonl": "e8333642",
    "domain_test.jsonl": "2457e5e1",
    "domain_val.jsonl": "4a47e489",
}
_EQA_FIELDS = {"Healthcare / Medicine", "Business", "Economics"}
_EQA_SCALE = {
    "Definitely incorrect": "1",
    "Likely incorrect": "2",
    "Unsure": "3",
    "Probably correct": "4",
    "Definitely correct": "5",
}


def _expertqa_files(location: Path) -> list[Path]:
    if location.is_file():
        return [location]
    own = sorted(location.rglob("expertqa_med_fin.jsonl"))
    if own:
        return own[:1]
    splits = [p for name in _EQA_SPLITS for p in sorted(location.rglob(name))[:1]]
    if splits:
        return splits
    raise DataError(f"No ExpertQA files found in {location}: expected data/lfqa/{{rand,domain}}_{{test,val}}.jsonl.")


def _load_expertqa(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    files = _expertqa_files(location)
    with_answer = options["context"] == "answer"
    seen: set[str] = set()
    records: list[dict[str, object]] = []
    for path in files:
        for record in _read_jsonl(path):
            _require(record, ("question", "answers", "metadata"), path, "ExpertQA")
            question = str(record["question"])
            metadata = record.get("metadata") or {}
            field = metadata.get("field") if isinstance(metadata, dict) else None
            # The rand and domain splits overlap: keep each question once.
            if field not in _EQA_FIELDS or question in seen:
                continue
            seen.add(question)
            question_id = hashlib.sha1(question.encode("utf-8")).hexdigest()[:10]
            answers = record["answers"] if isinstance(record["answers"], dict) else {}
            for system, answer in answers.items():
                if not isinstance(answer, dict):
                    continue
                for number, claim in enumerate(answer.get("claims") or [], start=1):
                    records.append(
                        {
                            "id": f"{question_id}-{system}-{number}",
                            "question_id": question_id,
                            "field": field,
                            "question": question,
                            "claim": claim.get("claim_string"),
                            "answer": answer.get("answer_string") if with_answer else None,
                            "correctness": claim.get("correctness"),
                        }
                    )
    if not records:
        raise DataError(f"No medicine, business or economics claims found in {', '.join(map(str, files))}.")
    columns = ["id", "question_id", "field", "question", "claim", "answer", "correctness"]
    table = table_from_records(
        records, columns, name=f"ExpertQA medicine and business ({len(files)} file(s))", sources=files, fmt="jsonl"
    )
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="id",
            group="question_id",
            input="question",
            response="claim",
            context="answer" if with_answer else None,
            category="field",
            experts=["correctness"],
        ),
        task=TaskType.ABSOLUTE,
        label_map=dict(_EQA_SCALE),
        rubric=Rubric(
            objective="How likely is the claim in the response to be factually correct, as an expert in the "
            "question's field would judge it?",
            descriptions={
                "1": "Definitely incorrect.",
                "2": "Likely incorrect.",
                "3": "Unsure: cannot tell.",
                "4": "Probably correct.",
                "5": "Definitely correct.",
            },
        ),
        title="ExpertQA: claim correctness rated by experts (medicine, business)",
        description="ExpertQA claims from answers to expert-written questions in medicine, business and economics; "
        "the expert who asked rated each claim's correctness (Definitely incorrect = 1 ... Definitely "
        "correct = 5). One expert per item, so there is no expert ceiling"
        + ("; the full answer is given to the judge as context." if with_answer else "."),
    )


EXPERTQA = DatasetAdapter(
    name="expertqa",
    title="ExpertQA (medicine and business; 5-point correctness)",
    domain="medicine, business",
    licence="MIT",
    licence_text="ExpertQA is released under the MIT licence (Copyright (c) 2023 Chaitanya Malaviya): free to use, "
    "copy and modify, provided the copyright and licence notice are kept.",
    source_url=_github_page(_EQA_REPO, _EQA_COMMIT, "data/lfqa"),
    citation='Malaviya et al., "ExpertQA: Expert-Curated Questions and Attributed Answers", NAACL 2024.',
    summary="Experts wrote questions from their work, a system answered, and the same expert rated every claim "
    "of the answer for correctness on a 5-point scale.",
    annotators="one expert per item",
    task=TaskType.ABSOLUTE,
    files=tuple(
        RemoteFile(f"data/lfqa/{name}", _github_raw(_EQA_REPO, _EQA_COMMIT, f"data/lfqa/{name}"), git_blob_sha1=prefix)
        for name, prefix in _EQA_SPLITS.items()
    ),
    load_fn=_load_expertqa,
    options=(
        AdapterOption(
            "context",
            ("answer", "none"),
            "answer",
            "answer: show the judge the whole answer the claim comes from; none: the claim alone",
        ),
    ),
    download_note="Only the first 8 hex digits of each file's git blob id are recorded, a weaker check.",
    tags=("absolute", "medical", "finance"),
)


# --- PandaLM ------------------------------------------------------------------------------------------------------

_PANDA_REPO = "WeOpenML/PandaLM"
_PANDA_COMMIT = "3871806e72b4832f815ecafd24d3503c73403f48"
_PANDA_FIELDS = ("idx", "instruction", "input", "response1", "response2", "annotator1", "annotator2", "annotator3")


def _load_pandalm(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    path = find_file(location, ["testset-v1.json", "data/testset-v1.json"], "PandaLM test set")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"Cannot read {path} as JSON ({exc}).") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise DataError(f"{path} does not look like PandaLM's testset-v1.json (a JSON array of records).")
    records = []
    for record in data:
        _require(record, _PANDA_FIELDS, path, "PandaLM's test set")
        extra = str(record.get("input") or "").strip()
        records.append(
            {
                "idx": record["idx"],
                "app": record.get("motivation_app"),
                "models": record.get("cmp_key"),
                "instruction": f"{record['instruction']}\n\n{extra}" if extra else record["instruction"],
                "response1": record["response1"],
                "response2": record["response2"],
                "annotator1": record["annotator1"],
                "annotator2": record["annotator2"],
                "annotator3": record["annotator3"],
            }
        )
    columns = [
        "idx",
        "app",
        "models",
        "instruction",
        "response1",
        "response2",
        "annotator1",
        "annotator2",
        "annotator3",
    ]
    table = table_from_records(records, columns, name=path.name, sources=[path], fmt="json")
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="idx",
            input="instruction",
            response="response1",
            response_b="response2",
            category="app",
            experts=["annotator1", "annotator2", "annotator3"],
        ),
        task=TaskType.PAIRWISE,
        label_map={"1": "A", "2": "B", "0": "tie"},
        title="PandaLM: three annotators compare two responses",
        description="PandaLM's human test set: two instruction-tuned 7B models answer the same instruction, three "
        "annotators say which response is better or call a tie (kept as its own label; the judge cannot "
        "answer tie). Upstream removed high-disagreement items, so the experts' agreement is optimistic. "
        "General-domain content.",
    )


PANDALM = DatasetAdapter(
    name="pandalm",
    title="PandaLM (general; pairwise with ties, three annotators)",
    domain="general",
    licence="Apache-2.0",
    licence_text="PandaLM's repository (this test set included; model weights excepted) is under the Apache "
    "License 2.0: use, change and share with the licence and notices kept.",
    source_url=_github_page(_PANDA_REPO, _PANDA_COMMIT, "data/testset-v1.json", kind="blob"),
    citation='Wang et al., "PandaLM: An Automatic Evaluation Benchmark for LLM Instruction Tuning Optimization", '
    "arXiv:2306.05087.",
    summary="999 instructions with two model responses each; three annotators pick the better one or a tie.",
    annotators="three annotators per item",
    task=TaskType.PAIRWISE,
    files=(
        RemoteFile(
            "testset-v1.json",
            _github_raw(_PANDA_REPO, _PANDA_COMMIT, "data/testset-v1.json"),
            git_blob_sha1="4d6d2d4ddafb0dda8415b00dce6633f5ebcfec1b",
        ),
    ),
    load_fn=_load_pandalm,
    tags=("pairwise", "multi-annotator"),
)


# --- HealthBench meta-evaluation --------------------------------------------------------------------------------

_HB_FILE = "2025-05-07-06-14-12_oss_meta_eval.jsonl"
_HB_FIELDS = ("prompt", "completion", "rubric", "binary_labels")


def _conversation_text(messages: object) -> str:
    if isinstance(messages, str):
        return messages
    lines = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            lines.append(f"{str(message.get('role', 'user')).capitalize()}: {message.get('content', '')}")
    return "\n\n".join(lines)


def _load_healthbench(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    path = find_file(location, [_HB_FILE, "oss_meta_eval.jsonl"], "HealthBench meta-evaluation file")
    rows = []
    for number, record in enumerate(_read_jsonl(path), start=1):
        _require(record, _HB_FIELDS, path, "the HealthBench meta-evaluation file")
        labels = record["binary_labels"] if isinstance(record["binary_labels"], list) else []
        physicians = record.get("anonymized_physician_ids")
        if not isinstance(physicians, list) or len(physicians) != len(labels):
            physicians = [f"physician_{i + 1}" for i in range(len(labels))]
        item_id = (
            f"{record.get('completion_id', number)}:{hashlib.sha1(str(record['rubric']).encode()).hexdigest()[:8]}"
        )
        base = {
            "id": item_id,
            "prompt_id": record.get("prompt_id"),
            "category": record.get("category"),
            "conversation": _conversation_text(record["prompt"]),
            "completion": record["completion"],
            "criterion": f"Physician-written criterion: {record['rubric']}",
        }
        if not labels:
            rows.append({**base, "physician": None, "label": None})
        for physician, label in zip(physicians, labels):
            rows.append(
                {
                    **base,
                    "physician": str(physician),
                    "label": "yes" if label is True else "no" if label is False else label,
                }
            )
    columns = ["id", "prompt_id", "category", "conversation", "completion", "criterion", "physician", "label"]
    table = table_from_records(rows, columns, name=path.name, sources=[path], fmt="jsonl")
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="id",
            group="prompt_id",
            input="conversation",
            response="completion",
            context="criterion",
            category="category",
            annotator="physician",
            label="label",
        ),
        task=TaskType.BINARY,
        label_map={"True": "yes", "False": "no"},
        rubric=Rubric(
            objective="Does the last response in the conversation meet the physician-written criterion given in "
            "the context?",
            descriptions={
                "yes": "The response meets the criterion.",
                "no": "The response does not meet the criterion.",
            },
        ),
        title="HealthBench meta-evaluation: physicians grade rubric criteria",
        description="HealthBench's meta-evaluation set: for a health conversation's last response and one "
        "physician-written rubric criterion, several physicians said whether the response meets it.",
    )


HEALTHBENCH = DatasetAdapter(
    name="healthbench",
    title="HealthBench meta-evaluation (medical; several physicians per criterion)",
    domain="medicine",
    licence="MIT",
    licence_text="HealthBench is published with OpenAI's simple-evals under the MIT licence: free to use, copy and "
    "modify, provided the copyright and licence notice are kept.",
    source_url=f"https://openaipublic.blob.core.windows.net/simple-evals/healthbench/{_HB_FILE}",
    citation='Arora et al., "HealthBench: Evaluating Large Language Models Towards Improved Human Health", '
    "arXiv:2505.08775.",
    summary="Health conversations, a model response and one rubric criterion each; physicians grade whether the "
    "response meets the criterion.",
    annotators="several physicians per item (long format)",
    task=TaskType.BINARY,
    files=(RemoteFile(_HB_FILE, f"https://openaipublic.blob.core.windows.net/simple-evals/healthbench/{_HB_FILE}"),),
    load_fn=_load_healthbench,
    download_note="The file is pinned by its dated name; no checksum is published for it. Not tested against the "
    "real file here (no copy was available offline).",
    tags=("binary", "medical", "multi-annotator"),
)


# --- MT-Bench human judgments -------------------------------------------------------------------------------------

_MT_FIELDS = ("question_id", "model_a", "model_b", "winner", "judge", "conversation_a", "conversation_b", "turn")


def _load_mtbench(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    import pandas as pd

    if location.is_file():
        path = location
    else:
        candidates = sorted(location.rglob("human-*.parquet")) + sorted(location.rglob("*human*.jsonl"))
        if not candidates:
            raise DataError(
                f"No MT-Bench human judgments found in {location}: expected the 'human' split (data/human-*.parquet)."
            )
        path = candidates[0]
    try:
        frame = pd.read_parquet(path) if path.read_bytes()[:4] == b"PAR1" else pd.read_json(path, lines=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {path} ({exc}).") from None
    missing = [f for f in _MT_FIELDS if f not in frame.columns]
    if missing:
        raise DataError(f"{path} does not look like MT-Bench human judgments: no column {', '.join(missing)}.")
    rows = []
    seen: set[tuple[str, str]] = set()
    for record in frame.to_dict("records"):
        turn = int(record["turn"])
        conv_a, conv_b = list(record["conversation_a"]), list(record["conversation_b"])
        users = [m["content"] for m in conv_a if m["role"] == "user"]
        question = users[0] if turn == 1 or len(users) < 2 else f"{users[0]}\n\nFollow-up question:\n{users[1]}"
        answers_a = [m["content"] for m in conv_a if m["role"] == "assistant"]
        answers_b = [m["content"] for m in conv_b if m["role"] == "assistant"]
        item_id = f"{record['question_id']}-turn{turn}-{record['model_a']}-vs-{record['model_b']}"
        # A judge who voted twice on the same pair counts once (the first vote).
        if (item_id, str(record["judge"])) in seen:
            continue
        seen.add((item_id, str(record["judge"])))
        rows.append(
            {
                "id": item_id,
                "question_id": record["question_id"],
                "turn": turn,
                "question": question,
                "response_a": answers_a[turn - 1] if len(answers_a) >= turn else None,
                "response_b": answers_b[turn - 1] if len(answers_b) >= turn else None,
                "models": f"{record['model_a']} vs {record['model_b']}",
                "judge": record["judge"],
                "winner": record["winner"],
            }
        )
    columns = ["id", "question_id", "turn", "question", "response_a", "response_b", "models", "judge", "winner"]
    table = table_from_records(rows, columns, name=path.name, sources=[path], fmt="parquet")
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="id",
            group="question_id",
            input="question",
            response="response_a",
            response_b="response_b",
            category="models",
            annotator="judge",
            label="winner",
        ),
        task=TaskType.PAIRWISE,
        label_map={"model_a": "A", "model_b": "B", "tie": "tie"},
        title="MT-Bench human judgments: pairwise preferences",
        description="MT-Bench human judgments: graduate-student experts compared two chatbot answers to the same "
        "question (turn 1, or turn 2 after a follow-up); ties kept as their own label.",
    )


MTBENCH = DatasetAdapter(
    name="mtbench",
    title="MT-Bench human judgments (general; pairwise with ties)",
    domain="general",
    licence="CC-BY-4.0",
    licence_text="The MT-Bench human judgments are released under CC-BY-4.0: use and share with attribution.",
    source_url="https://huggingface.co/datasets/lmsys/mt_bench_human_judgments",
    citation='Zheng et al., "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", NeurIPS 2023.',
    summary="3.3K expert votes on pairs of answers by six models to the 80 MT-Bench questions.",
    annotators="one or more experts per pair (long format)",
    task=TaskType.PAIRWISE,
    files=(),
    load_fn=_load_mtbench,
    download_note="Download the 'human' split's parquet file from the dataset page (no pinned direct link is "
    "recorded here) and pass it with --from. Not tested against the real file here.",
    tags=("pairwise", "multi-annotator"),
)


ADAPTERS: dict[str, DatasetAdapter] = {
    a.name: a for a in (KQA, FINANCEBENCH, CRAFTMD, EXPERTQA, PANDALM, HEALTHBENCH, MTBENCH)
}
"""Every adapter by name, in the order they are listed."""


def get_adapter(name: str) -> DatasetAdapter:
    """The adapter called ``name``; DataError listing the known ones otherwise."""
    try:
        return ADAPTERS[name.strip().lower()]
    except KeyError:
        raise DataError(f"No public dataset named {name!r}; known: {', '.join(ADAPTERS)}.") from None
