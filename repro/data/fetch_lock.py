"""The dataset lock: what ``repro fetch`` got, so every later load can be checked.

``<cache>/fetched/<name>.lock.json`` (beside the fetched set) records where the files came from
(the URL or mirror that answered, or ``hf://repo@commit``), the archive's sha256 and how it was
checked (``card``: the sha256 the card publishes; ``trust-on-first-use``: nobody published one,
so the first download defines it), the sha256 of every file unpacked, and the folders holding
them. :class:`~repro.data.dataset.Dataset` checks the files of those folders against it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from repro.checksums import sha256_file
from repro.errors import ChecksumError, DataError
from repro.files import atomic_write_text
from repro.paths import cache_dir, fetched_dir

LOCK_VERSION = 1
VERIFIED_CARD = "card"  # the archive's sha256 is the one the card publishes
VERIFIED_TOFU = "trust-on-first-use"  # nobody published one: the first download defines it


def lock_path(name: str) -> Path:
    return fetched_dir() / f"{name}.lock.json"


def shown(path: Path) -> str:
    """``path`` as messages show it: ``<repro-cache>/...`` inside the cache, else as is."""
    try:
        return "<repro-cache>/" + Path(path).resolve().relative_to(cache_dir().resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class DatasetLock:
    dataset: str
    source: str  # the URL that answered (a mirror, maybe), or hf://repo@commit
    archive_sha256: str | None  # None: a Hub snapshot (the Hub names its files by commit)
    verified: str  # VERIFIED_CARD or VERIFIED_TOFU
    recorded: str  # when the first fetch recorded these files (UTC, ISO 8601)
    folders: tuple[str, ...]  # absolute folders holding exactly these files
    files: dict[str, str] = field(default_factory=dict)  # path inside the set -> sha256

    def applies_to(self, root: Path) -> bool:
        return str(Path(root).resolve()) in self.folders

    def check(self, path: Path, rel: str, digest: str) -> str | None:
        """The sha256 the lock records for ``rel`` (None: none); a different ``digest`` raises."""
        expected = self.files.get(rel)
        if expected is not None and digest != expected:
            folder = path.parents[len(Path(rel).parts) - 1]
            raise ChecksumError(
                f"checksum mismatch for {path}: sha256 {digest}, but the dataset lock "
                f"{shown(lock_path(self.dataset))} recorded {expected} when it was fetched from "
                f"{self.source} ({self.verified}, {self.recorded[:10]}); the file changed since: "
                f"delete {shown(folder)} and run repro fetch {self.dataset} again"
            )
        return expected

    def provenance(self) -> dict:
        """What a run's provenance says about the fetched set (never this machine's paths)."""
        return {
            "source": self.source,
            "archive_sha256": self.archive_sha256,
            "verified": self.verified,
            "recorded": self.recorded,
            "lock": shown(lock_path(self.dataset)),
        }


def read_lock(name: str) -> DatasetLock | None:
    """The lock of dataset ``name``, or None when it was never fetched."""
    path = lock_path(name)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") != LOCK_VERSION:
            raise ValueError(f"version {raw.get('version')!r}, expected {LOCK_VERSION}")
        lock = DatasetLock(
            dataset=raw["dataset"],
            source=raw["source"],
            archive_sha256=raw["archive_sha256"],
            verified=raw["verified"],
            recorded=raw["recorded"],
            folders=tuple(raw["folders"]),
            files=dict(raw["files"]),
        )
        if lock.dataset != name or not all(isinstance(v, str) for v in lock.files.values()):
            raise ValueError("not this dataset's lock")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"cannot read the dataset lock {path} ({exc}); delete it and fetch {name} again "
            f"(repro fetch {name})"
        ) from None
    return lock


def write_lock(lock: DatasetLock) -> Path:
    """Write ``lock`` atomically; return its path."""
    path = lock_path(lock.dataset)
    body = {"version": LOCK_VERSION, **asdict(lock), "folders": list(lock.folders)}
    atomic_write_text(path, json.dumps(body, indent=1, sort_keys=True) + "\n")
    return path


def lock_for(name: str, root: Path) -> DatasetLock | None:
    """The lock of dataset ``name`` if it covers the folder ``root``, else None."""
    lock = read_lock(name)
    return lock if lock is not None and lock.applies_to(root) else None


def new_lock(
    name: str, source: str, archive_sha256: str | None, verified: str, folder: Path, files: dict
) -> DatasetLock:
    """A first record of ``files`` (path inside the set -> sha256) fetched into ``folder``."""
    return DatasetLock(
        dataset=name,
        source=source,
        archive_sha256=archive_sha256,
        verified=verified,
        recorded=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        folders=(str(folder.resolve()),),
        files=dict(files),
    )


def hash_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` by its path inside it, as the loader sees them.

    Hidden names (``.complete`` markers, macOS ``._*`` files) are no part of a set: skipped.
    """
    out = {}
    for base, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            path = Path(base) / name
            out[path.relative_to(folder).as_posix()] = sha256_file(path)
    return out
