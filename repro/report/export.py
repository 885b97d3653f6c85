"""The paper-shaped table for a researcher's own paper: LaTeX (booktabs) and CSV.

The LaTeX table has the paper's rows and column groups (:func:`repro.report.layout.column_groups`)
and shows, per cell, the number reproduced here where one was measured with a verdict (PASS,
FAIL, IMPROVED, or MEASURED where the paper prints none), else the paper's number marked ``†``;
a number the spec flags (:class:`repro.tables.spec.Anomaly`) is marked ``‡``. Numbers take the
paper's decimals in their column and one thousands style (:func:`repro.report.markdown.fmt`).
As the papers do, the best value of each quality column is bold within each block of rows of
one scale that shows two values or more (ties all bold; costs are not ranked).

The CSV holds, per row and column, the paper's number, the reproduced one and the status, the
numbers at the paper's decimals without thousands separators (a CSV reader takes them as
numbers).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from repro.files import atomic_write_text
from repro.metrics import MetricKind, get_metric
from repro.report.layout import column_groups, metric_header
from repro.report.markdown import fmt, paper_decimals
from repro.tables.compare import Cell, CellStatus
from repro.tables.spec import Row, TableSpec

# the statuses whose reproduced value is a full measurement of the cell
_MEASURED = (CellStatus.PASS, CellStatus.FAIL, CellStatus.IMPROVED, CellStatus.MEASURED)
PAPER, FLAGGED = "\\textsuperscript{\\dag}", "\\textsuperscript{\\ddag}"
_LATEX_SPECIAL = {c: f"\\{c}" for c in "&%$#_{}"} | {
    "\\": "\\textbackslash{}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}
# characters of row labels and headers that LaTeX text mode does not take as they are
_LATEX_SYMBOLS = {
    "γ": "$\\gamma$",
    "↑": "$\\uparrow$",
    "↓": "$\\downarrow$",
    "×": "$\\times$",
    "⊎": "$\\uplus$",
    "†": "\\dag{}",
    "–": "--",
}


def latex_text(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, the labels' symbols in math mode."""
    return "".join(_LATEX_SPECIAL.get(ch, _LATEX_SYMBOLS.get(ch, ch)) for ch in text)


def shown_value(cell: Cell | None) -> tuple[float | None, bool]:
    """The number a paper-ready table shows for a cell, and whether it is the paper's."""
    if cell is None:
        return None, True
    value = cell.reproduced
    if cell.status in _MEASURED and value is not None and math.isfinite(value):
        return float(value), False
    return (None if cell.reported is None else float(cell.reported)), True


def _blocks(rows: tuple[Row, ...]) -> list[list[Row]]:
    """Consecutive rows of one scale."""
    blocks: list[list[Row]] = []
    for row in rows:
        if blocks and blocks[-1][0].scale == row.scale:
            blocks[-1].append(row)
        else:
            blocks.append([row])
    return blocks


def best_rows(spec: TableSpec, cells: list[Cell]) -> set[tuple[str, str]]:
    """(row id, column key) of the best shown value of each quality column in each block of
    rows of one scale with two values or more, compared at the paper's decimals (ties all
    count)."""
    by_key = {(c.row, c.dataset, c.metric, c.variant): c for c in cells}
    decimals = paper_decimals(spec)
    best = set()
    for col in spec.columns:
        metric = get_metric(col.metric)
        if metric.kind is MetricKind.COST:
            continue
        for block in _blocks(spec.rows):
            values = {}
            for row in block:
                value, _ = shown_value(by_key.get((row.id, col.dataset, col.metric, col.variant)))
                if value is not None:
                    values[row.id] = round(value, decimals[col.key])
            if len(values) < 2:  # nothing to rank
                continue
            top = max(values.values()) if metric.higher_is_better else min(values.values())
            best |= {(rid, col.key) for rid, v in values.items() if v == top}
    return best


def table_latex(spec: TableSpec, cells: list[Cell]) -> str:
    """The table as a LaTeX ``table`` around a booktabs ``tabular`` (``\\usepackage{booktabs}``)."""
    by_key = {(c.row, c.dataset, c.metric, c.variant): c for c in cells}
    decimals = paper_decimals(spec)
    best = best_rows(spec, cells)
    groups = column_groups(spec)
    n = len(spec.columns)
    tops, rules, heads, first = [""], [], ["Method"], 2  # first: LaTeX column of a group
    for g in groups:
        span = len(g.columns)
        if g.dataset:
            tops.append(f"\\multicolumn{{{span}}}{{c}}{{{latex_text(g.dataset)}}}")
            rules.append(f"\\cmidrule(lr){{{first}-{first + span - 1}}}")
        else:
            tops += [""] * span
        heads += [latex_text(metric_header(c)) for c in g.columns]
        first += span
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{latex_text(spec.title)}}}",
        f"\\label{{tab:{spec.id}}}",
        f"\\begin{{tabular}}{{l{'c' * n}}}",
        "\\toprule",
    ]
    if any(g.dataset for g in groups):
        lines += [" & ".join(tops) + " \\\\", " ".join(rules)]
    lines += [" & ".join(heads) + " \\\\", "\\midrule"]
    flagged_any = paper_any = False
    for i, block in enumerate(_blocks(spec.rows)):
        if i:
            lines.append("\\midrule")
        for row in block:
            texts = [latex_text(row.label)]
            for col in spec.columns:
                value, paper = shown_value(
                    by_key.get((row.id, col.dataset, col.metric, col.variant))
                )
                if value is None:
                    texts.append("--")
                    continue
                text = fmt(value, col.metric, decimals[col.key])
                if (row.id, col.key) in best:
                    text = f"\\textbf{{{text}}}"
                if paper:
                    text += PAPER
                    paper_any = True
                if paper and col.key in row.anomalies:
                    text += FLAGGED
                    flagged_any = True
                texts.append(text)
            lines.append(" & ".join(texts) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    notes = ["Numbers reproduced with the repro suite"]
    if paper_any:
        notes.append("\\dag{} the paper's number (not reproduced here)")
    if flagged_any:
        notes.append("\\ddag{} a number of the paper that is probably a typo or contradicted by it")
    if best:
        notes.append("bold: best per column and scale")
    lines += [f"\\par\\smallskip\\footnotesize {'; '.join(notes)}.", "\\end{table}"]
    return "\n".join(lines) + "\n"


def table_csv(spec: TableSpec, cells: list[Cell]) -> str:
    """One line per row: its id, label and scale, then per column the paper's number, the
    reproduced one and the status (NOT-RUN with its code)."""
    by_key = {(c.row, c.dataset, c.metric, c.variant): c for c in cells}
    decimals = paper_decimals(spec)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    header = ["row", "label", "scale"]
    for col in spec.columns:
        header += [f"{col.key} reported", f"{col.key} reproduced", f"{col.key} status"]
    w.writerow(header)
    for row in spec.rows:
        line = [row.id, row.label, row.scale]
        for col in spec.columns:
            cell = by_key.get((row.id, col.dataset, col.metric, col.variant))
            d = decimals[col.key]
            status = "" if cell is None else str(cell.status)
            if cell is not None and cell.code:
                status += f" ({cell.code})"
            line += [
                _plain(None if cell is None else cell.reported, d),
                _plain(None if cell is None else cell.reproduced, d),
                status,
            ]
        w.writerow(line)
    return out.getvalue()


def _plain(value, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}"


def write_exports(spec: TableSpec, cells: list[Cell], folder: Path) -> list[Path]:
    """``<id>_table.tex`` and ``<id>_table.csv`` in ``folder`` (beside the report)."""
    tex, sheet = folder / f"{spec.id}_table.tex", folder / f"{spec.id}_table.csv"
    atomic_write_text(tex, table_latex(spec, cells))
    atomic_write_text(sheet, table_csv(spec, cells))
    return [tex, sheet]
