"""A published number is what a complete, current run produced (issue #10).

Stale caches, partial runs, interrupted or concurrent publishing, missing data and broken saved
files of other tables must never pass for, or replace, a complete result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repro.errors import MissingDataError, NonFiniteOutputError
from repro.paths import REPO_ROOT, cards_dir
from repro.publish import Destination, SavedResultsError, load_saved, table_lock
from repro.tables.run import recompare, run_table
from repro.tables.saved import loses_saved_cells
from repro.tables.spec import parse_spec
from tests.conftest import DATA, SHARED

MINI_SPEC = """
id: mini
title: bicubic on Set5 and Set14 (test spec)
paper: test
source: {note: a test spec}
protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: official}
tolerance: {psnr: 0.05}
columns:
  - {dataset: Set5, metric: psnr}
  - {dataset: Set14, metric: psnr}
rows:
  - {id: bicubic-x2, label: Bicubic x2, model: bicubic, scale: 2, reported: [33.66, 30.24]}
"""


@pytest.fixture
def mini(tmp_path):
    path = tmp_path / "specs" / "mini.yaml"
    path.parent.mkdir()
    path.write_text(MINI_SPEC)
    return parse_spec(path)


@pytest.fixture
def own_shared(tmp_path, monkeypatch):
    """A shared folder holding only copies of Set5 and Set14 (so a test may remove one)."""
    root = tmp_path / "shared"
    for name in ("Set5", "Set14"):
        shutil.copytree(DATA / name, root / "data" / name)
    monkeypatch.setenv("REPRO_SHARED", str(root))
    return root


def _publish(result):
    from repro.report.writer import publish_result

    return publish_result(result)


def _published_bytes(dest: Destination) -> dict[str, bytes]:
    files = json.loads(dest.manifest.read_text())["files"]
    folders = {"results": dest.results, "reports": dest.reports}
    out = {k: (folders[k.split(":")[0]] / k.split(":", 1)[1]).read_bytes() for k in files}
    return {**out, "manifest": dest.manifest.read_bytes()}


def test_partial_runs_are_written_beside_and_never_replace_the_full_run(mini, own_shared):
    full = run_table(mini, progress=False)
    assert not full.partial and {c.status for c in full.cells} <= {"PASS", "IMPROVED", "FAIL"}
    _publish(full)
    before = _published_bytes(Destination("mini"))

    limited = run_table(mini, limit=2, progress=False)
    assert limited.partial
    set5 = next(c for c in limited.cells if c.dataset == "Set5")
    assert set5.status == "PARTIAL" and (set5.images, set5.images_total) == (2, 5)
    assert set5.delta is not None  # shown, but no verdict
    _publish(limited)
    chosen = run_table(mini, datasets=["Set5"], progress=False)
    set14 = next(c for c in chosen.cells if c.dataset == "Set14")
    assert set14.status == "NOT-RUN" and set14.code == "NOT-SELECTED"
    _publish(chosen)

    assert _published_bytes(Destination("mini")) == before  # the complete run is untouched
    partial = load_saved(Destination("mini", partial=True))
    assert partial["manifest"]["partial"] is True and partial["cells"]["partial"] is True
    assert recompare(mini).cells == full.cells


def test_a_run_missing_data_the_saved_run_had_is_kept_back(mini, own_shared):
    _publish(run_table(mini, progress=False))
    shutil.rmtree(own_shared / "data" / "Set14")
    poorer = run_table(mini, progress=False)
    assert next(c for c in poorer.cells if c.dataset == "Set14").code == "MISSING-DATA"
    why = loses_saved_cells(poorer)
    assert "1 cell(s) fewer" in why and "Set14/psnr" in why


def test_a_run_lacking_an_optional_extra_the_saved_run_had_is_kept_back(mini, own_shared):
    """pyiqa or spandrel uninstalled since the saved run: its cells are MISSING-EXTRA, an input
    this machine lacks, so the poorer run must not replace the complete one."""
    from repro.errors import NotRunCode
    from repro.tables.compare import CellStatus

    _publish(run_table(mini, progress=False))
    poorer = run_table(mini, progress=False)
    lost = next(c for c in poorer.cells if c.dataset == "Set14")
    lost.status, lost.code, lost.reproduced = CellStatus.NOT_RUN, NotRunCode.MISSING_EXTRA, None
    why = loses_saved_cells(poorer)
    assert "1 cell(s) fewer" in why and "MISSING-EXTRA" in why


def test_no_data_anywhere_is_an_error_naming_the_three_ways(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDataError) as err:
        run_table(mini, progress=False)
    text = str(err.value)
    assert "--data-root" in text and "REPRO_DATA" in text and "REPRO_SHARED" in text


def test_table_cli_without_data_exits_2_and_writes_nothing(tmp_path):
    ws = tmp_path / "ws"
    env = {
        **os.environ,
        "REPRO_SHARED": str(tmp_path / "nowhere"),
        "REPRO_OUT": str(ws),
        "REPRO_CACHE": str(tmp_path / "cache"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "repro.table", "bicubic_classic"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "REPRO_DATA" in out.stderr and "--data-root" in out.stderr
    assert not (ws / "reports").exists() and not (ws / "runs.jsonl").exists()
    assert not any(p for p in (ws / "results").rglob("*") if p.is_file())


def test_cache_key_covers_the_code_a_changed_y_conversion_is_recomputed(tmp_path, capsys):
    """A rerun after an edit of the code a job runs never reports the old numbers.

    Two runs in this process fill and reuse the cache; then an edited copy of the package runs
    in a subprocess on the same cache. Until the edit the copy's key is this package's (it is
    computed from the modules' contents), so only the edit keeps its rerun from the cache.
    """
    from repro.cli import main
    from repro.provenance import code_closure

    copy = tmp_path / "pkg" / "repro"
    shutil.copytree(REPO_ROOT / "repro", copy, ignore=shutil.ignore_patterns("__pycache__"))
    args = ["eval", "--model", "bicubic", "--scale", "4", "--dataset", "Set5", "--json"]

    def run_here() -> dict:
        assert main(args) == 0
        return json.loads(capsys.readouterr().out)

    first, again = run_here(), run_here()
    assert first["provenance"]["images_from_cache"] == 0
    assert again["provenance"]["images_from_cache"] == 5
    assert again["provenance"]["cached_images"] == sorted(r["image"] for r in first["rows"])
    assert again["means"][0]["psnr"] == first["means"][0]["psnr"]
    code = first["provenance"]["code"]
    assert code_closure(code["roots"], copy).sha256 == code["sha256"]
    color = copy / "metrics" / "color.py"
    source = color.read_text()
    assert "65.481" in source
    color.write_text(source.replace("65.481", "64.0"))  # a different Y conversion
    env = {
        **os.environ,  # the test's results and cache folders
        "PYTHONPATH": str(copy.parent),
        "REPRO_SHARED": str(SHARED),
        "REPRO_CARDS": str(cards_dir()),
        "OMP_NUM_THREADS": "1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "repro", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    edited = json.loads(out.stdout)
    assert edited["provenance"]["images_from_cache"] == 0
    assert edited["provenance"]["code"]["sha256"] == code_closure(code["roots"], copy).sha256
    assert edited["means"][0]["psnr"] != pytest.approx(first["means"][0]["psnr"], abs=1e-6)


def test_malformed_cache_lines_are_recomputed_not_trusted(tmp_path, monkeypatch):
    from repro.eval.cache import RowCache

    good = [{"image": "a", "psnr": 30.0, "seconds": 0.1}]
    cache = RowCache("k")
    cache.put("a", {"f": "1"}, good)
    cache.put("d", {"f": "1"}, [{"image": "d", "psnr": "abc", "seconds": 0.1}])
    cache.put("e", {"f": "1"}, [{"image": "e", "seconds": 0.1}])  # the metric is absent
    with open(cache.path, "a") as f:
        for line in (
            "[]",
            '{"image": 3}',
            '{"image": "b", "files_sha256": {}, "rows": "x"}',
            '{"image": "c", "files_sha256": {}, "rows": [{"image": "other"}]}',
            "7",
        ):
            f.write(line + "\n")
    again = RowCache("k")
    assert again.get("a", {"f": "1"}, ("psnr",)) == good
    assert again.get("b", {}) is None and again.get("c", {}) is None
    assert again.get("d", {"f": "1"}, ("psnr",)) is None
    assert again.get("e", {"f": "1"}, ("psnr",)) is None
    assert again.hits == ["a"]


def test_an_interrupted_publish_is_seen_as_incomplete(mini, own_shared, monkeypatch):
    import repro.publish as publish_mod

    result = run_table(mini, progress=False)
    _publish(result)
    real_replace = os.replace
    moved = []

    def crash_after_first(src, dst):
        if ".staging-" in str(Path(src).parent) and ".staging-" not in str(dst):
            if moved:  # one file of the set is in place: killed between two renames
                raise KeyboardInterrupt
            moved.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(publish_mod.os, "replace", crash_after_first)
    result.cells[0].reproduced = 1.0  # the new set differs from the saved one
    with pytest.raises(KeyboardInterrupt):
        _publish(result)
    monkeypatch.setattr(publish_mod.os, "replace", real_replace)
    with pytest.raises(SavedResultsError, match="incomplete or altered"):
        load_saved(Destination("mini"))
    leftovers = [p for p in Destination("mini").workspace.root.rglob(".staging-*")]
    assert not leftovers


def test_staging_folders_of_a_killed_publish_are_swept_by_the_next_one(mini, own_shared):
    """kill -9 while publishing leaves the table's staging folders; the next publish of that
    table removes them (it holds the table's lock), another table's are left alone."""
    result = run_table(mini, progress=False)
    dest = Destination("mini")
    for folder in (dest.results, dest.reports):
        folder.mkdir(parents=True, exist_ok=True)
    killed = [dest.results / ".staging-mini-k1ll3d", dest.reports / ".staging-mini-k1ll3d"]
    other = dest.results / ".staging-mini_other-busy1"  # another table, maybe publishing now
    for path in [*killed, other]:
        path.mkdir()
        (path / "mini.csv").write_text("half written")
    _publish(result)
    assert not any(p.exists() for p in killed)
    assert (other / "mini.csv").read_text() == "half written"
    assert load_saved(dest)  # and the new set is complete


def test_a_failed_publish_changes_nothing(mini, own_shared, monkeypatch):
    import repro.report.writer as writer

    result = run_table(mini, progress=False)
    _publish(result)
    before = _published_bytes(Destination("mini"))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "render_table_report", disk_full)
    with pytest.raises(OSError):
        _publish(result)
    assert _published_bytes(Destination("mini")) == before
    assert not list(Destination("mini").workspace.root.rglob(".staging-*"))


def test_publish_waits_for_the_lock_and_gives_up_cleanly(tmp_path):
    from repro.errors import BusyError

    dest = Destination("mini")
    with table_lock(dest):
        # another process holds it: a second holder waits, then fails with one line
        code = (
            "from repro.publish import Destination, table_lock\n"
            "from repro.errors import BusyError\n"
            "try:\n"
            "    with table_lock(Destination('mini'), wait_s=0.5): print('got it')\n"
            "except BusyError as e: print('busy', e)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=dict(os.environ),
            timeout=60,
        )
        assert out.stdout.startswith("busy") and "another run of mini" in out.stdout
    with table_lock(dest, wait_s=0.5):
        pass  # released: free again
    assert BusyError.exit_code == 2


def test_two_runs_of_one_table_at_once_publish_one_consistent_set(tmp_path):
    from repro.workspace import resolve

    ws = resolve(tmp_path / "ws")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "repro", "table", "bicubic_classic", "--datasets", "Set5"]
    cmd += ["--json", "--out", str(ws.root)]
    procs = [
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    saved = load_saved(Destination("bicubic_classic", True, ws))  # the manifest matches
    assert saved["cells"]["partial"] is True
    assert not list(ws.results.rglob(".staging-*"))
    assert not list(ws.reports.rglob(".tmp-*"))


def test_a_broken_saved_table_does_not_break_the_index(tmp_path, workspace):
    from repro.report.writer import write_index

    folder = workspace.results
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "camixer_tab2.cells.json").write_text('{"table": "camixer_tab2", "cells": [')
    (folder / "esc_tab6.manifest.json").write_text("[1, 2")
    (folder / "esc_tab6.cells.json").write_text('{"cells": 5}')
    index = Path(write_index(workspace)).read_text()
    row = next(line for line in index.splitlines() if "`camixer_tab2`" in line)
    assert "no manifest" in row
    assert "malformed" in next(line for line in index.splitlines() if "`esc_tab6`" in line)


def test_published_files_follow_the_umask_and_hold_no_machine_paths(mini, own_shared):
    old = os.umask(0o022)
    try:
        paths = _publish(run_table(mini, progress=False))
    finally:
        os.umask(old)
    for path in paths.values():
        assert os.stat(path).st_mode & 0o777 == 0o644, path
    provenance = Path(paths["results:mini.provenance.json"]).read_text()
    for absolute in (str(own_shared), str(REPO_ROOT), str(Path.home())):
        assert absolute not in provenance


def test_non_finite_model_output_is_refused_never_scored(tmp_path):
    import torch

    from repro.data.loaders import open_dataset
    from repro.eval.runner import Job, evaluate
    from repro.models import build

    module = build("esc", "light", scale=2).eval()
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(float("nan"))
    from repro.eval.loaded import LoadedModel

    data = open_dataset("Set5", 2).limit(1)
    job = Job(
        model="esc-light",
        scale=2,
        dataset="Set5",
        metrics=[("psnr", None)],
        protocol={"channel": "y", "gray": "rgb3", "ssim": "matlab"},
        crop=2,
    )
    with pytest.raises(NonFiniteOutputError, match="Set5/baby.*non-finite"):
        cpu = torch.device("cpu")
        loaded = LoadedModel(module, {"model": "esc-light"}, cpu, cpu)
        evaluate(job, data, progress=False, loaded=loaded)


def test_a_table_cell_of_an_overflowing_model_is_not_run_with_the_reason(tmp_path):
    """Finite but absurd weights overflow to inf/NaN: the cell says so and nothing is scored;
    a checkpoint that already holds NaN is refused when it loads."""
    import torch
    from safetensors.torch import save_file

    from repro.errors import WeightsError
    from repro.models import build

    spec_path = tmp_path / "nan_table.yaml"
    spec_path.write_text(
        "id: nan_table\ntitle: t\nsource: {note: a test spec}\n"
        "protocol: {version: 1, channel: y, crop: scale, gray: rgb3}\ntolerance: {psnr: 0.1}\n"
        "columns: [{dataset: Set5, metric: psnr}]\n"
        "rows: [{id: esc, label: ESC-light x2, model: esc-light, scale: 2, reported: [38.0]}]\n"
    )
    spec = parse_spec(spec_path)
    state = build("esc", "light", 2).state_dict()
    huge, nan = tmp_path / "huge.safetensors", tmp_path / "nan.safetensors"
    save_file({k: torch.full_like(v, 1e30) for k, v in state.items()}, str(huge))
    save_file({k: torch.full_like(v, float("nan")) for k, v in state.items()}, str(nan))

    result = run_table(spec, limit=1, progress=False, weights={"esc": str(huge)})
    (cell,) = result.cells
    assert cell.status == "NOT-RUN" and cell.code == "NON-FINITE-OUTPUT"
    assert cell.reproduced is None and result.frame.empty
    with pytest.raises(WeightsError, match="non-finite"):
        run_table(spec, limit=1, progress=False, weights={"esc": str(nan)})


def test_an_empty_data_root_is_an_error_not_a_silent_fallback(mini, tmp_path):
    from repro.errors import DataError

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds none of the datasets"):
        run_table(mini, data_root=str(empty), progress=False)
    (empty / "Set5").mkdir()  # holds one of them: the other comes from the next root
    shutil.copytree(DATA / "Set5", empty / "Set5", dirs_exist_ok=True)
    result = run_table(mini, data_root=str(empty), progress=False)
    roots = {j["data"]["dataset"]: j["data"]["root"] for j in result.provenance["jobs"]}
    assert roots == {"Set5": "<data-root>/Set5", "Set14": "<shared>/data/Set14"}
