"""Regenerate the repository's reference runs from the current code (run by hand, ~N minutes).

The committed ``results/`` and ``reports/`` must be what a complete run of HEAD's code produced
(``tests/test_committed_results.py`` checks each manifest's code hash). This script removes every
table's published set, runs each table in full, then writes the index. A table with nothing
measurable here (all its cells need absent weights or data) exits 2 and keeps no result.

It is the one writer of the reference runs: it passes ``--reference``, the switch that lets
``repro table`` and ``repro report`` write into the checkout (any other workspace there is
refused). The reference runs use only the shipped cards and specs.

    python benchmarks/regenerate_results.py [table ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from repro.tables.spec import table_ids  # noqa: E402


def _remove_published(table: str) -> None:
    for folder in (REPO / "results", REPO / "reports"):
        for path in folder.glob(f"{table}.*"):
            path.unlink()
        for pattern in (f"{table}_*.png", f"{table}_table.*"):  # plots and LaTeX/CSV exports
            for path in folder.glob(pattern):
                path.unlink()


def main(argv: list[str]) -> int:
    tables = argv or table_ids()
    outcome = {}
    for table in tables:
        _remove_published(table)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "repro", "table", table, "--json", "--reference"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        outcome[table] = (proc.returncode, seconds, last if proc.returncode else "")
        print(f"{table:<20} exit {proc.returncode}  {seconds:7.1f} s  {outcome[table][2][:150]}")
    subprocess.run([sys.executable, "-m", "repro", "report", "--reference"], cwd=REPO, check=True)
    return 0 if all(code in (0, 2) for code, _, _ in outcome.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
