"""A checkpoint published only inside a zip archive (``WeightsEntry.member``): the one member
that matches, copied out of the archive for the time it is read.

The member is chosen by a glob of its path in the archive (``*`` spans folders), so a release
that nests it in a folder (``models_ECCV2018RCAN/RCAN_BIX4.pt``) is matched by
``*RCAN_BIX4.pt``; macOS resource forks (``__MACOSX/``) never match. No match, or more than one,
is a one-line error naming the archive and what it holds; a member larger than the limit is
refused before a byte is copied, and the copy stops at the limit whatever the header says.
"""

from __future__ import annotations

import contextlib
import fnmatch
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from repro.errors import WeightsError

MAX_MEMBER_BYTES = 4 << 30  # the largest official checkpoint is ~100 MB
_SHOWN = 5


def matching(names: list[str], pattern: str) -> list[str]:
    """The member paths ``pattern`` matches (files only, resource forks left out)."""
    return [
        n
        for n in names
        if not n.endswith("/") and not n.startswith("__MACOSX/") and fnmatch.fnmatchcase(n, pattern)
    ]


@contextlib.contextmanager
def unpacked_member(archive: Path, pattern: str, *, source: str = "") -> Iterator[Path]:
    """The member of zip ``archive`` matching ``pattern``, as a temporary file for the block."""
    where = source or str(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            found = matching(list(infos), pattern)
            if len(found) != 1:
                shown = ", ".join(sorted(infos)[:_SHOWN]) + (", ..." if len(infos) > _SHOWN else "")
                what = (
                    "no member of the archive matches"
                    if not found
                    else f"{len(found)} members ({', '.join(found)}) of the archive match"
                )
                raise WeightsError(
                    f"{where}: {what} '{pattern}' (it holds {shown}); is it the official archive?"
                )
            info = infos[found[0]]
            if info.file_size > MAX_MEMBER_BYTES:
                raise WeightsError(
                    f"{where}: {info.filename} unpacks to {info.file_size} bytes, more than the "
                    f"{MAX_MEMBER_BYTES} a checkpoint may have; is it the official archive?"
                )
            with tempfile.TemporaryDirectory(prefix="repro-member-") as tmp:
                target = Path(tmp) / Path(info.filename).name
                with zf.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(_Limited(src, MAX_MEMBER_BYTES, where), dst)
                yield target
    except zipfile.BadZipFile as exc:
        raise WeightsError(
            f"{where} is not a readable zip archive ({exc}); re-download it"
        ) from None


class _Limited:
    """A reader that refuses to give more than ``limit`` bytes (a header may lie)."""

    def __init__(self, raw, limit: int, where: str) -> None:
        self.raw, self.left, self.where = raw, limit, where

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise WeightsError(f"{self.where}: a member unpacks to more bytes than its header says")
        return data
