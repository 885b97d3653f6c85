"""Unpacking archives safely: a Hub snapshot's (``Set5_HR.tar.gz``) or a fetched official one.

Members must be plain files or folders that stay inside the target, within the bounds below;
links (even to a file of the set), special files, '..' and absolute names are refused before
anything is written. Files are written here, byte by byte counted against the bounds, not by
``extractall``. The format is read from the bytes (zip, or tar with any compression), not the
name: a Google Drive download has none.
"""

from __future__ import annotations

import lzma
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repro.data.schema import Card
from repro.data.staging import HUB_TODO, cache_target, check_member, staged_folder
from repro.errors import DataError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
#: Bounds on what the archives of one set may unpack to; generous (the largest benchmark
#: archives hold a few GB and thousands of files, images that barely compress), they stop
#: archive bombs. Bytes are counted as they are written, so no header can understate them.
#: Tests lower them.
MAX_ARCHIVE_BYTES = 64 << 30
MAX_ARCHIVE_MEMBERS = 200_000
MAX_EXPANSION = 100  # bytes written per byte of archive


@dataclass
class Budget:
    """What the archives of one set used so far: members, bytes written, bytes of archive."""

    members: int = 0
    written: int = 0
    packed: int = 0

    def member(self, card: Card, archive: Path, todo: str) -> None:
        self.members += 1
        if self.members > MAX_ARCHIVE_MEMBERS:
            raise DataError(
                f"{card.name}: the archives hold more than {MAX_ARCHIVE_MEMBERS} files (at "
                f"{archive.name}); refusing what looks like an archive bomb: {todo}"
            )

    def write(self, card: Card, archive: Path, size: int, todo: str) -> None:
        """Count ``size`` more bytes about to be written; past a bound, raise instead."""
        self.written += size
        if self.written > MAX_ARCHIVE_BYTES:
            why = f"more than {MAX_ARCHIVE_BYTES / 2**30:g} GiB"
        elif self.written > MAX_EXPANSION * self.packed:
            why = f"more than {MAX_EXPANSION} times their own {self.packed} bytes"
        else:
            return
        raise DataError(
            f"{card.name}: the archives unpack to {why} (at {archive.name}); refusing what "
            f"looks like an archive bomb: {todo}"
        )


def _refuse_link(card: Card, archive: Path, name: str, todo: str) -> None:
    raise DataError(
        f"{card.name}: {archive.name} holds {name!r}, a link or special file; dataset archives "
        f"hold plain files only: {todo}"
    )


def _copy(card: Card, archive: Path, src: IO[bytes], dest: Path, budget: Budget, todo: str):
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        while block := src.read(1 << 20):
            budget.write(card, archive, len(block), todo)
            out.write(block)


def _unpack(card: Card, archive: Path, folder: Path, budget: Budget, todo: str) -> None:
    """Check every member (names, kinds, count), then write them, counting every byte."""
    budget.packed += archive.stat().st_size
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                check_member(card, archive, info.filename, folder, todo)
                if stat.S_ISLNK(info.external_attr >> 16):
                    _refuse_link(card, archive, info.filename, todo)
                budget.member(card, archive, todo)
            for info in z.infolist():
                if info.is_dir():
                    (folder / info.filename).mkdir(parents=True, exist_ok=True)
                    continue
                with z.open(info) as src:
                    _copy(card, archive, src, folder / info.filename, budget, todo)
        return
    with tarfile.open(archive) as t:  # any compression; not a tar either: TarError below
        members = []
        for member in t:  # streamed: a bomb of members is stopped at the first past the bound
            check_member(card, archive, member.name, folder, todo)
            if not (member.isfile() or member.isdir()):
                _refuse_link(card, archive, member.name, todo)
            budget.member(card, archive, todo)
            members.append(member)
        for member in members:
            if member.isdir():
                (folder / member.name).mkdir(parents=True, exist_ok=True)
                continue
            with t.extractfile(member) as src:  # type: ignore[union-attr]  # a file: never None
                _copy(card, archive, src, folder / member.name, budget, todo)


# what corrupt archives raise: gzip streams EOFError / zlib.error, not only TarError
_ARCHIVE_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    RuntimeError,  # encrypted zip members
    NotImplementedError,  # zip compression methods Python lacks
    ValueError,
)


def unpack_archive(
    card: Card, archive: Path, folder: Path, *, budget: Budget | None = None, todo: str
) -> None:
    """Unpack one archive into ``folder`` (a fresh staging folder the caller removes on error).

    Every member is checked before anything is written; a corrupt archive is a one-line
    DataError ending with ``todo`` (what the user should do). ``budget`` carries the counts
    across the archives of one set.
    """
    try:
        _unpack(card, archive, folder, Budget() if budget is None else budget, todo)
    except _ARCHIVE_ERRORS as exc:
        raise DataError(
            f"{card.name}: cannot unpack {archive.name} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); {todo}"
        ) from None


def extract_archives(card: Card, snapshot: Path) -> Path:
    """Unpack archives of a Hub snapshot (e.g. ``Set5_HR.tar.gz``) once into the repro cache.

    Returns the snapshot itself when it holds no archive. Members must be plain files or folders
    that stay inside the target, within the bounds above (:class:`Budget`);
    everything is unpacked into a temporary folder renamed into place at the end, so a failure
    leaves nothing behind.
    """
    archives = sorted(p for p in snapshot.rglob("*") if p.name.endswith(ARCHIVE_SUFFIXES))
    if not archives:
        return snapshot
    target = cache_target(card)
    if (target / ".complete").is_file():
        return target
    with staged_folder(card, target) as tmp:
        budget = Budget()
        for archive in archives:
            unpack_archive(card, archive, tmp, budget=budget, todo=HUB_TODO)
    return target
