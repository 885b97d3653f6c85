"""Results integrity: output folders in the way, test runs beside a complete run, a poisoned row
cache, and (slow, real processes) two runs at once and a killed run."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable

import pytest

from tests.hostile.inputs import copy_set5
from tests.hostile.sandbox import Sandbox, expect_clean, expect_error, expect_ok, sha256

SET5_ONLY = ("bicubic_classic", "--datasets", "Set5")


def _table(sb: Sandbox, *args: str):
    return sb.run("bicubic_classic", *args, module="repro.table")


# -- output folders in the way: one line, before anything is published ----------------------------
def _results_a_file(sb: Sandbox) -> None:
    sb.ws.mkdir()
    sb.res.write_text("x")


def _results_under_a_file(sb: Sandbox) -> None:
    (sb.inp / "afile").write_text("x")
    sb.setenv("REPRO_OUT", sb.inp / "afile" / "ws")


def _reports_a_file(sb: Sandbox) -> None:
    sb.ws.mkdir()
    sb.rep.write_text("x")


def _row_cache_a_file(sb: Sandbox) -> None:
    sb.ws.mkdir()
    sb.row_cache.write_text("x")


def _locks_a_file(sb: Sandbox) -> None:
    sb.ws.mkdir()
    sb.locks.write_text("x")


def _partial_csv_a_folder(sb: Sandbox) -> None:
    """all or nothing: no file of the set may be replaced"""
    (sb.res / "partial" / "bicubic_classic.csv").mkdir(parents=True)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(_results_a_file, id="res-results-is-a-file"),
        pytest.param(_results_under_a_file, id="res-results-parent-is-a-file"),
        pytest.param(_reports_a_file, id="res-reports-is-a-file"),
        pytest.param(_row_cache_a_file, id="res-cache-folder-is-a-file"),
        pytest.param(_locks_a_file, id="res-locks-folder-is-a-file"),
        pytest.param(_partial_csv_a_folder, id="res-partial-csv-is-a-folder"),
    ],
)
def test_an_output_folder_in_the_way(sb, block):
    """a test run of bicubic_classic (one image of Set5) with an output path blocked"""
    block(sb)
    expect_error(_table(sb, "--datasets", "Set5", "--limit", "1"))


def test_res_report_index_reports_under_file(sb):
    """report (the index) with the workspace (REPRO_OUT) under a regular file"""
    (sb.inp / "afile").write_text("x")
    sb.setenv("REPRO_OUT", sb.inp / "afile" / "ws")
    expect_error(sb.run("report"))


# -- test runs beside a complete run ---------------------------------------------------------------
def _outside_partial(key: str) -> bool:
    """A file of the complete run's set (not under results/partial or reports/partial, nor the
    run log, which records every run)."""
    key = key.lstrip("-")
    return key != "ws/runs.jsonl" and not key.startswith(
        ("ws/results/partial/", "ws/reports/partial/")
    )


def _partial_set_matches_its_manifest(sb: Sandbox) -> None:
    manifest = json.loads((sb.res / "partial" / "bicubic_classic.manifest.json").read_text())
    for key, digest in manifest["files"].items():
        kind, name = key.split(":", 1)
        path = (sb.rep if kind == "reports" else sb.res) / "partial" / name
        assert path.is_file() and sha256(path) == digest, f"{key} does not match the manifest"


def test_res_limit_after_full_run(complete_run):
    """--limit 2 after a complete run: exit 0, written only under results/partial/ (and
    reports/partial/), the complete set byte-identical"""
    r = _table(complete_run, "--limit", "2")
    expect_ok(r)
    assert not r.written(_outside_partial), "changed the complete run"
    _partial_set_matches_its_manifest(complete_run)


def test_res_datasets_after_full_run(complete_run):
    """--datasets Set5 after a complete run: the complete set untouched"""
    r = _table(complete_run, "--datasets", "Set5")
    expect_ok(r)
    assert not r.written(_outside_partial), "changed the complete run"


def test_res_full_rerun_losing_data(reference_run):
    """a full rerun with only Set5 reachable after a complete run of every dataset: exit 2, one
    line, the complete set untouched (the run goes to results/partial/)"""
    sb = reference_run
    root = copy_set5(sb.root / "data")
    sb.setenv("REPRO_SHARED", sb.empty)
    r = _table(sb, "--data-root", str(root))
    expect_error(r, "partial", allow_written=lambda k: not _outside_partial(k))


# -- a poisoned row cache: recomputed, or refused cleanly; never averaged in ----------------------
def _cache_files(sb: Sandbox):
    files = sorted(sb.row_cache.rglob("*.jsonl"))
    assert files, "the complete run left no row cache"
    return files


def _reused(r) -> int:
    found = re.search(r"(\d+) reused from the cache", r.stdout)
    return int(found.group(1)) if found else 0


def _set5_x2_psnr(cells: list[dict]) -> float:
    return next(
        c["reproduced"]
        for c in cells
        if c["row"] == "bicubic-x2" and c["dataset"] == "Set5" and c["metric"] == "psnr"
    )


def test_res_cache_malformed_lines(complete_run):
    """row cache files with a garbage line, a cut line, a JSON list and null: rerun exits 0 and
    still reuses the good rows"""
    for f in _cache_files(complete_run):
        text = f.read_text()
        first = text.splitlines()[0]
        f.write_text(text + "{not json\n" + first[: len(first) // 2] + "\n[1, 2]\nnull\n")
    r = _table(complete_run, "--datasets", "Set5")
    expect_ok(r)
    assert _reused(r) > 0, "cache not reused"


def test_res_cache_non_utf8_bytes(complete_run):
    """row cache files with invalid UTF-8 bytes appended: rerun exits 0"""
    for f in _cache_files(complete_run):
        with open(f, "ab") as h:
            h.write(b"\xff\xfe\xfa garbage\n")
    expect_ok(_table(complete_run, "--datasets", "Set5"))


def _psnr_abc(entry: dict) -> dict:
    entry["rows"][0]["psnr"] = "abc"
    return entry


def _no_metrics(entry: dict) -> dict:
    """not averaged over 4 images"""
    entry["rows"] = [{"image": "baby", "dataset": "Set5", "scale": 2}]
    return entry


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_psnr_abc, id="res-cache-value-not-a-number"),
        pytest.param(_no_metrics, id="res-cache-row-without-metrics"),
    ],
)
def test_a_poisoned_cache_entry(complete_run, change: Callable[[dict], dict]):
    """the cached entry of Set5 x2 'baby' rewritten; rerun --datasets Set5 --json: recomputed
    (the Set5 x2 PSNR equals the clean run's) or refused cleanly"""
    sb = complete_run
    clean_psnr = _set5_x2_psnr(
        json.loads((sb.res / "bicubic_classic.cells.json").read_text())["cells"]
    )
    done = False
    for f in _cache_files(sb):
        out = []
        for line in f.read_text().splitlines():
            e = json.loads(line)
            row = e["rows"][0]
            if (
                not done
                and e["image"] == "baby"
                and (row.get("dataset"), row.get("scale")) == ("Set5", 2)
            ):
                e, done = change(e), True
            out.append(json.dumps(e))
        f.write_text("\n".join(out) + "\n")
    assert done, "no cached Set5 x2 baby entry"
    r = _table(sb, "--datasets", "Set5", "--json")
    expect_clean(r)
    if r.rc == 0:
        got = _set5_x2_psnr(json.loads(r.stdout)["cells"])
        assert isinstance(got, float) and got == pytest.approx(clean_psnr, abs=1e-9), (
            f"Set5 x2 PSNR {got} from the poisoned cache, clean run {clean_psnr}"
        )


# -- real processes: two at once, and one killed ---------------------------------------------------
def _stderr_lines(err: bytes) -> list[str]:
    shown = [s.split("\r")[-1] for s in err.decode("utf-8", "backslashreplace").split("\n")]
    return [s for s in shown if s.strip()]


@pytest.mark.slow
def test_res_two_runs_at_once(sb):
    """two repro.table bicubic_classic --datasets Set5 at the same time: each exits 0 or with one
    clean line, at least one succeeds; the published set matches its manifest, no staging folder
    is left, and report works"""
    procs = [sb.popen(*SET5_ONLY, module="repro.table") for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert b"Traceback" not in err and p.returncode in (0, 2), err.decode()[-2000:]
        assert p.returncode == 0 or len(_stderr_lines(err)) == 1, err.decode()[-2000:]
    assert any(p.returncode == 0 for p in procs), "neither run succeeded"
    _partial_set_matches_its_manifest(sb)
    stale = [p.name for p in [*sb.res.rglob(".staging-*"), *sb.rep.rglob(".staging-*")]]
    assert not stale, f"staging left: {stale}"
    expect_ok(sb.run("report"), "index.md")


@pytest.mark.slow
def test_res_kill_9_then_resume(sb):
    """kill -9 a repro.table bicubic_classic --datasets Set5 run once it has cached rows: nothing
    is published; the rerun exits 0 and reuses the cached rows"""
    p = sb.popen(*SET5_ONLY, module="repro.table")
    deadline, rows = time.monotonic() + 120, 0
    while time.monotonic() < deadline and p.poll() is None and rows < 2:
        files = sb.row_cache.rglob("*.jsonl") if sb.row_cache.is_dir() else []
        rows = sum(len(f.read_text(errors="replace").splitlines()) for f in files)
        time.sleep(0.05)
    assert p.poll() is None, f"the run ended (rc {p.returncode}) before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    published = [k for k in sb.snapshot() if k.startswith(("ws/results/", "ws/reports/"))]
    assert not published, f"the killed run published {published[:3]}"
    r = _table(sb, "--datasets", "Set5")
    expect_ok(r)
    assert _reused(r) >= 1, f"the rerun reused nothing (the cache had {rows} rows)"
