"""What ``repro table`` prints: a terminal's worth, not the whole report.

By default the measured cells, one line each; the cells not measured as groups, each with its
count and the one thing that would run it (``--all`` lists every cell instead); then what was
measured (quality apart from cost) before any verdict; the paper's claims with their verdicts
and the numbers behind them; the cells' verdict counts. Labels are never cut (two rows must
never read the same), and no reason is printed twice.
"""

from __future__ import annotations

from repro.report.conclusions import claim_numbers
from repro.report.coverage import is_measured
from repro.report.markdown import fmt, fmt_delta
from repro.report.summary import Need, counts_line, measured_lines, missing, tally
from repro.tables.claim_verdicts import ClaimStatus
from repro.tables.compare import Cell, CellStatus, status_label

HEADER = ("row", "dataset", "metric", "reported", "reproduced", "delta", "status")


def cell_lines(cells: list[Cell]) -> list[str]:
    """One aligned line per cell under a header; columns as wide as their longest value."""
    rows = [HEADER] + [
        (
            c.label,
            c.dataset or "-",
            c.metric + (f"@{c.variant}" if c.variant else ""),
            fmt(c.reported, c.metric),
            fmt(c.reproduced, c.metric),
            fmt_delta(c.delta, c.metric),
            status_label(c.status, c.code, (c.images, c.images_total), c.built),
        )
        for c in cells
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    lines = []
    for r in rows:
        left = [r[i].ljust(widths[i]) for i in range(3)]  # text columns left, numbers right
        right = [r[i].rjust(widths[i]) for i in range(3, 6)]
        lines.append(" ".join(left + right) + "  " + r[6])
    return lines


def _need_line(need: Need) -> str:
    """``16 cells  MISSING-WEIGHTS camixersr-m-x4 (4 rows): repro pull camixersr-m-x4``."""
    rows = f" ({len(need.labels)} rows)" if len(need.labels) > 1 else f" ({need.labels[0]})"
    if need.kind == "weights":
        what = f"MISSING-WEIGHTS {need.name}{rows}"
    elif need.kind == "data":
        what = f"MISSING-DATA {need.name}"
    else:  # a recorded reason: said once for all its cells
        what = f"{need.kind}{rows}: {need.name}"
    return f"{need.cells:>5} cell{'s' if need.cells != 1 else ' '}  {what}" + (
        f": {need.fix}" if need.fix else ""
    )


def group_lines(spec, cells: list[Cell]) -> list[str]:
    """The cells not measured, as groups: NOT-RUN by what would run them (each with its one
    fix), other methods' rows, and any other status without a value."""
    rest = [c for c in cells if not is_measured(c)]
    if not rest:
        return []
    lines = [f"not measured: {len(rest)} cells (--all lists every cell)"]
    needs = missing(spec, rest)
    lines += [_need_line(n) for n in needs]
    if any(n.kind in ("weights", "data") for n in needs):
        lines.append(f"      every checkpoint and dataset above at once: repro get {spec.id}")
    others = [c for c in rest if c.status == CellStatus.REPORTED_ONLY]
    if others:
        rows = len({c.row for c in others})
        lines.append(
            f"{len(others):>5} cells  REPORTED-ONLY: {rows} rows of other methods (the paper's "
            "numbers; this suite does not run them)"
        )
    for status in dict.fromkeys(  # a status without a value that is neither of the above
        c.status for c in rest if c.status not in (CellStatus.NOT_RUN, CellStatus.REPORTED_ONLY)
    ):
        n = sum(c.status == status for c in rest)
        lines.append(f"{n:>5} cells  {status}: no reproduced value")
    return lines


def claim_lines(claims: list) -> list[str]:
    """Each claim: its verdict and test, then the numbers behind it, here and on the paper's
    own numbers (:mod:`repro.report.conclusions`). A claim not run has no numbers; the cells
    that hold it back are in their group above."""
    if not claims:
        return []
    lines = ["claims:"]
    for claim in claims:
        lines.append(f"  {status_label(claim.status, claim.code)}  {claim.id}: {claim.test}")
        here, paper = claim_numbers(claim, "value"), claim_numbers(claim, "paper")
        behind = [f"here {here}"] * bool(here)
        if paper:
            behind.append(f"paper {paper}" + (f" {claim.paper}" if claim.paper else ""))
        if claim.contradicted:
            behind.append("contradicted by the paper's own numbers")
        if claim.reason and claim.status != ClaimStatus.NOT_RUN:
            behind.append(claim.reason)
        if behind:
            lines.append("    " + "; ".join(behind))
    return lines


def print_cells(
    result, paths: dict[str, str], *, show_all: bool = False, quiet: bool = False
) -> None:
    """A table run on the terminal (module docstring); ``quiet``: the last lines only."""
    spec, cells = result.spec, result.cells
    partial = "  [PARTIAL RUN: not for reporting]" if result.partial else ""
    print(f"{spec.id}: {spec.title}{partial}")
    if not quiet:
        shown = cells if show_all else [c for c in cells if is_measured(c)]
        lines = cell_lines(shown) if shown else []
        if not show_all:
            lines += group_lines(spec, cells)
        if lines:
            print("\n".join(lines))
    # what was measured comes before any verdict, the claims' included (as in the report)
    print("\n".join(line for line in measured_lines(spec, cells) if line))
    if not quiet and result.claims:
        print("\n".join(claim_lines(result.claims)))
    print(f"status: {counts_line(tally(cells))}")
    if not quiet:
        prov = result.provenance
        print(
            f"images: {prov.get('images_computed', 0)} computed, "
            f"{prov.get('images_from_cache', 0)} reused from the cache (same code and files)"
        )
    report = next((p for p in paths.values() if p.endswith(f"{spec.id}.md")), "")
    print(f"wrote {paths.get(f'results:{spec.id}.csv', '')}, {report}")
