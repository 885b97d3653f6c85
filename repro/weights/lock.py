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
import re
from datetime import datetime, timezone
from pathlib import Path

from repro.errors import WeightsChecksumError, WeightsError
from repro.files import atomic_write_text, read_json_object
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


_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEXT_FIELDS = ("filename", "source", "date", "basis")


def read_lock() -> dict[str, dict]:
    """The weights lock's records by entry id (empty when there is no lock file)."""
    path = lock_path()
    if not path.is_file():
        return {}
    todo = (
        "repair it, or delete it (checkpoints accepted without a published sha256 must then be "
        "accepted again)"
    )
    doc = read_json_object(path, lambda why: WeightsError(f"the weights lock {why}"), todo)
    wrong = _malformed(doc.get("entries"))
    if wrong:
        raise WeightsError(f"the weights lock {path} is malformed ({wrong}); {todo}")
    return doc["entries"]


def _malformed(entries: object) -> str:
    """What is wrong with the lock's ``entries`` ('' when nothing): hand edits of any shape."""
    if not isinstance(entries, dict):
        return "'entries' is not a mapping of id -> {sha256, ...}"
    for key, record in entries.items():
        if not isinstance(record, dict) or not _SHA256.fullmatch(str(record.get("sha256"))):
            return f"the record of {key!r} has no sha256 of 64 lowercase hex digits"
        if "converted_sha256" in record and not _SHA256.fullmatch(str(record["converted_sha256"])):
            return f"the converted_sha256 of {key!r} is not 64 lowercase hex digits"
        for field in _TEXT_FIELDS:
            if not isinstance(record.get(field, ""), str):
                return f"the {field} of {key!r} is not text"
    return ""


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
