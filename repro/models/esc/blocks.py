"""ESC building blocks with the official parameter names (``esc_arch.py``, ``esc_fp_arch.py``)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.esc.attention import check_backend, resolve_backend, window_attention
from repro.models.esc.variants import ESCConfig


class LayerNorm2d(nn.Module):
    """LayerNorm over channels of an NCHW tensor (official ``LayerNorm``, channels_first)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.weight.shape, self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


class ConvFFN(nn.Module):
    def __init__(self, dim: int, kernel_size: int, exp_ratio: float):
        super().__init__()
        hidden = int(dim * exp_ratio)
        self.proj = nn.Conv2d(dim, hidden, 1)
        self.dwc = nn.Conv2d(hidden, hidden, kernel_size, 1, kernel_size // 2, groups=hidden)
        self.aggr = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.proj(x))
        x = F.gelu(self.dwc(x)) + x
        return self.aggr(x)


def _kernel_head(pdim: int, hidden: int, size: int) -> nn.Sequential:
    """Pooled features -> one ``size x size`` kernel per channel (official layer order)."""
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(1),
        nn.Conv2d(pdim, hidden, 1),
        nn.GELU(),
        nn.Conv2d(hidden, pdim * size**2, 1),
    )


def _dynamic_kernels(head: nn.Sequential, x1: torch.Tensor, size: int) -> torch.Tensor:
    """Per-sample depthwise kernels ``(N*pdim, 1, size, size)`` from the pooled features."""
    b, c = x1.shape[:2]
    return head(x1).reshape(b * c, 1, size, size)


def _grouped_per_sample(x1: torch.Tensor, kernels: torch.Tensor, padding: int) -> torch.Tensor:
    """Depthwise conv with a different kernel per (sample, channel)."""
    b, c, h, w = x1.shape
    y = F.conv2d(x1.reshape(1, b * c, h, w), kernels, padding=padding, groups=b * c)
    return y.reshape(b, c, h, w)


class _PartialConv(nn.Module):
    """What both ConvAttns share: the first ``pdim`` channels are convolved with the shared
    large kernel and a dynamic kernel predicted from their pooled features; the rest pass."""

    def __init__(self, pdim: int, kernel_size: int):
        super().__init__()
        self.pdim = pdim
        self.lk_size = kernel_size

    def _split(self, x: torch.Tensor, head: nn.Sequential, size: int):
        """(convolved channels, passed channels, their per-sample dynamic kernels)."""
        x1, x2 = x[:, : self.pdim], x[:, self.pdim :]
        return x1, x2, _dynamic_kernels(head, x1, size)


class ConvolutionalAttention(_PartialConv):
    """ConvAttn on the first ``pdim`` channels: shared 13x13 LK conv + dynamic 3x3 depthwise."""

    def __init__(self, pdim: int, kernel_size: int = 13):
        super().__init__(pdim, kernel_size)
        self.sk_size = 3
        self.dwc_proj = _kernel_head(pdim, pdim // 2, self.sk_size)
        nn.init.zeros_(self.dwc_proj[-1].weight)
        nn.init.zeros_(self.dwc_proj[-1].bias)

    def forward(self, x: torch.Tensor, lk_filter: torch.Tensor) -> torch.Tensor:
        x1, x2, dyn = self._split(x, self.dwc_proj, self.sk_size)
        y = F.conv2d(x1, lk_filter, padding=self.lk_size // 2) + _grouped_per_sample(
            x1, dyn, self.sk_size // 2
        )
        return torch.cat([y, x2], dim=1)


class DecomposedConvolutionalAttention(_PartialConv):
    """ESC-FP's ConvAttn: 1x1 channel mix, then one depthwise 13x13 conv whose kernel is the
    shared spatial LK plus the zero-padded dynamic 3x3 kernel."""

    def __init__(self, pdim: int, kernel_size: int = 13):
        super().__init__(pdim, kernel_size)
        self.dynamic_kernel_size = 3
        self.proj = _kernel_head(pdim, pdim // 4, self.dynamic_kernel_size)

    def forward(self, x, lk_channel, lk_spatial):
        x1, x2, dyn = self._split(x, self.proj, self.dynamic_kernel_size)
        n_pad = (self.lk_size - self.dynamic_kernel_size) // 2
        dyn = F.pad(dyn, (n_pad, n_pad, n_pad, n_pad))
        kernels = dyn + lk_spatial.repeat(x1.shape[0], 1, 1, 1)
        x1 = _grouped_per_sample(F.conv2d(x1, lk_channel), kernels, self.lk_size // 2)
        return torch.cat([x1, x2], dim=1)


class ConvAttnWrapper(nn.Module):
    def __init__(self, dim: int, pdim: int, kernel_size: int = 13, decomposed: bool = False):
        super().__init__()
        cls = DecomposedConvolutionalAttention if decomposed else ConvolutionalAttention
        self.plk = cls(pdim, kernel_size)
        self.aggr = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor, *lk: torch.Tensor) -> torch.Tensor:
        return self.aggr(self.plk(x, *lk))


def min_input_size(window: int) -> int:
    """Smallest H/W the window attention's reflect padding accepts: ``window // 2 + 1``."""
    return window // 2 + 1


class WindowAttention(nn.Module):
    def __init__(self, dim: int, window_size: int, num_heads: int, backend: str = "auto"):
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.to_qkv = nn.Conv2d(dim, dim * 3, 1)
        self.to_out = nn.Conv2d(dim, dim, 1)
        self.relative_position_bias = nn.Parameter(
            torch.randn(num_heads, (2 * window_size - 1) ** 2) * 0.001
        )
        self.backend = check_backend(backend)

    def _split_windows(self, qkv: torch.Tensor) -> torch.Tensor:
        # 'b (qkv heads c) (h wh) (w ww) -> qkv (b h w) heads (wh ww) c'
        b, ch, hh, ww = qkv.shape
        ws, nh = self.window_size, self.num_heads
        c = ch // (3 * nh)
        qkv = qkv.reshape(b, 3, nh, c, hh // ws, ws, ww // ws, ws)
        qkv = qkv.permute(1, 0, 4, 6, 2, 5, 7, 3)
        return qkv.reshape(3, b * (hh // ws) * (ww // ws), nh, ws * ws, c)

    def _merge_windows(self, out: torch.Tensor, b: int, h_div: int, w_div: int) -> torch.Tensor:
        # '(b h w) heads (wh ww) c -> b (heads c) (h wh) (w ww)'
        ws, nh = self.window_size, self.num_heads
        c = out.shape[-1]
        out = out.reshape(b, h_div, w_div, nh, ws, ws, c).permute(0, 3, 6, 1, 4, 2, 5)
        return out.reshape(b, nh * c, h_div * ws, w_div * ws)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        ws = self.window_size
        pad_h, pad_w = (-h) % ws, (-w) % ws
        if pad_h >= h or pad_w >= w:
            raise ReproError(
                f"ESC input of {h}x{w} pixels is too small: the window attention reflect-pads to "
                f"a multiple of {ws} and needs at least {min_input_size(ws)} pixels per side; "
                "pad or upsample the image first"
            )
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        h_div, w_div = x.shape[2] // ws, x.shape[3] // ws
        qkv = self.to_qkv(x)
        q, k, v = self._split_windows(qkv).unbind(0)
        backend = resolve_backend(self.backend, x.device)
        out = window_attention(q, k, v, self.relative_position_bias, ws, backend)
        out = self._merge_windows(out.to(qkv.dtype), b, h_div, w_div)
        return self.to_out(out[:, :, :h, :w])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}, " + (
            f"backend={self.backend}"
        )


class Block(nn.Module):
    """ESCBlock: ConvFFN, window self-attention, then ``conv_blocks`` x (ConvFFN -> ConvAttn)."""

    def __init__(
        self,
        cfg: ESCConfig,
        proj_ratio: float,
        use_ln: bool,
        decomposed: bool,
        backend: str,
    ):
        super().__init__()
        dim = cfg.dim
        self.ln_proj = LayerNorm2d(dim)
        self.proj = ConvFFN(dim, 3, proj_ratio)
        self.ln_attn = LayerNorm2d(dim)
        self.attn = WindowAttention(dim, cfg.window_size, cfg.num_heads, backend)
        self.lns = nn.ModuleList(
            [LayerNorm2d(dim) if use_ln else nn.Identity() for _ in range(cfg.conv_blocks)]
        )
        self.pconvs = nn.ModuleList(
            [
                ConvAttnWrapper(dim, cfg.pdim, cfg.kernel_size, decomposed)
                for _ in range(cfg.conv_blocks)
            ]
        )
        self.convffns = nn.ModuleList(
            [ConvFFN(dim, 3, cfg.exp_ratio) for _ in range(cfg.conv_blocks)]
        )
        self.ln_out = LayerNorm2d(dim)
        self.conv_out = nn.Conv2d(dim, dim, 3, 1, 1)

    def forward(self, x: torch.Tensor, *lk: torch.Tensor) -> torch.Tensor:
        skip = x
        x = self.proj(self.ln_proj(x))
        x = x + self.attn(self.ln_attn(x))
        for ln, pconv, convffn in zip(self.lns, self.pconvs, self.convffns, strict=True):
            x = x + pconv(convffn(ln(x)), *lk)
        return self.conv_out(self.ln_out(x)) + skip


def geo_ensemble(k: torch.Tensor) -> torch.Tensor:
    """Mean of the 8 flips/rotations of a kernel (the official feature-level geometric
    re-parameterisation of the shared large kernel), summed in the official order."""
    r = torch.rot90(k, -1, [2, 3])
    parts = [
        k,
        k.flip([3]),
        k.flip([2]),
        k.flip([2, 3]),
        r,
        r.flip([3]),
        r.flip([2]),
        r.flip([2, 3]),
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out / 8
