"""Compare reproduced numbers with a table's reported ones, cell by cell."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum

from repro.errors import NotRun, NotRunCode
from repro.metrics import MetricKind, get_metric
from repro.tables.protocol import unjudged
from repro.tables.spec import Claim, TableSpec, column_key


class CellStatus(StrEnum):
    """A cell's verdict; NOT-RUN cells carry a :class:`~repro.errors.NotRunCode` beside."""

    PASS = "PASS"  # within tolerance of the paper
    FAIL = "FAIL"  # outside tolerance, in the bad direction
    IMPROVED = "IMPROVED"  # outside tolerance, in the good direction
    PARTIAL = "PARTIAL"  # measured on a subset of the images: no verdict
    NOT_RUN = "NOT-RUN"  # not measured here: see the cell's code
    REPORTED_ONLY = "REPORTED-ONLY"  # another method; this suite does not run it
    MEASURED = "MEASURED"  # measured, no verdict: the paper has no (comparable) value


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
        if d["built"] is None:  # saved cells of official data stay as they were
            del d["built"]
        return d


def judge(metric: str, reported: float, reproduced: float, tol: float) -> tuple[str, float]:
    delta = reproduced - reported
    if abs(delta) <= tol + 1e-12:
        return CellStatus.PASS, delta
    better = get_metric(metric).better(delta)
    return (CellStatus.IMPROVED if better else CellStatus.FAIL), delta


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
            elif reported is None:
                status, reason = CellStatus.MEASURED, "the paper reports no value here"
            elif why := unjudged(spec.protocol, col.metric, col.variant):
                status, reason = CellStatus.MEASURED, why
            elif total is not None and count is not None and count < total:
                status, delta = CellStatus.PARTIAL, value - reported
                reason = f"{count} of {total} images; run the full set for a verdict"
            else:
                tol = spec.tolerance_for(col.metric, reported)
                status, delta = judge(col.metric, float(reported), float(value), tol)
            cells.append(
                Cell(
                    row=row.id,
                    label=row.label,
                    dataset=col.dataset,
                    scale=row.scale,
                    metric=col.metric,
                    variant=col.variant,
                    reported=reported,
                    reproduced=value,
                    delta=delta,
                    tolerance=tol,
                    status=status,
                    code=code,
                    reason=reason,
                    images=count,
                    images_total=total,
                )
            )
    return cells


def status_label(
    status: str, code: str | None = None, images: tuple | None = None, built: str | None = None
) -> str:
    """A status as printed: NOT-RUN carries its code, e.g. 'NOT-RUN (MISSING-DATA)';
    PARTIAL its image count, e.g. 'PARTIAL (2 of 100 images)'; a cell measured on a built set
    says so, e.g. 'PASS (built data)'."""
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


class ClaimStatus(StrEnum):
    HOLDS = "HOLDS"
    FAILS = "FAILS"
    PARTIAL = "PARTIAL"  # judged on a subset of the images: decides nothing
    NOT_RUN = "NOT-RUN"  # a cell it needs was not measured


@dataclass
class ClaimResult:
    id: str
    text: str
    better: str
    than: str
    column: str
    margin: float | None  # how much better 'better' scored, in the metric's direction
    status: ClaimStatus
    code: NotRunCode | None  # for NOT-RUN: the code of the cell that was not measured
    reason: str | None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        d["code"] = str(self.code) if self.code else None
        return d


def judge_claims(claims: tuple[Claim, ...], cells: list[Cell]) -> list[ClaimResult]:
    """Check each claim on the reproduced values; NOT-RUN (with the cell's reason) if absent."""
    by_key = {(c.row, column_key(c.dataset, c.metric, c.variant)): c for c in cells}
    out = []
    for claim in claims:
        a, b = by_key[(claim.better, claim.column)], by_key[(claim.than, claim.column)]
        margin, status, code, reason = None, ClaimStatus.NOT_RUN, None, None
        missing = [c for c in (a, b) if not _has_value(c)]
        partial = [c for c in (a, b) if c.status == CellStatus.PARTIAL]
        if missing:
            code, reason = missing[0].code, missing[0].reason or "no reproduced value"
        else:
            margin = float(a.reproduced) - float(b.reproduced)
            if not get_metric(a.metric).higher_is_better:
                margin = -margin
            status = ClaimStatus.HOLDS if margin > 0 else ClaimStatus.FAILS
            if partial:  # a subset of images decides nothing
                status, reason = ClaimStatus.PARTIAL, partial[0].reason
        out.append(
            ClaimResult(
                claim.id,
                claim.text,
                claim.better,
                claim.than,
                claim.column,
                margin,
                status,
                code,
                reason,
            )
        )
    return out


def _has_value(cell: Cell) -> bool:
    value = cell.reproduced
    return (
        cell.status not in (CellStatus.NOT_RUN, CellStatus.REPORTED_ONLY)
        and value is not None
        and (not isinstance(value, float) or math.isfinite(value))
    )
