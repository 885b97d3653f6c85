"""Transcription checks for the table specs (repro/tables/specs/*.yaml).

Two kinds of checks, neither of which runs a model:
- structure: every spec passes the schema the code applies (``parse_spec`` and ``check_spec``,
  as ``repro validate`` runs them), and its source files exist in ../shared;
- content: numbers transcribed into the specs agree with the text sources in ../shared (the seeds'
  text tables and reported/README.md), and numbers read from the figures agree with the same numbers
  where a text source also prints them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
import yaml

from repro.paths import REPO_ROOT, shared_root
from repro.tables.spec import load_spec, table_ids
from repro.tables.validate import check_spec

SPECS_DIR = REPO_ROOT / "repro" / "tables" / "specs"
SHARED = shared_root()
SEEDS = SHARED / "seeds"
SEED_NAF = "000_0ee2b69ddce39b06.txt"
SEED_CAM = "001_1de6642b683894fd.txt"
SEED_ESC = "002_7114223b98fca627.txt"

EXPECTED_IDS = {
    "bicubic_classic",
    "camixer_tab1",
    "camixer_tab2",
    "camixer_tab3",
    "camixer_light",
    "camixer_large",
    "camixer_odi",
    "esc_main",
    "esc_dflip",
    "esc_tab6",
    "esc_tab7",
    "esc_tab8",
    "esc_tab9",
    "esc_tab10",
    "nafssr_flickr1024",
    "nafssr_stereo",
    "nafssr_efficiency",
}


def _load(table_id: str) -> dict:
    return yaml.safe_load((SPECS_DIR / f"{table_id}.yaml").read_text(encoding="utf-8"))


def _seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _row(spec: dict, row_id: str) -> dict:
    rows = [r for r in spec["rows"] if r["id"] == row_id]
    assert len(rows) == 1, f"{spec['id']}: row {row_id!r} not found exactly once"
    return rows[0]


def _col(spec: dict, metric: str, dataset: str | None = None, variant: str | None = None) -> int:
    hits = [
        i
        for i, c in enumerate(spec["columns"])
        if c["metric"] == metric and c.get("dataset") == dataset and c.get("variant") == variant
    ]
    assert len(hits) == 1, (
        f"{spec['id']}: column {dataset}/{metric}/{variant} not found exactly once"
    )
    return hits[0]


def cell(
    table_id: str, row_id: str, metric: str, dataset: str | None = None, variant: str | None = None
):
    spec = _load(table_id)
    return _row(spec, row_id)["reported"][_col(spec, metric, dataset, variant)]


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)


# --------------------------------------------------------------------------- structure
def test_all_expected_specs_exist():
    assert EXPECTED_IDS <= set(table_ids())


@pytest.mark.parametrize("table_id", table_ids())
def test_spec_passes_the_whole_schema(table_id: str):
    """The schema is the code's own, as `repro validate` runs it: parse_spec checks every key
    and type, check_spec the registries (models, settings, scales, weights, cards, metrics).
    Only what ties a spec to ../shared and the transcription policy are checked here."""
    spec = load_spec(table_id)
    check_spec(spec)
    assert spec.version >= 1 and "task" in spec.protocol
    if spec.source.seed:
        assert (SEEDS / spec.source.seed).is_file()
    if spec.source.figure:
        assert (SHARED / "reported" / "figs" / spec.source.figure).is_file()
    for r in spec.rows:
        if (r.model or "").startswith("camixersr") and r.status is None:
            assert "ratio" in r.settings, r.id  # gamma is always explicit
        if (r.model or "").startswith("nafssr"):
            assert isinstance(r.settings.get("tlsc"), bool), r.id  # explicit


# --------------------------------------------------------------------------- explicit spot checks
# (table, row, metric, dataset, variant, value in the spec, text source, literal printed there)
SPOT = [
    (
        "camixer_tab3",
        "camixersr-x2-r1.0",
        "psnr",
        "Urban100",
        None,
        32.97,
        SEED_CAM,
        "32.97\t0.9352",
    ),
    ("camixer_tab3", "camixersr-x4-r0.5", "ssim", "Set5", None, 0.8988, SEED_CAM, "32.51\t0.8988"),
    (
        "camixer_tab3",
        "camixersr-x4-r1.0-df2k",
        "psnr",
        "Manga109",
        None,
        31.42,
        SEED_CAM,
        "31.42\t0.9168",
    ),
    ("camixer_tab3", "camixersr-x2-r0.25", "madds", None, None, 160.7, SEED_CAM, "160.7G"),
    (
        "camixer_tab2",
        "camixersr-s-r0.25",
        "psnr",
        "Test8K",
        None,
        33.55,
        SEED_CAM,
        "33.55\t532M(59%)",
    ),
    (
        "camixer_tab2",
        "camixersr-b-r1.0",
        "psnr",
        "F2K",
        None,
        29.35,
        SEED_CAM,
        "29.35\t1.96G(100%)",
    ),
    ("camixer_tab2", "camixersr-m-r0.25", "flops", "Test4K", None, 0.858, SEED_CAM, "858M(62%)"),
    (
        "camixer_tab1",
        "infer-r0.5",
        "latency_ms",
        "Urban100",
        "tesla_t4",
        180.6,
        SEED_CAM,
        "180.6ms (79%)",
    ),
    (
        "camixer_tab1",
        "infer-r0.25",
        "latency_ms",
        "Set5",
        "cpu_xeon8336c_1core",
        9000,
        SEED_CAM,
        "9.0s (68%)",
    ),
    ("camixer_tab1", "infer-r1.0", "madds", None, None, 77.9, SEED_CAM, "77.9G"),
    ("esc_tab6", "fa-rope-x2", "psnr", "Urban100", None, 32.76, SEED_ESC, "32.76 / 0.9343"),
    ("esc_tab7", "esc-lte-x8", "psnr", "Urban100", None, 23.03, SEED_ESC, "24.44\t23.03"),
    ("esc_tab7", "rdn-lte-x6", "psnr", "Set5", None, 29.32, SEED_ESC, "32.61\t29.32"),
    ("esc_tab8", "esc-real-x4", "ssim_y", "DRealSR", None, 0.79534, SEED_ESC, "0.79534"),
    ("esc_tab8", "dasr-x4", "fid", "DRealSR", None, 17.89, SEED_ESC, "17.89"),
    (
        "esc_tab9",
        "esc-lt",
        "latency_ms",
        None,
        "macbook_air_m2_128x128",
        124.07,
        SEED_ESC,
        "124.07",
    ),
    ("esc_tab10", "esc-ft-x4", "psnr", "Manga109", None, 32.54, SEED_ESC, "32.54/0.9295"),
    ("esc_tab10", "esc-pt-x2", "ssim", "Urban100", None, 0.9450, SEED_ESC, "34.24/0.9450"),
    (
        "nafssr_flickr1024",
        "nafssr-l-x4",
        "psnr",
        "Flickr1024",
        "pair_mean",
        24.17,
        "README",
        "24.17/0.7589",
    ),
    (
        "nafssr_flickr1024",
        "nafssr-b-x2",
        "ssim",
        "Flickr1024",
        "pair_mean",
        0.9204,
        "README",
        "29.54/0.9204",
    ),
    ("nafssr_flickr1024", "nafssr-s-x2", "params", None, None, 1538572, "README", "1,538,572"),
    (
        "nafssr_stereo",
        "nafssr-b-x4",
        "psnr",
        "Middlebury",
        "pair_mean",
        30.04,
        "README",
        "29.94/.8561 / 30.04/.8568",
    ),
    (
        "nafssr_stereo",
        "nafssr-t-x2",
        "ssim",
        "KITTI2015",
        "left_crop64",
        0.9253,
        "README",
        "30.19/.9253",
    ),
]


@pytest.mark.parametrize(
    "table,row,metric,dataset,variant,value,source,literal",
    SPOT,
    ids=[f"{s[0]}:{s[1]}:{s[3]}/{s[2]}" for s in SPOT],
)
def test_spot_check_against_text(table, row, metric, dataset, variant, value, source, literal):
    text = (
        (SHARED / "reported" / "README.md").read_text(encoding="utf-8")
        if source == "README"
        else _seed(source)
    )
    assert literal in text, f"{literal!r} is not printed in {source}"
    assert _close(cell(table, row, metric, dataset, variant), value)


# --------------------------------------------------------------------------- whole-table checks
def _seed_table(text: str, start: str, end: str) -> list[list[str]]:
    block = text[text.index(start) : text.index(end)]
    return [[p.strip() for p in line.split("\t")] for line in block.splitlines()]


def test_camixer_tab3_matches_seed_text():
    rows = []
    for parts in _seed_table(_seed(SEED_CAM), "Ratio $\\gamma$\tScale\t#Params", "Figure 8."):
        m = re.match(r"^\$?([01]\.\d\d)", parts[0]) if parts else None
        if m and len(parts) >= 14:
            df2k = "dagger" in parts[0] or "+" in parts[0]
            scale = int(re.search(r"\d", parts[1]).group(0))
            vals = [float(re.sub(r"</?u>", "", p)) for p in parts[4:14]]
            rows.append(
                (
                    f"camixersr-x{scale}-r{float(m.group(1))}" + ("-df2k" if df2k else ""),
                    float(parts[3].rstrip("G")),
                    vals,
                )
            )
    assert len(rows) == 12
    spec = _load("camixer_tab3")
    for rid, madds, vals in rows:
        rep = _row(spec, rid)["reported"]
        assert _close(rep[_col(spec, "madds")], madds), rid
        assert [float(v) for v in rep[2:]] == vals, rid
        assert _row(spec, rid).get("weights") == (
            f"camixersr-b-x{_row(spec, rid)['scale']}-df2k" if rid.endswith("df2k") else None
        )


def test_camixer_tab2_matches_seed_text():
    spec = _load("camixer_tab2")
    text = _seed(SEED_CAM)
    block = text[
        text.index("\tRatio $\\gamma$\t#Params\tF2K") : text.index("Table 2. Quantitative")
    ]
    found = 0
    order = {"s": [], "m": [], "b": []}
    group = "s"
    for line in block.splitlines():
        psnr = re.findall(r"\t(\d\d\.\d\d)\t", line + "\t")
        flops = re.findall(r"(\d+(?:\.\d+)?[MG])\s?\(", line)
        if len(psnr) != 4:
            continue
        g = float(line.split("\t")[1])  # the ratio is always the second tab field
        if len(order[group]) == 4:
            group = {"s": "m", "m": "b"}[group]
        order[group].append(g)
        rep = _row(spec, f"camixersr-{group}-r{g}")["reported"]
        assert [
            float(rep[_col(spec, "psnr", d)]) for d in ("F2K", "Test2K", "Test4K", "Test8K")
        ] == [float(p) for p in psnr], (group, g)
        f = flops[0]
        gflops = float(f[:-1]) / (1000 if f.endswith("M") else 1)
        assert all(
            _close(rep[_col(spec, "flops", d)], gflops)
            for d in ("F2K", "Test2K", "Test4K", "Test8K")
        )
        found += 1
    assert found == 12 and order == {k: [1.0, 0.5, 0.25, 0.0] for k in "smb"}


def test_esc_tab7_matches_seed_text_and_figure_copy():
    """Seed Table 7 == main-paper Table 6 (figure): the spec holds the 80 numbers."""
    seed_rows = {}
    for line in _seed(SEED_ESC).splitlines():
        parts = [p.strip() for p in line.split("\t")]
        if parts and "+LTE" in parts[0] and len(parts) == 21:
            seed_rows[
                re.sub(
                    r"[^a-z0-9]+",
                    "-",
                    parts[0].split(" [")[0].replace("§", "").replace(" (Ours)", "").lower(),
                ).strip("-")
            ] = parts[1:]
    assert set(seed_rows) == {"rdn-lte", "atd-lt-lte", "hit-srf-lte", "esc-lte"}
    for name, vals in seed_rows.items():
        for j, s in enumerate((2, 3, 4, 6, 8)):
            for d, ds in enumerate(("Set5", "Set14", "B100", "Urban100")):
                assert _close(cell("esc_tab7", f"{name}-x{s}", "psnr", ds), float(vals[d * 5 + j]))


def test_esc_tab8_matches_seed_text():
    text = _seed(SEED_ESC)
    block = text[text.index("Table 8. Quantitative") : text.index("Table 9.")]
    printed = []
    for line in block.splitlines():
        nums = [p.strip() for p in line.split("\t") if re.fullmatch(r"\d+\.\d+", p.strip())]
        if len(nums) == 4:
            printed.append([float(n) for n in nums])
    spec = _load("esc_tab8")
    assert len(printed) == len(spec["columns"]) == 26
    for k, rid in enumerate(("realesrgan-x4", "swinir-real-x4", "dasr-x4", "esc-real-x4")):
        assert [float(v) for v in _row(spec, rid)["reported"]] == [p[k] for p in printed]


def test_esc_tab10_matches_seed_text():
    text = _seed(SEED_ESC)
    block = text[text.index("Table 10. Comparisons") : text.index("11. Classic SR Results")]
    printed = []
    for line in block.splitlines():
        if re.search(r"\d\d\.\d\d/0\.\d{4}", line):
            parts = [p.strip() for p in line.split("\t")]
            vals = [int(Decimal(parts[2]) * 1000000)]
            for c in parts[3:8]:
                vals += [float(x) for x in c.split("/")]
            printed.append(vals)
    spec = _load("esc_tab10")
    assert len(printed) == len(spec["rows"]) == 22
    for vals, row in zip(printed, spec["rows"], strict=True):
        assert all(_close(a, b) for a, b in zip(row["reported"], vals, strict=True)), row["id"]


def test_camixer_tab1_matches_seed_text():
    text = _seed(SEED_CAM)
    rows = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("\t")]
        if parts and (parts[0].startswith("Tesla") or parts[0].startswith("$CPU")):
            rows[parts[0]] = parts[1:5]
    assert len(rows) == 4
    variants = {
        "$CPU^{\\dagger}$": ("Set5", "cpu_xeon8336c_1core", 1000.0),
        "Tesla T4": ("Urban100", "tesla_t4", 1.0),
        "Tesla A10": ("Urban100", "tesla_a10", 1.0),
        "Tesla V100": ("Urban100", "tesla_v100", 1.0),
    }
    for dev, vals in rows.items():
        ds, var, unit = variants[dev]
        for rid, v in zip(
            ("train-mode", "infer-r1.0", "infer-r0.5", "infer-r0.25"), vals, strict=True
        ):
            number = float(re.match(r"(\d+\.\d+)", v).group(1)) * unit
            assert _close(cell("camixer_tab1", rid, "latency_ms", ds, var), round(number, 6)), (
                dev,
                rid,
            )


def test_nafssr_specs_match_reported_readme():
    readme = (SHARED / "reported" / "README.md").read_text(encoding="utf-8")
    # Flickr1024 table: '| x4 | 23.69/0.7384 | ... |'
    for s in (2, 4):
        line = next(ln for ln in readme.splitlines() if ln.startswith(f"| x{s} | "))
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        for v, c in zip("tsbl", cells, strict=True):
            p, q = re.match(r"(\d+\.\d+)/(\d\.\d+)", c).groups()
            assert _close(
                cell("nafssr_flickr1024", f"nafssr-{v}-x{s}", "psnr", "Flickr1024", "pair_mean"),
                float(p),
            )
            assert _close(
                cell("nafssr_flickr1024", f"nafssr-{v}-x{s}", "ssim", "Flickr1024", "pair_mean"),
                float(q),
            )
    # exact parameter counts
    m2 = re.search(r"x2 ([\d,]+) / ([\d,]+) / ([\d,]+) /\s+([\d,]+);", readme)
    m4 = re.search(r"x4 ([\d,]+) / ([\d,]+) / ([\d,]+) / ([\d,]+)\.", readme)
    for s, m in ((2, m2), (4, m4)):
        counts = [int(x.replace(",", "")) for x in m.groups()]
        for v, n in zip("tsbl", counts, strict=True):
            assert cell("nafssr_flickr1024", f"nafssr-{v}-x{s}", "params") == n
            assert cell("nafssr_efficiency", f"nafssr-{v}-x{s}", "params") == n
            assert cell("nafssr_efficiency", f"nafssr-{v}-x{s}", "latency_ms") is None
            # the scaling plot's PSNR is the Flickr1024 table's
            assert cell(
                "nafssr_efficiency", f"nafssr-{v}-x{s}", "psnr", "Flickr1024", "pair_mean"
            ) == cell("nafssr_flickr1024", f"nafssr-{v}-x{s}", "psnr", "Flickr1024", "pair_mean")
    # per-dataset stereo table (third-party transcription)
    n = 0
    for line in readme.splitlines():
        m = re.match(r"\| x([24]) ([TSBL]) \| (.+) \|$", line)
        if not m:
            continue
        s, v = int(m.group(1)), m.group(2).lower()
        for ds, c in zip(
            ("KITTI2012", "KITTI2015", "Middlebury"), m.group(3).split(" | "), strict=True
        ):
            nums = re.findall(r"(\d+\.\d+)/(\.\d+)", c)
            for var, (p, q) in zip(("left_crop64", "pair_mean"), nums, strict=True):
                assert _close(cell("nafssr_stereo", f"nafssr-{v}-x{s}", "psnr", ds, var), float(p))
                assert _close(
                    cell("nafssr_stereo", f"nafssr-{v}-x{s}", "ssim", ds, var), float("0" + q)
                )
        n += 1
    assert n == 8


# --------------------------------------------------------------------------- figure vs text
def test_light_figure_row_equals_seed_table3_row():
    """figs/cam_LightSR_table.png, CAMixerSR row == seed 001 Table 3, gamma 0.50 x4."""
    light = _load("camixer_light")
    tab3 = _load("camixer_tab3")
    assert _row(light, "camixersr-x4")["reported"] == _row(tab3, "camixersr-x4-r0.5")["reported"]


def test_large_figure_rows_against_seed_table2():
    """S/M rows of the large-image figure equal seed Table 2; B differs on F2K/Test2K."""
    for v in "sm":
        for fig_row, g in ((f"camixersr-{v}-original", 1.0), (f"camixersr-{v}", 0.5)):
            fig = _load("camixer_large")
            tab = _load("camixer_tab2")
            assert _row(fig, fig_row)["reported"] == _row(tab, f"camixersr-{v}-r{g}")["reported"]
    assert cell("camixer_large", "camixersr-b-original", "psnr", "F2K") == 29.31
    assert cell("camixer_tab2", "camixersr-b-r1.0", "psnr", "F2K") == 29.35
    assert (
        cell("camixer_large", "camixersr-b", "psnr", "Test8K")
        == cell("camixer_tab2", "camixersr-b-r0.5", "psnr", "Test8K")
        == 33.81
    )


def test_esc_figure_rows_against_seed_and_other_tables():
    # ESC x2 Urban100 in the main-table figure == seed Table 6 'FA w/ RelPos (Ours)' (text)
    assert "33.46 / 0.9395" in _seed(SEED_ESC)
    assert (
        cell("esc_main", "esc-x2", "psnr", "Urban100")
        == cell("esc_tab6", "fa-relpos-x2", "psnr", "Urban100")
        == 33.46
    )
    assert (
        cell("esc_main", "esc-x2", "ssim", "Urban100")
        == cell("esc_tab6", "fa-relpos-x2", "ssim", "Urban100")
        == 0.9395
    )
    # ESC complexity columns are the same in the DIV2K and DFLIP figures (same architecture)
    for s in (2, 3, 4):
        main, dflip = _load("esc_main"), _load("esc_dflip")
        assert _row(main, f"esc-x{s}")["reported"][:4] == _row(dflip, f"esc-x{s}")["reported"][:4]
        assert _row(dflip, f"esc-x{s}")["weights"] == f"esc-x{s}-dflip"
    # lightweight rows shared by two papers' figures (ESC Table 2 and CAMixerSR's table), x4
    for esc_row, cam_row in (("swinir-lt-x4", "swinir-light-x4"), ("elan-lt-x4", "elan-light-x4")):
        e, c = _load("esc_main"), _load("camixer_light")
        assert _row(e, esc_row)["reported"][4:] == _row(c, cam_row)["reported"][2:]


def test_bicubic_rows():
    spec = _load("bicubic_classic")
    assert cell("bicubic_classic", "bicubic-x2", "psnr", "Set5") == 33.66
    assert cell("bicubic_classic", "bicubic-x2", "ssim", "Set5") == 0.9299
    assert cell("bicubic_classic", "bicubic-x4", "ssim", "B100") == 0.6675
    protocol = load_spec("bicubic_classic").protocol  # its shared block included
    assert protocol["gray"] == "gray" and protocol["crop"] == "scale"
    assert "RCAN" in spec["source"]["citation"]
