"""Hostile and damaged study archives: refused with one clear message and nothing installed, or imported whole.

An archive is generated from a real judged study and then attacked: bytes flipped or cut (CRC and deflate
errors), headers that claim encryption or an unknown compression method, manifests with ``Infinity``, NaN,
5,000-digit numbers, nesting 100,000 deep or values of the wrong type, study files (spec, items, database)
replaced by hostile ones *with matching checksums* (so that the checks behind the checksum are reached):
YAML and JSON bombs, rows of the wrong type, ``label_probs`` that are not JSON, a database of another schema,
with triggers, views or an unknown judge. Each import must end in our own error (``DataError`` or
``StudyError``) with nothing new in the studies folder, or in a study that opens, reports and lists like
one made here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import sqlite3
import struct
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.errors import DataError, SeleneEvalError, StudyError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.report import study_report
from selene_eval.run.runner import run_study
from selene_eval.study import StudyStore
from selene_eval.study.archive import export_archive, import_archive
from tests.reliability.figures import record
from tests.reliability.helpers import SCRIPTED, PeakRss, make_study, scripted_answer

SLUG = "s"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
HUGE_INT = "9" * 5_000


# --- the base archive ------------------------------------------------------------------------------------------


def base_members(tmp: Path) -> dict[str, bytes]:
    """The members of a real archive: a judged study whose judgments have label probabilities."""
    study = make_study(tmp / "base", 12, slug=SLUG)
    run_study(study, ScriptedBackend(SCRIPTED, script=scripted_answer))
    study.close()
    conn = sqlite3.connect(tmp / "base" / SLUG / "judgments.sqlite")
    conn.execute("""UPDATE judgments SET label_probs = '{"yes": 0.8, "no": 0.2}'""")
    conn.commit()
    conn.close()
    data, _ = export_archive(StudyStore(tmp / "base").open(SLUG))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def manifest_for(members: dict[str, bytes]) -> dict[str, object]:
    manifest = json.loads(members["manifest.json"])
    manifest["files"] = [
        {"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        for p, d in members.items()
        if p != "manifest.json"
    ]
    return manifest


def zip_members(members: dict[str, bytes], manifest_text: str | None = None, *, fix_checksums: bool = True) -> bytes:
    """Zip ``members``; the manifest's checksums match the (changed) files unless told otherwise."""
    members = dict(members)
    if manifest_text is None and fix_checksums:
        manifest_text = json.dumps(manifest_for(members))
    if manifest_text is not None:
        members["manifest.json"] = manifest_text.encode("utf-8", "surrogatepass")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- attacks on the zip container ------------------------------------------------------------------------------


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def cut(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def _headers(data: bytes) -> list[tuple[int, int]]:
    """(offset of flags, offset of method) of every local and central header."""
    spots = []
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            spots.append((start + flags_at, start + flags_at + 2))
            start = data.find(signature, start + 4)
    return spots


def set_method(rng: random.Random, data: bytes) -> bytes:
    """Give one member (in both headers) a compression method zipfile may or may not know (bzip2, lzma, 99)."""
    method = rng.choice([1, 6, 9, 12, 14, 19, 93, 95, 98, 99, 0xFFFF])
    out = bytearray(data)
    spots = _headers(data)
    index = rng.randrange(len(spots) // 2)
    for _flags_at, method_at in (spots[index], spots[index + len(spots) // 2]):
        struct.pack_into("<H", out, method_at, method)
    return bytes(out)


def set_encrypted(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    spots = _headers(data)
    index = rng.randrange(len(spots) // 2)
    for flags_at, _ in (spots[index], spots[index + len(spots) // 2]):
        (flags,) = struct.unpack_from("<H", out, flags_at)
        struct.pack_into("<H", out, flags_at, flags | rng.choice([0x1, 0x41, 0x2001]))
    return bytes(out)


def stored_with_bad_crc(rng: random.Random, members: dict[str, bytes]) -> bytes:
    """A member whose content changed after its CRC was written (a CRC error while reading)."""
    buffer = io.BytesIO()
    name = rng.choice(list(members))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    raw = bytearray(buffer.getvalue())
    at = raw.find(members[name][:64]) if members[name] else -1
    if at >= 0 and members[name]:
        raw[at + rng.randrange(min(64, len(members[name])))] ^= 0x20
    return bytes(raw)


# --- attacks on the manifest -----------------------------------------------------------------------------------

HOSTILE_JSON = [
    "Infinity",
    "-Infinity",
    "NaN",
    HUGE_INT,
    "-" + HUGE_INT,
    "1e999",
    DEEP_JSON,
    '{"a": ' * 50 + "1" + "}" * 50,
    "null",
    "true",
    "false",
    "-1",
    "0",
    "1.5",
    '""',
    '"x"',
    "[]",
    "{}",
    '"' + "A" * 200_000 + '"',
    '"../../etc/passwd"',
    '"\\u0000"',
    '"\\ud800"',
    "18446744073709551616",
    "2147483648",
]


def manifest_value(rng: random.Random, members: dict[str, bytes]) -> bytes:
    """One manifest value (top level or in a file entry) replaced by a hostile JSON token."""
    manifest = manifest_for(members)
    token = rng.choice(HOSTILE_JSON)
    if rng.random() < 0.5:
        key = rng.choice(
            [
                "format",
                "version",
                "slug",
                "title",
                "exported_at",
                "selene_eval_version",
                "n_items",
                "n_judgments",
                "files",
                "extra",
            ]
        )
        manifest[key] = "@@HOSTILE@@"
    else:
        entry = rng.choice(manifest["files"])  # type: ignore[arg-type]
        entry[rng.choice(["path", "sha256", "size", "extra"])] = "@@HOSTILE@@"
    return zip_members(members, json.dumps(manifest).replace('"@@HOSTILE@@"', token))


def manifest_whole(rng: random.Random, members: dict[str, bytes]) -> bytes:
    """The whole manifest replaced: a bomb, another type, invalid UTF-8, or a changed file list."""
    choice = rng.randrange(8)
    manifest = manifest_for(members)
    if choice == 0:
        text = rng.choice(HOSTILE_JSON)
    elif choice == 1:
        buffer = zip_members(members)
        with zipfile.ZipFile(io.BytesIO(buffer)) as archive:
            kept = {i.filename: archive.read(i) for i in archive.infolist()}
        kept["manifest.json"] = b"\xff\xfe" + kept["manifest.json"]
        return zip_members(kept, fix_checksums=False)
    elif choice == 2:
        manifest["files"] = manifest["files"] * 2  # type: ignore[operator]
        text = json.dumps(manifest)
    elif choice == 3:
        manifest["files"] = [f for f in manifest["files"] if rng.random() < 0.5]  # type: ignore[union-attr]
        text = json.dumps(manifest)
    elif choice == 4:
        entry = rng.choice(manifest["files"])  # type: ignore[arg-type]
        entry["sha256"] = hashlib.sha256(b"other").hexdigest()
        text = json.dumps(manifest)
    elif choice == 5:
        entry = rng.choice(manifest["files"])  # type: ignore[arg-type]
        entry["size"] = entry["size"] + rng.choice([-1, 1, 2**40])
        text = json.dumps(manifest)
    elif choice == 6:
        manifest["slug"] = rng.choice(["../x", "S", "a" * 65, "", "con", "a/b", "x\n", "-x"])
        text = json.dumps(manifest)
    else:
        text = json.dumps({"format": "selene-eval-study", "version": 1})
    return zip_members(members, text)


# --- attacks on the study files (checksums kept valid) ---------------------------------------------------------

HOSTILE_YAML = [
    b"[" * 10_000 + b"]" * 10_000,
    b"slug: " + HUGE_INT.encode(),
    b"\xff\xfe\x00",
    b"- 1\n- 2\n",
    b"",
    b"~",
    b"!!python/object/apply:os.system ['true']",
    b"a: &a [*a]",
    b"a: &a ['x','x','x','x','x','x','x','x','x']\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    b"slug: s\ntitle: t\ntask: binary\nrubric: 5\n",
    b"\t\tbad: indent",
    b'key: "unterminated',
]


def spec_attack(rng: random.Random, members: dict[str, bytes]) -> bytes:
    path = f"{SLUG}/study.yaml"
    spec = members[path].decode()
    choice = rng.randrange(3)
    if choice == 0:
        data = rng.choice(HOSTILE_YAML)
    elif choice == 1:  # one field of the real spec replaced
        lines = spec.splitlines()
        at = rng.randrange(len(lines))
        key = lines[at].split(":")[0] if ":" in lines[at] else "title"
        replacement = rng.choice(HOSTILE_YAML).decode("utf-8", "replace").replace("\n", " ")
        lines[at] = (
            f"{key}: {replacement}"
            if rng.random() < 0.7
            else f"{key}: {rng.choice(['[]', '{}', '-1', 'null', HUGE_INT])}"
        )
        data = "\n".join(lines).encode()
    else:
        data = flip_bytes(rng, members[path])
    return zip_members({**members, path: data})


HOSTILE_ITEM_LINES = [
    "[1, 2]",
    "1",
    '"text"',
    "null",
    DEEP_JSON,
    '{"item_id": ' + HUGE_INT + "}",
    '{"item_id": NaN}',
    '{"item_id": Infinity}',
    '{"item_id": "0", "experts": [1]}',
    '{"item_id": "0", "experts": {"e1": "maybe"}}',
    '{"item_id": "0", "experts": "e1"}',
    '{"item_id": "0", "subgroups": [1]}',
    '{"input": "no id"}',
    '{"item_id": {"a": 1}}',
    '{"item_id": "0", "input": [' + "1," * 1000 + "1]}",
    '{"item_id": "0", "experts": {"e1": ' + "[" * 5000 + "]" * 5000 + "}}",
    "{",
    "\x00\x01",
    '{"item_id": "\\ud800"}',
]


def items_attack(rng: random.Random, members: dict[str, bytes]) -> bytes:
    path = f"{SLUG}/items.jsonl"
    lines = members[path].decode().splitlines()
    choice = rng.randrange(5)
    if choice == 0:
        lines[rng.randrange(len(lines))] = rng.choice(HOSTILE_ITEM_LINES)
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
    elif choice == 1:
        data = members[path] + members[path]  # every id twice
    elif choice == 2:
        data = rng.choice([b"", b"\n\n", b"\xff\xfe" * 100, b"\x00" * 1000])
    elif choice == 3:
        data = flip_bytes(rng, members[path])
    else:
        data = members[path][: rng.randrange(len(members[path]))]
    return zip_members({**members, path: data})


HOSTILE_SQL = [
    "UPDATE judgments SET label_probs = 'not json'",
    "UPDATE judgments SET label_probs = '[0.5, 0.5]'",
    "UPDATE judgments SET label_probs = '{\"yes\": NaN}'",
    "UPDATE judgments SET label_probs = '{\"yes\": Infinity}'",
    "UPDATE judgments SET label_probs = '{\"yes\": 1000}'",
    'UPDATE judgments SET label_probs = \'{"yes": "high"}\'',
    'UPDATE judgments SET label_probs = \'{"yes": ' + HUGE_INT + "}'",
    "UPDATE judgments SET label_probs = '" + "[" * 50_000 + "'",
    "UPDATE judgments SET label_probs = x'fffe'",
    "UPDATE judgments SET raw_text = 5",
    "UPDATE judgments SET reasoning = x'00ff'",
    "UPDATE judgments SET label = 7",
    "UPDATE judgments SET n_new_tokens = 'many'",
    "UPDATE judgments SET duration_s = 'slow'",
    "UPDATE judgments SET status = NULL",
    "UPDATE judges SET spec_json = '{'",
    "UPDATE judges SET spec_json = '[]'",
    'UPDATE judges SET spec_json = \'{"backend": "rm -rf"}\'',
    "DELETE FROM judges",
    "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
    "ALTER TABLE judgments ADD COLUMN extra TEXT",
    "ALTER TABLE judgments DROP COLUMN duration_s",
    "DROP TABLE failures",
    "DROP TABLE judgments; CREATE TABLE judgments (x)",
    "CREATE TABLE extra (x)",
    "CREATE VIEW v AS SELECT * FROM judgments",
    "CREATE TRIGGER t AFTER INSERT ON judges BEGIN DELETE FROM judgments; END",
    "CREATE INDEX i ON judgments (label)",
    "PRAGMA journal_mode = WAL",
    "PRAGMA user_version = 12345",
    "INSERT INTO failures VALUES ('k', 'j', 'i', 'v', 'e', 'now')",
    "INSERT INTO failures VALUES ('k2', 5, x'00', 'v', NULL, 'now')",
]


def database_attack(rng: random.Random, members: dict[str, bytes]) -> bytes:
    path = f"{SLUG}/judgments.sqlite"
    choice = rng.randrange(4)
    if choice == 0:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "j.sqlite"
            db.write_bytes(members[path])
            conn = sqlite3.connect(db)
            try:
                for statement in rng.sample(HOSTILE_SQL, rng.randint(1, 2)):
                    with contextlib.suppress(sqlite3.Error):  # some pairs contradict each other
                        conn.executescript(statement)
                conn.commit()
            finally:
                conn.close()
            data = db.read_bytes()
    elif choice == 1:
        data = flip_bytes(rng, members[path])
    elif choice == 2:
        data = members[path][: rng.randrange(len(members[path]))]
    else:
        data = rng.choice([b"", b"SQLite format 3\x00" + b"\xff" * 200, b"x" * 4096, members[f"{SLUG}/items.jsonl"]])
    return zip_members({**members, path: data})


def member_set_attack(rng: random.Random, members: dict[str, bytes]) -> bytes:
    """Files added, removed, renamed or listed twice."""
    members = dict(members)
    choice = rng.randrange(5)
    if choice == 0:
        members[
            rng.choice(
                [f"{SLUG}/extra.txt", "other/study.yaml", f"{SLUG}/.run.lock", "../evil", "/abs", f"{SLUG}/study.yaml/"]
            )
        ] = b"x"
    elif choice == 1:
        members.pop(rng.choice([m for m in members if m != "manifest.json"]))
    elif choice == 2:
        return zip_members({k: v for k, v in members.items() if k != "manifest.json"}, fix_checksums=False)
    elif choice == 3:
        members.pop(f"{SLUG}/judgments.sqlite")  # a valid archive without judgments
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive, warnings_off():
            manifest = json.dumps(manifest_for(members))
            archive.writestr("manifest.json", manifest)
            for name, data in members.items():
                if name != "manifest.json":
                    archive.writestr(name, data)
            archive.writestr(f"{SLUG}/items.jsonl", members[f"{SLUG}/items.jsonl"])  # listed twice
        return buffer.getvalue()
    return zip_members(members)


@contextlib.contextmanager
def warnings_off() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


ATTACKS: dict[str, Callable[[random.Random, dict[str, bytes], bytes], bytes]] = {
    "bytes flipped": lambda rng, m, good: flip_bytes(rng, good),
    "cut short": lambda rng, m, good: cut(rng, good),
    "CRC error": lambda rng, m, good: stored_with_bad_crc(rng, m),
    "compression method": lambda rng, m, good: set_method(rng, good),
    "encrypted flag": lambda rng, m, good: set_encrypted(rng, good),
    "manifest value": lambda rng, m, good: manifest_value(rng, m),
    "manifest": lambda rng, m, good: manifest_whole(rng, m),
    "spec": lambda rng, m, good: spec_attack(rng, m),
    "items": lambda rng, m, good: items_attack(rng, m),
    "database": lambda rng, m, good: database_attack(rng, m),
    "members": lambda rng, m, good: member_set_attack(rng, m),
}


def hostile_archives(n: int, seed: int, members: dict[str, bytes]) -> Iterator[tuple[str, bytes]]:
    """``n`` generated hostile archives (attack name, bytes), the attacks taken in turn."""
    rng = random.Random(seed)
    good = zip_members(members)
    names = list(ATTACKS)
    for index in range(n):
        name = names[index % len(names)]
        yield name, ATTACKS[name](rng, members, good)


# --- what must hold for each -----------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


def try_import(store: StudyStore, data: bytes, *, overwrite: bool) -> str:
    """Import ``data``; returns the outcome, raises AssertionError when a guarantee does not hold.

    Refused: our own error, and the studies folder exactly as before. Imported: the study opens, its items
    and judgments read, the report builds, the list shows it undamaged.
    """
    before = _snapshot(store.root)
    try:
        study = import_archive(store, data, slug=SLUG, overwrite=overwrite)
    except (DataError, StudyError) as exc:
        message = str(exc)
        assert message and "\n" not in message.strip() and len(message) < 1500, message[:2000]
        after = _snapshot(store.root)
        assert after == before, sorted(set(after) ^ set(before))
        return "refused: " + type(exc).__name__
    try:
        study.items, study.judgments.count(), study.judgments.judges()
        study_report(study, n_resamples=0)
    finally:
        study.close()
    listing = store.survey()
    assert not listing.damaged and SLUG in [s.slug for s in listing.studies], listing.damaged
    store.delete(SLUG)
    return "imported"


def run_attacks(tmp: Path, n: int, seed: int) -> tuple[Counter[str], Counter[str], list[str], float]:
    """Import ``n`` hostile archives; (outcomes, attacks, unhandled tracebacks, slowest import in seconds)."""
    members = base_members(tmp)
    store = StudyStore(tmp / "studies")
    make_study(tmp / "studies", 3, slug="bystander").close()  # must survive every import untouched
    outcomes: Counter[str] = Counter()
    attacks: Counter[str] = Counter()
    unhandled: list[str] = []
    slowest = 0.0
    for index, (attack, data) in enumerate(hostile_archives(n, seed, members)):
        attacks[attack] += 1
        started = time.perf_counter()
        try:
            outcomes[try_import(store, data, overwrite=index % 2 == 0)] += 1
        except SeleneEvalError as exc:  # an error of ours after the import: the study was broken once installed
            unhandled.append(f"{attack} #{index}: installed, then {type(exc).__name__}: {exc}"[:500])
        except AssertionError:
            raise
        except Exception:  # noqa: BLE001  (counting tracebacks is the point)
            unhandled.append(f"{attack} #{index}: {traceback.format_exc()[-800:]}")
        slowest = max(slowest, time.perf_counter() - started)
        if store.exists(SLUG):
            store.delete(SLUG)
    assert len(StudyStore(tmp / "studies").open("bystander").items) == 3
    return outcomes, attacks, unhandled, slowest


# --- tests -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return base_members(tmp_path_factory.mktemp("base"))


def _damaged(members: dict[str, bytes], name: str) -> bytes:
    rng = random.Random(0)
    good = zip_members(members)
    if name == "CRC error":
        return stored_with_bad_crc(random.Random(3), {k: v for k, v in members.items()})
    if name == "broken deflate stream":
        raw = bytearray(good)
        start = raw.find(b"PK\x03\x04", raw.find(b"PK\x03\x04") + 4)  # the second member's data
        for offset in range(start + 60, start + 90):
            raw[offset] ^= 0x5A
        return bytes(raw)
    if name == "encrypted member":
        return set_encrypted(rng, good)
    if name == "unknown compression method":
        out = bytearray(good)
        for _flags_at, method_at in _headers(good):
            struct.pack_into("<H", out, method_at, 99)
        return bytes(out)
    if name == "Infinity in the manifest":
        return zip_members(members, json.dumps(manifest_for(members)).replace('"n_items": 12', '"n_items": Infinity'))
    if name == "a 5,000-digit size in the manifest":
        manifest = manifest_for(members)
        manifest["files"][0]["size"] = "@@"  # type: ignore[index]
        return zip_members(members, json.dumps(manifest).replace('"@@"', HUGE_INT))
    if name == "deep nesting in the manifest":
        return zip_members(members, DEEP_JSON)
    if name == "label_probs not JSON":
        return _with_sql(members, "UPDATE judgments SET label_probs = 'not json'")
    if name == "a database of another schema":
        return _with_sql(members, "ALTER TABLE judgments DROP COLUMN duration_s")
    if name == "a database row of the wrong type":
        return _with_sql(members, "UPDATE judgments SET reasoning = x'00ff'")  # a BLOB where text belongs
    raise AssertionError(name)


def _with_sql(members: dict[str, bytes], statement: str) -> bytes:
    path = f"{SLUG}/judgments.sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.sqlite"
        db.write_bytes(members[path])
        conn = sqlite3.connect(db)
        conn.executescript(statement)
        conn.commit()
        conn.close()
        return zip_members({**members, path: db.read_bytes()})


NAMED = [
    "CRC error",
    "broken deflate stream",
    "encrypted member",
    "unknown compression method",
    "Infinity in the manifest",
    "a 5,000-digit size in the manifest",
    "deep nesting in the manifest",
    "label_probs not JSON",
    "a database of another schema",
    "a database row of the wrong type",
]


@pytest.mark.parametrize("name", NAMED)
def test_each_kind_of_damage_is_refused_before_anything_is_installed(
    name: str, members: dict[str, bytes], tmp_path: Path
) -> None:
    """The archives of the issue that traced back or imported and broke later: now one line, nothing installed."""
    archive = tmp_path / "hostile.zip"
    archive.write_bytes(_damaged(members, name))
    studies = tmp_path / "studies"
    make_study(studies, 3, slug=SLUG).close()  # overwrite asked for: the old study must survive a refusal
    before = _snapshot(studies)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--studies-dir", str(studies), "import-archive", str(archive), "--overwrite"])
    assert code == 2, err.getvalue()
    assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1, err.getvalue()
    assert _snapshot(studies) == before
    assert len(StudyStore(studies).open(SLUG).items) == 3


def test_a_good_archive_still_imports_over_a_study(members: dict[str, bytes], tmp_path: Path) -> None:
    store = StudyStore(tmp_path / "studies")
    make_study(tmp_path / "studies", 3, slug=SLUG).close()
    assert try_import(store, zip_members(members), overwrite=True) == "imported"


def test_a_hundred_hostile_archives(tmp_path: Path) -> None:
    outcomes, attacks, unhandled, _ = run_attacks(tmp_path, 110, seed=1)
    assert not unhandled, "\n\n".join(unhandled[:5])
    assert sum(outcomes.values()) == 110 and outcomes["refused: DataError"] > 50, outcomes


@pytest.mark.slow
def test_a_thousand_hostile_archives(tmp_path: Path) -> None:
    n = 1_100
    started = time.perf_counter()
    with PeakRss() as rss:  # what the run adds: in the full suite this process already holds far more
        outcomes, attacks, unhandled, slowest = run_attacks(tmp_path, n, seed=19)
    elapsed = time.perf_counter() - started
    assert not unhandled, f"{len(unhandled)} unhandled:\n\n" + "\n\n".join(unhandled[:5])
    assert sum(outcomes.values()) == n
    record(
        "archives",
        {
            "archives_tried": n,
            "outcomes": dict(sorted(outcomes.items())),
            "attacks": dict(sorted(attacks.items())),
            "unhandled": len(unhandled),
            "slowest_import_s": round(slowest, 2),
            "total_s": round(elapsed, 1),
            "peak_rss_growth_mb": round(rss.peak_mb),
        },
    )


def test_an_optional_table_is_checked_when_present(
    members: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables a version creates on first use (``_OPTIONAL_SCHEMA``) may be absent, and are checked when there."""
    from selene_eval.study import archive

    monkeypatch.setattr(
        archive,
        "_OPTIONAL_SCHEMA",
        archive._OPTIONAL_SCHEMA + ";\nCREATE TABLE IF NOT EXISTS later (a TEXT NOT NULL, b INTEGER)",
    )
    store = StudyStore(tmp_path / "studies")
    assert try_import(store, zip_members(members), overwrite=False) == "imported"  # absent: fine
    good = _with_sql(members, "CREATE TABLE later (a TEXT NOT NULL, b INTEGER); INSERT INTO later VALUES ('x', 1)")
    assert try_import(store, good, overwrite=False) == "imported"
    for statement in (
        "CREATE TABLE later (a TEXT)",
        "CREATE TABLE later (a TEXT NOT NULL, b INTEGER); INSERT INTO later VALUES ('x', x'00')",
    ):
        with pytest.raises(DataError, match="later"):
            import_archive(store, _with_sql(members, statement))


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("spec_json", '{"backend": 1, "max_new_tokens": -5}', "lists a judge whose settings are not valid"),
        ("variant_ids", '{"not": "a list"}', "records a run whose variants are not a list of ids"),
        ("variant_ids", "[broken", "records a run whose variants are not a list of ids"),
    ],
)
def test_an_archive_with_a_damaged_run_record_is_refused(
    members: dict[str, bytes], tmp_path: Path, column: str, value: str, message: str
) -> None:
    """Run records become shell commands in reports: each must read back before the archive is installed."""
    store = StudyStore(tmp_path / "studies")
    damaged = _with_sql(members, f"UPDATE runs SET {column} = '{value}'")
    with pytest.raises(DataError, match=message):
        import_archive(store, damaged, slug="copy")
    assert not store.exists("copy")
