"""Dataset-free columns of a table: parameter counts, FLOPs/MAdds, latency, memory.

``params`` and ``latency_ms`` are measured here for any model. FLOPs/MAdds follow each paper's
own counting convention, so a model family provides them with a module-level hook
``complexity(metric, model, row, spec, variant) -> float``. Cells that cannot be measured here
raise ReproError whose message starts with the NOT-RUN reason code.
"""

from __future__ import annotations

import importlib
import statistics
import time

import torch

from repro.errors import ReproError
from repro.models import registry

CPU_DEVICES = ("cpu",)
GPU_DEVICES = ("cuda", "gpu")


def count_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def latency_setting(spec, variant: str | None) -> dict:
    """The protocol's latency block for a column variant (``protocol.latency.<variant>``)."""
    block = spec.protocol.get("latency") or {}
    if variant and isinstance(block.get(variant), dict):
        return block[variant]
    return {k: v for k, v in block.items() if not isinstance(v, dict)}


def measure_latency(
    model: torch.nn.Module,
    input_lr,
    *,
    channels: int = 3,
    device: str = "cpu",
    threads: int | None = None,
    repeats: int = 3,
) -> float:
    """Median wall time (ms) of one forward on a random ``1 x C x H x W`` input, after a warm-up."""
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        x = torch.rand(1, channels, int(input_lr[0]), int(input_lr[1]), device=device)
        times = []
        with torch.inference_mode():
            for i in range(repeats + 1):
                if device != "cpu":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(x)
                if device != "cpu":
                    torch.cuda.synchronize()
                if i:  # the first call warms up
                    times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)
    finally:
        torch.set_num_threads(old_threads)


def measure(metric: str, row, spec, model: torch.nn.Module, variant: str | None) -> float:
    info = registry.get(row.model)
    if metric == "params":
        return float(count_params(model))
    if metric in ("latency_ms", "memory_mb"):
        setting = latency_setting(spec, variant)
        where = str(setting.get("device", "cpu")).lower()
        if where in GPU_DEVICES:
            if not torch.cuda.is_available():
                raise ReproError(
                    f"NEEDS-GPU: the paper measured {metric} on {setting.get('name', 'a GPU')}"
                )
        elif where not in CPU_DEVICES:
            raise ReproError(
                f"NOT-IMPLEMENTED: measured on {setting.get('name', where)}, a device "
                "this suite cannot drive"
            )
        if metric == "memory_mb":
            raise ReproError("NEEDS-GPU: peak memory is a CUDA allocator statistic")
        if "input_lr" not in setting:
            raise ReproError(f"NOT-IMPLEMENTED: the spec gives no input size for {metric}")
        device = "cuda" if where in GPU_DEVICES else "cpu"
        return measure_latency(
            model,
            setting["input_lr"],
            channels=6 if info.stereo else 3,
            device=device,
            threads=setting.get("threads"),
            repeats=int(setting.get("repeats", 3)),
        )
    family = importlib.import_module(info.build.__module__)
    hook = getattr(family, "complexity", None)
    if hook is None:
        raise ReproError(f"NOT-IMPLEMENTED: no '{metric}' counter for {info.id}")
    return float(hook(metric, model, row, spec, variant))
