"""LR images for 360° SR the way OSRT and CAMixerSR make them (fisheye-domain bicubic).

The official test LR (OSRT ``odisr/utils/make_clean_lau_dataset.py``, reused by CAMixerSR) is made
from each HR equirectangular (ERP) image in four steps:

1. the HR is resized to 1024x2048 with PIL's bilinear filter (torchvision ``Resize`` on a PIL
   image; a no-op when it already has that size);
2. each hemisphere is projected onto an equidistant fisheye image of side
   ``round(H * 1.5 * 1.25)`` that reaches 1.25x past the equator (so the later resampling has
   context at the seam), by bilinear ``grid_sample`` of the ERP;
3. each fisheye image is quantised (``ToPILImage`` truncates: ``floor(255 v)``) and downsampled
   with PIL's bicubic filter, which is uniform on the sphere's polar grid instead of the ERP's;
4. the LR ERP is read back from the two LR fisheye images by bilinear ``grid_sample``, clamped and
   truncated to uint8 again.

All arithmetic is float32 and follows the official order, so the result is the official LR up to
the resampling kernels of the installed torch and Pillow.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from repro.errors import DataError

ODI_HR_SIZE = (1024, 2048)  # (H, W) the HR is resized to before downsampling
FISHEYE_EXPAND = 1.25  # fisheye radius reaches 1.25x the hemisphere (past the equator)
FISHEYE_DENSITY = 1.5  # fisheye side = H * 1.5 keeps the mean pixel density of the ERP


def _centres(n: int) -> torch.Tensor:
    """Pixel-centre coordinates of ``n`` pixels in [-1, 1], float32, in the official order."""
    r = 1.0 / n
    return -1 + r + (2 * r) * torch.arange(n).float()


def _to_float(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float().div(255)


def _truncate_uint8(x: torch.Tensor) -> torch.Tensor:
    """What torchvision `ToPILImage` does to a float tensor: `(255 x).byte()`, truncating."""
    return x.mul(255).byte()


def resize_erp_hr(hr: np.ndarray, size: tuple[int, int] = ODI_HR_SIZE) -> np.ndarray:
    """Step 1: PIL bilinear resize of an (H, W, 3) uint8 ERP image to ``size`` = (H, W)."""
    if hr.shape[:2] == tuple(size):
        return hr
    return np.asarray(Image.fromarray(hr).resize((size[1], size[0]), Image.Resampling.BILINEAR))


def _erp_to_fisheyes(erp: torch.Tensor) -> torch.Tensor:
    """Step 2: (3, H, W) ERP -> (2, 3, P, P) fisheye images; index 0 south, 1 north."""
    h = erp.shape[-2]
    side = round(h * FISHEYE_DENSITY * FISHEYE_EXPAND)
    c = _centres(side)
    # Strided views of one (P, P, 2) grid, as upstream computes on: torch's atan2 differs by an
    # ulp between its strided and contiguous loops, enough to flip some truncated pixels.
    grid_rc = torch.stack(torch.meshgrid(c, c, indexing="ij"), dim=-1)
    rows, cols = grid_rc[..., 0], grid_rc[..., 1]
    rho = torch.sqrt(rows**2 + cols**2) * FISHEYE_EXPAND  # 1 = pole-to-equator distance
    theta = torch.arctan2(rows, cols)  # longitude, -pi..pi
    inside = rho <= FISHEYE_EXPAND
    x = theta / math.pi
    out = []
    for hemisphere in (1, -1):  # south (lower ERP half) first, then north
        y = (1 - rho) * hemisphere
        grid = torch.stack([x, y], dim=-1).unsqueeze(0)
        sampled = F.grid_sample(
            erp.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )[0]
        out.append(sampled * inside)
    return torch.stack(out)


def _pil_bicubic(fisheye: torch.Tensor, side: int) -> torch.Tensor:
    """Step 3: quantise one (3, P, P) fisheye image and downsample it with PIL's bicubic."""
    pixels = _truncate_uint8(fisheye).permute(1, 2, 0).numpy()
    small = Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)
    return _to_float(np.asarray(small))


def _fisheyes_to_erp(fisheyes: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Step 4: (2, 3, p, p) fisheye images -> (3, h, w) ERP (upper half from the north one)."""
    rows, cols = torch.meshgrid(_centres(h), _centres(w), indexing="ij")
    half = h // 2
    theta = cols * math.pi
    out = torch.zeros(3, h, w)
    for hemisphere, source, band in ((1, 1, slice(0, half)), (-1, 0, slice(half, 2 * half))):
        rho = (1 + rows[band] * hemisphere) / FISHEYE_EXPAND
        grid = torch.stack([rho * torch.cos(theta[band]), rho * torch.sin(theta[band])], dim=-1)
        out[:, band] = F.grid_sample(
            fisheyes[source].unsqueeze(0),
            grid.unsqueeze(0),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=False,
        )[0]
    return out


def odi_fisheye_lr(hr: np.ndarray, scale: int, *, resize: bool = True) -> np.ndarray:
    """The official ODI-SR/SUN360 LR of an (H, W, 3) uint8 ERP image at ``scale``.

    ``resize`` applies step 1 (the official pipeline always does); the result is
    (1024/scale, 2048/scale, 3) uint8 then.
    """
    if hr.ndim != 3 or hr.shape[2] != 3:
        raise DataError(f"360° LR needs an RGB ERP image, got shape {hr.shape}")
    if scale < 1:
        raise DataError(f"scale must be a positive integer, got {scale}")
    if resize:
        hr = resize_erp_hr(hr)
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    if h // scale % 2:
        raise DataError(
            f"360° LR: the LR height {h // scale} must be even (one half per hemisphere); "
            f"HR {hr.shape[1]}x{hr.shape[0]} at x{scale} does not fit"
        )
    erp = _to_float(hr[:h, :w])
    fisheyes = _erp_to_fisheyes(erp)
    small = fisheyes.shape[-1] // scale
    fisheyes_lr = torch.stack([_pil_bicubic(f, small) for f in fisheyes])
    lr = _fisheyes_to_erp(fisheyes_lr, h // scale, w // scale).clamp(0, 1)
    return _truncate_uint8(lr).permute(1, 2, 0).numpy()
