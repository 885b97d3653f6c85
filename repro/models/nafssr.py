"""NAFSSR: stereo image super-resolution with NAFNet blocks and stereo cross-attention.

Chu, Chen, Yu, "NAFSSR: Stereo Image Super-Resolution Using NAFNet", CVPRW 2022. Official code:
megvii-research/NAFNet @ 2b4af71 (``basicsr/models/archs/NAFSSR_arch.py``, ``NAFNet_arch.py``,
``local_arch.py``, ``arch_util.py``). This is an independent implementation with the official
parameter names, so official checkpoints (``params``) load strictly.

Structure (every variant): both views share one network. ``intro`` (3x3 conv, 3 -> width), then
``num_blocks`` blocks ``body.{i}.module``, each a NAFBlock applied to each view (``blk``) followed
by a stereo cross-attention module (``fusion``, SCAM), then ``up`` (3x3 conv to 3*s^2 channels,
pixel shuffle) per view, plus the bilinear upsampling of the LR input (global residual).

TLSC (test-time local statistics converter, Chu et al. 2021, arXiv:2112.04491): the official test
builds NAFSSR with the channel attention's global average pooling replaced by a local average
pooling whose kernel is 1.5x the training patch (LR 30x90 -> kernel 45x135, in LR feature space:
NAFSSR never downsamples). Where the feature map is at most the kernel in *both* dimensions, it
falls back to global pooling; otherwise each dimension uses ``min(kernel, size)`` (a dimension
no larger than the kernel is averaged over its full extent), computed with a summed-area table
(cumulative sums, zero-padded top/left) in float32, and the valid box-filter result is padded back
to the input size with replicate padding (``floor(d/2)`` before, ``ceil(d/2)`` after). The
official ``fast_imp`` (strided, non-equivalent) variant is off in every official config and is
not implemented. ``tlsc=False`` gives the plain global pooling of NAFNet (as in training).

Input: ``N x 6 x H x W`` in [0, 1], left RGB then right RGB; output ``N x 6 x sH x sW``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import DataError, ReproError
from repro.models.registry import ModelInfo, WeightsEntry, register

# variant -> (width, number of blocks); from options/test/NAFSSR/NAFSSR-{T,S,B,L}_{2,4}x.yml
VARIANTS: dict[str, tuple[int, int]] = {
    "t": (48, 16),
    "s": (64, 32),
    "b": (96, 64),
    "l": (128, 128),
}
SCALES = (2, 4)
# LR training patch (H, W): options/train/NAFSSR/*.yml `train_size: [1, 6, 30, 90]`
TRAIN_SIZE = (30, 90)
# drop_path_rate of the official training configs (the test configs use 0)
TRAIN_DROP_PATH = {"t": 0.0, "s": 0.1, "b": 0.2, "l": 0.3}

_REPO = "megvii-research/NAFNet @ 2b4af71, docs/StereoSR.md"
# (variant, scale) -> (Google Drive file id, Baidu share id, Baidu extraction code)
_RELEASES = {
    ("t", 4): ("1owfYG1KTXFMl4wHpUZefWAcVlBpLohe5", "1yC5XzJcL5peC1YuW3MkFMA", "5j1u"),
    ("s", 4): ("1RpfS2lemsgetIQwBwkZpZwLBJfOTDCU5", "1XvwM5KVhNsKAxWbxU85SFA", "n5au"),
    ("b", 4): ("1Su0OTp66_NsXUbqTAIi1msvsp0G5WVxp", "18tVlH-QIVtvDC1LM2oPatw", "3up5"),
    ("l", 4): ("1TIdQhPtBrZb2wrBdAp9l8NHINLeExOwb", "1P8ioEuI1gwydA2Avr3nUvw", "qs7a"),
    ("t", 2): ("1sBivtt5KaFMjMhBwyajYy1uemIEFQBvW", "1RDW923v0e0G_eYvTF8I7Dg", "utgs"),
    ("s", 2): ("1caVrp3fFSpwiU8RPGXe-zDD1tU110yxA", "1qJmQzv-YV1V9raim57pTIQ", "t2or"),
    ("b", 2): ("1gOfDTfyCaff_xNm86u8sN_3MtAZvnQEk", "1IkadqW1uWx9xM5K2ETJ9-A", "pv1f"),
    ("l", 2): ("1SZ6bQVYTVS_AXedBEr-_mBCC-qGYHLmf", "1GS6YQSSECH8hAKhvzw6GyQ", "2v3v"),
}


# sha256 where a public source states it: (variant, scale) -> (sha256, source). The official
# files are on Google Drive/Baidu, which publish no digest; these come from the Git LFS pointers
# of a third-party copy of the Drive files (sizes 96,438,421 and 96,604,501 bytes, the x4-x2
# difference exactly the larger x4 upsampler: 41,508 float32 parameters, NAFSSR-L's 4,100
# tensors under `params`). The other variants' sha256 are not published.
_LFS_COPY = "marduk191/ComfyUI-NAFNet_plus@bccb86d"
_SHA256 = {
    ("l", 2): (
        "29d22ff966a6c069ef0db4fa2cb7a22d96f68a05f85c02d3255d55c30cc415f6",
        f"Git LFS pointer {_LFS_COPY} models/NAFSSR-L_2x.pth (a copy of the Drive file)",
    ),
    ("l", 4): (
        "7298e608e689449cb4408b9caf7aeb587c5a39e7c95514808821111e1daa17f4",
        f"Git LFS pointer {_LFS_COPY} models/NAFSSR-L_4x.pth (a copy of the Drive file)",
    ),
}


def _weights_entry(variant: str, scale: int) -> WeightsEntry:
    drive, baidu, code = _RELEASES[(variant, scale)]
    sha256, sha256_source = _SHA256.get((variant, scale), (None, ""))
    return WeightsEntry(
        id=f"nafssr-{variant}-x{scale}",
        filename=f"NAFSSR-{variant.upper()}_{scale}x.pth",  # as the official test yml names it
        # Google Drive/Baidu share pages are not direct downloads: fetch by hand, --weights PATH
        urls=(),
        sha256=sha256,
        key="params",
        source=(
            f"Google Drive https://drive.google.com/file/d/{drive}/view?usp=sharing "
            f"or Baidu https://pan.baidu.com/s/{baidu}?pwd={code} (code {code}) "
            f"[links from {_REPO}; no direct download]"
        ),
        sha256_source=sha256_source,
    )


WEIGHTS: dict[str, WeightsEntry] = {
    e.id: e for e in (_weights_entry(v, s) for v in VARIANTS for s in SCALES)
}


# ----------------------------------------------------------------------------- building blocks


def split_views(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a stereo tensor ``(..., 6, H, W)`` into its left and right RGB views."""
    if t.dim() < 3 or t.shape[-3] != 6:
        raise DataError(
            f"expected a stereo tensor with 6 channels (left RGB, right RGB) in dimension -3, "
            f"got shape {tuple(t.shape)}; concatenate the two views along the channels"
        )
    return t[..., :3, :, :], t[..., 3:, :, :]


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


# ----------------------------------------------------------------------------- registry


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
    """Build ``nafssr-{variant}`` at ``scale`` as the official test does (TLSC on, no drop-path)."""
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


def infer_config(state: dict[str, torch.Tensor]) -> tuple[str | None, int, int, int]:
    """(variant or None, scale, width, blocks) read from a state dict's tensor shapes."""
    try:
        width = int(state["intro.weight"].shape[0])
        scale = math.isqrt(int(state["up.0.weight"].shape[0]) // 3)
    except KeyError as exc:
        raise ReproError(f"not a NAFSSR state dict: no '{exc.args[0]}' tensor") from None
    blocks = 1 + max((int(k.split(".")[1]) for k in state if k.startswith("body.")), default=-1)
    variant = next((v for v, wb in VARIANTS.items() if wb == (width, blocks)), None)
    return variant, scale, width, blocks


for _v, (_w, _b) in VARIANTS.items():
    register(
        ModelInfo(
            id=f"nafssr-{_v}",
            family="nafssr",
            variant=_v,
            scales=SCALES,
            build=functools.partial(build_nafssr, _v),
            description=(
                f"NAFSSR-{_v.upper()} stereo SR (width {_w}, {_b} NAFBlocks + SCAM), "
                "TLSC local pooling 45x135 as the official test"
            ),
            weights={s: WEIGHTS[f"nafssr-{_v}-x{s}"] for s in SCALES},
            stereo=True,
            settings=("tlsc", "train_size", "drop_path_rate", "drop_out_rate"),
        )
    )
del _v, _w, _b
