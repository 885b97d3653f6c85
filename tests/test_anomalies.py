"""Known anomalies of the papers (issue #24, point 8): a spec flags a reported number as a
probable typo, contradicted by the paper itself, or corrected, with the reason; the report marks
it beside the cell and explains it under the table."""

from __future__ import annotations

import pytest

from repro.errors import SpecError
from repro.paths import REPO_ROOT
from repro.report.layout import FLAG, flag_notes, layout_table
from repro.tables.spec import ANOMALY_KINDS, load_spec, parse_spec, table_ids
from tests.test_plots import _saved

SPECS = REPO_ROOT / "repro" / "tables" / "specs"


def test_the_esc_fp_typo_and_the_papers_self_contradictions_are_flagged():
    row = next(r for r in load_spec("esc_main").rows if r.id == "esc-fp-x3")
    flag = row.anomalies["Manga109/ssim"]
    assert flag.kind == "typo" and "Urban100" in flag.reason
    assert row.reported[[c.key for c in load_spec("esc_main").columns].index("Manga109/ssim")] == (
        0.8706
    )
    flags = {
        (t, r.id, key, a.kind)
        for t in table_ids()
        for r in load_spec(t).rows
        for key, a in r.anomalies.items()
    }
    assert ("esc_main", "esc-fp-x4", "Set5/ssim", "typo") in flags
    # the x4 γ=0.5 MAdds (53.8G) wherever the paper prints it
    for table, row_id in [
        ("camixer_tab3", "camixersr-x4-r0.5"),
        ("camixer_tab3", "camixersr-x4-r0.5-df2k"),
        ("camixer_light", "camixersr-x4"),
        ("camixer_tab1", "infer-r0.5"),
    ]:
        assert (table, row_id, "-/madds", "contradicted") in flags
    assert ("nafssr_flickr1024", "nafssr-b-x2", "Flickr1024/ssim/pair_mean", "corrected") in flags
    assert {k for *_, k in flags} == set(ANOMALY_KINDS)


def _spec_with(tmp_path, anomalies: str):
    """camixer_light with ``anomalies`` (YAML lines) on its LatticeNet row."""
    text = (SPECS / "camixer_light.yaml").read_text(encoding="utf-8")
    anchor = "    reported: [777000, 43.6, 32.18"
    line = next(ln for ln in text.splitlines() if ln.startswith(anchor))
    path = tmp_path / "camixer_light.yaml"
    path.write_text(text.replace(line, f"{line}\n{anomalies}"), encoding="utf-8")
    return path


def test_a_flag_is_read_with_its_kind_and_reason(tmp_path):
    path = _spec_with(
        tmp_path,
        "    anomalies:\n      - {column: Set5/psnr, kind: typo, reason: 'a slipped digit'}",
    )
    row = next(r for r in parse_spec(path).rows if r.id == "latticenet-x4")
    assert row.anomalies["Set5/psnr"].label == ANOMALY_KINDS["typo"]
    assert row.anomalies["Set5/psnr"].reason == "a slipped digit"


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        (
            "    anomalies:\n      - {column: Set5/psnr, kind: misprint, reason: x}",
            "one of typo, contradicted, corrected",
        ),
        ("    anomalies:\n      - {column: Set6/psnr, kind: typo, reason: x}", "a column key"),
        (  # LatticeNet prints '-' on Manga109
            "    anomalies:\n      - {column: Manga109/psnr, kind: typo, reason: x}",
            "reports no number in column Manga109/psnr",
        ),
        (
            "    anomalies:\n      - {column: -/madds, kind: typo, reason: x}\n"
            "      - {column: -/madds, kind: contradicted, reason: y}",
            "flagged twice",
        ),
        ("    anomalies:\n      - {column: -/madds, kind: typo}", "reason"),
        ("    anomalies:\n      - {column: -/madds, kind: typo, reason: x, by: me}", "by"),
        ("    anomalies: {column: -/madds}", "anomalies"),
    ],
)
def test_a_bad_flag_is_a_one_line_error_naming_the_key(tmp_path, lines, says):
    path = _spec_with(tmp_path, lines)
    with pytest.raises(SpecError) as err:
        parse_spec(path)
    message = str(err.value)
    assert says in message and "\n" not in message
    assert "rows[latticenet-x4].anomalies" in message


def test_the_report_marks_the_flagged_number_and_says_why():
    spec, cells = _saved("esc_main")
    table = layout_table(spec, cells)
    keys = [c.key for c in spec.columns]
    row = next(ln for ln in table.splitlines() if ln.startswith("| ESC-FP (Ours) x3 |"))
    cell = [c.strip() for c in row.strip("|").split("|")][1 + keys.index("Manga109/ssim")]
    notes = flag_notes(spec).splitlines()  # numbered in the table's order: ESC-FP x3 is 3rd
    assert cell == f"0.8706 {FLAG}3 → NOT-RUN (MISSING-WEIGHTS)"
    assert notes[2] == (
        f"- {FLAG}3 ESC-FP (Ours) x3 · Manga109 ssim 0.8706: probable typo in the paper (kept "
        "as printed): 0.8706 repeats the row's Urban100 SSIM; every other x3 row prints "
        "0.948-0.951 on Manga109."
    )
    assert table.count(FLAG) == 2 * len(notes) == 2 * 5  # each mark and its note
    # a flagged REPORTED-ONLY number (another method's latency) is marked too
    assert "| SRFormer-lt x2 | 1,456.3 ⚑1 |" in table
    # a table without flags has no notes
    spec, cells = _saved("bicubic_classic")
    assert FLAG not in layout_table(spec, cells) and flag_notes(spec) == ""
