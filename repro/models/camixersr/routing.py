"""The routing state of one CAMixer model: attention ratio gamma, selection mode, window counts.

Shared by every mixer of a model (one :class:`Routing` object), so that changing gamma or the
mode on the model changes it everywhere at once. The random numbers of the official mode are
drawn by the model before the blocks run (``CAMixerNet.draw``) and handed to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from repro.errors import ReproError

MODES = ("official", "deterministic")


@dataclass
class Routing:
    """The attention ratio and the selection mode of one model (its seed, for the record)."""

    ratio: float = 0.5
    mode: str = "official"
    seed: int | None = 0
    osr_rule: bool = False  # CAMixerOSR's official rule: num_keep = int(N * r), gamma unused
    # official dataflow: window scores, spatial attention and the full-map key warp are computed
    # even where they cannot change the output (what fvcore counts on the official model)
    dense_reference: bool = False
    record: bool = True

    def keep_count(self, n: int) -> int:
        """Deterministic mode: the top ``floor(N * gamma + 0.5)`` windows, from shapes alone."""
        return max(0, min(n, int(math.floor(n * self.ratio + 0.5))))

    def drawn_keep(self, n: int, picked_share: torch.Tensor) -> torch.Tensor:
        """Official mode (gamma < 1 or the OSR rule): the count drawn for this call, a 1-element
        int64 tensor on the device (``.long()`` truncates as the official ``int()``).

        ``picked_share``: the share of windows whose Gumbel sample picked class 0 (float32);
        the arithmetic is exactly the official float32 expression.
        """
        if self.osr_rule:
            count = n * picked_share
        else:
            count = n * picked_share * 2 * self.ratio
        return count.long().clamp(0, n)

    def keep_bound(self, n: int) -> int:
        """The largest count :meth:`drawn_keep` can give for ``n`` windows (share 1): the static
        number of windows gathered when the forward is traced or captured. The float32 product
        can round up past ``2 * n * gamma`` by a few ulps, hence the + 1."""
        if self.osr_rule:
            return n
        return min(n, math.floor(2 * n * self.ratio) + 1)


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


def gumbel_picks(score: torch.Tensor, draw: torch.Tensor) -> torch.Tensor:
    """The official ``F.gumbel_softmax(score, hard=True, dim=2)[:, :, 0:1]`` (forward value).

    ``draw``: the exponential(1) sample ``F.gumbel_softmax`` takes, shaped as ``score``.
    """
    g = -draw.log()
    y_soft = (score + g).softmax(dim=2)
    index = y_soft.max(2, keepdim=True)[1]
    y_hard = torch.zeros_like(score).scatter_(2, index, 1.0)
    return (y_hard - y_soft + y_soft)[:, :, 0:1]
