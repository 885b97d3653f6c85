"""Timed cells carry their repeats and spread, and a spread wider than the tolerance decides
nothing (UNSTABLE) instead of flipping between PASS and IMPROVED from run to run."""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from repro.errors import SpecError
from repro.eval.complexity import measure
from repro.metrics.sampled import Sampled, by_definition
from repro.models import build, timing
from repro.models.camixersr.profile import COMPONENTS, runtime_shares
from repro.models.timing import LatencySetting
from repro.report.summary import tally
from repro.tables.compare import CellStatus, compare, judge, saved_value
from repro.tables.spec import load_spec, parse_spec

CPU = "-/latency_ratio/cpu_here_128x128"


@pytest.mark.parametrize(
    "spread, status",
    [
        ((0.70, 0.75), "PASS"),  # all of it within 0.727 +- 0.05
        ((0.55, 0.60), "IMPROVED"),  # all of it below the band (lower latency is better)
        ((0.80, 0.85), "FAIL"),
        ((0.60, 0.74), "UNSTABLE"),  # across the band's edge
        ((0.62, 0.80), "UNSTABLE"),  # wider than the band (0.1)
        ((0.45, 0.60), "UNSTABLE"),  # all below it, but wider than the band: too noisy to say
    ],
)
def test_a_timed_cell_is_judged_on_its_whole_spread(spread, status):
    value = sum(spread) / 2
    assert judge("latency_ratio", 0.727, value, 0.05, spread)[0] == status
    assert judge("latency_ratio", 0.727, 0.72, 0.05)[0] == "PASS"  # no spread: the point


def test_the_statistic_outside_its_own_spread_widens_it():
    # a 'min' statistic may lie below the quartiles: the verdict covers both
    assert judge("latency_ratio", 0.727, 0.60, 0.05, (0.70, 0.74))[0] == "UNSTABLE"


def _tab1_cells(values: dict):
    spec = load_spec("camixer_tab1")
    return spec, compare(spec, {(r, CPU): v for r, v in values.items()}, {}, {})


def test_cells_record_repeats_and_spread_and_the_reference_row_is_defined():
    values = {
        "infer-r1.0": by_definition(1.0, "γ=1 is the reference"),
        "infer-r0.5": Sampled(0.64, 10, (0.60, 0.71)),
        "infer-r0.25": Sampled(0.52, 10, (0.50, 0.55)),
    }
    _, cells = _tab1_cells(values)
    got = {c.row: c for c in cells if c.metric == "latency_ratio" and c.variant.startswith("cpu")}
    assert (
        got["infer-r1.0"].status == "DEFINED" and got["infer-r1.0"].reason == "γ=1 is the reference"
    )
    assert got["infer-r0.5"].status == "UNSTABLE" and "[0.6, 0.71]" in got["infer-r0.5"].reason
    assert got["infer-r0.25"].status == "IMPROVED"
    assert (got["infer-r0.25"].repeats, got["infer-r0.25"].spread) == (10, [0.50, 0.55])
    saved = got["infer-r0.25"].to_dict()
    assert (saved["repeats"], saved["spread"]) == (10, [0.50, 0.55])
    assert "repeats" not in next(c for c in cells if c.metric == "madds").to_dict()
    t = tally([got["infer-r1.0"], got["infer-r0.5"]])
    assert (t.reproducible, t.reproduced) == (1, 0)  # DEFINED is no measurement


def test_a_saved_timed_cell_is_judged_the_same_when_read_back():
    _, cells = _tab1_cells({"infer-r0.5": Sampled(0.64, 10, (0.60, 0.71))})
    cell = next(c for c in cells if c.row == "infer-r0.5" and c.variant == "cpu_here_128x128")
    back = saved_value(cell.to_dict())
    assert isinstance(back, Sampled) and (back, back.repeats, back.spread) == (
        0.64,
        10,
        (0.6, 0.71),
    )
    _, again = _tab1_cells({"infer-r0.5": back})
    assert next(c for c in again if c.row == "infer-r0.5" and c.variant == cell.variant).status == (
        "UNSTABLE"
    )
    with pytest.raises(ValueError, match="spread"):
        saved_value({**cell.to_dict(), "spread": ["x", 1]})
    defined = saved_value({"reproduced": 1.0, "repeats": 0, "spread": [1, 1], "reason": "ref"})
    assert defined.exact and defined.note == "ref"


def test_recompare_keeps_a_timed_cells_spread(tmp_path):
    from repro.report.writer import publish_result
    from repro.tables import run as table_run

    spec, cells = _tab1_cells({"infer-r0.25": Sampled(0.52, 10, (0.50, 0.55))})
    prov = {"table": spec.id, "code_sha256": "x", "jobs": [], "limit": 1, "datasets": []}
    result = table_run.TableResult(spec, pd.DataFrame(), cells, prov, [], partial=True)
    publish_result(result)
    again = table_run.recompare(spec, partial=True)
    assert [c.to_dict() for c in again.cells] == [c.to_dict() for c in cells]


def test_the_gamma_one_ratio_is_not_timed():
    model = build("camixersr-b", None, 4, ratio=1.0).eval()
    row = SimpleNamespace(model="camixersr-b", scale=4)
    got = measure("latency_ratio", row, load_spec("camixer_tab1"), model, "cpu_here_128x128")
    assert isinstance(got, Sampled) and got.exact and float(got) == 1.0


def test_sampled_numbers_survive_copies():
    value = Sampled(0.5, 3, (0.4, 0.6), None)
    again = copy.deepcopy(value)
    assert (again, again.repeats, again.spread) == (0.5, 3, (0.4, 0.6))
    # the interquartile range, interpolated between order statistics: sorted 1, 2, 3, 10 puts the
    # 25th percentile 3/4 of the way from 1 to 2 and the 75th 1/4 of the way from 3 to 10; the
    # outlier 10 moves the upper quartile, not to its own value
    assert Sampled.of([3.0, 1.0, 2.0, 10.0], "median").spread == pytest.approx((1.75, 4.75))


def test_a_cpu_clock_times_the_processs_cpu_time(monkeypatch):
    ticks = iter([0.0, 0.004, 0.0, 0.002, 0.0, 0.003])

    def wall():
        raise AssertionError("the CPU clock must not read the wall clock")

    monkeypatch.setattr(
        timing, "time", SimpleNamespace(process_time=lambda: next(ticks), perf_counter=wall)
    )
    setting = LatencySetting("cpu", "here", input_lr=(8, 8), warmup=0, repeats=3, clock="cpu")
    got = timing.measure_latency(torch.nn.Identity(), setting, scale=4)
    assert got == pytest.approx(3.0) and got.spread == pytest.approx((2.5, 3.5))


def test_a_cpu_clock_on_a_gpu_setting_is_refused(tmp_path):
    text = (load_spec("camixer_tab1").path).read_text(encoding="utf-8")
    text = text.replace("tesla_t4: {device: cuda,", "tesla_t4: {device: cuda, clock: cpu,")
    path = tmp_path / "camixer_tab1.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="tesla_t4.clock': a CPU-time clock needs device: cpu"):
        parse_spec(path)


def test_runtime_shares_cover_the_mixers_time_and_leave_the_model_as_it_was():
    model = build("camixersr-s", None, 4, ratio=1.0).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        before = model(x)
    setting = LatencySetting("cpu", "here", input_lr=(32, 32), warmup=0, repeats=1)
    shares = runtime_shares(model, setting, scale=4)
    assert set(shares) == set(COMPONENTS)
    assert sum(map(float, shares.values())) == pytest.approx(100.0)
    assert all(float(shares[c]) > 0 for c in ("predictor", "attention", "convolution"))
    mixer = model.mixers()[0]
    assert not {"forward", "_mix", "_select"} & set(vars(mixer))
    assert "forward" not in vars(mixer.conv_sptial)
    with torch.inference_mode():
        assert torch.equal(model(x), before)
    again = runtime_shares(model, dataclasses.replace(setting), scale=4)
    assert again is shares  # one profile per setting serves the four columns


def test_a_reported_share_is_shown_not_judged():
    spec = load_spec("camixer_fig6")
    key = ("camixersr-s-r1.0", "-/share_attention/cpu_1thread")
    (cell,) = [
        c
        for c in compare(spec, {key: Sampled(80.0, 5, (79, 81))}, {}, {})
        if (c.row, c.metric, c.variant) == ("camixersr-s-r1.0", "share_attention", "cpu_1thread")
    ]
    assert cell.status == CellStatus.MEASURED and "not judged" in cell.reason
    assert cell.spread == [79, 81]
