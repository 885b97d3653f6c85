"""Each reported number names its source when it is not the spec's seed table, and the report
says it beside the table."""

from __future__ import annotations

import pytest

from repro.errors import SpecError
from repro.report.page import table_markdown
from repro.tables.compare import compare
from repro.tables.sources import NumberSource, cell_source
from repro.tables.spec import SPECS_DIR, load_spec, parse_spec

SSIM = "Flickr1024/ssim/pair_mean"


def test_every_nafssr_number_names_where_it_comes_from():
    flickr = load_spec("nafssr_flickr1024")
    for row in flickr.rows:
        for col in flickr.columns:
            if row.reported[flickr.columns.index(col)] is not None:
                assert flickr.source_of(row.id, col.key) is not None, (row.id, col.key)
    assert flickr.source_of("nafssr-b-x4", SSIM).kind == "docs"
    assert flickr.source_of("nafssr-t-x2", "-/params").kind == "computed"
    stereo = load_spec("nafssr_stereo")
    kinds = {stereo.source_of(r.id, c.key).kind for r in stereo.rows for c in stereo.columns}
    assert kinds == {"third-party"}  # 8 rows x 12 columns = the 96 third-party values


def test_the_0_9204_is_traced_to_its_third_party_list_and_marked_unverified():
    flickr = load_spec("nafssr_flickr1024")
    row = next(r for r in flickr.rows if r.id == "nafssr-b-x2")
    assert row.reported[[c.key for c in flickr.columns].index(SSIM)] == 0.9204
    source = flickr.source_of("nafssr-b-x2", SSIM)
    assert source.kind == "third-party" and "@ 3cd31aa" in source.ref
    assert "unverified" in source.caveat and "0.7551" in source.caveat
    assert flickr.source_of("nafssr-b-x2", "Flickr1024/psnr/pair_mean").kind == "docs"


def test_the_most_specific_source_wins():
    general = NumberSource("docs", "a")
    named = NumberSource("third-party", "b", ("X",))
    column = (NumberSource("derived", "c"),)
    assert cell_source((general, named), column, "X") is named
    assert cell_source((general, named), column, "Y") is column[0]
    assert cell_source((general,), (), "Y") is general
    assert cell_source((), (), "Y") is None


def test_the_report_names_the_sources_beside_the_table():
    spec = load_spec("nafssr_flickr1024")
    text = table_markdown(spec, compare(spec, {}, {}, {}), {"jobs": []}, [], [])
    section = text.split("## The table, reproduced", 1)[1].split("## Summary", 1)[0]
    assert "**Numbers from other sources than the cited table:**" in section
    line = next(ln for ln in section.splitlines() if ln.startswith("- third-party:"))
    assert "row NAFSSR-B x2 (Flickr1024/ssim/pair_mean)" in line and "unverified" in line
    assert any(ln.startswith("- docs: megvii-research/NAFNet") for ln in section.splitlines())


@pytest.mark.parametrize(
    "old, new, says",
    [
        (
            "columns: [Flickr1024/ssim/pair_mean]",
            "columns: [Set5/ssim]",
            "unknown column 'Set5/ssim'",
        ),
        ("kind: third-party,", "kind: hearsay,", "must be one of seed, paper"),
        (
            "{metric: params, source: &params {kind: computed,",
            "{metric: params, source: &params {",
            "key 'columns[2].source.kind' is missing",
        ),
    ],
)
def test_a_bad_source_is_one_line_naming_the_file_and_key(tmp_path, old, new, says):
    text = (SPECS_DIR / "nafssr_flickr1024.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "nafssr_flickr1024.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        parse_spec(path)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_a_row_has_one_source_for_all_its_columns_at_most(tmp_path):
    text = (SPECS_DIR / "nafssr_flickr1024.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    source:\n      - {kind: third-party,",
        "    source:\n      - {kind: docs, ref: a}\n      - {kind: docs, ref: b}\n"
        "      - {kind: third-party,",
    )
    path = tmp_path / "nafssr_flickr1024.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="more than one entry covers every column"):
        parse_spec(path)
