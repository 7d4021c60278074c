"""A small CRAFT-MD copy in the upstream layout, written with openpyxl (invented values), for the tests.

The layout is CRAFT-MD's: instructions and the three questions above a header row that starts with ``case_id``;
one sheet per clinical LLM; dermatologist 2's sheets name the question columns ``Q1: ...``; the tie-breaker's
workbook holds only the cases with a disagreement. The adapter, dashboard and recipe tests share it; the product
never imports it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import openpyxl

from selene_eval.adapters.craftmd import ANNOTATIONS_DIR, CASES_FILE, QUESTIONS, WORKBOOKS

_QUESTION_ROWS = [
    ["Instructions: Please respond with a yes/no."],
    ["Q1 : ", QUESTIONS["diagnosis"].wording],
    ["Q2 :", QUESTIONS["history"].wording],
    ["Q3 : ", QUESTIONS["terminology"].wording],
    [],
]
HEADER = ["case_id", "case_vignette", "question", "multi-turn conversation", "final diagnosis", "correct diagnosis"]
_D2_QUESTIONHEADER = [
    "Q1: One most likely diagnosis based on convo?",
    "Q2: All key info from vignette?",
    "Q3: Patient-AI used medical terminology?",
]

# (case, source); case_1 is labelled by both dermatologists, case_2 by d1 only, case_3 by d2 only.
CASES = {"case_1": "dermatology_private", "case_2": "MedQA_USMLE", "case_3": "dermatology_public"}
SHEETS = ("GPT-4", "LLaMA2")
# (sheet, case) -> (Q1, Q2, Q3) per workbook; None: the cell is blank.
Answers = Mapping[tuple[str, str], tuple[str | None, ...]]
D1 = {
    ("GPT-4", "case_1"): ("Yes", "No", "No"),
    ("LLaMA2", "case_1"): ("No", "No", "No"),
    ("GPT-4", "case_2"): ("No", "Yes", "No"),
    ("LLaMA2", "case_2"): ("No", "No", "Yes"),
}
D2 = {
    ("GPT-4", "case_1"): ("No", "No", "No"),
    ("LLaMA2", "case_1"): ("No", "Yes", "No"),
    ("GPT-4", "case_3"): ("Yes", "Yes", "No"),
    ("LLaMA2", "case_3"): ("No", "No", "No"),
}
# The tie-breaker answers exactly the cells where d1 and d2 disagree.
D3 = {("GPT-4", "case_1"): ("Yes", None, None), ("LLaMA2", "case_1"): (None, "No", None)}


def case_cells(sheet: str, case: str) -> list[str]:
    number = case.removeprefix("case_")
    return [
        f"{case}.json",
        f"Vignette of case {number}: a rash on the arm.",
        "What is the final diagnosis?",
        f"Doctor-AI : Hi! What symptoms are you facing today? \n Patient-AI : A rash ({sheet}, case {number}).",
        "**Final Diagnosis:** Eczema",
        "Contact dermatitis",
    ]


def _write_workbook(path: Path, labels: Answers, *, long_headers: bool) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet in SHEETS:
        ws = workbook.create_sheet(sheet)
        for row in _QUESTION_ROWS:
            ws.append(row)
        ws.append(HEADER + (_D2_QUESTIONHEADER if long_headers else ["Q1", "Q2", "Q3"]))
        for (name, case), answers in labels.items():
            if name == sheet:
                ws.append(case_cells(sheet, case) + list(answers))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def write_craftmd(root: Path, *, flat: bool = False, d1: Answers | None = None) -> Path:
    """A CRAFT-MD copy at ``root``: the repository layout, or (``flat``) the four files side by side."""
    annotations = root if flat else root / ANNOTATIONS_DIR
    _write_workbook(annotations / WORKBOOKS["dermatologist_1"], d1 or D1, long_headers=False)
    _write_workbook(annotations / WORKBOOKS["dermatologist_2"], D2, long_headers=True)
    _write_workbook(annotations / WORKBOOKS["dermatologist_3_tiebreak"], D3, long_headers=False)
    cases_csv = root / Path(CASES_FILE).name if flat else root / CASES_FILE
    cases_csv.parent.mkdir(parents=True, exist_ok=True)
    with cases_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "case_vignette", "answer", "dataset", "case_id"])
        for number, (case, source) in enumerate({**CASES, "case_99": "MedQA_USMLE"}.items()):
            writer.writerow([number, "vignette", "answer", source, case])
    return root
