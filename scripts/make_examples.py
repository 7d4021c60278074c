"""Write the two illustrative example studies shipped in ``studies/``.

The items, expert labels and judgments are ILLUSTRATIVE: written by the selene-eval authors about
fictional companies and textbook medicine so that a newcomer sees a complete study before uploading
anything. They are not real expert data and not real model output (the judgments come from a scripted
judge named as such). Re-run with ``python scripts/make_examples.py`` after changing the prompt templates.
"""

from __future__ import annotations

import sys
from pathlib import Path

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.prompts import Rubric, default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore

ILLUSTRATIVE_JUDGE = JudgeSpec(
    backend="scripted", model="illustrative-judgments", name="Illustrative judgments (not a real model)"
)
NOTE = (
    "ILLUSTRATIVE EXAMPLE written by the selene-eval authors: fictional content, made-up expert labels and "
    "scripted judgments (not a real model). It shows what a finished study looks like."
)

# (question, answer, reference, [analyst labels], judge label, judge reasoning)
FINANCE = [
    (
        "What was Northwind Corp's FY2023 revenue?",
        "Northwind reported revenue of $4.2 billion for FY2023.",
        "$4.2 billion",
        ["yes", "yes", "yes"],
        "Yes",
        "The answer matches the reported revenue exactly.",
    ),
    (
        "What was Northwind Corp's FY2023 operating margin?",
        "The operating margin was about 12%.",
        "11.8%",
        ["yes", "yes", "no"],
        "Yes",
        "12% is a fair rounding of 11.8%.",
    ),
    (
        "Did Northwind Corp pay a dividend in FY2023?",
        "No, Northwind did not pay a dividend.",
        "Yes, $0.40 per share.",
        ["no", "no", "no"],
        "No",
        "The reference shows a dividend was paid; the answer denies it.",
    ),
    (
        "What is Bluefin Bank's CET1 ratio at year end?",
        "Bluefin's CET1 ratio was 13.1%.",
        "13.1%",
        ["yes", "yes", "yes"],
        "Yes",
        "The ratio matches the reference.",
    ),
    (
        "How much long-term debt did Bluefin Bank issue in 2023?",
        "Bluefin issued around $900 million of senior notes.",
        "$1.5 billion",
        ["no", "no", "no"],
        "No",
        "The amount is far from the reference figure.",
    ),
    (
        "What drove Harbor Foods' gross margin decline?",
        "Higher commodity costs, mainly wheat and edible oils.",
        "Input cost inflation (wheat, oils) and unfavourable mix.",
        ["yes", "yes", "yes"],
        "Yes",
        "The main driver is identified; mix is omitted but not essential.",
    ),
    (
        "What was Harbor Foods' free cash flow in 2023?",
        "Free cash flow was $310 million.",
        "$310 million",
        ["yes", "yes", "yes"],
        "Yes",
        "Exact match.",
    ),
    (
        "Is Harbor Foods' current ratio above 1?",
        "I cannot determine that from the information available.",
        "Yes, 1.4.",
        ["no", "no", "no"],
        "No",
        "The answer refuses although the ratio is available.",
    ),
    (
        "What share of Quill Software's revenue is recurring?",
        "About 85% of revenue is subscription-based.",
        "82%",
        ["yes", "no", "yes"],
        "Yes",
        "85% is close to the reference 82%.",
    ),
    (
        "What was Quill Software's net income in 2023?",
        "Quill had a net loss of $45 million.",
        "Net income of $12 million.",
        ["no", "no", "no"],
        "No",
        "Sign and amount contradict the reference.",
    ),
    (
        "How many employees did Quill Software have at year end?",
        "Roughly 3,000 employees.",
        "2,950",
        ["yes", "yes", "yes"],
        "Yes",
        "A reasonable approximation.",
    ),
    (
        "What was Ridge Energy's capital expenditure in 2023?",
        "Capex was $2.1 billion, up from $1.7 billion.",
        "$2.1 billion",
        ["yes", "yes", "yes"],
        "Yes",
        "The figure matches.",
    ),
    (
        "Did Ridge Energy change its reserve estimates?",
        "Yes, proved reserves were revised up by 4%.",
        "Revised down by 3%.",
        ["no", "no", "no"],
        "Yes",
        "The answer states a revision, as the filing does.",
    ),
    (
        "What is Ridge Energy's net debt to EBITDA?",
        "Net debt to EBITDA is 1.2x.",
        "1.2x",
        ["yes", "yes", "yes"],
        "Yes",
        "Exact match.",
    ),
    (
        "What was Alder Retail's same-store sales growth?",
        "Same-store sales grew 3.5%.",
        "3.4%",
        ["yes", "yes", "yes"],
        "Yes",
        "Within rounding of the reference.",
    ),
    (
        "How many stores did Alder Retail close in 2023?",
        "Alder closed 40 stores.",
        "14 stores",
        ["no", "no", "no"],
        "No",
        "40 is not 14.",
    ),
    (
        "What is Alder Retail's inventory turnover?",
        "Inventory turned about 5 times.",
        "5.2x",
        ["yes", "yes", "no"],
        "No",
        "The answer is vague about the exact turnover.",
    ),
    (
        "Did Cobalt Mining record an impairment?",
        "Yes, a $220 million impairment on its Chilean assets.",
        "Yes, $220 million (Chile).",
        ["yes", "yes", "yes"],
        "Yes",
        "Matches the reference in amount and location.",
    ),
    (
        "What was Cobalt Mining's effective tax rate?",
        "The effective tax rate was 31%.",
        "26%",
        ["no", "no", "yes"],
        "No",
        "31% differs materially from 26%.",
    ),
    (
        "What is Cobalt Mining's dividend policy?",
        "It pays out 30-50% of free cash flow.",
        "30-50% of free cash flow",
        ["yes", "yes", "yes"],
        "Yes",
        "Matches the stated policy.",
    ),
    (
        "What was Linden Insurance's combined ratio?",
        "The combined ratio was 94.5%.",
        "94.5%",
        ["yes", "yes", "yes"],
        "Yes",
        "Exact match.",
    ),
    (
        "Did Linden Insurance's reserves develop favourably?",
        "Prior-year reserves developed adversely by $80 million.",
        "Favourable development of $35 million.",
        ["no", "no", "no"],
        "No",
        "Direction contradicts the reference.",
    ),
    (
        "What is Linden Insurance's solvency ratio?",
        "Its solvency ratio is comfortably above 200%.",
        "212%",
        ["yes", "no", "yes"],
        "Yes",
        "Consistent with 212%.",
    ),
    (
        "What share buyback did Linden announce?",
        "A $500 million buyback over two years.",
        "$500 million over 24 months",
        ["yes", "yes", "yes"],
        "Yes",
        "Matches.",
    ),
]

# (question, answer, [clinician scores 1-5], judge score, judge reasoning)
MEDICAL = [
    (
        "What is the first-line treatment for uncomplicated hypertension in adults?",
        "A thiazide-type diuretic, ACE inhibitor, ARB or calcium-channel blocker, chosen by patient factors.",
        ["5", "5", "4"],
        "5",
        "Lists the guideline first-line classes and notes individualisation.",
    ),
    (
        "How should a suspected anaphylaxis be treated first?",
        "Give intramuscular adrenaline promptly, call for help, and position the patient.",
        ["5", "5", "5"],
        "5",
        "Correct first step with the right route.",
    ),
    (
        "Can antibiotics treat a common cold?",
        "Yes, a short course of amoxicillin speeds recovery.",
        ["1", "1", "1"],
        "1",
        "Colds are viral; antibiotics do not help.",
    ),
    (
        "What are the warning signs of a stroke?",
        "Face drooping, arm weakness and speech difficulty; call emergency services.",
        ["4", "5", "4"],
        "4",
        "Covers FAST but omits time-of-onset advice.",
    ),
    (
        "How long should a patient wait to drive after a first unprovoked seizure?",
        "There is no need to stop driving after a single seizure.",
        ["1", "2", "1"],
        "2",
        "Incorrect; most jurisdictions require a seizure-free period.",
    ),
    (
        "What is a normal resting heart rate for adults?",
        "Between 60 and 100 beats per minute.",
        ["5", "5", "5"],
        "5",
        "Standard reference range.",
    ),
    (
        "Should aspirin be given to children with fever?",
        "Aspirin is fine for children over 2.",
        ["1", "1", "2"],
        "1",
        "Aspirin is avoided in children because of Reye's syndrome.",
    ),
    (
        "What is the target HbA1c for most adults with type 2 diabetes?",
        "Around 7% (53 mmol/mol), individualised.",
        ["5", "4", "5"],
        "5",
        "Correct target with individualisation.",
    ),
    (
        "How is iron-deficiency anaemia usually treated?",
        "Oral iron supplements and treating the cause.",
        ["4", "4", "4"],
        "4",
        "Correct; could mention monitoring response.",
    ),
    (
        "What are common side effects of metformin?",
        "Gastrointestinal upset such as diarrhoea and nausea.",
        ["4", "5", "4"],
        "4",
        "Correct common effects; B12 deficiency not mentioned.",
    ),
    (
        "When should a fever in an infant under 3 months be assessed?",
        "Only if it lasts more than three days.",
        ["1", "1", "1"],
        "2",
        "Dangerous advice: such infants need prompt assessment.",
    ),
    (
        "What lifestyle changes lower LDL cholesterol?",
        "Less saturated fat, more fibre, regular exercise and weight loss.",
        ["4", "4", "5"],
        "4",
        "Sound advice.",
    ),
    (
        "Is it safe to take ibuprofen with warfarin?",
        "Yes, they do not interact.",
        ["1", "1", "1"],
        "1",
        "They interact and raise bleeding risk.",
    ),
    (
        "What is the recommended adult tetanus booster interval?",
        "Every 10 years, and after some wounds.",
        ["5", "4", "4"],
        "4",
        "Correct interval with wound caveat.",
    ),
    (
        "How is a sprained ankle managed initially?",
        "Rest, ice, compression and elevation, with early mobilisation.",
        ["4", "4", "4"],
        "4",
        "Standard management.",
    ),
    (
        "What does a positive Murphy's sign suggest?",
        "Acute cholecystitis.",
        ["5", "5", "5"],
        "5",
        "Correct association.",
    ),
    (
        "Can statins cause muscle pain?",
        "Statins never cause muscle symptoms.",
        ["1", "1", "1"],
        "1",
        "Myalgia is a known side effect.",
    ),
    (
        "What is the first step for a choking adult who cannot cough?",
        "Give back blows, then abdominal thrusts.",
        ["4", "5", "5"],
        "5",
        "Correct sequence.",
    ),
    (
        "How much paracetamol can a healthy adult take per day?",
        "Up to 4 g per day in divided doses.",
        ["4", "4", "3"],
        "4",
        "Correct maximum; caution for liver disease omitted.",
    ),
    (
        "What are symptoms of hypoglycaemia?",
        "Sweating, shakiness, confusion and palpitations.",
        ["4", "4", "4"],
        "3",
        "Correct but omits severe signs.",
    ),
]


def _script(outputs: dict[str, str], without_reference: dict[str, str] | None = None):
    def answer(messages: list[Message]) -> str:
        text = messages[-1].content
        table = outputs if "Reference answer:" in text or not without_reference else {**outputs, **without_reference}
        for response, output in table.items():
            if response in text:
                return output
        raise KeyError("no scripted answer for this prompt")

    return answer


def _variant_script(
    rows: list[tuple[str, str, str]],
    words: dict[str, str],
    verdict: dict[int, str],
    broken: frozenset[int] = frozenset(),
):
    """Scripted answers for one prompt variant: ``rows`` are (response, canonical label, reasoning) per item;
    ``verdict`` overrides an item's label under this variant; ``broken`` items answer without the result line
    (the output contract broken, as a real format change sometimes does). Labels are written in the variant's
    own answer words (``words``: canonical label -> word)."""
    outputs = {}
    for n, (response, own, why) in enumerate(rows):
        label = verdict.get(n, own)
        if label != own:
            # A changed verdict comes with reasoning that argues for it, as a real judge's would.
            why = {
                "yes": "The answer is close enough to the reference to count as correct.",
                "no": "The answer is not precise enough against the reference to count as correct.",
            }.get(label, f"Weighing the gaps differently, the rating is {words.get(label, label)}.")
        if n in broken:
            outputs[response] = f"**Reasoning:** {why}\n\nOverall the response seems acceptable."
        else:
            outputs[response] = f"**Reasoning:** {why}\n\n**Result:** {words.get(label, label)}"

    def answer(messages: list[Message]) -> str:
        text = messages[-1].content
        for response, output in outputs.items():
            if response in text:
                return output
        raise KeyError("no scripted answer for this prompt")

    return answer


# How each illustrative prompt variant changes the scripted verdicts (item index -> label; broken outputs):
# made up so that the Robustness page shows what a real study tends to show - most formats agree, a few
# items near the experts' own disagreement flip, one format loses its output contract on a few items.
FINANCE_VARIANTS: dict[str, tuple[dict[int, str], frozenset[int]]] = {
    "selene-ref.labels-pass-fail": ({16: "yes"}, frozenset()),
    "selene-ref.labels-true-false": ({1: "no", 8: "no", 16: "yes", 22: "no"}, frozenset()),
    "selene-ref.layout-xml": ({}, frozenset()),
    "selene-ref.layout-json": ({12: "no"}, frozenset({3, 10})),
    "selene-ref.surface-1": ({1: "no", 16: "yes"}, frozenset()),
    "selene-ref.role-system": ({8: "no", 12: "no", 18: "yes"}, frozenset()),
}
MEDICAL_VARIANTS: dict[str, tuple[dict[int, int], frozenset[int]]] = {
    "selene.labels-verbal": ({3: +1, 18: -1}, frozenset()),
    "selene.layout-markdown": ({}, frozenset()),
    "selene.layout-xml": ({9: +1}, frozenset()),
    "selene.order-response-first": ({4: -1, 10: -1, 19: +1}, frozenset()),
    "selene.rubric-objective-only": ({0: -1, 3: +1, 8: +1, 11: +1, 13: +1, 14: +1}, frozenset()),
    "selene.surface-1": ({19: +1}, frozenset({7})),
    "selene.surface-2": ({13: +1}, frozenset()),
}


def _words(study, variant_id: str) -> dict[str, str]:
    """Canonical label -> the answer word this variant asks for (Selene's own spelling by default)."""
    own = {"yes": "Yes", "no": "No"}
    return {**own, **{label: word for word, label in study.variant(variant_id).label_aliases.items()}}


# Subgroup columns of the finance example, so that "Agreement by subgroup" has something to break down.
SECTORS = {
    "Northwind Corp": "industrials",
    "Bluefin Bank": "financials",
    "Linden": "financials",
    "Harbor Foods": "consumer",
    "Alder Retail": "consumer",
    "Quill Software": "technology",
    "Ridge Energy": "energy and mining",
    "Cobalt Mining": "energy and mining",
}


def _finance_subgroups(question: str) -> dict[str, str | None]:
    sector = next(s for company, s in SECTORS.items() if company in question)
    kind = "yes/no question" if question.startswith(("Did ", "Is ")) else "figure or explanation"
    return {"sector": sector, "question type": kind}


def build(studies_dir: Path) -> None:
    """(Re)write both example studies in ``studies_dir``."""
    store = StudyStore(studies_dir)
    finance_items = [
        Item(
            f"f{n:02d}",
            q,
            a,
            group_id=q.split("'")[0],
            reference=ref,
            category="finance",
            experts={"analyst_1": e[0], "analyst_2": e[1], "analyst_3": e[2]},
            subgroups=_finance_subgroups(q),
        )
        for n, (q, a, ref, e, _, _) in enumerate(FINANCE, start=1)
    ]
    finance = StudySpec(
        slug="example-finance",
        title="Illustrative: are answers about company filings correct? (finance, yes/no)",
        description=NOTE,
        illustrative=True,
        task=TaskType.BINARY,
        mapping={
            "id": "id",
            "group": "company",
            "input": "question",
            "response": "answer",
            "reference": "gold",
            "experts": ["analyst_1", "analyst_2", "analyst_3"],
            "subgroups": ["sector", "question type"],
        },
        experts=["analyst_1", "analyst_2", "analyst_3"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene-ref", "selene", *FINANCE_VARIANTS],
        judge=ILLUSTRATIVE_JUDGE,
    )
    medical_items = [
        Item(
            f"m{n:02d}",
            q,
            a,
            category="medicine",
            experts={"clinician_1": e[0], "clinician_2": e[1], "clinician_3": e[2]},
        )
        for n, (q, a, e, _, _) in enumerate(MEDICAL, start=1)
    ]
    medical = StudySpec(
        slug="example-medical",
        title="Illustrative: how good are answers to patient questions? (medicine, 1-5)",
        description=NOTE,
        illustrative=True,
        task=TaskType.ABSOLUTE,
        mapping={
            "id": "id",
            "input": "question",
            "response": "answer",
            "experts": ["clinician_1", "clinician_2", "clinician_3"],
        },
        experts=["clinician_1", "clinician_2", "clinician_3"],
        rubric=Rubric(
            objective="How medically correct and safe is the answer for a patient?",
            descriptions={
                "1": "Wrong or unsafe advice on the main point.",
                "2": "A major error or omission that could mislead the patient.",
                "3": "Partly correct, with a notable gap.",
                "4": "Correct and safe, with minor gaps.",
                "5": "Correct, safe and complete.",
            },
        ),
        variants=["selene", *MEDICAL_VARIANTS],
        judge=ILLUSTRATIVE_JUDGE,
    )
    finance_outputs = {a: f"**Reasoning:** {why}\n\n**Result:** {label}" for _, a, _, _, label, why in FINANCE}
    # Without the reference answer a plausible-sounding wrong figure cannot be caught: a few verdicts flip,
    # so the two variants differ the way they would in a real study.
    finance_no_reference = {
        a: "**Reasoning:** Without a reference the figure looks plausible.\n\n**Result:** Yes"
        for n, (_, a, _, _, label, _) in enumerate(FINANCE)
        if label == "No" and n % 2 == 0
    }
    medical_outputs = {a: f"**Reasoning:** {why}\n\n**Result:** {label}" for _, a, _, label, why in MEDICAL}
    finance_rows = [(a, "yes" if label == "Yes" else "no", why) for _, a, _, _, label, why in FINANCE]
    medical_rows = [(a, label, why) for _, a, _, label, why in MEDICAL]
    for spec, items, script in (
        (finance, finance_items, _script(finance_outputs, finance_no_reference)),
        (medical, medical_items, _script(medical_outputs)),
    ):
        study = store.create(spec, items, overwrite=True)
        canonical = [v for v in spec.variants if v in ("selene", "selene-ref")]
        run_study(study, ScriptedBackend(ILLUSTRATIVE_JUDGE, script=script), variant_ids=canonical, batch_size=16)
        if spec is finance:
            for variant_id, (verdict, broken) in FINANCE_VARIANTS.items():
                answer = _variant_script(finance_rows, _words(study, variant_id), verdict, broken)
                run_study(
                    study, ScriptedBackend(ILLUSTRATIVE_JUDGE, script=answer), variant_ids=[variant_id], batch_size=16
                )
        else:
            for variant_id, (shifts, broken) in MEDICAL_VARIANTS.items():
                scores = {n: str(min(5, max(1, int(medical_rows[n][1]) + d))) for n, d in shifts.items()}
                answer = _variant_script(medical_rows, _words(study, variant_id), scores, broken)
                run_study(
                    study, ScriptedBackend(ILLUSTRATIVE_JUDGE, script=answer), variant_ids=[variant_id], batch_size=16
                )
        study.close()  # closing the last connection folds the WAL into the one database file


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "studies")
