"""CAMixer building blocks (official parameter names) and the window / warp helpers."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.models.device_tables import device_table

WINDOW = 16
_ATTN_CHUNK = 512  # windows per attention matmul chunk (bounds the N x 256 x 256 score tensor)


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of an N x C x H x W map (``weight``/``bias``, eps 1e-6).

    Computed as the official channels-first LayerNorm (mean, biased variance, sqrt) so that the
    window scores round the same way.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x - x.mean(1, keepdim=True)
        x = d / torch.sqrt(d.pow(2).mean(1, keepdim=True) + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GatedFeedForward(nn.Module):
    """1x1 expand to 2C, depth-wise conv, GELU gate, 1x1 project (``project_in/dwconv/out``)."""

    def __init__(self, dim: int, kernel: int = 3, bias: bool = False):
        super().__init__()
        self.dim = dim
        self.project_in = nn.Conv2d(dim, dim * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(dim * 2, dim * 2, kernel, 1, kernel // 2, groups=dim * 2, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class Predictor(nn.Module):
    """The per-block predictor ("route"): offsets, channel/spatial attention, window scores."""

    def __init__(self, dim: int, window: int, cond_ch: int, osr: bool = False):
        super().__init__()
        cdim = dim + cond_ch
        slope = 0.2 if osr else 0.1
        self.osr = osr
        self.window = window
        if osr:
            self.in_conv = nn.Sequential(
                nn.Conv2d(cdim, cdim // 4, 1), nn.LeakyReLU(slope, inplace=True)
            )
        else:
            self.in_conv = nn.Sequential(
                nn.Conv2d(cdim, cdim // 4, 1),
                LayerNorm2d(cdim // 4),
                nn.LeakyReLU(slope, inplace=True),
            )
        self.out_offsets = nn.Sequential(
            nn.Conv2d(cdim // 4, cdim // 8, 1),
            nn.LeakyReLU(slope, inplace=True),
            nn.Conv2d(cdim // 8, 2, 1),
        )
        self.out_mask = nn.Sequential(
            nn.Linear(window * window, window),
            nn.LeakyReLU(slope, inplace=True),
            nn.Linear(window, 2),
            nn.Softmax(dim=-1),
        )
        self.out_CA = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(cdim // 4, dim, 1), nn.Sigmoid()
        )
        self.out_SA = nn.Sequential(nn.Conv2d(cdim // 4, 1, 3, 1, 1), nn.Sigmoid())

    def features(self, cond: torch.Tensor):
        feat = self.in_conv(cond)
        offsets = self.out_offsets(feat)
        if not self.osr:
            offsets = offsets.tanh().mul(8.0)
        ca = self.out_CA(feat)
        return feat, offsets, ca

    def scores(self, feat: torch.Tensor) -> torch.Tensor:
        """Window scores, B x N x 2 (a softmax over "attend" / "skip")."""
        m = feat.mean(1, keepdim=True)
        b, _, h, w = m.shape
        ws = self.window
        tokens = m.view(b, h // ws, ws, w // ws, ws).permute(0, 1, 3, 2, 4)
        return self.out_mask(tokens.reshape(b, (h // ws) * (w // ws), ws * ws))


def window_view(t: torch.Tensor, ws: int) -> torch.Tensor:
    """B x C x H x W -> a B x h x w x ws x ws x C view (no copy)."""
    b, c, h, w = t.shape
    return t.view(b, c, h // ws, ws, w // ws, ws).permute(0, 2, 4, 3, 5, 1)


def all_windows(t: torch.Tensor, ws: int) -> torch.Tensor:
    """B x C x H x W -> (B*N) x ws*ws x C, windows in row-major order."""
    b, c, _, _ = t.shape
    return window_view(t, ws).reshape(-1, ws * ws, c)


def merge_windows(t: torch.Tensor, b: int, h: int, w: int, ws: int) -> torch.Tensor:
    """(B*N) x ws*ws x C -> B x C x H x W."""
    c = t.shape[-1]
    t = t.view(b, h // ws, w // ws, ws, ws, c).permute(0, 5, 1, 3, 2, 4)
    return t.reshape(b, c, h, w)


def warp_grid(flow: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, h: int, w: int):
    """Normalised sampling grid of BasicSR's ``flow_warp`` at pixel positions (ys, xs)."""
    vx = xs + flow[..., 0]
    vy = ys + flow[..., 1]
    gx = 2.0 * vx / max(w - 1, 1) - 1.0
    gy = 2.0 * vy / max(h - 1, 1) - 1.0
    return torch.stack((gx, gy), dim=-1)


def flow_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Warp ``x`` (B x C x H x W) by ``flow`` (B x 2 x H x W, pixels; x then y), border padding."""
    b, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    grid = warp_grid(flow.permute(0, 2, 3, 1), ys, xs, h, w)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def attend(q, k, v, project_q, project_k) -> torch.Tensor:
    """softmax(Wq q (Wk k)^T) v per window (no 1/sqrt(d) scaling, as the official code)."""
    q = project_q(q)
    k = project_k(k)
    out = torch.empty_like(v)
    for s in range(0, max(q.shape[0], 1), _ATTN_CHUNK):  # (one empty pass when no window)
        e = s + _ATTN_CHUNK
        attn = (q[s:e] @ k[s:e].transpose(-2, -1)).softmax(dim=-1)
        out[s:e] = attn @ v[s:e]
    return out


@device_table
def _window_grid(ws: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(row, column) coordinates in [-1, 1] of the pixels of one window: 2 x ws x ws."""
    r = torch.linspace(-1, 1, ws, device=device)  # float32, as the official grid
    return torch.stack(torch.meshgrid(r, r, indexing="ij")).to(dtype)


def window_condition(b: int, h: int, w: int, ws: int, like: torch.Tensor) -> torch.Tensor:
    """Per-window coordinates in [-1, 1] (row, column), tiled: B x 2 x H x W."""
    grid = _window_grid(ws, like.dtype, like.device).view(1, 2, 1, ws, 1, ws)
    return grid.expand(b, 2, h // ws, ws, w // ws, ws).reshape(b, 2, h, w)
