"""CI summaries (issue #14): --summary-md, --fail-on exit codes, and the example workflow."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml

from repro.cli import main as cli_main
from repro.cli.parser import build_parser
from repro.errors import NotRun, NotRunCode
from repro.paths import REPO_ROOT
from repro.report.summary import FAIL_ON_EXIT, parse_fail_on, summary_markdown, write_summary
from repro.table import main as table_main
from repro.tables.compare import Cell, compare
from repro.tables.spec import parse_spec, table_ids
from tests.conftest import copy_reference_run

TINY_SPEC = """
id: tiny
title: two CAMixerSR rows (test spec)
paper: CAMixerSR
source:
  seed: "001_1de6642b683894fd.txt"
  table: "Table 2"
  note: "TRANSCRIPTION NOTE: must stay in the spec"
protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: official}
tolerance: {psnr: 0.02, params: 500}
notes: {tolerance: "MAINTAINERS NOTE: must stay in the spec"}
columns:
  - {metric: params}
  - {dataset: F2K, metric: psnr}
  - {dataset: Set5, metric: psnr}
rows:
  - {id: s, label: "CAMixerSR-Small, γ=0.50", model: camixersr-s, scale: 4,
     settings: {ratio: 0.5}, reported: [351000, 29.08, 32.00]}
  - {id: m, label: "CAMixerSR-Medium, γ=0.50", model: camixersr-m, scale: 4,
     settings: {ratio: 0.5}, reported: [535000, 29.18, 32.10]}
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPEC, encoding="utf-8")
    return parse_spec(path)


def _saved_cells(spec) -> list[Cell]:
    """Cells as a run compares them, written to and read back from a cells document."""
    weights = (
        "weights 'camixersr-m-x4' not available (not downloaded yet); get it with: "
        "repro pull camixersr-m-x4"
    )
    measured = {("s", "-/params"): 351238, ("s", "Set5/psnr"): 31.90, ("m", "-/params"): 534558}
    not_run = {
        ("s", "F2K/psnr"): NotRun(NotRunCode.MISSING_DATA, "dataset F2K not found"),
        ("m", "F2K/psnr"): NotRun(NotRunCode.MISSING_WEIGHTS, weights),
        ("m", "Set5/psnr"): NotRun(NotRunCode.MISSING_WEIGHTS, weights),
    }
    cells = compare(spec, measured, not_run, {("s", "Set5/psnr"): (5, 5)})
    doc = json.loads(json.dumps({"cells": [c.to_dict() for c in cells]}))
    return [Cell.from_dict(c) for c in doc["cells"]]


def test_the_summary_names_table_paper_counts_failures_and_what_is_missing(tiny):
    text = summary_markdown(tiny, _saved_cells(tiny), report="reports/tiny.md")
    lines = text.splitlines()
    assert lines[0] == "### ❌ `tiny`: two CAMixerSR rows (test spec)"
    assert lines[2] == (
        'CAMixerSR: Only Details Need More "Attention" (Y. Wang et al., CVPR 2024), '
        "supplementary material, Table 2"
    )
    # what was measured first: S's Set5 PSNR of 4 PSNR cells, both params
    assert lines[4] == "**quality cells measured: 1 of 4 · cost cells measured: 2 of 2**"
    # 6 cells, all reproducible; params of both rows pass, Set5 PSNR of S is 0.10 dB short
    assert lines[6] == (
        "**2 of 6 reproducible cells reproduced (6 cells in all)** · PASS 2 · FAIL 1 · "
        "NOT-RUN 3 (MISSING-WEIGHTS 2, MISSING-DATA 1)"
    )
    assert "| CAMixerSR-Small, γ=0.50 | Set5 psnr | 32.000 | 31.900 | -0.100 | ±0.020 |" in lines
    assert (
        "Missing here: weights `camixersr-m-x4` (`repro pull <id>`); "
        "data F2K (`--data-root DIR` or `REPRO_DATA`); all of them: `repro get tiny --yes`."
    ) in lines
    assert lines[-1] == "Report: `reports/tiny.md`"
    assert "NOTE" not in text  # neither source.note nor notes


def test_summaries_append_as_github_step_summaries_do(tiny, tmp_path):
    path = tmp_path / "step_summary.md"
    first = summary_markdown(tiny, _saved_cells(tiny))
    write_summary(path, first)
    write_summary(path, "### second table\n")
    assert path.read_text(encoding="utf-8") == first + "\n### second table\n"


def test_fail_on_takes_statuses_and_not_run_codes():
    assert parse_fail_on("FAIL, not-run,MISSING-DATA") == {"FAIL", "NOT-RUN", "MISSING-DATA"}
    assert parse_fail_on(None) == frozenset()
    with pytest.raises(Exception, match="unknown FIAL"):
        parse_fail_on("FIAL")


@pytest.fixture
def saved_bicubic(workspace):
    """The committed complete run of bicubic_classic (16 PASS, 2 IMPROVED), copied with its
    manifest into this test's workspace."""
    copy_reference_run(workspace, "bicubic_classic")


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("FAIL", 0), ("IMPROVED", FAIL_ON_EXIT), ("FAIL,IMPROVED", FAIL_ON_EXIT), ("NOT-RUN", 0)],
)
def test_report_exit_code_follows_fail_on(saved_bicubic, tmp_path, fail_on, code, capsys):
    summary = tmp_path / "summary.md"
    argv = ["report", "bicubic_classic", "--fail-on", fail_on, "--summary-md", str(summary)]
    assert cli_main(argv) == code
    assert FAIL_ON_EXIT not in (0, 2, 130)  # distinct from success, errors and interrupts
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### ✅ `bicubic_classic`")
    assert "**16 of 18 reproducible cells reproduced (18 cells in all)**" in text
    err = capsys.readouterr().err
    assert ("2 cell(s) match --fail-on" in err) == (code == FAIL_ON_EXIT)


def test_an_unknown_fail_on_status_is_a_usage_error_before_anything_is_written(
    saved_bicubic, workspace, capsys
):
    before = (workspace.reports / "bicubic_classic.md").read_bytes()
    assert cli_main(["report", "bicubic_classic", "--fail-on", "FAILED"]) == 2
    assert "unknown FAILED" in capsys.readouterr().err
    assert (workspace.reports / "bicubic_classic.md").read_bytes() == before


def test_a_partial_table_run_exits_on_partial_and_writes_its_summary(tmp_path):
    summary = tmp_path / "summary.md"
    argv = ["bicubic_classic", "--datasets", "Set5", "--limit", "1", "--summary-md", str(summary)]
    assert table_main([*argv, "--fail-on", "PARTIAL"]) == FAIL_ON_EXIT
    text = summary.read_text(encoding="utf-8")
    assert "[PARTIAL RUN: not for reporting]" in text.splitlines()[0]
    # 3 scales x Set5 PSNR/SSIM scored on 1 image; Set14 and B100 left out by --datasets
    assert "PARTIAL 6 · NOT-RUN 12 (NOT-SELECTED 12)" in text
    assert table_main([*argv, "--fail-on", "FAIL"]) == 0  # a partial run judges nothing


def test_a_table_that_cannot_start_says_so_in_its_summary(tmp_path):
    summary = tmp_path / "summary.md"
    missing = tmp_path / "no-such-folder"
    argv = ["bicubic_classic", "--data-root", str(missing), "--summary-md", str(summary)]
    assert table_main(argv) == 2
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### ⚠ `bicubic_classic`: not run") and str(missing) in text


def test_python_m_repro_table_is_repro_table(capsys):
    with pytest.raises(SystemExit) as exc:
        table_main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: repro table [-h]") and "--summary-md PATH" in out


# ----------------------------------------------------------------------- the workflow
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "reproduce.yml"


def _readme_cpu_install() -> list[str]:
    """The README's install for machines without this one's local CPU wheel (PyTorch's CPU
    index first, then the package)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in setup.split("```bash")[1:] if "download.pytorch.org/whl/cpu" in b)
    lines = block.split("```", 1)[0].splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.startswith("pip install")]


def test_the_workflow_parses_and_runs_real_commands_on_real_tables():
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"].count(" ") == 4
    assert {"pull_request", "workflow_dispatch"} <= set(triggers)
    (job,) = doc["jobs"].values()
    tables = job["strategy"]["matrix"]["table"]
    assert tables and set(tables) <= set(table_ids())
    steps = job["steps"]
    runs = [line.strip() for s in steps if "run" in s for line in s["run"].splitlines()]
    install = _readme_cpu_install()
    assert len(install) == 2 and "--index-url https://download.pytorch.org/whl/cpu" in install[0]
    assert runs[: len(install)] == install  # installs exactly as the README says, CPU torch
    commands = [r for r in runs if r.startswith("repro ")]
    assert commands
    for table in tables:
        for command in commands:
            words = shlex.split(command.replace("${{ matrix.table }}", table))
            args = build_parser().parse_args(words[1:])
            assert args.table == table
            assert args.summary_md == "$GITHUB_STEP_SUMMARY"  # GitHub expands it in the shell
            assert parse_fail_on(args.fail_on) == {"FAIL"}
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    paths = upload["with"]["path"].split()
    assert upload["if"] == "always()" and "repro-workspace/reports/" in paths
    assert not re.search(r"\$\{\{\s*secrets\.", WORKFLOW.read_text(encoding="utf-8"))
