"""The bicubic baseline: MATLAB ``imresize(lr, s, 'bicubic')`` of the LR image.

It works on the uint8 image itself (``predict_uint8``), so that MATLAB's uint8 rounding can be
emulated exactly; ``forward`` gives the float result for use as a torch module.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from repro.models.registry import ModelInfo, register


class Bicubic(nn.Module):
    def __init__(self, scale: int, rounding: str = "matlab") -> None:
        super().__init__()
        self.scale = scale
        self.rounding = rounding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from repro.data.imresize import imresize

        return imresize(x, float(self.scale))

    def predict_uint8(self, lr: np.ndarray) -> np.ndarray:
        """Upscale a uint8 (h, w, C) image; any channel count (gray stays gray)."""
        from repro.data.imresize import imresize_uint8

        return imresize_uint8(lr, float(self.scale), rounding=self.rounding)


register(
    ModelInfo(
        id="bicubic",
        family="bicubic",
        variant="",
        scales=(2, 3, 4, 8),
        build=lambda scale, rounding="matlab": Bicubic(scale, rounding),
        description="MATLAB bicubic upscaling (antialiased cubic, a=-0.5), no weights",
        settings=("rounding",),
        needs_weights=False,
    )
)
