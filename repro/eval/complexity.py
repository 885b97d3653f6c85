"""Dataset-free columns of a table: parameter counts, FLOPs/MAdds, latency.

A model family may define ``complexity(metric, model, row, spec, variant) -> float`` in its
module; otherwise only ``params`` is known here.
"""

from __future__ import annotations

import importlib

import torch

from repro.errors import ReproError
from repro.models import registry


def count_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def measure(metric: str, row, spec, model: torch.nn.Module, variant: str | None) -> float:
    if metric == "params":
        return float(count_params(model))
    info = registry.get(row.model)
    family = importlib.import_module(info.build.__module__)
    hook = getattr(family, "complexity", None)
    if hook is None:
        raise ReproError(f"NOT-IMPLEMENTED: no '{metric}' counter for {info.id}")
    return float(hook(metric, model, row, spec, variant))
