"""Studies on disk: ``<studies_dir>/<slug>/`` holding ``study.yaml``, ``items.jsonl``, ``judgments.sqlite``.

Slugs are validated before any path is built, and every path is checked to resolve inside the studies
folder, so no name a user types can touch a file outside it. Spec and items are written atomically
(temporary file, then rename), so a crash never leaves a half-written study.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import ValidationError

from selene_eval.errors import StudyError
from selene_eval.items import Item
from selene_eval.prompts.variants import PromptVariant, find_variant
from selene_eval.store.judgments import JudgmentStore
from selene_eval.store.spec import StudySpec

SPEC_FILE = "study.yaml"
ITEMS_FILE = "items.jsonl"
DB_FILE = "judgments.sqlite"

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is a safe study name, else raise :class:`StudyError` saying what is allowed."""
    if not isinstance(slug, str) or not _SLUG.match(slug):
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


class Study:
    """An opened study. Items load lazily; the judgment store opens on first use."""

    def __init__(self, path: Path, spec: StudySpec) -> None:
        self.path = path
        self.spec = spec

    @property
    def slug(self) -> str:
        return self.spec.slug

    @cached_property
    def items(self) -> list[Item]:
        """The normalized items, in file order."""
        file = self.path / ITEMS_FILE
        items = []
        try:
            with file.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        items.append(Item.from_record(json.loads(line)))
        except FileNotFoundError:
            raise StudyError(f"Study {self.slug!r} has no {ITEMS_FILE}; import its data again.") from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise StudyError(f"{file} is damaged at line {number} ({exc}); import the study's data again.") from None
        return items

    @cached_property
    def judgments(self) -> JudgmentStore:
        """The study's judgment database."""
        return JudgmentStore(self.path / DB_FILE)

    def variant(self, variant_id: str) -> PromptVariant:
        """A variant of this study (custom ones first, then built-ins)."""
        return find_variant(variant_id, self.spec.task, self.spec.custom_variants)

    def save_spec(self) -> None:
        """Write the spec back (atomically)."""
        atomic_write(self.path / SPEC_FILE, dump_spec(self.spec))

    def close(self) -> None:
        """Close the judgment database if it was opened."""
        if "judgments" in self.__dict__:
            self.judgments.close()
            del self.__dict__["judgments"]


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
        return (self.path_for(slug) / SPEC_FILE).is_file()

    def create(self, spec: StudySpec, items: list[Item], *, overwrite: bool = False) -> Study:
        """Write a new study; refuses to replace an existing one unless ``overwrite``."""
        path = self.path_for(spec.slug)
        if (path / SPEC_FILE).exists() and not overwrite:
            raise StudyError(
                f"A study named {spec.slug!r} already exists in {self.root}; choose another name or delete it first."
            )
        if not items:
            raise StudyError("A study needs at least one item.")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            path.mkdir(exist_ok=True)
            if overwrite:
                (path / DB_FILE).unlink(missing_ok=True)
                for suffix in ("-wal", "-shm"):
                    (path / (DB_FILE + suffix)).unlink(missing_ok=True)
            lines = "".join(json.dumps(i.to_record(), ensure_ascii=False) + "\n" for i in items)
            atomic_write(path / ITEMS_FILE, lines)
            atomic_write(path / SPEC_FILE, dump_spec(spec))
        except OSError as exc:
            raise StudyError(f"Cannot write study {spec.slug!r} in {self.root}: {exc.strerror or exc}.") from None
        return Study(path, spec)

    def open(self, slug: str) -> Study:
        """Open study ``slug``; a clear error if it does not exist or its spec is damaged."""
        path = self.path_for(slug)
        spec_file = path / SPEC_FILE
        if not spec_file.is_file():
            known = ", ".join(s.slug for s in self.list()) or "none yet"
            raise StudyError(f"No study named {slug!r} in {self.root} (studies there: {known}).")
        try:
            data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
            spec = StudySpec.model_validate(data)
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc).splitlines()[0]
            raise StudyError(f"{spec_file} is damaged ({detail}); fix it or import the study again.") from None
        if spec.slug != slug:
            spec = spec.model_copy(update={"slug": slug})
        return Study(path, spec)

    def list(self) -> list[StudySummary]:
        """Every readable study, by slug. Damaged folders are skipped (opening one says why)."""
        out = []
        if not self.root.is_dir():
            return out
        for child in sorted(self.root.iterdir()):
            if not (child / SPEC_FILE).is_file() or not _SLUG.match(child.name):
                continue
            try:
                study = self.open(child.name)
                n_items = sum(1 for line in (child / ITEMS_FILE).open(encoding="utf-8") if line.strip())
                n_judgments = study.judgments.count() if (child / DB_FILE).exists() else 0
                study.close()
            except (StudyError, OSError):
                continue
            spec = study.spec
            out.append(
                StudySummary(spec.slug, spec.title, spec.task.value, n_items, n_judgments, spec.illustrative, spec.created_at)
            )
        return out

    def delete(self, slug: str) -> None:
        """Delete study ``slug`` and everything in its folder."""
        path = self.path_for(slug)
        if not (path / SPEC_FILE).is_file():
            raise StudyError(f"No study named {slug!r} to delete.")
        shutil.rmtree(path)

    def duplicate(self, slug: str, new_slug: str, *, with_judgments: bool = True) -> Study:
        """Copy a study under a new name (judgments included unless told otherwise)."""
        source = self.open(slug)
        target = self.path_for(new_slug)
        if target.exists():
            raise StudyError(f"A study named {new_slug!r} already exists; choose another name.")
        ignore = shutil.ignore_patterns(*(() if with_judgments else (DB_FILE + "*",)))
        source.close()
        shutil.copytree(source.path, target, ignore=ignore)
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
        os.replace(source.path, target)
        study = self.open(new_slug)
        study.save_spec()
        return study
