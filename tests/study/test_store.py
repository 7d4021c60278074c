"""Studies on disk: slugs, atomic files, the SQLite judgment store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.errors import StudyError
from selene_eval.prompts import default_rubric
from selene_eval.study import StoredFailure, StoredJudgment, StudySpec, StudyStore, slugify, validate_slug


def make_spec(slug: str = "pilot") -> StudySpec:
    return StudySpec(
        slug=slug,
        title="Pilot",
        task=TaskType.BINARY,
        experts=["dr_a", "dr_b"],
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )


ITEMS = [
    Item("1", "Q one?\n  indented", "A one", group_id="g1", experts={"dr_a": "yes", "dr_b": None}),
    Item("2", "Q two ünïcode €", "A two", experts={"dr_a": "no", "dr_b": "no"}),
]


def judgment(key: str, judge: JudgeSpec, label: str | None = "yes", item: str = "1") -> StoredJudgment:
    return StoredJudgment(
        cache_key=key,
        judge_id=judge.judge_id,
        item_id=item,
        variant_id="selene",
        variant_hash="h",
        label=label,
        status="ok" if label else "missing_result",
        reasoning="r",
        raw_text=f"**Result:** {label}",
        finish_reason="stop",
        n_prompt_tokens=10,
        n_new_tokens=5,
        label_probs={"yes": 0.9, "no": 0.1},
    )


@pytest.mark.parametrize(
    "slug",
    [
        "../evil",
        "/etc",
        "a/b",
        "a\\b",
        "",
        ".",
        "..",
        "Upper",
        "a" * 65,
        "nul\x00byte",
        "ａｂｃ",
        "trailing-",
        "-lead",
        "spa ce",
        "café",
    ],
)
def test_bad_slugs_are_refused_before_any_path_is_built(slug: str, studies_dir: Path) -> None:
    with pytest.raises(StudyError, match="not allowed"):
        validate_slug(slug)
    with pytest.raises(StudyError):
        StudyStore(studies_dir).create(make_spec().model_copy(update={"slug": slug}), ITEMS)
    assert list(studies_dir.iterdir()) == []


def test_good_slugs_and_slugify() -> None:
    for slug in ["kqa", "kqa-pilot_2", "a", "0x1"]:
        assert validate_slug(slug) == slug
    assert slugify("K-QA: Physicians (Demo) ünïcode") == "k-qa-physicians-demo-unicode"
    assert validate_slug(slugify("../../etc/passwd")) == "etc-passwd"
    assert slugify("!!!") == "study"


def test_create_open_roundtrip_keeps_items_exactly(studies_dir: Path) -> None:
    store = StudyStore(studies_dir)
    store.create(make_spec(), ITEMS)
    study = store.open("pilot")
    assert study.spec.items_sha256 is not None  # the fingerprint of items.jsonl, checked when items load
    assert study.spec == make_spec().model_copy(
        update={"created_at": study.spec.created_at, "items_sha256": study.spec.items_sha256}
    )
    assert study.items == ITEMS
    text = (studies_dir / "pilot" / "study.yaml").read_text(encoding="utf-8")
    assert "task: binary" in text and "objective:" in text  # human-readable
    # no temporary files left behind (the run lock's file is only a description, kept like after any run)
    assert [p.name for p in (studies_dir / "pilot").glob(".*")] in ([], [".run.lock"])
    assert not list(studies_dir.glob(".*"))  # nor a build folder beside the study


def test_create_refuses_to_overwrite_unless_asked(studies_dir: Path) -> None:
    store = StudyStore(studies_dir)
    store.create(make_spec(), ITEMS)
    with pytest.raises(StudyError, match="already exists"):
        store.create(make_spec(), ITEMS[:1])
    store.create(make_spec(), ITEMS[:1], overwrite=True)
    assert len(store.open("pilot").items) == 1


def test_open_missing_and_damaged_studies_say_what_to_do(studies_dir: Path) -> None:
    store = StudyStore(studies_dir)
    with pytest.raises(StudyError, match="No study named 'nope'"):
        store.open("nope")
    store.create(make_spec(), ITEMS)
    (studies_dir / "pilot" / "study.yaml").write_text("task: [unclosed", encoding="utf-8")
    with pytest.raises(StudyError, match="is damaged"):
        store.open("pilot")
    assert store.list() == []  # a damaged study is skipped in the list, not a crash
    store.create(make_spec("other"), ITEMS)
    (studies_dir / "other" / "items.jsonl").write_text('{"item_id": "1"}\nnot json\n', encoding="utf-8")
    with pytest.raises(StudyError, match="damaged at line 2"):
        _ = store.open("other").items


def test_list_duplicate_rename_delete(studies_dir: Path) -> None:
    store = StudyStore(studies_dir)
    study = store.create(make_spec(), ITEMS)
    judge = JudgeSpec(backend="scripted", model="x")
    study.judgments.register_judge(judge)
    study.judgments.add([judgment("k1", judge)])
    study.close()
    copy = store.duplicate("pilot", "pilot-copy")
    assert copy.judgments.count() == 1 and copy.spec.slug == "pilot-copy"
    copy.close()
    bare = store.duplicate("pilot", "pilot-bare", with_judgments=False)
    assert bare.judgments.count() == 0
    bare.close()
    store.rename("pilot-bare", "renamed")
    assert [s.slug for s in store.list()] == ["pilot", "pilot-copy", "renamed"]
    assert store.open("renamed").spec.slug == "renamed"
    summary = store.list()[0]
    assert (summary.n_items, summary.n_judgments, summary.task) == (2, 1, "binary")
    store.delete("renamed")
    assert not (studies_dir / "renamed").exists()
    with pytest.raises(StudyError, match="already exists"):
        store.rename("pilot", "pilot-copy")


def test_judgments_are_stored_once_and_failures_are_retried(tmp_path: Path) -> None:
    store = StudyStore(tmp_path).create(make_spec(), ITEMS).judgments
    judge = JudgeSpec(backend="scripted", model="x")
    store.register_judge(judge)
    store.register_judge(judge)  # idempotent
    assert store.judges() == [judge]
    store.add([judgment("k1", judge)], [StoredFailure("k2", judge.judge_id, "2", "selene", "CUDA out of memory")])
    assert store.existing_keys(["k1", "k2", "k3"]) == {"k1"}
    assert [f.cache_key for f in store.failures()] == ["k2"]
    # The same key again does not overwrite; a judgment for a failed key clears the failure.
    store.add([judgment("k1", judge, label="no"), judgment("k2", judge, item="2")])
    got = store.get(["k1", "k2", "missing"])
    assert got["k1"].label == "yes" and got["k1"].label_probs == {"yes": 0.9, "no": 0.1}
    assert set(got) == {"k1", "k2"} and store.failures() == []
    assert store.count() == 2 and store.count(judge.judge_id) == 2 and store.count("other") == 0


def test_a_failed_batch_leaves_nothing_half_written(tmp_path: Path) -> None:
    store = StudyStore(tmp_path).create(make_spec(), ITEMS).judgments
    judge = JudgeSpec(backend="scripted", model="x")
    store.register_judge(judge)
    bad = judgment("k2", judge)
    object.__setattr__(bad, "judge_id", "unregistered")  # violates the foreign key: the batch must roll back
    with pytest.raises(sqlite3.IntegrityError):
        store.add([judgment("k1", judge), bad])
    assert store.count() == 0


def test_many_keys_and_concurrent_writers(tmp_path: Path) -> None:
    study = StudyStore(tmp_path).create(make_spec(), ITEMS)
    judge = JudgeSpec(backend="scripted", model="x")
    study.judgments.register_judge(judge)
    from selene_eval.study import JudgmentStore

    def write(prefix: str) -> None:
        own = JudgmentStore(study.path / "judgments.sqlite")  # a second connection, as another process would
        for n in range(0, 1000, 100):
            own.add([judgment(f"{prefix}{i}", judge) for i in range(n, n + 100)])
        own.close()

    threads = [threading.Thread(target=write, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [f"{p}{i}" for p in "ab" for i in range(1000)]
    assert study.judgments.existing_keys(keys) == set(keys)  # more keys than one SQL statement may bind


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    study = StudyStore(tmp_path).create(make_spec(), ITEMS)
    (study.path / "judgments.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StudyError, match="cannot be opened"):
        _ = study.judgments
