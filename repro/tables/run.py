"""Run one table: every runnable row on every dataset column, then compare and record."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass, field

import pandas as pd
import torch

import repro
from repro.data.loaders import open_dataset
from repro.errors import MissingDataError, MissingWeightsError, ReproError, UnknownNameError
from repro.eval import distributed
from repro.eval.predictor import load_model
from repro.eval.runner import Job, evaluate, finite_mean, means, to_frame
from repro.files import atomic_write_text
from repro.machine import cpu_name
from repro.models import build
from repro.paths import results_dir
from repro.tables.compare import Cell, ClaimResult, compare, judge_claims
from repro.tables.spec import DATASET_FREE, TableSpec, column_key


@dataclass
class TableResult:
    spec: TableSpec
    frame: pd.DataFrame  # one row per image (per view for stereo pairs)
    cells: list[Cell]
    provenance: dict = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)

    @property
    def means(self) -> pd.DataFrame:
        return means(self.frame)


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            cwd=repro.paths.REPO_ROOT,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{repro.__version__}+{commit}" if commit else repro.__version__


def run_table(
    spec: TableSpec,
    *,
    datasets: list[str] | None = None,
    limit: int | None = None,
    data_root: str | None = None,
    device: str = "cpu",
    use_cache: bool = True,
    progress: bool = True,
    seed: int = 0,
    weights: dict[str, str] | None = None,
) -> TableResult:
    """Evaluate a table's runnable cells; bad input raises, absent data/weights become NOT-RUN."""
    if datasets:
        unknown = [d for d in datasets if d not in spec.datasets]
        if unknown:
            raise UnknownNameError(
                f"table {spec.id} has no dataset {unknown}; its datasets: {spec.datasets}"
            )
    wanted = datasets or spec.datasets
    protocol = spec.protocol
    measured: dict[tuple[str, str], float] = {}
    not_run: dict[tuple[str, str], str] = {}
    counts: dict[tuple[str, str], tuple[int, bool]] = {}
    rows: list[dict] = []
    prov_jobs = []
    for row in spec.rows:
        if row.status or row.model is None:
            continue
        row_cols = [c for c in spec.columns if c.dataset in wanted or c.dataset is None]
        # complexity columns (params, FLOPs, latency) are per model, even where the paper
        # prints them under a dataset
        cost_cols = [c for c in row_cols if c.dataset is None or c.metric in DATASET_FREE]
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
                    not_run[(row.id, c.key)] = f"MISSING-WEIGHTS: {exc}"
            continue
        for c in cost_cols:
            _dataset_free(spec, row, c, loaded, measured, not_run)
        for name in wanted:
            cols = [c for c in row_cols if c.dataset == name and c not in cost_cols]
            for c in list(cols):
                ready, why = metric_ready(c.metric)
                if not ready:
                    not_run[(row.id, c.key)] = why
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
                    not_run[(row.id, c.key)] = f"MISSING-DATA: {exc}"
                continue
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
            job_rows, prov = evaluate(
                job,
                data,
                device=device,
                use_cache=use_cache,
                progress=progress,
                seed=seed,
                loaded=loaded,
            )
            rows.extend(job_rows)
            prov_jobs.append({"row": row.id, **prov})
            for c in cols:
                values = [r.get(c.frame_metric) for r in job_rows]
                measured[(row.id, c.key)] = finite_mean(values)
                counts[(row.id, c.key)] = (len(job_rows), data.complete and limit is None)
    cells = compare(spec, measured, not_run, counts)
    provenance = {
        "table": spec.id,
        "protocol_version": spec.version,
        "protocol": protocol,
        "code_version": code_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device if device != "cpu" else f"cpu ({cpu_name()})",
        "threads": torch.get_num_threads(),
        "seed": seed,
        "limit": limit,
        "datasets": wanted,
        "jobs": prov_jobs,
    }
    return TableResult(
        spec=spec,
        frame=to_frame(rows),
        cells=cells,
        provenance=provenance,
        claims=judge_claims(spec.claims, cells),
    )


def metric_ready(metric: str) -> tuple[bool, str]:
    """Can this per-image metric run here? (pyiqa-backed ones may lack their package/weights)."""
    from repro.metrics import get_metric
    from repro.metrics.iqa import is_set_level, metric_available

    get_metric(metric)  # unknown names fail loudly
    if is_set_level(metric):
        ok, why = metric_available(metric)
        return False, why if not ok else (
            "NOT-IMPLEMENTED: set-level metrics (FID) are not wired into table runs yet"
        )
    return metric_available(metric)


def _dataset_free(spec, row, col, loaded, measured, not_run) -> None:
    """Complexity columns: params here; FLOPs/latency from the model family's hook."""
    from repro.eval.complexity import measure

    try:
        measured[(row.id, col.key)] = measure(col.metric, row, spec, loaded[0], col.variant)
    except ReproError as exc:
        text = str(exc)
        code = (
            text.split(":")[0]
            if text.split(":")[0] in ("NEEDS-GPU", "NOT-IMPLEMENTED", "MISSING-WEIGHTS")
            else "NOT-IMPLEMENTED"
        )
        not_run[(row.id, col.key)] = text if text.startswith(code) else f"{code}: {text}"


def recompare(spec: TableSpec) -> TableResult:
    """Compare a table's saved results (results/<id>.cells.json) with its spec again.

    Nothing is run: the reproduced values and NOT-RUN reasons are read back, then compared with
    the spec's current reported numbers, tolerances and claims. Results of another protocol
    version, or missing some of the spec's cells, are refused: rerun the table then.
    """
    folder = results_dir()
    cells_path = folder / f"{spec.id}.cells.json"
    rerun = f"run it: python -m repro.table {spec.id}"
    if not cells_path.is_file():
        raise MissingDataError(f"no saved results for {spec.id} in {folder}; {rerun}")
    saved = json.loads(cells_path.read_text(encoding="utf-8"))
    if saved.get("protocol_version") != spec.version:
        raise ReproError(
            f"{cells_path} holds protocol v{saved.get('protocol_version')} results, the spec is "
            f"v{spec.version}; {rerun}"
        )
    old = {
        (c["row"], column_key(c["dataset"], c["metric"], c["variant"])): c for c in saved["cells"]
    }
    wanted = {(r.id, c.key) for r in spec.rows for c in spec.columns}
    if not wanted <= set(old):
        first = sorted(wanted - set(old))[0]
        raise ReproError(f"{cells_path} predates the spec's cell {first}; {rerun}")
    measured = {k: c["reproduced"] for k, c in old.items() if c["reproduced"] is not None}
    not_run = {k: c["reason"] for k, c in old.items() if c["status"] == "NOT-RUN"}
    counts = {k: (c.get("images"), True) for k, c in old.items()}
    cells = compare(spec, measured, not_run, counts)
    prov_path = folder / f"{spec.id}.provenance.json"
    provenance = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
    # the per-image frame stays as saved: a re-comparison adds no rows
    return TableResult(spec, pd.DataFrame(), cells, provenance, judge_claims(spec.claims, cells))


def write_results(result: TableResult, *, frame: bool = True) -> dict[str, str]:
    """Write results/<id>.csv (per image), <id>.cells.json and <id>.provenance.json atomically.

    ``frame=False`` keeps the saved per-image frame (a re-comparison has no new rows).
    """
    if not distributed.is_main():
        return {}
    folder = results_dir()
    spec = result.spec
    paths = {
        "frame": folder / f"{spec.id}.csv",
        "cells": folder / f"{spec.id}.cells.json",
        "provenance": folder / f"{spec.id}.provenance.json",
    }
    if frame:
        atomic_write_text(paths["frame"], result.frame.to_csv(index=False))
    atomic_write_text(
        paths["cells"],
        json.dumps(
            {
                "table": spec.id,
                "protocol_version": spec.version,
                "cells": [c.to_dict() for c in result.cells],
                "claims": [c.to_dict() for c in result.claims],
            },
            indent=1,
        ),
    )
    atomic_write_text(paths["provenance"], json.dumps(result.provenance, indent=1, default=str))
    return {k: str(v) for k, v in paths.items()}
