"""Command line: ``python -m repro {ls, validate, table, eval, score, report, pull, verify}``.

Errors print one line on stderr and exit non-zero, without a traceback. With ``--json`` a command
prints exactly one JSON document on stdout (progress bars go to stderr).
"""

from __future__ import annotations

import sys

from repro.cli.commands import COMMANDS
from repro.cli.output import one_line
from repro.cli.parser import build_parser
from repro.errors import ReproError


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ReproError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # full disk, read-only folder, permissions: nothing was published
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: cannot read or write a file{where}: {exc.strerror or exc}; free space or "
            "fix the folder's permissions (REPRO_RESULTS, REPRO_REPORTS, REPRO_CACHE move them)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from the cache", file=sys.stderr)
        return 130
