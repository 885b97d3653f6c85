"""CAMixerOSR (360-degree SR, official ``CAMixerOSR_arch.py``): latitude condition, shifted
windows, DCNv2 group tails."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.camixersr.blocks import (
    GatedFeedForward,
    LayerNorm2d,
    Predictor,
    flow_warp,
    window_condition,
)
from repro.models.camixersr.mixer import MixerBase
from repro.models.camixersr.network import VARIANTS, CAMixerNet
from repro.models.camixersr.routing import Routing
from repro.models.device_tables import device_table


def deform_conv2d(x, offset, mask, weight, bias, padding: int = 1, dilation: int = 1):
    """Modulated deformable convolution (DCNv2), stride 1, one offset group, pure PyTorch.

    The semantics of ``torchvision.ops.deform_conv2d`` (offsets as (dy, dx) pairs per kernel
    tap, bilinear sampling with zeros outside), computed with ``grid_sample``.
    """
    b, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    cols = []
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            py = ys - padding + i * dilation + offset[:, 2 * t]
            px = xs - padding + j * dilation + offset[:, 2 * t + 1]
            grid = torch.stack(
                (2.0 * px / max(w - 1, 1) - 1.0, 2.0 * py / max(h - 1, 1) - 1.0), dim=-1
            )
            s = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            cols.append(s * mask[:, t : t + 1])
    col = torch.stack(cols, dim=2).reshape(b, c * kh * kw, h * w)  # channel-major, tap-minor
    out = weight.reshape(weight.shape[0], -1) @ col
    out = out.view(b, -1, h, w)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


class DCNv2Pack(nn.Module):
    """BasicSR's DCNv2Pack: offsets and masks from a separate feature (``conv_offset``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, padding: int = 1):
        super().__init__()
        self.padding = padding
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.conv_offset = nn.Conv2d(in_ch, 3 * kernel * kernel, kernel, 1, padding)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        o1, o2, mask = torch.chunk(self.conv_offset(feat), 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        return deform_conv2d(x, offset, torch.sigmoid(mask), self.weight, self.bias, self.padding)


class CAMixerOSRMixer(MixerBase):
    """CAMixer of the 360-degree model: shifted windows, warped queries and keys, 5x5 convs."""

    def __init__(self, dim: int, window: int, shift: int, routing: Routing):
        super().__init__(dim, window, routing)
        self.shift = shift
        self.conv_sptial = nn.Sequential(
            nn.Conv2d(dim, dim, 1),
            nn.Conv2d(dim, dim, 5, padding=2, groups=dim),
            nn.Conv2d(dim, dim, 5, padding=6, groups=dim, dilation=3),
        )
        self.project_out = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()
        self.route = Predictor(dim, window, cond_ch=3, osr=True)

    def forward(self, x, cond_global, cond_window, draws=None):
        b, _, h, w = x.shape
        ws, s = self.window, self.shift
        xs = torch.roll(x, (-s, -s), dims=(2, 3)) if s else x
        v = self.project_v(xs)
        cw = torch.roll(cond_window, (-s, -s), dims=(2, 3)) if s else cond_window
        feat, offsets, ca = self.route.features(torch.cat([v, cond_global, cw], dim=1))
        n = (h // ws) * (w // ws)
        idx, count = self._select(feat, b, n, draws)
        vs = v if idx is None else v * self.route.out_SA(feat)
        warped = flow_warp(x, offsets)
        if s:
            warped = torch.roll(warped, (-s, -s), dims=(2, 3))

        # queries and keys are both the warped map: the keys are the query windows
        out = self._mix(
            warped, lambda sel, qw: qw, v, vs, idx, count, self.project_q, self.project_k
        )
        if s:
            out = torch.roll(out, (s, s), dims=(2, 3))
        out = self.act(self.conv_sptial(out)) * ca + out
        return self.project_out(out)


class OSRBlock(nn.Module):
    def __init__(self, dim: int, window: int, shift: int, routing: Routing):
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.mixer = CAMixerOSRMixer(dim, window, shift, routing)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedFeedForward(dim, kernel=5, bias=True)

    def forward(self, x, cond_global, cond_window, draws=None):
        x = self.norm1(x + self.mixer(x, cond_global, cond_window, draws))
        return self.norm2(x + self.ffn(x))


def _offset_conv(dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, dim, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(dim, dim, 1),
        nn.LeakyReLU(0.2, inplace=True),
    )


class OSRGroup(nn.Module):
    def __init__(self, dim: int, n_block: int, window: int, routing: Routing):
        super().__init__()
        self.body = nn.ModuleList(
            OSRBlock(dim, window, 0 if i % 2 == 0 else window // 2, routing) for i in range(n_block)
        )
        self.offset_conv = _offset_conv(dim)
        self.body_tail = DCNv2Pack(dim, dim, 3, padding=1)

    def forward(self, x, cond_global, cond_window, draws=None):
        shortcut = x
        for blk in self.body:
            x = blk(x, cond_global, cond_window, draws)
        return self.body_tail(x, self.offset_conv(cond_global)) + shortcut


@device_table
def _latitude_column(h: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """cos(latitude) of the grid centres of ``h`` rows, 1 x 1 x h x 1."""
    r = 1.0 / h
    rows = -1 + r + 2 * r * torch.arange(h, device=device).float()
    return torch.cos(rows * math.pi / 2).to(dtype).view(1, 1, h, 1)


def cos_latitude_condition(h: int, w: int, batch: int = 1, like: torch.Tensor | None = None):
    """The ODI-SR test condition ``cos_latitude``: cos(latitude) of each LR row, B x 1 x H x W.

    Row i (0-based) has latitude (-1 + (2i + 1)/H) * pi/2 (grid centres), as the official
    ERPPairedImageDataset builds it for the LR image. On ``like``'s device and dtype (a new
    tensor; the column it repeats is built once per height there).
    """
    if like is None:
        like = torch.empty(0, dtype=torch.float32)
    return _latitude_column(h, like.dtype, like.device).expand(batch, 1, h, w).contiguous()


@device_table
def _rgb_mean(mean: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The dataset mean as 1 x 3 x 1 x 1, filled on the device from the Python numbers."""
    t = torch.empty(1, len(mean), 1, 1, dtype=dtype, device=device)
    for c, v in enumerate(mean):
        t[:, c].fill_(v)
    return t


class CAMixerOSR(CAMixerNet):
    """CAMixerOSR (360-degree SR), n_block [6,6,6,6], n_feats 60.

    ``forward(x, condition=None)``: the condition is one latitude channel at the LR size; None
    builds the official test condition (:func:`cos_latitude_condition`). It is reflect-padded
    with the image (the official code expects sizes that are multiples of 16). In official mode the
    number of attended windows follows the official eval rule ``int(N * r)``, which does not use
    gamma; gamma acts in deterministic mode.
    """

    default_n_block = (6, 6, 6, 6)
    osr_rule = True
    variant = "osr"
    img_range = 1.0
    rgb_mean = (0.4488, 0.4371, 0.4040)

    def _build_body(self, n_group: int) -> None:
        n_feats = self.n_feats
        self.norm = LayerNorm2d(n_feats)
        self.body = nn.ModuleList(
            OSRGroup(n_feats, self.n_block[i], self.window_size, self.routing)
            for i in range(n_group)
        )
        self.offset_conv = _offset_conv(n_feats)
        self.body_tail = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.dcn = DCNv2Pack(n_feats, n_feats, 3, padding=1)

    def forward(
        self,
        x: torch.Tensor,
        condition: torch.Tensor | None = None,
        draws: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b, _, h, w = x.shape
        if condition is None:
            condition = cos_latitude_condition(h, w, b, like=x)
        else:
            condition = condition.type_as(x)
            if condition.shape[-2:] != (h, w):
                raise ReproError(
                    f"CAMixerOSR condition must be ...x1x{h}x{w} (the LR size), "
                    f"got {tuple(condition.shape)}"
                )
            condition = condition.expand(b, 1, h, w)
        draws = self._draws(x, draws)
        x = self._pad(x)
        cond = self._pad(condition)
        mean = _rgb_mean(self.rgb_mean, x.dtype, x.device)
        x = (x - mean) * self.img_range
        x = self.head(x)
        bb, _, hp, wp = x.shape
        cond_window = window_condition(bb, hp, wp, self.window_size, x)
        shortcut = x
        x = self.norm(x)
        for group in self.body:
            x = group(x, cond, cond_window, draws)
        x = self.body_tail(x)
        x = self.dcn(x, self.offset_conv(cond))
        x = self.tail(x + shortcut)
        x = x / self.img_range + mean
        return x[:, :, : h * self.scale, : w * self.scale]


def build_camixerosr(scale: int = 4, ratio: float = 0.5, mode: str = "official", seed=0):
    if scale not in (2, 4):
        raise ReproError(f"CAMixerOSR has x2 and x4 models, not x{scale}")
    n_feats, n_block = VARIANTS["osr"]
    return CAMixerOSR(n_block, 4, 3, n_feats, scale, ratio, mode, seed).eval()
