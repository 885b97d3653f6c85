"""Table specs: one YAML per paper table, read into typed dataclasses (schema: README.md).

Every key is checked when a spec is read: an unknown key, a missing one or a value of the wrong
type is a one-line :class:`~repro.errors.SpecError` naming the file, the key and what was
expected (the protocol block: :mod:`repro.tables.protocol`). The facts that need the registries
(models, datasets, metrics, weights) are checked by :func:`repro.tables.validate.check_spec`, so
that reading a spec imports no model code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from repro.data.fields import Fields, is_text, join
from repro.errors import SPEC_CODES, ConfigError, NotRunCode, UnknownNameError, did_you_mean
from repro.eval.scoring import STEREO_VARIANTS
from repro.tables.claims import Claim, parse_claims
from repro.tables.protocol import (
    COUNT,
    README,
    TEXT,
    choices,
    is_number,
    read_yaml,
    resolve_protocol,
    typed,
)
from repro.tables.sources import NumberSource, cell_source, parse_source
from repro.workspace import OVERRIDE_HINT, current, named_files

SPECS_DIR = Path(__file__).parent / "specs"
_ID = re.compile(r"[a-z0-9_]+")
_PERCENT = re.compile(r"\d+(\.\d+)?%")


def column_key(dataset: str | None, metric: str, variant: str | None = None) -> str:
    """A column's key, e.g. 'Flickr1024/psnr/pair_mean' or '-/params'."""
    return "/".join([dataset or "-", metric] + ([variant] if variant else []))


@dataclass(frozen=True)
class Column:
    metric: str
    dataset: str | None = None
    variant: str | None = None  # a stereo protocol (pair_mean, left_crop64) or a latency block
    source: tuple[NumberSource, ...] = ()  # where its numbers come from, if not the spec's

    @property
    def key(self) -> str:
        return column_key(self.dataset, self.metric, self.variant)

    @property
    def frame_metric(self) -> str:
        """Name of the per-image column in a result frame."""
        return f"{self.metric}@{self.variant}" if self.variant else self.metric


class OtherMethod(StrEnum):
    """Why another method's row (``model: null``) is shown with the paper's numbers only."""

    WEIGHTS_NOT_RELEASED = "WEIGHTS-NOT-RELEASED"  # no public checkpoint of this model
    TRAINED_FOR_THE_TABLE = "TRAINED-FOR-THE-TABLE"  # trained for this table, not released
    ARCHITECTURE_UNAVAILABLE = "ARCHITECTURE-UNAVAILABLE"  # not in spandrel nor a family here
    NON_COMMERCIAL = "NON-COMMERCIAL-ARCHITECTURE"  # only a non-commercial implementation


# What a spec may say about one of the paper's numbers (``anomalies`` of a row), in words
ANOMALY_KINDS = {
    "typo": "probable typo in the paper (kept as printed)",
    "contradicted": "contradicted by the paper itself (kept as printed)",
    "corrected": "the source misprints it; the spec holds the corrected number",
}


@dataclass(frozen=True)
class Anomaly:
    """A reported number the spec flags: its kind (``ANOMALY_KINDS``) and why."""

    kind: str
    reason: str

    @property
    def label(self) -> str:
        return ANOMALY_KINDS[self.kind]


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    model: str | None
    scale: int
    settings: dict
    weights: str | None
    status: NotRunCode | None  # one of SPEC_CODES: a cell the suite knows it cannot run
    reason: str | None
    reported: tuple
    source_row: str | None = None
    anomalies: dict[str, Anomaly] = field(default_factory=dict)  # column key -> its flag
    source: tuple[NumberSource, ...] = ()  # where its numbers come from, if not the spec's
    other_method: OtherMethod | None = None  # why a row without a model is not run

    @property
    def reported_only(self) -> str:
        """Why this row (another method's) shows the paper's numbers only, as printed."""
        if self.other_method is None:
            return "another method; this suite does not run it"
        return f"{self.other_method}: {self.reason}"


@dataclass(frozen=True)
class Source:
    """Where the reported numbers come from (field order is the order reports print them)."""

    seed: str | None = None  # a file in <shared>/seeds
    table: str | None = None
    figure: str | None = None  # a file in <shared>/reported/figs
    citation: str | None = None
    read_in: str | None = None
    note: str | None = None  # transcription caveats


@dataclass(frozen=True)
class TableSpec:
    id: str
    title: str
    paper: str
    source: Source
    protocol: dict  # resolved: includes expanded; passed as is to metrics and recorded
    tolerance: dict  # metric -> absolute number, or "x%" of the reported value
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    path: Path | None = None
    claims: tuple[Claim, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)  # free text, read by no code

    @property
    def label(self) -> str:
        """How messages name the spec: 'table spec camixer_tab3.yaml'."""
        return f"table spec {_label(self.path) if self.path else self.id}"

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

    def source_of(self, row_id: str, key: str) -> NumberSource | None:
        """Where the reported number of a cell comes from, when not from ``source``."""
        row = next(r for r in self.rows if r.id == row_id)
        column = next(c for c in self.columns if c.key == key)
        return cell_source(row.source, column.source, key)

    def tolerance_for(self, metric: str, reported: float) -> float:
        """Absolute tolerance for a metric: a number, or a string 'x%' relative to reported."""
        tol = self.tolerance.get(metric, self.tolerance.get(metric.split("_")[0], 0.0))
        if isinstance(tol, str) and tol.endswith("%"):
            return abs(reported) * float(tol[:-1]) / 100.0
        return float(tol)


# --------------------------------------------------------------------------- parsing
def _is_reported(value: object) -> bool:
    return value is None or is_number(value)


def _is_setting(value: object) -> bool:
    return isinstance(value, (str, int, float))  # bool is an int


_MAPPING = (lambda value: isinstance(value, dict), "a mapping")


def _is_tolerance(value: object) -> bool:
    if isinstance(value, str):
        return bool(_PERCENT.fullmatch(value))
    return is_number(value) and value >= 0


_TOP_KEYS = (
    *("id", "title", "paper", "source", "protocol", "tolerance", "columns", "rows"),
    *("claims", "notes"),
)
_SOURCE_KEYS = ("seed", "table", "figure", "citation", "read_in", "note")
_ROW_KEYS = (
    *("id", "label", "model", "scale", "settings", "weights", "status", "other_method"),
    *("reason", "source_row", "source", "reported", "anomalies"),
)
_COLUMN_KEYS = ("metric", "dataset", "variant", "source")


def _label(path: Path) -> str:
    """A spec's name in messages: relative to the specs folder when it lies there."""
    try:
        return str(path.resolve().relative_to(SPECS_DIR.resolve()))
    except ValueError:
        return str(path)


def _name(item: object, key: str, i: int) -> str:
    """``rows[bicubic-x2]`` where the item has an id, else ``rows[3]``."""
    rid = item.get("id") if isinstance(item, dict) else None
    return f"{key}[{rid}]" if is_text(rid) else join(key, i)


def _columns(f: Fields, raw: dict, protocol: dict) -> tuple[Column, ...]:
    latency = protocol.get("latency") or {}
    variants = (*STEREO_VARIANTS, *(k for k, v in latency.items() if isinstance(v, dict)))
    columns: list[Column] = []
    for i, item in enumerate(f.items(raw, "", "columns", *_MAPPING, nonempty=True)):
        w = join("columns", i)
        c = f.block(item, w, _COLUMN_KEYS, ("metric",))
        col = Column(
            metric=f.get(c, w, "metric", *TEXT),
            dataset=f.get(c, w, "dataset", *TEXT),
            variant=f.get(c, w, "variant", *choices(variants)),
            source=parse_source(f, c.get("source"), join(w, "source"), None),
        )
        if any(other.key == col.key for other in columns):
            raise f.error(f"column {col.key} appears twice")
        columns.append(col)
    return tuple(columns)


def _rows(f: Fields, raw: dict, columns: tuple[Column, ...]) -> tuple[Row, ...]:
    rows: list[Row] = []
    keys = [c.key for c in columns]
    for i, item in enumerate(f.items(raw, "", "rows", *_MAPPING, nonempty=True)):
        w = _name(item, "rows", i)
        r = f.block(item, w, _ROW_KEYS, ("id", "scale", "reported"))
        rid = f.get(r, w, "id", *TEXT)
        status = f.get(r, w, "status", *choices(map(str, SPEC_CODES)))
        other = f.get(r, w, "other_method", *choices(map(str, OtherMethod)))
        reason = f.get(r, w, "reason", *TEXT)
        reported = f.items(r, w, "reported", _is_reported, "a number or null")
        if any(row.id == rid for row in rows):
            raise f.error(f"row id '{rid}' appears twice")
        if len(reported) != len(columns):
            what = f"{len(columns)} values, one per column"
            raise f.expected(join(w, "reported"), what, reported)
        model = f.get(r, w, "model", *TEXT)
        if status and other:
            raise f.error(f"key '{w}': give 'status' (a run's NOT-RUN code) or 'other_method'")
        if other and model is not None:
            raise f.error(f"key '{w}': 'other_method' is for a row without a model")
        if bool(status or other) != bool(reason):
            raise f.error(
                f"key '{w}': 'reason' (why it is not run) goes with 'status' or 'other_method'"
            )
        what = "a number, text or true/false"
        settings = f.mapping(r, w, "settings", _is_setting, what, keys="setting name")
        weights = f.get(r, w, "weights", *TEXT)
        if model is None and (settings or weights):
            raise f.error(f"key '{w}': settings or weights need a model")
        rows.append(
            Row(
                id=rid,
                label=f.get(r, w, "label", *TEXT, rid),
                model=model,
                scale=f.get(r, w, "scale", *COUNT),
                settings=settings,
                weights=weights,
                status=NotRunCode(status) if status else None,
                reason=reason,
                reported=reported,
                source_row=f.get(r, w, "source_row", *TEXT),
                anomalies=_anomalies(f, r, w, columns, reported),
                source=parse_source(f, r.get("source"), join(w, "source"), keys),
                other_method=OtherMethod(other) if other else None,
            )
        )
    return tuple(rows)


def _anomalies(
    f: Fields, r: dict, w: str, columns: tuple[Column, ...], reported: tuple
) -> dict[str, Anomaly]:
    """A row's flagged numbers: ``anomalies: [{column: Manga109/ssim, kind: typo, reason:
    ...}]``, each on a column of the table where the row reports a number, once."""
    out: dict[str, Anomaly] = {}
    keys = [c.key for c in columns]
    for i, item in enumerate(f.items(r, w, "anomalies", *_MAPPING)):
        where = join(join(w, "anomalies"), i)
        a = f.block(item, where, ("column", "kind", "reason"), ("column", "kind", "reason"))
        column = f.get(a, where, "column", *TEXT)
        if column not in keys:
            raise f.expected(join(where, "column"), f"a column key ({', '.join(keys)})", column)
        if reported[keys.index(column)] is None:
            raise f.error(f"key '{where}': the row reports no number in column {column}")
        if column in out:
            raise f.error(f"key '{where}': column {column} is flagged twice")
        kind = f.get(a, where, "kind", *choices(ANOMALY_KINDS))
        out[column] = Anomaly(kind, f.get(a, where, "reason", *TEXT))
    return out


def _tolerances(f: Fields, raw: dict, columns: tuple[Column, ...]) -> dict:
    """metric -> tolerance; a key no column uses (by name, or name before '_') is a typo."""
    what = "a number >= 0 or a percentage such as '1%'"
    tolerance = f.mapping(raw, "", "tolerance", _is_tolerance, what, keys="metric name")
    metrics = {c.metric for c in columns} | {c.metric.split("_")[0] for c in columns}
    for metric in tolerance:
        if metric not in metrics:
            raise f.expected(join("tolerance", metric), "a metric of a column", metric)
    return tolerance


def parse_spec(path: Path) -> TableSpec:
    """Read and check one spec file (registry facts: :func:`repro.tables.validate.check_spec`)."""
    f = Fields(f"table spec {_label(path)}", README)  # as TableSpec.label
    required = ("id", "title", "protocol", "columns", "rows")
    raw = f.block(read_yaml(path, f), "", _TOP_KEYS, required)
    table_id = f.get(raw, "", "id", *TEXT)
    if table_id != path.stem:
        raise f.expected("id", f"the file name {path.stem!r}", table_id)
    if not _ID.fullmatch(table_id):
        raise f.expected("id", "lowercase letters, digits and '_' ([a-z0-9_])", table_id)
    source = typed(f, raw.get("source") or {}, "source", dict.fromkeys(_SOURCE_KEYS, TEXT))
    protocol = resolve_protocol(f, raw["protocol"], SPECS_DIR)
    columns = _columns(f, raw, protocol)
    rows = _rows(f, raw, columns)
    return TableSpec(
        id=table_id,
        title=f.get(raw, "", "title", *TEXT),
        paper=f.get(raw, "", "paper", *TEXT, ""),
        source=Source(**source),
        protocol=protocol,
        tolerance=_tolerances(f, raw, columns),
        columns=columns,
        rows=rows,
        path=path,
        claims=parse_claims(f, raw, {r.id: r for r in rows}, {c.key: c for c in columns}),
        notes=f.mapping(raw, "", "notes", is_text, "free text", keys="topic"),
    )


def spec_files() -> dict[str, Path]:
    """Table id -> spec file: the shipped specs and the user's (the workspace's ``specs/``,
    ``REPRO_SPECS``); a user spec named as a shipped one is refused unless overriding."""
    return named_files(SPECS_DIR, "table spec")


def table_ids() -> list[str]:
    return sorted(spec_files())


def load_spec(table: str | Path) -> TableSpec:
    """A table by id (shipped or the user's), or the path of a spec file (``*.yaml``)."""
    files = spec_files()
    if str(table).endswith((".yaml", ".yml")):
        path = Path(table).expanduser()
        if not path.is_file():
            raise UnknownNameError(f"table spec {table} not found; check the path")
        known = files.get(path.stem)
        if known and known.resolve() != path.resolve() and not current().override:
            raise ConfigError(  # its results would pass for those of the known table
                f"table spec {table} has the id of {known}; rename it (its file and id), or "
                + OVERRIDE_HINT
            )
    else:
        if table not in files:
            raise UnknownNameError(
                f"unknown table '{table}'; {did_you_mean(str(table), files)} "
                "(list them with: repro ls tables)"
            )
        path = files[table]
    stat = path.stat()
    return _parsed(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@cache
def _parsed(path: str, mtime_ns: int, size: int) -> TableSpec:
    """A parsed spec, re-read when its file changes (``mtime_ns``, ``size``)."""
    return parse_spec(Path(path))
