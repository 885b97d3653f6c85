"""Unpacking archives safely: a Hub snapshot's (``Set5_HR.tar.gz``) or a fetched official one.

Members must be plain files or folders that stay inside the target, within the bounds below;
links, special files, '..' and absolute names are refused before anything is written. The format
is read from the bytes (zip, or tar with any compression), not the name: a Google Drive download
has none.
"""

from __future__ import annotations

import lzma
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path

from repro.data.schema import Card
from repro.data.staging import HUB_TODO, cache_target, check_member, staged_folder
from repro.errors import DataError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
#: Bounds on what the archives of one set may unpack to; generous (the largest benchmark
#: archives hold a few GB and thousands of files), they stop archive bombs. Tests lower them.
MAX_ARCHIVE_BYTES = 64 << 30
MAX_ARCHIVE_MEMBERS = 200_000


def _tally(card: Card, archive: Path, used: list[int], size: int, todo: str) -> None:
    """Count one member against the per-set bounds (``used``: [members, bytes] so far)."""
    used[0] += 1
    used[1] += max(0, int(size))
    if used[0] > MAX_ARCHIVE_MEMBERS or used[1] > MAX_ARCHIVE_BYTES:
        raise DataError(
            f"{card.name}: the archives unpack to more than {MAX_ARCHIVE_MEMBERS} files or "
            f"{MAX_ARCHIVE_BYTES / 2**30:.0f} GiB (at {archive.name}); refusing what looks like "
            f"an archive bomb: {todo}"
        )


def _refuse_link(card: Card, archive: Path, name: str, todo: str) -> None:
    raise DataError(
        f"{card.name}: {archive.name} holds {name!r}, a link or special file; dataset archives "
        f"hold plain files only: {todo}"
    )


def _unpack(card: Card, archive: Path, folder: Path, used: list[int], todo: str) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                check_member(card, archive, info.filename, folder, todo)
                if stat.S_ISLNK(info.external_attr >> 16):
                    _refuse_link(card, archive, info.filename, todo)
                _tally(card, archive, used, info.file_size, todo)
            z.extractall(folder)
        return
    with tarfile.open(archive) as t:  # any compression; not a tar either: TarError below
        members = []
        for member in t:  # streamed: a bomb is stopped at the first member past the bounds
            check_member(card, archive, member.name, folder, todo)
            if not (member.isfile() or member.isdir()):
                _refuse_link(card, archive, member.name, todo)
            _tally(card, archive, used, member.size, todo)
            members.append(member)
        t.extractall(folder, members=members, filter="data")


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
    card: Card, archive: Path, folder: Path, *, used: list[int] | None = None, todo: str
) -> None:
    """Unpack one archive into ``folder`` (a fresh staging folder the caller removes on error).

    Every member is checked before anything is written; a corrupt archive is a one-line
    DataError ending with ``todo`` (what the user should do). ``used`` carries the member and
    byte counts across the archives of one set.
    """
    try:
        _unpack(card, archive, folder, [0, 0] if used is None else used, todo)
    except _ARCHIVE_ERRORS as exc:
        raise DataError(
            f"{card.name}: cannot unpack {archive.name} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); {todo}"
        ) from None


def extract_archives(card: Card, snapshot: Path) -> Path:
    """Unpack archives of a Hub snapshot (e.g. ``Set5_HR.tar.gz``) once into the repro cache.

    Returns the snapshot itself when it holds no archive. Members must be plain files or folders
    that stay inside the target, within :data:`MAX_ARCHIVE_MEMBERS` / :data:`MAX_ARCHIVE_BYTES`;
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
        used = [0, 0]
        for archive in archives:
            unpack_archive(card, archive, tmp, used=used, todo=HUB_TODO)
    return target
