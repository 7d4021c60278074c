"""Paths and names: no study name, uploaded file name or template name addresses a path outside studies/.

Study names are checked before any path is built (``validate_slug``) and every path is checked to resolve
inside the studies folder (``StudyStore.path_for``). Uploaded file names are only shown (and suggest a
study name through ``slugify``); template names become variant ids, never paths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selene_eval.core.tasks import TaskType
from selene_eval.data import read_table
from selene_eval.errors import StudyError, TemplateError
from selene_eval.prompts.variants import load_template_text
from selene_eval.study import StudyStore, slugify, validate_slug
from tests.reliability.helpers import make_study

HOSTILE_NAMES = [
    "../outside",
    "..",
    ".",
    "../../etc/passwd",
    "/etc/passwd",
    "/tmp",
    "a/../../b",
    "a/b",
    "a\\..\\b",
    "C:\\x",
    "nul\x00byte",
    "x\x00/../../etc",
    "study\n",
    "study\r\n",
    "\nstudy",
    "study ",
    " study",
    "．．／outside",  # fullwidth full stops and solidus (NFKC turns them into ../)
    "..\u2215outside",
    "\u2024\u2024/outside",
    "..\uff0foutside",
    "\u202eoutside",
    "stu\u0301dy",
    "ｓｔｕｄｙ",
    "a" * 65,
    "a" * 10_000,
    "%2e%2e%2foutside",
    "~",
    "~root",
    "$HOME",
    "`id`",
    "$(id)",
    "study;rm -rf x",
    "CON",
    "study.",
    "-study",
    "study-",
    "_study",
    "Study",
    "",
]


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[:30] for n in HOSTILE_NAMES])
def test_hostile_study_names_are_refused_by_every_operation(name: str, tmp_path: Path) -> None:
    studies = tmp_path / "studies"
    make_study(studies, 2, slug="good")
    before = snapshot(tmp_path)
    store = StudyStore(studies)
    good = store.open("good")
    operations = {
        "validate": lambda: validate_slug(name),
        "path_for": lambda: store.path_for(name),
        "exists": lambda: store.exists(name),
        "open": lambda: store.open(name),
        "delete": lambda: store.delete(name),
        "create": lambda: store.create(good.spec.model_copy(update={"slug": name}), good.items),
        "duplicate to": lambda: store.duplicate("good", name),
        "rename to": lambda: store.rename("good", name),
    }
    for operation, call in operations.items():
        with pytest.raises(StudyError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message and "\x00" not in message, operation
        assert len(message) < 400, f"{operation}: the message repeats a huge name"
    assert snapshot(tmp_path) == before  # nothing created, moved or deleted anywhere


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(max_size=80))
def test_any_accepted_name_is_a_folder_directly_inside_studies(name: str) -> None:
    root = Path("/nonexistent/studies")
    store = StudyStore(root)
    try:
        path = store.path_for(name)
    except StudyError:
        return
    assert path.parent == root.resolve() and path.name == name and name.isascii() and "/" not in name


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(file_name=st.text(max_size=300))
def test_uploaded_file_names_only_ever_suggest_safe_study_names(file_name: str) -> None:
    # The Data page suggests a study name from the uploaded file's name (slugify of its stem).
    suggestion = slugify(Path(file_name.replace("\x00", "")).stem or file_name)
    assert validate_slug(suggestion) == suggestion


def test_a_symlinked_study_folder_pointing_outside_is_refused(tmp_path: Path) -> None:
    studies = tmp_path / "studies"
    outside = tmp_path / "outside"
    make_study(outside, 2, slug="victim")
    studies.mkdir()
    os.symlink(outside / "victim", studies / "link")
    store = StudyStore(studies)
    with pytest.raises(StudyError, match="does not name a folder inside"):
        store.open("link")
    with pytest.raises(StudyError):
        store.delete("link")
    assert (outside / "victim" / "study.yaml").is_file()
    assert [s.slug for s in store.list()] == []


def test_uploaded_file_names_are_only_shown(tmp_path: Path) -> None:
    name = "../../etc/passwd\x00<img src=x onerror=alert(1)>.csv"
    table = read_table(b"question,answer\nq,a\n", name=name)
    assert table.name == name  # kept as text for display; no path is ever built from it
    assert snapshot(tmp_path) == set()


# A trailing newline: `re.match` with `$` would accept it (variants.py uses fullmatch).
NEWLINE_ID = "custom\n"


@pytest.mark.parametrize("variant_id", ["../../evil", "/abs", "a/b", "nul\x00", "．．", "x" * 65, "Upper", NEWLINE_ID])
def test_template_names_that_are_not_ids_are_refused(variant_id: str) -> None:
    template = "Judge {assistant_response} for {user_input}."  # valid: only the id can be wrong
    assert load_template_text(template, TaskType.BINARY, variant_id="custom").id == "custom"
    with pytest.raises(TemplateError, match="Variant id .* is not allowed"):
        load_template_text(template, TaskType.BINARY, variant_id=variant_id)
