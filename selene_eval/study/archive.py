"""A study as one portable file (a zip), and importing one safely.

The archive holds ``manifest.json`` (format, version, slug, SHA-256 and size of every file) and the study's
files under ``<slug>/``: ``study.yaml``, ``items.jsonl`` and, when there are judgments, a consistent copy of
``judgments.sqlite`` (made with SQLite's backup API, so a run writing at the same time cannot tear it).

An archive is untrusted input, like an upload. :func:`import_archive` refuses anything but the expected
members: no absolute paths, no ``..``, no links, no other files, sizes within limits (a zip bomb is
refused from the sizes its directory declares and again while reading); it checks every checksum, validates
the spec, every item and the judgment database, and only then writes the study, never over an existing
one unless told to.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import yaml
from pydantic import ValidationError

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.errors import DataError, StudyError
from selene_eval.study.judgments import _RUNS_SCHEMA, _SCHEMA, SCHEMA_VERSION, parse_label_probs
from selene_eval.study.reasons import short_reason
from selene_eval.study.spec import StudySpec, utc_now
from selene_eval.study.store import (
    DB_FILE,
    ITEMS_FILE,
    SPEC_FILE,
    Study,
    StudyStore,
    dump_spec,
    item_from_line,
    items_fingerprint,
    validate_slug,
    write_study_files,
)

ARCHIVE_FORMAT = "selene-eval-study"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
MAX_ARCHIVE_BYTES = 200 * 2**20
"""Largest archive accepted (the dashboard's upload limit)."""
MAX_UNPACKED_BYTES = 2 * 2**30
"""Largest total size of the files inside an archive."""
MAX_RATIO = 200
"""Largest compression ratio accepted per member (text compresses ~10x; far more is a zip bomb)."""
_STUDY_FILES = (SPEC_FILE, ITEMS_FILE, DB_FILE)
_OPTIONAL_SCHEMA = _RUNS_SCHEMA
"""SQL of the tables a judgment database may lack (tables a version creates on first use: the run records, absent
from archives made before runs were recorded); when present they are checked like the others."""


@dataclass(frozen=True)
class ArchiveManifest:
    """What an archive says about itself."""

    slug: str
    title: str
    exported_at: str
    selene_eval_version: str
    files: dict[str, tuple[str, int]]
    """Member path -> (SHA-256 hex, size in bytes)."""
    n_items: int
    n_judgments: int

    def to_dict(self) -> dict[str, object]:
        """The JSON form written as ``manifest.json``."""
        return {
            "format": ARCHIVE_FORMAT,
            "version": ARCHIVE_VERSION,
            "slug": self.slug,
            "title": self.title,
            "exported_at": self.exported_at,
            "selene_eval_version": self.selene_eval_version,
            "n_items": self.n_items,
            "n_judgments": self.n_judgments,
            "files": [{"path": p, "sha256": h, "size": s} for p, (h, s) in self.files.items()],
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("selene-eval")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _database_copy(study: Study) -> bytes | None:
    """A consistent copy of the judgment database (``None`` when the study has none)."""
    source_path = study.path / DB_FILE
    if not source_path.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        target_path = Path(tmp) / DB_FILE
        source = target = None
        try:
            source = sqlite3.connect(str(source_path), timeout=30.0)
            target = sqlite3.connect(str(target_path))
            source.backup(target)
            # One self-contained file: no WAL beside it.
            target.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.DatabaseError as exc:
            raise StudyError(
                f"Cannot archive study {study.slug!r}: its judgment database {source_path} is damaged ({exc}). Move "
                "it aside to archive the study without judgments."
            ) from None
        finally:
            for connection in (target, source):
                if connection is not None:
                    connection.close()
        try:  # an archive is only made of judgments that import again
            _validate_database(target_path, name=f"The judgment database {source_path}")
        except DataError as exc:
            raise StudyError(
                f"Cannot archive study {study.slug!r}: {exc} Move it aside to archive the study without judgments."
            ) from None
        return target_path.read_bytes()


def export_archive(study: Study) -> tuple[bytes, ArchiveManifest]:
    """The study as zip bytes, with its manifest. The study's files are read, never changed.

    A study that cannot be read whole (missing or damaged items, a damaged database) raises
    :class:`~selene_eval.errors.StudyError`: an archive is only ever made of a study that imports again.
    """
    slug = study.slug
    n_items = len(study.items)  # reads and checks items.jsonl (and its fingerprint) first
    try:
        items_data = (study.path / ITEMS_FILE).read_bytes()
    except OSError as exc:
        raise StudyError(f"Cannot archive study {slug!r}: {study.path / ITEMS_FILE}: {exc.strerror or exc}.") from None
    contents: dict[str, bytes] = {
        f"{slug}/{SPEC_FILE}": dump_spec(study.spec).encode("utf-8"),
        f"{slug}/{ITEMS_FILE}": items_data,
    }
    database = _database_copy(study)
    n_judgments = 0
    if database is not None:
        contents[f"{slug}/{DB_FILE}"] = database
        n_judgments = study.judgments.count()
    manifest = ArchiveManifest(
        slug=slug,
        title=study.spec.title,
        exported_at=utc_now(),
        selene_eval_version=_version(),
        files={path: (_sha256(data), len(data)) for path, data in contents.items()},
        n_items=n_items,
        n_judgments=n_judgments,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
        for path, data in contents.items():
            archive.writestr(path, data)
    return buffer.getvalue(), manifest


def write_archive(study: Study, path: str | os.PathLike[str]) -> ArchiveManifest:
    """Write :func:`export_archive` to ``path``; returns the manifest."""
    data, manifest = export_archive(study)
    target = Path(path)
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise StudyError(f"Cannot write the archive to {target}: {exc.strerror or exc}.") from None
    return manifest


# --- import ---------------------------------------------------------------------------------------------------


def _load(source: str | os.PathLike[str] | bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)  # type: ignore[union-attr]
    else:
        path = Path(source)  # type: ignore[arg-type]
        try:
            if path.stat().st_size > max_bytes:
                raise DataError(f"{path.name} is larger than {max_bytes // 2**20} MB; an archive may be at most that.")
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"Cannot read the archive {path}: {exc.strerror or exc}.") from None
    if len(data) > max_bytes:
        raise DataError(f"The archive is larger than {max_bytes // 2**20} MB; an archive may be at most that.")
    return data


def _check_member_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"The archive holds a link ({name!r}); a study archive holds plain files only.")
    path = PurePosixPath(name)
    if "\\" in name or name.startswith("/") or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"The archive holds an absolute path ({name!r}); refusing to import it.")
    if any(part in ("..", "") for part in name.rstrip("/").split("/")):
        raise DataError(f"The archive holds a path that leaves its folder ({name!r}); refusing to import it.")
    if info.is_dir():
        raise DataError(f"The archive holds a folder entry ({name!r}); a study archive holds only its files.")


_ALLOWED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OverflowError,
    IndexError,
    KeyError,
)
"""What :mod:`zipfile` raises for a damaged archive (bad CRC, broken deflate stream, bad headers...)."""
_MAX_JSON_DEPTH = 32
"""Deepest nesting accepted in the manifest (it has 3 levels; thousands would exhaust the stack)."""


def read_manifest(data: bytes, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> tuple[ArchiveManifest, dict[str, bytes]]:
    """Open archive bytes, check every member and checksum, and return the manifest and the study files.

    Raises :class:`~selene_eval.errors.DataError` saying what is wrong with the archive, whatever the bytes.
    """
    if len(data) > max_bytes:
        raise DataError(f"The archive is larger than {max_bytes // 2**20} MB; an archive may be at most that.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        if isinstance(exc, zipfile.BadZipFile) and "not a zip file" in str(exc).lower():
            raise DataError(
                "This file is not a study archive (not a zip file). Export one from the Studies page "
                "or with `python -m selene_eval export SLUG --archive FILE`."
            ) from None
        raise DataError(
            f"The archive is damaged and cannot be opened ({short_reason(exc)}); export it again."
        ) from None
    with archive:
        try:
            return _read_checked(archive)
        except _ZIP_ERRORS as exc:
            raise DataError(f"The archive is damaged ({short_reason(exc)}); export it again.") from None


def _read_checked(archive: zipfile.ZipFile) -> tuple[ArchiveManifest, dict[str, bytes]]:
    infos = archive.infolist()
    for info in infos:
        _check_member_name(info)
        if info.flag_bits & 0x1:
            raise DataError(
                f"{info.filename!r} in the archive is encrypted; selene-eval archives are never "
                "encrypted. Export the study again without a password."
            )
        if info.compress_type not in _ALLOWED_COMPRESSION:
            raise DataError(
                f"{info.filename!r} in the archive uses compression method {info.compress_type}; "
                "selene-eval archives use only stored or deflate. Export the study again."
            )
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise DataError("The archive lists a file twice; refusing to import it.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise DataError(
            f"The archive unpacks to {total // 2**20} MB, more than the {MAX_UNPACKED_BYTES // 2**30} GB allowed."
        )
    for info in infos:
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
            raise DataError(
                f"{info.filename!r} in the archive is compressed {info.file_size // max(info.compress_size, 1)}x, "
                "which only a zip bomb does; refusing to import it."
            )
    if MANIFEST not in names:
        raise DataError(f"The archive has no {MANIFEST}; it was not exported by selene-eval.")
    raw = _read_member(archive, archive.getinfo(MANIFEST), 2**20)
    manifest = _parse_manifest(raw)
    expected = set(manifest.files) | {MANIFEST}
    extra = sorted(set(names) - expected)
    missing = sorted(expected - set(names))
    if extra or missing:
        detail = "; ".join(
            filter(
                None,
                [
                    f"unexpected: {', '.join(extra)}" if extra else "",
                    f"missing: {', '.join(missing)}" if missing else "",
                ],
            )
        )
        raise DataError(f"The archive's files do not match its manifest ({detail}).")
    files: dict[str, bytes] = {}
    for path, (digest, size) in manifest.files.items():
        info = archive.getinfo(path)
        if info.file_size != size:
            raise DataError(f"{path} in the archive has {info.file_size} bytes, the manifest says {size}.")
        content = _read_member(archive, info, size)
        if _sha256(content) != digest:
            raise DataError(f"{path} in the archive does not match its checksum: the file is damaged or was changed.")
        files[PurePosixPath(path).name] = content
    return manifest, files


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read at most ``limit`` bytes of a member; a member that holds more than it declares is refused."""
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{info.filename!r} in the archive is larger than it declares; refusing to import it.")
    return data


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: object, limit: int) -> int:
    """How deeply ``value`` nests (stops counting past ``limit``, without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return level
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def _count(data: dict[str, object], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
        raise DataError(f"The archive's {MANIFEST} gives {key!r} a value that is not a count.")
    return value


def _text(data: dict[str, object], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or len(value) > 10_000:
        raise DataError(f"The archive's {MANIFEST} gives {key!r} a value that is not a short text.")
    return value


def _parse_manifest(raw: bytes) -> ArchiveManifest:
    try:
        # NaN/Infinity are not JSON; ints past 4,300 digits raise ValueError; deep nesting RecursionError.
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise DataError(f"The archive's {MANIFEST} is nested too deeply; it was not exported by selene-eval.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"The archive's {MANIFEST} is not valid JSON ({short_reason(exc)}).") from None
    if _depth(data, _MAX_JSON_DEPTH) > _MAX_JSON_DEPTH:
        raise DataError(f"The archive's {MANIFEST} is nested too deeply; it was not exported by selene-eval.")
    if not isinstance(data, dict) or data.get("format") != ARCHIVE_FORMAT:
        raise DataError(f"The archive's {MANIFEST} does not describe a selene-eval study archive.")
    version = data.get("version")
    if version != ARCHIVE_VERSION or isinstance(version, bool):
        shown = repr(version) if isinstance(version, (int, str)) and len(str(version)) < 40 else "another"
        raise DataError(
            f"The archive has format version {shown}; this selene-eval reads version "
            f"{ARCHIVE_VERSION}. Update selene-eval or export the study again."
        )
    slug_value = data.get("slug")
    if not isinstance(slug_value, str):
        raise DataError(f"The archive's {MANIFEST} names no study (its 'slug' is missing or not a text).")
    slug = validate_slug(slug_value)
    entries = data.get("files")
    if not isinstance(entries, list) or len(entries) > len(_STUDY_FILES):
        raise DataError(f"The archive's {MANIFEST} has no valid list of files.")
    files: dict[str, tuple[str, int]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise DataError(f"The archive's {MANIFEST} lists a file that is not an object.")
        path, digest, size = entry.get("path"), entry.get("sha256"), entry.get("size")
        if not isinstance(path, str) or path not in {f"{slug}/{name}" for name in _STUDY_FILES}:
            shown = repr(path)[:80]
            raise DataError(
                f"The manifest lists {shown}; a study archive holds only {', '.join(_STUDY_FILES)} under {slug}/."
            )
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DataError(f"The manifest gives {path!r} a checksum that is not a SHA-256.")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size > MAX_UNPACKED_BYTES:
            raise DataError(f"The manifest gives {path!r} an impossible size.")
        if path in files:
            raise DataError(f"The manifest lists {path!r} twice.")
        files[path] = (digest, size)
    manifest = ArchiveManifest(
        slug=slug,
        title=_text(data, "title", slug),
        exported_at=_text(data, "exported_at", ""),
        selene_eval_version=_text(data, "selene_eval_version", ""),
        files=files,
        n_items=_count(data, "n_items"),
        n_judgments=_count(data, "n_judgments"),
    )
    for name in (SPEC_FILE, ITEMS_FILE):
        if f"{slug}/{name}" not in files:
            raise DataError(f"The archive has no {name}; it does not hold a complete study.")
    return manifest


def _validate_spec(raw: bytes) -> StudySpec:
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
        return StudySpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(
            f"The archive's {SPEC_FILE} is not a valid study ({where[:80]}: {short_reason(Exception(first['msg']))})."
        ) from None
    except RecursionError:
        raise DataError(f"The archive's {SPEC_FILE} is nested too deeply to be a study.") from None
    except (UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError) as exc:
        raise DataError(
            f"The archive's {SPEC_FILE} is not readable YAML ({short_reason(exc).splitlines()[0][:160]})."
        ) from None


def _validate_items(raw: bytes, spec: StudySpec) -> int:
    """Check every item as an upload would be checked; returns the number of items."""
    allowed = set(spec.task.expert_labels)
    seen: set[str] = set()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"The archive's {ITEMS_FILE} is not UTF-8 text.") from None
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = item_from_line(line)
        except RecursionError:
            raise DataError(
                f"Line {number} of the archive's {ITEMS_FILE} is nested too deeply to be an item."
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                f"Line {number} of the archive's {ITEMS_FILE} is not an item ({short_reason(exc)})."
            ) from None
        if item.item_id in seen:
            raise DataError(f"Item id {item.item_id[:80]!r} occurs twice in the archive's {ITEMS_FILE}.")
        seen.add(item.item_id)
        bad = {v for v in item.experts.values() if v is not None and v not in allowed}
        if bad:
            shown = sorted(v[:40] for v in bad)[:5]
            raise DataError(
                f"Item {item.item_id[:80]!r} has expert labels {shown} that are not {spec.task.value} labels "
                f"({', '.join(sorted(allowed))})."
            )
        count += 1
    if not count:
        raise DataError(f"The archive's {ITEMS_FILE} holds no items.")
    return count


def _expected_schema(script: str) -> dict[str, list[tuple[str, str, int, int]]]:
    """Table -> columns (name, declared type, not null, primary key) of the tables ``script`` creates."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(script)
        return _schema_of(conn)
    finally:
        conn.close()


def _schema_of(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str, int, int]]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {
        t: [(r[1], str(r[2]).upper(), int(r[3]), int(r[5])) for r in conn.execute(f'PRAGMA table_info("{t}")')]
        for t in tables
    }


_ALLOWED_TYPES = {"TEXT": {"text"}, "INTEGER": {"integer"}, "REAL": {"real", "integer"}}


def _validate_database(path: Path, name: str = f"The archive's {DB_FILE}") -> None:
    """Check that ``path`` is a judgment database exactly as this version writes it, every row readable.

    The schema (tables, columns, types, constraints) must equal ours, every value must have its column's type,
    every judge's settings and every ``label_probs`` must parse: a study imported from an archive then opens,
    reports and runs like one made here.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise DataError(f"{name} is damaged (SQLite integrity check failed).")
            objects = conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchall()
            if objects:
                raise DataError(f"{name} holds triggers or views ({str(objects[0][1])[:80]!r}); refusing it.")
            schema, required = _schema_of(conn), _expected_schema(_SCHEMA)
            expected = {**_expected_schema(_OPTIONAL_SCHEMA), **required}
            if not set(required) <= set(schema) <= set(expected):
                extra, missing = sorted(set(schema) - set(expected)), sorted(set(required) - set(schema))
                detail = "; ".join(
                    filter(
                        None,
                        [
                            f"unexpected tables: {', '.join(t[:40] for t in extra)}" if extra else "",
                            f"missing tables: {', '.join(missing)}" if missing else "",
                        ],
                    )
                )
                raise DataError(f"{name} is not a judgment database of this version ({detail}).")
            for table, columns in expected.items():
                if table not in schema:
                    continue  # an optional table this database never needed
                if schema[table] != columns:
                    raise DataError(
                        f"{name} is not a judgment database of this version (table {table!r} has other columns)."
                    )
                for column, declared, not_null, _ in columns:
                    allowed = sorted(_ALLOWED_TYPES[declared] | (set() if not_null else {"null"}))
                    marks = ", ".join("?" for _ in allowed)
                    bad = conn.execute(
                        f'SELECT COUNT(*) FROM "{table}" WHERE typeof("{column}") NOT IN ({marks})', allowed
                    ).fetchone()[0]
                    if bad:
                        raise DataError(f"{name} holds {bad} value(s) of the wrong type in {table}.{column}.")
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is not None and version[0] != str(SCHEMA_VERSION):
                raise DataError(
                    f"{name} has schema version {str(version[0])[:20]!r}; this selene-eval reads "
                    f"version {SCHEMA_VERSION}."
                )
            for (spec_json,) in conn.execute("SELECT spec_json FROM judges"):
                JudgeSpec.model_validate_json(spec_json)
            if "runs" in schema:  # the run records become shell commands in reports: each must read back
                for spec_json, variant_ids in conn.execute("SELECT spec_json, variant_ids FROM runs"):
                    JudgeSpec.model_validate_json(spec_json)
                    try:
                        ids = json.loads(variant_ids)
                    except (TypeError, ValueError, RecursionError):
                        ids = None
                    if not (isinstance(ids, list) and all(isinstance(v, str) for v in ids)):
                        raise DataError(f"{name} records a run whose variants are not a list of ids.")
            for (judge_id,) in conn.execute(
                "SELECT DISTINCT judge_id FROM judgments WHERE judge_id NOT IN (SELECT judge_id FROM judges)"
            ):
                raise DataError(f"{name} holds judgments of an unknown judge ({judge_id[:40]!r}).")
            for cache_key, probs in conn.execute(
                "SELECT cache_key, label_probs FROM judgments WHERE label_probs IS NOT NULL"
            ):
                try:
                    parse_label_probs(probs)
                except (ValueError, RecursionError):
                    raise DataError(
                        f"{name} holds a judgment ({cache_key[:20]}...) whose label probabilities are not "
                        "a JSON object of probabilities."
                    ) from None
            for table in schema:  # every text must decode, as it will when the study is read
                for _ in conn.execute(f'SELECT * FROM "{table}"'):
                    pass
        finally:
            conn.close()
    except UnicodeDecodeError:
        raise DataError(f"{name} is damaged (it holds text that is not UTF-8).") from None
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{name} is not a readable SQLite database ({short_reason(exc)}).") from None
    except (ValidationError, RecursionError):
        raise DataError(f"{name} lists a judge whose settings are not valid.") from None


def import_archive(
    store: StudyStore,
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    slug: str | None = None,
    overwrite: bool = False,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> Study:
    """Validate a study archive and add it to ``store`` under ``slug`` (default: the archive's own name).

    Everything is checked before anything is written; the study is then built beside the others and swapped
    in whole (:meth:`StudyStore.building`), so a refused or interrupted import changes nothing, and an
    overwrite is refused while a run judges the study it would replace.

    Raises :class:`~selene_eval.errors.DataError` for a bad archive, :class:`~selene_eval.errors.StudyError`
    when a study of that name exists and ``overwrite`` is false, and :class:`~selene_eval.errors.StudyBusy`
    when a run holds it.
    """
    data = _load(source, max_bytes)
    manifest, files = read_manifest(data, max_bytes=max_bytes)
    spec = _validate_spec(files[SPEC_FILE])
    _validate_items(files[ITEMS_FILE], spec)
    if DB_FILE in files:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / DB_FILE).write_bytes(files[DB_FILE])
            _validate_database(Path(tmp) / DB_FILE)
    target_slug = store.check_new_name(
        slug or manifest.slug,
        overwrite=overwrite,
        advice="; import the archive under another name (--as NEW_NAME, or the name field on the Studies page) or "
        "choose to replace it.",
    )
    if overwrite:
        store.refuse_if_running(target_slug)
    spec = spec.model_copy(update={"slug": target_slug, "items_sha256": items_fingerprint(files[ITEMS_FILE])})
    with store.building(target_slug, overwrite=overwrite) as staging:
        write_study_files(staging, spec, files[ITEMS_FILE], files.get(DB_FILE))
    return store.open(target_slug)


def archive_summary(manifest: ArchiveManifest) -> Mapping[str, object]:
    """A short description of an archive for display before importing it."""
    return {
        "study": manifest.slug,
        "title": manifest.title,
        "items": manifest.n_items,
        "judgments": manifest.n_judgments,
        "exported": manifest.exported_at,
        "selene-eval": manifest.selene_eval_version,
    }
