"""Subgroups on the dashboard: chosen on the Data page, broken down by on the Agreement page."""

from __future__ import annotations

from pathlib import Path

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.testing.dashboard import go, start, texts
from selene_eval.testing.studies import yes_if_good
from selene_eval.ui.data import label_value_key


def csv_with_extra_columns() -> bytes:
    lines = ["question,answer,expert_a,expert_b,specialty,site"]
    for i in range(40):
        label = "Yes" if i % 2 else "No"
        good = i % 2 or i % 4 == 0  # the judge (yes on "good") is wrong on every fourth item
        lines.append(
            f'"Question {i}?","{"a good" if good else "a bad"} answer",{label},{label},'
            f"{['cardiology', 'oncology'][i % 2 if i < 30 else 0]},{['north', 'south'][i // 20]}"
        )
    return ("\n".join(lines) + "\n").encode()


answer = yes_if_good


def test_subgroup_columns_chosen_on_the_data_page_split_the_agreement(studies_dir: Path) -> None:
    at = start()
    at.file_uploader(key="data_upload").set_value(("Extra.csv", csv_with_extra_columns(), "text/csv")).run()
    at.radio(key="data_task").set_value(TaskType.BINARY).run()
    assert at.multiselect(key="data_experts").value == ["expert_a", "expert_b"]
    subgroups = at.multiselect(key="data_subgroups")
    # Only columns not mapped to another role are offered.
    assert set(subgroups.options) == {"specialty", "site"}
    subgroups.set_value(["specialty", "site"]).run()
    for raw, meaning in {"Yes": "yes", "No": "no"}.items():
        key = label_value_key(TaskType.BINARY, raw)
        if at.selectbox(key=key).value is None:
            at.selectbox(key=key).set_value(meaning)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.text_input(key="data_slug").set_value("extra")
    next(b for b in at.button if b.label == "Save the study").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Saved study" in texts(at.success)

    study = StudyStore(studies_dir).open("extra")
    assert study.items[0].subgroups == {"specialty": "cardiology", "site": "north"}
    run_study(study, ScriptedBackend(JudgeSpec(backend="scripted", model="s"), script=answer))
    study.close()

    go(at, "pages/4_agreement.py")
    assert "Agreement by subgroup" in [s.value for s in at.subheader]
    split = at.radio(key="agree_split")
    assert split.options == ["specialty", "site"]
    shown = next(t.value for t in at.table if t.value.index.name == "Specialty")
    assert list(shown.index) == ["cardiology", "oncology"]
    split.set_value("site").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = next(t.value for t in at.table if t.value.index.name == "Site")
    assert list(shown.index) == ["north", "south"] and list(shown["Compared"]) == ["20", "20"]

    # The disagreements show the subgroup columns and filter on them.
    assert "Where the judge and the experts disagree" in [s.value for s in at.subheader]
    filters = {m.label: m for m in at.multiselect if m.key and m.key.startswith("agree_subgroup_")}
    assert set(filters) == {"specialty", "site"}
    shown = next(d.value for d in at.dataframe if "site" in d.value.columns)
    assert {"specialty", "site"} <= set(shown.columns)
    n_all = len(shown)
    filters["site"].set_value(["north"]).run()
    assert not at.exception, [e.message for e in at.exception]
    narrowed = next(d.value for d in at.dataframe if "site" in d.value.columns)
    assert 0 < len(narrowed) < n_all and set(narrowed["site"]) == {"north"}
