"""Run one table in three steps, each with one job, on a :class:`RunContext`:

- :func:`plan`: which cells of which rows this run measures, and which it cannot (a dataset not
  chosen, a metric that cannot run here);
- :func:`measure`: per row, its model loaded once (or only its architecture when the checkpoint
  is absent: params, FLOPs and latency do not need it), its cost columns, then its image
  columns per dataset (:func:`repro.eval.runner.evaluate`);
- :func:`compare_run`: the measured values against the paper's, claims judged, provenance.

Reading saved results back and comparing them with the (edited) spec again is :func:`recompare`.
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from repro.errors import (
    MissingDataError,
    MissingWeightsError,
    NonFiniteOutputError,
    NotRun,
    NotRunCode,
    ReproError,
)
from repro.eval.complexity import measure as measure_cost
from repro.eval.loaded import LoadedModel
from repro.eval.runner import Job, evaluate, finite_mean, means, to_frame
from repro.eval.sr_files import output_folder
from repro.machine import device_provenance
from repro.metrics import MetricKind, get_metric
from repro.paths import data_roots
from repro.provenance import code_version, portable_path
from repro.publish import Destination, SavedResultsError, load_saved
from repro.tables.claim_verdicts import ClaimResult, judge_claims
from repro.tables.code_key import table_code
from repro.tables.compare import Cell, CellStatus, compare, mark_built, saved_value
from repro.tables.context import RunContext, prepare
from repro.tables.spec import Column, Row, TableSpec, column_key
from repro.workspace import Workspace, current

Key = tuple[str, str]  # (row id, column key)


@dataclass
class TableResult:
    spec: TableSpec
    frame: pd.DataFrame  # one row per image (per view for stereo pairs)
    cells: list[Cell]
    provenance: dict = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)
    partial: bool = False  # a --limit/--datasets run: a test, never the published result
    workspace: Workspace = field(default_factory=current)  # where it is published
    other_code: bool = False  # saved results read back that other code produced

    @property
    def means(self) -> pd.DataFrame:
        return means(self.frame)

    @property
    def destination(self) -> Destination:
        return Destination(self.spec.id, self.partial, self.workspace)


def run_table(spec: TableSpec | str, **options) -> TableResult:
    """Run a table from Python: :func:`~repro.tables.context.prepare` its context as the CLI
    does (``options``: datasets, limit, data_root, device, use_cache, progress, seed, weights,
    workspace), then :func:`run` it."""
    return run(prepare(spec, **options))


def run(ctx: RunContext) -> TableResult:
    """Evaluate a table's runnable cells; bad input raises, absent data/weights become NOT-RUN.

    A run that measures nothing because data or weights are missing raises instead of
    returning a table of NOT-RUN cells, so that it can never pass for (or replace) a result.
    With ``ctx.save_sr`` the SR images go to that new folder, which appears only when the run
    completes (:func:`repro.eval.sr_files.output_folder`).
    """
    with output_folder(ctx.save_sr, "--save-sr") as sr_root:
        return compare_run(ctx, measure(ctx, plan(ctx), sr_root))


# --------------------------------------------------------------------------- plan
@dataclass
class RowPlan:
    row: Row
    cost: list[Column]  # params, FLOPs, latency: per model, even under a dataset's heading
    images: dict[str, list[Column]]  # dataset -> its image columns whose metric runs here
    unready: dict[str, NotRun]  # column key -> why its metric cannot run here

    def keys(self, cost: bool = True) -> list[str]:
        """The column keys this row measures (the cost columns too, unless ``cost`` is off)."""
        image = [c.key for cols in self.images.values() for c in cols] + list(self.unready)
        return ([c.key for c in self.cost] if cost else []) + image


@dataclass
class Plan:
    rows: list[RowPlan]
    not_selected: dict[Key, NotRun]  # cells of datasets this run did not choose


def plan(ctx: RunContext) -> Plan:
    """Which cells each runnable row measures, and which this run leaves out."""
    spec, wanted = ctx.spec, ctx.datasets
    rows, not_selected = [], {}
    for row in spec.rows:
        if row.status or row.model is None:
            continue
        for c in spec.columns:
            if c.dataset is not None and c.dataset not in wanted and not is_cost(c.metric):
                not_selected[(row.id, c.key)] = NotRun(
                    NotRunCode.NOT_SELECTED, f"this run chose --datasets {wanted}"
                )
        row_cols = [c for c in spec.columns if c.dataset in wanted or c.dataset is None]
        cost = [c for c in row_cols if c.dataset is None or is_cost(c.metric)]
        images: dict[str, list[Column]] = {}
        unready: dict[str, NotRun] = {}
        for name in wanted:
            images[name] = []
            for c in (c for c in row_cols if c.dataset == name and c not in cost):
                try:
                    metric_ready(c.metric)
                    images[name].append(c)
                except NotRun as exc:
                    unready[c.key] = exc
        rows.append(RowPlan(row, cost, images, unready))
    return Plan(rows, not_selected)


# --------------------------------------------------------------------------- measure
@dataclass
class Measured:
    values: dict[Key, float] = field(default_factory=dict)
    not_run: dict[Key, NotRun] = field(default_factory=dict)
    counts: dict[Key, tuple[int, int | None]] = field(default_factory=dict)  # images, of total
    rows: list[dict] = field(default_factory=list)  # per image (per view)
    jobs: list[dict] = field(default_factory=list)  # each job's provenance


def measure(ctx: RunContext, the_plan: Plan, sr_root: Path | None = None) -> Measured:
    """Measure every planned cell: cost columns on the model, image columns on each dataset
    (their SR images written under ``sr_root/<row id>/<dataset>/`` when given)."""
    m = Measured(not_run=dict(the_plan.not_selected))
    for rp in the_plan.rows:
        try:
            model = ctx.model(rp.row)
        except NotRun as exc:  # a backend the model needs is not installed (spandrel)
            for key in rp.keys():
                m.not_run[(rp.row.id, key)] = exc
            continue
        except MissingWeightsError as exc:
            # only the image columns need the checkpoint's values; a network only its
            # checkpoint defines (spandrel, no catalogue entry) has none to count without it
            architecture = ctx.architecture(rp.row)
            missing = NotRun(NotRunCode.MISSING_WEIGHTS, str(exc))
            for c in rp.cost:
                if architecture is None:
                    m.not_run[(rp.row.id, c.key)] = missing
                else:
                    _measure_cost(ctx.spec, rp.row, c, architecture, m)
            for key in rp.keys(cost=False):
                m.not_run[(rp.row.id, key)] = missing
            continue
        for c in rp.cost:
            _measure_cost(ctx.spec, rp.row, c, model, m)
        for key, why in rp.unready.items():
            m.not_run[(rp.row.id, key)] = why
        for name, cols in rp.images.items():
            if cols:
                _measure_images(ctx, rp.row, name, cols, model, m, sr_root)
    return m


def _measure_cost(spec: TableSpec, row: Row, col: Column, model: LoadedModel, m: Measured) -> None:
    """Complexity columns: params here; FLOPs/latency from the model family's counter."""
    try:
        m.values[(row.id, col.key)] = measure_cost(col.metric, row, spec, model.module, col.variant)
    except NotRun as exc:
        m.not_run[(row.id, col.key)] = exc
    except MissingWeightsError as exc:
        m.not_run[(row.id, col.key)] = NotRun(NotRunCode.MISSING_WEIGHTS, str(exc))


def _measure_images(
    ctx: RunContext,
    row: Row,
    name: str,
    cols: list[Column],
    model: LoadedModel,
    m: Measured,
    sr_root: Path | None,
) -> None:
    """One row's image columns on one dataset: a job of the per-image runner."""
    try:
        opened = ctx.dataset(name, row.scale)
    except MissingDataError as exc:
        for c in cols:
            m.not_run[(row.id, c.key)] = NotRun(NotRunCode.MISSING_DATA, str(exc))
        return
    job = Job(
        model=row.model,
        scale=row.scale,
        dataset=name,
        row=row.id,
        metrics=[(c.metric, c.variant) for c in cols],
        protocol=ctx.spec.protocol,
        crop=ctx.spec.crop_for(row.scale),
        settings=row.settings,
        weights_id=row.weights,
    )
    save_sr = sr_root / row.id / name if sr_root else None
    try:
        job_rows, prov = evaluate(
            job,
            opened.data,
            device=ctx.device,
            use_cache=ctx.use_cache,
            progress=ctx.progress,
            seed=ctx.seed,
            loaded=model,
            cache_dir=ctx.workspace.row_cache,
            save_sr=save_sr,
        )
    except NonFiniteOutputError as exc:
        if save_sr is not None:  # a job that stopped leaves none of its images
            shutil.rmtree(save_sr, ignore_errors=True)
        for c in cols:
            m.not_run[(row.id, c.key)] = NotRun(NotRunCode.NON_FINITE_OUTPUT, str(exc))
        return
    m.rows.extend(job_rows)
    m.jobs.append({"row": row.id, **_portable(prov)})
    images = len({r["image"] for r in job_rows})
    for c in cols:
        key = (row.id, c.key)
        if get_metric(c.metric).set_level:  # one value for the SR and HR sets
            value = prov.get("set_level", {}).get(c.frame_metric)
            if value is None:
                m.not_run[key] = NotRun(
                    NotRunCode.MISSING_DATA, f"{name} has no HR images to compare with"
                )
                continue
            m.values[key] = value
        else:
            m.values[key] = finite_mean(r.get(c.frame_metric) for r in job_rows)
        m.counts[key] = (images, opened.total)


# --------------------------------------------------------------------------- compare
def compare_run(ctx: RunContext, m: Measured) -> TableResult:
    """The measured values compared with the paper's, the claims judged, the provenance."""
    spec = ctx.spec
    cells = mark_built(compare(spec, m.values, m.not_run, m.counts), m.jobs)
    _refuse_empty(spec, cells, ctx.data_root)
    provenance = {
        "table": spec.id,
        "protocol_version": spec.version,
        "protocol": spec.protocol,
        "code_version": code_version(),
        "code": table_code(spec).detail(),  # what made the numbers and verdicts
        "python": platform.python_version(),
        **device_provenance(ctx.device),  # device, its name, torch/CUDA versions, TF32, threads
        "seed": ctx.seed,
        "limit": ctx.limit,
        "datasets": ctx.datasets,
        "partial": ctx.partial,
        "images_from_cache": sum(j["images_from_cache"] for j in m.jobs),
        "images_computed": sum(j["images_computed"] for j in m.jobs),
        "jobs": m.jobs,
    }
    return TableResult(
        spec=spec,
        frame=to_frame(m.rows),
        cells=cells,
        provenance=provenance,
        claims=judge_claims(spec.claims, cells),
        partial=ctx.partial,
        workspace=ctx.workspace,
    )


def _portable(job_prov: dict) -> dict:
    """A job's provenance without absolute machine paths (weights path made relative)."""
    model = dict(job_prov.get("model") or {})
    if isinstance(model.get("weights"), dict):
        model["weights"] = {**model["weights"], "path": portable_path(model["weights"]["path"])}
    return {**job_prov, "model": model}


def _refuse_empty(spec: TableSpec, cells: list[Cell], data_root: str | None) -> None:
    """A run that measured nothing for want of data or weights is an error, not a result;
    so is one that found no data at all because no data folder exists."""
    data_missing = any(c.code == NotRunCode.MISSING_DATA for c in cells)
    data_measured = any(
        c.reproduced is not None and c.dataset and not is_cost(c.metric) for c in cells
    )
    if data_missing and not data_measured and not any(r.is_dir() for r in data_roots(data_root)):
        raise MissingDataError(
            f"{spec.id}: no data folder exists (no --data-root, REPRO_DATA unset or missing, "
            f"and no {data_roots()[-1]}; REPRO_SHARED names the shared folder) and the Hub gave "
            "nothing; pass --data-root DIR or set REPRO_DATA; nothing written"
        )
    if any(c.reproduced is not None for c in cells):
        return
    missing = [c for c in cells if c.status == CellStatus.NOT_RUN and c.code.missing_input]
    if not missing:
        return  # nothing here is runnable by anyone (training-only, not implemented)
    datasets = sorted({c.dataset for c in missing if c.code == NotRunCode.MISSING_DATA})
    weights = sorted({c.label for c in missing if c.code == NotRunCode.MISSING_WEIGHTS})
    parts = []
    if datasets:
        parts.append(
            f"datasets not found: {', '.join(datasets)} (pass --data-root DIR, set REPRO_DATA, "
            "or point REPRO_SHARED at the shared folder; repro get "
            f"{spec.id} lists where each comes from and --yes gets them)"
        )
    if weights:
        shown = ", ".join(weights[:4]) + (", ..." if len(weights) > 4 else "")
        parts.append(f"weights missing for {shown} (repro get {spec.id} says how to get them)")
    if any(c.code == NotRunCode.MISSING_EXTRA for c in missing):
        parts.append(
            "an optional extra is not installed (pyiqa: the iqa extra, spandrel: the zoo extra; "
            "the README's 'Optional' sections say how)"
        )
    error = MissingDataError if datasets else MissingWeightsError if weights else ReproError
    raise error(f"{spec.id}: no cell could be measured: " + "; ".join(parts) + "; nothing written")


def is_cost(metric: str) -> bool:
    """Is a column a property of the model (params, FLOPs, latency), not of the images?"""
    return get_metric(metric).kind is MetricKind.COST


def metric_ready(metric: str) -> None:
    """Raise NotRun unless this image metric (per image or set-level) can run here."""
    get_metric(metric).check_ready()  # unknown names fail loudly


def recompare(
    spec: TableSpec, *, partial: bool = False, workspace: Workspace | None = None
) -> TableResult:
    """Compare a table's saved results (results/<id>.cells.json of ``workspace``, by default
    the active one) with its spec again.

    Nothing is run: the reproduced values and NOT-RUN reasons are read back, then compared with
    the spec's current reported numbers, tolerances and claims. Results of another protocol
    version, missing some of the spec's cells, or not matching their manifest are refused:
    rerun the table then.
    """
    dest = Destination(spec.id, partial, workspace or current())
    saved = load_saved(dest)
    rerun = f"rerun: repro table {spec.id}"
    cells_json = saved["cells"]
    if cells_json.get("protocol_version") != spec.version:
        raise ReproError(
            f"saved results of {spec.id} are protocol v{cells_json.get('protocol_version')}, "
            f"the spec is v{spec.version}; {rerun}"
        )
    try:
        old = {
            (c["row"], column_key(c["dataset"], c["metric"], c["variant"])): c
            for c in cells_json["cells"]
        }
        for c in old.values():
            if not (c["reproduced"] is None or _is_number(c["reproduced"])):
                raise TypeError(f"reproduced value {c['reproduced']!r}")
            if not isinstance(c.get("reason") or "", str):
                raise TypeError(f"reason {c.get('reason')!r}")
            CellStatus(c["status"])
            if c["status"] == CellStatus.NOT_RUN:
                NotRunCode(c["code"])
        measured = {k: saved_value(c) for k, c in old.items() if c["reproduced"] is not None}
    except (KeyError, TypeError, ValueError) as exc:
        raise SavedResultsError(
            spec.id, f"saved cells of {spec.id} are malformed ({exc})"
        ) from None
    wanted = {(r.id, c.key) for r in spec.rows for c in spec.columns}
    if not wanted <= set(old):
        first = sorted(wanted - set(old))[0]
        raise ReproError(f"saved results of {spec.id} predate the spec's cell {first}; {rerun}")
    not_run = {
        k: NotRun(NotRunCode(c["code"]), c["reason"] or "")
        for k, c in old.items()
        if c["status"] == CellStatus.NOT_RUN
    }
    counts = {k: (c.get("images"), c.get("images_total")) for k, c in old.items()}
    jobs = saved["provenance"].get("jobs", [])
    cells = mark_built(compare(spec, measured, not_run, counts), jobs)
    # the per-image frame stays as saved: a re-comparison adds no rows
    return TableResult(
        spec,
        pd.DataFrame(),
        cells,
        saved["provenance"],
        judge_claims(spec.claims, cells),
        partial=partial,
        workspace=dest.workspace,
        other_code=made_by_other_code(saved, spec),
    )


def made_by_other_code(saved: dict, spec: TableSpec) -> bool:
    """Were saved results (:func:`repro.publish.load_saved`) produced by other code than this
    one? The one place that compares a saved set's code identity with the code its table runs
    now (:func:`repro.tables.code_key.table_code`)."""
    return saved["manifest"].get("code_sha256") != table_code(spec).sha256


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
