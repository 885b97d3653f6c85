"""The latency/memory protocol: its schema, how a setting is measured, and what GPU cells say.

Timing logic is checked on the CPU with counting modules and fake clocks; the CUDA path (events,
peak memory) with mock objects standing in for ``torch.cuda``. Real GPU numbers come from
``benchmarks/gpu_check.py`` (benchmarks/gpu.md).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

import repro.metrics.sampled as sampled
import repro.models.timing as timing
from repro.errors import NotRun, NotRunCode, SpecError
from repro.eval.complexity import measure
from repro.models import build
from repro.tables import protocol as schema
from repro.tables.compare import CellStatus, compare
from repro.tables.run import run_table
from repro.tables.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
CPU_SETTING = {"device": "cpu", "name": "this CPU", "input_lr": [16, 16], "repeats": 1}
BASE = {
    "id": "t",
    "title": "a latency test table",
    "paper": "test",
    "source": {"note": "written by the test"},
    "protocol": {"version": 1, "task": "complexity", "latency": {"here": dict(CPU_SETTING)}},
    "tolerance": {"latency_ms": "50%", "latency_ratio": 0.05, "memory_mb": "50%"},
    "columns": [{"metric": "latency_ms", "variant": "here"}],
    "rows": [{"id": "cam", "model": "camixersr-b", "scale": 4, "reported": [None]}],
}


def _spec(tmp_path: Path, latency: dict, columns=None, reported=None) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    spec["protocol"]["latency"] = latency
    if columns is not None:
        spec["columns"], spec["rows"][0]["reported"] = columns, reported
    used = {c["metric"] for c in spec["columns"]}
    spec["tolerance"] = {m: t for m, t in spec["tolerance"].items() if m in used}
    return spec


def _parse(tmp_path: Path, spec: dict):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return parse_spec(path)


def _setting(**changes) -> timing.LatencySetting:
    return dataclasses.replace(timing.LatencySetting("cpu", "this CPU", input_lr=(8, 8)), **changes)


BAD = [
    ({"dtype": "float64"}, "latency.here.dtype", "float32, float16, bfloat16"),
    ({"repeats": -3}, "latency.here.repeats", "a whole number > 0"),
    ({"repeats": 0}, "latency.here.repeats", "a whole number > 0"),
    ({"warmup": -1}, "latency.here.warmup", "a whole number >= 0"),
    ({"statistic": "average"}, "latency.here.statistic", "median, mean, min"),
    ({"repeat": 5}, "latency.here.repeat", "unknown key"),
    ({"stat": "median"}, "latency.here.stat", "unknown key"),
    ({"tf32": "yes"}, "latency.here.tf32", "true, false or default"),
    ({"tf32": 1}, "latency.here.tf32", "true, false or default"),
    ({"cudnn_benchmark": "on"}, "latency.here.cudnn_benchmark", "true or false"),
    ({"device": "tpu"}, "latency.here.device", "cpu, cuda, other"),
    ({"device": "gpu"}, "latency.here.device", "cpu, cuda, other"),
    ({"output": [1280]}, "latency.here.output", "[width, height]"),
    ({"input": "each_image"}, "latency.here.input", "not implemented"),
    ({"output": [64, 64]}, "latency.here", "not both"),
    ({"name": None}, "latency.here.name", "missing"),
]


@pytest.mark.parametrize("change, key, expected", BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_a_bad_latency_setting_is_one_line_naming_the_key(tmp_path, change, key, expected):
    setting = {**CPU_SETTING, **change}
    setting = {k: v for k, v in setting.items() if v is not None}
    with pytest.raises(SpecError) as info:
        _parse(tmp_path, _spec(tmp_path, {"here": setting}))
    message = str(info.value)
    assert "\n" not in message and message.startswith("table spec "), message
    assert key in message and expected in message, message


def test_a_setting_that_runs_needs_one_input_size(tmp_path):
    for device in ("cpu", "cuda"):
        with pytest.raises(SpecError, match=f"a {device} setting needs an input size"):
            _parse(tmp_path, _spec(tmp_path, {"here": {"device": device, "name": "x"}}))
    # a device this suite cannot drive needs none: its cells are NOT-IMPLEMENTED
    spec = _parse(tmp_path, _spec(tmp_path, {"here": {"device": "other", "name": "an iPhone"}}))
    assert timing.latency_setting(spec.protocol, "here").device == "other"


def test_the_schema_names_what_timing_knows():
    assert set(schema.LATENCY_DTYPES) == set(timing.DTYPES)
    assert set(schema.LATENCY_STATISTICS) == set(sampled.STATISTICS)
    fields = {f.name for f in dataclasses.fields(timing.LatencySetting)}
    assert set(schema.LATENCY_KEYS) == fields | {"input"}


def test_every_committed_setting_reads_as_a_typed_setting():
    for table in ("camixer_tab1", "esc_main", "esc_dflip", "esc_tab9", "nafssr_efficiency"):
        spec = load_spec(table)
        for col in spec.columns:
            if col.metric in ("latency_ms", "memory_mb", "latency_ratio"):
                assert isinstance(timing.latency_setting(spec.protocol, col.variant).name, str)
    esc = timing.latency_setting(load_spec("esc_main").protocol, None)
    assert (esc.device, esc.output, esc.dtype, esc.backend) == (
        "cuda",
        (1280, 720),
        "float32",
        "sdpa",
    )
    assert (esc.warmup, esc.repeats, esc.statistic, esc.timing) == (
        100,
        100,
        "median",
        "cuda_events",
    )
    # the official script's floor division: x3 -> 240 x 426
    assert esc.lr_size(3) == (240, 426) and esc.lr_size(2) == (360, 640)


class Counting(torch.nn.Module):
    """Counts forwards; checks that its input is on its device, in its dtype and shape."""

    def __init__(self, dtype=torch.float32, shape=None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1, dtype=dtype))
        self.calls = 0
        self.shape = shape

    def forward(self, x):
        assert x.dtype == self.w.dtype and x.device == self.w.device
        assert self.shape is None or tuple(x.shape) == self.shape
        self.calls += 1
        return x


def _fake_clock(monkeypatch, durations_ms):
    """perf_counter as seen by timing: each timed forward lasts the next duration."""
    ticks = []
    for d in durations_ms:
        ticks += [0.0, d / 1000]
    it = iter(ticks)
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: next(it)))


@pytest.mark.parametrize("statistic, expected", [("median", 4.0), ("mean", 5.0), ("min", 1.0)])
def test_a_cpu_measurement_follows_warmup_repeats_and_statistic(monkeypatch, statistic, expected):
    _fake_clock(monkeypatch, [4.0, 1.0, 10.0])
    model = Counting()
    setting = _setting(warmup=2, repeats=3, statistic=statistic)
    assert timing.measure_latency(model, setting, scale=4) == pytest.approx(expected)
    assert model.calls == 2 + 3


def test_the_input_is_built_on_the_models_device_and_dtype():
    model = Counting(dtype=torch.float64, shape=(2, 6, 8, 16))
    # output [64, 32] at x4: LR 8 x 16; batch 2, stereo channels
    setting = _setting(input_lr=None, output=(64, 32), batch=2, warmup=0, repeats=1)
    timing.measure_latency(model, setting, scale=4, channels=6)
    assert model.calls == 1


class Flags(torch.nn.Module):
    """Records the global flags and backend it runs under, then fails."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.backend = "auto"
        self.seen = None

    def set_backend(self, backend):
        self.backend = backend
        return self

    def forward(self, x):
        self.seen = (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.benchmark,
            torch.get_num_threads(),
            self.backend,
            torch.is_inference_mode_enabled(),
        )
        raise RuntimeError("forward failed")


@pytest.mark.parametrize("tf32, inside", [(True, (True, True)), (False, (False, False))])
def test_flags_are_set_for_a_measurement_and_restored_when_the_forward_raises(tf32, inside):
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, torch.get_num_threads())
    model = Flags()
    setting = _setting(tf32=tf32, cudnn_benchmark=True, threads=1, backend="sdpa", warmup=0)
    with pytest.raises(RuntimeError, match="forward failed"):
        timing.measure_latency(model, setting, scale=4)
    assert model.seen == (*inside, True, 1, "sdpa", True)
    assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, torch.get_num_threads()) == before
    assert model.backend == "auto"


def test_the_default_tf32_policy_is_pytorchs():
    model = Flags()
    with pytest.raises(RuntimeError):
        timing.measure_latency(model, _setting(warmup=0), scale=4)
    assert model.seen[:2] == (False, True)  # matmul off, cuDNN on


def test_a_half_precision_setting_runs_the_forward_under_autocast():
    seen = []

    class Probe(Counting):
        def forward(self, x):
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
            return super().forward(x)

    timing.measure_latency(Probe(), _setting(dtype="bfloat16", warmup=0, repeats=1), scale=4)
    timing.measure_latency(Probe(), _setting(warmup=0, repeats=1), scale=4)
    assert seen[0] == (True, torch.bfloat16) and seen[1][0] is False


def test_a_backend_on_a_model_without_one_is_not_implemented():
    with pytest.raises(NotRun) as info:
        timing.measure_latency(Counting(), _setting(backend="sdpa"), scale=4)
    assert info.value.code is NotRunCode.NOT_IMPLEMENTED and "sdpa" in info.value.detail


def test_a_ratio_alternates_the_two_states_per_round_in_abba_order(monkeypatch):
    # rounds (reference, measured), (measured, reference), ...: ratios 6/10, 3/10, 9/10 ->
    # median 0.6, interquartile range of the three ratios [0.45, 0.75]
    _fake_clock(monkeypatch, [10.0, 6.0, 3.0, 10.0, 10.0, 9.0])
    model, states = Counting(), []
    setting = _setting(warmup=1, repeats=3)
    got = timing.measure_ratio(
        model,
        setting,
        reference=lambda m: states.append("ref"),
        measured=lambda m: states.append("mine"),
        scale=4,
    )
    assert got == pytest.approx(0.6)
    assert (got.repeats, got.spread) == (3, pytest.approx((0.45, 0.75)))
    assert states == ["ref", "mine", "mine", "ref", "ref", "mine"]
    assert model.calls == 3 * 2 * (1 + 1)


def _row(model: str, scale: int = 4):
    return SimpleNamespace(model=model, scale=scale)


@NO_CUDA
def test_gpu_cells_on_a_machine_without_cuda_name_the_papers_device():
    model = build("camixersr-b", None, 4, ratio=0.5).eval()
    tab1 = load_spec("camixer_tab1")
    for variant, name in (("tesla_t4", "Tesla T4"), ("tesla_v100", "V100")):
        for metric in ("latency_ms", "latency_ratio"):
            with pytest.raises(NotRun) as info:
                measure(metric, _row("camixersr-b"), tab1, model, variant)
            assert info.value.code is NotRunCode.NEEDS_GPU and name in info.value.detail
    esc = load_spec("esc_main")
    for metric in ("latency_ms", "memory_mb"):
        with pytest.raises(NotRun) as info:
            measure(metric, _row("esc", 2), esc, build("esc", None, 2), None)
        assert info.value.code is NotRunCode.NEEDS_GPU and "RTX 4090" in info.value.detail
    with pytest.raises(NotRun) as info:
        measure("latency_ms", _row("camixersr-b"), tab1, model, "cpu_xeon8336c_1core")
    assert info.value.code is NotRunCode.NOT_IMPLEMENTED and "Xeon" in info.value.detail


class FakeEvent:
    """torch.cuda.Event stand-in: elapsed times from a list."""

    elapsed: list[float] = []
    records = 0

    def __init__(self, enable_timing=False):
        assert enable_timing

    def record(self):
        FakeEvent.records += 1

    def synchronize(self):
        pass

    def elapsed_time(self, end):
        return FakeEvent.elapsed.pop(0)


def test_the_cuda_path_uses_events_and_the_allocators_peak(monkeypatch):
    """Logic only: torch.cuda is mocked, the module stays on the CPU."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append("sync"))
    monkeypatch.setattr(
        torch.cuda, "reset_peak_memory_stats", lambda device=None: calls.append("reset")
    )
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 100 * timing.MIB)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 356 * timing.MIB)
    monkeypatch.setattr(timing, "_placed", lambda model, setting: (model, torch.device("cpu")))
    monkeypatch.setattr(timing, "time", None)  # the CPU clock must not be used
    FakeEvent.elapsed, FakeEvent.records = [5.0, 2.0, 3.0], 0
    spec = SimpleNamespace(
        protocol={
            "latency": {
                "name": "a GPU",
                "device": "cuda",
                "input_lr": [8, 8],
                "warmup": 2,
                "repeats": 3,
            }
        }
    )
    model = Counting()
    assert measure("latency_ms", _row("camixersr-b"), spec, model, None) == 3.0
    assert FakeEvent.records == 2 * 3 and model.calls == 2 + 3
    model.calls = 0
    assert measure("memory_mb", _row("camixersr-b"), spec, model, None) == 256.0
    assert model.calls == 2 and calls == ["sync", "reset", "sync"]


def test_an_absolute_time_is_measured_not_judged_and_ratios_and_memory_are_judged(tmp_path):
    latency = {
        "gpu": {"device": "cuda", "name": "an NVIDIA Tesla T4", "input_lr": [8, 8]},
        "here": dict(CPU_SETTING),
    }
    columns = [
        {"metric": "latency_ms", "variant": "gpu"},
        {"metric": "latency_ratio", "variant": "gpu"},
        {"metric": "memory_mb", "variant": "gpu"},
        {"metric": "latency_ms", "variant": "here"},
    ]
    spec = _parse(tmp_path, _spec(tmp_path, latency, columns, [227.7, 0.79, 200.0, 50.0]))
    keys = [c.key for c in spec.columns]
    measured = dict(zip([("cam", k) for k in keys], [12.0, 0.80, 400.0, 51.0], strict=True))
    cells = {c.metric + "/" + c.variant: c for c in compare(spec, measured, {}, {})}
    gpu = cells["latency_ms/gpu"]
    assert gpu.status is CellStatus.MEASURED and gpu.delta is None
    assert "Tesla T4" in gpu.reason and "GPU" in gpu.reason
    assert cells["latency_ms/here"].status is CellStatus.MEASURED
    assert cells["latency_ratio/gpu"].status is CellStatus.PASS
    assert cells["memory_mb/gpu"].status is CellStatus.FAIL


def test_a_table_run_measures_cpu_cells_and_leaves_gpu_cells_not_run(tmp_path):
    latency = {
        "here": dict(CPU_SETTING),
        "ratio": {**CPU_SETTING, "input_lr": [32, 32], "threads": 1, "warmup": 0, "repeats": 1},
        "t4": {"device": "cuda", "name": "an NVIDIA Tesla T4", "input_lr": [32, 32]},
    }
    columns = [
        {"metric": "latency_ms", "variant": "here"},
        {"metric": "latency_ratio", "variant": "ratio"},
        {"metric": "latency_ratio", "variant": "t4"},
        {"metric": "memory_mb", "variant": "here"},
    ]
    raw = _spec(tmp_path, latency, columns, [None, 0.7, 0.79, None])
    raw["rows"][0]["settings"] = {"ratio": 0.5}
    result = run_table(_parse(tmp_path, raw), progress=False, device="cpu")
    cells = {c.metric + "/" + c.variant: c for c in result.cells}
    assert cells["latency_ms/here"].status is CellStatus.MEASURED
    assert cells["latency_ms/here"].reproduced > 0
    assert cells["latency_ratio/ratio"].reproduced > 0
    assert cells["latency_ratio/ratio"].status is not CellStatus.NOT_RUN
    assert cells["memory_mb/here"].code is NotRunCode.NOT_IMPLEMENTED
    if not torch.cuda.is_available():
        t4 = cells["latency_ratio/t4"]
        assert t4.code is NotRunCode.NEEDS_GPU and "Tesla T4" in t4.reason


@NO_CUDA
def test_gpu_check_needs_cuda_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "needs CUDA" in done.stderr, done.stderr
    assert not (tmp_path / "gpu.md").exists()
