"""CRAFT-MD's expert validation: dermatologists' yes/no answers on clinical-LLM ↔ patient-AI conversations.

CRAFT-MD (Johri et al., Nature Medicine 2025) lets a clinical LLM take a history from a patient-AI that knows
only a case vignette. Dermatologists then read the vignette, the conversation and the diagnoses and answered
three yes/no questions. The Selene Mini paper reports its accuracy on these three questions (its Table 2).

The adapter reads the upstream files as published: the three workbooks of
``results/expert_annotations/`` (one sheet per clinical LLM, cases as rows, the questions as columns ``Q1``-``Q3``)
and ``data/usmle_and_derm_dataset.csv`` (each case's source). ``path`` is a copy of the repository or a flat
folder holding those four files.

Choices made here, and why:

* **One study per question** (option ``question``): each question needs its own rubric, and the paper reports
  each question on its own; a study holds one rubric.
* **The tie-breaker is a third expert column.** Dermatologist 3 answered exactly where dermatologists 1 and 2
  disagree, so the strict majority of the three columns is the CRAFT-MD authors' resolved label on every
  item (the agreed label, the tie-break, or the single dermatologist's label), and the judge is scored
  against it with no special case. The price: statistics *among* the experts include dermatologist 3, who
  only ever saw disagreements, so the recipe (:mod:`selene_eval.recipes`) reports dermatologist 1 vs 2 on
  the cases both labelled as the experts' own agreement.
* **The conversation is the response**, the vignette and the case's question are the input; the clinical
  LLM's final diagnosis and the correct diagnosis (what the experts saw) are the context unless
  ``diagnoses=hidden``.
* Subgroups: the clinical LLM (sheet) and the case source (MedQA-USMLE, Derm-Public, Derm-Private); cases are
  the bootstrap groups, because the rows of one case (four clinical LLMs) are correlated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from selene_eval.adapters.base import AdapterOption, DatasetAdapter, LoadedDataset, RemoteFile, table_from_records
from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping
from selene_eval.errors import DataError
from selene_eval.prompts.rubric import Rubric

REPO = "rajpurkarlab/craft-md"
COMMIT = "3bb2737d4fae5d64694d38456f878c2c5d35576a"
"""The pinned snapshot (2025-03-14); the expert workbooks last changed in 6f9076da (2025-01-01)."""

ANNOTATIONS_DIR = "results/expert_annotations"
WORKBOOKS = {
    "dermatologist_1": "validation_clinicalllm_patientai_d1.xlsx",
    "dermatologist_2": "validation_clinicalllm_patientai_d2.xlsx",
    # The upstream file name really does say "clinicallm".
    "dermatologist_3_tiebreak": "validation_clinicallm_patientai_tiebreak_d3.xlsx",
}
"""Expert column -> workbook name, in the order the experts are listed."""
CASES_FILE = "data/usmle_and_derm_dataset.csv"

EXPERTS = tuple(WORKBOOKS)
EXPERT_PAIR = ("dermatologist_1", "dermatologist_2")
"""The two dermatologists who labelled independently; their agreement is the experts' own."""

_BLOBS = {
    f"{ANNOTATIONS_DIR}/{WORKBOOKS['dermatologist_1']}": "7671ad13ef26e389d4edb8ffeb8732714ae22736",
    f"{ANNOTATIONS_DIR}/{WORKBOOKS['dermatologist_2']}": "e3c231c413357c89c76d630d4ef4ad15bf945f7d",
    f"{ANNOTATIONS_DIR}/{WORKBOOKS['dermatologist_3_tiebreak']}": "b1b7304c025de16361562f70650b28b2a506bc74",
    CASES_FILE: "05e79dd66d4516c53092746d2b1ae78f0c876b45",
    "LICENSE": "8708637067b90f80b711f687a80ecfec7f363cc7",
}

RESULTS_DIRS = {"GPT-4": "gpt4_1106", "GPT-3.5": "gpt3_1106", "LLaMA2": "llama2-7b", "Mistral-v2": "mistral-v2"}
"""Sheet name (clinical LLM) -> the upstream results folder, used in item ids (as in the shared tidy extract)."""

_HEADER = ("case_id", "case_vignette", "question", "multi-turn conversation", "final diagnosis", "correct diagnosis")


@dataclass(frozen=True)
class CraftQuestion:
    """One of the three questions the dermatologists answered, and the rubric the judge gets for it."""

    column: str
    """The workbooks' column, ``Q1``-``Q3``."""
    wording: str
    """The question as the sheets ask it (verbatim, upstream typo included)."""
    subtask: str
    """The Selene Mini paper's name for it (our mapping; see the docs)."""
    rubric: Rubric


QUESTIONS: dict[str, CraftQuestion] = {
    "diagnosis": CraftQuestion(
        "Q1",
        "Is it possible to reach one most likely diagnosis based on conversation?",
        "most likely diagnosis",
        Rubric(
            objective="From the conversation alone, could a clinician reach one most likely diagnosis for the patient?",
            descriptions={
                "yes": "The conversation gathers enough of the patient's history and symptoms to point to a single "
                "most likely diagnosis.",
                "no": "The conversation leaves several diagnoses about equally likely, or lacks the information "
                "needed to settle on one.",
            },
        ),
    ),
    "history": CraftQuestion(
        "Q2",
        "Does the conversation cover all the key information in present the vignette (excluding the "
        "physical exam, lab results)?",
        "relevant medical history",
        Rubric(
            objective="Does the conversation bring out all the key information of the case vignette, leaving aside "
            "the physical examination and laboratory results?",
            descriptions={
                "yes": "Every key fact of the vignette's history (symptoms, their course, relevant history and "
                "exposures) comes up in the conversation.",
                "no": "At least one key fact of the vignette's history never comes up in the conversation.",
            },
        ),
    ),
    "terminology": CraftQuestion(
        "Q3",
        "Is the patient-LLM using medical terminology?",
        "medical terminology",
        Rubric(
            objective="Does the patient in the conversation (an AI playing the patient) use medical terminology "
            "instead of the everyday words a patient would use?",
            descriptions={
                "yes": "The patient uses medical terms, such as names of conditions or clinical descriptions of "
                "lesions, that a lay patient would not.",
                "no": "The patient describes the complaint in everyday language throughout.",
            },
        ),
    ),
}
"""Option value -> question, in the workbooks' order."""


def _locate(location: Path, relative: str) -> Path:
    """``relative`` inside a repository copy, or its bare file name inside a flat folder."""
    for candidate in (location / relative, location / Path(relative).name):
        if candidate.is_file():
            return candidate
    found = sorted(location.rglob(Path(relative).name))
    if found:
        return found[0]
    raise DataError(
        f"{location} has no {Path(relative).name}. Point to a copy of the CRAFT-MD repository ({REPO}, which holds "
        f"{relative}) or to a folder holding the three expert workbooks and usmle_and_derm_dataset.csv; "
        "`datasets download craftmd --to DIR` fetches them."
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _column_name(cell: str | None) -> str:
    """A header cell as a column name; the question columns are ``Q1``-``Q3`` whatever follows (d2's sheets say
    ``Q1: One most likely diagnosis based on convo?``)."""
    name = (cell or "").strip()
    match = re.match(r"(Q[1-3])(?![0-9])", name)
    return match.group(1) if match else name


def _read_workbook(path: Path) -> dict[tuple[str, str], dict[str, str | None]]:
    """(sheet, case_id without ``.json``) -> the row's cells by header name, for every sheet of ``path``."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, KeyError) for a file that is not a workbook
        raise DataError(f"Cannot read {path} as an Excel workbook ({exc.__class__.__name__}: {exc}).") from None
    rows: dict[tuple[str, str], dict[str, str | None]] = {}
    try:
        for sheet in workbook.worksheets:
            header: list[str] | None = None
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_text(v) for v in values]
                if header is None:
                    # The sheets open with instructions and the questions; the table starts at the case_id row.
                    if cells and cells[0] is not None and cells[0].strip() == "case_id":
                        header = [_column_name(c) for c in cells]
                        missing = [name for name in (*_HEADER, "Q1", "Q2", "Q3") if name not in header]
                        if missing:
                            raise DataError(
                                f"Sheet {sheet.title!r} of {path.name} has no column "
                                f"{', '.join(missing)} in its header row {number}; is it a CRAFT-MD "
                                "expert workbook?"
                            )
                    continue
                record = {name: cells[i] if i < len(cells) else None for i, name in enumerate(header) if name}
                case = (record.get("case_id") or "").strip()
                if not case:
                    continue
                rows[(sheet.title.strip(), case.removesuffix(".json"))] = record
            if header is None:
                raise DataError(
                    f"Sheet {sheet.title!r} of {path.name} has no header row starting with case_id; "
                    "is it a CRAFT-MD expert workbook?"
                )
    finally:
        workbook.close()
    return rows


def _case_sources(path: Path) -> dict[str, str]:
    """case_id -> its source dataset (``MedQA_USMLE``, ``dermatology_public``, ``dermatology_private``)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"case_id", "dataset"} <= set(reader.fieldnames):
                raise DataError(
                    f"{path} has no case_id and dataset columns; is it CRAFT-MD's usmle_and_derm_dataset.csv?"
                )
            return {row["case_id"].strip(): row["dataset"].strip() for row in reader if row.get("case_id")}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"Cannot read {path} as CSV ({exc}).") from None


def _label(value: str | None) -> str | None:
    # The cells are Yes/No drop-downs; anything else is kept (lower-cased) for the validation report to name.
    return value.strip().lower() if value is not None and value.strip() else None


def load_craftmd(location: Path, options: Mapping[str, str]) -> LoadedDataset:
    """Read CRAFT-MD's expert workbooks at ``location`` into a study of one question (see the module docs)."""
    if location.is_file():
        known = {*WORKBOOKS.values(), Path(CASES_FILE).name}
        if location.name not in known:
            raise DataError(
                f"{location.name} is not one of CRAFT-MD's original files ({', '.join(sorted(known))}). "
                "Point to the folder that holds them (or to a copy of the repository)."
            )
        location = location.parent
    question = QUESTIONS[options["question"]]
    with_diagnoses = options["diagnoses"] == "shown"
    paths = {expert: _locate(location, f"{ANNOTATIONS_DIR}/{name}") for expert, name in WORKBOOKS.items()}
    cases_path = _locate(location, CASES_FILE)
    sources = _case_sources(cases_path)
    labelled = {expert: _read_workbook(path) for expert, path in paths.items()}
    keys = sorted(
        {key for rows in labelled.values() for key in rows},
        key=lambda k: (
            list(RESULTS_DIRS).index(k[0]) if k[0] in RESULTS_DIRS else len(RESULTS_DIRS),
            k[0],
            int(k[1].removeprefix("case_")) if k[1].removeprefix("case_").isdigit() else 0,
            k[1],
        ),
    )
    unknown = sorted({case for _, case in keys} - set(sources))
    if unknown:
        raise DataError(
            f"{cases_path.name} does not list case(s) {', '.join(unknown[:5])}: use the CSV of the same "
            f"repository snapshot as the workbooks (commit {COMMIT[:8]})."
        )
    records = []
    for sheet, case in keys:
        # The two independent dermatologists' rows hold the full case; the tie-breaker's only disagreements.
        first = next(labelled[e][(sheet, case)] for e in EXPERTS if (sheet, case) in labelled[e])
        vignette = (first.get("case_vignette") or "").strip()
        case_question = (first.get("question") or "").strip()
        diagnoses = (
            f"The clinical LLM's final diagnosis: {(first.get('final diagnosis') or '').strip()}\n"
            f"The correct diagnosis: {(first.get('correct diagnosis') or '').strip()}"
        )
        records.append(
            {
                "id": f"{case}:{RESULTS_DIRS.get(sheet, sheet)}:{question.column}",
                "case_id": case,
                "clinical_llm": sheet,
                "case_source": sources[case],
                "vignette": f"Case vignette (known only to the patient):\n{vignette}\n\nThe clinical LLM's task: "
                f"{case_question}",
                "conversation": first.get("multi-turn conversation"),
                "diagnoses": diagnoses if with_diagnoses else None,
                **{e: _label(labelled[e].get((sheet, case), {}).get(question.column)) for e in EXPERTS},
            }
        )
    if not records:
        raise DataError(f"The CRAFT-MD workbooks in {location} hold no case rows.")
    columns = ["id", "case_id", "clinical_llm", "case_source", "vignette", "conversation", "diagnoses", *EXPERTS]
    table = table_from_records(
        records,
        columns,
        name=f"CRAFT-MD expert validation, {question.column}",
        sources=[*paths.values(), cases_path],
        fmt="xlsx",
    )
    n_cases = len({case for _, case in keys})
    return LoadedDataset(
        table=table,
        mapping=ColumnMapping(
            id="id",
            group="case_id",
            input="vignette",
            response="conversation",
            context="diagnoses" if with_diagnoses else None,
            experts=list(EXPERTS),
            subgroups=["clinical_llm", "case_source"],
        ),
        task=TaskType.BINARY,
        label_map={"yes": "yes", "no": "no"},
        rubric=question.rubric,
        title=f"CRAFT-MD {question.column}: {question.subtask}",
        description=(
            f'CRAFT-MD expert validation, question {question.column} ({question.subtask}): "{question.wording}" '
            f"{n_cases} dermatology cases, each a conversation between a clinical LLM (one sheet per LLM) and a "
            "patient-AI. Dermatologist 1 labelled the MedQA-USMLE and Derm-Private cases, dermatologist 2 the "
            "Derm-Public and Derm-Private cases, and dermatologist 3 broke their ties on the Derm-Private cases: "
            "the majority of the three columns is the resolved label. Experts' own agreement: dermatologist 1 vs 2 "
            "on the Derm-Private cases (statistics among all three include the tie-breaker, who saw only "
            "disagreements)."
            + (
                " The judge sees the clinical LLM's final diagnosis and the correct diagnosis, as the experts did."
                if with_diagnoses
                else " The judge does not see the diagnoses (the experts did)."
            )
        ),
    )


CRAFTMD = DatasetAdapter(
    name="craftmd",
    title="CRAFT-MD expert validation (medical; yes/no, two dermatologists and a tie-breaker)",
    domain="medicine",
    licence="MIT",
    licence_text="CRAFT-MD's repository is under the MIT licence (Copyright (c) 2023 Rajpurkar Lab / Harvard "
    "Medical AI): free to use, copy and modify, provided the copyright and licence notice are kept. "
    "The MedQA-USMLE vignettes first came from MedQA.",
    source_url=f"https://github.com/{REPO}/tree/{COMMIT}/{ANNOTATIONS_DIR}",
    citation='Johri et al., "An evaluation framework for clinical use of large language models in patient '
    'interaction tasks", Nature Medicine (2025), doi:10.1038/s41591-024-03328-5.',
    summary="45 dermatology cases, each a conversation a clinical LLM (GPT-4, GPT-3.5, LLaMA2, Mistral-v2) held "
    "with a patient-AI; dermatologists answered three yes/no questions about each (one study per "
    "question, as in the Selene Mini paper).",
    annotators="one or two dermatologists per item, a third breaking ties",
    task=TaskType.BINARY,
    files=tuple(
        RemoteFile(path, f"https://raw.githubusercontent.com/{REPO}/{COMMIT}/{path}", git_blob_sha1=blob)
        for path, blob in _BLOBS.items()
    ),
    load_fn=load_craftmd,
    options=(
        AdapterOption(
            "question",
            tuple(QUESTIONS),
            "diagnosis",
            "diagnosis: Q1, can one most likely diagnosis be reached? history: Q2, does the conversation "
            "cover the vignette's key information? terminology: Q3, does the patient-AI use medical terms?",
        ),
        AdapterOption(
            "diagnoses",
            ("shown", "hidden"),
            "shown",
            "shown: the judge sees the clinical LLM's final diagnosis and the correct one, as the experts "
            "did; hidden: only the vignette and the conversation",
        ),
    ),
    tags=("binary", "medical", "multi-annotator"),
)
