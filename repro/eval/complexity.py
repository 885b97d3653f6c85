"""Dataset-free columns of a table: parameter counts, FLOPs/MAdds, latency, memory.

``params`` and ``latency_ms`` are measured here for any model. FLOPs/MAdds follow each paper's
own counting convention, so a model family provides them as ``ModelInfo.complexity``. Cells
that cannot be measured here raise :class:`repro.errors.NotRun`.
"""

from __future__ import annotations

import torch

from repro.errors import NotRun, NotRunCode, ReproError
from repro.metrics import MetricKind, get_metric
from repro.models import registry
from repro.models.timing import latency_setting, measure_latency

CPU_DEVICES = ("cpu",)
GPU_DEVICES = ("cuda", "gpu")


def count_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def measure(metric: str, row, spec, model: torch.nn.Module, variant: str | None) -> float:
    """One cost column of a table row; NotRun when this machine or suite cannot measure it."""
    if get_metric(metric).kind is not MetricKind.COST:
        raise ReproError(f"{metric} is measured on images, not on the model: not a cost column")
    info = registry.get(row.model)
    if metric == "params":
        return float(count_params(model))
    if metric in ("latency_ms", "memory_mb"):
        setting = latency_setting(spec.protocol, variant)
        where = str(setting.get("device", "cpu")).lower()
        if where in GPU_DEVICES:
            if not torch.cuda.is_available():
                raise NotRun(
                    NotRunCode.NEEDS_GPU,
                    f"the paper measured {metric} on {setting.get('name', 'a GPU')}",
                )
        elif where not in CPU_DEVICES:
            raise NotRun(
                NotRunCode.NOT_IMPLEMENTED,
                f"measured on {setting.get('name', where)}, a device this suite cannot drive",
            )
        if metric == "memory_mb":
            raise NotRun(NotRunCode.NEEDS_GPU, "peak memory is a CUDA allocator statistic")
        if "input_lr" not in setting:
            raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"the spec gives no input size for {metric}")
        device = "cuda" if where in GPU_DEVICES else "cpu"
        return measure_latency(
            model,
            setting["input_lr"],
            channels=6 if info.stereo else 3,
            device=device,
            threads=setting.get("threads"),
            repeats=int(setting.get("repeats", 3)),
        )
    if info.complexity is None:
        raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"no '{metric}' counter for {info.id}")
    counted = info.complexity(
        metric, model, scale=row.scale, protocol=spec.protocol, variant=variant
    )
    return float(counted)
