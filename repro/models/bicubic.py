"""The bicubic baseline, in the two kinds the papers' tables use.

- ``matlab`` (default): MATLAB ``imresize(lr, s, 'bicubic')`` of the LR image, the classic
  benchmark rows. It works on the uint8 image itself (``predict_uint8``), so that MATLAB's uint8
  rounding can be emulated exactly.
- ``torch``: ``nn.Upsample(scale_factor=s, mode='bicubic', align_corners=True)`` (a = -0.75) on
  the [0, 1] image, then BasicSR's clamp-and-round to uint8: the "Bicubic" rows of the 360° tables
  (OSRT's ``BICUBICUP``, reused by CAMixerSR).

``forward`` gives the float result for use as a torch module.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.data.imresize import imresize, imresize_uint8
from repro.errors import ReproError
from repro.models.info import ModelInfo

METHODS = ("matlab", "torch")


class Bicubic(nn.Module):
    def __init__(self, scale: int, rounding: str = "matlab", method: str = "matlab") -> None:
        super().__init__()
        if method not in METHODS:
            raise ReproError(f"unknown bicubic method '{method}'; use one of {METHODS}")
        self.scale = scale
        self.rounding = rounding
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "torch":
            return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=True)
        return imresize(x, float(self.scale))

    def predict_uint8(self, lr: np.ndarray) -> np.ndarray:
        """Upscale a uint8 (h, w, C) image; any channel count (gray stays gray)."""
        if self.method == "torch":
            x = torch.from_numpy(np.array(lr, copy=True)).permute(2, 0, 1)[None].float() / 255
            y = self.forward(x)[0].clamp(0, 1).permute(1, 2, 0)
            return (y * 255.0).round().to(torch.uint8).numpy()
        return imresize_uint8(lr, float(self.scale), rounding=self.rounding)


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        id="bicubic",
        family="bicubic",
        variant="",
        scales=(2, 3, 4, 8),
        build=lambda scale, rounding="matlab", method="matlab": Bicubic(scale, rounding, method),
        description="bicubic upscaling, no weights: MATLAB imresize (a=-0.5, default) or "
        "method=torch (align_corners=True, a=-0.75; the 360° tables)",
        settings=("rounding", "method"),
        needs_weights=False,
        any_views=True,
        predict_uint8=Bicubic.predict_uint8,
    ),
)
