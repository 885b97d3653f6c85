"""One run context (issue #21): the CLI resolves the spec (checked), the device, the datasets and
the workspace once; running, publishing and explaining reuse what it opened and loaded. CI
flags and their paths are checked before anything runs (issue #20)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

import repro.eval.loaded as loaded
import repro.tables.context as context
from repro.cli import main
from repro.errors import SpecError
from repro.tables.context import prepare
from repro.tables.run import measure, plan, run
from repro.tables.spec import SPECS_DIR, parse_spec
from repro.tables.validate import validate
from tests.conftest import copy_reference_run

TWO_ROWS = """
id: two_rows
title: a runnable row and a row whose checkpoint is absent (test spec)
source: {note: a test spec}
protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: official}
tolerance: {psnr: 0.05, musiq: 1, params: 1000}
columns:
  - {metric: params}
  - {dataset: Set5, metric: psnr}
  - {dataset: Set5, metric: musiq}
  - {dataset: Set14, metric: psnr}
rows:
  - {id: bic, label: Bicubic x4, model: bicubic, scale: 4, reported: [null, 28.42, null, 26.0]}
  - {id: cam-m, label: CAMixerSR-M, model: camixersr-m, scale: 4, settings: {ratio: 0.5},
     reported: [535000, 32.2, null, 28.6]}
"""


@pytest.fixture
def two_rows(tmp_path):
    path = tmp_path / "two_rows.yaml"
    path.write_text(TWO_ROWS)
    return parse_spec(path)


def test_plan_measure_compare_keep_each_cells_reason(two_rows):
    # ../shared holds no CAMixerSR-M checkpoint
    ctx = prepare(two_rows, device="cpu", datasets=["Set5"], limit=1, progress=False)
    the_plan = plan(ctx)
    assert {k: str(v.code) for k, v in the_plan.not_selected.items()} == {
        ("bic", "Set14/psnr"): "NOT-SELECTED",
        ("cam-m", "Set14/psnr"): "NOT-SELECTED",
    }
    bic, cam = the_plan.rows
    assert [c.key for c in bic.cost] == ["-/params"]
    assert [c.key for c in bic.images["Set5"]] == ["Set5/psnr"]
    assert set(bic.unready) == {"Set5/musiq"}  # pyiqa is not installed in the base env
    measured = measure(ctx, the_plan)
    codes = {k: str(v.code) for k, v in measured.not_run.items()}
    assert codes[("bic", "Set5/musiq")] == "MISSING-EXTRA"  # the metric's own reason
    # the row without its checkpoint: every image cell waits for it, the unready one too ...
    assert codes[("cam-m", "Set5/psnr")] == codes[("cam-m", "Set5/musiq")] == "MISSING-WEIGHTS"
    # ... and its params are still counted on the architecture (the paper's 535 K)
    assert measured.values[("cam-m", "-/params")] == pytest.approx(535_000, abs=500)
    assert measured.counts[("bic", "Set5/psnr")] == (1, 5)
    result = run(ctx)
    assert result.workspace == ctx.workspace and result.partial


def test_a_run_and_validate_refuse_a_bad_spec_with_the_same_line(tmp_path, capsys):
    text = (
        (SPECS_DIR / "bicubic_classic.yaml").read_text().replace("model: bicubic", "model: bicubik")
    )
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace("id: bicubic_classic", "id: typo"))
    with pytest.raises(SpecError) as from_validate:
        validate(str(path))
    ws = tmp_path / "ws"
    assert main(["table", str(path), "--out", str(ws)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {from_validate.value}"
    assert "typo.yaml" in err and "key 'rows[bicubic-x2].model': unknown model 'bicubik'" in err
    assert not ws.exists()


def test_the_device_is_resolved_once_and_each_model_placed_once(monkeypatch, capsys, tmp_path):
    import repro.eval.runner as runner
    import repro.tables.explain as explain
    import repro.tables.run as table_run

    # only the context resolves a device; running and explaining take the resolved one
    for module in (runner, table_run, explain):
        assert not hasattr(module, "resolve_device"), module.__name__
    resolved, placed = [], []
    real_resolve, real_place = context.resolve_device, loaded.placement
    monkeypatch.setattr(context, "resolve_device", lambda d: resolved.append(d) or real_resolve(d))
    monkeypatch.setattr(loaded, "placement", lambda m, d: placed.append(m) or real_place(m, d))
    argv = ["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1", "--json"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert resolved == ["auto"]
    assert placed == ["bicubic"] * 3  # three rows (x2, x3, x4), each placed once


SET5_X3 = """
id: set5_x3
title: bicubic x3 on Set5, its SSIM reported low on purpose (test spec)
source: {note: a test spec}
protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: official}
tolerance: {psnr: 0.05, ssim: 0.0005}
columns:
  - {dataset: Set5, metric: psnr}
  - {dataset: Set5, metric: ssim}
rows:
  - {id: bic-x3, label: Bicubic x3, model: bicubic, scale: 3, reported: [30.39, 0.8682]}
"""


def test_the_explainer_reuses_the_runs_dataset_and_model(tmp_path, monkeypatch):
    from repro.cli.commands import gap_sections

    path = tmp_path / "set5_x3.yaml"
    path.write_text(SET5_X3)
    opened, loads = [], []
    real_open, real_load = context.open_dataset, loaded.load_model
    monkeypatch.setattr(
        context, "open_dataset", lambda *a, **k: opened.append(a) or real_open(*a, **k)
    )
    monkeypatch.setattr(loaded, "load_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    ctx = prepare(path, device="cpu", progress=False)
    result = run(ctx)
    ssim = next(c for c in result.cells if c.metric == "ssim")
    assert ssim.status == "IMPROVED"  # 0.8689 measured against 0.8682 reported
    assert (len(opened), len(loads)) == (1, 1)
    (section,) = gap_sections(ctx, result)
    assert "### Bicubic x3 · Set5 x3 · ssim" in section and "ssim=skimage" in section
    assert (len(opened), len(loads)) == (1, 1)  # nothing opened or loaded again


# -- CI flags, checked before anything runs ---------------------------------------------------
def _refused(capsys, argv, needle, ws):
    assert main([*argv, "--out", str(ws)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "REPRO_RESULTS" not in err and "REPRO_CACHE" not in err
    assert not ws.exists()


@pytest.mark.parametrize("command", ["table", "report"])
@pytest.mark.parametrize(
    "target, needle",
    [
        ("{tmp}", "--summary-md {tmp} is a folder"),
        ("{tmp}/no/such/summary.md", "folder {tmp}/no/such does not exist"),
        ("{tmp}/fifo", "is not a regular file"),
        ("", "--summary-md is empty"),
    ],
    ids=["folder", "no-parent", "fifo", "empty"],
)
def test_a_bad_summary_md_is_refused_before_anything_runs(
    tmp_path, capsys, command, target, needle
):
    os.mkfifo(tmp_path / "fifo")  # appending to a FIFO without a reader hangs
    reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)  # a slip fails, not hangs
    target, needle = target.format(tmp=tmp_path), needle.format(tmp=tmp_path)
    argv = [command, "bicubic_classic", "--summary-md", target]
    try:
        _refused(capsys, argv, needle, tmp_path / "ws")
    finally:
        os.close(reader)


@pytest.mark.parametrize("command", ["table", "report"])
def test_an_empty_fail_on_is_an_error_not_no_gate(tmp_path, capsys, command):
    _refused(capsys, [command, "bicubic_classic", "--fail-on", ""], "--fail-on ''", tmp_path / "ws")


@pytest.fixture
def saved_elsewhere(workspace):
    """The reference run of bicubic_classic copied into the test's workspace; returns a
    function that sets the code identity its manifest records."""
    copy_reference_run(workspace, "bicubic_classic")

    def made_by(code: str) -> None:
        # other code's run records its code in the provenance (which a report re-renders the
        # manifest from) and in the manifest, which lists the provenance's sha256
        prov_path = workspace.results / "bicubic_classic.provenance.json"
        prov = json.loads(prov_path.read_text())
        prov["code"]["sha256"] = code
        prov_path.write_text(json.dumps(prov))
        path = workspace.results / "bicubic_classic.manifest.json"
        current = json.loads(path.read_text())
        files = {**current["files"]}
        files["results:bicubic_classic.provenance.json"] = hashlib.sha256(
            prov_path.read_bytes()
        ).hexdigest()
        path.write_text(json.dumps({**current, "files": files, "code_sha256": code}))

    return made_by


def test_report_says_when_results_were_made_by_other_code_and_can_gate_on_it(
    saved_elsewhere, capsys
):
    saved_elsewhere("0" * 64)
    argv = ["report", "bicubic_classic", "--fail-on", "STALE"]
    assert main(argv) == 3
    out = capsys.readouterr()
    assert "produced by other code than this one" in out.out
    assert "STALE" in out.err and "rerun: repro table bicubic_classic" in out.err
    assert main(["report", "bicubic_classic", "--fail-on", "FAIL"]) == 0  # said, not gated
    assert "produced by other code" in capsys.readouterr().out
    from repro.tables.code_key import table_code
    from repro.tables.spec import load_spec

    saved_elsewhere(table_code(load_spec("bicubic_classic")).sha256)  # this code: no note
    assert main(argv) == 0
    assert "other code" not in capsys.readouterr().out
