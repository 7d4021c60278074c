"""Study archives: a round trip keeps everything, and a hostile or damaged archive is refused before any write."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, build_items, read_table
from selene_eval.errors import DataError, StudyError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.report import study_report
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore, new_study_spec
from selene_eval.study.archive import export_archive, import_archive

CSV = "id,q,a,e1,e2\n" + "".join(
    f"{i},question {i},answer {i},{'yes' if i % 3 else 'no'},{'yes' if i % 2 else 'no'}\n" for i in range(1, 13)
)


@pytest.fixture
def judged(studies_dir: Path):
    table = read_table(CSV.encode(), name="a.csv")
    mapping = ColumnMapping(id="id", input="q", response="a", experts=["e1", "e2"])
    items, report = build_items(table.frame, mapping, TaskType.BINARY)
    spec = new_study_spec(table, mapping, TaskType.BINARY, {}, items, slug="arch", title="Archive test")
    study = StudyStore(studies_dir).create(spec, items)
    run_study(
        study, ScriptedBackend(JudgeSpec(backend="scripted", model="s"), script=["**Result:** Yes", "**Result:** No"])
    )
    return study


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def _rezip(members: dict[str, bytes], *, manifest: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            if name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            archive.writestr(name, data)
    return buffer.getvalue()


def test_round_trip_keeps_items_judgments_and_results(judged, tmp_path: Path) -> None:
    data, manifest = export_archive(judged)
    assert manifest.n_items == 12 and manifest.n_judgments == 12
    assert set(_members(data)) == {"manifest.json", "arch/study.yaml", "arch/items.jsonl", "arch/judgments.sqlite"}
    other = StudyStore(tmp_path / "other")
    copy = import_archive(other, data)
    assert copy.slug == "arch" and copy.items == judged.items
    assert copy.judgments.count() == 12
    before = study_report(judged, n_resamples=0).to_dict()
    after = study_report(copy, n_resamples=0).to_dict()
    assert before["results"] == after["results"]


def test_import_never_overwrites_silently_and_can_rename(judged, studies_dir: Path) -> None:
    data, _ = export_archive(judged)
    store = StudyStore(studies_dir)
    with pytest.raises(StudyError, match="already exists"):
        import_archive(store, data)
    renamed = import_archive(store, data, slug="arch-copy")
    assert renamed.slug == "arch-copy" and renamed.spec.slug == "arch-copy"
    assert store.open("arch").judgments.count() == 12
    replaced = import_archive(store, data, slug="arch-copy", overwrite=True)
    assert len(replaced.items) == 12


def test_a_study_without_judgments_round_trips(studies_dir: Path, tmp_path: Path) -> None:
    table = read_table(CSV.encode(), name="a.csv")
    mapping = ColumnMapping(id="id", input="q", response="a", experts=["e1", "e2"])
    items, _ = build_items(table.frame, mapping, TaskType.BINARY)
    spec = new_study_spec(table, mapping, TaskType.BINARY, {}, items, slug="fresh")
    study = StudyStore(studies_dir).create(spec, items)
    data, manifest = export_archive(study)
    assert manifest.n_judgments == 0 and "fresh/judgments.sqlite" not in _members(data)
    assert import_archive(StudyStore(tmp_path / "o"), data).judgments.count() == 0


@pytest.mark.parametrize(
    "name, message",
    [
        ("../evil.txt", "leaves its folder"),
        ("arch/../../evil.txt", "leaves its folder"),
        ("/etc/evil", "absolute path"),
        ("C:/evil", "absolute path"),
        ("arch\\evil", "absolute path"),
        ("arch/extra.txt", "do not match its manifest"),
    ],
)
def test_hostile_member_names_are_refused(judged, tmp_path: Path, name: str, message: str) -> None:
    data, _ = export_archive(judged)
    members = _members(data)
    members[name] = b"x"
    target = tmp_path / "target"
    with pytest.raises(DataError, match=message):
        import_archive(StudyStore(target), _rezip(members))
    assert not (tmp_path / "evil.txt").exists() and not target.exists()


def test_symlinks_are_refused(judged, tmp_path: Path) -> None:
    data, _ = export_archive(judged)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in _members(data).items():
            archive.writestr(name, content)
        link = zipfile.ZipInfo("arch/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DataError, match="link"):
        import_archive(StudyStore(tmp_path / "t"), buffer.getvalue())


def test_changed_content_fails_its_checksum(judged, tmp_path: Path) -> None:
    data, _ = export_archive(judged)
    members = _members(data)
    members["arch/items.jsonl"] = members["arch/items.jsonl"].replace(b'"yes"', b'"no!"', 1)
    with pytest.raises(DataError, match="size|checksum|bytes"):
        import_archive(StudyStore(tmp_path / "t"), _rezip(members))


def test_invalid_content_with_matching_checksums_is_still_refused(judged, tmp_path: Path) -> None:
    import hashlib

    data, manifest = export_archive(judged)
    members = _members(data)
    members["arch/items.jsonl"] = members["arch/items.jsonl"].replace(b'"yes"', b'"maybe"', 1)
    listing = manifest.to_dict()
    for entry in listing["files"]:
        content = members[entry["path"]]
        entry["sha256"], entry["size"] = hashlib.sha256(content).hexdigest(), len(content)
    with pytest.raises(DataError, match="not binary labels"):
        import_archive(StudyStore(tmp_path / "t"), _rezip(members, manifest=listing))


@pytest.mark.parametrize("slug", ["../up", "UPPER", "a/b", ""])
def test_bad_slugs_in_the_manifest_are_refused(judged, tmp_path: Path, slug: str) -> None:
    data, manifest = export_archive(judged)
    listing = manifest.to_dict()
    listing["slug"] = slug
    with pytest.raises((DataError, StudyError)):
        import_archive(StudyStore(tmp_path / "t"), _rezip(_members(data), manifest=listing))


def test_size_limits_and_non_zip_files(judged, tmp_path: Path) -> None:
    data, _ = export_archive(judged)
    store = StudyStore(tmp_path / "t")
    with pytest.raises(DataError, match="larger than"):
        import_archive(store, data, max_bytes=len(data) - 1)
    with pytest.raises(DataError, match="not a zip"):
        import_archive(store, b"id,q\n1,2\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("arch/items.jsonl", b"\0" * (20 * 2**20))  # 20 MB of zeros: a tiny zip bomb
    with pytest.raises(DataError, match="zip bomb"):
        import_archive(store, buffer.getvalue())


def test_a_database_with_a_trigger_is_refused(judged, tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    data, manifest = export_archive(judged)
    members = _members(data)
    db = tmp_path / "j.sqlite"
    db.write_bytes(members["arch/judgments.sqlite"])
    conn = sqlite3.connect(db)
    conn.execute("CREATE TRIGGER t AFTER INSERT ON judges BEGIN DELETE FROM judgments; END")
    conn.commit()
    conn.close()
    members["arch/judgments.sqlite"] = db.read_bytes()
    listing = manifest.to_dict()
    for entry in listing["files"]:
        content = members[entry["path"]]
        entry["sha256"], entry["size"] = hashlib.sha256(content).hexdigest(), len(content)
    target = tmp_path / "t"
    with pytest.raises(DataError, match="trigger"):
        import_archive(StudyStore(target), _rezip(members, manifest=listing))
    assert not target.exists() or list(target.iterdir()) == []  # validated before anything is written
