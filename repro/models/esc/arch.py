"""The three official ESC networks (``ESC``, ``ESCFP``, ``ESCReal``) and their builder."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.esc.attention import check_backend, resolve_backend
from repro.models.esc.blocks import (
    Block,
    LayerNorm2d,
    WindowAttention,
    geo_ensemble,
    min_input_size,
)
from repro.models.esc.variants import ESCConfig, config


def _orthogonal(*shape: int) -> nn.Parameter:
    """A parameter initialised as the official code does (left empty on the meta device)."""
    param = nn.Parameter(torch.empty(*shape))
    if param.device.type != "meta":
        nn.init.orthogonal_(param)
    return param


class ESCBase(nn.Module):
    """The forward pass of the three networks: ``proj``, the blocks with the shared large
    kernel(s), then each network's reconstruction (:meth:`_reconstruct`)."""

    cfg: ESCConfig

    @property
    def scale(self) -> int:
        return self.cfg.upscaling_factor

    @property
    def min_input_size(self) -> int:
        """Smallest LR height/width accepted (see :meth:`_check_input`; read by tiled inference)."""
        return min_input_size(self.cfg.window_size)

    @property
    def backend(self) -> str:
        return self.blocks[0].attn.backend

    def attention_backend(self, device: torch.device | str) -> str:
        """The attention kernel a forward on ``device`` runs (``auto`` resolved)."""
        return resolve_backend(self.backend, device)

    def set_backend(self, backend: str) -> ESCBase:
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
        need = self.min_input_size
        h, w = x.shape[-2:]
        if h < need or w < need:
            raise ReproError(
                f"ESC input of {h}x{w} pixels is too small: it needs at least {need}x{need} "
                f"(the window attention reflect-pads to a multiple of {self.cfg.window_size}, "
                "as the official code does, and fails below that); pad the image first"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        skip = self.proj(x)
        lk = self._large_kernels()
        feat = skip
        for block in self.blocks:
            feat = block(feat, *lk)
        return self._reconstruct(x, skip, feat)

    def _large_kernels(self) -> tuple[torch.Tensor, ...]:
        """The shared large kernel (geometric ensemble of ``plk_filter``), as ESC and ESC-Real."""
        return (geo_ensemble(self.plk_filter),)

    def _reconstruct(self, x: torch.Tensor, skip: torch.Tensor, feat: torch.Tensor):
        raise NotImplementedError


class ESC(ESCBase):
    """ESC / ESC-light / ESC-XL (official class ``ESC``)."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        self.cfg = cfg
        self.plk_filter = _orthogonal(cfg.pdim, cfg.pdim, cfg.kernel_size, cfg.kernel_size)
        self.proj = nn.Conv2d(3, cfg.dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            [Block(cfg, 2.0, cfg.use_ln, False, backend) for _ in range(cfg.n_blocks)]
        )
        self.last = nn.Conv2d(cfg.dim, cfg.dim, 3, 1, 1)
        self.to_img = nn.Conv2d(cfg.dim, 3 * cfg.upscaling_factor**2, 3, 1, 1)

    def _reconstruct(self, x, skip, feat):
        s = self.cfg.upscaling_factor
        feat = self.last(feat) + skip
        out = self.to_img(feat) + torch.repeat_interleave(x, s * s, dim=1)
        return F.pixel_shuffle(out, s)


class ESCFP(ESCBase):
    """ESC-FP (official class ``ESCFP``): decomposed LK, LN before ConvFFNs, bicubic skip."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        self.cfg = cfg
        p, k = cfg.pdim, cfg.kernel_size
        self.lk_channel = nn.Parameter(torch.randn(p, p, 1, 1))
        self.lk_spatial = _orthogonal(p, 1, k, k)
        self.proj = nn.Conv2d(3, cfg.dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            [Block(cfg, 1.5, True, True, backend) for _ in range(cfg.n_blocks)]
        )
        self.ln_last = LayerNorm2d(cfg.dim)
        self.last = nn.Conv2d(cfg.dim, cfg.dim, 3, 1, 1)
        self.to_img = nn.Conv2d(cfg.dim, 3 * cfg.upscaling_factor**2, 3, 1, 1)

    def _large_kernels(self) -> tuple[torch.Tensor, ...]:
        return (self.lk_channel, self.lk_spatial)

    def _reconstruct(self, x, skip, feat):
        s = self.cfg.upscaling_factor
        feat = self.last(self.ln_last(feat)) + skip
        out = F.pixel_shuffle(self.to_img(feat), s)
        return out + F.interpolate(x, scale_factor=s, mode="bicubic")


class ESCReal(ESCBase):
    """ESC-Real (official class ``ESCReal``, ``use_dysample=False``): x4, nearest+conv upsampler."""

    def __init__(self, cfg: ESCConfig, backend: str = "auto"):
        super().__init__()
        if cfg.upscaling_factor != 4:
            raise ReproError("ESC-Real exists for x4 only (two nearest x2 stages)")
        self.cfg = cfg
        dim = cfg.dim
        self.plk_filter = _orthogonal(cfg.pdim, cfg.pdim, cfg.kernel_size, cfg.kernel_size)
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

    def _reconstruct(self, x, skip, feat):
        return self.to_img(self.last(feat) + skip + self.skip(x))


_CLASSES = {"esc": ESC, "fp": ESCFP, "real": ESCReal}


def build_esc(variant: str, scale: int = 4, backend: str = "auto") -> ESCBase:
    """Build an ESC variant (``fp``, ``light``, ``base``, ``xl``, ``real``) with official keys."""
    cfg = config(variant, scale)
    return _CLASSES[cfg.kind](cfg, backend=check_backend(backend))


def count_params(variant: str, scale: int) -> int:
    """Parameter count without allocating weights (built on the meta device)."""
    with torch.device("meta"):
        model = build_esc(variant, scale, backend="matmul")
    return sum(p.numel() for p in model.parameters())
