"""One small exception hierarchy. Every message says what was wrong and what to do.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``; no traceback.
"""


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


class WeightsError(ReproError):
    """Missing weights or a checkpoint that does not fit the model."""


class MissingWeightsError(WeightsError):
    """Weights that are not available locally and cannot be fetched now."""


class SpecError(ReproError):
    """A malformed table spec or dataset card."""


def did_you_mean(name: str, choices) -> str:
    """Return a hint listing close matches (or all choices when few)."""
    import difflib

    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(close) + "?"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"known: {shown}"


class NonFiniteOutputError(ReproError):
    """A model produced NaN or inf: its output is never scored."""


class BusyError(ReproError):
    """Another run holds the lock of the same table's results."""
