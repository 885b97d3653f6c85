"""Compare reproduced numbers with a table's reported ones, cell by cell."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from repro.tables.spec import Claim, TableSpec, column_key

# Metrics where lower is better; every other metric is higher-is-better.
LOWER_IS_BETTER = {
    "lpips",
    "dists",
    "niqe",
    "fid",
    "pi",
    "brisque",
    "params",
    "flops",
    "madds",
    "macs",
    "latency_ms",
    "latency_ratio",
    "memory_mb",
}
NOT_RUN_REASONS = (
    "MISSING-WEIGHTS",
    "MISSING-DATA",
    "NEEDS-GPU",
    "TRAINING-ONLY",
    "NOT-IMPLEMENTED",
    "NOT-SELECTED",  # a --datasets run left this dataset out
    "NON-FINITE-OUTPUT",  # the model produced NaN/inf: never scored
)
# Reasons that mean "this machine lacks an input", as opposed to "nothing could run it".
MISSING_REASONS = ("MISSING-WEIGHTS", "MISSING-DATA")


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
    status: str  # PASS | FAIL | IMPROVED | PARTIAL | NOT-RUN | REPORTED-ONLY | MEASURED
    reason: str | None  # for NOT-RUN: one of NOT_RUN_REASONS, then ": " and the details
    images: int | None = None
    images_total: int | None = None  # images of the full set, where known

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("reported", "reproduced", "delta"):
            if isinstance(d[key], float) and not math.isfinite(d[key]):
                d[key] = None if math.isnan(d[key]) else d[key]
        return d


def judge(metric: str, reported: float, reproduced: float, tol: float) -> tuple[str, float]:
    delta = reproduced - reported
    if abs(delta) <= tol + 1e-12:
        return "PASS", delta
    better = delta < 0 if metric in LOWER_IS_BETTER else delta > 0
    return ("IMPROVED" if better else "FAIL"), delta


def compare(
    spec: TableSpec,
    measured: dict[tuple[str, str], float],
    not_run: dict[tuple[str, str], str],
    images: dict[tuple[str, str], tuple[int | None, int | None]],
) -> list[Cell]:
    """Build one Cell per (row, column).

    ``measured`` maps (row id, column key) to the reproduced value; ``not_run`` maps it to a
    reason ("MISSING-DATA: ..."); ``images`` maps it to (images scored, images of the full set
    or None when unknown). A value from fewer images than the full set is PARTIAL: shown with
    its delta, never given a verdict.
    """
    cells = []
    for row in spec.rows:
        for col, reported in zip(spec.columns, row.reported, strict=True):
            key = (row.id, col.key)
            value = measured.get(key)
            count, total = images.get(key, (None, None))
            status, reason, delta, tol = "NOT-RUN", None, None, None
            if row.status:
                reason = f"{row.status}: {row.reason}"
            elif row.model is None:
                status, reason = "REPORTED-ONLY", "another method; this suite does not run it"
            elif key in not_run:
                reason = not_run[key]
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                reason = "NOT-IMPLEMENTED: no value was produced for this cell"
            elif reported is None:
                status, reason = "MEASURED", "the paper reports no value here"
            elif total is not None and count is not None and count < total:
                status, delta = "PARTIAL", value - reported
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
                    reason=reason,
                    images=count,
                    images_total=total,
                )
            )
    return cells


def reason_code(reason: str | None) -> str:
    """The code a NOT-RUN reason starts with (MISSING-WEIGHTS, ...)."""
    return (reason or "").split(":")[0]


def status_label(status: str, reason: str | None, images: tuple | None = None) -> str:
    """A status as printed: NOT-RUN carries its reason code, e.g. 'NOT-RUN (MISSING-DATA)';
    PARTIAL its image count, e.g. 'PARTIAL (2 of 100 images)'."""
    if status == "NOT-RUN":
        return f"NOT-RUN ({reason_code(reason)})"
    if status == "PARTIAL" and images and None not in images:
        return f"PARTIAL ({images[0]} of {images[1]} images)"
    return status


def status_counts(cells: list[Cell]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in cells:
        label = c.status if c.status != "NOT-RUN" else f"NOT-RUN:{reason_code(c.reason)}"
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class ClaimResult:
    id: str
    text: str
    better: str
    than: str
    column: str
    margin: float | None  # how much better 'better' scored, in the metric's direction
    status: str  # HOLDS | FAILS | NOT-RUN
    reason: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def judge_claims(claims: tuple[Claim, ...], cells: list[Cell]) -> list[ClaimResult]:
    """Check each claim on the reproduced values; NOT-RUN (with the cell's reason) if absent."""
    by_key = {(c.row, column_key(c.dataset, c.metric, c.variant)): c for c in cells}
    out = []
    for claim in claims:
        a, b = by_key[(claim.better, claim.column)], by_key[(claim.than, claim.column)]
        margin, status, reason = None, "NOT-RUN", None
        missing = [c for c in (a, b) if not _has_value(c)]
        partial = [c for c in (a, b) if c.status == "PARTIAL"]
        if missing:
            reason = missing[0].reason or "no reproduced value"
        else:
            margin = float(a.reproduced) - float(b.reproduced)
            if a.metric in LOWER_IS_BETTER:
                margin = -margin
            status = "HOLDS" if margin > 0 else "FAILS"
            if partial:  # a subset of images decides nothing
                status, reason = "PARTIAL", partial[0].reason
        out.append(
            ClaimResult(
                claim.id,
                claim.text,
                claim.better,
                claim.than,
                claim.column,
                margin,
                status,
                reason,
            )
        )
    return out


def _has_value(cell: Cell) -> bool:
    value = cell.reproduced
    return (
        cell.status not in ("NOT-RUN", "REPORTED-ONLY")
        and value is not None
        and (not isinstance(value, float) or math.isfinite(value))
    )
