"""One table of metrics (in the spirit of pyiqa's ``DEFAULT_CONFIGS``): name -> MetricSpec.

Where a metric comes from:

- the modules of :data:`METRIC_MODULES`, each defining ``METRICS: tuple[MetricSpec, ...]``,
  imported on first use (so heavy dependencies load only when a metric is asked for); an import
  error fails loudly. A shipped metric: a :class:`MetricSpec` in one of those modules, or a new
  module named here;
- the entry points of the group ``repro.metrics`` of installed distributions
  (:mod:`repro.metrics.plugins`), each naming a MetricSpec or a tuple of them.

Every entry is checked (:func:`~repro.metrics.spec.check_entry`); a wrong one is left out with a
one-line reason and breaks that metric alone. Two shipped modules registering one name lose it
both; a plugin's entry whose name is taken is left out alone (the first keeps working).

Calling conventions, by kind (see :class:`repro.metrics.spec.MetricKind`): ``spec.fn(sr, hr,
**protocol)`` for fidelity and perceptual metrics, ``spec.fn(img, **protocol)`` for no-reference
ones, with uint8 ``(H, W, C)`` arrays (stereo metrics: ``(H, W, 6)``, left view first). Cost
metrics are measured per model by :mod:`repro.eval.complexity`. ``protocol`` is a table spec's
protocol block: each metric reads the keys of its ``protocol_keys`` and ignores the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from repro.errors import RegistrationError, UnknownNameError, did_you_mean
from repro.metrics.plugins import declared_entries, entry_point_origin, entry_points_installed
from repro.metrics.spec import MetricSpec, check_entry

METRIC_MODULES = (
    "repro.metrics.builtin",  # PSNR, SSIM, WS-PSNR/WS-SSIM, stereo PSNR/SSIM
    "repro.metrics.iqa",  # LPIPS, NIQE, DISTS, MUSIQ, MANIQA, CLIPIQA, FID
    "repro.metrics.cost",  # params, FLOPs/MAdds/MACs, latency, memory
)
BUILT_IN = "built-in"


@dataclass(frozen=True)
class Declaration:
    """Where a registered metric is declared."""

    module: str  # the module holding its entry: a METRIC_MODULES name, or an entry point's
    origin: str  # "built-in", or the entry point and its distribution


@dataclass
class _Registry:
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    declared: dict[str, Declaration] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # name -> why it is left out
    broken_origin: dict[str, str] = field(default_factory=dict)

    def add(self, entries: Iterable[Any], where: Declaration, label: str) -> None:
        """Check and register a module's (or an entry point's) entries; ``label`` names it in
        messages."""
        plugin = where.origin != BUILT_IN
        for spec in entries:
            try:
                check_entry(spec, label)
            except RegistrationError as exc:
                self.leave_out(str(getattr(spec, "name", "?")).lower(), str(exc), where, plugin)
                continue
            name = spec.name
            if plugin and (name in self.metrics or name in self.broken):
                first = self.declared[name].origin if name in self.metrics else "an entry left out"
                why = f"metric '{name}' ({label}): the name is registered already ({first})"
                self.leave_out(name, why, where, plugin)
            elif name in self.metrics or name in self.broken:
                first = self.declared[name].module if name in self.metrics else "an entry left out"
                why = f"metric '{name}' is registered twice ({first}, {label})"
                self.metrics.pop(name, None)
                self.leave_out(name, why, where, plugin)
            else:
                self.metrics[name], self.declared[name] = spec, where

    def leave_out(self, name: str, why: str, where: Declaration, plugin: bool) -> None:
        """Record why ``name`` is left out (``plugin``: an entry point's entry)."""
        if plugin and name in self.broken:
            return  # the first reason stands; a plugin never hides a shipped entry's
        self.broken[name], self.broken_origin[name] = why, where.origin


@cache
def _registry() -> _Registry:
    """Shipped metrics first, then the plugins' (so a plugin never displaces a shipped one)."""
    found = _Registry()
    for module in METRIC_MODULES:
        found.add(importlib.import_module(module).METRICS, Declaration(module, BUILT_IN), module)
    for ep in entry_points_installed():
        where = Declaration(ep.module, entry_point_origin(ep))
        try:
            entries = declared_entries(ep)
        except RegistrationError as exc:
            found.leave_out(ep.name, str(exc), where, plugin=True)
            continue
        found.add(entries, where, where.origin)
    found.metrics = dict(sorted(found.metrics.items()))
    return found


@cache
def all_metrics() -> dict[str, MetricSpec]:
    """Every registered metric, by name (sorted); entries left out: :func:`broken_metrics`.

    Reset with :func:`reload` (or ``all_metrics.cache_clear()``): the next call loads every
    source again, and the other look-ups here read what it loaded."""
    _registry.cache_clear()
    return _registry().metrics


def reload() -> None:
    """Forget the loaded metrics (after installing a plugin in this process; tests)."""
    all_metrics.cache_clear()


def broken_metrics() -> dict[str, str]:
    """Entries left out of the registry, by name: why, in one line."""
    all_metrics()
    return dict(_registry().broken)


def declaration(name: str) -> Declaration:
    """Where the metric ``name`` is declared (its module and origin); one line if unknown."""
    spec = get_metric(name)
    return _registry().declared[spec.name]


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name`` (case-insensitive); UnknownNameError with a hint otherwise,
    RegistrationError with the reason for an entry left out."""
    metrics = all_metrics()
    key = str(name).lower()
    if key in metrics:
        return metrics[key]
    broken = _registry().broken
    if key in broken:
        raise RegistrationError(broken[key])
    raise UnknownNameError(
        f"unknown metric '{name}'; {did_you_mean(key, metrics)} "
        f"(known metrics: {', '.join(metrics)})"
    )


def listing() -> list[dict[str, Any]]:
    """``repro ls metrics``: every metric with where it came from, and every entry left out
    with its one-line reason."""
    metrics, found = all_metrics(), _registry()
    rows = [
        {
            "id": m.name,
            "kind": str(m.kind),
            "direction": "higher" if m.higher_is_better else "lower",
            "origin": found.declared[m.name].origin,
            "description": m.description,
        }
        for m in metrics.values()
    ]
    rows += [
        {
            "id": name,
            "kind": "",
            "direction": "",
            "origin": found.broken_origin[name],
            "description": f"NOT REGISTERED: {why}",
            "error": why,
        }
        for name, why in found.broken.items()
    ]
    return sorted(rows, key=lambda r: (r["id"], "error" in r))
