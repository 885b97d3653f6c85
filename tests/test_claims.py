"""Paper claims between two table rows: checked on reproduced values, never on reported ones."""

from __future__ import annotations

import pytest

from repro.errors import NotRun, NotRunCode, SpecError
from repro.tables.compare import compare, judge_claims
from repro.tables.spec import SPECS_DIR, load_spec, parse_spec

PSNR = "Flickr1024/psnr/pair_mean"


def _claims(measured: dict, not_run: dict | None = None) -> dict:
    spec = load_spec("nafssr_flickr1024")
    cells = compare(spec, measured, not_run or {}, {})
    return {c.id: c for c in judge_claims(spec.claims, cells)}


def test_tlsc_claim_holds_fails_or_is_not_run_with_the_cells_reason():
    on, off = "nafssr-b-x4", "nafssr-b-x4-no-tlsc"
    got = _claims({(on, PSNR): 24.07, (off, PSNR): 24.01})["tlsc-b-x4"]
    assert got.status == "HOLDS" and got.margin == pytest.approx(0.06)
    got = _claims({(on, PSNR): 23.90, (off, PSNR): 24.01})["tlsc-b-x4"]
    assert got.status == "FAILS" and got.margin == pytest.approx(-0.11)
    missing = NotRun(NotRunCode.MISSING_WEIGHTS, "no NAFSSR-B x4")
    got = _claims({(off, PSNR): 24.01}, {(on, PSNR): missing})
    assert got["tlsc-b-x4"].status == "NOT-RUN"
    assert got["tlsc-b-x4"].code == NotRunCode.MISSING_WEIGHTS
    assert got["tlsc-b-x4"].reason == "no NAFSSR-B x4"


def test_every_variant_and_scale_has_both_nafssr_claims():
    ids = {c.id for c in load_spec("nafssr_flickr1024").claims}
    for s in (2, 4):
        assert {f"tlsc-{v}-x{s}" for v in "tsbl"} <= ids
        assert {f"more-scam-{b}-over-{a}-x{s}" for a, b in ("ts", "sb", "bl")} <= ids


def test_lower_is_better_metrics_flip_the_margin(tmp_path):
    spec_text = (SPECS_DIR / "nafssr_efficiency.yaml").read_text()
    spec_text += (
        "claims:\n"
        "  - id: t-smaller\n"
        "    text: 'T is smaller than L'\n"
        "    better: nafssr-t-x4\n"
        "    than: nafssr-l-x4\n"
        "    column: -/params\n"
    )
    path = tmp_path / "nafssr_efficiency.yaml"
    path.write_text(spec_text)
    spec = parse_spec(path)
    measured = {("nafssr-t-x4", "-/params"): 460656.0, ("nafssr-l-x4", "-/params"): 23832112.0}
    (claim,) = judge_claims(spec.claims, compare(spec, measured, {}, {}))
    assert claim.status == "HOLDS" and claim.margin == pytest.approx(23832112 - 460656)


@pytest.mark.parametrize(
    "field, value, message",
    [("better", "nafssr-x-x9", "unknown row"), ("column", "Set5/psnr", "unknown column")],
)
def test_a_claim_naming_an_unknown_row_or_column_is_refused(tmp_path, field, value, message):
    claim = {
        "id": "bad",
        "text": "x",
        "better": "nafssr-t-x4",
        "than": "nafssr-l-x4",
        "column": "-/params",
    }
    claim[field] = value
    body = "".join(f"    {k}: {v}\n" for k, v in claim.items() if k != "id")
    path = tmp_path / "nafssr_efficiency.yaml"
    path.write_text(
        (SPECS_DIR / "nafssr_efficiency.yaml").read_text() + f"claims:\n  - id: bad\n{body}"
    )
    with pytest.raises(SpecError, match=message):
        parse_spec(path)


def test_report_recompares_saved_results_with_the_current_spec(tmp_path, monkeypatch):
    """`repro report <id>` re-judges saved values against an edited spec, running nothing."""
    from repro.errors import ReproError
    from repro.publish import SavedResultsError
    from repro.report.writer import publish_result
    from repro.tables import run as table_run

    spec = load_spec("bicubic_classic")
    with pytest.raises(SavedResultsError, match="no saved results"):
        table_run.recompare(spec)
    result = table_run.run_table(spec, datasets=["Set5"], progress=False, use_cache=False)
    assert result.partial
    publish_result(result)
    with pytest.raises(SavedResultsError, match="no saved results"):
        table_run.recompare(spec)  # a partial run is never the saved complete one
    again = table_run.recompare(spec, partial=True)
    assert [c.to_dict() for c in again.cells] == [c.to_dict() for c in result.cells]

    edited = (SPECS_DIR / "bicubic_classic.yaml").read_text().replace("33.66", "33.00")
    path = tmp_path / "bicubic_classic.yaml"
    path.write_text(edited)
    cell = next(
        c
        for c in table_run.recompare(parse_spec(path), partial=True).cells
        if c.row == "bicubic-x2" and c.dataset == "Set5" and c.metric == "psnr"
    )
    assert cell.status == "IMPROVED" and cell.delta == pytest.approx(0.673, abs=0.01)

    path.write_text(
        edited + "  - {id: extra, label: x, model: bicubic, scale: 2,"
        " reported: [1, 1, 1, 1, 1, 1]}\n"
    )
    with pytest.raises(ReproError, match="predate the spec"):
        table_run.recompare(parse_spec(path), partial=True)
