"""TLSC, the test-time local statistics converter of NAFSSR's official test (Chu et al. 2021,
arXiv:2112.04491): the channel attention's global pooling replaced by a local average pooling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# LR training patch (H, W): options/train/NAFSSR/*.yml `train_size: [1, 6, 30, 90]`
TRAIN_SIZE = (30, 90)


def tlsc_kernel(train_size: Sequence[int] = TRAIN_SIZE) -> tuple[int, int]:
    """The TLSC pooling kernel for an LR training patch: ``int(1.5 * size)`` per dimension.

    Officially the kernel is fixed by a warm-up forward on a ``train_size`` input
    (``feat * base // train`` with ``base = int(1.5 * train)``); NAFSSR's features have the LR
    size, so this is the base size itself. Accepts ``(H, W)`` or the official ``(N, C, H, W)``.
    """
    h, w = (int(v) for v in tuple(train_size)[-2:])
    return int(h * 1.5), int(w * 1.5)


def local_avg_pool(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """TLSC average pooling of ``x`` (N, C, H, W), output the same size (or 1x1 if global)."""
    h, w = x.shape[-2:]
    kh, kw = kernel
    if kh >= h and kw >= w:
        return F.adaptive_avg_pool2d(x, 1)
    kh, kw = min(kh, h), min(kw, w)
    # summed-area table with a zero row/column in front: box(i, j) = S[i+kh, j+kw] - ...
    sat = F.pad(x.cumsum(dim=-1).cumsum(dim=-2), (1, 0, 1, 0))
    box = (
        sat[..., kh:, kw:] + sat[..., :-kh, :-kw] - sat[..., :-kh, kw:] - sat[..., kh:, :-kw]
    )  # same summation order as the official code (float32 rounding)
    box = box / (kh * kw)
    dh, dw = h - box.shape[-2], w - box.shape[-1]
    return F.pad(box, (dw // 2, (dw + 1) // 2, dh // 2, (dh + 1) // 2), mode="replicate")


class LocalAvgPool2d(nn.Module):
    """Channel-attention pooling: global (``kernel_size=None``) or TLSC local pooling."""

    def __init__(self, kernel_size: tuple[int, int] | None = None):
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size is None:
            return F.adaptive_avg_pool2d(x, 1)
        return local_avg_pool(x, self.kernel_size)

    def extra_repr(self) -> str:
        return "global" if self.kernel_size is None else f"kernel_size={self.kernel_size}"
