"""The weights lock and what a weight file's sha256 must be.

An entry's ``sha256`` is the official file's, recorded where a public source states it
(``WeightsEntry.sha256_source``); files of torch's cache carry a prefix of it in their name. A
checkpoint or metric file with neither is fetched only when the user accepts it (``repro pull
<id> --trust-unverified``); accepted files are recorded in ``<cache>/weights.lock.json`` (entry
id -> sha256 of the official file, where it came from (a URL, ``hf://repo@commit/path``), when,
and for a checkpoint the sha256 of the converted safetensors), and every later load is checked
against the entry or the lock.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from repro.errors import WeightsChecksumError, WeightsError
from repro.files import atomic_write_text
from repro.paths import cache_dir
from repro.weights.entry import WeightsEntry

TRUST_FLAG = "--trust-unverified"
LOCK_VERSION = 1
# How a file's bytes were checked ("verified" in a run's provenance).
VERIFIED_REGISTRY = "registry"  # sha256 published by the source named in the entry
VERIFIED_NAME = "name"  # the sha256 prefix in a torch.hub-style file name
VERIFIED_LOCK = "lock"  # sha256 the user accepted with --trust-unverified (weights.lock.json)
VERIFIED_NONE = "none"  # nothing to compare with: the user's own file


def lock_path() -> Path:
    return cache_dir() / "weights.lock.json"


def read_lock() -> dict[str, dict]:
    """The weights lock's records by entry id (empty when there is no lock file)."""
    path = lock_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        if not isinstance(entries, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in entries.values()
        ):
            raise ValueError("'entries' is not a mapping of id -> {sha256, ...}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(
            f"cannot read the weights lock {path} ({exc}); repair it, or delete it (checkpoints "
            "accepted without a published sha256 must then be accepted again)"
        ) from None
    return entries


def record_lock(entry: WeightsEntry, **fields) -> None:
    """Write (atomically) the lock record of ``entry``: sha256, source, date, basis, ..."""
    entries = read_lock()
    entries[entry.id] = {
        "filename": entry.filename,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **fields,
    }
    text = json.dumps({"version": LOCK_VERSION, "entries": entries}, indent=2, sort_keys=True)
    atomic_write_text(lock_path(), text + "\n")


def expected_sha256(entry: WeightsEntry) -> tuple[str | None, str, dict | None]:
    """The sha256 (or its prefix) the official file must have, how it is known, and the
    entry's lock record. The entry wins over the lock; with neither, ``(None, "none", None)``.
    """
    record = read_lock().get(entry.id)
    if entry.sha256:
        return entry.sha256.lower(), VERIFIED_REGISTRY, record
    if entry.known_sha256:
        return entry.known_sha256, VERIFIED_NAME, record
    if record is not None:
        return record["sha256"].lower(), VERIFIED_LOCK, record
    return None, VERIFIED_NONE, None


def matches(digest: str, sha: str) -> bool:
    """Does a file's full ``digest`` agree with an expected sha256 or sha256 prefix?"""
    return len(sha) >= 8 and digest.startswith(sha)


def mismatch(
    what: Path | str, digest: str, sha: str, level: str, record, entry: WeightsEntry, todo: str
) -> WeightsChecksumError:
    """The error for a file (``what``) whose sha256 is not the expected one."""
    if level == VERIFIED_LOCK:
        why = (
            f"expected {sha}, which you accepted on {record.get('date', '?')} from "
            f"{record.get('source', '?')}: the file changed since"
        )
    elif level == VERIFIED_NAME:
        why = f"expected {sha}... (the prefix in its name): it is corrupt or another file"
    else:
        published = entry.sha256_source or entry.source or "the registry"
        why = f"expected {sha} (published in {published}): it is corrupt or another checkpoint"
    return WeightsChecksumError(
        f"checksum mismatch for {entry.id}: {what} has sha256 {digest}, {why}; {todo}"
    )
