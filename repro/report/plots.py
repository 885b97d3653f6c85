"""Matplotlib plots of a compared table: a Δ heatmap, and quality vs cost where costs exist."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from repro.files import atomic_write_with  # noqa: E402
from repro.metrics import get_metric  # noqa: E402
from repro.tables.compare import Cell  # noqa: E402
from repro.tables.spec import TableSpec  # noqa: E402


def _save(fig, path: Path) -> str:
    try:
        atomic_write_with(
            path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        )
    finally:
        plt.close(fig)
    return str(path)


def delta_heatmap(spec: TableSpec, cells: list[Cell], folder: Path) -> str | None:
    """Δ / tolerance per compared cell: |value| <= 1 is within tolerance; grey = not compared."""
    compared = [c for c in cells if c.delta is not None]
    if not compared:
        return None
    rows = list(dict.fromkeys(c.label for c in compared))
    cols = list(dict.fromkeys(_col_label(c) for c in compared))
    grid = np.full((len(rows), len(cols)), np.nan)
    text = [["" for _ in cols] for _ in rows]
    for c in compared:
        i, j = rows.index(c.label), cols.index(_col_label(c))
        tol = c.tolerance or 0.0
        grid[i, j] = (
            c.delta / tol if tol > 0 else (0.0 if c.delta == 0 else math.copysign(3, c.delta))
        )
        text[i][j] = f"{c.delta:+.3f}" if abs(c.delta) >= 1e-3 else f"{c.delta:+.1e}"
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(cols), 1.2 + 0.45 * len(rows)))
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("#dddddd")
    im = ax.imshow(np.clip(grid, -3, 3), cmap=cmap, vmin=-3, vmax=3, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(f"{spec.id}: reproduced − reported (colour: Δ / tolerance)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, label="Δ / tolerance (clipped at ±3)")
    return _save(fig, folder / f"{spec.id}_delta.png")


def _col_label(c: Cell) -> str:
    """A column of the paper's table (the scale belongs to the row)."""
    return " ".join(p for p in (c.dataset or "", c.metric, c.variant or "") if p)


def quality_vs_cost(spec: TableSpec, cells: list[Cell], folder: Path) -> str | None:
    """Quality (first PSNR column) against cost, one panel per scale: reported o, reproduced x."""
    cost_metrics = sorted(
        {c.metric for c in spec.columns if get_metric(c.metric).cost_axis},
        key=lambda m: get_metric(m).cost_axis,
    )
    quality = next(
        (c for c in spec.columns if c.dataset and get_metric(c.metric).unit == "dB"), None
    )
    if not cost_metrics or quality is None:
        return None
    cost = cost_metrics[0]
    by_row: dict[str, dict] = {}
    for c in cells:
        entry = by_row.setdefault(c.label, {"scale": c.scale})
        if c.metric == cost and "cost" not in entry:
            entry["cost"] = c.reproduced if c.reproduced is not None else c.reported
        if (c.dataset, c.metric, c.variant) == (quality.dataset, quality.metric, quality.variant):
            entry["reported"], entry["reproduced"] = c.reported, c.reproduced
    points = [(k, v) for k, v in by_row.items() if v.get("cost") and v.get("reported") is not None]
    if not points:
        return None
    scales = sorted({v["scale"] for _, v in points})
    fig, axes = plt.subplots(1, len(scales), figsize=(5.2 * len(scales), 4.2), squeeze=False)
    unit = 1.0 if get_metric(cost).unit else 1e3  # plain counts are shown in thousands
    for ax, scale in zip(axes[0], scales, strict=True):
        for label, v in points:
            if v["scale"] != scale:
                continue
            x = v["cost"] / unit
            ax.scatter(x, v["reported"], marker="o", color="tab:blue")
            ax.annotate(
                label, (x, v["reported"]), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
            if v.get("reproduced") is not None and math.isfinite(v["reproduced"]):
                ax.scatter(x, v["reproduced"], marker="x", color="tab:red")
                ax.plot([x, x], [v["reported"], v["reproduced"]], color="grey", lw=0.6)
        xs = [v["cost"] / unit for _, v in points if v["scale"] == scale]
        if min(xs) > 0 and max(xs) / min(xs) > 20:  # a few big models squash the rest
            ax.set_xscale("log")
        ax.set_title(f"x{scale}", fontsize=9)
        ax.set_xlabel(f"{cost} ({get_metric(cost).unit or 'K'})")
        ax.set_ylabel(f"{quality.metric} on {quality.dataset} ({get_metric(quality.metric).unit})")
        ax.grid(alpha=0.3)
    axes[0][0].scatter([], [], marker="o", color="tab:blue", label="reported")
    axes[0][0].scatter([], [], marker="x", color="tab:red", label="reproduced")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{spec.id}: quality vs cost", fontsize=10)
    return _save(fig, folder / f"{spec.id}_cost.png")
