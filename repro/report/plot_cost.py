"""Quality against cost, one panel per scale: the paper's points beside the reproduced ones.

A reproduced point needs a measured cost; where the quality was not measured it stands at the
reported quality with a hollow marker (and likewise for a measured quality without a cost). The
labels overlap nothing (:mod:`repro.report.labels`); one that finds no room becomes a number,
listed under its panel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from repro.metrics import get_metric
from repro.report.labels import Labelled, place_labels
from repro.tables.compare import Cell, CellStatus
from repro.tables.spec import Column, TableSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110
LABEL_SIZE = 7  # points
REPORTED = "reported"
OTHER = "reported, other method (not run here)"
BOTH = "reproduced"
COST_ONLY = "reproduced cost, at the reported quality"
QUALITY_ONLY = "reproduced quality, at the reported cost"
# legend label -> scatter style, in legend order; a legend entry is made only for points drawn
STYLES = {
    REPORTED: {"marker": "o", "s": 30, "color": "tab:blue", "zorder": 3},
    OTHER: {"marker": "o", "s": 22, "color": "#a8a8a8", "zorder": 2},
    BOTH: {"marker": "D", "s": 30, "color": "tab:red", "zorder": 4},
    COST_ONLY: {
        **{"marker": "o", "s": 80, "facecolors": "none", "edgecolors": "tab:red"},
        **{"linewidths": 1.3, "zorder": 4},
    },
    QUALITY_ONLY: {
        **{"marker": "s", "s": 70, "facecolors": "none", "edgecolors": "tab:red"},
        **{"linewidths": 1.3, "zorder": 4},
    },
}
# A measured value; PARTIAL ones come from a subset of the images and are not plotted.
_MEASURED = (CellStatus.PASS, CellStatus.FAIL, CellStatus.IMPROVED, CellStatus.MEASURED)


@dataclass
class Point:
    """One row of the table in the plot (x in the axis unit, y the quality)."""

    label: str
    scale: int
    other: bool  # another method: only the paper's numbers exist
    reported: tuple[float, float] | None
    reproduced: tuple[float, float] | None
    kind: str | None  # the STYLES key of the reproduced point


def plot_axes(spec: TableSpec) -> tuple[Column, Column] | None:
    """(quality, cost) columns: the first dB column; the first-ranked cost, same dataset first."""
    quality = next(
        (c for c in spec.columns if c.dataset and get_metric(c.metric).unit == "dB"), None
    )
    costs = [c for c in spec.columns if get_metric(c.metric).cost_axis]
    if quality is None or not costs:
        return None
    rank = min(get_metric(c.metric).cost_axis for c in costs)
    costs = [c for c in costs if get_metric(c.metric).cost_axis == rank]
    cost = next(
        (c for c in costs if c.dataset == quality.dataset),
        next((c for c in costs if c.dataset is None), costs[0]),
    )
    return quality, cost


def cost_scale(cost: Column, cells: list[Cell]) -> tuple[float, str]:
    """(divisor, unit shown): plain counts (params) in thousands or millions."""
    unit = get_metric(cost.metric).unit
    if unit:
        return 1.0, unit
    values = [v for c in cells if c.metric == cost.metric for v in (c.reported, c.reproduced)]
    biggest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    return (1e6, "M") if biggest >= 1e6 else (1e3, "K")


def _value(cell: Cell | None, reproduced: bool) -> float | None:
    if cell is None:
        return None
    if reproduced:
        value = cell.reproduced if cell.status in _MEASURED else None
    else:
        value = cell.reported
    return float(value) if value is not None and math.isfinite(value) else None


def plot_points(spec: TableSpec, cells: list[Cell]) -> list[Point]:
    """Every row with a reported or a reproduced point, in the table's order."""
    chosen = plot_axes(spec)
    if chosen is None:
        return []
    quality, cost = chosen
    divisor, _ = cost_scale(cost, cells)
    by_key = {(c.row, c.dataset, c.metric, c.variant): c for c in cells}
    points = []
    for row in spec.rows:
        q = by_key.get((row.id, quality.dataset, quality.metric, quality.variant))
        k = by_key.get((row.id, cost.dataset, cost.metric, cost.variant))
        if q is None or k is None:
            continue
        rq, rk, mq, mk = _value(q, False), _value(k, False), _value(q, True), _value(k, True)
        rk, mk = (None if v is None else v / divisor for v in (rk, mk))
        reproduced, kind = None, None
        if mq is not None and mk is not None:
            reproduced, kind = (mk, mq), BOTH
        elif mk is not None and rq is not None:
            reproduced, kind = (mk, rq), COST_ONLY
        elif mq is not None and rk is not None:
            reproduced, kind = (rk, mq), QUALITY_ONLY
        reported = (rk, rq) if rk is not None and rq is not None else None
        if reported or reproduced:
            other = q.status == CellStatus.REPORTED_ONLY
            points.append(Point(row.label, row.scale, other, reported, reproduced, kind))
    return points


def _panel_label(label: str, scale: int) -> str:
    """The row label without its scale (the panel says it): 'ESC (Ours) x2' -> 'ESC (Ours)'."""
    return re.sub(rf"\s[x×]{scale}\b", "", label, count=1) or label


def cost_figure(spec: TableSpec, cells: list[Cell]) -> Figure | None:
    """The quality-vs-cost figure (Agg canvas), or None when the table has no such axes."""
    points = plot_points(spec, cells)
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    quality, cost = plot_axes(spec)
    _, unit = cost_scale(cost, cells)
    scales = sorted({p.scale for p in points})
    kinds = [k for k in STYLES if any(_has(p, k) for p in points)]
    # inches: fixed axes size, so label offsets (points) and data distances agree
    aw, ah = (6.4, 4.8) if len(scales) == 1 else (4.9, 4.0)  # one panel: room for labels
    left, right, gap, bottom = 0.8, 0.25, 0.85, 0.6
    # as many legend entries a line as fit (about 0.065 in a character, 0.4 in the marker)
    entry = max(0.4 + 0.065 * len(k) for k in kinds)
    ncol = max(1, min(len(kinds), int((len(scales) * (aw + gap)) // entry)))
    top = 0.62 + 0.22 * math.ceil(len(kinds) / ncol)
    width = left + len(scales) * aw + (len(scales) - 1) * gap + right
    height = top + ah + bottom
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=gap / aw,
    )
    axes = fig.subplots(1, len(scales), squeeze=False)[0]
    handles: dict[str, object] = {}
    number = 1
    for ax, scale in zip(axes, scales, strict=True):
        panel = [p for p in points if p.scale == scale]
        for kind in kinds:
            xy = [_xy(p, kind) for p in panel if _has(p, kind)]
            if xy:
                xs, ys = zip(*xy, strict=True)
                drawn = ax.scatter(xs, ys, label=kind, **STYLES[kind])
                handles.setdefault(kind, drawn)
        for p in panel:
            if p.reported and p.reproduced:
                ax.plot(*zip(p.reported, p.reproduced, strict=True), color="0.45", lw=0.7, zorder=1)
        _frame(ax, panel)
        ax.set_title(f"×{scale}", fontsize=9)
        ax.set_xlabel(f"{cost.metric}{_on(cost)} ({unit})", fontsize=8)
        ax.set_ylabel(
            f"{quality.metric}{_on(quality)} ({get_metric(quality.metric).unit})", fontsize=8
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        number = _label(ax, panel, number)
    fig.legend(
        [handles[k] for k in kinds],
        kinds,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.28 / height),
        ncol=ncol,
        fontsize=7.5,
        frameon=False,
    )
    fig.suptitle(
        f"{spec.id}: {quality.metric}{_on(quality)} vs {cost.metric}, paper and reproduction",
        fontsize=9.5,
        y=1 - 0.08 / height,
    )
    return fig


def _on(col: Column) -> str:
    parts = [p for p in (col.dataset, col.variant) if p]
    return f" on {' '.join(parts)}" if parts else ""


def _has(p: Point, kind: str) -> bool:
    if kind in (REPORTED, OTHER):
        return p.reported is not None and p.other == (kind == OTHER)
    return p.kind == kind


def _xy(p: Point, kind: str) -> tuple[float, float]:
    return p.reported if kind in (REPORTED, OTHER) else p.reproduced


def _frame(ax: Axes, panel: list[Point]) -> None:
    """Fixed limits with room for labels; a log x axis where a few big models squash the rest."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    xy = [q for p in panel for q in (p.reported, p.reproduced) if q]
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    log = min(xs) > 0 and max(xs) / min(xs) > 20
    if log:
        ax.set_xscale("log")
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        pad = 0.1 * (hi - lo)
        ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(*_padded(min(xs), max(xs), 0.12))
    ax.set_ylim(*_padded(min(ys), max(ys), 0.12))


def _padded(lo: float, hi: float, frac: float) -> tuple[float, float]:
    span = hi - lo or (abs(hi) * 0.05 or 1.0)
    return lo - frac * span, hi + frac * span


def _label(ax: Axes, panel: list[Point], number: int) -> int:
    """Label the panel's rows (those run here first); list the numbered ones under it."""
    items = [
        Labelled(
            _panel_label(p.label, p.scale),
            [q for q in (p.reported, p.reproduced) if q],
            first=not p.other,
        )
        for p in panel
    ]
    keys, number = place_labels(ax, items, number, LABEL_SIZE)
    if keys:
        ax.annotate(
            "\n".join(f"{n}  {text}" for n, text in keys),
            (0, 0),
            xycoords="axes fraction",
            xytext=(0, -34),
            textcoords="offset points",
            va="top",
            fontsize=LABEL_SIZE,
        )
    return number
