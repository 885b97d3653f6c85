"""Conclusions come first: the report, the CI summary and the index show each claim's verdict,
on the paper's numbers and here; --fail-on takes claim statuses; a partial run judges none."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from repro.report.page import table_markdown
from repro.report.summary import fail_on_message, failing, parse_fail_on, summary_markdown
from repro.tables.claim_verdicts import judge_claims
from repro.tables.compare import compare
from repro.tables.run import TableResult, run_table
from repro.tables.spec import SPECS_DIR, load_spec, parse_spec

PROV = {"table": "x", "code_sha256": "0" * 64, "jobs": [], "limit": None, "datasets": []}


def _result(table: str, measured: dict) -> TableResult:
    spec = load_spec(table)
    cells = compare(spec, measured, {}, {})
    return TableResult(spec, pd.DataFrame(), cells, PROV, judge_claims(spec.claims, cells))


@pytest.fixture(scope="module")
def tab2() -> TableResult:
    spec = load_spec("camixer_tab2")
    flops = {"r1.0": 1.962, "r0.5": 1.49, "r0.25": 1.26, "r0.0": 1.03}  # Base, as measured
    measured = {
        (f"camixersr-b-{g}", f"{d}/flops"): v
        for g, v in flops.items()
        for d in ("F2K", "Test2K", "Test4K", "Test8K")
    }
    for size, scale in (("s", 0.456), ("m", 0.7)):
        for g, v in flops.items():
            for d in ("F2K", "Test2K", "Test4K", "Test8K"):
                measured[(f"camixersr-{size}-{g}", f"{d}/flops")] = v * scale
    return _result(spec.id, measured)


def test_the_report_opens_with_the_claims_after_the_citation(tab2):
    text = table_markdown(tab2.spec, tab2.cells, PROV, [], tab2.claims)
    citation = text.index("**Paper:**")
    claims = text.index("## The paper's claims")
    assert citation < claims < text.index("## The table, reproduced") < text.index("## Summary")
    section = text[claims : text.index("## The table, reproduced")]
    row = next(ln for ln in section.splitlines() if ln.startswith("| **ratio-0.25-saves-115m"))
    # the paper's own numbers give 1.49 - 1.26 = 0.23 G, the claim 115M: contradicted
    assert "+0.230 ❌ FAILS ⚠ contradicted by its own numbers" in row
    assert "230M" in section and "contradicted by the paper" in section
    flops = next(ln for ln in section.splitlines() if ln.startswith("| **flops-fall-with-gamma"))
    assert "12 of 12 hold" in flops and flops.endswith("✅ HOLDS |")
    psnr = next(ln for ln in section.splitlines() if ln.startswith("| **psnr-falls-with-gamma"))
    assert "NOT-RUN (NOT-IMPLEMENTED)" in psnr  # no PSNR measured in this fixture
    assert "## Appendix: every comparison of the claims" in text


def test_the_ci_summary_puts_the_claims_before_the_cells(tab2):
    text = summary_markdown(tab2.spec, tab2.cells, tab2.claims)
    assert text.index("**Claims:**") < text.index("reproducible cells reproduced")
    assert "- HOLDS `flops-fall-with-gamma`" in text
    assert "- FAILS `ratio-0.25-saves-115m-on-8k`" in text and "(contradicted)" in text


def test_fail_on_takes_claim_statuses(tab2):
    wanted = parse_fail_on("FAIL,claim:fails")
    assert wanted == {"FAIL", "claim:FAILS"}
    hits = failing(tab2.cells, wanted, tab2.claims)
    assert {c.id for c in hits if hasattr(c, "test")} == {"ratio-0.25-saves-115m-on-8k"}
    assert "1 claim FAILS" in fail_on_message(tab2.spec, hits, wanted)
    assert not failing(tab2.cells, parse_fail_on("PARTIAL"), tab2.claims)  # cells only
    with pytest.raises(Exception, match="claim:STATUS"):
        parse_fail_on("claim:MAYBE")


def test_the_index_has_a_claims_column(tab2, monkeypatch):
    from repro.report.writer import publish_result, write_index

    publish_result(tab2)  # a complete run into the test's own results folder
    text = open(write_index(tab2.workspace), encoding="utf-8").read()
    header = next(ln for ln in text.splitlines() if ln.startswith("| table |"))
    assert "| claims |" in header
    row = next(ln for ln in text.splitlines() if ln.startswith("| `camixer_tab2`"))
    assert "HOLDS 1, FAILS 1, NOT-RUN 4" in row


def test_a_limited_run_judges_no_claim(tmp_path):
    """The issue's case: a --limit run once printed 'claim ... HOLDS' on two images."""
    text = (SPECS_DIR / "bicubic_classic.yaml").read_text(encoding="utf-8")
    text += textwrap.dedent(
        """\
        claims:
          - id: x2-beats-x4
            text: a smaller factor is easier
            where: a probe
            order: [bicubic-x2, bicubic-x4]
            columns: [Set5/psnr, Set5/ssim]
        """
    )
    path = tmp_path / "bicubic_classic.yaml"
    path.write_text(text, encoding="utf-8")
    spec = parse_spec(path)
    result = run_table(spec, datasets=["Set5"], limit=2, progress=False, use_cache=False)
    (claim,) = result.claims
    assert claim.status == "PARTIAL" and "2 of 5 images" in claim.reason
    assert all(c.value > 0 for c in claim.comparisons)  # shown, not judged
    saved = json.loads(json.dumps(claim.to_dict()))
    assert saved["status"] == "PARTIAL" and saved["paper"] == "HOLDS"
