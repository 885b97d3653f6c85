"""IMDN (Hui et al., "Lightweight Image Super-Resolution with Information Multi-distillation
Network", ACM MM 2019), written here from the architecture of the official code
(Zheng222/IMDN @ 8f158e6, ``model/architecture.py: IMDN`` and ``model/block.py``).

Six information multi-distillation blocks (IMDB) of 64 channels: three 3x3 convolutions each
keep a quarter of their output (16 channels, "distilled") and pass the rest on, a fourth maps the
rest to 16 channels; the four parts are concatenated, re-weighted by contrast-aware channel
attention (per-channel standard deviation + mean, a 1x1 bottleneck of 64 // 16 channels,
sigmoid), fused by a 1x1 convolution and added to the block's input. LeakyReLU slope 0.05.
The blocks' outputs are concatenated, fused (1x1 conv + LeakyReLU), a 3x3 convolution adds the
first features back, and a 3x3 convolution to 3 * scale^2 channels and a pixel shuffle upscale.
Input and output in [0, 1] (the official test divides by 255 and does not subtract a mean).

The official checkpoints were saved from ``nn.DataParallel``: every key starts with
``module.``. :class:`IMDN` keeps the network under that attribute name, so they load strictly
as published.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

SLOPE = 0.05  # LeakyReLU negative slope of the official blocks
WIDTH, BLOCKS = 64, 6


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class ContrastChannelAttention(nn.Module):
    """Channel weights from each channel's standard deviation plus its mean (``CCALayer``)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return x * self.conv_du(std + mean)


class DistillationBlock(nn.Module):
    """One IMDB: progressive distillation of a quarter of the channels, attention, fusion."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.kept = channels // 4
        self.rest = channels - self.kept
        self.c1 = _conv(channels, channels, 3)
        self.c2 = _conv(self.rest, channels, 3)
        self.c3 = _conv(self.rest, channels, 3)
        self.c4 = _conv(self.rest, self.kept, 3)
        self.c5 = _conv(channels, channels, 1)
        self.cca = ContrastChannelAttention(self.kept * 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept = []
        rest = x
        for conv in (self.c1, self.c2, self.c3):
            d, rest = torch.split(F.leaky_relu(conv(rest), SLOPE), (self.kept, self.rest), dim=1)
            kept.append(d)
        kept.append(self.c4(rest))
        return self.c5(self.cca(torch.cat(kept, dim=1))) + x


class Network(nn.Module):
    def __init__(self, scale: int) -> None:
        super().__init__()
        self.fea_conv = _conv(3, WIDTH, 3)
        for i in range(1, BLOCKS + 1):
            self.add_module(f"IMDB{i}", DistillationBlock(WIDTH))
        self.c = nn.Sequential(nn.Conv2d(WIDTH * BLOCKS, WIDTH, 1), nn.LeakyReLU(SLOPE))
        self.LR_conv = _conv(WIDTH, WIDTH, 3)
        self.upsampler = nn.Sequential(_conv(WIDTH, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.fea_conv(x)
        outs, y = [], features
        for i in range(1, BLOCKS + 1):
            y = getattr(self, f"IMDB{i}")(y)
            outs.append(y)
        y = self.LR_conv(self.c(torch.cat(outs, dim=1))) + features
        return self.upsampler(y)


class IMDN(nn.Module):
    """IMDN at ``scale``, keyed as the official (DataParallel-saved) checkpoints."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.module = Network(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def build_imdn(scale: int) -> IMDN:
    return IMDN(scale)
