"""``python -m repro ...`` run in this process, its output captured as a process would write it.

Much faster than a child process, and an uncaught exception (a user's traceback) propagates to
the test. Tests keep child processes for what needs one: exit codes and stderr of the real entry
points, kills, runs at the same time.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass


@dataclass
class CliRun:
    args: list[str]
    rc: int | None  # None: a child process that ran past its timeout
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """stderr as a terminal shows it: progress bars redraw their line with '\\r'."""
        shown = [seg.split("\r")[-1] for seg in self.stderr.split("\n")]
        return [s for s in shown if s.strip()]

    def __str__(self) -> str:
        return f"{' '.join(self.args)} -> exit {self.rc}\nstderr: {self.stderr[-2000:]}"


def run_cli(*args: str, module: str = "repro") -> CliRun:
    """``python -m <module> args`` (module ``repro`` or ``repro.table``) in this process."""
    from repro import table
    from repro.cli import main
    from repro.data import hub

    hub.reset_hub_state()  # a process decides once whether the Hub answers
    entry = {"repro": main, "repro.table": table.main}[module]
    # as a process in a UTF-8 locale (en_US.UTF-8) writes them: stdout strict, stderr escaping
    # what it cannot encode (a non-UTF-8 file name)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(record=True) as caught,
    ):
        _python_default_warning_filters()
        try:
            rc = entry(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help
            rc = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    for w in caught:  # the warnings a process would print on its stderr
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    return CliRun([module, *args], rc, _text(out), _text(err))


def _python_default_warning_filters() -> None:
    """The warning filters of a plain ``python`` process (no -W, not in development mode)."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", "backslashreplace")
