"""Plots of real saved tables: the files, and what the figures draw (matplotlib's own objects)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from repro.metrics import get_metric
from repro.report.plot_cost import BOTH, COST_ONLY, OTHER, REPORTED, cost_figure
from repro.report.plot_delta import MARK as MARKS
from repro.report.plot_delta import cell_text, delta_figure, fmt, heatmap_rows
from repro.report.plots import delta_heatmap, quality_vs_cost
from repro.tables.compare import Cell, CellStatus, judge
from repro.tables.spec import column_key, load_spec

RESULTS = Path(__file__).resolve().parent.parent / "results"
MEASURED = (CellStatus.PASS, CellStatus.FAIL, CellStatus.IMPROVED, CellStatus.MEASURED)
# Tables with a quality-vs-cost plot: (quality column, cost column) as the papers print them
# (the first PSNR column; FLOPs/Mult-Adds on the same dataset where the table has them per
# dataset, else params).
COST_AXES = {
    "camixer_tab2": (("F2K", "psnr"), ("F2K", "flops")),
    "camixer_large": (("F2K", "psnr"), ("F2K", "flops")),
    "camixer_light": (("Set5", "psnr"), (None, "madds")),
    "camixer_tab3": (("Set5", "psnr"), (None, "madds")),
    "esc_main": (("Set5", "psnr"), (None, "flops")),
    "esc_tab10": (("Set5", "psnr"), (None, "params")),
    "nafssr_efficiency": (("Flickr1024", "psnr"), (None, "params")),
}


def _saved(table_id: str) -> tuple:
    data = json.loads((RESULTS / f"{table_id}.cells.json").read_text(encoding="utf-8"))
    return load_spec(table_id), [Cell.from_dict(c) for c in data["cells"]]


def _with_quality(cells: list[Cell], dataset: str, metric: str) -> list[Cell]:
    """The saved cells with the quality column measured on every other row (as if the images
    were here), 0.05 dB below the paper."""
    out, rows = [], []
    for c in cells:
        if (c.dataset, c.metric) == (dataset, metric) and c.reported is not None:
            rows.append(c.row)
            if len(rows) % 2:
                value = c.reported - 0.05
                c = dataclasses.replace(
                    c, reproduced=value, delta=-0.05, tolerance=0.1, status=CellStatus.PASS
                )
                c = dataclasses.replace(c, code=None, reason=None)
        out.append(c)
    return out


def _sorted(points, width: int = 2) -> np.ndarray:
    """Points as a sorted (n, width) array, for pytest.approx."""
    return np.array(sorted(tuple(map(float, p)) for p in points)).reshape(-1, width)


def _collections(fig) -> dict[str, list]:
    """Legend label -> the points drawn under it, over every panel (and strip); points
    without a legend entry ('_' labels) are left out."""
    drawn: dict[str, list] = {}
    for ax in fig.axes:
        for coll in ax.collections:
            if not coll.get_label().startswith("_"):
                drawn.setdefault(coll.get_label(), []).extend(map(tuple, coll.get_offsets()))
    return drawn


def _panel(fig, scale: int):
    return next(ax for ax in fig.axes if ax.get_title() == f"×{scale}")


def _panels(fig) -> list:
    """The quality-vs-cost panels (titled by scale), without the cost-only strips."""
    return [ax for ax in fig.axes if ax.get_title()]


def _strip(fig, scale: int):
    """The cost-only strip under a scale's panel (it shares the panel's cost axis)."""
    panel = _panel(fig, scale)
    shared = panel.get_shared_x_axes()
    return next(ax for ax in fig.axes if not ax.get_title() and shared.joined(ax, panel))


# --------------------------------------------------------------------------- files
def test_png_files_are_written_and_show_something(tmp_path):
    spec, cells = _saved("camixer_tab2")
    import matplotlib.image

    for path in (delta_heatmap(spec, cells, tmp_path), quality_vs_cost(spec, cells, tmp_path)):
        assert path is not None and Path(path).parent == tmp_path
        png = Path(path)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 20_000
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[0] > 400 and pixels.shape[1] > 500
        assert pixels[..., :3].std() > 0.05  # not one flat colour
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "camixer_tab2_cost.png",
        "camixer_tab2_delta.png",
    ]


def test_no_plot_without_compared_cells_or_cost_axes(tmp_path):
    spec, cells = _saved("esc_tab7")  # nothing measured: every cell NOT-RUN or reported only
    assert delta_heatmap(spec, cells, tmp_path) is None
    spec, cells = _saved("bicubic_classic")  # PSNR/SSIM only: no cost axis
    assert quality_vs_cost(spec, cells, tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_drawing_raises_no_deprecation_warning(tmp_path):
    spec, cells = _saved("camixer_tab2")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", PendingDeprecationWarning)  # Colormap.set_bad (3.11)
        delta_heatmap(spec, cells, tmp_path)
        quality_vs_cost(spec, cells, tmp_path)


def test_importing_the_report_does_not_import_matplotlib():
    code = "import sys, repro.report.writer; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- quality vs cost
@pytest.mark.parametrize("table_id", sorted(COST_AXES))
def test_every_legend_entry_has_points_and_every_point_kind_an_entry(table_id):
    spec, cells = _saved(table_id)
    fig = cost_figure(spec, cells)
    (legend,) = fig.legends
    entries = [t.get_text() for t in legend.get_texts()]
    drawn = _collections(fig)
    assert entries, table_id
    for entry in entries:
        assert drawn.get(entry), f"legend entry {entry!r} has no point"
    assert set(drawn) == set(entries)
    assert len(entries) == len(set(entries))


@pytest.mark.parametrize("table_id", sorted(COST_AXES))
def test_a_reproduced_point_for_every_row_with_a_reproduced_cost(table_id):
    """Measured quality and cost: a point; a measured cost alone: a tick on the strip under
    the panel, at the reproduced cost (there is no reproduced quality to draw)."""
    spec, cells = _saved(table_id)
    (qd, qm), (kd, km) = COST_AXES[table_id]
    by = {(c.row, c.dataset, c.metric): c for c in cells}
    fig = cost_figure(spec, cells)
    divisor = {"params": 1e6, "flops": 1.0, "madds": 1.0}[km]  # params of these tables: > 1M
    total = 0
    for scale in sorted({r.scale for r in spec.rows}):
        both, cost_only = [], []
        for row in (r for r in spec.rows if r.scale == scale):
            q, k = by[(row.id, qd, qm)], by[(row.id, kd, km)]
            if k.status not in MEASURED or k.reproduced is None:
                continue
            if q.status in MEASURED and q.reproduced is not None:
                both.append((k.reproduced / divisor, q.reproduced))
            elif q.reported is not None and k.reported is not None:
                cost_only.append(k.reproduced / divisor)
        if not both and not cost_only:
            continue
        ax = _panel(fig, scale)
        drawn = [xy for c in ax.collections if c.get_label() == BOTH for xy in c.get_offsets()]
        assert _sorted(drawn) == pytest.approx(_sorted(both)), (table_id, scale)
        assert not [c for c in ax.collections if c.get_label() == COST_ONLY]
        if cost_only:
            strip = _strip(fig, scale)
            ticks = [
                x
                for c in strip.collections
                if c.get_label() == COST_ONLY
                for x, _ in c.get_offsets()
            ]
            assert sorted(ticks) == pytest.approx(sorted(cost_only)), (table_id, scale)
        total += len(both) + len(cost_only)
    assert total > 0  # every one of these tables has reproduced costs


@pytest.mark.parametrize("table_id", ["camixer_tab2", "nafssr_flickr1024", "camixer_large"])
def test_a_cost_only_reproduction_is_not_drawn_at_the_papers_quality(table_id):
    """No quality was measured in these tables: every point in a panel is the paper's, and the
    reproduced costs are ticks on strips with no quality axis, labelled as costs alone."""
    spec, cells = _saved(table_id)
    fig = cost_figure(spec, cells)
    quality = [c for c in cells if c.dataset and get_metric(c.metric).unit == "dB"]
    assert not any(c.status in MEASURED for c in quality)  # the premise: nothing measured
    for ax in _panels(fig):
        labels = {c.get_label() for c in ax.collections}
        assert labels <= {REPORTED, OTHER}, labels
        assert not ax.lines  # nothing joins a paper's point to a reproduction
    (legend,) = fig.legends
    assert COST_ONLY in [t.get_text() for t in legend.get_texts()]
    assert "quality not measured" in COST_ONLY
    strips = [ax for ax in fig.axes if not ax.get_title()]
    assert len(strips) == len(_panels(fig))
    for strip in strips:
        assert strip.get_ylim() == (0, 1) and not len(strip.get_yticks())  # no quality axis
        assert "cost" in strip.get_ylabel()
        assert any(c.get_label() == COST_ONLY for c in strip.collections)


def test_measured_quality_and_cost_make_a_filled_point_joined_to_the_paper():
    spec, cells = _saved("camixer_tab2")
    cells = _with_quality(cells, "F2K", "psnr")
    by = {(c.row, c.dataset, c.metric): c for c in cells}
    pairs = [(by[(r.id, "F2K", "flops")], by[(r.id, "F2K", "psnr")]) for r in spec.rows]
    both = [(k, q) for k, q in pairs if q.status == CellStatus.PASS]
    assert len(both) == 6
    fig = cost_figure(spec, cells)
    drawn = _collections(fig)
    assert _sorted(drawn[BOTH]) == pytest.approx(
        _sorted((k.reproduced, q.reproduced) for k, q in both)
    )
    assert len(drawn[COST_ONLY]) == len(spec.rows) - len(both)  # the others: ticks
    (ax,) = _panels(fig)
    joins = _sorted((line.get_xydata().ravel() for line in ax.lines), 4)
    # every row with a reproduced point is joined from the paper's point to it
    expected = [(k.reported, q.reported, k.reproduced, q.reproduced) for k, q in both]
    assert joins == pytest.approx(_sorted(expected, 4))
    assert BOTH in [t.get_text() for t in fig.legends[0].get_texts()]


@pytest.mark.parametrize(
    ("table_id", "scales"),
    [("esc_main", [2, 3, 4]), ("camixer_tab2", [4]), ("nafssr_efficiency", [2, 4])],
)
def test_one_panel_per_scale(table_id, scales):
    fig = cost_figure(*_saved(table_id))
    assert [ax.get_title() for ax in _panels(fig)] == [f"×{s}" for s in scales]
    for scale in scales:
        ax = _panel(fig, scale)
        under = _strip(fig, scale)  # these tables measured no quality: a strip under each
        assert under.get_xlabel().endswith(("(G)", "(M)", "(K)"))
        assert ax.get_ylabel().endswith("(dB)")


@pytest.mark.parametrize("table_id", sorted(COST_AXES))
def test_point_labels_overlap_nothing(table_id):
    from matplotlib.text import Text

    spec, cells = _saved(table_id)
    fig = cost_figure(spec, cells)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes, names = [], []
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        markers = [
            ax.transData.transform(xy) for coll in ax.collections for xy in coll.get_offsets()
        ]
        for text in ax.texts:
            box = Text.get_window_extent(text, renderer)  # the text, without its leader
            boxes.append(box)
            names.append(text.get_text())
            if text.xycoords == "axes fraction":  # the key of numbered labels, under the panel
                assert box.y1 < frame.y0
                continue
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, text.get_text()
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, text.get_text()
            assert not any(box.contains(x, y) for x, y in markers), text.get_text()
    assert len(boxes) >= 3
    for (a, na), (b, nb) in itertools.combinations(zip(boxes, names, strict=True), 2):
        assert not a.overlaps(b), f"{table_id}: {na!r} overlaps {nb!r}"


def test_every_row_is_labelled_by_name_or_by_a_listed_number():
    spec, cells = _saved("esc_main")
    fig = cost_figure(spec, cells)
    for scale in (2, 3, 4):
        ax = _panel(fig, scale)
        shown = {t.get_text() for t in ax.texts}
        keys = dict(  # listed under the panel, or under its cost-only strip
            line.split("  ", 1)
            for t in (*ax.texts, *_strip(fig, scale).texts)
            if t.xycoords == "axes fraction"
            for line in t.get_text().split("\n")
        )
        names = {re.sub(rf"\sx{scale}\b", "", r.label) for r in spec.rows if r.scale == scale}
        for name in names:
            assert name in shown or name in keys.values(), (scale, name)
        assert all(number in shown for number in keys)


# --------------------------------------------------------------------------- Δ heatmap
def _heat(table_id: str):
    spec, cells = _saved(table_id)
    fig = delta_figure(spec, cells)
    ax = fig.axes[0]
    texts = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    hatched = {p.get_gid(): p.get_hatch() for p in ax.patches if p.get_gid()}
    return spec, cells, ax, texts, hatched


def test_heatmap_is_the_tables_rows_by_columns():
    spec, cells, ax, texts, _ = _heat("camixer_tab2")
    assert ax.images[0].get_array().shape == (12, 9)
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in spec.rows]
    assert len(texts) == 12 * 9
    # esc_main: the rows of other methods (reported only) are left out, the rows run stay (the
    # saved cells say which: a comparison row with a catalogue checkpoint runs once regenerated)
    spec, cells, ax, texts, _ = _heat("esc_main")
    shown = {c.row for c in cells if c.status != CellStatus.REPORTED_ONLY}
    run = [r for r in spec.rows if r.id in shown]
    assert any(c.status == CellStatus.REPORTED_ONLY for c in cells) and len(run) >= 9
    assert ax.images[0].get_array().shape == (len(run), len(spec.columns)) == (len(run), 14)
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in run]


@pytest.mark.parametrize("table_id", ["camixer_tab2", "esc_main", "camixer_tab1", "esc_tab10"])
def test_not_run_cells_are_hatched_and_show_their_code(table_id):
    spec, cells, ax, texts, hatched = _heat(table_id)
    not_run = [c for c in cells if c.status == CellStatus.NOT_RUN]
    assert not_run
    for c in not_run:
        gid = f"{c.row}|{column_key(c.dataset, c.metric, c.variant)}"
        assert hatched.get(gid), gid
        assert texts[gid].replace("\n", "").removesuffix(" ⚑") == str(c.code)
    assert len(hatched) == len(not_run)


def test_an_integer_metric_is_shown_as_an_integer_with_its_verdict_mark():
    spec, cells, ax, texts, _ = _heat("camixer_tab2")
    params = [c for c in cells if c.metric == "params"]
    flops = [c for c in cells if c.metric == "flops"]
    assert params and flops
    for c in params:
        text = texts[f"{c.row}|-/params"]
        assert "." not in text
        assert text == f"{round(c.delta):+,d} ✓"  # every params cell of this table passes
    for c in flops:
        assert re.fullmatch(r"[+-]?\d\.\d{3} ✓", texts[f"{c.row}|{c.dataset}/flops"])


def test_verdicts_have_their_mark_and_the_colour_their_direction():
    spec, cells, ax, texts, _ = _heat("camixer_tab1")
    values = ax.images[0].get_array()
    rows = [r.id for r in spec.rows if any(c.row == r.id for c in cells)]
    keys = [c.key for c in spec.columns]
    seen = set()
    for c in cells:
        key = column_key(c.dataset, c.metric, c.variant)
        mark = {CellStatus.PASS: "✓", CellStatus.FAIL: "✗", CellStatus.IMPROVED: "↑"}.get(c.status)
        if mark is None:
            continue
        seen.add(c.status)
        assert texts[f"{c.row}|{key}"].removesuffix(" ⚑").endswith(mark)
        value = values[rows.index(c.row), keys.index(key)]
        if c.status == CellStatus.FAIL:  # worse than the paper: the bad side, beyond 1
            assert value <= -1
        elif c.status == CellStatus.IMPROVED:
            assert value >= 1
        else:
            assert -1 <= value <= 1
    assert seen == {CellStatus.PASS, CellStatus.FAIL, CellStatus.IMPROVED}


def test_cells_without_a_verdict_are_grey_and_say_what_they_are():
    spec, cells, ax, texts, _ = _heat("nafssr_efficiency")
    values = np.ma.getdata(ax.images[0].get_array())
    measured = [c for c in cells if c.status == CellStatus.MEASURED]
    assert measured
    col = [c.key for c in spec.columns].index("-/latency_ms")
    assert np.isnan(values[:, col]).all()
    for c in measured:
        assert texts[f"{c.row}|-/latency_ms"].endswith("\nmeasured")


def test_values_take_their_metrics_decimals():
    assert fmt(238.0, "params", signed=True) == "+238"
    assert fmt(-0.0004, "psnr", signed=True) == "0.000"  # a rounded zero has no sign
    assert fmt(0.00054, "ssim", signed=True) == "+0.0005"
    assert fmt(351238.0, "params") == "351,238"
    cell = Cell(
        *("r", "R", "Set5", 4, "psnr", None, 30.0, 30.0123, 0.0123, None, CellStatus.PARTIAL),
        *(None, None, 2, 5),
    )
    assert cell_text(cell) == "+0.012\n2/5 img"


def _colours(table_id: str, cells: list[Cell] | None = None) -> tuple[list[Cell], dict, object]:
    """Each verdict cell's drawn colour (RGB) by ``row|column key``, the cells and the figure
    (``cells``: in place of the saved ones)."""
    spec, saved = _saved(table_id)
    cells = saved if cells is None else cells
    fig = delta_figure(spec, cells)
    image = fig.axes[0].images[0]
    rows = [r.id for r in heatmap_rows(spec, cells)]
    keys = [c.key for c in spec.columns]
    values = image.get_array()
    colours = {}
    for c in cells:
        if c.status in MARKS:
            key = column_key(c.dataset, c.metric, c.variant)
            v = values[rows.index(c.row), keys.index(key)]
            colours[f"{c.row}|{key}"] = np.array(image.cmap(image.norm(v))[:3])
    return cells, colours, fig


def _blue(rgb) -> bool:
    return rgb[2] - rgb[0] > 0.15


def _red(rgb) -> bool:
    return rgb[0] - rgb[2] > 0.15


def _neutral(rgb) -> bool:
    return np.ptp(rgb) < 0.02 and rgb.min() > 0.9


def test_colour_is_better_blue_worse_red_and_a_pass_neutral():
    """On real saved cells: the FAIL MAdds cell (+0.823 G, lower is better) is red; the same
    cell mirrored below the paper (-0.823 G: IMPROVED) blue, as is every saved IMPROVED cell
    whatever the sign of its Δ (latency ratios: negative; SSIM: positive); every PASS cell is
    neutral whatever the sign of its Δ."""
    cells, colours, _ = _colours("camixer_tab1")
    fail = next(c for c in cells if c.status == CellStatus.FAIL)
    assert fail.metric == "madds" and fail.delta > 0 and fail.row == "infer-r0.5"
    assert _red(colours["infer-r0.5|-/madds"])
    mirrored = fail.reported - fail.delta
    status, delta = judge("madds", fail.reported, mirrored, fail.tolerance)
    assert status == CellStatus.IMPROVED and delta < 0
    changed = [
        dataclasses.replace(c, reproduced=mirrored, delta=delta, status=status) if c is fail else c
        for c in cells
    ]
    _, flipped, _ = _colours("camixer_tab1", changed)
    assert _blue(flipped["infer-r0.5|-/madds"])
    signs = set()
    for table_id in ("camixer_tab1", "bicubic_classic", "camixer_tab2", "esc_main"):
        saved, drawn, _ = _colours(table_id)
        for c in saved:
            key = f"{c.row}|{column_key(c.dataset, c.metric, c.variant)}"
            if c.status == CellStatus.IMPROVED:
                assert _blue(drawn[key]), key
                signs.add(("improved", get_metric(c.metric).higher_is_better, c.delta > 0))
            elif c.status == CellStatus.PASS:
                assert _neutral(drawn[key]), key
                signs.add(("pass", c.delta > 0))
    # both signs of PASS, and IMPROVED cells above the paper (SSIM: higher is better)
    assert {("pass", True), ("pass", False), ("improved", True, True)} <= signs


def test_the_caption_explains_the_printed_sign_and_lower_is_better_columns():
    spec, cells, ax, texts, _ = _heat("camixer_tab1")
    headers = [t.get_text() for t in ax.get_xticklabels()]
    assert all("↓" in h for h in headers)  # madds, latency_ms, latency_ratio: lower is better
    spec, cells, ax, texts, _ = _heat("bicubic_classic")
    assert not any("↓" in t.get_text() for t in ax.get_xticklabels())  # psnr, ssim
    fig = delta_figure(*_saved("camixer_tab1"))
    words = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    assert "Δ = reproduced − reported" in words
    assert "↓ lower is better (madds, latency_ms, latency_ratio)" in words
    assert "negative Δ is better than the paper" in words
    assert "red = worse than the paper, blue = better" in words
    assert "neutral = within the tolerance (PASS)" in words


def test_a_flagged_paper_number_is_marked_in_its_cell():
    """camixer_tab3's two x4 γ=0.5 MAdds cells (53.8G, contradicted by the paper's own
    endpoints) carry the spec's flag; no other cell does."""
    spec, cells, ax, texts, _ = _heat("camixer_tab3")
    marked = sorted(gid for gid, text in texts.items() if "⚑" in text)
    assert marked == ["camixersr-x4-r0.5-df2k|-/madds", "camixersr-x4-r0.5|-/madds"]
    assert texts["camixersr-x4-r0.5|-/madds"] == "+0.823 ✗ ⚑"
    fig = delta_figure(spec, cells)
    assert "⚑ the spec flags the paper's number" in " ".join(t.get_text() for t in fig.texts)
    # a flag on a cell not run here is shown too: the paper's number is in doubt all the same
    spec, cells, ax, texts, _ = _heat("camixer_tab2")
    marked = sorted(gid for gid, text in texts.items() if "⚑" in text)
    assert marked == [
        f"camixersr-b-r{g}|{d}/psnr" for g in ("0.5", "1.0") for d in ("F2K", "Test2K")
    ]
    assert texts["camixersr-b-r1.0|F2K/psnr"] == "MISSING-\nWEIGHTS ⚑"
