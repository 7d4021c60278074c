"""The project's own exception types.

Every error a user can cause (a bad file, an unknown column, a missing model) is one of these, with a
message that says what to fix. Pages and the CLI catch only :class:`SeleneEvalError`; anything else is a
bug that tests must see.
"""

from __future__ import annotations


class SeleneEvalError(Exception):
    """Base class: a problem the user can fix, described in plain words."""


class DataError(SeleneEvalError):
    """A file cannot be read as a table (format, encoding, structure)."""


class MappingError(SeleneEvalError):
    """Columns or label values are mapped wrongly (unknown column, unknown role, bad label map)."""


class ValidationFailed(SeleneEvalError):
    """The validation report holds errors that block building a study.

    ``report`` is the :class:`selene_eval.data.validation.ValidationReport` with every problem found.
    """

    def __init__(self, report: object, message: str | None = None) -> None:
        self.report = report
        super().__init__(message or str(report))


class TemplateError(SeleneEvalError):
    """A prompt template is malformed or uses placeholders that do not exist."""


class StudyError(SeleneEvalError):
    """A study cannot be created, opened or written (bad slug, missing study, corrupt files)."""


class StudyBusy(StudyError):
    """Another run (another process, browser session or thread) is judging this study right now.

    ``holder`` is the :class:`selene_eval.study.store.RunHolder` that holds the study's run lock, or ``None``
    when it could not be read.
    """

    def __init__(self, message: str, holder: object = None) -> None:
        self.holder = holder
        super().__init__(message)


class ModelUnavailableError(SeleneEvalError):
    """Model weights cannot be found or loaded; the message names the setting to change."""


class BackendError(SeleneEvalError):
    """A judge backend failed in a way that is not a model-output problem."""


class StatisticsError(SeleneEvalError):
    """Statistics cannot be computed from the given table (unknown columns, bad level or order)."""


class RunCancelled(SeleneEvalError):
    """A run was cancelled between batches; everything judged so far is stored."""
