"""Studies on disk: ``<studies_dir>/<slug>/`` holding ``study.yaml``, ``items.jsonl``, ``judgments.sqlite``.

Slugs are validated before any path is built, and every path is checked to resolve inside the studies
folder, so no name a user types can touch a file outside it. Spec and items are written atomically
(temporary file, fsync, rename, fsync of the folder), so a crash never leaves a half-written study.

A study is judged by one run at a time: :meth:`Study.run_lock` takes an exclusive lock on
``<study>/.run.lock`` (``flock``, so the kernel drops it when the holding process dies: a crashed run never
blocks the next one) and writes who holds it, so that a second run, from another process, browser session
or thread, is refused with a :class:`~selene_eval.errors.StudyBusy` naming the holder.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, TypeVar

import yaml
from pydantic import ValidationError

from selene_eval.core.items import Item
from selene_eval.errors import StudyBusy, StudyError
from selene_eval.prompts.variants import PromptVariant, find_variant
from selene_eval.study.judgments import JudgmentStore
from selene_eval.study.reasons import short_reason
from selene_eval.study.spec import StudySpec, utc_now

SPEC_FILE = "study.yaml"
ITEMS_FILE = "items.jsonl"
DB_FILE = "judgments.sqlite"
LOCK_FILE = ".run.lock"

# fullmatch, not match: "$" would also accept a slug that ends in a newline.
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is a safe study name, else raise :class:`StudyError` saying what is allowed."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        shown = slug if isinstance(slug, str) and len(slug) <= 80 else f"{str(slug)[:80]}..."
        raise StudyError(
            f"Study name {shown!r} is not allowed: use 1-64 lower-case letters (a-z), digits, '-' or '_', "
            "starting and ending with a letter or digit (for example 'kqa-pilot')."
        )
    return slug


def slugify(text: str) -> str:
    """A valid slug derived from free text (for suggestions in the UI)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].strip("-_")
    return slug or "study"


def atomic_write(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a mix."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; study files are ordinary readable files
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_study_files(folder: Path, spec: StudySpec, items_data: bytes, database: bytes | None = None) -> None:
    """Write a study's files into a new, empty ``folder`` (each flushed to disk), ready to be installed."""
    for name, data in ((ITEMS_FILE, items_data), (SPEC_FILE, dump_spec(spec).encode("utf-8")), (DB_FILE, database)):
        if data is None:
            continue
        with open(folder / name, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(folder / name, 0o644)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a power cut after ``os.replace`` could otherwise undo it)."""
    if os.name != "posix":
        return  # Windows has no directory handles to flush; NTFS journals the rename itself
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (network mounts) refuse fsync on a folder; the rename itself still happened
    finally:
        os.close(fd)


# --- the run lock -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunHolder:
    """Who holds a study's run lock."""

    pid: int
    host: str
    started_at: str
    owner: str
    """What runs it: ``the dashboard`` or the command line that started it."""

    def describe(self) -> str:
        """``process 1234 on host 'lab-1' (the dashboard), started 2026-01-31 09:12 UTC``."""
        if self.pid <= 0:
            return "another run whose details cannot be read"
        if self.pid == os.getpid() and self.host == socket.gethostname():
            who = f"this same process ({self.owner}, for example another browser session)"
        else:
            who = f"process {self.pid} on host {self.host!r} ({self.owner})"
        started = self.started_at.replace("T", " ").replace("+00:00", " UTC")
        return f"{who}, started {started}"


def _default_owner() -> str:
    if "streamlit" in sys.modules:
        return "the dashboard"
    command = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    return f"the command {command[:120]!r}"


if sys.platform != "win32":  # sys.platform, not os.name: mypy checks only the branch for the platform
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

else:  # Windows: lock one byte far past the holder text, which stays readable
    import msvcrt

    _LOCK_OFFSET = 2**30

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class RunLock:
    """An exclusive, non-blocking lock on one study's runs; use as a context manager.

    ``flock`` locks belong to an open file, so two threads of one process (two browser sessions of the
    dashboard) exclude each other like two processes do, and the kernel releases the lock of a process that
    dies, however it dies. The lock file is never deleted (deleting it would let two runs lock two different
    files); its content is only a description of the holder.
    """

    def __init__(self, study_path: Path, slug: str, owner: str | None = None) -> None:
        self.path = study_path / LOCK_FILE
        self.slug = slug
        self.owner = owner or _default_owner()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~selene_eval.errors.StudyBusy` naming who holds it."""
        if self._fd is not None:
            raise StudyError(f"The run lock of study {self.slug!r} is already held by this run.")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            detail = exc.strerror or exc
            raise StudyError(f"Cannot lock study {self.slug!r} for a run ({self.path}: {detail}).") from None
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise busy_error(self.slug, holder)
        holder = RunHolder(os.getpid(), socket.gethostname(), utc_now(), self.owner)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(asdict(holder)).encode())
        self._fd = fd

    def release(self) -> None:
        """Let the next run start (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # before unlocking: a reader never sees a stale holder on a free lock
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> RunHolder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8"))
        return RunHolder(int(data["pid"]), str(data["host"]), str(data["started_at"]), str(data["owner"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # the holder is between taking the lock and writing its name, or wrote another version


def probe_run_lock(study_path: Path, slug: str) -> RunHolder | None:
    """Who holds the run lock of the study in ``study_path`` now, or ``None`` (checked without waiting)."""
    lock = RunLock(study_path, slug)
    try:
        lock.acquire()
    except StudyBusy as exc:
        # pid 0: a holder that has not written its name yet (RunHolder.describe says so)
        return exc.holder if isinstance(exc.holder, RunHolder) else RunHolder(0, "", "", "")
    except StudyError:
        return None  # the folder is not writable (or gone): no run can hold a lock here either
    lock.release()
    return None


def busy_error(slug: str, holder: RunHolder | None) -> StudyBusy:
    """The :class:`~selene_eval.errors.StudyBusy` for a study whose run lock ``holder`` holds."""
    who = holder.describe() if holder else "another run whose details cannot be read"
    return StudyBusy(
        f"Study {slug!r} is being judged by another run: {who}. Wait for that run to finish or cancel it there, "
        "then start again (finished judgments are kept). One study takes one run at a time, so that no item is "
        "judged twice.",
        holder,
    )


P = ParamSpec("P")
R = TypeVar("R")


def holding_run_lock(func: Callable[Concatenate[Study, P], R]) -> Callable[Concatenate[Study, P], R]:
    """Decorate a function whose first argument is a :class:`Study` so that it runs under the study's run lock.

    A second call on the same study while one is running (any process, thread or browser session) raises
    :class:`~selene_eval.errors.StudyBusy` instead of judging the same items twice.
    """

    @functools.wraps(func)
    def locked(study: Study, *args: P.args, **kwargs: P.kwargs) -> R:
        with study.run_lock():
            study.check_not_replaced()  # a study overwritten since it was opened must not get its judgments
            return func(study, *args, **kwargs)

    return locked


@dataclass(frozen=True)
class StudySummary:
    """A line of the studies list."""

    slug: str
    title: str
    task: str
    n_items: int
    n_judgments: int
    illustrative: bool
    created_at: str


@dataclass(frozen=True)
class DamagedStudy:
    """A study folder that cannot be read, and why (shown in the studies list instead of failing it)."""

    slug: str
    reason: str


@dataclass(frozen=True)
class StudiesListing:
    """The studies folder: the readable studies and the damaged ones, each by slug."""

    studies: tuple[StudySummary, ...]
    damaged: tuple[DamagedStudy, ...]


class Study:
    """An opened study. Items load lazily; the judgment store opens on first use."""

    def __init__(self, path: Path, spec: StudySpec) -> None:
        self.path = path
        self.spec = spec
        self._identity = _folder_identity(path)

    def check_not_replaced(self) -> None:
        """Raise :class:`StudyError` if the study's folder was replaced (an overwrite) since it was opened.

        An object opened before an overwrite still holds the old spec and items; judging or saving through it
        would mix the old study into the new one.
        """
        if _folder_identity(self.path) != self._identity:
            raise StudyError(
                f"Study {self.slug!r} was replaced (imported again with overwrite, or deleted) after it was opened "
                "here; open it again to work on the new study."
            )

    @property
    def slug(self) -> str:
        return self.spec.slug

    @cached_property
    def items(self) -> list[Item]:
        """The normalized items, in file order.

        Raises :class:`StudyError` (never another exception) for a missing or damaged ``items.jsonl``, and for
        one that is not the file the spec was written with (see :attr:`StudySpec.items_sha256`).
        """
        file = self.path / ITEMS_FILE
        items = []
        digest = hashlib.sha256()
        number = 0
        try:
            with file.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):  # noqa: B007  (the except below names the line)
                    digest.update(raw)
                    line = raw.decode("utf-8")
                    if line.strip():
                        items.append(item_from_line(line))
        except FileNotFoundError:
            raise StudyError(f"Study {self.slug!r} has no {ITEMS_FILE}; import its data again.") from None
        except OSError as exc:
            raise StudyError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise StudyError(
                f"{file} is damaged at line {number} ({short_reason(exc)}); import the study's data again."
            ) from None
        expected = self.spec.items_sha256
        if expected is not None and digest.hexdigest() != expected:
            raise StudyError(mismatch_message(self.slug, file))
        return items

    @cached_property
    def judgments(self) -> JudgmentStore:
        """The study's judgment database."""
        return JudgmentStore(self.path / DB_FILE)

    def variant(self, variant_id: str) -> PromptVariant:
        """A variant of this study (custom ones first, then built-ins)."""
        return find_variant(variant_id, self.spec.task, self.spec.custom_variants)

    def save_spec(self) -> None:
        """Write the spec back (atomically); refused if the study was replaced since it was opened."""
        self.check_not_replaced()
        atomic_write(self.path / SPEC_FILE, dump_spec(self.spec))

    def run_lock(self, owner: str | None = None) -> RunLock:
        """The study's run lock (not yet taken): ``with study.run_lock(): ...`` refuses a second run."""
        return RunLock(self.path, self.slug, owner)

    def run_holder(self) -> RunHolder | None:
        """Who is running this study now, or ``None`` when nobody is (checked without waiting).

        For an early, friendly refusal (before loading a model); the lock taken by the run itself is what
        guarantees one run at a time.
        """
        return probe_run_lock(self.path, self.slug)

    def close(self) -> None:
        """Close the judgment database if it was opened."""
        if "judgments" in self.__dict__:
            self.judgments.close()
            del self.__dict__["judgments"]


def _folder_identity(path: Path) -> tuple[int, int] | None:
    """Which folder ``path`` names now (device, inode): an overwrite swaps in another folder."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def item_from_line(line: str) -> Item:
    """One line of ``items.jsonl`` as an item; ``ValueError``/``TypeError``/``KeyError`` if it is not one."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise TypeError(f"a JSON {type(record).__name__}, not an object")
    if _SURROGATE_ESCAPE.search(line):
        # "\ud800" alone decodes to a lone surrogate, which no UTF-8 writer (pandas, Arrow, SQLite) accepts.
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError (a ValueError) if so
    return Item.from_record(record)


def mismatch_message(slug: str, items_file: Path) -> str:
    """The message for a study whose ``items.jsonl`` is not the one its ``study.yaml`` was written with."""
    return (
        f"Study {slug!r} is inconsistent: {items_file} is not the items file its {SPEC_FILE} was written with "
        "(an overwrite or import was interrupted, or a file was edited or copied in by hand). Its results cannot be "
        "trusted: import the study again (import --overwrite, or 'Replace it' on the Data page), or delete it."
    )


def items_fingerprint(data: bytes) -> str:
    """The fingerprint of an ``items.jsonl`` kept in :attr:`StudySpec.items_sha256`."""
    return hashlib.sha256(data).hexdigest()


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders in one atomic step where the system can (Linux ``renameat2(RENAME_EXCHANGE)``).

    Elsewhere (or on a file system without it) two renames: a crash between them leaves the old study in a
    hidden ``.old-<slug>-...`` folder and the new one in ``.new-<slug>-...``, nothing mixed.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            renameat2 = libc.renameat2
        except (OSError, AttributeError):
            renameat2 = None
        if renameat2 is not None:
            at_fdcwd = -100
            if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
                return
            error = ctypes.get_errno()
            if error not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: fall back to two renames
                raise OSError(error, os.strerror(error), str(b))
    aside = b.parent / f".old-{b.name}-{secrets.token_hex(4)}"
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def dump_spec(spec: StudySpec) -> str:
    """The spec as YAML, keys in a readable order, long texts as block scalars."""
    data = spec.model_dump(mode="json")
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)


PASS_OVERWRITE = "; choose another name or pass --overwrite."
"""The ``advice`` of :meth:`StudyStore.check_new_name` for a command-line import (its ``--overwrite`` flag)."""


class StudyStore:
    """The folder of studies."""

    def __init__(self, root: str | os.PathLike[str] = "studies") -> None:
        self.root = Path(root)

    def path_for(self, slug: str) -> Path:
        """The folder of study ``slug`` (validated; guaranteed inside the studies folder)."""
        validate_slug(slug)
        root = self.root.resolve()
        path = (root / slug).resolve()
        if path.parent != root:
            raise StudyError(f"Study name {slug!r} does not name a folder inside {self.root}.")
        return path

    def exists(self, slug: str) -> bool:
        """Whether study ``slug`` has a spec file (readable or not; :meth:`survey` tells damaged studies apart)."""
        return (self.path_for(slug) / SPEC_FILE).is_file()

    def check_new_name(self, slug: str, *, overwrite: bool = False, advice: str | None = None) -> str:
        """``slug`` validated as the name of a study about to be written; refused while a study has it.

        Called before any slow work (reading a file, a dataset, an archive). Without ``overwrite`` an existing
        study of that name raises :class:`StudyError` ("A study named 'x' already exists" and then ``advice``:
        what to do, in the words of the caller's front end, punctuation included). With ``overwrite`` the name
        only has to be valid: replacing refuses a study a run is judging (:meth:`refuse_if_running`).
        """
        validate_slug(slug)
        if not overwrite and self.exists(slug):
            if advice is None:
                advice = f" in {self.root}; choose another name or delete it first."
            raise StudyError(f"A study named {slug!r} already exists{advice}")
        return slug

    def refuse_if_running(self, slug: str) -> None:
        """Raise :class:`~selene_eval.errors.StudyBusy` naming the holder if a run judges study ``slug`` now.

        An early, friendly refusal before a long read (an import with overwrite); replacing and deleting take
        the lock themselves.
        """
        path = self.path_for(slug)
        if path.is_dir():
            holder = probe_run_lock(path, slug)
            if holder is not None:
                raise busy_error(slug, holder)

    def create(self, spec: StudySpec, items: list[Item], *, overwrite: bool = False) -> Study:
        """Write a new study; refuses to replace an existing one unless ``overwrite``.

        The study is built complete in a hidden folder beside the others and then swapped in (see
        :meth:`building`): a crash leaves the old study or the new one, never a mix, and an overwrite is
        refused with :class:`~selene_eval.errors.StudyBusy` while a run judges the old study.
        """
        path = self.path_for(spec.slug)
        self.check_new_name(spec.slug, overwrite=overwrite)
        if not items:
            raise StudyError("A study needs at least one item.")
        data = "".join(json.dumps(i.to_record(), ensure_ascii=False) + "\n" for i in items).encode("utf-8")
        spec = spec.model_copy(update={"items_sha256": items_fingerprint(data)})
        with self.building(spec.slug, overwrite=overwrite) as staging:
            write_study_files(staging, spec, data)
        return Study(path, spec)

    @contextmanager
    def building(self, slug: str, *, overwrite: bool = False) -> Iterator[Path]:
        """A fresh hidden folder to write study ``slug`` into; installed as the study when the block ends.

        On leaving the block without an error the folder takes the study's place: in one atomic swap when a
        study of that name exists (only with ``overwrite``, and only while no run holds its run lock; the old
        folder is deleted afterwards), by a rename otherwise. On an error it is removed and nothing changes.
        The folder holds its own run lock while it is built, so that a leftover of a crashed build (a hidden
        ``.new-<slug>-...`` folder) is recognised and removed by the next build of the same study.
        """
        final = self.path_for(slug)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers(slug)
            staging = self.root.resolve() / f".new-{slug}-{secrets.token_hex(6)}"
            staging.mkdir(mode=0o755)
        except OSError as exc:
            raise StudyError(f"Cannot write study {slug!r} in {self.root}: {exc.strerror or exc}.") from None
        building = RunLock(staging, slug, owner="building the study")
        try:
            building.acquire()
            yield staging
            _fsync_folder(staging)
            self._install(staging, final, slug, overwrite=overwrite)
        except OSError as exc:
            raise StudyError(f"Cannot write study {slug!r} in {self.root}: {exc.strerror or exc}.") from None
        finally:
            building.release()
            shutil.rmtree(staging, ignore_errors=True)  # after a swap it holds the old study; else the failed build

    def _install(self, staging: Path, final: Path, slug: str, *, overwrite: bool) -> None:
        if not os.path.lexists(final):
            os.rename(staging, final)
            _fsync_folder(final.parent)
            return
        if not overwrite:
            raise StudyError(
                f"A study named {slug!r} already exists in {self.root} (or a folder of that name); choose "
                "another name or replace it."
            )
        if final.is_symlink() or not final.is_dir():
            raise StudyError(f"{final} is not a study folder; move it away before importing {slug!r}.")
        # Held across the swap: a run judging the old study refuses the overwrite (StudyBusy names it), and no
        # run can start on the old study while it is being replaced.
        with RunLock(final, slug, owner="replacing the study"):
            _exchange(staging, final)
            _fsync_folder(final.parent)

    def _remove_leftovers(self, slug: str) -> None:
        """Delete hidden folders that crashed builds, overwrites or deletions of ``slug`` left behind.

        A folder whose lock is held belongs to a build still under way (another process) and is kept.
        """
        pattern = re.compile(rf"\.(?:new|old|deleted)-{re.escape(slug)}-[0-9a-f]{{8,12}}")
        for leftover in self.root.iterdir():
            if not pattern.fullmatch(leftover.name) or leftover.is_symlink() or not leftover.is_dir():
                continue
            lock = RunLock(leftover, slug, owner="removing a leftover")
            try:
                lock.acquire()
            except StudyError:
                continue  # in use
            try:
                shutil.rmtree(leftover, ignore_errors=True)
            finally:
                lock.release()

    def open(self, slug: str) -> Study:
        """Open study ``slug``; a clear error if it does not exist or its spec is damaged."""
        path = self.path_for(slug)
        spec_file = path / SPEC_FILE
        if not spec_file.is_file():
            if any((path / name).exists() for name in (ITEMS_FILE, DB_FILE)):
                raise StudyError(f"Study {slug!r} has no {SPEC_FILE}; import it again or delete the folder {path}.")
            known = ", ".join(s.slug for s in self.list()) or "none yet"
            raise StudyError(f"No study named {slug!r} in {self.root} (studies there: {known}).")
        try:
            data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
            spec = StudySpec.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            detail = f"{where}: {first['msg']}" if where else first["msg"]
            raise StudyError(
                f"{spec_file} is damaged ({short_reason(Exception(detail))}); fix it or import the study again."
            ) from None
        except OSError as exc:
            raise StudyError(f"Cannot read {spec_file}: {exc.strerror or exc}.") from None
        except (yaml.YAMLError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
            detail = short_reason(exc).split(' in "<unicode string>"')[0]
            raise StudyError(f"{spec_file} is damaged ({detail}); fix it or import the study again.") from None
        if spec.slug != slug:
            spec = spec.model_copy(update={"slug": slug})
        return Study(path, spec)

    def list(self) -> list[StudySummary]:
        """Every readable study, by slug (damaged ones are left out: :meth:`survey` lists them with the reason)."""
        return list(self.survey().studies)

    def survey(self) -> StudiesListing:
        """Every study in the folder, by slug: the readable ones, and the damaged ones with what is wrong.

        A folder counts as a study when its name is a valid study name and it holds a study file. One damaged
        study never hides the others. The checks are the cheap ones (spec, items file and its fingerprint,
        database); a damaged line inside ``items.jsonl`` of an older study without a fingerprint shows when it
        is opened.
        """
        studies: list[StudySummary] = []
        damaged: list[DamagedStudy] = []
        try:
            children = sorted(self.root.iterdir()) if self.root.is_dir() else []
        except OSError as exc:
            raise StudyError(f"Cannot read the studies folder {self.root}: {exc.strerror or exc}.") from None
        for child in children:
            if not _SLUG.fullmatch(child.name) or child.is_symlink() or not child.is_dir():
                continue
            try:
                if not _holds_study_files(child):
                    continue
                studies.append(self._summary(child))
            except StudyError as exc:
                damaged.append(DamagedStudy(child.name, str(exc)))
            except OSError as exc:
                damaged.append(DamagedStudy(child.name, f"Cannot read {child}: {exc.strerror or exc}."))
        return StudiesListing(tuple(studies), tuple(damaged))

    def _summary(self, folder: Path) -> StudySummary:
        """The list line of the study in ``folder``; :class:`StudyError` saying what is damaged."""
        if not (folder / SPEC_FILE).is_file():
            raise StudyError(
                f"Study {folder.name!r} has no {SPEC_FILE}; import it again or delete the folder {folder}."
            )
        study = self.open(folder.name)
        try:
            n_items = 0
            digest = hashlib.sha256()
            items_file = folder / ITEMS_FILE
            try:
                with items_file.open("rb") as handle:
                    for number, raw in enumerate(handle, start=1):
                        digest.update(raw)
                        try:
                            raw.decode("utf-8")
                        except UnicodeDecodeError:
                            raise StudyError(
                                f"{items_file} is damaged at line {number} (not UTF-8 text); import "
                                "the study's data again."
                            ) from None
                        n_items += bool(raw.strip())
            except FileNotFoundError:
                raise StudyError(f"Study {study.slug!r} has no {ITEMS_FILE}; import its data again.") from None
            if study.spec.items_sha256 is not None and digest.hexdigest() != study.spec.items_sha256:
                raise StudyError(mismatch_message(study.slug, items_file))
            n_judgments = study.judgments.count() if (folder / DB_FILE).exists() else 0
        finally:
            study.close()
        spec = study.spec
        return StudySummary(
            spec.slug, spec.title, spec.task.value, n_items, n_judgments, spec.illustrative, spec.created_at
        )

    def delete(self, slug: str) -> None:
        """Delete study ``slug`` and everything in its folder (refused while a run judges it).

        The folder is first renamed to a hidden name, so that a crash while deleting leaves no half-deleted
        study (the next build of that name removes the leftover).
        """
        path = self.path_for(slug)
        # Any folder that holds a study file, so that a damaged study (even one without study.yaml) can go.
        if path.is_symlink() or not path.is_dir() or not _holds_study_files(path):
            raise StudyError(f"No study named {slug!r} to delete.")
        aside = self.root.resolve() / f".deleted-{slug}-{secrets.token_hex(6)}"
        try:
            with RunLock(path, slug, owner="deleting the study"):  # refuses while a run writes into it
                os.rename(path, aside)
                _fsync_folder(aside.parent)
        except OSError as exc:
            raise StudyError(f"Cannot delete study {slug!r}: {exc.strerror or exc}.") from None
        shutil.rmtree(aside, ignore_errors=True)

    def duplicate(self, slug: str, new_slug: str, *, with_judgments: bool = True) -> Study:
        """Copy a study under a new name (judgments included unless told otherwise)."""
        source = self.open(slug)
        target = self.path_for(new_slug)
        if target.exists():
            raise StudyError(f"A study named {new_slug!r} already exists; choose another name.")
        source.close()
        # The database is copied with SQLite's backup API, not as files: a run may be writing to it, and a
        # file copy of a database and its write-ahead log taken at two moments can be inconsistent.
        leave_out = shutil.ignore_patterns(DB_FILE + "*", LOCK_FILE, f".{SPEC_FILE}.*", f".{ITEMS_FILE}.*")
        shutil.copytree(source.path, target, ignore=leave_out)
        if with_judgments and (source.path / DB_FILE).exists():
            _backup_database(source.path / DB_FILE, target / DB_FILE)
        copy = self.open(new_slug)
        copy.spec = copy.spec.model_copy(update={"slug": new_slug, "illustrative": False})
        copy.save_spec()
        return copy

    def rename(self, slug: str, new_slug: str) -> Study:
        """Rename a study's folder (and its slug)."""
        source = self.open(slug)
        target = self.path_for(new_slug)
        if target.exists():
            raise StudyError(f"A study named {new_slug!r} already exists; choose another name.")
        source.close()
        with RunLock(source.path, slug, owner="renaming the study"):  # refuses while a run writes into it
            os.replace(source.path, target)
        study = self.open(new_slug)
        study.save_spec()
        return study


def _holds_study_files(folder: Path) -> bool:
    """Whether ``folder`` holds any of a study's files: a study, perhaps a damaged one (listed, deletable)."""
    return any((folder / name).exists() for name in (SPEC_FILE, ITEMS_FILE, DB_FILE))


def _backup_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (readers and writers may be using ``source``)."""
    src = dst = None
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        dst = sqlite3.connect(target)
        src.backup(dst)
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise StudyError(f"Cannot copy the judgments of {source.parent.name!r} ({exc}); try again.") from None
    finally:
        for connection in (src, dst):
            if connection is not None:
                connection.close()
