"""Colour conversions exactly as the papers' evaluation code does them.

- :func:`rgb_to_y`: the luma of BT.601 YCbCr as MATLAB ``rgb2ycbcr`` computes it on ``im2double``
  input (and as BasicSR's ``to_y_channel`` does), expressed back on a 0..255 scale, float, NOT
  rounded. (MATLAB ``rgb2ycbcr`` on uint8 rounds Y, which costs about 0.03 dB; the papers' code
  uses the float Y.)
- :func:`rgb_to_gray_matlab`: MATLAB ``rgb2gray`` on uint8 input (rounded to uint8), the
  convention of the TID2013 SSIM oracle.
"""

from __future__ import annotations

import numpy as np

from repro.errors import DataError

# MATLAB rgb2ycbcr, Y row of the [0, 1] -> [16, 235] matrix (ITU-R BT.601).
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0

# MATLAB rgb2gray: the first row of inv(NTSC -> RGB), as rgb2gray.m writes it.
_GRAY_WEIGHTS = np.array(
    [0.298936021293775, 0.587043074451121, 0.114020904255103], dtype=np.float64
)


def _check_rgb(img: np.ndarray, what: str) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise DataError(
            f"{what} needs an RGB image of shape (H, W, 3), got shape {img.shape}; "
            "convert gray images with repro.imageio.to_rgb3 first"
        )
    return img


def _weighted_sum(img: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Per-channel products summed in R, G, B order: same values as np.dot, ~6x faster on the
    # (often cropped, non-contiguous) HxWx3 views it gets.
    out = img[..., 0] * w[0]
    out += img[..., 1] * w[1]
    out += img[..., 2] * w[2]
    return out


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image on the 0..255 scale, float64, shape ``(H, W)``.

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B in 0..255, i.e. MATLAB
    ``rgb2ycbcr(im2double(img))(:, :, 1) * 255``. Accepts uint8 or float input on 0..255.
    """
    img = _check_rgb(img, "rgb_to_y")
    return _weighted_sum(img, _Y_WEIGHTS / 255.0) + _Y_OFFSET


def rgb_to_gray_matlab(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray``: uint8 in, uint8 ``(H, W)`` out (weighted sum, rounded half up).

    Float input (0..255) is converted the way MATLAB converts double input: the weighted sum,
    not rounded, float64.
    """
    img = _check_rgb(img, "rgb_to_gray_matlab")
    gray = _weighted_sum(img, _GRAY_WEIGHTS)
    if img.dtype != np.uint8:
        return gray
    # MATLAB rounds half away from zero; values are non-negative, so floor(x + 0.5).
    return np.clip(np.floor(gray + 0.5), 0, 255).astype(np.uint8)
