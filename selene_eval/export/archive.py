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
import shutil
import sqlite3
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import yaml
from pydantic import ValidationError

from selene_eval.backends.base import JudgeSpec
from selene_eval.errors import DataError, StudyError
from selene_eval.items import Item
from selene_eval.store.spec import StudySpec, utc_now
from selene_eval.store.studies import DB_FILE, ITEMS_FILE, SPEC_FILE, Study, StudyStore, dump_spec, validate_slug

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
_JUDGMENT_TABLES = {"meta", "judges", "judgments", "failures"}
_OPTIONAL_TABLES = {"runs"}  # the run records, absent from archives made before runs were recorded


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
        source = sqlite3.connect(str(source_path), timeout=30.0)
        target = sqlite3.connect(str(target_path))
        try:
            source.backup(target)
            # One self-contained file: no WAL beside it.
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
            source.close()
        return target_path.read_bytes()


def export_archive(study: Study) -> tuple[bytes, ArchiveManifest]:
    """The study as zip bytes, with its manifest. The study's files are read, never changed."""
    slug = study.slug
    contents: dict[str, bytes] = {
        f"{slug}/{SPEC_FILE}": dump_spec(study.spec).encode("utf-8"),
        f"{slug}/{ITEMS_FILE}": (study.path / ITEMS_FILE).read_bytes(),
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
        n_items=len(study.items),
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


def read_manifest(data: bytes, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> tuple[ArchiveManifest, dict[str, bytes]]:
    """Open archive bytes, check every member and checksum, and return the manifest and the study files.

    Raises :class:`~selene_eval.errors.DataError` saying what is wrong with the archive.
    """
    if len(data) > max_bytes:
        raise DataError(f"The archive is larger than {max_bytes // 2**20} MB; an archive may be at most that.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("This file is not a study archive (not a zip file). Export one from the Studies page "
                        "or with `python -m selene_eval export SLUG --archive FILE`.") from None
    with archive:
        infos = archive.infolist()
        for info in infos:
            _check_member_name(info)
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise DataError("The archive lists a file twice; refusing to import it.")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            raise DataError(f"The archive unpacks to {total // 2**20} MB, more than the {MAX_UNPACKED_BYTES // 2**30} GB allowed.")
        for info in infos:
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
                raise DataError(f"{info.filename!r} in the archive is compressed {info.file_size // max(info.compress_size, 1)}x, "
                                "which only a zip bomb does; refusing to import it.")
        if MANIFEST not in names:
            raise DataError(f"The archive has no {MANIFEST}; it was not exported by selene-eval.")
        raw = _read_member(archive, archive.getinfo(MANIFEST), 2**20)
        manifest = _parse_manifest(raw)
        expected = set(manifest.files) | {MANIFEST}
        extra = sorted(set(names) - expected)
        missing = sorted(expected - set(names))
        if extra or missing:
            detail = "; ".join(filter(None, [f"unexpected: {', '.join(extra)}" if extra else "",
                                             f"missing: {', '.join(missing)}" if missing else ""]))
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


def _parse_manifest(raw: bytes) -> ArchiveManifest:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"The archive's {MANIFEST} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("format") != ARCHIVE_FORMAT:
        raise DataError(f"The archive's {MANIFEST} does not describe a selene-eval study archive.")
    if data.get("version") != ARCHIVE_VERSION:
        raise DataError(f"The archive has format version {data.get('version')!r}; this selene-eval reads version "
                        f"{ARCHIVE_VERSION}. Update selene-eval or export the study again.")
    try:
        slug = validate_slug(str(data["slug"]))
        files: dict[str, tuple[str, int]] = {}
        for entry in data["files"]:
            path, digest, size = str(entry["path"]), str(entry["sha256"]), int(entry["size"])
            if path not in {f"{slug}/{name}" for name in _STUDY_FILES}:
                raise DataError(f"The manifest lists {path!r}; a study archive holds only {', '.join(_STUDY_FILES)} "
                                f"under {slug}/.")
            if size < 0 or size > MAX_UNPACKED_BYTES:
                raise DataError(f"The manifest gives {path!r} an impossible size ({size}).")
            files[path] = (digest, size)
        manifest = ArchiveManifest(
            slug=slug, title=str(data.get("title", slug)), exported_at=str(data.get("exported_at", "")),
            selene_eval_version=str(data.get("selene_eval_version", "")), files=files,
            n_items=int(data.get("n_items", 0)), n_judgments=int(data.get("n_judgments", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"The archive's {MANIFEST} is incomplete or malformed ({exc.__class__.__name__}: {exc}).") from None
    for name in (SPEC_FILE, ITEMS_FILE):
        if f"{slug}/{name}" not in files:
            raise DataError(f"The archive has no {name}; it does not hold a complete study.")
    return manifest


def _validate_spec(raw: bytes) -> StudySpec:
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
        return StudySpec.model_validate(data)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"The archive's {SPEC_FILE} is not readable YAML ({str(exc).splitlines()[0]}).") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(f"The archive's {SPEC_FILE} is not a valid study ({where}: {first['msg']}).") from None


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
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError("not an object")
            item = Item.from_record(record)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DataError(f"Line {number} of the archive's {ITEMS_FILE} is not an item ({exc}).") from None
        if item.item_id in seen:
            raise DataError(f"Item id {item.item_id!r} occurs twice in the archive's {ITEMS_FILE}.")
        seen.add(item.item_id)
        bad = {v for v in item.experts.values() if v is not None and v not in allowed}
        if bad:
            raise DataError(f"Item {item.item_id!r} has expert labels {sorted(bad)} that are not {spec.task.value} labels "
                            f"({', '.join(sorted(allowed))}).")
        count += 1
    if not count:
        raise DataError(f"The archive's {ITEMS_FILE} holds no items.")
    return count


def _validate_database(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise DataError(f"The archive's {DB_FILE} is damaged (SQLite integrity check failed).")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not _JUDGMENT_TABLES <= tables:
                raise DataError(f"The archive's {DB_FILE} is not a judgment database (tables: {', '.join(sorted(tables))}).")
            if tables - _JUDGMENT_TABLES - _OPTIONAL_TABLES:
                unexpected = tables - _JUDGMENT_TABLES - _OPTIONAL_TABLES
                raise DataError(f"The archive's {DB_FILE} holds unexpected tables: {', '.join(sorted(unexpected))}.")
            objects = conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchall()
            if objects:
                raise DataError(f"The archive's {DB_FILE} holds triggers or views ({objects[0][1]!r}); refusing it.")
            for (spec_json,) in conn.execute("SELECT spec_json FROM judges"):
                JudgeSpec.model_validate_json(spec_json)
            if "runs" in tables:  # the run records become shell commands in reports: each must read back
                for spec_json, variant_ids in conn.execute("SELECT spec_json, variant_ids FROM runs"):
                    JudgeSpec.model_validate_json(spec_json)
                    try:
                        ids = json.loads(variant_ids)
                    except (TypeError, json.JSONDecodeError):
                        ids = None
                    if not (isinstance(ids, list) and all(isinstance(v, str) for v in ids)):
                        raise DataError(f"The archive's {DB_FILE} records a run whose variants are not a list of ids.")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"The archive's {DB_FILE} is not a readable SQLite database ({exc}).") from None
    except ValidationError:
        raise DataError(f"The archive's {DB_FILE} lists a judge whose settings are not valid.") from None


def import_archive(
    store: StudyStore,
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    slug: str | None = None,
    overwrite: bool = False,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> Study:
    """Validate a study archive and add it to ``store`` under ``slug`` (default: the archive's own name).

    Raises :class:`~selene_eval.errors.DataError` for a bad archive and
    :class:`~selene_eval.errors.StudyError` when a study of that name exists and ``overwrite`` is false.
    """
    data = _load(source, max_bytes)
    manifest, files = read_manifest(data, max_bytes=max_bytes)
    spec = _validate_spec(files[SPEC_FILE])
    _validate_items(files[ITEMS_FILE], spec)
    target_slug = validate_slug(slug or manifest.slug)
    if store.exists(target_slug) and not overwrite:
        raise StudyError(
            f"A study named {target_slug!r} already exists; import the archive under another name "
            "(--as NEW_NAME, or the name field on the Studies page) or choose to replace it."
        )
    spec = spec.model_copy(update={"slug": target_slug})
    final = store.path_for(target_slug)
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{target_slug}-", dir=store.root))
    except OSError as exc:
        raise StudyError(f"Cannot write to {store.root}: {exc.strerror or exc}.") from None
    try:
        (staging / ITEMS_FILE).write_bytes(files[ITEMS_FILE])
        (staging / SPEC_FILE).write_text(dump_spec(spec), encoding="utf-8")
        if DB_FILE in files:
            (staging / DB_FILE).write_bytes(files[DB_FILE])
            _validate_database(staging / DB_FILE)
        for child in staging.iterdir():
            os.chmod(child, 0o644)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a study folder is an ordinary folder
        if final.exists():
            # Only reached with overwrite=True (checked above): replace the old study as a whole.
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return store.open(target_slug)


def archive_summary(manifest: ArchiveManifest) -> Mapping[str, object]:
    """A short description of an archive for display before importing it."""
    return {"study": manifest.slug, "title": manifest.title, "items": manifest.n_items,
            "judgments": manifest.n_judgments, "exported": manifest.exported_at,
            "selene-eval": manifest.selene_eval_version}
