"""`report` over hand-edited saved results: another table's broken set never stops a report; the
asked table's broken set is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.tables.spec import load_spec
from tests.hostile.sandbox import Sandbox, expect_error, expect_ok, sha256

TRUNCATED = '{"table": "esc_main", "cells": [{"row": '


def _write_manifest(res: Path, table: str, files: dict[str, Path]) -> None:
    """A manifest of ``table`` listing ``files`` (key -> path) as publishing writes it."""
    meta = {"table": table, "protocol_version": load_spec(table).version, "partial": False}
    digests = {key: sha256(p) for key, p in files.items()}
    (res / f"{table}.manifest.json").write_text(json.dumps({**meta, "files": digests}))


def _cells(cells: list) -> str:
    return json.dumps(
        {"table": "esc_main", "protocol_version": load_spec("esc_main").version, "cells": cells}
    )


def _reports_still_work(sb: Sandbox) -> None:
    expect_ok(sb.run("report", "bicubic_classic"), "bicubic_classic.md")
    expect_ok(sb.run("report"), "index.md")


# -- another table's saved set is broken ----------------------------------------------------------
WRONG_TYPES = {
    "row": "r",
    "label": "r",
    "dataset": "Set5",
    "metric": "psnr",
    "variant": None,
    "reported": "x",
    "reproduced": "y",
    "delta": "z",
    "status": "PASS",
    "reason": None,
}


@pytest.mark.parametrize(
    "text, manifest",
    [
        pytest.param(TRUNCATED, False, id="rep-other-table-truncated"),
        # a manifest that matches the truncated file
        pytest.param(TRUNCATED, True, id="rep-other-table-truncated-manifest"),
        pytest.param(_cells([1, "x"]), True, id="rep-other-table-cells-wrong-shape"),
        # the right keys, strings for numbers
        pytest.param(_cells([WRONG_TYPES]), True, id="rep-other-table-cells-wrong-types"),
    ],
)
def test_another_tables_broken_cells(complete_run, text, manifest):
    """report bicubic_classic, and the index, while esc_main's saved cells are broken"""
    sb = complete_run
    cells = sb.res / "esc_main.cells.json"
    cells.write_text(text)
    if manifest:
        prov = sb.res / "esc_main.provenance.json"
        prov.write_text(json.dumps({"table": "esc_main"}))
        files = {"results:esc_main.cells.json": cells, "results:esc_main.provenance.json": prov}
        _write_manifest(sb.res, "esc_main", files)
    _reports_still_work(sb)


def test_rep_other_table_manifest_bad_key(complete_run):
    """report bicubic_classic and the index, esc_main's manifest lists a key without 'results:'"""
    sb = complete_run
    (sb.res / "esc_main.cells.json").write_text("{}")
    (sb.res / "esc_main.manifest.json").write_text(json.dumps({"files": {"esc_main.csv": "0"}}))
    _reports_still_work(sb)


def test_rep_other_table_manifest_truncated(complete_run):
    """report (the index), esc_main.manifest.json cut short"""
    sb = complete_run
    (sb.res / "esc_main.manifest.json").write_text('{"files": {"results:esc')
    expect_ok(sb.run("report"), "index.md")


# -- the asked table's saved set is broken --------------------------------------------------------
def _edit_cells(sb: Sandbox, change) -> None:
    """Change bicubic_classic's saved cells and update its manifest (a deliberate edit)."""
    path = sb.res / "bicubic_classic.cells.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1))
    mpath = sb.res / "bicubic_classic.manifest.json"
    manifest = json.loads(mpath.read_text())
    assert "results:bicubic_classic.cells.json" in manifest["files"]
    manifest["files"]["results:bicubic_classic.cells.json"] = sha256(path)
    mpath.write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _set_first_reproduced(doc: dict) -> None:
    doc["cells"][0]["reproduced"] = "abc"


def _cells_without_keys(doc: dict) -> None:
    doc["cells"] = [{"row": "bicubic-x2"}]


def _protocol_999(doc: dict) -> None:
    doc["protocol_version"] = 999


@pytest.mark.parametrize(
    "change, needles",
    [
        pytest.param(_set_first_reproduced, (), id="rep-asked-table-cell-edited"),
        pytest.param(_cells_without_keys, (), id="rep-asked-table-cells-a-dict"),
        pytest.param(_protocol_999, ("999",), id="rep-asked-table-protocol-version"),
    ],
)
def test_the_asked_tables_cells_edited(complete_run, change, needles):
    """report bicubic_classic after its cells were edited (manifest updated to match)"""
    _edit_cells(complete_run, change)
    expect_error(complete_run.run("report", "bicubic_classic"), *needles)


def test_rep_asked_table_truncated(complete_run):
    """report bicubic_classic when its own cells.json is truncated (manifest mismatch)"""
    p = complete_run.res / "bicubic_classic.cells.json"
    p.write_text(p.read_text()[:200])
    expect_error(complete_run.run("report", "bicubic_classic"), "bicubic_classic")


def test_rep_asked_table_csv_missing(complete_run):
    """report bicubic_classic after its CSV was deleted"""
    (complete_run.res / "bicubic_classic.csv").unlink()
    expect_error(complete_run.run("report", "bicubic_classic"), "bicubic_classic")
