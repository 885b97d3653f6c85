"""``python -m repro.table <id>``: the same as ``repro table <id>`` (kept for old scripts)."""

from __future__ import annotations

import sys

from repro.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["table", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
