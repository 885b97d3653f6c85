"""Command line: ``repro {ls, validate, table, eval, score, report, pull, fetch, get, verify,
card, explain}`` (also ``python -m repro``; ``python -m repro.table`` is ``repro table``).

Errors print one line on stderr and exit non-zero, without a traceback. With ``--json`` a command
prints exactly one JSON document on stdout and shows no progress; otherwise progress is a bar on
stderr where stderr is a terminal, else one plain line per job on stdout, and none with
``--quiet``. Every command runs in one workspace
(:mod:`repro.workspace`), resolved and checked before it starts; the commands that run something
append a record to its run log (:mod:`repro.cli.runlog`).
"""

from __future__ import annotations

import sys

from repro.cli.commands import COMMANDS
from repro.cli.options import resolve_workspace
from repro.cli.output import escape_unprintable_names, one_line
from repro.cli.parser import build_parser
from repro.cli.runlog import run_logged
from repro.errors import ReproError
from repro.workspace import using


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    escape_unprintable_names()
    args = build_parser().parse_args(argv)
    args.argv = argv  # the run log records the command as typed
    try:
        ws = resolve_workspace(args)
        with using(ws):
            return run_logged(args, ws, COMMANDS[args.command])
    except ReproError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # full disk, read-only folder, permissions: nothing was published
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: cannot read or write a file{where}: {exc.strerror or exc}; free space or "
            "fix the folder's permissions (--out or REPRO_OUT moves the workspace, REPRO_CACHE "
            "the downloads)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from the cache", file=sys.stderr)
        return 130
