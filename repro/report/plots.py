"""A compared table's plots as PNG files: the Δ heatmap, and quality vs cost where costs exist.

The figures are built by :mod:`repro.report.plot_delta` and :mod:`repro.report.plot_cost` on
matplotlib's Agg canvas (no pyplot, no display); matplotlib is imported only when one is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from repro.files import atomic_write_with
from repro.report.plot_cost import cost_figure
from repro.report.plot_delta import delta_figure
from repro.tables.compare import Cell
from repro.tables.spec import TableSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def save_png(fig: Figure, path: Path) -> str:
    """Write the figure atomically, cropped to what is drawn; return the path."""
    atomic_write_with(
        path, lambda tmp: fig.savefig(tmp, dpi="figure", bbox_inches="tight", format="png")
    )
    return str(path)


def delta_heatmap(spec: TableSpec, cells: list[Cell], folder: Path) -> str | None:
    """``<id>_delta.png``, or None when no cell was compared with the paper."""
    fig = delta_figure(spec, cells)
    return None if fig is None else save_png(fig, folder / f"{spec.id}_delta.png")


def quality_vs_cost(spec: TableSpec, cells: list[Cell], folder: Path) -> str | None:
    """``<id>_cost.png``, or None when the table has no quality and cost columns."""
    fig = cost_figure(spec, cells)
    return None if fig is None else save_png(fig, folder / f"{spec.id}_cost.png")
