"""sha256 of files, read in blocks (datasets, weights and metric models share it)."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: os.PathLike | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
