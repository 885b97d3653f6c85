"""Tiled inference for large images, merged as the official CAMixerSR large-image test.

The official ``TileModel.tile_test`` (icandle/CAMixerSR, ``codes/basicsr/models/Tile_model.py``,
option ``tile: 64``) cuts the LR image into square tiles of ``t = min(tile, H, W)`` pixels with
``t // 16`` pixels of overlap (4 for 64), at the offsets ``range(0, H - t, t - overlap)`` plus a
last tile flush with the border (the same along W), runs the model on each tile and averages the
overlapping outputs. :func:`tiled_forward` does the same, tile by tile in the same order, so the
merged image is identical; it keeps only the output accumulator (the per-pixel tile count is the
product of a row count and a column count, no second full-size tensor), so memory is the output
plus what one tile needs.

A tile (or an image) below the smallest input a model accepts (:func:`min_input_size`, declared
by its family) is refused with one line saying the minimum, never raised silently: the tile
size is part of the protocol a result records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn as nn

from repro.errors import ReproError


def min_input_size(model: object) -> int:
    """The smallest LR height/width ``model`` accepts: its family's ``min_input_size`` (a model
    that reflect-pads to a multiple of its window needs more than half a window), else 1."""
    return int(getattr(model, "min_input_size", 1))


_WHY = "its windows are padded by reflection, which needs more than half a window"


def check_tile(model: object, tile: int, name: str = "the model") -> None:
    """Refuse a tile side below ``model``'s smallest input (before any image is read)."""
    need = min_input_size(model)
    if tile < need:
        raise ReproError(
            f"tile {tile} is smaller than the smallest input {name} accepts, {need}x{need} LR "
            f"pixels ({_WHY}); use a tile of at least {need} (the official large-image test "
            "uses 64)"
        )


def check_image(model: object, h: int, w: int, name: str = "the model") -> None:
    """Refuse an LR image smaller than ``model``'s smallest input (tiled or not)."""
    need = min_input_size(model)
    if min(h, w) < need:
        raise ReproError(
            f"an LR image of {h}x{w} pixels is smaller than the smallest input {name} accepts, "
            f"{need}x{need} ({_WHY}); leave that image out, or pad it first"
        )


def tile_offsets(size: int, tile: int, overlap: int) -> list[int]:
    """Tile start offsets along one axis (the official list: a regular grid plus a last tile)."""
    stride = tile - overlap
    if stride <= 0:
        raise ReproError(f"tile overlap {overlap} must be smaller than the tile ({tile})")
    return list(range(0, size - tile, stride)) + [size - tile]


def _counts(size: int, tile: int, offsets: list[int], scale: int, device) -> torch.Tensor:
    c = torch.zeros(size * scale, device=device)
    for o in offsets:
        c[o * scale : (o + tile) * scale] += 1
    return c


@torch.no_grad()
def tiled_forward(
    model: nn.Module | Callable,
    x: torch.Tensor,
    scale: int | None = None,
    tile: int = 64,
    overlap: int | None = None,
    condition: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Super-resolve ``x`` (B x C x H x W) tile by tile; returns B x C' x sH x sW.

    ``overlap`` defaults to ``t // 16`` of the effective tile ``t = min(tile, H, W)`` (4 pixels
    for 64, as the official test). ``condition`` (e.g. CAMixerOSR's latitude map, B x 1 x H x W)
    is cut with the image and passed as the model's second argument. A model with an
    ``rng_session`` (CAMixerSR in official mode) draws from one random stream over all tiles, as
    the official test does after seeding once.
    """
    if x.dim() != 4:
        raise ReproError(f"tiled_forward expects B x C x H x W, got shape {tuple(x.shape)}")
    scale = int(scale if scale is not None else model.scale)
    b, _, h, w = x.shape
    check_tile(model, tile)
    check_image(model, h, w)
    t = min(tile, h, w)
    ov = t // 16 if overlap is None else overlap
    hs, wsz = tile_offsets(h, t, ov), tile_offsets(w, t, ov)
    session = getattr(model, "rng_session", None)
    out = None
    with session() if session is not None else contextlib.nullcontext():
        for i in hs:
            for j in wsz:
                patch = x[..., i : i + t, j : j + t]
                if condition is None:
                    y = model(patch)
                else:
                    y = model(patch, condition[..., i : i + t, j : j + t])
                if out is None:
                    out = torch.zeros(
                        (b, y.shape[1], h * scale, w * scale),
                        dtype=out_dtype or y.dtype,
                        device=y.device,
                    )
                out[..., i * scale : (i + t) * scale, j * scale : (j + t) * scale].add_(y)
    ch = _counts(h, t, hs, scale, out.device).to(out.dtype)
    cw = _counts(w, t, wsz, scale, out.device).to(out.dtype)
    step = max(1, (1 << 20) // max(1, cw.numel()))  # ~4 MiB of weights at a time
    for r in range(0, ch.numel(), step):  # divide by the tile count, as E / W officially
        out[..., r : r + step, :].div_(ch[r : r + step, None] * cw[None, :])
    return out
