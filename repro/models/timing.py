"""Latency and peak memory of a model's forward, under a table's latency protocol.

A protocol's ``latency`` block (checked when a spec is read, :mod:`repro.tables.protocol`) holds
one setting, and/or named settings that a column's ``variant`` selects; :func:`latency_setting`
reads one as a :class:`LatencySetting`. Every measurement runs on the setting's device, with its
threads, TF32 policy, cuDNN autotuning and attention backend, all restored afterwards; the input
is built on the model's device and dtype. CUDA forwards are timed with CUDA events, CPU ones with
``time.perf_counter`` (or, with ``clock: cpu``, the process's CPU time: on cores shared with
other work a wall clock mostly measures the others). Every measurement returns a
:class:`Sampled` number: the statistic, and how many samples it came from with their
spread (the interquartile range), which the verdict reads (a spread wider than the
tolerance decides nothing). Low in the layers (models and eval both time forwards), so that
no model family imports eval.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from repro.errors import NotRun, NotRunCode
from repro.metrics.sampled import Sampled

# the names repro.tables.protocol accepts (a test checks that both lists agree)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MIB = 2**20
CLOCKS = ("wall", "cpu")  # wall: perf_counter; cpu: the process's CPU time (CPU settings only)


@dataclass(frozen=True)
class LatencySetting:
    """One latency/memory setting; the defaults keep the CPU cells measured before it existed."""

    device: str  # cpu | cuda | other (a device this suite cannot drive: the cell is NOT-RUN)
    name: str  # the paper's device, named in reasons
    input_lr: tuple[int, int] | None = None  # [height, width] of the LR input
    output: tuple[int, int] | None = None  # [width, height] of the output: LR = H // s, W // s
    batch: int = 1
    dtype: str = "float32"  # float16 / bfloat16: the forward runs under torch.autocast
    tf32: bool | str = "default"  # default: PyTorch's (cuDNN convolutions TF32, matmul not)
    cudnn_benchmark: bool = False
    backend: str | None = None  # attention backend, for a family that has one (ESC)
    warmup: int = 1  # untimed forwards first (in a ratio: per side and round)
    repeats: int = 3  # timed forwards (in a ratio: rounds)
    statistic: str = "median"  # of the timed forwards (in a ratio: of the per-round ratios)
    threads: int | None = None  # CPU threads during the measurement; None: the process's
    clock: str = "wall"  # cpu: the process's CPU time, for a CPU shared with other work
    note: str | None = None  # recorded

    @property
    def timing(self) -> str:
        """How a forward is timed: chosen by the device (and, on the CPU, the clock)."""
        if self.device == "cuda":
            return "cuda_events"
        return "process_time" if self.clock == "cpu" else "perf_counter"

    def lr_size(self, scale: int) -> tuple[int, int]:
        """(height, width) of the LR input for a model of upscaling factor ``scale``."""
        if self.input_lr:
            return self.input_lr
        if not self.output:
            raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"the setting for {self.name} has no size")
        width, height = self.output  # floor, as ESC's official measurement script
        return height // scale, width // scale


def latency_setting(protocol: Mapping[str, Any], variant: str | None) -> LatencySetting:
    """The protocol's latency setting for a column variant (``protocol.latency.<variant>``), or
    its unnamed one; NotRun when there is none."""
    block = protocol.get("latency") or {}
    if variant and isinstance(block.get(variant), dict):
        raw = block[variant]
    else:
        raw = {k: v for k, v in block.items() if not isinstance(v, dict)}
    if not raw:
        which = f" '{variant}'" if variant else ""
        raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"the protocol has no latency setting{which}")
    return LatencySetting(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def check_runnable(setting: LatencySetting, metric: str) -> None:
    """NotRun unless this machine can measure ``metric`` under ``setting``."""
    if setting.device == "other":
        raise NotRun(
            NotRunCode.NOT_IMPLEMENTED,
            f"measured on {setting.name}, a device this suite cannot drive",
        )
    if metric == "memory_mb" and setting.device != "cuda":
        raise NotRun(
            NotRunCode.NOT_IMPLEMENTED, "peak memory is a CUDA allocator statistic (device: cuda)"
        )
    if setting.device == "cuda" and not torch.cuda.is_available():
        raise NotRun(
            NotRunCode.NEEDS_GPU,
            f"the paper measured {metric} on {setting.name}; this machine has no CUDA GPU",
        )


def measure_latency(
    model: torch.nn.Module, setting: LatencySetting, *, scale: int, channels: int = 3
) -> Sampled:
    """The setting's statistic of timed forwards (ms) on a random input, after its warm-up,
    with the spread of the timed forwards."""
    module, device = _placed(model, setting)
    x = _input(module, device, setting, scale, channels)
    timer = _timer(setting)
    with _conditions(module, setting, device):
        for _ in range(setting.warmup):
            module(x)
        times = [timer(lambda: module(x)) for _ in range(setting.repeats)]
    return Sampled.of(times, setting.statistic)


def measure_ratio(
    model: torch.nn.Module,
    setting: LatencySetting,
    *,
    reference: Callable[[torch.nn.Module], object],
    measured: Callable[[torch.nn.Module], object],
    scale: int,
    channels: int = 3,
) -> Sampled:
    """Latency in the ``measured`` state over the ``reference`` state (each callable puts the
    module in its state), same input, same process.

    The two are timed in alternation: in each of ``repeats`` rounds, each side gets ``warmup``
    untimed forwards and one timed one, and the statistic of the per-round ratios is returned
    with their spread; drift and other load then hit both sides alike (timing all
    of one side first let a CPU ratio wander from 0.60 to 0.78 between runs on a shared
    machine). Odd rounds time the measured side first (ABBA order), so that any advantage of
    running second in a round (caches the first side warmed) cancels out.
    """
    module, device = _placed(model, setting)
    x = _input(module, device, setting, scale, channels)
    timer = _timer(setting)

    def one(state: Callable[[torch.nn.Module], object]) -> float:
        state(module)
        for _ in range(setting.warmup):
            module(x)
        return timer(lambda: module(x))

    ratios = []
    with _conditions(module, setting, device):
        for i in range(setting.repeats):
            if i % 2 == 0:
                base = one(reference)
                mine = one(measured)
            else:
                mine = one(measured)
                base = one(reference)
            ratios.append(mine / base)
    return Sampled.of(ratios, setting.statistic)


@contextmanager
def timed_forward(
    model: torch.nn.Module, setting: LatencySetting, *, scale: int, channels: int = 3
) -> Iterator[tuple[torch.nn.Module, torch.Tensor, Callable[[], float]]]:
    """For timing parts of a forward by hand: the model on the setting's device, a random
    input, and a clock in ms (the setting's: CPU time with ``clock: cpu``; on CUDA it waits for
    the device first), under the setting's conditions."""
    module, device = _placed(model, setting)
    x = _input(module, device, setting, scale, channels)
    if setting.timing == "cuda_events":

        def clock() -> float:
            torch.cuda.synchronize(device)
            return time.perf_counter() * 1000

    else:
        tick = time.process_time if setting.timing == "process_time" else time.perf_counter

        def clock() -> float:
            return tick() * 1000

    with _conditions(module, setting, device):
        yield module, x, clock


def peak_memory_mib(
    model: torch.nn.Module, setting: LatencySetting, *, scale: int, channels: int = 3
) -> float:
    """Peak CUDA memory (MiB) allocated during one forward, above what was allocated before it
    (weights and input), after one warm-up forward (cuDNN's algorithm search allocates once)."""
    module, device = _placed(model, setting)
    x = _input(module, device, setting, scale, channels)
    with _conditions(module, setting, device):
        module(x)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        module(x)
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
    return (peak - before) / MIB


def _placed(
    model: torch.nn.Module, setting: LatencySetting
) -> tuple[torch.nn.Module, torch.device]:
    """The model on the setting's device: itself when it is there, else a copy (a time does not
    depend on the weights' values, and the run's model stays where the run put it)."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    here = first.device if first is not None else torch.device("cpu")
    if here.type == setting.device:
        return model, here
    cuda = setting.device == "cuda"
    target = torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")
    return copy.deepcopy(model).to(target), target


def _input(
    module: torch.nn.Module,
    device: torch.device,
    setting: LatencySetting,
    scale: int,
    channels: int,
) -> torch.Tensor:
    """A random ``batch x C x H x W`` input on the model's device, in the model's dtype."""
    height, width = setting.lr_size(scale)
    floats = (p.dtype for p in module.parameters() if p.is_floating_point())
    dtype = next(floats, torch.float32)
    return torch.rand(setting.batch, channels, height, width, device=device, dtype=dtype)


def _timer(setting: LatencySetting) -> Callable[[Callable[[], object]], float]:
    if setting.timing == "cuda_events":
        return _cuda_event_ms
    return _process_time_ms if setting.timing == "process_time" else _perf_counter_ms


def _perf_counter_ms(forward: Callable[[], object]) -> float:
    start = time.perf_counter()
    forward()
    return (time.perf_counter() - start) * 1000


def _process_time_ms(forward: Callable[[], object]) -> float:
    """CPU time of the process (all its threads) during the forward: time lost to other
    processes on shared cores is not counted."""
    start = time.process_time()
    forward()
    return (time.process_time() - start) * 1000


def _cuda_event_ms(forward: Callable[[], object]) -> float:
    """GPU time between two events around the forward (launch gaps included: a launch-bound
    model is timed as slow as it runs)."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    forward()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


@contextmanager
def _conditions(
    module: torch.nn.Module, setting: LatencySetting, device: torch.device
) -> Iterator[None]:
    """The setting's threads, TF32 policy, cuDNN autotuning, backend and dtype, under
    ``torch.inference_mode``; every global flag and the backend restored after, even on error."""
    if setting.backend and not hasattr(module, "set_backend"):
        raise NotRun(
            NotRunCode.NOT_IMPLEMENTED,
            f"{type(module).__name__} has no attention backend to set to '{setting.backend}'",
        )
    cuda, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (torch.get_num_threads(), cuda.allow_tf32, cudnn.allow_tf32, cudnn.benchmark)
    backend = module.backend if setting.backend else None
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[setting.dtype])
        if setting.dtype != "float32"
        else nullcontext()
    )
    try:
        if setting.threads:
            torch.set_num_threads(setting.threads)
        cuda.allow_tf32 = setting.tf32 is True
        cudnn.allow_tf32 = setting.tf32 is not False
        cudnn.benchmark = setting.cudnn_benchmark
        if setting.backend:
            module.set_backend(setting.backend)
        # CUDA events and the allocator's counters are per device: make the model's current
        on_device = torch.cuda.device(device) if device.type == "cuda" else nullcontext()
        with on_device, torch.inference_mode(), autocast:
            yield
    finally:
        torch.set_num_threads(saved[0])
        cuda.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = saved[1:]
        if backend is not None:
            module.set_backend(backend)
