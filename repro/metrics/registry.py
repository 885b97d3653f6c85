"""One table of metrics (in the spirit of pyiqa's ``DEFAULT_CONFIGS``): name -> MetricSpec.

Each module of :data:`METRIC_MODULES` defines ``METRICS: tuple[MetricSpec, ...]``; they are
imported on first use (so heavy dependencies load only when a metric is asked for) and an
import error fails loudly. Adding a metric: add its :class:`MetricSpec` to one of those modules,
or write a new module and add its name here.

Calling conventions, by kind (see :class:`repro.metrics.spec.MetricKind`): ``spec.fn(sr, hr,
**protocol)`` for fidelity and perceptual metrics, ``spec.fn(img, **protocol)`` for no-reference
ones, with uint8 ``(H, W, C)`` arrays (stereo metrics: ``(H, W, 6)``, left view first). Cost
metrics are measured per model by :mod:`repro.eval.complexity`. ``protocol`` is a table spec's
protocol block: each metric reads the keys of its ``protocol_keys`` and ignores the rest.
"""

from __future__ import annotations

import importlib
from functools import cache

from repro.errors import UnknownNameError, did_you_mean
from repro.metrics.spec import MetricSpec

METRIC_MODULES = (
    "repro.metrics.builtin",  # PSNR, SSIM, WS-PSNR/WS-SSIM, stereo PSNR/SSIM
    "repro.metrics.iqa",  # LPIPS, NIQE, DISTS, MUSIQ, MANIQA, CLIPIQA, FID
    "repro.metrics.cost",  # params, FLOPs/MAdds/MACs, latency, memory
)


@cache
def all_metrics() -> dict[str, MetricSpec]:
    """Every registered metric, by name (sorted)."""
    table: dict[str, MetricSpec] = {}
    for module in METRIC_MODULES:
        for spec in importlib.import_module(module).METRICS:
            if spec.name != spec.name.lower():
                raise ValueError(f"{module}: metric names are lowercase: {spec.name!r}")
            if spec.name in table:
                raise ValueError(f"{module}: metric registered twice: {spec.name}")
            table[spec.name] = spec
    return dict(sorted(table.items()))


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name`` (case-insensitive); UnknownNameError with a hint otherwise."""
    metrics = all_metrics()
    key = str(name).lower()
    if key not in metrics:
        raise UnknownNameError(
            f"unknown metric '{name}'; {did_you_mean(key, metrics)} "
            f"(known metrics: {', '.join(metrics)})"
        )
    return metrics[key]
