"""The dataset lock: what ``repro fetch`` got, so every later load can be checked.

``<cache>/fetched/<name>.lock.json`` (beside the fetched set) records where the files came from
(the URL or mirror that answered, or ``hf://repo@commit``), the archive's sha256 and how it was
checked (``card``: the sha256 the card publishes; ``trust-on-first-use``: nobody published one,
so the first download defines it), the sha256 of every file unpacked, and the folders holding
them. :class:`~repro.data.dataset.Dataset` checks the files of those folders against it, and
``repro verify`` every file it lists (:meth:`DatasetLock.audit`). A lock of any other shape
than :func:`write_lock` writes is a one-line error, never trusted in part.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from repro.checksums import sha256_file
from repro.download.locking import exclusive
from repro.errors import ChecksumError, DataError
from repro.files import atomic_write_text
from repro.paths import cache_dir, fetched_dir

LOCK_VERSION = 1
VERIFIED_CARD = "card"  # the archive's sha256 is the one the card publishes
VERIFIED_TOFU = "trust-on-first-use"  # nobody published one: the first download defines it


def lock_path(name: str) -> Path:
    return fetched_dir() / f"{name}.lock.json"


def fetching(name: str) -> contextlib.AbstractContextManager[None]:
    """One fetch of dataset ``name`` at a time: a second one waits for the first to end."""
    return exclusive(
        fetched_dir() / f".{name}.fetching",
        f"{name}: another fetch of it is running; waiting for it to end",
    )


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

    def audit(self, root: Path) -> dict[str, list[str]]:
        """Every file of ``root`` against this lock: ``missing``, ``changed`` and ``extra`` ones.

        Extra files (not hidden, not in the lock) count as differences: the lock records the
        folder as holding exactly these files, and the loader would read an extra image.
        """
        found = hash_tree(root)
        return {
            "missing": sorted(set(self.files) - set(found)),
            "changed": sorted(r for r, d in self.files.items() if r in found and found[r] != d),
            "extra": sorted(set(found) - set(self.files)),
        }

    def provenance(self) -> dict:
        """What a run's provenance says about the fetched set (never this machine's paths)."""
        return {
            "source": self.source,
            "archive_sha256": self.archive_sha256,
            "verified": self.verified,
            "recorded": self.recorded,
            "lock": shown(lock_path(self.dataset)),
        }


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {
    "version", "dataset", "source", "archive_sha256", "verified", "recorded", "folders", "files"
}  # fmt: skip


def _relative(rel: object) -> bool:
    """A path inside the set, as hash_tree writes them (verify opens these: never outside)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _parse(raw: object, name: str) -> DatasetLock:
    """The lock in ``raw`` (parsed JSON); ValueError saying which field is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"a JSON object expected, got {type(raw).__name__}")
    if raw.get("version") != LOCK_VERSION:
        raise ValueError(f"version {raw.get('version')!r}, expected {LOCK_VERSION}")
    if set(raw) != _KEYS:
        odd = sorted(set(raw) ^ _KEYS)
        raise ValueError(f"fields {odd} missing or unknown")
    checks = {
        "dataset": raw["dataset"] == name,
        "source": isinstance(raw["source"], str) and bool(raw["source"]),
        "archive_sha256": raw["archive_sha256"] is None
        or (isinstance(raw["archive_sha256"], str) and bool(_SHA256.match(raw["archive_sha256"]))),
        "verified": raw["verified"] in (VERIFIED_CARD, VERIFIED_TOFU),
        "recorded": isinstance(raw["recorded"], str) and _is_time(raw["recorded"]),
        "folders": isinstance(raw["folders"], list)
        and all(isinstance(f, str) and Path(f).is_absolute() for f in raw["folders"]),
        "files": isinstance(raw["files"], dict)
        and all(
            _relative(k) and isinstance(v, str) and _SHA256.match(v)
            for k, v in raw["files"].items()
        ),
    }
    wrong = [key for key, ok in checks.items() if not ok]
    if wrong:
        raise ValueError(f"field '{wrong[0]}' is not what fetch writes ({raw[wrong[0]]!r:.60})")
    return DatasetLock(
        dataset=raw["dataset"],
        source=raw["source"],
        archive_sha256=raw["archive_sha256"],
        verified=raw["verified"],
        recorded=raw["recorded"],
        folders=tuple(raw["folders"]),
        files=dict(raw["files"]),
    )


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_lock(name: str) -> DatasetLock | None:
    """The lock of dataset ``name``, or None when it was never fetched.

    Any other shape than :func:`write_lock` writes (hand-edited, truncated, nested without end)
    is a one-line DataError.
    """
    path = lock_path(name)
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return _parse(json.loads(path.read_text(encoding="utf-8")), name)
    except RecursionError:
        why = "JSON nested too deeply"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = " ".join(str(exc).split())[:200]
    raise DataError(
        f"cannot read the dataset lock {shown(path)} ({why}); delete it and fetch {name} again "
        f"(repro fetch {name})"
    )


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
