"""What the suite knows about one registered model variant: :class:`ModelInfo`.

A family package declares its variants as ``MODELS: tuple[ModelInfo, ...]`` in its
``__init__``; :mod:`repro.models.registry` lists the families. Everything the rest of the suite
needs from a family (builder, weights, complexity counter, uint8 predictor) is a field here, so
nothing is looked up on a module by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch.nn as nn

from repro.weights.entry import WeightsEntry


class ComplexityCounter(Protocol):
    """A family's counter for the dataset-free columns it defines (FLOPs, MAdds, ...).

    ``scale`` is the table row's scale, ``protocol`` the table's protocol block (the counter
    reads its own keys, e.g. ``flops_output``), ``variant`` the column's variant (e.g. a latency
    setting under ``protocol.latency``). Raises :class:`repro.errors.NotRun` where it cannot
    count.
    """

    def __call__(
        self,
        metric: str,
        model: nn.Module,
        *,
        scale: int,
        protocol: Mapping[str, Any],
        variant: str | None,
    ) -> float: ...


# predict_uint8(module, lr) -> sr: for models that work on the uint8 image itself
Uint8Forward = Callable[[nn.Module, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: str
    variant: str
    scales: tuple[int, ...]
    build: Callable[..., nn.Module]  # build(scale=..., **settings) -> nn.Module
    description: str = ""
    weights: dict[int, WeightsEntry] = field(default_factory=dict)  # scale -> default checkpoint
    # every released checkpoint of the family by id (the defaults and the alternatives a row or
    # --weights-id may name); the same mapping for all variants of a family
    catalogue: Mapping[str, WeightsEntry] = field(default_factory=dict)
    stereo: bool = False  # takes a left/right pair (6 channels)
    any_views: bool = False  # works per channel: single images and stereo pairs alike
    settings: tuple[str, ...] = ()  # names accepted by --set key=value
    needs_weights: bool = True
    complexity: ComplexityCounter | None = None  # None: only params and latency are measured
    predict_uint8: Uint8Forward | None = None  # None: the float forward, clamped and rounded
