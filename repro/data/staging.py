"""Writing a set safely: into the repro cache (one folder per revision) or a fetch's target.

Archives and parquet tables from the Hub, and fetched archives, are unpacked here; their member
names are untrusted. A set's folder is complete or absent: it is written in a temporary folder
beside its place (``.tmp-<name>-*``) and renamed into it at the end. A run killed on the way
leaves its temporary folder behind; the next one to write beside it removes it, and only such
leftovers: a folder still in use is held by its process's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
import time
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


#: A temporary folder older than this without an owner file is a leftover (of older code).
STALE_S = 3600.0
_OWNER = ".owner"  # <folder>.owner: held locked (flock) by the process using the folder


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """A fresh folder ``.tmp-<target name>-*`` beside ``target``, removed at the end.

    Its ``<folder>.owner`` file stays locked while this process uses it (created and locked
    before the folder exists): :func:`sweep_stale` removes only folders whose owner is gone.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target)
    fd, owner = tempfile.mkstemp(dir=target.parent, prefix=f".tmp-{target.name}-", suffix=_OWNER)
    tmp = Path(owner.removesuffix(_OWNER))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tmp.mkdir()
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.unlink(owner)
        os.close(fd)


def sweep_stale(target: Path) -> list[Path]:
    """Remove the ``.tmp-<target name>-*`` folders of runs that ended without cleaning up.

    A folder is stale when its owner lock can be taken (its process is gone), or, lacking an
    owner file, when it is older than :data:`STALE_S`. A running process's folder is never
    touched. Returns the folders removed.
    """
    removed = []
    for path in sorted(target.parent.glob(f".tmp-{glob.escape(target.name)}-*")):
        try:
            if _stale(path):
                shutil.rmtree(path, ignore_errors=True)
                path.with_name(path.name + _OWNER).unlink(missing_ok=True)
                removed.append(path)
        except FileNotFoundError:
            continue  # removed meanwhile (with its folder, or by another sweep)
    return removed


def _stale(path: Path) -> bool:
    """Whether ``path`` (a ``.tmp-*`` folder) is a leftover; an orphan owner file is removed."""
    if path.is_symlink():
        return False
    if path.name.endswith(_OWNER):  # a run killed after its folder was removed (not one
        # about to make its folder: that takes microseconds, not a minute)
        orphan = not path.with_name(path.name.removesuffix(_OWNER)).exists()
        if orphan and time.time() - path.stat().st_mtime > 60 and _unused(path):
            path.unlink()
        return False
    owner = path.with_name(path.name + _OWNER)
    if owner.exists():
        return path.is_dir() and _unused(owner)
    return path.is_dir() and time.time() - path.stat().st_mtime > STALE_S


def _unused(owner: Path) -> bool:
    """Whether no process holds the lock ``owner`` (the one that made it ended)."""
    try:
        fd = os.open(owner, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also releases the lock just taken
    return True


@contextlib.contextmanager
def staged_folder(card: Card, target: Path) -> Iterator[Path]:
    """A fresh temporary sibling of ``target``, renamed to ``target`` only if the body succeeds.

    Readers thus see no folder or a complete one (with its ``.complete`` marker); a folder
    without the marker is a leftover of an interrupted run of older code and is replaced.
    """
    with _temporary(target) as tmp:
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


@contextlib.contextmanager
def scratch_folder(card: Card, target: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``target`` (same file system), removed at the end.

    What the body leaves in it is discarded: it moves what it keeps out with :func:`place`.
    """
    with _temporary(target) as tmp:
        yield tmp


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
