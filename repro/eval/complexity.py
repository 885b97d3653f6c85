"""Dataset-free columns of a table: parameter counts, FLOPs/MAdds, latency, memory.

``params``, ``latency_ms`` and ``memory_mb`` are measured here for any model, latency and memory
under the column's latency setting (:mod:`repro.models.timing`): on the GPU at hand for a
``device: cuda`` setting, NEEDS-GPU on a machine without one. FLOPs/MAdds (and CAMixerSR's
latency ratio) follow each paper's own convention, so a model family provides them as
``ModelInfo.complexity``. Cells that cannot be measured here raise :class:`repro.errors.NotRun`.
"""

from __future__ import annotations

import torch

from repro.errors import NotRun, NotRunCode, ReproError
from repro.metrics import MetricKind, get_metric
from repro.metrics.sampled import Sampled
from repro.models import registry
from repro.models.timing import check_runnable, latency_setting, measure_latency, peak_memory_mib


def count_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def measure(metric: str, row, spec, model: torch.nn.Module, variant: str | None) -> float:
    """One cost column of a table row; NotRun when this machine or suite cannot measure it.
    A timed column returns a :class:`~repro.models.timing.Sampled` number (repeats, spread)."""
    if get_metric(metric).kind is not MetricKind.COST:
        raise ReproError(f"{metric} is measured on images, not on the model: not a cost column")
    info = registry.get(row.model)
    if metric == "params":
        return float(count_params(model))
    if metric in ("latency_ms", "memory_mb"):
        setting = latency_setting(spec.protocol, variant)
        check_runnable(setting, metric)
        channels = 6 if info.stereo else 3
        if metric == "memory_mb":
            return peak_memory_mib(model, setting, scale=row.scale, channels=channels)
        return measure_latency(model, setting, scale=row.scale, channels=channels)
    if info.complexity is None:
        raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"no '{metric}' counter for {info.id}")
    counted = info.complexity(
        metric, model, scale=row.scale, protocol=spec.protocol, variant=variant
    )
    # a timed number keeps its samples and spread (the verdict reads them)
    return counted if isinstance(counted, Sampled) else float(counted)
