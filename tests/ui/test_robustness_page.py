"""The Robustness page on a study with prompt variants on several axes, judged by a scripted backend."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec, Message
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
VARIANTS = [
    "selene",
    "selene.layout-xml",
    "selene.layout-json",
    "selene.order-response-first",
    "selene.position-swapped",
    "selene.surface-1",
    "selene.role-system",
]


def _answer(messages: list[Message]) -> str:
    """Prefer whichever response is shown first on odd items (position bias), the better one otherwise;
    the JSON layout breaks the output contract on item 0."""
    text = messages[-1].content
    first = min(text.index("Take 5 mg"), text.index("Take 50 mg")) == text.index("Take 5 mg")
    item = int(text.split("Question ")[1].split(":")[0])
    if "as JSON" in text and item == 0:
        return "**Reasoning:** Hard to say."
    if item % 2:
        return "**Reasoning:** The first one.\n\n**Result:** A"
    better_is_a = first  # "Take 5 mg" is the better response
    return f"**Reasoning:** Dose.\n\n**Result:** {'A' if better_is_a else 'B'}"


def make_pairwise_study(studies_dir: Path) -> None:
    items = [
        Item(
            str(i),
            f"Question {i}: what dose?",
            "Take 5 mg." if i % 3 else "Take 50 mg.",
            response_b="Take 50 mg." if i % 3 else "Take 5 mg.",
            experts={"e0": "A" if i % 3 else "B", "e1": "A" if i % 3 or i == 3 else "B"},
        )
        for i in range(10)
    ]
    spec = StudySpec(
        slug="pairs",
        title="Pairs",
        task=TaskType.PAIRWISE,
        experts=["e0", "e1"],
        rubric=default_rubric(TaskType.PAIRWISE),
        variants=VARIANTS,
        min_compared=5,
    )
    study = StudyStore(studies_dir).create(spec, items)
    judge = JudgeSpec(
        backend="scripted", model="scripted-robustness", quantization="none", name="Scripted (not a model)"
    )
    run_study(study, ScriptedBackend(judge, script=_answer))
    study.close()


def test_robustness_page_shows_every_measure(studies_dir: Path) -> None:
    make_pairwise_study(studies_dir)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("pairs").run()
    at.switch_page("pages/5_robustness.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["Prompt variant"]) == VARIANTS
    assert table.set_index("Prompt variant").loc["selene.layout-json", "Unreadable"] == "10.0%"
    labels = [m.label for m in at.metric]
    assert "Judge vs itself across variants (alpha)" in labels and "Experts among themselves (alpha)" in labels
    # forest plot, axis summary, flip matrix, items heatmap
    assert len(at.get("vega_lite_chart")) == 4
    position = at.dataframe[1].value.iloc[0]
    assert (position["original"], position["swapped"]) == ("selene", "selene.position-swapped")
    # Odd items (5 of 10) go to the first slot in both orders: position bias 0.5.
    assert position["position_bias_rate"] == 0.5 and position["n_first_slot_wins_twice"] == 5
    # Choosing an item shows each variant's reasoning.
    at.selectbox(key="robust_item").set_value("0").run()
    reasons = at.dataframe[2].value
    assert list(reasons["Variant"]) == VARIANTS
    assert reasons.set_index("Variant").loc["selene.layout-json", "Status"] == "no result line"


def test_prompts_page_combines_axes_into_a_saved_variant_and_shows_its_diff(studies_dir: Path) -> None:
    items = [Item(str(i), f"Question {i}?", f"Answer {i}.", reference="Ref.", experts={"e0": "yes"}) for i in range(3)]
    spec = StudySpec(
        slug="bin",
        title="Bin",
        task=TaskType.BINARY,
        experts=["e0"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene-ref", "selene-ref.layout-plain"],
    )
    StudyStore(studies_dir).create(spec, items).close()
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="app_study").set_value("bin").run()
    at.switch_page("pages/2_prompts.py").run()
    assert not at.exception, [e.message for e in at.exception]
    diff = at.selectbox(key="prompts_diff_variant")
    assert diff.value == "selene-ref.layout-plain"
    assert any(c.value.startswith("--- selene-ref\n+++ selene-ref.layout-plain") for c in at.code)
    at.selectbox(key="prompts_axis_layout").set_value("xml").run()
    at.selectbox(key="prompts_axis_labels").set_value("pass-fail").run()
    at.number_input(key="prompts_axis_surface").set_value(3).run()
    at.button(key="prompts_compose_add").click().run()
    assert not at.exception, [e.message for e in at.exception]
    study = StudyStore(studies_dir).open("bin")
    (custom,) = study.spec.custom_variants
    assert custom.id == "selene-ref.layout-xml.labels-pass-fail.surface-3"
    assert custom.id in study.spec.variants and custom.label_aliases == {"Pass": "yes", "Fail": "no"}
    assert "<instruction>" in custom.user_template
    study.close()
