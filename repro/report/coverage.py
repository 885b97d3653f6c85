"""How much of a table was measured, quality apart from cost: the first thing every summary of a
run states (terminal, report, index, CI summary), before any verdict count.

A *cost* cell is a property of the model (``MetricKind.COST``: params, FLOPs, latency,
memory); every other cell is a *quality* cell (fidelity, perceptual, no-reference). A cell is
*measured* when it holds a reproduced number (judged, partial, unstable or without a paper
number alike); another method's row (REPORTED-ONLY) is not this suite's to measure and counts in
neither total. Cost cells are measured on the architecture alone, so a table whose checkpoints
or data are absent can pass every cost cell while no quality number was reproduced: the
counts keep the two apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from repro.metrics import MetricKind, get_metric
from repro.tables.compare import Cell, CellStatus

NO_VALUE = (CellStatus.NOT_RUN, CellStatus.REPORTED_ONLY)


def is_cost(cell: Cell) -> bool:
    return get_metric(cell.metric).kind is MetricKind.COST


def is_measured(cell: Cell) -> bool:
    """The cell holds a reproduced number."""
    value = cell.reproduced
    return (
        cell.status not in NO_VALUE
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not math.isnan(value)
    )


@dataclass(frozen=True)
class Coverage:
    quality: int  # quality cells measured
    quality_total: int  # quality cells of this suite's rows
    cost: int
    cost_total: int

    @property
    def no_quality(self) -> bool:
        """The table has quality cells to measure, and none was measured."""
        return self.quality_total > 0 and self.quality == 0

    def line(self) -> str:
        """``quality cells measured: 0 of 48 · cost cells measured: 60 of 60``."""
        return (
            f"quality cells measured: {self.quality} of {self.quality_total} · "
            f"cost cells measured: {self.cost} of {self.cost_total}"
        )


def coverage(cells: Iterable[Cell]) -> Coverage:
    ours = [c for c in cells if c.status != CellStatus.REPORTED_ONLY]
    cost = [c for c in ours if is_cost(c)]
    quality = [c for c in ours if not is_cost(c)]
    return Coverage(
        quality=sum(map(is_measured, quality)),
        quality_total=len(quality),
        cost=sum(map(is_measured, cost)),
        cost_total=len(cost),
    )
