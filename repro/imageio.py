"""Reading and writing images the way the papers' code does, with clear errors.

Images are numpy ``uint8`` arrays of shape ``(H, W, C)`` with ``C`` = 3 (RGB) or 1 (gray).

Policy (documented in the README):
- grayscale files stay one channel; a protocol decides how they are scored (``gray``: the gray
  channel itself, as MATLAB-era code does; ``rgb3``: three identical channels, as BasicSR reads
  them). Models always receive three channels (:func:`to_rgb3`).
- RGBA and LA: the alpha channel is dropped (OpenCV ``IMREAD_COLOR`` does the same).
- 16-bit images: converted to 8 bits as MATLAB ``im2uint8`` does, ``round(v / 257)``.
- Palette images are expanded to RGB.
- Anything else (float samples, 32-bit integers beyond 16 bits, negative samples) is refused:
  casting it to uint8 would silently make up pixel values.
- Headers claiming more than :data:`MAX_PIXELS` pixels are refused before any pixel is decoded
  (a corrupt file or a decompression bomb).
"""

from __future__ import annotations

import os
import re
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from repro.errors import DataError
from repro.files import atomic_write_with

IMAGE_SUFFIXES = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm"}

#: Largest image read, in pixels: 16K x 8K, above every benchmark image (8K sets: 33 Mpx); a
#: header claiming more is corrupt or a decompression bomb. Tests may lower it (monkeypatch).
MAX_PIXELS = 16384 * 8192

# errors Pillow's decoders raise on corrupt or hostile files
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    MemoryError,
)


def is_image_file(path: os.PathLike | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: os.PathLike | str) -> np.ndarray:
    """Read an image file as ``uint8`` ``(H, W, C)``, C in {1, 3}; raise DataError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image not found: {path}; check the dataset folder or re-fetch it")
    try:
        with Image.open(path) as im:
            _check_size(path, *im.size)
            low_tiles = _low_byte_tiles(im)  # before load(): decoding consumes the tiles
            im.load()
            if low_tiles is not None:
                return _read_16bit(path, im, low_tiles)
            return _to_uint8(path, im)
    except Image.DecompressionBombError as exc:  # Pillow's own, larger limit, hit in open()
        found = re.search(r"\((\d+) pixels\)", str(exc))
        claimed = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise DataError(_too_large(path, claimed)) from None
    except _DECODE_ERRORS as exc:
        raise DataError(
            f"cannot decode image {path} ({type(exc).__name__}: {exc}); the file is corrupt or "
            "not an image: replace it or remove it from the dataset folder"
        ) from None


def _check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise DataError(_too_large(path, f"{width}x{height} = {width * height:,} pixels"))


def _too_large(path: Path, claimed: str) -> str:
    return (
        f"image {path} claims {claimed}, over the limit of {MAX_PIXELS:,} (repro.imageio."
        "MAX_PIXELS); the header is corrupt or the file is a decompression bomb: replace the file"
    )


def _refuse_depth(path: Path, what: str) -> DataError:
    return DataError(
        f"image {path} holds {what}; only 8- and 16-bit integer images are read (a cast to "
        "uint8 would make up pixel values): convert it to an 8- or 16-bit PNG"
    )


def _to_uint8(path: Path, im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "F":
        raise _refuse_depth(path, "32-bit float samples (a float TIFF)")
    if mode.startswith("I;16"):
        return _round_16bit(np.asarray(im))[:, :, None]
    if mode == "I":  # 32-bit integers: 16-bit files in older Pillow, or genuine 32-bit data
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise _refuse_depth(
                path, f"integer samples in {a.min()}..{a.max()}, outside 16 bits (0..65535)"
            )
        return _round_16bit(a)[:, :, None]
    if mode == "1":
        return (np.asarray(im, dtype=np.uint8) * 255)[:, :, None]
    if mode == "L":
        return np.array(im, dtype=np.uint8)[:, :, None]
    if mode == "LA":
        return np.asarray(im.getchannel("L"), dtype=np.uint8)[:, :, None]
    if mode != "RGB":
        im = im.convert("RGB")  # RGBA drops alpha; P, CMYK, YCbCr expand to RGB
    arr = np.array(im)
    if arr.dtype != np.uint8:
        raise _refuse_depth(path, f"{arr.dtype} samples in mode {mode}")
    return np.ascontiguousarray(arr)


def _round_16bit(a: np.ndarray) -> np.ndarray:
    """MATLAB ``im2uint8`` of 16-bit samples: ``round(v / 257)``."""
    return np.clip(np.round(a.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


# Pillow decodes 16-bit RGB, RGBA and gray+alpha files to 8 bits by keeping the high byte
# (v >> 8), not the policy's round(v / 257), and gives gray+alpha three channels. Decoding the
# file a second time with the opposite byte order yields the low bytes; the two make v.
_WIDE_RAWMODE = re.compile(r"^(RGB|RGBA|LA);16([BLN])$")
_OTHER_ORDER = {"B": "L", "L": "B", "N": "B" if sys.byteorder == "little" else "L"}


def _low_byte_tiles(im: Image.Image) -> list | None:
    """Tiles decoding the low bytes of a 16-bit RGB/RGBA/LA file; None for any other file."""
    tiles = []
    for tile in getattr(im, "tile", None) or ():
        args = tile[3] if isinstance(tile[3], tuple) else (tile[3],)
        match = _WIDE_RAWMODE.match(args[0]) if args and isinstance(args[0], str) else None
        if match is None:
            return None
        if match.group(1) == "LA":
            if match.group(2) != "B":  # only PNG stores LA16 here (big-endian)
                return None
            raw = "RGBA"  # the four bytes of a pixel as they are: L high, L low, A high, A low
        else:
            raw = f"{match.group(1)};16{_OTHER_ORDER[match.group(2)]}"
        new_args = (raw, *args[1:]) if isinstance(tile[3], tuple) else raw
        # Pillow 11+ tiles are named tuples (codec, extents, offset, args); older ones plain
        tiles.append(
            tile._replace(args=new_args) if hasattr(tile, "_replace") else (*tile[:3], new_args)
        )
    return tiles or None


def _read_16bit(path: Path, high: Image.Image, low_tiles: list) -> np.ndarray:
    with Image.open(path) as im:
        im.tile = low_tiles
        im.load()
        low = np.asarray(im).astype(np.uint16)
    if low_tiles[0][3] == "RGBA":  # gray + alpha: bytes 0 and 1 are the gray sample
        return _round_16bit((low[:, :, 0] << 8) | low[:, :, 1])[:, :, None]
    hi = np.asarray(high).astype(np.uint16)[:, :, :3]
    return np.ascontiguousarray(_round_16bit((hi << 8) | low[:, :, :3]))


def to_rgb3(img: np.ndarray) -> np.ndarray:
    """Three-channel view of an image (gray replicated), as models expect."""
    if img.ndim == 2:
        img = img[:, :, None]
    return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img


def write_image(path: os.PathLike | str, img: np.ndarray) -> None:
    """Write a uint8 image atomically (temporary file in the same folder, then rename)."""
    arr = img[:, :, 0] if img.ndim == 3 and img.shape[2] == 1 else img
    atomic_write_with(path, lambda tmp: Image.fromarray(arr).save(tmp))
