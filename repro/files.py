"""Atomic file writes with the user's permissions.

Every file the suite publishes is written to a temporary file in the target folder and renamed
into place, so an interrupted run never leaves half a file. ``tempfile.mkstemp`` creates files
with mode 0600; :func:`publish` gives them the mode a plain ``open()`` would (0666 less the
umask, 0644 by default) before the rename.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set, then restore at once
    os.umask(mask)
    return mask


def default_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def staged(path: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".tmp-{path.stem[:40]}-"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: os.PathLike | str, data: bytes) -> None:
    with staged(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: os.PathLike | str, text: str) -> None:
    """Write text atomically so an interrupted run never leaves a partial file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: os.PathLike | str, write: Callable[[Path], None]) -> None:
    """Let ``write(tmp_path)`` produce the file (e.g. matplotlib's savefig), then publish it."""
    with staged(path) as tmp:
        write(tmp)
