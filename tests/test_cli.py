"""The command line as a user runs it: JSON on stdout, one-line errors, no partial results.

Commands run in-process (:func:`tests.cli_run.run_cli`); a few end-to-end runs start the real
``python -m`` entry points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from repro.paths import REPO_ROOT
from tests.cli_run import run_cli
from tests.conftest import DATA, SHARED


def run(*args, env_extra=None, timeout=300):
    """``python -m args`` as a child process (end-to-end tests)."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=timeout,
    )


# -- end to end: the real entry points ----------------------------------------------------------
def test_ls_tables_imports_no_torch():
    """`ls tables` must stay instant: it reads YAML only, never imports torch (the slow part)."""
    code = (
        "import sys, io, contextlib; from repro.cli import main; buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf): rc = main(['ls', 'tables', '--json'])\n"
        "print(rc, 'torch' in sys.modules, len(buf.getvalue()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    rc, imported, size = out.stdout.split()
    assert (rc, imported) == ("0", "False"), out.stderr
    assert int(size) > 100


def test_a_table_run_as_a_process_prints_one_json_document(tmp_path):
    """`python -m repro.table ... --json`: exit 0 and stdout exactly the JSON document (progress
    bars go to stderr)."""
    out = run(
        "repro.table",
        "bicubic_classic",
        "--datasets",
        "Set5",
        "--limit",
        "1",
        "--json",
        env_extra={"REPRO_OUT": str(tmp_path / "ws")},
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["table"] == "bicubic_classic" and doc["partial"] is True
    assert "Traceback" not in out.stderr


# -- in-process ----------------------------------------------------------------------------------
def test_ls_tables_json_lists_the_specs():
    ids = [t["id"] for t in json.loads(run_cli("ls", "tables", "--json").stdout)]
    assert "bicubic_classic" in ids and "camixer_tab2" in ids


@pytest.mark.parametrize("what", ["datasets", "models", "metrics"])
def test_ls_json_lists_entries(what):
    out = run_cli("ls", what, "--json")
    assert out.rc == 0, out.stderr
    ids = {e["id"] for e in json.loads(out.stdout)}
    expected = {"datasets": "Set5", "models": "bicubic", "metrics": "psnr"}[what]
    assert expected in ids


@pytest.mark.parametrize(
    "module, command",
    [
        ("repro", []),
        ("repro", ["ls"]),
        ("repro", ["validate"]),
        ("repro", ["table"]),
        ("repro", ["eval"]),
        ("repro", ["score"]),
        ("repro", ["pull"]),
        ("repro", ["verify"]),
        ("repro.table", []),
    ],
)
def test_every_help_ends_with_examples(module, command):
    out = run_cli(*command, "--help", module=module)
    assert out.rc == 0 and "examples:" in out.stdout.split("\n\n")[-1], out.stdout


def test_score_pair_and_folders_json():
    hr = DATA / "Set5" / "HR"
    out = run_cli(
        "score", "psnr", "--ref", str(hr / "baby.png"), "--dist", str(hr / "baby.png"), "--json"
    )
    doc = json.loads(out.stdout)
    assert doc["values"]["baby.png"] == "inf"
    baboon = SHARED / "oracles" / "calibration" / "baboon"
    out = run_cli(
        "score",
        "psnr",
        "--ref",
        str(baboon / "baboon_gt.png"),
        "--dist",
        str(baboon / "baboon_lr_uint8_then_up.png"),
        "--channel",
        "rgb",
        "--crop",
        "4",
        "--json",
    )
    assert json.loads(out.stdout)["mean"] == pytest.approx(20.419710, abs=1e-4)


def test_eval_json_has_rows_and_means():
    out = run_cli("eval", "--model", "bicubic", "--scale", "4", "--dataset", "Set5", "--json")
    assert out.rc == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["rows"]) == 5 and doc["means"][0]["images"] == 5
    assert 28.0 < doc["means"][0]["psnr"] < 29.0


def test_table_json_cells_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_OUT", str(tmp_path))
    out = run_cli("bicubic_classic", "--datasets", "Set5", "--json", module="repro.table")
    assert out.rc == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["table"] == "bicubic_classic" and doc["protocol_version"] >= 1
    keys = {
        "row",
        "dataset",
        "scale",
        "metric",
        "reported",
        "reproduced",
        "delta",
        "status",
        "code",
        "reason",
    }
    assert all(keys <= set(c) for c in doc["cells"])
    set5 = [c for c in doc["cells"] if c["dataset"] == "Set5"]
    assert set5 and all(c["status"] in ("PASS", "IMPROVED", "FAIL") for c in set5)
    others = [c for c in doc["cells"] if c["dataset"] != "Set5"]
    assert others and all(c["code"] == "NOT-SELECTED" for c in others)
    # a --datasets run is a test run: written beside the complete results, never over them
    assert doc["partial"] is True
    assert (tmp_path / "results" / "partial" / "bicubic_classic.csv").is_file()
    assert (tmp_path / "reports" / "partial" / "bicubic_classic.md").is_file()
    assert not (tmp_path / "results" / "bicubic_classic.csv").exists()
    assert not (tmp_path / "reports" / "index.md").exists()


@pytest.mark.parametrize(
    "args, module, message",
    [
        (["no_such_table"], "repro.table", "unknown table"),
        (
            ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set6"],
            "repro",
            "unknown dataset",
        ),
        (["score", "psnrr", "--ref", "a", "--dist", "b"], "repro", "unknown metric"),
        (
            ["eval", "--model", "nosuch", "--scale", "2", "--dataset", "Set5"],
            "repro",
            "unknown model",
        ),
    ],
)
def test_unknown_names_fail_in_one_line(args, module, message, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_OUT", str(tmp_path))
    out = run_cli(*args, module=module)
    assert out.rc == 2 and message in out.stderr
    assert len(out.lines) == 1, out.stderr
    assert not any(tmp_path.iterdir())


def test_corrupt_dataset_file_fails_without_partial_results(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(DATA / "Set5", root / "Set5")
    bad = root / "Set5" / "LR_bicubic" / "X2" / "womanx2.png"
    bad.write_bytes(bad.read_bytes()[:100])
    ws = tmp_path / "ws"
    monkeypatch.setenv("REPRO_OUT", str(ws))
    out = run_cli(
        "bicubic_classic", "--datasets", "Set5", "--data-root", str(root), module="repro.table"
    )
    assert out.rc == 2 and "womanx2.png" in out.stderr
    assert not list(ws.glob("results/**/bicubic_classic.csv"))
    assert not list(ws.glob("reports/**/bicubic_classic.md"))


def test_validate_reports_missing_without_running():
    out = run_cli("validate", "bicubic_classic", "--json")
    assert out.rc == 0, out.stderr
    doc = json.loads(out.stdout)
    assert any("Set5" in r for r in doc["ready"])


def test_validate_missing_data_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path))
    doc = json.loads(run_cli("validate", "bicubic_classic", "--json").stdout)
    assert any(line.startswith("data Set5") for line in doc["missing"])


def test_report_index_lists_every_table(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_OUT", str(tmp_path))
    out = run_cli("report")
    assert out.rc == 0, out.stderr
    text = (tmp_path / "reports" / "index.md").read_text()
    assert "`bicubic_classic`" in text and "`camixer_tab2`" in text


def test_eval_on_an_lr_only_set_scores_niqe():
    out = run_cli(
        "eval",
        "--model",
        "bicubic",
        "--scale",
        "4",
        "--dataset",
        "RealSRSet",
        "--limit",
        "2",
        "--json",
    )
    assert out.rc == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [sorted(k for k in r if k in ("psnr", "niqe")) for r in doc["rows"]] == [["niqe"]] * 2
    assert 2.0 < doc["means"][0]["niqe"] < 20.0


def test_pre_upsampled_real_lr_is_refused_with_the_reason():
    out = run_cli(
        "eval", "--model", "bicubic", "--scale", "4", "--dataset", "RealSR", "--limit", "1"
    )
    assert out.rc == 2 and "pre-upsampled" in out.stderr
