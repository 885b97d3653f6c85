"""Quality against cost, one panel per scale: the paper's points beside the reproduced ones.

A reproduced point in a panel needs a measured quality: with a measured cost it is a filled
point joined to the paper's; without one it stands at the reported cost, hollow. A row whose cost
was measured but not its quality (no data, no weights) has no reproduced quality to draw: its
reproduced cost is a tick on a strip under the panel, on the panel's cost axis and labelled as
such, never a point at the paper's quality. The labels overlap nothing
(:mod:`repro.report.labels`); one that finds no room becomes a number, listed under its panel.
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
PAPER_COST = "_reported cost"  # the paper's cost on the strip ('_': not a legend entry)
STRIP, STRIP_GAP = 0.42, 0.1  # inches: the cost-only strip under a panel, and the gap above it
BOTH = "reproduced"
COST_ONLY = "reproduced cost, quality not measured (ticks under the panel)"
QUALITY_ONLY = "reproduced quality, at the reported cost"
# legend label -> scatter style, in legend order; a legend entry is made only for points drawn
STYLES = {
    REPORTED: {"marker": "o", "s": 30, "color": "tab:blue", "zorder": 3},
    OTHER: {"marker": "o", "s": 22, "color": "#a8a8a8", "zorder": 2},
    BOTH: {"marker": "D", "s": 30, "color": "tab:red", "zorder": 4},
    COST_ONLY: {"marker": "|", "s": 160, "color": "tab:red", "linewidths": 1.6, "zorder": 4},
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
    reproduced: tuple[float, float] | None  # a measured quality (BOTH, QUALITY_ONLY)
    kind: str | None  # the STYLES key of the reproduced point (COST_ONLY: ``cost_only``)
    cost_only: float | None = None  # a measured cost whose quality was not measured


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
        reproduced, kind, cost_only = None, None, None
        if mq is not None and mk is not None:
            reproduced, kind = (mk, mq), BOTH
        elif mq is not None and rk is not None:
            reproduced, kind = (rk, mq), QUALITY_ONLY
        elif mk is not None and rq is not None:  # no quality to draw: the cost alone
            kind, cost_only = COST_ONLY, mk
        reported = (rk, rq) if rk is not None and rq is not None else None
        if reported or reproduced:
            other = q.status == CellStatus.REPORTED_ONLY
            points.append(Point(row.label, row.scale, other, reported, reproduced, kind, cost_only))
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
    strip = STRIP if COST_ONLY in kinds else 0.0  # the cost-only ticks under each panel
    # as many legend entries a line as fit (about 0.065 in a character, 0.4 in the marker)
    entry = max(0.4 + 0.065 * len(k) for k in kinds)
    ncol = max(1, min(len(kinds), int((len(scales) * (aw + gap)) // entry)))
    top = 0.62 + 0.22 * math.ceil(len(kinds) / ncol)
    width = left + len(scales) * aw + (len(scales) - 1) * gap + right
    height = top + ah + strip + bottom
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    handles: dict[str, object] = {}
    number = 1
    for i, scale in enumerate(scales):
        x0 = (left + i * (aw + gap)) / width
        ax = fig.add_axes((x0, (bottom + strip) / height, aw / width, ah / height))
        panel = [p for p in points if p.scale == scale]
        for kind in kinds:
            xy = [_xy(p, kind) for p in panel if _has(p, kind) and kind != COST_ONLY]
            if xy:
                xs, ys = zip(*xy, strict=True)
                drawn = ax.scatter(xs, ys, label=kind, **STYLES[kind])
                handles.setdefault(kind, drawn)
        for p in panel:
            if p.reported and p.reproduced:
                ax.plot(*zip(p.reported, p.reproduced, strict=True), color="0.45", lw=0.7, zorder=1)
        _frame(ax, panel)
        ax.set_title(f"×{scale}", fontsize=9)
        ax.set_ylabel(
            f"{quality.metric}{_on(quality)} ({get_metric(quality.metric).unit})", fontsize=8
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        under = ax
        if strip:
            under = fig.add_axes(
                (x0, bottom / height, aw / width, (strip - STRIP_GAP) / height), sharex=ax
            )
            drawn = _cost_only_strip(under, panel)
            if drawn is not None:
                handles.setdefault(COST_ONLY, drawn)
            ax.tick_params(labelbottom=False)
        under.set_xlabel(f"{cost.metric}{_on(cost)} ({unit})", fontsize=8)
        number = _label(ax, panel, number, under)
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


def _cost_only_strip(ax: Axes, panel: list[Point]):
    """The panel's reproduced costs whose quality was not measured, as ticks on the panel's
    cost axis (no quality axis: none was measured), each over a small dot at the paper's cost
    and joined to it; the ticks drawn, or None."""
    rows = [p for p in panel if p.cost_only is not None]
    xs = [p.cost_only for p in rows]
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    ax.set_ylabel("cost\nonly", fontsize=7, rotation=0, ha="right", va="center")
    if not xs:
        return None
    paper = [p.reported[0] for p in rows if p.reported]
    ax.scatter(
        paper, [0.5] * len(paper), marker="o", s=12, color="tab:blue", zorder=3, label=PAPER_COST
    )
    for p in rows:
        if p.reported:
            ax.plot((p.reported[0], p.cost_only), (0.5, 0.5), color="0.45", lw=0.7, zorder=1)
    return ax.scatter(xs, [0.5] * len(xs), label=COST_ONLY, **STYLES[COST_ONLY])


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
    xs += [p.cost_only for p in panel if p.cost_only is not None]
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


def _label(ax: Axes, panel: list[Point], number: int, under: Axes) -> int:
    """Label the panel's rows (those run here first); list the numbered ones under ``under``
    (the panel, or its cost-only strip)."""
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
        under.annotate(
            "\n".join(f"{n}  {text}" for n, text in keys),
            (0, 0),
            xycoords="axes fraction",
            xytext=(0, -34),
            textcoords="offset points",
            va="top",
            fontsize=LABEL_SIZE,
        )
    return number
