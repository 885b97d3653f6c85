"""Table specs: one YAML per paper table (see repro/tables/README.md for the schema)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from repro.errors import SpecError, UnknownNameError, did_you_mean

SPECS_DIR = Path(__file__).parent / "specs"
FIXED_STATUSES = (
    "TRAINING-ONLY",
    "NOT-IMPLEMENTED",
    "NEEDS-GPU",
    "MISSING-WEIGHTS",
    "MISSING-DATA",
)
DATASET_FREE = {"params", "flops", "madds", "latency_ms", "latency_ratio", "memory_mb", "macs"}


def column_key(dataset: str | None, metric: str, variant: str | None = None) -> str:
    """A column's key, e.g. 'Flickr1024/psnr/pair_mean' or '-/params'."""
    return "/".join([dataset or "-", metric] + ([variant] if variant else []))


@dataclass(frozen=True)
class Column:
    metric: str
    dataset: str | None = None
    variant: str | None = None  # e.g. a stereo protocol (pair_mean, left_crop64) or a device

    @property
    def key(self) -> str:
        return column_key(self.dataset, self.metric, self.variant)

    @property
    def frame_metric(self) -> str:
        """Name of the per-image column in a result frame."""
        return f"{self.metric}@{self.variant}" if self.variant else self.metric


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    model: str | None
    scale: int
    settings: dict
    weights: str | None
    status: str | None
    reason: str | None
    reported: tuple
    source_row: str | None = None


@dataclass(frozen=True)
class Claim:
    """A paper's qualitative claim between two rows, e.g. 'TLSC improves test-time results'."""

    id: str
    text: str  # the claim as the paper words it
    better: str  # row id expected to score better in the column's metric direction
    than: str  # row id expected to score worse
    column: str  # a column key, e.g. "Flickr1024/psnr/pair_mean"


@dataclass(frozen=True)
class TableSpec:
    id: str
    title: str
    paper: str
    source: dict
    protocol: dict
    tolerance: dict
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    path: Path | None = None
    extra: dict = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()

    @property
    def version(self) -> int:
        return int(self.protocol["version"])

    @property
    def datasets(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.columns:
            if c.dataset:
                seen.setdefault(c.dataset)
        return list(seen)

    def crop_for(self, scale: int) -> int:
        crop = self.protocol.get("crop", 0)
        return scale if crop == "scale" else int(crop)

    def tolerance_for(self, metric: str, reported: float) -> float:
        """Absolute tolerance for a metric: a number, or a string 'x%' relative to reported."""
        tol = self.tolerance.get(metric, self.tolerance.get(metric.split("_")[0], 0.0))
        if isinstance(tol, str) and tol.endswith("%"):
            return abs(reported) * float(tol[:-1]) / 100.0
        return float(tol)


def _parse(path: Path) -> TableSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"table spec {path} is not valid YAML: {exc}") from None
    where = f"table spec {path.name}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be a mapping")
    for key in ("id", "title", "protocol", "columns", "rows"):
        if key not in raw:
            raise SpecError(f"{where} lacks '{key}'; see repro/tables/README.md")
    if raw["id"] != path.stem or not re.fullmatch(r"[a-z0-9_]+", raw["id"]):
        raise SpecError(f"{where}: id '{raw['id']}' must equal the file name, [a-z0-9_]")
    if "version" not in (raw["protocol"] or {}):
        raise SpecError(f"{where}: protocol.version is required")
    columns = tuple(
        Column(metric=c["metric"], dataset=c.get("dataset"), variant=c.get("variant"))
        for c in raw["columns"]
    )
    rows, seen = [], set()
    for r in raw["rows"]:
        rid = str(r.get("id"))
        if rid in seen:
            raise SpecError(f"{where}: row id '{rid}' appears twice")
        seen.add(rid)
        reported = tuple(r.get("reported") or ())
        if len(reported) != len(columns):
            raise SpecError(
                f"{where}: row '{rid}' has {len(reported)} reported values for "
                f"{len(columns)} columns"
            )
        status = r.get("status")
        if status is not None and status not in FIXED_STATUSES:
            raise SpecError(f"{where}: row '{rid}' status '{status}' not in {FIXED_STATUSES}")
        if status is not None and not r.get("reason"):
            raise SpecError(f"{where}: row '{rid}' has status {status} but no reason")
        rows.append(
            Row(
                id=rid,
                label=str(r.get("label", rid)),
                model=r.get("model"),
                scale=int(r.get("scale", 1) or 1),
                settings=dict(r.get("settings") or {}),
                weights=r.get("weights"),
                status=status,
                reason=r.get("reason"),
                reported=reported,
                source_row=r.get("source_row"),
            )
        )
    claims = _parse_claims(raw.get("claims") or [], rows, columns, where)
    known = {"id", "title", "paper", "source", "protocol", "tolerance", "columns", "rows", "claims"}
    return TableSpec(
        id=raw["id"],
        title=raw["title"],
        paper=raw.get("paper", ""),
        source=dict(raw.get("source") or {}),
        protocol=dict(raw["protocol"]),
        tolerance=dict(raw.get("tolerance") or {}),
        columns=columns,
        rows=tuple(rows),
        path=path,
        extra={k: v for k, v in raw.items() if k not in known},
        claims=claims,
    )


def _parse_claims(raw: list, rows: list[Row], columns: tuple, where: str) -> tuple[Claim, ...]:
    row_ids = {r.id for r in rows}
    keys = {c.key for c in columns}
    claims = []
    for c in raw:
        claim = Claim(
            id=str(c.get("id")),
            text=str(c.get("text", "")),
            better=str(c.get("better")),
            than=str(c.get("than")),
            column=str(c.get("column")),
        )
        for rid in (claim.better, claim.than):
            if rid not in row_ids:
                raise SpecError(f"{where}: claim '{claim.id}' names unknown row '{rid}'")
        if claim.column not in keys:
            raise SpecError(
                f"{where}: claim '{claim.id}' names unknown column '{claim.column}'; "
                f"columns: {sorted(keys)}"
            )
        if not claim.text:
            raise SpecError(f"{where}: claim '{claim.id}' needs the paper's words in 'text'")
        claims.append(claim)
    return tuple(claims)


def table_ids() -> list[str]:
    return sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))


@cache
def load_spec(table_id: str) -> TableSpec:
    path = SPECS_DIR / f"{table_id}.yaml"
    if not path.is_file():
        raise UnknownNameError(
            f"unknown table '{table_id}'; {did_you_mean(table_id, table_ids())} "
            "(list them with: python -m repro ls tables)"
        )
    return _parse(path)
