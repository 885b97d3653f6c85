"""PSNR and SSIM the way the papers compute them (see ``../shared/DESIGN.md``, protocol facts).

Inputs are ``uint8`` images ``(H, W, C)``, C in {1, 3} (a 2-D array is one channel); float
arrays on the 0..255 scale are accepted too. A protocol is three choices:

``channel``
    ``'y'``: BT.601 luma, MATLAB ``rgb2ycbcr`` on ``im2double`` input, float (classic SR);
    ``'rgb'``: every channel as it is (large-image, stereo, 360°); ``'gray'``: MATLAB
    ``rgb2gray`` on uint8 (the TID2013 SSIM oracle).
``crop``
    pixels removed from every border before scoring (classic SR: the scale).
``gray``
    how a one-channel image (Set14 ``bridge``) is scored. ``'gray'``: its gray channel directly,
    whatever ``channel`` says (MATLAB-era code; the classic bicubic rows). ``'rgb3'``: replicated
    to three channels and then converted like any RGB image (BasicSR reads gray files as three
    identical channels; the learned models' tables). On ``bridge`` the two differ by ~1.3 dB.

    Pairs: under ``'gray'``, when HR has one channel and SR has three identical channels (a
    model fed the replicated image, e.g. bicubic), SR is scored as its first channel; three
    *different* channels against a one-channel HR raise :class:`~repro.errors.DataError`.

SSIM kinds: ``'matlab'`` is Wang et al.'s ``ssim_index.m`` (Gaussian 11x11, sigma 1.5, valid
region, C1 = (0.01*255)^2, C2 = (0.03*255)^2), averaged over channels; it equals BasicSR's
``calculate_ssim``. ``'skimage'`` is ``skimage.metrics.structural_similarity`` with its defaults
(7x7 uniform window, sample covariance) over the channel axis, ``data_range=255`` (NAFSSR).

The MATLAB-kind SSIM is computed with separable convolutions (scipy ``correlate1d``) over bands
of rows, so memory stays bounded on 8K images; PSNR likewise accumulates per-row squared errors.
Per-row sums are also what the spherical (WS-) metrics need, see :mod:`repro.metrics.spherical`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.ndimage import correlate1d

from repro.errors import DataError, UnknownNameError, did_you_mean
from repro.metrics.color import rgb_to_gray_matlab, rgb_to_y

CHANNELS = ("y", "rgb", "gray")
GRAY_POLICIES = ("gray", "rgb3")
SSIM_KINDS = ("matlab", "skimage")

PEAK = 255.0
SSIM_WIN = 11  # MATLAB ssim_index: fspecial('gaussian', 11, 1.5)
SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * PEAK) ** 2
SSIM_C2 = (0.03 * PEAK) ** 2
SSIM_MARGIN = SSIM_WIN // 2  # rows/columns lost on each side by the valid region

# float64 elements of one converted band of rows: bounds memory on large (8K) images while
# keeping benchmark-sized images in a single band.
_BAND_ELEMENTS = 1 << 21
_MIN_BAND_ROWS = 32


def _gaussian_kernel(size: int = SSIM_WIN, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()  # outer(k, k) == fspecial('gaussian', size, sigma)


_KERNEL = _gaussian_kernel()


# ---------------------------------------------------------------------------------------------
# validation and preparation


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    """Return ``value`` if it is in ``choices``; raise UnknownNameError with a hint otherwise."""
    if value not in choices:
        raise UnknownNameError(
            f"unknown {what} {value!r}; {did_you_mean(str(value), choices)} "
            f"(choices: {', '.join(choices)})"
        )
    return value


def as_hwc(img, what: str = "image") -> np.ndarray:
    """View an image as ``(H, W, C)`` (2-D -> one channel); raise DataError on other shapes."""
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(
            f"{what} must be an image array of shape (H, W) or (H, W, C), got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DataError(f"{what} has dtype {arr.dtype}; expected uint8 (or float on 0..255)")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        # NaN/inf pixels would give a NaN score that reads like a number
        raise DataError(f"{what} holds NaN or inf values; only finite pixels can be scored")
    return arr


def _raw_view(img: np.ndarray, crop: int, gray: str) -> np.ndarray:
    """Apply the gray policy (as a broadcast view) and the border crop; no copy, no conversion."""
    if img.shape[2] == 1 and gray == "rgb3":
        img = np.broadcast_to(img, img.shape[:2] + (3,))
    if crop:
        h, w = img.shape[:2]
        if crop < 0 or 2 * crop >= h or 2 * crop >= w:
            raise DataError(
                f"cannot crop {crop} pixels from every border of a {h}x{w} image; "
                "use a smaller crop (the protocol's crop is usually the scale)"
            )
        img = img[crop : h - crop, crop : w - crop]
    return img


def _convert(raw: np.ndarray, channel: str) -> np.ndarray:
    """Float64 ``(h, w, C')`` of a (possibly cropped/broadcast) raw block for ``channel``."""
    if raw.shape[2] == 1:  # a one-channel image under the 'gray' policy: scored directly
        return raw.astype(np.float64)
    if channel == "rgb":
        return raw.astype(np.float64)
    if raw.shape[2] != 3:
        raise DataError(
            f"channel {channel!r} needs RGB images (3 channels), got {raw.shape[2]} channels; "
            "use channel='rgb' to score every channel as it is"
        )
    if channel == "y":
        return rgb_to_y(raw)[:, :, None]
    return rgb_to_gray_matlab(raw).astype(np.float64)[:, :, None]  # 'gray'


def _check_protocol(channel: str, crop: int, gray: str) -> None:
    check_choice(channel, CHANNELS, "channel")
    check_choice(gray, GRAY_POLICIES, "gray policy")
    if isinstance(crop, bool) or not isinstance(crop, (int, np.integer)) or crop < 0:
        raise DataError(f"crop must be a non-negative integer, got {crop!r}")


def prepare(img, *, channel: str = "y", crop: int = 0, gray: str = "rgb3") -> np.ndarray:
    """One image as the protocol scores it: float64 ``(H', W', C')`` on the 0..255 scale.

    ``channel='y'`` or ``'gray'`` -> C' = 1; ``'rgb'`` -> C' = C. A one-channel image under
    ``gray='gray'`` is its own gray channel (C' = 1) whatever ``channel`` is; under ``'rgb3'``
    it is replicated to RGB first. ``crop`` pixels are removed from every border.
    """
    _check_protocol(channel, crop, gray)
    return _convert(_raw_view(as_hwc(img), int(crop), gray), channel)


def prepare_pair(
    sr, hr, *, channel: str = "y", crop: int = 0, gray: str = "rgb3"
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Validate a pair and return ``(sr_raw, hr_raw, convert)``.

    ``sr_raw``/``hr_raw`` are cropped views of the inputs (gray policy applied, same shape);
    ``convert(block)`` turns any band of their rows into the float64 channels that are scored.
    Work in bands of rows keeps memory bounded on large images.
    """
    _check_protocol(channel, crop, gray)
    sr = as_hwc(sr, "SR image")
    hr = as_hwc(hr, "HR image")
    if sr.shape[:2] != hr.shape[:2]:
        raise DataError(
            f"SR and HR sizes differ: SR {sr.shape} vs HR {hr.shape} (H, W, C); the model "
            "output must have the HR size (mod-crop HR to a multiple of the scale)"
        )
    if sr.shape[2] != hr.shape[2]:
        pair = {sr.shape[2], hr.shape[2]}
        if pair != {1, 3}:
            raise DataError(f"SR and HR channels differ: SR {sr.shape} vs HR {hr.shape} (H, W, C)")
        if gray == "gray":
            sr, hr = _collapse_identical(sr, "SR"), _collapse_identical(hr, "HR")
    sr_raw = _raw_view(sr, int(crop), gray)
    hr_raw = _raw_view(hr, int(crop), gray)
    return sr_raw, hr_raw, lambda block: _convert(block, channel)


def _collapse_identical(img: np.ndarray, what: str) -> np.ndarray:
    """Under gray='gray' against a one-channel partner: three identical channels -> one."""
    if img.shape[2] == 1:
        return img
    if np.array_equal(img[:, :, 0], img[:, :, 1]) and np.array_equal(img[:, :, 0], img[:, :, 2]):
        return img[:, :, :1]
    raise DataError(
        f"{what} has three different channels but its partner is a one-channel (gray) image; "
        "the gray='gray' policy scores gray channels only: use gray='rgb3' (BasicSR way)"
    )


def _band_rows(width: int, channels: int, margin: int = 0) -> int:
    return max(_MIN_BAND_ROWS, _BAND_ELEMENTS // max(1, width * channels) - margin)


# ---------------------------------------------------------------------------------------------
# PSNR


def row_squared_errors(sr_raw: np.ndarray, hr_raw: np.ndarray, convert) -> tuple[np.ndarray, int]:
    """Per-row sum of squared errors over columns and channels, and the number of channels."""
    h, w = sr_raw.shape[:2]
    out = np.empty(h, dtype=np.float64)
    step = _band_rows(w, sr_raw.shape[2])
    nch = 0
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        d = convert(sr_raw[r0:r1]) - convert(hr_raw[r0:r1])
        nch = d.shape[2]
        out[r0:r1] = np.einsum("ijk,ijk->i", d, d)
    return out, nch


def psnr_from_mse(mse: float) -> float:
    """``10 log10(255^2 / mse)``; +inf for mse == 0 (no eps: an eps shifts high PSNRs)."""
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(PEAK * PEAK / mse))


def psnr(sr, hr, *, channel: str = "y", crop: int = 0, gray: str = "rgb3") -> float:
    """PSNR in dB with peak 255 over all scored channels; +inf for identical images."""
    sr_raw, hr_raw, convert = prepare_pair(sr, hr, channel=channel, crop=crop, gray=gray)
    sse, nch = row_squared_errors(sr_raw, hr_raw, convert)
    return psnr_from_mse(float(sse.sum()) / (sse.size * sr_raw.shape[1] * nch))


# ---------------------------------------------------------------------------------------------
# SSIM


def _ssim_map_chw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MATLAB ``ssim_index`` map of float64 ``(h, w, C)`` blocks, as ``(C, h - 10, w - 10)``.

    The five moments of every channel are stacked channel-first, so that both separable
    passes (11-tap Gaussian, sigma 1.5) run along contiguous or row-strided axes in one call
    each; only the valid region is kept.
    """
    h, w, c = x.shape
    m = SSIM_MARGIN
    stack = np.empty((5, c, h, w), dtype=np.float64)
    xt, yt = x.transpose(2, 0, 1), y.transpose(2, 0, 1)
    stack[0] = xt
    stack[1] = yt
    np.multiply(xt, xt, out=stack[2])
    np.multiply(yt, yt, out=stack[3])
    np.multiply(xt, yt, out=stack[4])
    f = correlate1d(stack.reshape(5 * c, h, w), _KERNEL, axis=1, mode="constant")[:, m : h - m]
    f = correlate1d(f, _KERNEL, axis=2, mode="constant")[:, :, m : w - m]
    mu1, mu2, e11, e22, e12 = f.reshape(5, c, h - 2 * m, w - 2 * m)
    mu12 = mu1 * mu2
    mu1 *= mu1  # mu1^2 from here on
    mu2 *= mu2  # mu2^2
    e11 -= mu1  # sigma1^2
    e22 -= mu2  # sigma2^2
    e12 -= mu12  # sigma12
    num = (2.0 * mu12 + SSIM_C1) * (2.0 * e12 + SSIM_C2)
    den = (mu1 + mu2 + SSIM_C1) * (e11 + e22 + SSIM_C2)
    return np.divide(num, den, out=num)


def ssim_row_sums(sr_raw: np.ndarray, hr_raw: np.ndarray, convert) -> np.ndarray:
    """Row sums of the MATLAB SSIM map, ``(H - 10, C')``; each row sums ``W - 10`` values."""
    h, w = sr_raw.shape[:2]
    if h < SSIM_WIN or w < SSIM_WIN:
        raise DataError(
            f"image of {h}x{w} pixels (after cropping) is smaller than the 11x11 SSIM window"
        )
    hm = h - 2 * SSIM_MARGIN
    step = _band_rows(w, sr_raw.shape[2], 2 * SSIM_MARGIN)
    out = None
    for r0 in range(0, hm, step):
        r1 = min(hm, r0 + step)
        rows = slice(r0, r1 + 2 * SSIM_MARGIN)
        band = _ssim_map_chw(convert(sr_raw[rows]), convert(hr_raw[rows]))  # (C, rows, w')
        if out is None:
            out = np.empty((hm, band.shape[0]), dtype=np.float64)
        out[r0:r1] = band.sum(axis=2).T
    return out


def _ssim_skimage(x: np.ndarray, y: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    if min(x.shape[:2]) < 7:
        raise DataError(f"image of {x.shape[0]}x{x.shape[1]} pixels is smaller than 7x7")
    return float(structural_similarity(x, y, channel_axis=2, data_range=PEAK))


def ssim(
    sr,
    hr,
    *,
    channel: str = "y",
    crop: int = 0,
    gray: str = "rgb3",
    kind: str = "matlab",
) -> float:
    """SSIM averaged over the scored channels; ``kind`` 'matlab' (default) or 'skimage'."""
    check_choice(kind, SSIM_KINDS, "SSIM kind")
    sr_raw, hr_raw, convert = prepare_pair(sr, hr, channel=channel, crop=crop, gray=gray)
    if kind == "skimage":
        return _ssim_skimage(convert(sr_raw), convert(hr_raw))
    sums = ssim_row_sums(sr_raw, hr_raw, convert)
    per_channel = sums.sum(axis=0) / (sums.shape[0] * (sr_raw.shape[1] - 2 * SSIM_MARGIN))
    return float(per_channel.mean())
