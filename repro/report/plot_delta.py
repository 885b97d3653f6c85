"""The Δ heatmap of a compared table: the paper's rows x columns, one cell per table cell.

Colour says better (blue) or worse (red) than the paper, and by how many tolerances: the heat
value is Δ / tolerance signed so that + is the metric's good direction (for a lower-is-better
metric a negative Δ is better). Within the tolerance (PASS) a cell is neutral whatever its sign:
the colour scale has no hue between -1 and 1. Each cell prints the raw Δ (reproduced - reported,
in the metric's unit) with its metric's decimals and a verdict mark; lower-is-better columns
carry ``↓`` and the caption says what a sign means. NOT-RUN cells are hatched and show their
reason code; cells without a verdict (measured, partial) are grey. Rows of other methods
(REPORTED-ONLY: the suite does not run them) are left out.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from repro.metrics import get_metric
from repro.report.layout import FLAG
from repro.tables.compare import Cell, CellStatus
from repro.tables.spec import Column, TableSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
CLIP = 3.0  # colour saturates at 3 tolerances
MARK = {CellStatus.PASS: "✓", CellStatus.FAIL: "✗", CellStatus.IMPROVED: "↑"}
_NO_VERDICT = "#e6e6e6"
_NEUTRAL = "#fbfbfb"  # within the tolerance: no hue, lighter than the no-verdict grey
LOWER_IS_BETTER = "↓"  # after a column's metric: lower is better there
# the colour scale from -CLIP (worse) to +CLIP (better): red and blue start at one tolerance,
# where a verdict leaves PASS; between -1 and 1 no hue at all
_SCALE = (
    (-CLIP, "#67001f"),
    (-1.0, "#f4a582"),
    (-1.0, _NEUTRAL),
    (1.0, _NEUTRAL),
    (1.0, "#92c5de"),
    (CLIP, "#053061"),
)
_TEXT_SIZE = 7


def fmt(value: float, metric: str, *, signed: bool = False) -> str:
    """A value with its metric's decimals (integers as integers); a rounded zero unsigned."""
    decimals = get_metric(metric).decimals
    text = f"{value:{'+' if signed else ''},.{decimals}f}"
    return f"{0:.{decimals}f}" if float(text.replace(",", "")) == 0 else text


def heat_value(cell: Cell) -> float:
    """Δ / tolerance, + in the metric's good direction, clipped; NaN for cells without verdict.

    The verdict decides the side: PASS lies within [-1, 1] (neutral), FAIL at or below -1 (red),
    IMPROVED at or above 1 (blue), so the colour never contradicts the mark."""
    if cell.delta is None or cell.tolerance is None or cell.status not in MARK:
        return math.nan
    if cell.tolerance > 0:
        value = cell.delta / cell.tolerance
    else:  # an exact-match tolerance: any difference is off the scale
        value = 0.0 if cell.delta == 0 else math.copysign(CLIP, cell.delta)
    if not get_metric(cell.metric).higher_is_better:
        value = -value
    if cell.status == CellStatus.PASS:
        return max(-1.0, min(1.0, value))
    size = min(CLIP, max(1.0, abs(value)))
    return size if cell.status == CellStatus.IMPROVED else -size


def heat_colormap():
    """Red (worse) -> neutral (within the tolerance) -> blue (better) over [-CLIP, CLIP]."""
    from matplotlib.colors import LinearSegmentedColormap

    stops = [((v + CLIP) / (2 * CLIP), colour) for v, colour in _SCALE]
    cmap = LinearSegmentedColormap.from_list("repro_delta", stops, N=600)
    return cmap.with_extremes(bad=_NO_VERDICT)


def cell_text(cell: Cell) -> str:
    """What a heatmap cell says: Δ and the verdict mark, the reason code, or the value."""
    if cell.status == CellStatus.NOT_RUN:
        return str(cell.code).replace("-", "-\n", 1)
    if cell.status in MARK:
        return f"{fmt(cell.delta, cell.metric, signed=True)} {MARK[cell.status]}"
    if cell.status == CellStatus.PARTIAL:
        return f"{fmt(cell.delta, cell.metric, signed=True)}\n{cell.images}/{cell.images_total} img"
    if cell.status == CellStatus.MEASURED and cell.reproduced is not None:
        return f"{fmt(cell.reproduced, cell.metric)}\nmeasured"
    return ""


def heatmap_rows(spec: TableSpec, cells: list[Cell]) -> list:
    """The spec's rows the suite runs (at least one cell that is not REPORTED-ONLY)."""
    run = {c.row for c in cells if c.status != CellStatus.REPORTED_ONLY}
    return [r for r in spec.rows if r.id in run]


def _header(col: Column) -> str:
    metric = col.metric
    if not get_metric(col.metric).higher_is_better:
        metric += f" {LOWER_IS_BETTER}"
    return "\n".join(p for p in (col.dataset, metric, col.variant) if p)


def delta_figure(spec: TableSpec, cells: list[Cell]) -> Figure | None:
    """The heatmap figure (Agg canvas), or None when no cell was compared with the paper."""
    if not any(c.delta is not None for c in cells):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    rows, cols = heatmap_rows(spec, cells), list(spec.columns)
    by_key = {(c.row, c.dataset, c.metric, c.variant): c for c in cells}
    grid = [[by_key.get((r.id, c.dataset, c.metric, c.variant)) for c in cols] for r in rows]
    values = np.array([[math.nan if c is None else heat_value(c) for c in line] for line in grid])
    # inches: a cell is wide enough for its header and its text, rows for two lines of text
    chars = max(len(s) for c in cols for s in _header(c).split("\n"))
    flagged = {(r.id, key) for r in rows for key in r.anomalies}
    shown = {
        (i, j): cell_text(c) + (f" {FLAG}" if (c.row, cols[j].key) in flagged else "")
        for i, line in enumerate(grid)
        for j, c in enumerate(line)
        if c is not None
    }
    texts = list(shown.values())
    chars = max(chars, *(len(s) for t in texts for s in t.split("\n")))
    cw, ch = max(0.8, 0.07 * chars + 0.15), 0.4
    label_w = 0.2 + 0.065 * max(len(r.label) for r in rows)
    head = 0.45 + 0.15 * max(_header(c).count("\n") + 1 for c in cols)
    caption = _caption(
        spec, cells, rows, max(cw * len(cols), 5.6), FLAG in "".join(texts)
    )  # the colour legend's width
    # under the cells: the caption, then a horizontal colour bar (readable for a short table)
    aw, ah = cw * len(cols), ch * len(rows)
    # inches from the bottom: tick labels, the bar (0.45-0.57), its legend (2 lines), caption
    foot = 0.1 + 0.14 * (caption.count("\n") + 1) + 0.3 + 0.62
    width, height = label_w + max(aw, 3.2) + 0.3, head + ah + foot
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((label_w / width, foot / height, aw / width, ah / height))
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=heat_colormap(), vmin=-CLIP, vmax=CLIP, aspect="auto"
    )
    for i, line in enumerate(grid):
        for j, cell in enumerate(line):
            if cell is None:
                continue
            gid = f"{cell.row}|{cols[j].key}"
            if cell.status == CellStatus.NOT_RUN:
                patch = Rectangle(
                    (j - 0.5, i - 0.5), 1, 1, facecolor="#f7f7f7", edgecolor="#b5b5b5"
                )
                patch.set(hatch="///", linewidth=0, gid=gid)
                ax.add_patch(patch)
            dark = abs(values[i, j]) > 2 if math.isfinite(values[i, j]) else False
            ax.text(
                j,
                i,
                shown[(i, j)],
                ha="center",
                va="center",
                fontsize=_TEXT_SIZE if cell.status != CellStatus.NOT_RUN else _TEXT_SIZE - 1,
                color="white" if dark else "#222222",
                linespacing=1.1,
                gid=gid,
                bbox=(
                    {"facecolor": "#f7f7f7", "edgecolor": "none", "pad": 0.8}
                    if cell.status == CellStatus.NOT_RUN
                    else None
                ),
            )
    ax.xaxis.tick_top()
    ax.set_xticks(range(len(cols)), [_header(c) for c in cols], fontsize=_TEXT_SIZE)
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=_TEXT_SIZE + 0.5)
    ax.tick_params(length=0)
    # thin white lines between cells, a dark one where the scale changes
    ax.set_xticks(np.arange(-0.5, len(cols)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="white", lw=1.5)
    for i in range(1, len(rows)):
        if rows[i].scale != rows[i - 1].scale:
            ax.axhline(i - 0.5, color="#444444", lw=1.2)
    cax = fig.add_axes((label_w / width, 0.45 / height, min(aw, 3.2) / width, 0.12 / height))
    bar = fig.colorbar(image, cax=cax, orientation="horizontal", ticks=[-3, -2, -1, 1, 2, 3])
    ticks = ["≥ 3 worse", "2", "1", "1", "2", "≥ 3 better"]
    bar.ax.set_xticklabels(ticks, fontsize=_TEXT_SIZE)
    for edge in (-1, 1):  # the tolerance
        bar.ax.axvline(edge, color="black", lw=0.8)
    bar.ax.text(
        0.5,
        0.5,
        "PASS",
        transform=bar.ax.transAxes,
        ha="center",
        va="center",
        fontsize=_TEXT_SIZE - 1,
        color="#555555",
    )
    fig.text(
        label_w / width, 0.62 / height, COLOUR_LEGEND, ha="left", va="bottom", fontsize=_TEXT_SIZE
    )
    fig.text(
        label_w / width, (foot - 0.1) / height, caption, ha="left", va="top", fontsize=_TEXT_SIZE
    )
    fig.text(
        label_w / width,
        1 - 0.08 / height,
        f"{spec.id}: reproduced − reported (Δ) per cell",
        ha="left",
        va="top",
        fontsize=9.5,
    )
    return fig


COLOUR_LEGEND = (
    "colour: |Δ| in tolerances, red = worse than the paper, blue = better (each metric in its\n"
    "own direction); neutral = within the tolerance (PASS), whatever the sign of Δ"
)


def sign_notes(cols: list[Column]) -> list[str]:
    """What the printed Δ's sign means, naming the table's lower-is-better metrics."""
    lower = list(dict.fromkeys(c.metric for c in cols if not get_metric(c.metric).higher_is_better))
    notes = ["printed: Δ = reproduced − reported, in the metric's unit (+: above the paper)"]
    if lower:
        notes.append(
            f"{LOWER_IS_BETTER} lower is better ({', '.join(lower)}): "
            "there a negative Δ is better than the paper"
        )
    return notes


def _caption(
    spec: TableSpec, cells: list[Cell], rows: list, width: float, flags: bool = False
) -> str:
    """What the printed sign, the marks, the hatching, the grey and the flags mean, and which
    rows are left out; wrapped to ``width`` inches."""
    notes = [*sign_notes(list(spec.columns))]
    parts = ["✓ PASS   ✗ FAIL   ↑ IMPROVED (|Δ| within / beyond the tolerance)"]
    statuses = {c.status for c in cells}
    if CellStatus.NOT_RUN in statuses:
        parts.append("hatched: NOT-RUN, with its reason code")
    if statuses & {CellStatus.MEASURED, CellStatus.PARTIAL}:
        parts.append("grey: no verdict (measured without a paper value, or partial)")
    if flags:
        parts.append(f"{FLAG} the spec flags the paper's number (the report says why)")
    if left_out := len(spec.rows) - len(rows):
        parts.append(f"{left_out} rows of other methods (reported only, not run here) not shown")
    room = int(width / 0.058)  # characters of 7 pt text per line
    lines = [line for note in notes for line in textwrap.wrap(note, room)]  # lines of their own
    lines += textwrap.wrap(parts[0], room)
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) <= room:
            lines[-1] += "   " + part
        else:
            lines += textwrap.wrap(part, room)
    return "\n".join(lines)
