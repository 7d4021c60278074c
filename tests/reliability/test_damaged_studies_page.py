"""The dashboard with a damaged study in the folder, and overwriting or deleting a study that is being judged.

One damaged study never takes the Studies page (or the sidebar) down: the readable studies are listed and
usable, the damaged one is shown with the reason and can be deleted. Replacing a study from the Data page,
importing an archive over it and deleting it are refused while a run judges it, with the holder named.
"""

from __future__ import annotations

from pathlib import Path

from selene_eval.study import StudyStore
from selene_eval.study.archive import export_archive
from selene_eval.testing.dashboard import go, start, texts
from tests.reliability.helpers import make_study


def test_a_damaged_study_is_marked_and_the_others_stay_usable(app_studies_dir: Path) -> None:
    make_study(app_studies_dir, 3, slug="alpha").close()
    make_study(app_studies_dir, 4, slug="broken").close()
    make_study(app_studies_dir, 5, slug="gamma").close()
    (app_studies_dir / "broken" / "study.yaml").write_bytes(b"[" * 10_000)  # nesting deeper than the parser's stack
    at = go(start(), "pages/6_studies.py")
    assert not at.exception, [e.message for e in at.exception]
    assert list(at.dataframe[0].value["Name"]) == ["alpha", "gamma"]
    warning = texts(at.warning)
    assert "broken" in warning and "cannot be opened" in warning and "nested too deeply" in warning, warning
    assert "broken" not in at.sidebar.selectbox(key="app_study").options
    # Delete asks first, then removes the damaged folder; the others are untouched.
    at.button(key="studies_damaged_delete_broken").click().run()
    at.button(key="studies_damaged_no_broken").click().run()
    assert (app_studies_dir / "broken").exists()
    at.button(key="studies_damaged_delete_broken").click().run()
    at.button(key="studies_damaged_yes_broken").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not (app_studies_dir / "broken").exists() and "Deleted study" in texts(at.success)
    assert [s.slug for s in StudyStore(app_studies_dir).list()] == ["alpha", "gamma"]


def test_the_studies_page_refuses_to_replace_or_delete_a_study_being_judged(
    app_studies_dir: Path, tmp_path: Path
) -> None:
    make_study(app_studies_dir, 6).close()
    archive, _ = export_archive(make_study(tmp_path / "elsewhere", 2))
    at = go(start(), "pages/6_studies.py")
    with StudyStore(app_studies_dir).open("s").run_lock(owner="the dashboard"):  # a run in another session
        at.file_uploader(key="studies_archive").set_value(("s.selene.zip", archive, "application/zip")).run()
        at.checkbox(key="studies_import_overwrite").check()
        next(b for b in at.button if b.label == "Import the archive").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert "is being judged by another run" in texts(at.error), texts(at.error)
        at.button(key="studies_delete").click().run()
        at.button(key="studies_delete_yes").click().run()
        assert "is being judged by another run" in texts(at.error), texts(at.error)
    study = StudyStore(app_studies_dir).open("s")
    assert len(study.items) == 6
