"""sha256 of files, read in blocks (datasets, weights and metric models share it)."""

from __future__ import annotations

import hashlib
import os
import time

# A file modified this recently may still change within the same timestamp tick (file systems
# stamp with a coarse clock), so its digest is never reused: the "racy" rule of git's index.
_RACY_SECONDS = 2.0
_digests: dict[tuple, str] = {}


def sha256_file(path: os.PathLike | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_cached(path: os.PathLike | str) -> str:
    """:func:`sha256_file`, computed once per process for an unchanged file.

    A digest is reused only while the file's device, inode, size and mtime (ns) are those it
    had when it was hashed, and only when it had not been modified in the last seconds before.
    """
    st = os.stat(path)
    key = (os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    digest = _digests.get(key)
    if digest is None:
        digest = sha256_file(path)
        if time.time() - st.st_mtime_ns / 1e9 > _RACY_SECONDS:
            _digests[key] = digest
    return digest
