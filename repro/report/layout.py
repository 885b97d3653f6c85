"""A table in its paper's layout: the paper's rows by its column groups, each cell
``reported → reproduced`` with a verdict mark.

Markdown has one header row, so the dataset groups head the table (a group's name over its
first column) and the metrics follow as the first, bold, row, the way papers print two-level
headers. Columns keep the spec's order; consecutive columns of one dataset form a group.
Numbers take the paper's decimals in their column (:func:`repro.report.markdown.paper_decimals`).
A number the spec flags (a probable typo, contradicted by the paper itself) carries ``⚑`` and a
numbered note under the table says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.metrics import get_metric
from repro.report.markdown import MARKS, fmt, paper_decimals
from repro.tables.compare import Cell, CellStatus
from repro.tables.spec import Anomaly, Column, Row, TableSpec, column_key

FLAG = "⚑"  # beside a reported number the spec flags

_LEGEND = {
    CellStatus.PASS: "✅ within the paper's tolerance",
    CellStatus.FAIL: "❌ worse than the paper beyond the tolerance",
    CellStatus.IMPROVED: "⬆ better than the paper beyond the tolerance",
    CellStatus.UNSTABLE: "❔ timed: the spread of its repeats crosses the tolerance, no verdict",
    CellStatus.PARTIAL: "(n/N img): measured on n of N images, no verdict",
    CellStatus.MEASURED: "no mark: measured, no verdict (`– →`: the paper prints no number)",
    CellStatus.NOT_RUN: "NOT-RUN (CODE): not measured here (why: the summary)",
    CellStatus.REPORTED_ONLY: "a number alone: the paper's, for a method this suite does not run",
    CellStatus.DEFINED: "no mark: exact by definition (a ratio's own reference), not measured",
}
_FLAGGED = f"{FLAG}n: the spec flags the paper's number (note n under the table)"
_BUILT = "(built): measured on a set built here from its raw source, not the official files"


@dataclass(frozen=True)
class Group:
    """Consecutive columns of one dataset (``dataset`` None: the model's own columns)."""

    dataset: str | None
    columns: tuple[Column, ...]


def column_groups(spec: TableSpec) -> list[Group]:
    groups: list[Group] = []
    for col in spec.columns:
        if groups and groups[-1].dataset == col.dataset:
            groups[-1] = Group(col.dataset, (*groups[-1].columns, col))
        else:
            groups.append(Group(col.dataset, (col,)))
    return groups


def metric_header(col: Column) -> str:
    """A column's metric as a header: name, unit, stereo protocol or latency block."""
    unit = get_metric(col.metric).unit
    text = col.metric
    if unit and not col.metric.lower().endswith(unit.lower()):
        text += f" [{unit}]"
    return text + (f" ({col.variant})" if col.variant else "")


def cell_text(cell: Cell, decimals: int | None = None, flag: str = "") -> str:
    """``29.12 → 29.13 ✅``; ``29.12 → NOT-RUN (MISSING-DATA)``; the reported number alone for
    another method's row; ``29.12 → 29.13 (built) ✅`` measured on a set built here.
    ``decimals``: the paper's in this column (default: the metric's); ``flag``: the mark
    after a flagged reported number, e.g. ``⚑1``."""
    reported = fmt(cell.reported, cell.metric, decimals) + (f" {flag}" if flag else "")
    if cell.status == CellStatus.REPORTED_ONLY:
        return reported
    if cell.status == CellStatus.NOT_RUN:
        return f"{reported} → NOT-RUN ({cell.code})"
    reproduced = fmt(cell.reproduced, cell.metric, decimals)
    out = f"{reported} → {reproduced}" + (" (built)" if cell.built else "")
    if cell.status in MARKS:
        return f"{out} {MARKS[cell.status]}"
    if cell.status == CellStatus.PARTIAL and cell.images is not None:
        return f"{out} ({cell.images}/{cell.images_total} img)"
    return out


def legend(cells: list[Cell], spec: TableSpec | None = None) -> str:
    """What the marks of these cells mean (only the marks that occur; ``spec``: its flagged
    numbers too)."""
    present = {c.status for c in cells}
    texts = [text for status, text in _LEGEND.items() if status in present]
    if spec is not None and flagged(spec):
        texts.append(_FLAGGED)
    sources = sorted({c.built.removeprefix("built:") for c in cells if c.built})
    return " · ".join(texts + [f"{_BUILT} ({'; '.join(sources)})"] * bool(sources))


def flagged(spec: TableSpec) -> list[tuple[Row, Column, Anomaly]]:
    """The numbers the spec flags, as (row, column, anomaly), in the table's order."""
    return [
        (row, col, row.anomalies[col.key])
        for row in spec.rows
        for col in spec.columns
        if col.key in row.anomalies
    ]


def flag_notes(spec: TableSpec) -> str:
    """The numbered notes on the flagged numbers: ``⚑1 ESC-FP (Ours) x3 · Manga109 ssim 0.8706:
    probable typo in the paper (kept as printed): <reason>``; '' when none."""
    notes = []
    decimals = paper_decimals(spec)
    for n, (row, col, anomaly) in enumerate(flagged(spec), 1):
        value = fmt(row.reported[spec.columns.index(col)], col.metric, decimals[col.key])
        where = " ".join(p for p in (col.dataset, col.metric, col.variant) if p)
        notes.append(f"{FLAG}{n} {row.label} · {where} {value}: {anomaly.label}: {anomaly.reason}.")
    return "\n".join(f"- {_md(note)}" for note in notes)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def layout_table(spec: TableSpec, cells: list[Cell]) -> str:
    """The markdown table: a header of dataset groups, a bold row of metrics, one row per
    spec row (in the spec's order) with every column's cell."""
    by_key = {(c.row, column_key(c.dataset, c.metric, c.variant)): c for c in cells}
    groups = column_groups(spec)
    decimals = paper_decimals(spec)
    numbers = {(row.id, col.key): n for n, (row, col, _) in enumerate(flagged(spec), 1)}
    header, metrics = [""], ["**row**"]
    for g in groups:
        for i, col in enumerate(g.columns):
            header.append(_md(g.dataset or "") if i == 0 else "")
            metrics.append(f"**{_md(metric_header(col))}**")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        "| " + " | ".join(metrics) + " |",
    ]
    for row in spec.rows:
        texts = [_md(row.label)]
        for g in groups:
            for col in g.columns:
                cell = by_key.get((row.id, col.key))
                n = numbers.get((row.id, col.key))
                flag = f"{FLAG}{n}" if n else ""
                texts.append(_md(cell_text(cell, decimals[col.key], flag)) if cell else "")
        lines.append("| " + " | ".join(texts) + " |")
    notes = flag_notes(spec)
    return "\n".join(lines) + (f"\n\n{notes}" if notes else "")
