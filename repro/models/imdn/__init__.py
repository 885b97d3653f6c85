"""IMDN, the lightweight comparison row of CAMixerSR's tables (:mod:`repro.models.imdn.arch`),
with its released checkpoints (:mod:`repro.models.imdn.weights`) and its complexity under the
CAMixerSR tables' conventions (:func:`complexity`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from repro.errors import NotRun, NotRunCode
from repro.models.imdn.arch import build_imdn
from repro.models.imdn.weights import WEIGHTS
from repro.models.info import ModelInfo

SCALES = (2, 3, 4)


def fvcore_by_operator(model: nn.Module, lr_hw: tuple[int, int]) -> dict[str, float]:
    """fvcore's multiply-adds per operator for an LR input of ``lr_hw`` (a real forward)."""
    from fvcore.nn import FlopCountAnalysis

    x = torch.rand((1, 3, *lr_hw), generator=torch.Generator().manual_seed(0))
    x = x.to(next(model.parameters()).device)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings
        fca = FlopCountAnalysis(model.eval(), x)
        fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return {op: float(n) for op, n in fca.by_operator().items()}


def complexity(
    metric: str, model: nn.Module, *, scale: int, protocol: Mapping[str, Any], variant: str | None
) -> float:
    """In G: ``madds`` as fvcore counts them for the protocol's output size (the lightweight
    table: 1280x720, as the IMDN paper's 40.9G); ``flops`` as CAMixerSR's official ``flops()``
    counts a network without attention (2 x the convolutions' multiply-adds) on the protocol's
    LR patch (the large-image table: 32x32)."""
    if metric == "madds":
        width, height = protocol.get("flops_output", (1280, 720))
        lr_hw = (math.ceil(height / scale), math.ceil(width / scale))
        return sum(fvcore_by_operator(model, lr_hw).values()) / 1e9
    if metric == "flops":
        lr_hw = tuple(protocol.get("flops_lr_input", (32, 32)))
        return 2 * fvcore_by_operator(model, lr_hw).get("conv", 0.0) / 1e9
    raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"no '{metric}' counter for IMDN")


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        id="imdn",
        family="imdn",
        variant="",
        scales=SCALES,
        build=build_imdn,
        description="IMDN (64 ch, 6 IMDBs; the official checkpoints, a comparison row)",
        weights={s: WEIGHTS[f"imdn-x{s}"] for s in SCALES},
        catalogue=WEIGHTS,
        complexity=complexity,
    ),
)
