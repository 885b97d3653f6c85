"""Writing a set safely: into the repro cache (one folder per revision) or a fetch's target.

Archives and parquet tables from the Hub, and fetched archives, are unpacked here; their member
names are untrusted. A set's folder is complete or absent: it is written beside its place and
renamed into it at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from repro.data.schema import Card
from repro.errors import DataError
from repro.paths import cache_dir

# what the messages tell the user to do with a bad file of a Hub snapshot
HUB_TODO = "delete it from the HF cache and put the set in a local folder (--data-root)"


def cache_target(card: Card) -> Path:
    """Where a set unpacked or written from the Hub lives: one folder per card and revision."""
    revision = card.hub.revision if card.hub else None
    return cache_dir() / "datasets" / card.name / (revision or "local")


@contextlib.contextmanager
def staged_folder(card: Card, target: Path) -> Iterator[Path]:
    """A fresh temporary sibling of ``target``, renamed to ``target`` only if the body succeeds.

    Readers thus see no folder or a complete one (with its ``.complete`` marker); a folder
    without the marker is a leftover of an interrupted run of older code and is replaced.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{target.name}-"))
    try:
        yield tmp
        (tmp / ".complete").write_text("ok\n")
        try:
            if target.is_dir() and not (target / ".complete").is_file():
                shutil.rmtree(target)
            os.rename(tmp, target)
        except OSError as exc:
            if not (target / ".complete").is_file():  # else another process finished first
                raise DataError(
                    f"{card.name}: cannot move the unpacked set into {target} ({exc}); remove "
                    "that folder and run again"
                ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def scratch_folder(card: Card, target: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``target`` (same file system), removed at the end.

    What the body leaves in it is discarded: it moves what it keeps out with :func:`place`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{target.name}-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def place(card: Card, folder: Path, target: Path) -> None:
    """Rename a complete ``folder`` to ``target`` (one step: readers never see half a set)."""
    if target.exists():
        raise DataError(
            f"{card.name}: {target} appeared while this fetch ran (another fetch?); nothing "
            "was changed: use that copy, or remove it and fetch again"
        )
    try:
        os.rename(folder, target)
    except OSError as exc:
        raise DataError(
            f"{card.name}: cannot move the unpacked set into {target} ({exc}); check that "
            "folder's permissions and fetch again"
        ) from None


def check_member(card: Card, archive: Path, name: str, folder: Path, todo: str = HUB_TODO) -> None:
    """Refuse a member name (archive or parquet) that would be written outside ``folder``."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    unsafe = (
        not name
        or "\0" in name
        or name.startswith(("/", "\\"))
        or bool(PureWindowsPath(name).drive)
        or ".." in parts
        or not (folder / name).resolve().is_relative_to(folder.resolve())
    )
    if unsafe:
        raise DataError(
            f"{card.name}: {archive.name} holds {name!r}, which would be written outside the "
            f"dataset folder; the file is unsafe: {todo}"
        )
