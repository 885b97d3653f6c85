"""A report shows the paper's table as the paper lays it out, then what it adds up to (issue #14).

Saved results (the committed ``results/<id>.cells.json``) are re-rendered into a temporary
folder through the report writer; the committed ``reports/`` are never written.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from repro.models import registry
from repro.paths import REPO_ROOT
from repro.report.writer import render_table_report
from repro.tables.claim_verdicts import judge_claims
from repro.tables.compare import Cell
from repro.tables.run import TableResult
from repro.tables.spec import load_spec, parse_spec

SAVED = REPO_ROOT / "results"


def _saved_result(table: str) -> TableResult:
    spec = load_spec(table)
    doc = json.loads((SAVED / f"{table}.cells.json").read_text(encoding="utf-8"))
    prov = json.loads((SAVED / f"{table}.provenance.json").read_text(encoding="utf-8"))
    cells = [Cell.from_dict(c) for c in doc["cells"]]
    return TableResult(spec, pd.DataFrame(), cells, prov, judge_claims(spec.claims, cells))


def _render(result: TableResult, folder, **kwargs) -> str:
    written = render_table_report(result, folder, **kwargs)
    assert all(p.parent == folder for p in written)  # nothing outside the temporary folder
    return (folder / f"{result.spec.id}.md").read_text(encoding="utf-8")


def _layout(text: str) -> list[list[str]]:
    """The cells of the first table under '## The table, reproduced'."""
    section = text.split("## The table, reproduced", 1)[1]
    lines = [ln for ln in section.split("\n## ", 1)[0].splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]


@pytest.fixture(scope="module")
def tab2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tab2")
    return load_spec("camixer_tab2"), _render(_saved_result("camixer_tab2"), folder)


def test_a_report_opens_with_the_citation_and_the_paper_layout(tab2):
    spec, text = tab2
    lines = text.splitlines()
    assert lines[0].startswith("# camixer_tab2: ")
    # the paper's title as its seed prints it, and the supplementary material's table number
    assert lines[2] == (
        '**Paper:** CAMixerSR: Only Details Need More "Attention" (Y. Wang et al., CVPR 2024), '
        "supplementary material, Table 2."
    )
    header, rule, metrics, *rows = _layout(text)
    assert [h for h in header if h] == ["F2K", "Test2K", "Test4K", "Test8K"]  # spec order
    assert set(rule) == {"---"} and len(rule) == len(spec.columns) + 1
    assert metrics[:4] == ["**row**", "**params**", "**psnr [dB]**", "**flops [G]**"]
    assert [r[0] for r in rows] == [r.label for r in spec.rows]  # the paper's rows, in order
    # a group's name stands over its first column: F2K over F2K psnr, Test2K over Test2K psnr
    keys = [c.key for c in spec.columns]
    assert header[1 + keys.index("F2K/psnr")] == "F2K"
    assert header[1 + keys.index("Test2K/psnr")] == "Test2K"
    small = rows[0]
    # params counted on the official architecture (351,238) against the paper's 351K; FLOPs
    # of the paper's counter; F2K is not on this machine
    assert small[1 + keys.index("-/params")] == "351,000 → 351,238 ✅"
    assert small[1 + keys.index("F2K/flops")] == "0.894 → 0.895 ✅"
    assert small[1 + keys.index("F2K/psnr")] == "29.12 → NOT-RUN (MISSING-DATA)"
    medium = rows[[r.id for r in spec.rows].index("camixersr-m-r0.5")]
    assert medium[1 + keys.index("Test8K/psnr")] == "33.71 → NOT-RUN (MISSING-WEIGHTS)"


def test_the_summary_counts_and_names_what_is_missing(tab2):
    spec, text = tab2
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    # 12 rows x 9 columns; params and FLOPs of all 12 rows pass, the 48 PSNR cells lack data or
    # weights
    assert "**60 of 108 reproducible cells reproduced (108 cells in all)**" in summary
    assert "PASS 60 · NOT-RUN 48 (MISSING-WEIGHTS 32, MISSING-DATA 16)" in summary
    for weights in ("camixersr-m-x4", "camixersr-b-x4"):
        assert weights in registry.get(weights.rsplit("-", 1)[0]).catalogue  # a real id
        pull = f"get it with: `repro pull {weights}`"
        assert f"- weights `{weights}` (16 cells): {pull}" in summary
    assert "  - CAMixerSR-Medium, γ=0.50" in summary  # the rows a checkpoint holds back
    for name in ("F2K", "Test2K", "Test4K", "Test8K"):
        assert f"- data **{name}** (4 cells): get it from the official archive https://" in summary
    assert "pass `--data-root DIR`" in summary


def test_transcription_notes_stay_in_the_spec(tab2):
    spec, text = tab2
    assert spec.source.note and "OCR garbles" in spec.source.note
    assert "OCR garbles" not in text and spec.source.note[:60] not in text
    assert spec.notes["tolerance"] not in text
    assert "Source:" not in text and ".." not in text.split("\n## ", 1)[0]


def test_the_per_cell_list_is_the_appendix_and_reasons_list_labels_one_per_line(tab2):
    spec, text = tab2
    appendix = text.split("## Appendix: every cell", 1)[1]
    assert text.index("## Summary") < text.index("## Appendix: every cell")
    cell_lines = [ln for ln in appendix.split("### ", 1)[0].splitlines() if ln.startswith("| ")]
    assert len(cell_lines) == 1 + len(spec.rows) * len(spec.columns)  # header + every cell
    reasons = appendix.split("### Why cells were not run", 1)[1]
    bullets = [ln for ln in reasons.splitlines() if ln.startswith("- ")]
    assert bullets and all(b.startswith("- MISSING-") for b in bullets)
    # labels hold commas ("CAMixerSR-Small, γ=1.00"): one per sub-bullet, never joined
    assert "  - CAMixerSR-Small, γ=1.00" in reasons.splitlines()
    assert "γ=1.00, CAMixerSR" not in text


def test_classic_bicubic_marks_pass_and_improved_cells(tmp_path):
    text = _render(_saved_result("bicubic_classic"), tmp_path)
    assert text.splitlines()[2].startswith(
        "**Paper:** Y. Zhang et al., Image Super-Resolution Using Very Deep Residual Channel"
    )
    header, _, metrics, *rows = _layout(text)
    assert [h for h in header if h] == ["Set5", "Set14", "B100"]
    assert [r[0] for r in rows] == ["Bicubic x2", "Bicubic x3", "Bicubic x4"]
    # RCAN Table 3 prints 0.8682 for Set5 x3 SSIM; MATLAB-protocol bicubic gives 0.8689 here
    assert rows[1][2] == "0.8682 → 0.8689 ⬆"
    assert rows[0][1] == "33.66 → 33.67 ✅"  # the paper's decimals
    headline = "**16 of 18 reproducible cells reproduced (18 cells in all)**"
    assert f"{headline} · PASS 16 · IMPROVED 2" in text
    assert "### To run the rest" not in text  # nothing is missing


def test_failing_cells_are_listed_and_extra_sections_join_the_summary(tmp_path):
    extra = "### Why the cost differs\n\nthe paper counts MAdds on a 1280x720 output."
    text = _render(_saved_result("camixer_tab3"), tmp_path, extra_sections=[extra])
    fails = text.split("### Cells that fail", 1)[1].split("\n### ", 1)[0]
    # MAdds at γ=0.50 x4: the paper prints 53.8G, the counter here gives 54.6G (> 1 %)
    assert "| γ=0.50 x4 | madds | 53.800 | 54.623 | +0.823 | ±0.538 |" in fails
    assert "| γ=0.50↑ x4 | madds | 53.800 | 54.623 | +0.823 | ±0.538 |" in fails
    where = text.index(extra)
    assert text.index("### Cells that fail") < where < text.index("## Appendix: every cell")
    assert "γ=0.50 x4 | 765,000 → 765,322 ✅ | 53.8 ⚑1 → 54.6 ❌ |" in text  # flagged


def test_a_citation_ending_in_a_period_gets_one(tmp_path):
    spec_text = (REPO_ROOT / "repro" / "tables" / "specs" / "bicubic_classic.yaml").read_text(
        encoding="utf-8"
    )
    spec_text = spec_text.replace("'Bicubic' rows\"", "'Bicubic' rows.\"")
    path = tmp_path / "bicubic_classic.yaml"
    path.write_text(spec_text, encoding="utf-8")
    spec = parse_spec(path)
    assert spec.source.citation.endswith("rows.")
    result = _saved_result("bicubic_classic")
    result.spec = spec
    out = tmp_path / "out"
    out.mkdir()
    text = _render(result, out)
    assert "'Bicubic' rows.\n" in text and "rows.." not in text
