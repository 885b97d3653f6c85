"""Reading and writing images the way the papers' code does, with clear errors.

Images are numpy ``uint8`` arrays of shape ``(H, W, C)`` with ``C`` = 3 (RGB) or 1 (gray).

Policy (documented in the README):
- grayscale files stay one channel; a protocol decides how they are scored (``gray``: the gray
  channel itself, as MATLAB-era code does; ``rgb3``: three identical channels, as BasicSR reads
  them). Models always receive three channels (:func:`to_rgb3`).
- RGBA and LA: the alpha channel is dropped (OpenCV ``IMREAD_COLOR`` does the same).
- 16-bit images: converted to 8 bits as MATLAB ``im2uint8`` does, ``round(v / 257)``.
- Palette images are expanded to RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from repro.errors import DataError
from repro.files import atomic_write_with

IMAGE_SUFFIXES = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm"}


def is_image_file(path: os.PathLike | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: os.PathLike | str) -> np.ndarray:
    """Read an image file as ``uint8`` ``(H, W, C)``, C in {1, 3}; raise DataError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image not found: {path}; check the dataset folder or re-fetch it")
    try:
        with Image.open(path) as im:
            im.load()
            arr = _to_uint8(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"cannot decode image {path} ({exc}); the file is corrupt or not an image: "
            "replace it or remove it from the dataset folder"
        ) from None
    return arr


def _to_uint8(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im).astype(np.float64)
        a = np.clip(np.round(a / 257.0), 0, 255).astype(np.uint8)
        return a[:, :, None]
    if mode == "1":
        return (np.asarray(im, dtype=np.uint8) * 255)[:, :, None]
    if mode == "L":
        return np.array(im, dtype=np.uint8)[:, :, None]
    if mode == "LA":
        return np.asarray(im.getchannel("L"), dtype=np.uint8)[:, :, None]
    if mode != "RGB":
        im = im.convert("RGB")  # RGBA drops alpha; P, CMYK, YCbCr expand to RGB
    arr = np.array(im)
    if arr.dtype != np.uint8:  # 16-bit RGB arrays from some TIFFs
        arr = np.clip(np.round(arr.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def to_rgb3(img: np.ndarray) -> np.ndarray:
    """Three-channel view of an image (gray replicated), as models expect."""
    if img.ndim == 2:
        img = img[:, :, None]
    return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img


def write_image(path: os.PathLike | str, img: np.ndarray) -> None:
    """Write a uint8 image atomically (temporary file in the same folder, then rename)."""
    arr = img[:, :, 0] if img.ndim == 3 and img.shape[2] == 1 else img
    atomic_write_with(path, lambda tmp: Image.fromarray(arr).save(tmp))
