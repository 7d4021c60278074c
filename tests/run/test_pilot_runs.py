"""Pilot runs: a seeded random sample stratified by the experts' label, recorded with the run; variants the
study does not list; the time a run should take."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.errors import SeleneEvalError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.run.runner import estimate_run, pilot_sample, plan_run, run_study
from selene_eval.study import StudyStore
from selene_eval.study.archive import export_archive, import_archive
from selene_eval.testing.studies import make_study as build_study

SPEC = JudgeSpec(backend="scripted", model="scripted-pilot")


def sorted_items(n_no: int = 90, n_yes: int = 10) -> list[Item]:
    """A file sorted by label, as exports often are: every 'no' first, then the rare 'yes'."""
    labels = ["no"] * n_no + ["yes"] * n_yes
    return [
        Item(f"i{k:03d}", f"Question {k}?", f"Answer {k}", experts={"a": label, "b": label})
        for k, label in enumerate(labels)
    ]


def make_study(studies_dir: Path, items: list[Item], variants: tuple[str, ...] = ("selene",)):
    return build_study(studies_dir, items, slug="pilot", title="Pilot", experts=("a", "b"), variants=variants)


def majority(item: Item) -> str:
    return Counter(item.experts.values()).most_common(1)[0][0]


def test_a_pilot_is_a_stratified_seeded_sample_not_the_first_items() -> None:
    items = sorted_items()
    sample = pilot_sample(items, 20, seed=0)
    assert len(sample) == 20
    assert Counter(majority(i) for i in sample) == {"no": 18, "yes": 2}  # the file's 9:1, not 20 'no'
    assert sample != items[:20]
    assert [i.item_id for i in sample] == sorted(i.item_id for i in sample)  # file order
    assert pilot_sample(list(reversed(items)), 20, seed=0)[::-1] == sample  # the order of the file does not matter
    assert pilot_sample(items, 20, seed=0) == sample  # the same seed, the same items
    assert pilot_sample(items, 20, seed=1) != sample
    larger = pilot_sample(items, 50, seed=0)
    assert set(map(id, sample)) <= set(map(id, larger))  # a larger pilot keeps the smaller one's items


def test_every_label_gets_an_item_when_the_pilot_has_room() -> None:
    items = sorted_items(n_no=97, n_yes=3)
    unlabelled = [Item("x1", "q", "r", experts={"a": "yes", "b": "no"}), Item("x2", "q", "r")]
    sample = pilot_sample(items + unlabelled, 5, seed=4)
    assert {majority(i) if i.item_id.startswith("i") else "none" for i in sample} == {"no", "yes", "none"}
    assert len(pilot_sample(items, 500)) == 100
    with pytest.raises(SeleneEvalError, match="at least 1 item"):
        pilot_sample(items, 0)


def test_plan_and_run_use_the_sample_and_record_the_run(studies_dir: Path) -> None:
    study = make_study(studies_dir, sorted_items())
    plan = plan_run(study, SPEC, limit=10, sample_seed=3)
    assert plan.is_sample and (plan.n_items, plan.n_study_items, plan.sample_seed) == (10, 100, 3)
    chosen = {p.prompt.item_id for p in plan.pending}
    assert chosen == {i.item_id for i in pilot_sample(study.items, 10, 3)}
    assert any(study.items[k].item_id in chosen for k in range(90, 100))  # a 'yes' item is in the pilot
    run_study(study, ScriptedBackend(SPEC), plan=plan, batch_size=4)
    [run] = study.judgments.runs()
    assert (run.judge, run.variant_ids, run.limit, run.sample_seed, run.batch_size, run.n_items) == (
        SPEC,
        ("selene",),
        10,
        3,
        4,
        10,
    )
    run_study(study, ScriptedBackend(SPEC), plan=plan_run(study, SPEC, limit=10, sample_seed=3))
    assert len(study.judgments.runs()) == 1  # nothing left to judge: no run to record


def test_a_variant_outside_the_study_is_refused_with_how_to_add_it(studies_dir: Path) -> None:
    study = make_study(studies_dir, sorted_items(8, 2))
    with pytest.raises(SeleneEvalError, match=r"'selene.layout-xml' are not in study 'pilot'.*Prompts page"):
        plan_run(study, SPEC, variant_ids=["selene", "selene.layout-xml"])


def test_cli_run_adds_the_asked_variants_to_the_study_and_report_shows_them(
    studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_study(studies_dir, sorted_items(8, 2)).close()
    cli = ["--studies-dir", str(studies_dir)]
    assert main([*cli, "run", "pilot", "--backend", "scripted", "--variants", "selene.layout-xml"]) == 0
    assert "Added variant(s) selene.layout-xml to study 'pilot'" in capsys.readouterr().err
    assert StudyStore(studies_dir).open("pilot").spec.variants == ["selene", "selene.layout-xml"]
    assert main([*cli, "report", "pilot", "--json", "--resamples", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["variant"] for r in report["results"] if r["n_judged"]} == {"selene.layout-xml"}
    # A seed without a pilot is said to do nothing (rather than silently ignored).
    assert main([*cli, "run", "pilot", "--backend", "scripted", "--sample-seed", "4"]) == 0
    assert "--sample-seed has no effect" in capsys.readouterr().err
    # An unknown id is still an error, and changes nothing.
    assert main([*cli, "run", "pilot", "--backend", "scripted", "--variants", "no-such-variant"]) == 2
    assert "No prompt variant 'no-such-variant'" in capsys.readouterr().err
    assert StudyStore(studies_dir).open("pilot").spec.variants == ["selene", "selene.layout-xml"]


def test_the_expected_time_comes_from_the_judges_stored_pace(studies_dir: Path) -> None:
    study = make_study(studies_dir, sorted_items(8, 2))
    plan = plan_run(study, SPEC)
    assert estimate_run(study, plan) is None  # never judged: measured on the first batch instead
    run_study(study, ScriptedBackend(SPEC), plan=plan_run(study, SPEC, limit=4))
    with study.judgments._transaction() as cur:  # a known pace: 2 s per judgment
        cur.execute("UPDATE judgments SET duration_s = 2.0")
    estimate = estimate_run(study, plan_run(study, SPEC))
    assert estimate is not None and (estimate.n_measured, estimate.where) == (4, "this study")
    assert estimate.seconds == pytest.approx(2.0 * 6)
    # Another study in the same folder has no judgments of this judge: it borrows the pace of this one.
    other = StudyStore(studies_dir).create(study.spec.model_copy(update={"slug": "other"}), sorted_items(3, 3))
    borrowed = estimate_run(other, plan_run(other, SPEC))
    assert borrowed is not None and borrowed.where == "other studies in this folder"
    assert borrowed.seconds == pytest.approx(2.0 * 6)


def test_an_archive_keeps_the_run_records(studies_dir: Path) -> None:
    study = make_study(studies_dir, sorted_items(8, 2))
    run_study(study, ScriptedBackend(SPEC), limit=3, sample_seed=5)
    data, _ = export_archive(study)
    copy = import_archive(StudyStore(studies_dir), data, slug="copy")
    assert copy.judgments.runs() == study.judgments.runs()


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("spec_json", '{"backend": 1, "max_new_tokens": -5}', "lists a judge whose settings are not valid"),
        ("variant_ids", '{"not": "a list"}', "records a run whose variants are not a list of ids"),
        ("variant_ids", "[broken", "records a run whose variants are not a list of ids"),
    ],
)
def test_a_damaged_run_record_is_refused_on_export(studies_dir: Path, column: str, value: str, message: str) -> None:
    """Run records become shell commands in reports: an archive is not made of a study whose records are damaged.

    (An archive carrying such a record is refused on import too:
    ``tests/reliability/test_hostile_archives.py::test_an_archive_with_a_damaged_run_record_is_refused``.)
    """
    from selene_eval.errors import StudyError

    study = make_study(studies_dir, sorted_items(8, 2))
    run_study(study, ScriptedBackend(SPEC), limit=3)
    with study.judgments._transaction() as cur:
        cur.execute(f"UPDATE runs SET {column} = ?", (value,))
    with pytest.raises(StudyError, match=message):
        export_archive(study)


def test_reading_a_study_adds_no_runs_table_to_its_database(studies_dir: Path) -> None:
    study = make_study(studies_dir, sorted_items(8, 2))
    assert study.judgments.count() == 0 and study.judgments.runs() == []
    tables = {r[0] for r in study.judgments._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "runs" not in tables  # a committed example study's database is not rewritten by opening it
