"""ESC: Emulating Self-attention with Convolution (Lee, Yun, Ro; ICCV 2025).

A re-implementation of the official architectures in dslisleedh/ESC @ e7e6938
(``esc/archs/esc_arch.py``: ``ESC``; ``esc_fp_arch.py``: ``ESCFP``; ``esc_real_arch.py``:
``ESCReal``) with the official parameter names, so official checkpoints (``params_ema``) load
strictly. Variants and constructor arguments follow ``options/test/*.yaml``:

| id | class | dim | pdim | blocks | ConvAttns | window | heads | exp. | extra |
|---|---|---|---|---|---|---|---|---|---|
| ``esc-fp`` | ESCFP | 48 | 16 | 5 | 5 | 32 | 3 | 1.25 | decomposed LK, LN before ConvFFNs |
| ``esc-light`` | ESC | 64 | 16 | 3 | 5 | 32 | 4 | 1.25 | |
| ``esc`` | ESC | 64 | 16 | 5 | 5 | 32 | 4 | 1.25 | |
| ``esc-xl`` | ESC | 192 | 48 | 8 | 5 | 48 | 12 | 1.25 | ``use_ln`` (LN before ConvFFNs) |
| ``esc-real`` | ESCReal | 64 | 16 | 10 | 5 | 32 | 4 | 2 | x4 only, RealESRGAN upsampler |

All use a 13x13 large kernel. Forward: ``N x 3 x H x W`` float in [0, 1] ->
``N x 3 x sH x sW``. As in the official code, every window attention reflect-pads its input to a
multiple of the window and crops back, so any size works from ``window // 2 + 1`` pixels up
(smaller inputs raise :class:`repro.errors.ReproError`; the official code fails there too).
Unlike the official evaluation path (batch 1 only), the dynamic 3x3 kernels are applied per
sample, so batches of any size work.

The attention backend is a setting (``backend``: auto, matmul, sdpa, flex, flex-eager; see
:mod:`repro.models.esc_attention`). The golden outputs were made with the official "Naive"
(matmul) path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.esc_attention import check_backend, resolve_backend, window_attention
from repro.models.registry import ModelInfo, WeightsEntry, register

OFFICIAL_REPO = "dslisleedh/ESC"
OFFICIAL_COMMIT = "e7e6938c52ff6c393fe52660df9e00cc2c975db1"
RELEASE_URL = "https://github.com/dslisleedh/ESC/releases/download/1.0.0/"


# --------------------------------------------------------------------------------------------
# configurations
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ESCConfig:
    kind: str  # "esc" | "fp" | "real" (which official class)
    dim: int
    pdim: int
    kernel_size: int
    n_blocks: int
    conv_blocks: int
    window_size: int
    num_heads: int
    exp_ratio: float
    upscaling_factor: int = 4
    use_ln: bool = False  # ESC only (ESC-XL): LayerNorm before every ConvFFN

    def official_kwargs(self) -> dict:
        """Constructor arguments as the official class takes them (``attn_type`` aside)."""
        kw = {
            "dim": self.dim,
            "pdim": self.pdim,
            "kernel_size": self.kernel_size,
            "n_blocks": self.n_blocks,
            "conv_blocks": self.conv_blocks,
            "window_size": self.window_size,
            "num_heads": self.num_heads,
            "exp_ratio": self.exp_ratio,
            "upscaling_factor": self.upscaling_factor,
        }
        if self.use_ln:
            kw["use_ln"] = True
        return kw


VARIANTS: dict[str, ESCConfig] = {
    "fp": ESCConfig("fp", 48, 16, 13, 5, 5, 32, 3, 1.25),
    "light": ESCConfig("esc", 64, 16, 13, 3, 5, 32, 4, 1.25),
    "base": ESCConfig("esc", 64, 16, 13, 5, 5, 32, 4, 1.25),
    "xl": ESCConfig("esc", 192, 48, 13, 8, 5, 48, 12, 1.25, use_ln=True),
    "real": ESCConfig("real", 64, 16, 13, 10, 5, 32, 4, 2.0),
}
VARIANT_SCALES = {
    "fp": (2, 3, 4),
    "light": (2, 3, 4),
    "base": (2, 3, 4),
    "xl": (2, 3, 4),
    "real": (4,),
}
MODEL_IDS = {
    "fp": "esc-fp",
    "light": "esc-light",
    "base": "esc",
    "xl": "esc-xl",
    "real": "esc-real",
}


def config(variant: str, scale: int) -> ESCConfig:
    if variant not in VARIANTS:
        raise ReproError(f"unknown ESC variant '{variant}'; known: {', '.join(VARIANTS)}")
    if scale not in VARIANT_SCALES[variant]:
        raise ReproError(
            f"ESC variant '{variant}' has no x{scale} model; scales: "
            + ", ".join(f"x{s}" for s in VARIANT_SCALES[variant])
        )
    return replace(VARIANTS[variant], upscaling_factor=scale)


# --------------------------------------------------------------------------------------------
# building blocks (official parameter names)
# --------------------------------------------------------------------------------------------
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


def _dynamic_kernels(head: nn.Sequential, x1: torch.Tensor, size: int) -> torch.Tensor:
    """Per-sample depthwise kernels ``(N*pdim, 1, size, size)`` from the pooled features."""
    b, c = x1.shape[:2]
    return head(x1).reshape(b * c, 1, size, size)


def _grouped_per_sample(x1: torch.Tensor, kernels: torch.Tensor, padding: int) -> torch.Tensor:
    """Depthwise conv with a different kernel per (sample, channel)."""
    b, c, h, w = x1.shape
    y = F.conv2d(x1.reshape(1, b * c, h, w), kernels, padding=padding, groups=b * c)
    return y.reshape(b, c, h, w)


class ConvolutionalAttention(nn.Module):
    """ConvAttn on the first ``pdim`` channels: shared 13x13 LK conv + dynamic 3x3 depthwise."""

    def __init__(self, pdim: int, kernel_size: int = 13):
        super().__init__()
        self.pdim = pdim
        self.lk_size = kernel_size
        self.sk_size = 3
        self.dwc_proj = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(pdim, pdim // 2, 1),
            nn.GELU(),
            nn.Conv2d(pdim // 2, pdim * self.sk_size**2, 1),
        )
        nn.init.zeros_(self.dwc_proj[-1].weight)
        nn.init.zeros_(self.dwc_proj[-1].bias)

    def forward(self, x: torch.Tensor, lk_filter: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[:, : self.pdim], x[:, self.pdim :]
        dyn = _dynamic_kernels(self.dwc_proj, x1, self.sk_size)
        y = F.conv2d(x1, lk_filter, padding=self.lk_size // 2) + _grouped_per_sample(
            x1, dyn, self.sk_size // 2
        )
        return torch.cat([y, x2], dim=1)


class DecomposedConvolutionalAttention(nn.Module):
    """ESC-FP's ConvAttn: 1x1 channel mix, then one depthwise 13x13 conv whose kernel is the
    shared spatial LK plus the zero-padded dynamic 3x3 kernel."""

    def __init__(self, pdim: int, kernel_size: int = 13):
        super().__init__()
        self.pdim = pdim
        self.lk_size = kernel_size
        self.dynamic_kernel_size = 3
        self.proj = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(pdim, pdim // 4, 1),
            nn.GELU(),
            nn.Conv2d(pdim // 4, pdim * self.dynamic_kernel_size**2, 1),
        )

    def forward(self, x, lk_channel, lk_spatial):
        x1, x2 = x[:, : self.pdim], x[:, self.pdim :]
        b = x1.shape[0]
        dyn = _dynamic_kernels(self.proj, x1, self.dynamic_kernel_size)
        n_pad = (self.lk_size - self.dynamic_kernel_size) // 2
        dyn = F.pad(dyn, (n_pad, n_pad, n_pad, n_pad))
        x1 = F.conv2d(x1, lk_channel)
        x1 = _grouped_per_sample(x1, dyn + lk_spatial.repeat(b, 1, 1, 1), self.lk_size // 2)
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


# --------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------
class _ESCBase(nn.Module):
    cfg: ESCConfig

    @property
    def scale(self) -> int:
        return self.cfg.upscaling_factor

    @property
    def backend(self) -> str:
        return self.blocks[0].attn.backend

    def set_backend(self, backend: str) -> _ESCBase:
        check_backend(backend)
        for m in self.modules():
            if isinstance(m, WindowAttention):
                m.backend = backend
        return self

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ReproError(
                f"ESC expects an N x 3 x H x W image batch, got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ReproError(f"ESC expects a float tensor in [0, 1], got {x.dtype}; divide by 255")
        need = min_input_size(self.cfg.window_size)
        h, w = x.shape[-2:]
        if h < need or w < need:
            raise ReproError(
                f"ESC input of {h}x{w} pixels is too small: it needs at least {need}x{need} "
                f"(the window attention reflect-pads to a multiple of {self.cfg.window_size}, "
                "as the official code does, and fails below that); pad the image first"
            )


class ESC(_ESCBase):
    """ESC / ESC-light / ESC-XL (official class ``ESC``)."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        self.cfg = cfg
        p, k = cfg.pdim, cfg.kernel_size
        self.plk_filter = nn.Parameter(torch.empty(p, p, k, k))
        if self.plk_filter.device.type != "meta":
            nn.init.orthogonal_(self.plk_filter)
        self.proj = nn.Conv2d(3, cfg.dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            [Block(cfg, 2.0, cfg.use_ln, False, backend) for _ in range(cfg.n_blocks)]
        )
        self.last = nn.Conv2d(cfg.dim, cfg.dim, 3, 1, 1)
        self.to_img = nn.Conv2d(cfg.dim, 3 * cfg.upscaling_factor**2, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        s = self.cfg.upscaling_factor
        feat = self.proj(x)
        skip = feat
        lk = geo_ensemble(self.plk_filter)
        for block in self.blocks:
            feat = block(feat, lk)
        feat = self.last(feat) + skip
        out = self.to_img(feat) + torch.repeat_interleave(x, s * s, dim=1)
        return F.pixel_shuffle(out, s)


class ESCFP(_ESCBase):
    """ESC-FP (official class ``ESCFP``): decomposed LK, LN before ConvFFNs, bicubic skip."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        self.cfg = cfg
        p, k = cfg.pdim, cfg.kernel_size
        self.lk_channel = nn.Parameter(torch.randn(p, p, 1, 1))
        self.lk_spatial = nn.Parameter(torch.empty(p, 1, k, k))
        if self.lk_spatial.device.type != "meta":
            nn.init.orthogonal_(self.lk_spatial)
        self.proj = nn.Conv2d(3, cfg.dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            [Block(cfg, 1.5, True, True, backend) for _ in range(cfg.n_blocks)]
        )
        self.ln_last = LayerNorm2d(cfg.dim)
        self.last = nn.Conv2d(cfg.dim, cfg.dim, 3, 1, 1)
        self.to_img = nn.Conv2d(cfg.dim, 3 * cfg.upscaling_factor**2, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        s = self.cfg.upscaling_factor
        feat = self.proj(x)
        skip = feat
        for block in self.blocks:
            feat = block(feat, self.lk_channel, self.lk_spatial)
        feat = self.last(self.ln_last(feat)) + skip
        out = F.pixel_shuffle(self.to_img(feat), s)
        return out + F.interpolate(x, scale_factor=s, mode="bicubic")


class ESCReal(_ESCBase):
    """ESC-Real (official class ``ESCReal``, ``use_dysample=False``): x4, nearest+conv upsampler."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        if cfg.upscaling_factor != 4:
            raise ReproError("ESC-Real exists for x4 only (two nearest x2 stages)")
        self.cfg = cfg
        p, k, dim = cfg.pdim, cfg.kernel_size, cfg.dim
        self.plk_filter = nn.Parameter(torch.empty(p, p, k, k))
        if self.plk_filter.device.type != "meta":
            nn.init.orthogonal_(self.plk_filter)
        self.proj = nn.Conv2d(3, dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            [Block(cfg, 2.0, True, False, backend) for _ in range(cfg.n_blocks)]
        )
        self.last = nn.Conv2d(dim, dim, 3, 1, 1)
        self.to_img = nn.Sequential(  # as RealESRGAN / SwinIR-Real
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(dim, dim, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(dim, dim, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim, dim, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim, 3, 3, 1, 1),
        )
        self.skip = nn.Sequential(
            nn.Conv2d(3, dim * 2, 1),
            nn.Conv2d(dim * 2, dim * 2, 7, 1, 3, groups=dim * 2, padding_mode="reflect"),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim * 2, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        feat = self.proj(x)
        skip = feat
        lk = geo_ensemble(self.plk_filter)
        for block in self.blocks:
            feat = block(feat, lk)
        feat = self.last(feat) + skip + self.skip(x)
        return self.to_img(feat)


_CLASSES = {"esc": ESC, "fp": ESCFP, "real": ESCReal}


def build_esc(variant: str, scale: int = 4, backend: str = "auto") -> _ESCBase:
    """Build an ESC variant (``fp``, ``light``, ``base``, ``xl``, ``real``) with official keys."""
    cfg = config(variant, scale)
    return _CLASSES[cfg.kind](cfg, backend=check_backend(backend))


def count_params(variant: str, scale: int) -> int:
    """Parameter count without allocating weights (built on the meta device)."""
    with torch.device("meta"):
        model = build_esc(variant, scale, backend="matmul")
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------
# weights (GitHub release 1.0.0 of dslisleedh/ESC; the test configs' file names)
# --------------------------------------------------------------------------------------------
# sha256 of release assets where a public source states it: filename -> (sha256, source).
# The other assets' sha256 is not published anywhere we could find (stays None: `pull` asks for
# --trust-unverified and records what was downloaded in the weights lock).
_SHA256 = {
    "ESC_Real_X4_GAN.pth": (
        "d6932bd01e29c9335f5f678b0e9b31ede906a42244887ab8888b1d39a8667f2d",
        "dmlsrc/KinoVSR@4b90cc1 kinovsr/processors/esc/weights/README.md (sha256 of the release "
        "asset releases/download/1.0.0/ESC_Real_X4_GAN.pth; also dmlsrc/LTX-2-MLX@43b9cbd)",
    ),
}


def _entry(entry_id: str, filename: str, what: str) -> WeightsEntry:
    sha256, sha256_source = _SHA256.get(filename, (None, ""))
    return WeightsEntry(
        id=entry_id,
        filename=filename,
        urls=(RELEASE_URL + filename,),
        sha256=sha256,
        key="params_ema",
        source=f"{OFFICIAL_REPO} GitHub release 1.0.0, {filename} ({what})",
        sha256_source=sha256_source,
    )


WEIGHTS: dict[str, WeightsEntry] = {}
for _s in (2, 3, 4):
    WEIGHTS[f"esc-fp-x{_s}"] = _entry(f"esc-fp-x{_s}", f"ESC_FP_X{_s}.pth", "ESC-FP, DIV2K")
    WEIGHTS[f"esc-light-x{_s}"] = _entry(
        f"esc-light-x{_s}", f"ESC_light_X{_s}.pth", "ESC-light, DIV2K"
    )
    WEIGHTS[f"esc-x{_s}"] = _entry(f"esc-x{_s}", f"ESC_DIV2K_X{_s}.pth", "ESC, DIV2K")
    WEIGHTS[f"esc-x{_s}-dflip"] = _entry(
        f"esc-x{_s}-dflip", f"ESC_DFLIP_X{_s}.pth", "ESC, DFLIP (data scaling)"
    )
    WEIGHTS[f"esc-xl-x{_s}"] = _entry(
        f"esc-xl-x{_s}", f"ESC_XL_DF2K_X{_s}_FT.pth", "ESC-XL, DF2K, fine-tuned 96x96"
    )
WEIGHTS["esc-real-x4"] = _entry("esc-real-x4", "ESC_Real_X4_GAN.pth", "ESC-Real, GAN stage")

_DEFAULT_WEIGHTS = {"fp": "esc-fp-x{}", "light": "esc-light-x{}", "base": "esc-x{}"}
_DEFAULT_WEIGHTS |= {"xl": "esc-xl-x{}", "real": "esc-real-x{}"}

_DESCRIPTIONS = {
    "fp": "ESC-FP (48 ch, 5 blocks, decomposed LK; fewest FLOPs/params)",
    "light": "ESC-light (64 ch, 3 blocks; lowest latency)",
    "base": "ESC (64 ch, 5 blocks)",
    "xl": "ESC-XL (192 ch, 8 blocks, window 48; seed Table 10)",
    "real": "ESC-Real (real-world SR, x4, RealESRGAN upsampler)",
}


def _builder(variant: str):
    def build(scale: int = 4, backend: str = "auto") -> nn.Module:
        return build_esc(variant, scale, backend)

    return build


for _v, _id in MODEL_IDS.items():
    register(
        ModelInfo(
            id=_id,
            family="esc",
            variant=_v,
            scales=VARIANT_SCALES[_v],
            build=_builder(_v),
            description=_DESCRIPTIONS[_v],
            weights={s: WEIGHTS[_DEFAULT_WEIGHTS[_v].format(s)] for s in VARIANT_SCALES[_v]},
            settings=("backend",),
        )
    )


def complexity(metric: str, model: nn.Module, row, spec, variant: str | None) -> float:
    """Table hook: #FLOPs (G) by the official script's convention (fvcore, 1280x720 output)."""
    if metric not in ("flops", "madds"):
        raise ReproError(f"NOT-IMPLEMENTED: no '{metric}' counter for ESC")
    from repro.models.esc_flops import esc_flops

    width, height = spec.protocol.get("flops_output", (1280, 720))
    return esc_flops(row.model, row.scale, output_hw=(height, width), method="meta")
