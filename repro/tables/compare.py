"""Compare reproduced numbers with a table's reported ones, cell by cell.

A timed cell (a :class:`~repro.models.timing.Sampled` value) is judged on its spread, the
interquartile range of its repeats: PASS when all of it lies within the tolerance of the
paper, FAIL or IMPROVED when all of it lies outside, UNSTABLE when it is wider than the
tolerance band or crosses its edge (the measurement cannot decide; a rerun would flip a point
verdict). A value exact by definition (a ratio of a state to itself) is DEFINED, not judged.
The claims: :mod:`repro.tables.claim_verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum

from repro.errors import NotRun, NotRunCode
from repro.metrics import MetricKind, get_metric
from repro.metrics.sampled import Sampled
from repro.tables.protocol import unjudged
from repro.tables.spec import TableSpec


class CellStatus(StrEnum):
    """A cell's verdict; NOT-RUN cells carry a :class:`~repro.errors.NotRunCode` beside."""

    PASS = "PASS"  # within tolerance of the paper
    FAIL = "FAIL"  # outside tolerance, in the bad direction
    IMPROVED = "IMPROVED"  # outside tolerance, in the good direction
    UNSTABLE = "UNSTABLE"  # timed: the spread of the repeats is too wide to decide
    PARTIAL = "PARTIAL"  # measured on a subset of the images: no verdict
    NOT_RUN = "NOT-RUN"  # not measured here: see the cell's code
    REPORTED_ONLY = "REPORTED-ONLY"  # another method; this suite does not run it
    MEASURED = "MEASURED"  # measured, no verdict: the paper has no (comparable) value
    DEFINED = "DEFINED"  # exact by definition (a ratio's own reference): nothing to measure


@dataclass
class Cell:
    row: str
    label: str
    dataset: str | None
    scale: int
    metric: str
    variant: str | None
    reported: float | None
    reproduced: float | None
    delta: float | None
    tolerance: float | None
    status: CellStatus
    code: NotRunCode | None  # why a NOT-RUN cell was not measured
    reason: str | None  # the details, for people
    images: int | None = None
    images_total: int | None = None  # images of the full set, where known
    # measured on a set built here from a raw source (source.build), not the official files:
    # that set's origin ("built:..."); None for official or local data
    built: str | None = None
    repeats: int | None = None  # a timed cell: the timed forwards (or rounds) behind it
    spread: list[float] | None = None  # a timed cell: interquartile range of its repeats

    @property
    def why(self) -> str:
        """The reason as printed: 'CODE: details' for NOT-RUN cells."""
        return f"{self.code}: {self.reason}" if self.code else (self.reason or "")

    @classmethod
    def from_dict(cls, d: dict) -> Cell:
        """A saved cell; a cell that is not a mapping raises TypeError, an unknown status or
        code ValueError."""
        if not isinstance(d, dict):
            raise TypeError(f"a cell must be a mapping, got {type(d).__name__}")
        code = d.get("code")
        return cls(
            **{**d, "status": CellStatus(d["status"]), "code": NotRunCode(code) if code else None}
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        d["code"] = str(self.code) if self.code else None
        for key in ("reported", "reproduced", "delta"):
            if isinstance(d[key], float) and not math.isfinite(d[key]):
                d[key] = None if math.isnan(d[key]) else d[key]
        for key in ("built", "repeats", "spread"):  # saved cells of other kinds stay as they were
            if d[key] is None:
                del d[key]
        return d


def judge(
    metric: str,
    reported: float,
    reproduced: float,
    tol: float,
    spread: tuple[float, float] | None = None,
) -> tuple[str, float]:
    """A cell's verdict and delta; with a ``spread`` (low, high of a timed cell's repeats) the
    whole spread must lie within the tolerance (PASS) or outside it (FAIL/IMPROVED), else the
    cell is UNSTABLE."""
    delta = reproduced - reported
    eps = 1e-12
    better = get_metric(metric).better(delta)
    outside = CellStatus.IMPROVED if better else CellStatus.FAIL
    if spread is None:
        return (CellStatus.PASS if abs(delta) <= tol + eps else outside), delta
    low, high = min(spread[0], reproduced), max(spread[1], reproduced)
    band = (reported - tol - eps, reported + tol + eps)
    if high - low > 2 * tol + eps:
        return CellStatus.UNSTABLE, delta
    if band[0] <= low and high <= band[1]:
        return CellStatus.PASS, delta
    if high < band[0] or low > band[1]:
        return outside, delta
    return CellStatus.UNSTABLE, delta


def unstable_reason(value: Sampled, reported: float, tol: float) -> str:
    low, high = value.spread
    return (
        f"the spread of {value.repeats} repeats (interquartile), [{low:.4g}, {high:.4g}], is "
        f"{'wider than' if high - low > 2 * tol else 'across the edge of'} the tolerance band "
        f"[{reported - tol:.4g}, {reported + tol:.4g}]: the measurement cannot decide"
    )


def saved_value(cell: dict) -> float | Sampled | None:
    """A saved cell's reproduced value, a timed one with its repeats and spread again; a
    malformed spread raises ValueError."""
    value, repeats, spread = cell["reproduced"], cell.get("repeats"), cell.get("spread")
    if value is None or repeats is None:
        return value
    numbers = isinstance(spread, list) and len(spread) == 2
    numbers = numbers and all(isinstance(v, (int, float)) and math.isfinite(v) for v in spread)
    if not (isinstance(repeats, int) and repeats >= 0 and numbers):
        raise ValueError(f"repeats {repeats!r} / spread {spread!r} of a timed cell")
    note = cell.get("reason") if repeats == 0 else None
    return Sampled(value, repeats, (spread[0], spread[1]), note)


def compare(
    spec: TableSpec,
    measured: dict[tuple[str, str], float],
    not_run: dict[tuple[str, str], NotRun],
    images: dict[tuple[str, str], tuple[int | None, int | None]],
) -> list[Cell]:
    """Build one Cell per (row, column).

    ``measured`` maps (row id, column key) to the reproduced value; ``not_run`` maps it to why
    it was not measured; ``images`` maps it to (images scored, images of the full set or None
    when unknown). A value from fewer images than the full set is PARTIAL: shown with its
    delta, never given a verdict.
    """
    cells = []
    for row in spec.rows:
        for col, reported in zip(spec.columns, row.reported, strict=True):
            key = (row.id, col.key)
            value = measured.get(key)
            timed = isinstance(value, Sampled)
            count, total = images.get(key, (None, None))
            status, code, reason = CellStatus.NOT_RUN, None, None
            delta = tol = None
            if row.status:
                code, reason = NotRunCode(row.status), row.reason
            elif row.model is None:
                status, reason = CellStatus.REPORTED_ONLY, row.reported_only
            elif key in not_run:
                code, reason = not_run[key].code, not_run[key].detail
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                code = NotRunCode.NOT_IMPLEMENTED
                reason = "no value was produced for this cell"
            elif timed and value.exact:
                status, reason = CellStatus.DEFINED, value.note
            elif reported is None:
                status, reason = CellStatus.MEASURED, "the paper reports no value here"
            elif why := unjudged(spec.protocol, col.metric, col.variant):
                status, reason = CellStatus.MEASURED, why
            elif total is not None and count is not None and count < total:
                status, delta = CellStatus.PARTIAL, value - reported
                reason = f"{count} of {total} images; run the full set for a verdict"
            else:
                tol = spec.tolerance_for(col.metric, reported)
                spread = value.spread if timed else None
                status, delta = judge(col.metric, float(reported), float(value), tol, spread)
                if status == CellStatus.UNSTABLE:
                    reason = unstable_reason(value, float(reported), tol)
            cells.append(
                Cell(
                    row=row.id,
                    label=row.label,
                    dataset=col.dataset,
                    scale=row.scale,
                    metric=col.metric,
                    variant=col.variant,
                    reported=reported,
                    reproduced=float(value) if timed else value,
                    delta=delta,
                    tolerance=tol,
                    status=status,
                    code=code,
                    reason=reason,
                    images=count,
                    images_total=total,
                    repeats=value.repeats if timed else None,
                    spread=list(value.spread) if timed else None,
                )
            )
    return cells


def status_label(
    status: str, code: str | None = None, images: tuple | None = None, built: str | None = None
) -> str:
    """A status as printed: NOT-RUN carries its code, e.g. 'NOT-RUN (MISSING-DATA)';
    PARTIAL its image count, e.g. 'PARTIAL (2 of 100 images)'; a cell measured on a built set
    says so, e.g. 'PASS (built data)'. Claim statuses print the same way."""
    if status == CellStatus.NOT_RUN:
        return f"NOT-RUN ({code})"
    label = str(status)
    if status == CellStatus.PARTIAL and images and None not in images:
        label = f"PARTIAL ({images[0]} of {images[1]} images)"
    return f"{label} (built data)" if built else label


def mark_built(cells: list[Cell], jobs: list[dict]) -> list[Cell]:
    """Mark the measured cells whose set was built here, not the official files (``jobs``: a
    run's provenance jobs, each with its row and its data's origin)."""
    origins = {
        (j["row"], j["data"]["dataset"]): j["data"].get("origin", "")
        for j in jobs
        if str(j.get("data", {}).get("origin", "")).startswith("built:")
    }
    for c in cells:
        cost = get_metric(c.metric).kind is MetricKind.COST  # the model's, not the images'
        if c.reproduced is not None and not cost:
            c.built = origins.get((c.row, c.dataset))
    return cells


def status_counts(cells: list[Cell]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in cells:
        label = f"NOT-RUN:{c.code}" if c.status == CellStatus.NOT_RUN else str(c.status)
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))
