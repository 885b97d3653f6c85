"""Per-image result cache: a rerun reuses rows whose provenance is unchanged; a crash resumes.

Rows are appended (one JSON line each, flushed) to ``results/.cache/<job key>.rank<r>.jsonl``
as soon as an image is scored. The job key hashes everything that decides a number except the
data files, whose sha256 is stored per row and compared on reuse.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from repro.paths import results_dir


def job_key(identity: dict) -> str:
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


class RowCache:
    def __init__(self, key: str, rank: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self.folder = results_dir() / ".cache"
        self.key = key
        self.path = self.folder / f"{key}.rank{rank}.jsonl"
        self._rows: dict[str, dict] = {}
        if enabled:
            for path in sorted(self.folder.glob(f"{key}.rank*.jsonl")):
                self._load(path)

    def _load(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interrupted write
            self._rows[entry["image"]] = entry

    def get(self, image: str, files_sha256: dict[str, str]) -> list[dict] | None:
        """The rows of one image (one per view for stereo pairs), or None to recompute."""
        entry = self._rows.get(image)
        if entry is None or entry.get("files_sha256") != files_sha256 or "rows" not in entry:
            return None
        return entry["rows"]

    def put(self, image: str, files_sha256: dict[str, str], rows: list[dict]) -> None:
        if not self.enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {"image": image, "files_sha256": files_sha256, "rows": rows}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=_jsonable) + "\n")
            f.flush()
        self._rows[image] = entry


def _jsonable(value):
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
