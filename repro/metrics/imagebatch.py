"""uint8 image batches for the network metrics (LPIPS, DISTS): one checked shape, gray -> RGB."""

from __future__ import annotations

import numpy as np
import torch

from repro.errors import DataError


def as_uint8_batch(images, what: str, metric: str) -> np.ndarray:
    """uint8 (N, H, W, 3) from one image, a list of same-size images or an (N, H, W, C) array.

    Gray images (C = 1) are replicated to three channels, as the original metric code does.
    """
    if isinstance(images, np.ndarray) and images.ndim == 4:
        arr = images
    elif isinstance(images, np.ndarray):
        arr = images[None]
    else:
        items = list(images)
        if not items:
            raise DataError(f"{metric} got no {what} images")
        shapes = {np.asarray(a).shape for a in items}
        if len(shapes) != 1:
            raise DataError(
                f"{metric} batches need images of one size, {what} has {sorted(shapes)}; "
                "score them one by one instead"
            )
        arr = np.stack([np.asarray(a) for a in items])
    if arr.dtype != np.uint8:
        raise DataError(f"{metric} expects uint8 {what} images, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise DataError(f"{metric} expects (H, W, 1|3) {what} images, got shape {arr.shape[1:]}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def pair_batches(sr, hr, crop: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The SR and HR batches, of one shape, with ``crop`` border pixels removed."""
    a, b = as_uint8_batch(sr, "SR", metric), as_uint8_batch(hr, "HR", metric)
    if a.shape != b.shape:
        raise DataError(
            f"{metric} needs SR and HR of the same shape, got {a.shape[1:]} and {b.shape[1:]}"
        )
    crop = int(crop or 0)
    if crop < 0 or 2 * crop >= min(a.shape[1:3]):
        raise DataError(f"{metric} crop {crop} does not fit an image of size {a.shape[1:3]}")
    if crop:
        a, b = a[:, crop:-crop, crop:-crop], b[:, crop:-crop, crop:-crop]
    return a, b


def default_device(device: str | torch.device | None) -> str:
    """``device`` as a string; None: CUDA when available, else the CPU."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)
