"""NAFSSR's network (official ``NAFSSR_arch.py``, ``NAFNet_arch.py``, ``arch_util.py``) and its
builder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import DataError, ReproError
from repro.models.nafssr.tlsc import TRAIN_SIZE, LocalAvgPool2d, tlsc_kernel

# variant -> (width, number of blocks); from options/test/NAFSSR/NAFSSR-{T,S,B,L}_{2,4}x.yml
VARIANTS: dict[str, tuple[int, int]] = {
    "t": (48, 16),
    "s": (64, 32),
    "b": (96, 64),
    "l": (128, 128),
}
SCALES = (2, 4)


def split_views(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a stereo tensor ``(..., 6, H, W)`` into its left and right RGB views."""
    if t.dim() < 3 or t.shape[-3] != 6:
        raise DataError(
            f"expected a stereo tensor with 6 channels (left RGB, right RGB) in dimension -3, "
            f"got shape {tuple(t.shape)}; concatenate the two views along the channels"
        )
    return t[..., :3, :, :], t[..., 3:, :, :]


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of an (N, C, H, W) map (eps 1e-6, biased variance)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


def _simple_gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * b


class NAFBlock(nn.Module):
    """NAFNet block: LN, 1x1 up, depthwise 3x3, SimpleGate, channel attention, 1x1; then a
    LN/1x1/SimpleGate/1x1 feed-forward; both residuals scaled per channel (beta, gamma)."""

    def __init__(self, c: int, drop_out_rate: float = 0.0, pool_kernel=None):
        super().__init__()
        dw = 2 * c
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(LocalAvgPool2d(pool_kernel), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.dropout1 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.dropout2 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = _simple_gate(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + self.dropout1(x) * self.beta
        x = self.conv5(_simple_gate(self.conv4(self.norm2(y))))
        return y + self.dropout2(x) * self.gamma


class SCAM(nn.Module):
    """Stereo cross-attention along the horizontal epipolar line (each row attends the other
    view's row): F_r2l = softmax(Q_l K_r^T / sqrt(c)) V_r and the transpose for F_l2r."""

    def __init__(self, c: int):
        super().__init__()
        self.scale = c**-0.5
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.norm_l = LayerNorm2d(c)
        self.norm_r = LayerNorm2d(c)
        self.l_proj1 = nn.Conv2d(c, c, 1)
        self.r_proj1 = nn.Conv2d(c, c, 1)
        self.l_proj2 = nn.Conv2d(c, c, 1)
        self.r_proj2 = nn.Conv2d(c, c, 1)

    def forward(self, x_l: torch.Tensor, x_r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q_l = self.l_proj1(self.norm_l(x_l)).permute(0, 2, 3, 1)  # N, H, W, C
        k_r = self.r_proj1(self.norm_r(x_r)).permute(0, 2, 1, 3)  # N, H, C, W
        v_l = self.l_proj2(x_l).permute(0, 2, 3, 1)
        v_r = self.r_proj2(x_r).permute(0, 2, 3, 1)
        attn = torch.matmul(q_l, k_r) * self.scale  # N, H, W_l, W_r
        r2l = torch.matmul(attn.softmax(dim=-1), v_r).permute(0, 3, 1, 2)
        l2r = torch.matmul(attn.transpose(-1, -2).softmax(dim=-1), v_l).permute(0, 3, 1, 2)
        return x_l + r2l * self.beta, x_r + l2r * self.gamma


class NAFBlockSR(nn.Module):
    """A NAFBlock on each view (shared weights), then SCAM between the views."""

    def __init__(self, c: int, drop_out_rate: float = 0.0, pool_kernel=None):
        super().__init__()
        self.blk = NAFBlock(c, drop_out_rate, pool_kernel)
        self.fusion = SCAM(c)

    def forward(self, x_l: torch.Tensor, x_r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fusion(self.blk(x_l), self.blk(x_r))


class DropPath(nn.Module):
    """Stochastic depth over a whole stereo block, as the official NAFSSR does it.

    Training: with probability ``rate`` the block is skipped (both views unchanged); otherwise
    its residual update is scaled by ``1 / (1 - rate)``. Evaluation: the block, unchanged.
    (The official draws with ``np.random``; this draws with ``torch.rand``.)
    """

    def __init__(self, rate: float, module: nn.Module):
        super().__init__()
        self.rate = float(rate)
        self.module = module

    def forward(self, *feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.training or self.rate == 0.0:
            return self.module(*feats)
        if torch.rand(()).item() < self.rate:
            return feats
        new = self.module(*feats)
        factor = 1.0 / (1.0 - self.rate)
        return tuple(x + factor * (n - x) for x, n in zip(feats, new, strict=True))


class NAFSSR(nn.Module):
    """NAFSSR for ``N x 6 x H x W`` stereo input (left RGB, right RGB) in [0, 1].

    ``tlsc=True`` (the official test setting) pools the channel attention locally with the kernel
    from ``train_size`` (LR training patch, (H, W) or the official (N, C, H, W)); ``tlsc=False``
    pools globally. ``drop_path_rate``/``drop_out_rate`` only act in training mode.
    """

    in_channels = 6

    def __init__(
        self,
        scale: int = 4,
        width: int = 48,
        num_blocks: int = 16,
        *,
        tlsc: bool = True,
        train_size: Sequence[int] = TRAIN_SIZE,
        drop_path_rate: float = 0.0,
        drop_out_rate: float = 0.0,
    ):
        super().__init__()
        self.scale = int(scale)
        self.width = int(width)
        self.num_blocks = int(num_blocks)
        self.train_size = tuple(int(v) for v in tuple(train_size)[-2:])
        self.tlsc_kernel = tlsc_kernel(self.train_size)
        kernel = self.tlsc_kernel if tlsc else None
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(
            *(
                DropPath(drop_path_rate, NAFBlockSR(width, drop_out_rate, kernel))
                for _ in range(num_blocks)
            )
        )
        self.up = nn.Sequential(
            nn.Conv2d(width, 3 * scale**2, 3, padding=1), nn.PixelShuffle(scale)
        )

    @property
    def tlsc(self) -> bool:
        """Whether the channel attention pools locally (TLSC) rather than globally."""
        return any(
            m.kernel_size is not None for m in self.modules() if isinstance(m, LocalAvgPool2d)
        )

    @tlsc.setter
    def tlsc(self, enabled: bool) -> None:
        for m in self.modules():
            if isinstance(m, LocalAvgPool2d):
                m.kernel_size = self.tlsc_kernel if enabled else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 6:
            raise DataError(
                f"NAFSSR expects a stereo batch N x 6 x H x W (left RGB, right RGB), got shape "
                f"{tuple(x.shape)}; concatenate the two views along the channels"
            )
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        feats = tuple(self.intro(v) for v in split_views(x))
        for block in self.body:
            feats = block(*feats)
        return torch.cat([self.up(f) for f in feats], dim=1) + base

    def extra_repr(self) -> str:
        pool = f"local {self.tlsc_kernel}" if self.tlsc else "global"
        return f"scale={self.scale}, width={self.width}, blocks={self.num_blocks}, pooling={pool}"


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ReproError(f"setting {name}={value!r} is not a boolean; use {name}=true or {name}=false")


def _as_size(value) -> tuple[int, int]:
    if isinstance(value, str):
        parts = value.replace("x", ",").replace("(", "").replace(")", "").split(",")
        value = [p for p in (s.strip() for s in parts) if p]
    try:
        size = tuple(int(v) for v in value)[-2:]
    except (TypeError, ValueError):
        size = ()
    if len(size) != 2 or min(size) <= 0:
        raise ReproError(
            f"setting train_size={value!r} is not an LR patch size; use e.g. train_size=30x90"
        )
    return size  # type: ignore[return-value]


def build_nafssr(
    variant: str,
    scale: int = 4,
    tlsc=True,
    train_size=TRAIN_SIZE,
    drop_path_rate: float = 0.0,
    drop_out_rate: float = 0.0,
) -> NAFSSR:
    """Build ``nafssr-{variant}`` at ``scale`` as the official test does (TLSC on, no drop-path).

    The official training configs use ``drop_path_rate`` 0, 0.1, 0.2 and 0.3 for T, S, B and L.
    """
    variant = variant.lower()
    if variant not in VARIANTS:
        raise ReproError(f"unknown NAFSSR variant '{variant}'; choose one of {sorted(VARIANTS)}")
    if int(scale) not in SCALES:
        raise ReproError(f"NAFSSR has no x{scale} model; available: x2, x4")
    width, blocks = VARIANTS[variant]
    return NAFSSR(
        int(scale),
        width,
        blocks,
        tlsc=_as_bool(tlsc, "tlsc"),
        train_size=_as_size(train_size),
        drop_path_rate=float(drop_path_rate),
        drop_out_rate=float(drop_out_rate),
    )
