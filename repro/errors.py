"""One small exception hierarchy. Every message says what was wrong and what to do.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``; no traceback.
"""

from enum import StrEnum


class ReproError(Exception):
    """Base class: a user-facing problem with a message that says what to do."""

    exit_code = 2


class UnknownNameError(ReproError):
    """An unknown table, dataset, model, metric or variant."""


class DataError(ReproError):
    """Missing, corrupt or inconsistent data (files, images, sizes)."""


class MissingDataError(DataError):
    """A dataset that is neither in a local folder nor obtainable from the Hub now."""


class ChecksumError(DataError):
    """A file whose sha256 differs from the recorded one."""


class DownloadError(ReproError):
    """No source of a file could be downloaded (every URL failed, or the bytes were wrong)."""


class WeightsError(ReproError):
    """Missing weights or a checkpoint that does not fit the model."""


class MissingWeightsError(WeightsError):
    """Weights that are not available locally and cannot be fetched now."""


class WeightsChecksumError(ChecksumError, WeightsError):
    """A weight file (of a model or a metric) whose sha256 differs from the known one."""


class SpecError(ReproError):
    """A malformed table spec or dataset card."""


class ConfigError(ReproError):
    """A setting (an option, a ``REPRO_*`` variable) that names the wrong kind of path, or a
    user card or spec whose name clashes with another."""


def did_you_mean(name: str, choices) -> str:
    """Return a hint listing close matches (or all choices when few)."""
    import difflib

    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(close) + "?"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"known: {shown}"


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception raised by code we do not own."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class RegistrationError(ReproError):
    """A model family or metric declared wrongly (a missing field, an impossible combination,
    a broken plugin): it alone is unusable, and every use of it says why in one line."""


class NonFiniteOutputError(ReproError):
    """A model produced NaN or inf: its output is never scored."""


class BusyError(ReproError):
    """Another run holds the lock of the same table's results."""


class NotRunCode(StrEnum):
    """Why a table cell holds no reproduced value: the one list of NOT-RUN reason codes."""

    MISSING_WEIGHTS = "MISSING-WEIGHTS"  # this machine lacks the checkpoint
    MISSING_DATA = "MISSING-DATA"  # this machine lacks the dataset
    NEEDS_GPU = "NEEDS-GPU"  # measured on a GPU this machine does not have
    TRAINING_ONLY = "TRAINING-ONLY"  # a training-time result; no released model runs it
    NOT_IMPLEMENTED = "NOT-IMPLEMENTED"  # the suite cannot compute this cell yet
    NOT_SELECTED = "NOT-SELECTED"  # a --datasets run left this dataset out
    NON_FINITE_OUTPUT = "NON-FINITE-OUTPUT"  # the model produced NaN/inf: never scored
    MISSING_EXTRA = "MISSING-EXTRA"  # an optional extra (pyiqa: iqa, spandrel: zoo) is absent

    @property
    def missing_input(self) -> bool:
        """This machine lacks an input (as opposed to: nothing could run the cell)."""
        return self in (
            NotRunCode.MISSING_WEIGHTS,
            NotRunCode.MISSING_DATA,
            NotRunCode.MISSING_EXTRA,
        )


# Codes a table spec may give a row by hand (the others arise only while running).
SPEC_CODES = (
    NotRunCode.TRAINING_ONLY,
    NotRunCode.NOT_IMPLEMENTED,
    NotRunCode.NEEDS_GPU,
    NotRunCode.MISSING_WEIGHTS,
    NotRunCode.MISSING_DATA,
)


class NotRun(ReproError):
    """A cell (or metric, or column) that cannot be measured here: a code and a detail.

    ``str(error)`` is ``"CODE: detail"`` for people; code reads ``error.code``, never the text.
    """

    def __init__(self, code: NotRunCode, detail: str) -> None:
        self.code = NotRunCode(code)
        self.detail = detail
        super().__init__(f"{self.code}: {detail}")
