"""The committed results/ and reports/ are what a complete run of this checkout's code produced.

Each committed set has a manifest whose files match byte for byte and whose code hash is the
hash of the package as it is now; a code change without a rerun
(``python benchmarks/regenerate_results.py``) fails here instead of publishing stale numbers.
"""

from __future__ import annotations

import json

import pytest

from repro.paths import REPO_ROOT
from repro.provenance import code_sha256
from repro.publish import Destination, load_saved
from repro.tables.spec import table_ids
from repro.workspace import reference

RESULTS, REPORTS = REPO_ROOT / "results", REPO_ROOT / "reports"
MANIFESTS = sorted(RESULTS.glob("*.manifest.json"))


@pytest.fixture
def committed():
    """The repository's reference runs, read as a workspace."""
    return reference()


def test_every_committed_set_has_a_manifest_and_nothing_else_is_there():
    assert MANIFESTS, "no committed results: run python benchmarks/regenerate_results.py"
    listed = {"index.md"}
    for path in MANIFESTS:
        files = json.loads(path.read_text())["files"]
        listed |= {k.split(":", 1)[1] for k in files} | {path.name}
    present = {p.name for folder in (RESULTS, REPORTS) for p in folder.iterdir() if p.is_file()}
    present = {n for n in present if not n.startswith(".")}
    assert present <= listed, f"files outside any manifest: {sorted(present - listed)}"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name.split(".")[0])
def test_committed_set_is_complete_and_current(manifest, committed):
    table = manifest.name.split(".")[0]
    assert table in table_ids()
    saved = load_saved(Destination(table, workspace=committed))  # every file matches
    assert saved["manifest"]["partial"] is False and saved["cells"]["partial"] is False
    assert saved["provenance"]["limit"] is None
    assert saved["manifest"]["code_sha256"] == code_sha256(), (
        f"results of {table} were produced by other code; "
        "rerun: python benchmarks/regenerate_results.py"
    )
