"""WS-PSNR and WS-SSIM for equirectangular (360°) images, as OSRT and CAMixerSR compute them.

Both weight the rows of an equirectangular image by the area they cover on the sphere. The
shared OSRT/CAMixerSR code (``calculate_psnr_ws`` / ``calculate_ssim_ws``) does:

- WS-PSNR: ``w_i = cos((i + 0.5 - H/2) * pi / H)`` for row ``i`` (0-based) of the image after
  cropping; ``WMSE = mean(w * err^2) / mean(w)`` over all pixels and channels; peak 255;
  +inf when WMSE is 0.
- WS-SSIM: per channel, the MATLAB-style SSIM map (Gaussian 11x11, sigma 1.5, valid region:
  ``H - 10`` rows) is weighted by the same formula **evaluated on the map's own height**,
  ``N = H - 10``: ``w_i = cos((i + 0.5 - N/2) * pi / N)``, i = 0..N-1 (the official code builds
  its weight map from ``ssim_map.shape[0]``); ``mean(map * w) / mean(w)``, then the mean over
  channels. (Weighting the map by rows 5..H-6 of the image's ``H``-row weights instead moves
  the erp oracle's Y value by 4.7e-6, against 2e-7 for the official form.)

The official code has no Y variant for WS-SSIM and feeds BGR images from ``cv2.imread``; the
channel order does not change either metric. ``channel``/``crop``/``gray`` mean what they mean
in :mod:`repro.metrics.fidelity` (defaults: RGB, crop 0, as the 360° tables use).
"""

from __future__ import annotations

import numpy as np

from repro.metrics.fidelity import (
    SSIM_MARGIN,
    prepare_pair,
    psnr_from_mse,
    row_squared_errors,
    ssim_row_sums,
)


def erp_row_weights(height: int) -> np.ndarray:
    """``cos((i + 0.5 - H/2) * pi / H)`` for i = 0..H-1 (equirectangular row areas)."""
    i = np.arange(height, dtype=np.float64)
    return np.cos((i - height / 2.0 + 0.5) * np.pi / height)


def ws_psnr(sr, hr, *, channel: str = "rgb", crop: int = 0, gray: str = "rgb3") -> float:
    """Weighted-to-spherically-uniform PSNR (dB, peak 255)."""
    sr_raw, hr_raw, convert = prepare_pair(sr, hr, channel=channel, crop=crop, gray=gray)
    sse, nch = row_squared_errors(sr_raw, hr_raw, convert)  # per row, over W and channels
    w = erp_row_weights(sse.size)
    # mean(w * err^2) / mean(w) over (H, W, C) == sum_i(w_i * sse_i) / (W * C * sum_i w_i)
    wmse = float(np.dot(w, sse)) / (float(w.sum()) * sr_raw.shape[1] * nch)
    return psnr_from_mse(wmse)


def ws_ssim(sr, hr, *, channel: str = "rgb", crop: int = 0, gray: str = "rgb3") -> float:
    """Weighted-to-spherically-uniform SSIM (MATLAB-style SSIM map, rows weighted)."""
    sr_raw, hr_raw, convert = prepare_pair(sr, hr, channel=channel, crop=crop, gray=gray)
    sums = ssim_row_sums(sr_raw, hr_raw, convert)  # (H - 10, C)
    w = erp_row_weights(sums.shape[0])
    width = sr_raw.shape[1] - 2 * SSIM_MARGIN
    per_channel = (w @ sums) / (float(w.sum()) * width)
    return float(per_channel.mean())
