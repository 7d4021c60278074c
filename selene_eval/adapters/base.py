"""What every public-dataset adapter provides, and the one path from a dataset to a study.

An adapter knows a dataset's files, licence and canonical location, and turns a local copy (a file or the
folder holding it) into a table of strings with the column mapping, task and label map already chosen.
From there the study is built exactly like an upload: :func:`~selene_eval.data.build_items` (the same
validation report), :func:`~selene_eval.study.new_study_spec` and :meth:`StudyStore.create`.

Downloads fetch pinned files (a fixed commit or dated file name) and check each against a checksum
recorded here: the git blob SHA-1 the dataset's repository gives the file (what ``git hash-object``
prints), or a SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from selene_eval.core.tasks import TaskType
from selene_eval.data import ColumnMapping, TableFile, build_items, cell_display_text
from selene_eval.errors import DataError, ValidationFailed
from selene_eval.prompts.rubric import Rubric
from selene_eval.study import Study, StudyStore, new_study_spec
from selene_eval.study.store import PASS_OVERWRITE

DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset at its canonical location, pinned.

    ``path`` is where the file goes inside the local dataset folder. ``git_blob_sha1`` is the file's git blob
    id (exact content check); ``sha256`` a plain SHA-256. A file with neither is pinned only by its URL
    (a commit or a dated name), and the download says so.
    """

    path: str
    url: str
    git_blob_sha1: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class AdapterOption:
    """A choice an adapter offers (e.g. what a refusal counts as), with its allowed values and default."""

    name: str
    choices: tuple[str, ...]
    default: str
    help: str


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset read from disk, ready to become a study."""

    table: TableFile
    mapping: ColumnMapping
    task: TaskType
    label_map: dict[str, str | None]
    rubric: Rubric | None = None
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class DatasetAdapter:
    """A public dataset with expert labels, and how to read it.

    ``load(path, options)`` reads a local copy: ``path`` is the data file itself or the folder that holds
    the dataset's files (as downloaded, or as laid out in the dataset's repository).
    """

    name: str
    title: str
    domain: str
    licence: str
    licence_text: str
    source_url: str
    citation: str
    summary: str
    task: TaskType
    files: tuple[RemoteFile, ...]
    load_fn: Callable[[Path, Mapping[str, str]], LoadedDataset]
    options: tuple[AdapterOption, ...] = ()
    download_note: str = ""
    annotators: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def resolve_options(self, options: Mapping[str, str] | None) -> dict[str, str]:
        """``options`` checked against :attr:`options`, defaults filled in; DataError for unknown ones."""
        given = dict(options or {})
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            allowed = ", ".join(f"{o.name} ({'/'.join(o.choices)})" for o in self.options) or "none"
            raise DataError(f"The {self.name} dataset has no option {', '.join(unknown)}; its options: {allowed}.")
        resolved = {}
        for name, option in known.items():
            value = given.get(name, option.default)
            if value not in option.choices:
                raise DataError(
                    f"Option {name}={value!r} of the {self.name} dataset must be one of: {', '.join(option.choices)}."
                )
            resolved[name] = value
        return resolved

    def load(self, path: str | os.PathLike[str], options: Mapping[str, str] | None = None) -> LoadedDataset:
        """Read the local copy at ``path`` (file or folder). Raises DataError when it is not this dataset."""
        location = Path(path).expanduser()
        if not location.exists():
            raise DataError(
                f"{location} does not exist. Point to the {self.title} file or its folder, or download "
                f"it first (python -m selene_eval datasets download {self.name} --to DIR)."
            )
        return self.load_fn(location, self.resolve_options(options))

    def download(self, directory: str | os.PathLike[str], *, opener: Callable[[str], bytes] | None = None) -> Path:
        """Fetch the pinned files into ``directory``, checking each checksum; returns the folder.

        Files already there with the right checksum are kept. ``opener`` (URL -> bytes) replaces the network
        fetch, for tests. Raises DataError when a file cannot be fetched or does not match its checksum.
        """
        if not self.files:
            raise DataError(f"{self.title} cannot be downloaded automatically. {self.download_note}".strip())
        target = Path(directory).expanduser()
        fetch = opener or _fetch
        for remote in self.files:
            destination = target / remote.path
            if destination.is_file() and verify(destination.read_bytes(), remote):
                continue
            try:
                data = fetch(remote.url)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                raise DataError(
                    f"Cannot download {remote.url} ({getattr(exc, 'reason', exc)}). Without internet access, fetch "
                    f"it on another machine and pass the folder with --from. {self.download_note}".strip()
                ) from None
            if not verify(data, remote):
                raise DataError(
                    f"The file downloaded from {remote.url} does not match its pinned checksum; it was not saved. "
                    "The source may have changed: check the dataset's page before using another version."
                )
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, destination)
            except OSError as exc:
                raise DataError(f"Cannot write {destination}: {exc.strerror or exc}.") from None
        return target


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310 (pinned https URLs)
        return response.read()


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (``git hash-object``): SHA-1 of ``blob <size>\\0`` + content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def verify(data: bytes, remote: RemoteFile) -> bool:
    """Whether ``data`` matches the checksums recorded for ``remote`` (true when none is recorded)."""
    if remote.git_blob_sha1 and not git_blob_sha1(data).startswith(remote.git_blob_sha1):
        return False
    return not remote.sha256 or hashlib.sha256(data).hexdigest() == remote.sha256


# --- helpers for adapters ---------------------------------------------------------------------------------------


def find_file(location: Path, names: Sequence[str], what: str) -> Path:
    """``location`` itself if it is a file, else the first of ``names`` found under it (searched recursively)."""
    if location.is_file():
        return location
    for name in names:
        direct = location / name
        if direct.is_file():
            return direct
    for name in names:
        found = sorted(location.rglob(Path(name).name))
        if found:
            return found[0]
    raise DataError(f"No {what} found in {location}: expected {' or '.join(names)}.")


def table_from_records(
    records: Sequence[Mapping[str, object]], columns: Sequence[str], *, name: str, sources: Sequence[Path], fmt: str
) -> TableFile:
    """A :class:`TableFile` of strings built by an adapter; its SHA-256 covers every source file read."""
    frame = pd.DataFrame(
        [[cell_display_text(r.get(c)) for c in columns] for r in records], columns=list(columns), dtype=object
    )
    digest = hashlib.sha256()
    for source in sorted(sources):
        digest.update(source.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return TableFile(frame=frame, format=fmt, encoding="utf-8", name=name, sha256=digest.hexdigest())


def create_study_from_dataset(
    adapter: DatasetAdapter,
    path: str | os.PathLike[str],
    store: StudyStore,
    slug: str,
    *,
    options: Mapping[str, str] | None = None,
    title: str | None = None,
    overwrite: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> Study:
    """Load a local copy of ``adapter``'s dataset and save it as study ``slug`` through the upload path.

    Raises :class:`ValidationFailed` if the items do not validate, StudyError for a taken name. The
    validation report's warnings (e.g. empty responses) go to ``on_warning``, one line each.
    """
    store.check_new_name(slug, overwrite=overwrite, advice=PASS_OVERWRITE)
    loaded = adapter.load(path, options)
    items, report = build_items(loaded.table.frame, loaded.mapping, loaded.task, loaded.label_map)
    if not report.ok:
        raise ValidationFailed(report)
    for issue in report.warnings:
        if on_warning is not None:
            on_warning(issue.message + (f" {issue.fix}" if issue.fix else ""))
    description = "\n\n".join(
        filter(
            None,
            [
                loaded.description,
                f"Source: {adapter.source_url}. Licence: {adapter.licence}. {adapter.citation}",
            ],
        )
    )
    spec = new_study_spec(
        loaded.table,
        loaded.mapping,
        loaded.task,
        loaded.label_map,
        items,
        slug=slug,
        title=title or loaded.title or adapter.title,
        description=description,
        rubric=loaded.rubric,
    )
    return store.create(spec, items, overwrite=overwrite)
