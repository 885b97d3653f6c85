"""A run's result set as saved, and what may replace it.

The texts of the result files (:func:`result_files`), the cells document, and the rule that a
full rerun which measured fewer cells for want of data or weights never replaces the saved run
(:func:`loses_saved_cells`).
"""

from __future__ import annotations

import json
from dataclasses import replace

from repro.publish import SavedResultsError, load_saved
from repro.tables.compare import Cell, CellStatus
from repro.tables.run import TableResult
from repro.tables.spec import column_key


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
        saved = load_saved(result.destination)
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
    partial = replace(result.destination, partial=True)
    return (
        f"this run measured {len(lost)} cell(s) fewer than the saved results of "
        f"{result.spec.id} (e.g. {first[0]} {first[1]}: {why[first].code}); "
        f"the saved run is kept and this one was written to {partial.results}; to replace the "
        f"saved run on purpose, delete {result.destination.manifest} and rerun"
    )
