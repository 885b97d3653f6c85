"""Issue #24, point 2 (and #22, point 7): a table run's terminal fits a person. By default the
measured cells, and the cells not measured as groups with their count and one fix (``--all``
lists every cell); labels never cut so that two rows read the same; no paragraph twice; the
claims after the cells with the numbers behind them; ``repro validate`` groups the rows that
wait for the same input.

The tables are the committed reference runs re-compared (nothing is run), and a short
bicubic run for the flags.
"""

from __future__ import annotations

import json

from repro.cli import main
from repro.cli.table_output import print_cells
from repro.paths import REPO_ROOT
from repro.tables.run import recompare
from repro.tables.spec import load_spec
from tests.conftest import copy_reference_run


def _printed(workspace, capsys, table: str, **flags) -> list[str]:
    """The terminal of a committed run of ``table``, re-compared in the test's workspace."""
    copy_reference_run(workspace, table)
    result = recompare(load_spec(table), workspace=workspace)
    print_cells(result, {}, **flags)
    return capsys.readouterr().out.splitlines()


def _saved_cells(table: str) -> list[dict]:
    return json.loads((REPO_ROOT / "results" / f"{table}.cells.json").read_text())["cells"]


def test_labels_are_never_cut_so_rows_stay_apart(workspace, capsys):
    """camixer_s_record has 14 rows whose labels share their first 24 characters in fives
    ("CAMixerSR-S γ=0.5 offici..."); each printed cell line names its own row in full."""
    lines = _printed(workspace, capsys, "camixer_s_record")
    header = lines[1]
    width = header.index("dataset")  # the label column: up to the next column's start
    cells = [c for c in _saved_cells("camixer_s_record") if c["reproduced"] is not None]
    printed = [line[:width].rstrip() for line in lines[2 : 2 + len(cells)]]
    assert printed == [c["label"] for c in cells]  # every measured cell, its label in full
    assert len(set(printed)) == len(load_spec("camixer_s_record").rows) == 14


def test_other_methods_and_missing_weights_are_groups_not_lines(workspace, capsys):
    """camixer_light: the measured cells (CAMixerSR's params and MAdds, IMDN's row through its
    public checkpoint) are lines; 72 cells of 6 other methods' rows, 10 PSNR/SSIM cells waiting
    for CAMixerSR-B's checkpoint and SwinIR-light's 12 cells waiting for the zoo extra are one
    group line each; --all lists all 108."""
    lines = _printed(workspace, capsys, "camixer_light")
    measured = [c for c in _saved_cells("camixer_light") if c["reproduced"] is not None]
    cells = [line for line in lines if line.startswith(("CAMixerSR ", "IMDN "))]
    assert len(cells) == len(measured) == 14
    assert [line.split()[2] for line in cells if line.startswith("CAMixerSR")] == [
        "params",
        "madds",
    ]
    assert "   72 cells  REPORTED-ONLY: 6 rows of other methods" in "\n".join(lines)
    (weights,) = [line for line in lines if line.lstrip().startswith("10 cells")]
    assert weights.split() == [
        "10", "cells", "MISSING-WEIGHTS", "camixersr-b-x4", "(CAMixerSR):",
        "repro", "pull", "camixersr-b-x4",
    ]  # fmt: skip
    (extra,) = [line for line in lines if "MISSING-EXTRA" in line and " cells  " in line]
    assert extra.split()[:4] == ["12", "cells", "MISSING-EXTRA", "(SwinIR-light):"]
    assert 'pip install "repro[zoo]"' in extra
    assert len(lines) < len(cells) + 15
    everything = _printed(workspace, capsys, "camixer_light", show_all=True)
    statuses = ("REPORTED-ONLY", "FAIL", "PASS", "images)", "(MISSING-WEIGHTS)", "(MISSING-EXTRA)")
    assert len([line for line in everything if line.endswith(statuses)]) == 108
    assert not any(" cells  " in line for line in everything)  # listed, not grouped


def test_a_large_table_repeats_no_line(workspace, capsys):
    """esc_main printed 593 lines, the same missing-weights advice on many; now each thing
    to get is said once, with its count."""
    lines = _printed(workspace, capsys, "esc_main")
    assert len(lines) < 60
    assert len(set(lines)) == len(lines)
    saved = _saved_cells("esc_main")
    others = sum(c["status"] == "REPORTED-ONLY" for c in saved)
    assert f"{others:>5} cells  REPORTED-ONLY" in "\n".join(lines)
    for weights in ("esc-fp-x2", "esc-light-x3", "esc-x4"):
        (line,) = [line for line in lines if f"MISSING-WEIGHTS {weights} " in line]
        assert line.endswith(f"repro pull {weights}")


def test_claims_come_after_the_cells_with_the_numbers_behind_them(workspace, capsys):
    lines = _printed(workspace, capsys, "camixer_s_record")
    at = lines.index("claims:")
    last_cell = max(i for i, line in enumerate(lines) if line.endswith("MEASURED"))
    counts = lines.index("quality cells measured: 84 of 84 · cost cells measured: 0 of 0")
    # the cells, then what was measured, then the claims' verdicts, then the cells' verdicts
    assert last_cell < counts < at < next(i for i, x in enumerate(lines) if x.startswith("status:"))
    # the numbers behind "half the attention suffices": γ=1.0 minus γ=0.5 PSNR on each
    # classic set, as saved, against the claim's bound of 0.05 dB
    value = {
        (c["row"], c["dataset"], c["metric"]): c["reproduced"]
        for c in _saved_cells("camixer_s_record")
    }
    gaps = [
        value[("s-r1.0-official", name, "psnr")] - value[("s-r0.5-official", name, "psnr")]
        for name in ("Set5", "Set14", "B100")
    ]
    held = sum(gap <= 0.05 for gap in gaps)
    claim = "half-attention-suffices-on-classic-sets:"
    i = next(i for i, line in enumerate(lines) if claim in line)
    assert lines[i].split()[0] == ("HOLDS" if held == 3 else "FAILS")
    assert lines[i + 1].strip() == f"here {held} of 3 hold ({min(gaps):+.3f} … {max(gaps):+.3f})"


def test_all_lists_every_cell_of_a_run_and_quiet_only_its_last_lines(capsys):
    argv = ["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1"]
    assert main(argv) == 0
    default = capsys.readouterr().out.splitlines()
    assert sum("PARTIAL (1 of 5 images)" in line for line in default) == 6
    assert not any(line.endswith("(NOT-SELECTED)") for line in default)
    (group,) = [line for line in default if "NOT-SELECTED" in line and "cells" in line]
    assert group.split()[:2] == ["12", "cells"] and group.endswith("run without --datasets")
    assert main([*argv, "--all"]) == 0
    everything = capsys.readouterr().out.splitlines()
    assert sum(line.endswith("(NOT-SELECTED)") for line in everything) == 12
    assert main([*argv, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.out.splitlines()[1:] == [
        "quality cells measured: 6 of 18 · cost cells measured: 0 of 0",
        "status: PARTIAL 6 · NOT-RUN 12 (NOT-SELECTED 12)",
        default[-1],
    ]
    assert quiet.err == ""  # no progress either


def test_validate_groups_the_rows_that_wait_for_one_checkpoint(capsys):
    """camixer_tab2: 4 rows wait for each of two checkpoints; each is named once."""
    assert main(["validate", "camixer_tab2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for weights, size in (("camixersr-m-x4", "m"), ("camixersr-b-x4", "b")):
        (line,) = [line for line in lines if f"weights {weights} " in line]
        rows = ", ".join(f"camixersr-{size}-r{r}" for r in ("1.0", "0.5", "0.25", "0.0"))
        assert line.startswith(f"  missing: weights {weights} (rows {rows}): get it with:")
        assert out.count(f"get it with: repro pull {weights}") == 1
    assert len(set(lines)) == len(lines)
