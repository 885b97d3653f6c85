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

from repro.errors import RegistrationError, UnknownNameError, did_you_mean
from repro.metrics.spec import MetricSpec, check_entry

METRIC_MODULES = (
    "repro.metrics.builtin",  # PSNR, SSIM, WS-PSNR/WS-SSIM, stereo PSNR/SSIM
    "repro.metrics.iqa",  # LPIPS, NIQE, DISTS, MUSIQ, MANIQA, CLIPIQA, FID
    "repro.metrics.cost",  # params, FLOPs/MAdds/MACs, latency, memory
)


def _load() -> tuple[dict[str, MetricSpec], dict[str, str]]:
    """Metrics by name, and the one-line reason of each entry left out: an impossible field
    (:func:`~repro.metrics.spec.check_entry`) or a name two entries claim. A wrong entry breaks
    that metric alone; a module that fails to import fails loudly."""
    table: dict[str, MetricSpec] = {}
    where: dict[str, str] = {}
    broken: dict[str, str] = {}
    for module in METRIC_MODULES:
        for spec in importlib.import_module(module).METRICS:
            try:
                check_entry(spec, module)
            except RegistrationError as exc:
                broken[str(getattr(spec, "name", "?")).lower()] = str(exc)
                continue
            if spec.name in table or spec.name in broken:
                first = where.get(spec.name, "an entry left out")
                broken[spec.name] = f"metric '{spec.name}' is registered twice ({first}, {module})"
                table.pop(spec.name, None)
                continue
            table[spec.name], where[spec.name] = spec, module
    return dict(sorted(table.items())), broken


@cache
def all_metrics() -> dict[str, MetricSpec]:
    """Every registered metric, by name (sorted); entries left out: :func:`broken_metrics`."""
    return _load()[0]


def broken_metrics() -> dict[str, str]:
    """Entries left out of the registry, by name: why, in one line."""
    return _load()[1]


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name`` (case-insensitive); UnknownNameError with a hint otherwise,
    RegistrationError with the reason for an entry left out."""
    metrics = all_metrics()
    key = str(name).lower()
    if key in metrics:
        return metrics[key]
    broken = broken_metrics()
    if key in broken:
        raise RegistrationError(broken[key])
    raise UnknownNameError(
        f"unknown metric '{name}'; {did_you_mean(key, metrics)} "
        f"(known metrics: {', '.join(metrics)})"
    )
