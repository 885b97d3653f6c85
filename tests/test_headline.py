"""Issue #24, point 1: every summary of a run states the quality cells measured apart from the
cost cells, before any verdict count; a table that measured no quality cell gets no ✅, says so
plainly with what would let it be measured, and --fail-on NO-QUALITY can fail it.

The cases are the committed reference runs (complete runs of the tables here): camixer_tab2, the
README's headline example, whose 48 PSNR cells are all NOT-RUN while its 60 params/FLOPs cells
pass, and bicubic_classic, whose 18 PSNR/SSIM cells were all measured.
"""

from __future__ import annotations

import json

import pytest

from repro.cli import main
from repro.paths import REPO_ROOT
from repro.report.coverage import coverage
from repro.report.page import summary_section
from repro.report.summary import FAIL_ON_EXIT, parse_fail_on, summary_markdown
from repro.report.writer import write_index
from repro.tables.compare import Cell
from repro.tables.spec import load_spec
from tests.conftest import copy_reference_run

TAB2_LINE = "quality cells measured: 0 of 48 · cost cells measured: 60 of 60"


def _cells(table: str) -> list[Cell]:
    doc = json.loads((REPO_ROOT / "results" / f"{table}.cells.json").read_text())
    return [Cell.from_dict(c) for c in doc["cells"]]


def test_camixer_tab2_counts_its_psnr_cells_apart_from_params_and_flops():
    spec = load_spec("camixer_tab2")
    # from the spec alone: 12 rows x 4 PSNR columns, and 12 x (params + 4 FLOPs columns)
    psnr = sum(c.metric == "psnr" for c in spec.columns) * len(spec.rows)
    cost = sum(c.metric in ("params", "flops") for c in spec.columns) * len(spec.rows)
    assert (psnr, cost) == (48, 60)
    cov = coverage(_cells("camixer_tab2"))
    assert (cov.quality, cov.quality_total, cov.cost, cov.cost_total) == (0, 48, 60, 60)
    assert cov.no_quality and cov.line() == TAB2_LINE


def test_other_methods_rows_count_in_neither_total():
    # camixer_light: 6 REPORTED-ONLY rows of other methods (72 cells) beside the 3 rows that run
    # (CAMixerSR, and IMDN and SwinIR-light through their public checkpoints): 12 cells each
    cov = coverage(_cells("camixer_light"))
    assert (cov.quality_total, cov.cost_total) == (30, 6)


def test_the_ci_summary_of_camixer_tab2_has_no_tick_and_says_why():
    from repro.tables.claim_verdicts import judge_claims

    spec, cells = load_spec("camixer_tab2"), _cells("camixer_tab2")
    text = summary_markdown(spec, cells, judge_claims(spec.claims, cells))
    assert "✅" not in text and text.startswith("### ⚠ `camixer_tab2`")
    lines = text.splitlines()
    measured = lines.index(f"**{TAB2_LINE}**")
    claims = next(i for i, line in enumerate(lines) if line.startswith("**Claims:**"))
    counts = next(i for i, line in enumerate(lines) if "PASS 60" in line)
    assert measured < claims < counts  # what was measured comes before any verdict count
    plain = lines[measured + 2]
    assert plain.startswith("**No quality number was reproduced: none of the 48 quality cells")
    # what would let it be: the two checkpoints absent here and the four large-image sets
    assert "`repro pull camixersr-m-x4 camixersr-b-x4`" in plain
    for name in ("F2K", "Test2K", "Test4K", "Test8K"):
        assert f"`repro fetch {name}`" in plain
    assert "only cost cells (params, flops) were compared" in plain
    assert "Missing here" not in text  # the same advice is not given twice


def test_a_table_that_measured_its_quality_keeps_its_tick():
    text = summary_markdown(load_spec("bicubic_classic"), _cells("bicubic_classic"))
    assert text.startswith("### ✅ `bicubic_classic`")
    assert "**quality cells measured: 18 of 18 · cost cells measured: 0 of 0**" in text
    assert "No quality number" not in text


def test_the_report_summary_states_the_counts_first():
    section = summary_section(load_spec("camixer_tab2"), _cells("camixer_tab2"))
    lines = section.splitlines()
    assert lines[:3] == ["## Summary", "", f"**{TAB2_LINE}**"]
    assert lines[4].startswith("**No quality number was reproduced")
    assert lines[6].startswith("**60 of 108 reproducible cells reproduced")


def test_the_report_states_what_was_measured_before_the_claims_verdicts():
    from repro.report.page import table_markdown
    from repro.tables.claim_verdicts import judge_claims

    spec, cells = load_spec("camixer_tab2"), _cells("camixer_tab2")
    text = table_markdown(spec, cells, {}, [], judge_claims(spec.claims, cells))
    assert text.index(f"**{TAB2_LINE}**") < text.index("## The paper's claims")


def test_the_index_states_the_counts_before_the_status_counts(workspace):
    copy_reference_run(workspace, "camixer_tab2")
    index = write_index(workspace)
    lines = open(index, encoding="utf-8").read().splitlines()
    header = lines[2].split("|")
    assert header.index(" measured ") < header.index(" status counts ")
    row = next(line for line in lines if "`camixer_tab2`" in line)
    assert row.index(TAB2_LINE) < row.index("PASS 60")


def test_fail_on_no_quality_fails_camixer_tab2_and_not_bicubic(workspace, capsys):
    assert parse_fail_on("no-quality,FAIL") == {"NO-QUALITY", "FAIL"}
    copy_reference_run(workspace, "camixer_tab2")
    copy_reference_run(workspace, "bicubic_classic")
    assert main(["report", "camixer_tab2", "--fail-on", "NO-QUALITY"]) == FAIL_ON_EXIT
    err = capsys.readouterr().err
    assert f"fail-on: camixer_tab2: NO-QUALITY: {TAB2_LINE}" in err
    assert main(["report", "bicubic_classic", "--fail-on", "NO-QUALITY"]) == 0
    assert main(["report", "camixer_tab2", "--fail-on", "FAIL"]) == 0  # no cell fails


def test_a_table_run_that_measured_no_quality_fails_on_no_quality(workspace, capsys):
    """The gate on the run itself, not only on its saved results: published, then exit 3."""
    assert main(["table", "camixer_tab2", "--quiet", "--fail-on", "NO-QUALITY"]) == FAIL_ON_EXIT
    out, err = capsys.readouterr()
    assert TAB2_LINE in out and f"fail-on: camixer_tab2: NO-QUALITY: {TAB2_LINE}" in err
    assert (workspace.results / "camixer_tab2.cells.json").is_file()


@pytest.mark.parametrize("command", ["table", "report"])
def test_the_help_documents_no_quality(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "NO-QUALITY" in "".join(capsys.readouterr().out.split())  # as argparse wraps it


def test_the_terminal_ends_with_the_counts_then_the_verdicts(workspace, capsys):
    from repro.cli.table_output import print_cells
    from repro.tables.run import recompare

    copy_reference_run(workspace, "camixer_tab2")
    result = recompare(load_spec("camixer_tab2"), workspace=workspace)
    print_cells(result, {})
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(TAB2_LINE)
    assert lines[at + 1].startswith("No quality number was reproduced")
    assert "repro pull camixersr-m-x4 camixersr-b-x4" in lines[at + 1]
    # then the claims' verdicts, then the cells'
    assert lines[at + 2] == "claims:"
    status = next(i for i, line in enumerate(lines) if line.startswith("status:"))
    assert lines[status] == "status: PASS 60 · NOT-RUN 48 (MISSING-WEIGHTS 32, MISSING-DATA 16)"
    assert at + 2 < status == len(lines) - 3  # then only the images line and the files written
    assert not any("PASS" in line for line in lines[at : at + 2])
