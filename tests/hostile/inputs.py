"""Hostile and careless inputs: images, dataset copies and edited cards."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from repro.paths import REPO_ROOT
from tests.conftest import DATA

SET5 = DATA / "Set5"
SHIPPED_CARDS = REPO_ROOT / "datasets"
NON_UTF8 = os.fsdecode(b"\xff\xfe-na\xefve.png")  # a file name that is not UTF-8


def png(path: Path, w: int = 48, h: int = 48, mode: str = "RGB", seed: int = 0) -> Path:
    """A random image of w x h pixels."""
    rng = np.random.default_rng(seed)
    chans = {"RGB": 3, "L": 1}[mode]
    arr = rng.integers(0, 256, size=(h, w, chans), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr[:, :, 0] if chans == 1 else arr, mode).save(path)
    return path


def noisy_copy(src: Path, dst: Path, seed: int = 1) -> Path:
    """``src`` with a little noise: a valid image of the same size that scores finite PSNR."""
    arr = np.asarray(Image.open(src).convert("RGB")).astype(np.int16)
    arr = arr + np.random.default_rng(seed).integers(-3, 4, size=arr.shape)
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(dst)
    return dst


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A small valid PNG whose IHDR claims width x height, its CRC recomputed."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def flip_byte(path: Path, at: int, mask: int = 0xFF) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= mask
    path.write_bytes(bytes(data))


def copy_set5(root: Path) -> Path:
    """A writable copy of the shared Set5 (HR + LR); returns the data root holding Set5/."""
    shutil.copytree(SET5, root / "Set5")
    return root


def copy_cards(folder: Path, edit: Callable[[str], str] | None = None, name: str = "Set5") -> Path:
    """A copy of the shipped card ``name`` in ``folder``, its text passed through ``edit`` (which
    must change it); returns the folder (for REPRO_CARDS, with REPRO_OVERRIDE_SHIPPED=1: user
    cards add to the shipped ones, and replace one only when asked to)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIPPED_CARDS / f"{name}.yaml", folder / f"{name}.yaml")
    if edit is not None:
        path = folder / f"{name}.yaml"
        old = path.read_text(encoding="utf-8")
        new = edit(old)
        assert new != old, f"the edit of {name}.yaml changed nothing"
        path.write_text(new, encoding="utf-8")
    return folder


def replace1(old: str, new: str) -> Callable[[str], str]:
    """An edit replacing the first ``old`` (which must be in the card) with ``new``."""

    def edit(text: str) -> str:
        assert old in text, f"{old!r} not in the card"
        return text.replace(old, new, 1)

    return edit


def without_sha(text: str) -> str:
    """A card's text without its sha256 block (so nothing stops a wrong file but the loader)."""
    return re.sub(r"^sha256:\n(?:[ \t].*\n?)*", "", text, flags=re.M)
