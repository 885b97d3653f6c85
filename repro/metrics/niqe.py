"""NIQE (Mittal et al., "Making a 'Completely Blind' Image Quality Analyzer", SPL 2013).

The algorithm of MATLAB ``niqe`` / the official ``niqe_release`` and of BasicSR's
``calculate_niqe`` (which reproduces MATLAB R2021a on baboon: 5.72957338):

1. luminance: RGB -> BT.601 Y (MATLAB ``rgb2ycbcr``, 0..255 scale) and **rounded** to integers
   (MATLAB's ``rgb2ycbcr`` on uint8 returns uint8; BasicSR rounds for the same reason); one-channel
   images are used as they are. ``color="yiq"`` uses YIQ's Y (0.299 R + 0.587 G + 0.114 B, also
   rounded) instead: that is what pyiqa's ``niqe`` does by default (``color_space='yiq'``);
2. crop ``crop`` border pixels (default 0), then keep the top-left multiple of 96x96 blocks;
3. at two scales (full, then MATLAB ``imresize(img, 0.5)`` bicubic with antialiasing, in float,
   via :func:`repro.data.imresize.imresize`): MSCN coefficients ``(I - mu) / (sigma + 1)`` with
   the 7x7 Gaussian window of the pristine model (replicate borders), then per block (96x96 at
   scale 1, 48x48 at scale 2) 18 features: the GGD fit (alpha, mean of beta_l/beta_r) of the
   coefficients and, for the circular shifts (0,1), (1,0), (1,1), (1,-1) of the block, the AGGD
   fit (alpha, mean, beta_l, beta_r) of the products of neighbours;
4. fit a Gaussian to the 36-D block features (NaN rows left out of the covariance) and return
   ``sqrt((mu_p - mu_d) pinv((C_p + C_d) / 2) (mu_p - mu_d)^T)``.

Precision: the local mean/variance (MSCN) step runs in float32, as in BasicSR's float32
pipeline: ``sigma = sqrt(|E[x^2] - mu^2|)`` cancels badly in flat regions and the AGGD fits pick
``alpha`` on a 0.001 grid, so this rounding moves the score measurably. On baboon float32 gives
5.729586 and float64 5.729960 (MATLAB R2021a: 5.72957338, BasicSR: 5.7295763), i.e. the float32
path lands 1.3e-5 from MATLAB, the float64 one 3.9e-4. The rest runs in float64, vectorised
over blocks (BasicSR loops over blocks and rebuilds its 9801-entry ``r_gam`` table per fit;
here the table is built once and searched with ``searchsorted``, which picks the same entry as
``argmin`` because the table is strictly increasing).

The pristine model is ``niqe/niqe_pris_params.npz`` (BasicSR's file, the numbers of MATLAB's
``niqe_modelparameters.mat``), :data:`NIQE_WEIGHTS`, found by :mod:`repro.weights` and checked
against its sha256.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from scipy.ndimage import convolve
from scipy.special import gamma

from repro.errors import DataError
from repro.weights import WeightsEntry, require_all

__all__ = ["NIQE_COLORS", "NIQE_WEIGHTS", "niqe", "niqe_luma", "niqe_score"]

#: The pristine model (shared/weights/README.md gives the sha256 prefix 2a7c182a).
NIQE_WEIGHTS: tuple[WeightsEntry, ...] = (
    WeightsEntry.metric_file(
        "niqe-pristine",
        "niqe_pris_params.npz",
        "BasicSR basicsr/metrics/niqe_pris_params.npz, the numbers of MATLAB's "
        "niqe_modelparameters.mat, see shared/weights/README.md",
        subdir="niqe",
        sha256="2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296",
        sha256_source="the shared file, whose sha256 prefix shared/weights/README.md gives",
    ),
)
BLOCK = 96
#: ``ycbcr``: BT.601 Y of MATLAB rgb2ycbcr (BasicSR, MATLAB); ``yiq``: YIQ Y (pyiqa's default).
NIQE_COLORS = ("ycbcr", "yiq")
_Y_BT601 = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_YIQ = np.array([0.299, 0.587, 0.114])
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


# --------------------------------------------------------------------------------------------
# pristine model


@functools.lru_cache(maxsize=4)
def _load_params(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(path) as z:
        mu = np.asarray(z["mu_pris_param"], dtype=np.float64).reshape(-1)
        cov = np.asarray(z["cov_pris_param"], dtype=np.float64)
        win = np.asarray(z["gaussian_window"], dtype=np.float64)
    return mu, cov, win


def _params() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (path,) = require_all(NIQE_WEIGHTS, "NIQE model")  # verified (sha256)
    return _load_params(str(path))


# --------------------------------------------------------------------------------------------
# AGGD fits, vectorised over blocks


@functools.lru_cache(maxsize=1)
def _gam_table() -> tuple[np.ndarray, np.ndarray, bool]:
    gam = np.arange(0.2, 10.001, 0.001)  # 9801 entries, as the reference code
    r = gamma(2.0 / gam) ** 2 / (gamma(1.0 / gam) * gamma(3.0 / gam))
    return gam, r, bool(np.all(np.diff(r) > 0))


def _nearest(r_gam: np.ndarray, increasing: bool, x: np.ndarray) -> np.ndarray:
    """Index of argmin((r_gam - x)^2) for each x (first index on ties; NaN -> 0, as argmin)."""
    if not increasing:  # never the case for this table; kept as the literal definition
        return np.argmin((r_gam[None, :] - x[:, None]) ** 2, axis=1)
    n = r_gam.size
    hi = np.clip(np.searchsorted(r_gam, x, side="left"), 1, n - 1)
    lo = hi - 1
    d_lo, d_hi = (r_gam[lo] - x) ** 2, (r_gam[hi] - x) ** 2
    idx = np.where(d_hi < d_lo, hi, lo)
    return np.where(np.isnan(x), 0, idx)


def _aggd(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, beta_l, beta_r) of each block of (n, h, w), the reference estimator."""
    gam, r_gam, increasing = _gam_table()
    x = blocks.reshape(blocks.shape[0], -1)
    sq = x * x
    neg, pos = x < 0, x > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt((sq * neg).sum(1) / neg.sum(1))
        right = np.sqrt((sq * pos).sum(1) / pos.sum(1))
        g = left / right
        rhat = np.abs(x).mean(1) ** 2 / sq.mean(1)
        rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = gam[_nearest(r_gam, increasing, rnorm)]
    k = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return alpha, left * k, right * k


def _features(blocks: np.ndarray) -> np.ndarray:
    """The 18 NIQE features of each block of (n, h, w) MSCN coefficients -> (n, 18)."""
    alpha, bl, br = _aggd(blocks)
    cols = [alpha, (bl + br) / 2]
    for shift in _SHIFTS:
        prod = blocks * np.roll(blocks, shift, axis=(1, 2))
        alpha, bl, br = _aggd(prod)
        mean = (br - bl) * (gamma(2.0 / alpha) / gamma(1.0 / alpha))
        cols += [alpha, mean, bl, br]
    return np.stack(cols, axis=1)


def _blocks(img: np.ndarray, bh: int, bw: int) -> np.ndarray:
    nh, nw = img.shape[0] // bh, img.shape[1] // bw
    b = img[: nh * bh, : nw * bw].reshape(nh, bh, nw, bw).transpose(0, 2, 1, 3)
    return b.reshape(nh * nw, bh, bw)


def _mscn(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MSCN coefficients, computed in float32 (see the module docstring), returned as float64."""
    x, w = img.astype(np.float32), window.astype(np.float32)
    mu = convolve(x, w, mode="nearest")
    sigma = np.sqrt(np.abs(convolve(x * x, w, mode="nearest") - mu * mu))
    return ((x - mu) / (sigma + np.float32(1.0))).astype(np.float64)


# --------------------------------------------------------------------------------------------
# public API


def niqe_luma(img: np.ndarray, color: str = "ycbcr") -> np.ndarray:
    """The rounded luminance NIQE scores, float64 (H, W), from a uint8 (H, W[, C]) image."""
    if color not in NIQE_COLORS:
        raise DataError(f"unknown NIQE color {color!r}; use one of {', '.join(NIQE_COLORS)}")
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return np.round(arr.astype(np.float64))
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise DataError(f"NIQE expects a (H, W), (H, W, 1) or (H, W, 3) image, got {arr.shape}")
    a = arr.astype(np.float64)
    if color == "ycbcr":
        y = 16.0 + a[..., 0] * _Y_BT601[0] + a[..., 1] * _Y_BT601[1] + a[..., 2] * _Y_BT601[2]
    else:
        y = a[..., 0] * _Y_YIQ[0] + a[..., 1] * _Y_YIQ[1] + a[..., 2] * _Y_YIQ[2]
    return np.round(y)


def niqe_score(luma: np.ndarray, block: int = BLOCK) -> float:
    """NIQE of a float (H, W) luminance image on the 0..255 scale (already cropped/rounded)."""
    mu_p, cov_p, window = _params()
    img = np.asarray(luma, dtype=np.float64)
    nh, nw = img.shape[0] // block, img.shape[1] // block
    if nh * nw < 2:
        raise DataError(
            f"NIQE needs at least two {block}x{block} blocks, the image is "
            f"{img.shape[1]}x{img.shape[0]}; score larger images"
        )
    img = img[: nh * block, : nw * block]
    dims = f"{img.shape[1]}x{img.shape[0]}"
    feats = []
    for scale in (1, 2):
        size = block // scale
        feats.append(_features(_blocks(_mscn(img, window), size, size)))
        if scale == 1:
            from repro.data.imresize import imresize

            img = imresize(torch.from_numpy(img), scale=0.5, antialiasing=True).numpy()
    dist = np.concatenate(feats, axis=1)
    rows = dist[~np.isnan(dist).any(axis=1)]
    if rows.shape[0] < 2:
        # flat blocks have no MSCN statistics (NaN features): a score would be NaN or fail
        raise DataError(
            f"NIQE needs at least two textured {block}x{block} blocks, the {dims} image has "
            f"{rows.shape[0]} (flat image?); NIQE cannot score it"
        )
    mu_d = np.nanmean(dist, axis=0)
    cov_d = np.cov(rows, rowvar=False)
    d = mu_p - mu_d
    q = float(d @ np.linalg.pinv((cov_p + cov_d) / 2.0) @ d)
    if not math.isfinite(q):
        raise DataError("NIQE of this image is not a finite number; NIQE cannot score it")
    return math.sqrt(max(q, 0.0))  # the form is positive semi-definite: < 0 is rounding


def niqe(img: np.ndarray, *, crop: int = 0, color: str = "ycbcr") -> float:
    """NIQE of a uint8 (H, W, C) image (lower is better); BasicSR/MATLAB protocol by default.

    ``crop``: border pixels removed from every side after the luminance conversion (BasicSR's
    ``crop_border``; 0 in MATLAB and pyiqa). ``color``: ``"ycbcr"`` (BT.601 Y, BasicSR/MATLAB)
    or ``"yiq"`` (pyiqa ``niqe``'s default). Three-channel images are scored on that Y, rounded;
    one-channel images as they are.
    """
    y = niqe_luma(img, color)
    crop = int(crop or 0)
    if crop < 0:
        raise DataError(f"NIQE crop must be >= 0, got {crop}")
    if crop and 2 * crop >= min(y.shape):
        raise DataError(
            f"NIQE crop {crop} removes all of a {y.shape[1]}x{y.shape[0]} image; use a smaller crop"
        )
    if crop:
        y = y[crop:-crop, crop:-crop]
    return niqe_score(y)
