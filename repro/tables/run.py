"""Run one table: every runnable row on every dataset column, then compare and record."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field

import pandas as pd
import torch

from repro.data.loaders import open_dataset, require_in_data_root
from repro.errors import (
    MissingDataError,
    MissingWeightsError,
    NonFiniteOutputError,
    NotRun,
    NotRunCode,
    ReproError,
    UnknownNameError,
)
from repro.eval.complexity import measure
from repro.eval.predictor import load_model
from repro.eval.runner import Job, evaluate, finite_mean, means, to_frame
from repro.machine import device_provenance, resolve_device
from repro.metrics import MetricKind, get_metric
from repro.models import build
from repro.paths import data_roots
from repro.provenance import code_sha256, code_version, portable_path
from repro.publish import Destination, SavedResultsError, load_saved
from repro.tables.compare import Cell, CellStatus, ClaimResult, compare, judge_claims, mark_built
from repro.tables.spec import TableSpec, column_key


@dataclass
class TableResult:
    spec: TableSpec
    frame: pd.DataFrame  # one row per image (per view for stereo pairs)
    cells: list[Cell]
    provenance: dict = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)
    partial: bool = False  # a --limit/--datasets run: a test, never the published result

    @property
    def means(self) -> pd.DataFrame:
        return means(self.frame)


def run_table(
    spec: TableSpec,
    *,
    datasets: list[str] | None = None,
    limit: int | None = None,
    data_root: str | None = None,
    device: str | torch.device = "cpu",
    use_cache: bool = True,
    progress: bool = True,
    seed: int = 0,
    weights: dict[str, str] | None = None,
) -> TableResult:
    """Evaluate a table's runnable cells; bad input raises, absent data/weights become NOT-RUN.

    A run that measures nothing because data or weights are missing raises instead of
    returning a table of NOT-RUN cells, so that it can never pass for (or replace) a result.
    """
    if datasets:
        unknown = [d for d in datasets if d not in spec.datasets]
        if unknown:
            raise UnknownNameError(
                f"table {spec.id} has no dataset {unknown}; its datasets: {spec.datasets}"
            )
    if limit is not None and limit < 1:
        raise ReproError(f"--limit must be a positive number of images, got {limit}")
    wanted = datasets or spec.datasets
    require_in_data_root(data_root, wanted)
    device = resolve_device(device)
    protocol = spec.protocol
    measured: dict[tuple[str, str], float] = {}
    not_run: dict[tuple[str, str], NotRun] = {}
    counts: dict[tuple[str, str], tuple[int, int | None]] = {}
    rows: list[dict] = []
    prov_jobs = []
    for row in spec.rows:
        if row.status or row.model is None:
            continue
        for c in spec.columns:
            if c.dataset is not None and c.dataset not in wanted and not is_cost(c.metric):
                not_run[(row.id, c.key)] = NotRun(
                    NotRunCode.NOT_SELECTED, f"this run chose --datasets {wanted}"
                )
        row_cols = [c for c in spec.columns if c.dataset in wanted or c.dataset is None]
        # complexity columns (params, FLOPs, latency) are per model, even where the paper
        # prints them under a dataset
        cost_cols = [c for c in row_cols if c.dataset is None or is_cost(c.metric)]
        try:
            loaded = load_model(
                row.model,
                row.scale,
                row.settings,
                weights_id=row.weights,
                weights_path=(weights or {}).get(row.id),
                device=device,
            )
        except MissingWeightsError as exc:
            # params, FLOPs and latency do not depend on the weights' values: measure them on
            # the architecture; only the image columns need the checkpoint.
            module = build(row.model, None, row.scale, **row.settings).eval().to(device)
            for c in row_cols:
                if c in cost_cols:
                    _dataset_free(spec, row, c, (module, {}), measured, not_run)
                else:
                    not_run[(row.id, c.key)] = NotRun(NotRunCode.MISSING_WEIGHTS, str(exc))
            continue
        for c in cost_cols:
            _dataset_free(spec, row, c, loaded, measured, not_run)
        for name in wanted:
            cols = [c for c in row_cols if c.dataset == name and c not in cost_cols]
            for c in list(cols):
                try:
                    metric_ready(c.metric)
                except NotRun as exc:
                    not_run[(row.id, c.key)] = exc
                    cols.remove(c)
            if not cols:
                continue
            try:
                data = open_dataset(
                    name,
                    row.scale,
                    data_root=data_root,
                    lr_mode=protocol.get("lr", "official"),
                    rounding=protocol.get("rounding", "matlab"),
                )
            except MissingDataError as exc:
                for c in cols:
                    not_run[(row.id, c.key)] = NotRun(NotRunCode.MISSING_DATA, str(exc))
                continue
            total = data.card.images or len(data)
            data.limit(limit)
            job = Job(
                model=row.model,
                scale=row.scale,
                dataset=name,
                row=row.id,
                metrics=[(c.metric, c.variant) for c in cols],
                protocol=protocol,
                crop=spec.crop_for(row.scale),
                settings=row.settings,
                weights_id=row.weights,
            )
            try:
                job_rows, prov = evaluate(
                    job,
                    data,
                    device=device,
                    use_cache=use_cache,
                    progress=progress,
                    seed=seed,
                    loaded=loaded,
                )
            except NonFiniteOutputError as exc:
                for c in cols:
                    not_run[(row.id, c.key)] = NotRun(NotRunCode.NON_FINITE_OUTPUT, str(exc))
                continue
            rows.extend(job_rows)
            prov_jobs.append({"row": row.id, **_portable(prov)})
            images = len({r["image"] for r in job_rows})
            for c in cols:
                if get_metric(c.metric).set_level:  # one value for the SR and HR sets
                    value = prov.get("set_level", {}).get(c.frame_metric)
                    if value is None:
                        not_run[(row.id, c.key)] = NotRun(
                            NotRunCode.MISSING_DATA, f"{name} has no HR images to compare with"
                        )
                        continue
                    measured[(row.id, c.key)] = value
                else:
                    values = [r.get(c.frame_metric) for r in job_rows]
                    measured[(row.id, c.key)] = finite_mean(values)
                counts[(row.id, c.key)] = (images, total)
    cells = mark_built(compare(spec, measured, not_run, counts), prov_jobs)
    _refuse_empty(spec, cells, data_root)
    provenance = {
        "table": spec.id,
        "protocol_version": spec.version,
        "protocol": protocol,
        "code_version": code_version(),
        "code_sha256": code_sha256(),
        "python": platform.python_version(),
        **device_provenance(device),  # device, its name, torch/CUDA versions, TF32, threads
        "seed": seed,
        "limit": limit,
        "datasets": wanted,
        "partial": is_partial(spec, datasets, limit),
        "images_from_cache": sum(j["images_from_cache"] for j in prov_jobs),
        "images_computed": sum(j["images_computed"] for j in prov_jobs),
        "jobs": prov_jobs,
    }
    return TableResult(
        spec=spec,
        frame=to_frame(rows),
        cells=cells,
        provenance=provenance,
        claims=judge_claims(spec.claims, cells),
        partial=provenance["partial"],
    )


def is_partial(spec: TableSpec, datasets: list[str] | None, limit: int | None) -> bool:
    """A run of fewer images or datasets than the table's: a test, published beside."""
    return limit is not None or (bool(datasets) and set(datasets) != set(spec.datasets))


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
            "or point REPRO_SHARED at the shared folder; python -m repro validate "
            f"{spec.id} lists where each comes from)"
        )
    if weights:
        shown = ", ".join(weights[:4]) + (", ..." if len(weights) > 4 else "")
        parts.append(
            f"weights missing for {shown} (python -m repro validate {spec.id} says how to get them)"
        )
    error = MissingDataError if datasets else MissingWeightsError
    raise error(f"{spec.id}: no cell could be measured: " + "; ".join(parts) + "; nothing written")


def is_cost(metric: str) -> bool:
    """Is a column a property of the model (params, FLOPs, latency), not of the images?"""
    return get_metric(metric).kind is MetricKind.COST


def metric_ready(metric: str) -> None:
    """Raise NotRun unless this image metric (per image or set-level) can run here."""
    get_metric(metric).check_ready()  # unknown names fail loudly


def _dataset_free(spec, row, col, loaded, measured, not_run) -> None:
    """Complexity columns: params here; FLOPs/latency from the model family's counter."""
    try:
        measured[(row.id, col.key)] = measure(col.metric, row, spec, loaded[0], col.variant)
    except NotRun as exc:
        not_run[(row.id, col.key)] = exc
    except MissingWeightsError as exc:
        not_run[(row.id, col.key)] = NotRun(NotRunCode.MISSING_WEIGHTS, str(exc))


def recompare(spec: TableSpec, *, partial: bool = False) -> TableResult:
    """Compare a table's saved results (results/<id>.cells.json) with its spec again.

    Nothing is run: the reproduced values and NOT-RUN reasons are read back, then compared with
    the spec's current reported numbers, tolerances and claims. Results of another protocol
    version, missing some of the spec's cells, or not matching their manifest are refused:
    rerun the table then.
    """
    saved = load_saved(Destination(spec.id, partial))
    rerun = f"rerun: python -m repro.table {spec.id}"
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
    except (KeyError, TypeError, ValueError) as exc:
        raise SavedResultsError(
            spec.id, f"saved cells of {spec.id} are malformed ({exc})"
        ) from None
    wanted = {(r.id, c.key) for r in spec.rows for c in spec.columns}
    if not wanted <= set(old):
        first = sorted(wanted - set(old))[0]
        raise ReproError(f"saved results of {spec.id} predate the spec's cell {first}; {rerun}")
    measured = {k: c["reproduced"] for k, c in old.items() if c["reproduced"] is not None}
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
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cells_document(result: TableResult) -> dict:
    """The compared cells and claims of a run, as saved in results/<id>.cells.json."""
    return {
        "table": result.spec.id,
        "protocol_version": result.spec.version,
        "partial": result.partial,
        "cells": [c.to_dict() for c in result.cells],
        "claims": [c.to_dict() for c in result.claims],
    }


def result_files(result: TableResult) -> dict[str, str]:
    """The texts of a run's result files, by suffix: per-image CSV, cells, provenance."""
    return {
        ".csv": result.frame.to_csv(index=False),
        ".cells.json": json.dumps(cells_document(result), indent=1),
        ".provenance.json": json.dumps(result.provenance, indent=1, default=str),
    }


def measured_keys(cells: list[dict] | list[Cell]) -> set[tuple[str, str]]:
    """(row, column key) of every cell that holds a reproduced value."""
    out = set()
    for c in cells:
        d = c if isinstance(c, dict) else c.to_dict()
        if d.get("reproduced") is not None and d.get("status") != CellStatus.NOT_RUN:
            out.add((d["row"], column_key(d["dataset"], d["metric"], d["variant"])))
    return out


def loses_saved_cells(result: TableResult) -> str:
    """Why a full run must not replace the saved complete one, or ''.

    A run that lacks data or weights the saved run had (a data folder not mounted this time)
    would turn measured cells into NOT-RUN: it is published beside, as a partial run.
    """
    if result.partial:
        return ""
    try:
        saved = load_saved(Destination(result.spec.id))
    except SavedResultsError:
        return ""  # nothing (trustworthy) to protect
    cells = saved["cells"]
    if cells.get("protocol_version") != result.spec.version:
        return ""
    why = {(c.row, column_key(c.dataset, c.metric, c.variant)): c for c in result.cells}
    try:
        saved_keys = measured_keys(cells["cells"])
    except (KeyError, TypeError):
        return ""  # saved cells that do not parse (hand-edited): nothing trustworthy to protect
    # only cells lost for want of data or weights: a spec or code change may drop cells
    lost = {
        k
        for k in saved_keys - measured_keys(result.cells)
        if k in why and why[k].code is not None and why[k].code.missing_input
    }
    if not lost:
        return ""
    first = sorted(lost)[0]
    return (
        f"this run measured {len(lost)} cell(s) fewer than the saved results of "
        f"{result.spec.id} (e.g. {first[0]} {first[1]}: {why[first].code}); "
        "the saved run is kept and this one was written to results/partial/; to replace the "
        f"saved run on purpose, delete results/{result.spec.id}.manifest.json and rerun"
    )
