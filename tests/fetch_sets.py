"""Small dataset archives for the fetch tests, and what the tests check them with.

The archives hold small random PNGs in Test2K's layout (HR/X4, LR/X4); their sha256 are computed
here, independently of the code under test.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from repro.paths import cache_dir


def png(h: int, w: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def set_files(n: int = 3, seed: int = 0, side: int = 32) -> dict[str, bytes]:
    """Test2K's layout (HR/X4, LR/X4): ``n`` pairs of random images, by path in the set."""
    out = {}
    for i in range(n):
        out[f"HR/X4/{i:04d}.png"] = png(side, side, seed + i)
        out[f"LR/X4/{i:04d}.png"] = png(side // 4, side // 4, seed + 100 + i)
    return out


def zip_of(files: dict[str, bytes], prefix: str = "Test2K/", **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", **kw) as z:
        for rel, data in files.items():
            z.writestr(prefix + rel, data)
    return buf.getvalue()


def tar_of(files: dict[str, bytes], prefix: str = "Test2K/", extra=()) -> bytes:
    """An uncompressed tar (as EDSR's benchmark.tar), with ``extra`` TarInfo members last."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for rel, data in files.items():
            info = tarfile.TarInfo(prefix + rel)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for info in extra:
            t.addfile(info)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_card(card_dir, url: str, *, images: int = 3, **archive):
    return card_dir(
        "Test2K",
        source={"hub": None, "archive": {"url": url, **archive}, "note": "a test server"},
        images=images,
    )


def left_behind() -> list[str]:
    """Every file under the cache (downloads, partials, staging, fetched sets, locks)."""
    root = cache_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text
