"""``python -m repro.table <id>``: run one paper table, compare with the paper, write a report."""

from __future__ import annotations

import sys

from repro.cli import main as cli_main
from repro.cli.parser import TABLE_PROG


def main(argv: list[str] | None = None) -> int:
    return cli_main(["table", *(sys.argv[1:] if argv is None else argv)], prog=TABLE_PROG)


if __name__ == "__main__":
    raise SystemExit(main())
