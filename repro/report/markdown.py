"""Markdown pieces of reports: numbers as a metric prints them, the per-cell appendix, the
reasons cells were not run, the claims, and the index of all tables (a table's whole report:
:mod:`repro.report.page`)."""

from __future__ import annotations

import math

from repro.metrics import get_metric
from repro.tables.compare import Cell, CellStatus, status_label


def fmt(value, metric: str) -> str:
    """A value with its metric's decimals; thousands separated from 1,000 on."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    decimals = get_metric(metric).decimals
    if abs(value) >= 1000:
        decimals = min(decimals, 1)
    return f"{value:,.{decimals}f}"


def fmt_delta(value, metric: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:+.{get_metric(metric).decimals}f}"


MARKS = {CellStatus.PASS: "✅", CellStatus.FAIL: "❌", CellStatus.IMPROVED: "⬆"}


def cells_table(cells: list[Cell]) -> str:
    """Every cell on its own line: the appendix of a report."""
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
            f"{fmt(c.reported, c.metric)} | {fmt(c.reproduced, c.metric)} | "
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


def claims_section(claims: list) -> str:
    """The paper's qualitative claims, checked on the reproduced values."""
    if not claims:
        return ""
    out = [
        "### Claims of the paper",
        "",
        "| claim | better row | than row | column | margin | status |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        margin = f"{c.margin:+.4f}" if c.margin is not None else "–"
        status = status_label(c.status, c.code)
        out.append(f"| {c.text} | {c.better} | {c.than} | {c.column} | {margin} | {status} |")
    return "\n".join(out)


def index_markdown(entries: list[dict]) -> str:
    lines = [
        "# repro: all tables",
        "",
        "| table | title | protocol | status counts | report |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        counts = ", ".join(f"{k} {v}" for k, v in e["counts"].items())
        if counts and e.get("note"):
            counts += f" ({e['note']})"
        counts = counts or e.get("note") or "not run yet"
        report = f"[{e['id']}.md]({e['id']}.md)" if e.get("has_report") else "–"
        lines.append(f"| `{e['id']}` | {e['title']} | v{e['version']} | {counts} | {report} |")
    return "\n".join(lines) + "\n"
