"""One process at a time: an exclusive lock on a file, for downloads and fetches of one thing.

The lock file is removed when the lock is released, so nothing is left behind; a waiter that
then gets the lock of the removed file notices (its inode is no longer the path's) and tries
again on the new one. ``flock`` locks die with their process: a killed run never blocks others.
Two threads of one process exclude each other too (each opens the file on its own).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


@contextlib.contextmanager
def exclusive(path: Path, waiting: str) -> Iterator[None]:
    """Hold the lock ``path`` for the block; if another holds it, say ``waiting`` and wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    said = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not said:
                    print(waiting, file=sys.stderr, flush=True)
                    said = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            break
        os.close(fd)  # the holder before removed it: lock the file now there
    try:
        yield
    finally:
        os.unlink(path)  # still ours: no one else can hold it
        os.close(fd)
