"""The routing state of one CAMixer model: attention ratio gamma, selection mode, random source.

Shared by every mixer of a model (one :class:`Routing` object), so that changing gamma or the
mode on the model changes it everywhere at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from repro.errors import ReproError

MODES = ("official", "deterministic")


@dataclass
class Routing:
    """The attention ratio, the selection mode and the random source of one model."""

    ratio: float = 0.5
    mode: str = "official"
    seed: int | None = 0
    osr_rule: bool = False  # CAMixerOSR's official rule: num_keep = int(N * r), gamma unused
    # official dataflow: window scores, spatial attention and the full-map key warp are computed
    # even where they cannot change the output (what fvcore counts on the official model)
    dense_reference: bool = False
    generator: torch.Generator | None = field(default=None, repr=False)  # set during a call
    record: bool = True

    def keep_count(self, n: int, picked_share: torch.Tensor | None) -> int:
        if self.mode == "deterministic":
            return max(0, min(n, int(math.floor(n * self.ratio + 0.5))))
        assert picked_share is not None
        if self.osr_rule:
            return max(0, min(int(n * picked_share), n))
        if self.ratio == 1:
            return n
        # float32 tensor arithmetic, truncated: exactly the official expression
        return max(0, min(int(n * picked_share * 2 * self.ratio), n))


def check_ratio(ratio: float) -> float:
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise ReproError(f"ratio must be a number in [0, 1], got {ratio!r}") from None
    if not 0.0 <= ratio <= 1.0 or math.isnan(ratio):
        raise ReproError(f"ratio must be in [0, 1] (share of attended windows), got {ratio}")
    return ratio


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ReproError(f"mode must be one of {list(MODES)}, got {mode!r}")
    return mode


def check_seed(seed) -> int | None:
    if seed is None or (isinstance(seed, str) and seed.lower() in ("none", "global", "")):
        return None
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise ReproError(f"seed must be an integer or None (global RNG), got {seed!r}") from None


def gumbel_picks(score: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """The official ``F.gumbel_softmax(score, hard=True, dim=2)[:, :, 0:1]`` (forward value)."""
    g = -torch.empty_like(score).exponential_(generator=gen).log()
    y_soft = (score + g).softmax(dim=2)
    index = y_soft.max(2, keepdim=True)[1]
    y_hard = torch.zeros_like(score).scatter_(2, index, 1.0)
    return (y_hard - y_soft + y_soft)[:, :, 0:1]
