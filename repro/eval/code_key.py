"""The code a job's numbers depend on: the roots of its code closure (:mod:`repro.provenance`).

A job (model x dataset x protocol, scored with some metrics) runs the evaluation code (the
runner, and through its imports prediction, tiling, scoring and the row cache), the data code
(loading, verification, LR making, image IO), its model family (the modules that define its
builder, its uint8 forward and its complexity counter, and the family's package) and, for each
metric, the module that declares its :class:`~repro.metrics.MetricSpec` and the modules of its
implementation. The closure adds every module these import.

A metric from outside the package (an entry point) counts its own source whole: every module of
the top-level package that declares it, as a plugin model's ``source_sha256`` covers its
package (:mod:`repro.models.plugins`); the closure hashes each of them from its file.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from pathlib import Path

from repro.metrics import get_metric
from repro.metrics.registry import BUILT_IN, declaration
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
    """The module declaring a metric's entry, and those of its implementation and check; for
    a plugin's metric, every module of the package declaring it."""
    spec = get_metric(name)
    declared = declaration(name)
    roots = {module_of(fn) for fn in (spec.impl, spec.requires) if fn is not None}
    if declared.origin != BUILT_IN:
        return roots | package_modules(declared.module)
    return roots | {declared.module}


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


def package_modules(module: str) -> set[str]:
    """``module`` and every module of the top-level package holding it (a module outside
    ``repro``): the names of its ``.py`` files, found without importing them."""
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # the closure then finds no source: never reused
        spec = None
    found = {module}
    for folder in (spec.submodule_search_locations or ()) if spec is not None else ():
        for path in Path(folder).rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            if all(part.isidentifier() for part in parts):
                found.add(".".join((top, *parts)))
    return found
