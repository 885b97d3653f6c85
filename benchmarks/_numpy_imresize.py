"""Plain numpy MATLAB bicubic imresize, structured like BasicSR's ``imresize``.

The timing baseline for ``bench_imresize.py``: the same math as ``repro.data.imresize`` (MATLAB
``contributions``: cubic a = -0.5, antialiased when shrinking, mirrored indices), applied the way
BasicSR's numpy/torch ``imresize`` does it: H pass then W pass, a Python loop over the output
rows/columns, each a weighted sum of the few input rows/columns under the kernel.
"""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (
        -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    ) * ((ax > 1) & (ax <= 2))


def contributions(in_len: int, out_len: int, scale: float, antialiasing: bool = True):
    """Weights (out, taps) and 0-based mirrored indices (out, taps)."""
    aa = scale < 1 and antialiasing
    width = 4.0 / scale if aa else 4.0
    u = np.arange(1, out_len + 1) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    idx = left[:, None] + np.arange(math.ceil(width) + 2)[None, :]
    w = scale * _cubic((u[:, None] - idx) * scale) if aa else _cubic(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    m = np.mod(idx.astype(np.int64) - 1, 2 * in_len)
    idx = np.where(m < in_len, m, 2 * in_len - 1 - m)
    return w, idx


def imresize_np(img: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
    """(H, W, C) float array -> (ceil(H*scale), ceil(W*scale), C) float64, no rounding."""
    h, w = img.shape[:2]
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    wh, ih = contributions(h, oh, scale, antialiasing)
    ww, iw = contributions(w, ow, scale, antialiasing)
    img = img.astype(np.float64)
    out1 = np.empty((oh, w) + img.shape[2:], dtype=np.float64)
    for i in range(oh):
        out1[i] = np.tensordot(wh[i], img[ih[i]], axes=(0, 0))
    out2 = np.empty((oh, ow) + img.shape[2:], dtype=np.float64)
    for j in range(ow):
        out2[:, j] = np.tensordot(ww[j], out1[:, iw[j]], axes=(0, 1))
    return out2
