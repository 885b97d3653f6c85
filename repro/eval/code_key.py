"""The code a job's numbers depend on: the roots of its code closure (:mod:`repro.provenance`).

A job (model x dataset x protocol, scored with some metrics) runs the evaluation code (the
runner, and through its imports prediction, tiling, scoring and the row cache), the data code
(loading, verification, LR making, image IO), its model family (the modules that define its
builder, its uint8 forward and its complexity counter, and the family's package) and, for each
metric, the module that declares its :class:`~repro.metrics.MetricSpec` and the modules of its
implementation. The closure adds every module these import.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable

from repro.metrics import MetricSpec, get_metric
from repro.models import registry
from repro.provenance import UNKNOWN_CODE, CodeClosure, code_closure

EVALUATION_ROOTS = (
    "repro.eval.runner",  # prediction, tiling, scoring, the row cache
    "repro.data.loaders",  # local folders, the Hub, official archives
    "repro.data.dataset",  # verification, decoding, LR making
)


def model_roots(model_id: str) -> set[str]:
    """The modules that define a model's builder, uint8 forward and complexity counter."""
    info = registry.get(model_id)
    return {
        module_of(fn) for fn in (info.build, info.predict_uint8, info.complexity) if fn is not None
    }


def metric_roots(name: str) -> set[str]:
    """The modules declaring a metric's entry, and those of its implementation and check."""
    spec = get_metric(name)
    roots = {module_of(fn) for fn in (spec.impl, spec.requires) if fn is not None}
    return roots | _declaring_modules(spec)


def job_roots(model_id: str, metrics: Iterable[str]) -> set[str]:
    """Where the code closure of a job of ``model_id`` scored with ``metrics`` starts."""
    roots = {*EVALUATION_ROOTS, *model_roots(model_id)}
    for name in metrics:
        roots |= metric_roots(name)
    return roots


def job_code(model_id: str, metrics: Iterable[str]) -> CodeClosure:
    """The code closure of a job of ``model_id`` scored with ``metrics`` (names)."""
    return code_closure(job_roots(model_id, metrics))


def module_of(fn: object) -> str:
    """The module that defines a callable (through ``functools.partial`` and bound methods);
    a callable object counts as its class."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = getattr(fn, "__func__", fn)
    name = getattr(fn, "__module__", None)
    if not isinstance(name, str):
        name = getattr(type(fn), "__module__", None)
    return name if isinstance(name, str) else UNKNOWN_CODE


def _declaring_modules(spec: MetricSpec) -> set[str]:
    """The modules whose ``METRICS`` hold ``spec`` (its protocol keys and fixed arguments)."""
    found = set()
    for name, module in list(sys.modules.items()):
        listed = vars(module).get("METRICS") if hasattr(module, "__dict__") else None
        if isinstance(listed, (tuple, list)) and any(s is spec for s in listed):
            found.add(name)
    return found or {UNKNOWN_CODE}
