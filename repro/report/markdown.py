"""Markdown pieces of reports: numbers as a metric prints them, the per-cell appendix, the
reasons cells were not run, and the index of all tables (a table's whole report:
:mod:`repro.report.page`)."""

from __future__ import annotations

import math
from decimal import Decimal

from repro.metrics import get_metric
from repro.tables.compare import Cell, CellStatus, status_label
from repro.tables.spec import TableSpec


def fmt(value, metric: str, decimals: int | None = None) -> str:
    """A value with ``decimals`` (the paper's, :func:`paper_decimals`), else its metric's;
    thousands separated by commas at any size (``887`` beside ``1,287``, never a switch)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    decimals = get_metric(metric).decimals if decimals is None else decimals
    return f"{value:,.{decimals}f}"


def fmt_delta(value, metric: str, decimals: int | None = None) -> str:
    """A signed difference, formatted as :func:`fmt`."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    decimals = get_metric(metric).decimals if decimals is None else decimals
    text = f"{value:+,.{decimals}f}"
    # a difference that rounds to zero has no sign: "-0.000" would read as a loss
    return text.replace("-", "+", 1) if float(text.replace(",", "")) == 0 else text


def written_decimals(value: float | int) -> int:
    """Decimals of a number as the spec holds it (YAML keeps no trailing zero: 29.10 -> 1)."""
    if isinstance(value, int):
        return 0
    return max(0, -int(Decimal(repr(float(value))).as_tuple().exponent))


def paper_decimals(spec: TableSpec) -> dict[str, int]:
    """Column key -> the decimals the paper prints there: the most that any reported number of
    the column has (a number printed as 29.10 is stored as 29.1, its neighbours keep the
    precision); the metric's own decimals where the paper prints no number."""
    out = {}
    for i, col in enumerate(spec.columns):
        numbers = [r.reported[i] for r in spec.rows if r.reported[i] is not None]
        written = [written_decimals(v) for v in numbers]
        out[col.key] = max(written) if written else get_metric(col.metric).decimals
    return out


MARKS = {
    CellStatus.PASS: "✅",
    CellStatus.FAIL: "❌",
    CellStatus.IMPROVED: "⬆",
    CellStatus.UNSTABLE: "❔",
}


def fmt_reproduced(cell: Cell) -> str:
    """The reproduced value; a timed one with the spread of its repeats."""
    text = fmt(cell.reproduced, cell.metric)
    if cell.spread and cell.repeats:
        low, high = (fmt(v, cell.metric) for v in cell.spread)
        text += f" [{low}, {high}] ({cell.repeats} repeats)"
    return text


def cells_table(cells: list[Cell]) -> str:
    """Every cell on its own line: the appendix of a report (a timed cell with its spread)."""
    lines = [
        "| row | dataset | scale | metric | reported | reproduced | Δ | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        metric = c.metric + (f" ({c.variant})" if c.variant else "")
        status = status_label(c.status, c.code, _images(c), c.built)
        status = f"{MARKS[c.status]} {status}" if c.status in MARKS else status
        lines.append(
            f"| {c.label} | {c.dataset or '–'} | x{c.scale} | {metric} | "
            f"{fmt(c.reported, c.metric)} | {fmt_reproduced(c)} | "
            f"{fmt_delta(c.delta, c.metric)} | {status} |"
        )
    return "\n".join(lines)


def _images(c: Cell) -> tuple:
    return (c.images, c.images_total)


def reasons_section(cells: list[Cell]) -> str:
    """Why cells were not run: one bullet per recorded reason, its rows as a sub-list (row
    labels may hold commas, so they are never joined on one line)."""
    seen: dict[str, list[str]] = {}
    for c in cells:
        if c.status == CellStatus.NOT_RUN:
            labels = seen.setdefault(c.why, [])
            if c.label not in labels:
                labels.append(c.label)
    if not seen:
        return ""
    out = ["### Why cells were not run", ""]
    for reason, labels in seen.items():
        out.append(f"- {reason}")
        out += [f"  - {label}" for label in labels]
    return "\n".join(out)


def other_methods_section(cells: list[Cell]) -> str:
    """Why other methods' rows show the paper's numbers only: one bullet per reason, its rows
    as a sub-list."""
    seen: dict[str, list[str]] = {}
    for c in cells:
        if c.status == CellStatus.REPORTED_ONLY:
            labels = seen.setdefault(c.reason or "", [])
            if c.label not in labels:
                labels.append(c.label)
    if not seen:
        return ""
    out = ["### Other methods: the paper's numbers only", ""]
    for reason, labels in seen.items():
        out.append(f"- {reason}")
        out += [f"  - {label}" for label in labels]
    return "\n".join(out)


def index_markdown(entries: list[dict]) -> str:
    lines = [
        "# repro: all tables",
        "",
        "| table | title | protocol | measured | claims | status counts | report |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        counts = ", ".join(f"{k} {v}" for k, v in e["counts"].items())
        if counts and e.get("note"):
            counts += f" ({e['note']})"
        counts = counts or e.get("note") or "not run yet"
        report = f"[{e['id']}.md]({e['id']}.md)" if e.get("has_report") else "–"
        measured = e.get("measured") or "–"  # quality apart from cost, before any verdict
        claims = ", ".join(f"{k} {v}" for k, v in (e.get("claims") or {}).items()) or "–"
        lines.append(
            f"| `{e['id']}` | {e['title']} | v{e['version']} | {measured} | {claims} | {counts} "
            f"| {report} |"
        )
    return "\n".join(lines) + "\n"
