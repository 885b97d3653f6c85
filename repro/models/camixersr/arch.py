"""CAMixerSR (official ``CAMixerSR_arch.py``): blocks, groups, the network, its builder."""

from __future__ import annotations

import torch
import torch.nn as nn

from repro.errors import ReproError
from repro.models.camixersr.blocks import GatedFeedForward, LayerNorm2d, window_condition
from repro.models.camixersr.mixer import CAMixer
from repro.models.camixersr.network import VARIANTS, CAMixerNet
from repro.models.camixersr.routing import Routing


class Block(nn.Module):
    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.mixer = CAMixer(dim, window, routing)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedFeedForward(dim)

    def forward(self, x, cond_global, cond_window, draws=None):
        x = self.norm1(x + self.mixer(x, cond_global, cond_window, draws))
        return self.norm2(x + self.ffn(x))


class Group(nn.Module):
    def __init__(self, dim: int, n_block: int, window: int, routing: Routing):
        super().__init__()
        self.body = nn.ModuleList(Block(dim, window, routing) for _ in range(n_block))
        self.body_tail = nn.Conv2d(dim, dim, 1)

    def forward(self, x, cond_global, cond_window, draws=None):
        shortcut = x
        for blk in self.body:
            x = blk(x, cond_global, cond_window, draws)
        return self.body_tail(x) + shortcut


class CAMixerSR(CAMixerNet):
    """CAMixerSR; defaults as the official class (n_feats 60 = CAMixerSR-B, x4, gamma 0.5,
    n_block (4, 4, 6, 6))."""

    default_n_block = (4, 4, 6, 6)

    @property
    def variant(self) -> str:
        return {36: "s", 48: "m", 60: "b"}.get(self.n_feats, f"c{self.n_feats}")

    def _build_body(self, n_group: int) -> None:
        n_feats = self.n_feats
        self.global_predictor = nn.Sequential(
            nn.Conv2d(n_feats, 8, 1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(8, 2, 3, 1, 1),
            nn.LeakyReLU(0.1, inplace=True),
        )
        self.body = nn.ModuleList(
            Group(n_feats, self.n_block[i], self.window_size, self.routing) for i in range(n_group)
        )
        self.body_tail = nn.Conv2d(n_feats, n_feats, 3, 1, 1)

    def forward(self, x: torch.Tensor, draws: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: B x 3 x H x W in [0, 1]. ``draws``: the official mode's random numbers for this
        call (:meth:`draw`); None draws them now."""
        h, w = x.shape[-2:]
        draws = self._draws(x, draws)
        x = self._pad(x)
        x = self.head(x)
        cond_global = self.global_predictor(x)
        b, _, hp, wp = x.shape
        cond_window = window_condition(b, hp, wp, self.window_size, x)
        shortcut = x
        for group in self.body:
            x = group(x, cond_global, cond_window, draws)
        x = self.tail(self.body_tail(x) + shortcut)
        return x[:, :, : h * self.scale, : w * self.scale]


def build_camixersr(
    variant: str = "b", scale: int = 4, ratio: float = 0.5, mode: str = "official", seed=0
) -> CAMixerSR:
    variant = variant.lower()
    if variant not in ("s", "m", "b"):
        raise ReproError(f"unknown CAMixerSR variant {variant!r}; use s, m or b")
    if scale not in (2, 3, 4):
        raise ReproError(f"CAMixerSR has x2, x3 and x4 models, not x{scale}")
    n_feats, n_block = VARIANTS[variant]
    return CAMixerSR(n_block, 4, 3, n_feats, scale, ratio, mode, seed).eval()
