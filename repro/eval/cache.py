"""Per-image result cache: a rerun reuses rows whose provenance is unchanged; a crash resumes.

Rows are appended (a flushed JSON line each) to the workspace's ``cache/rows/<key>.rank<r>.jsonl``
as soon as an image is scored. The job key hashes everything that decides a number, the source
of the modules the job runs included (:func:`repro.eval.code_key.job_code`), except the data
files, whose sha256 is stored per row and compared on reuse. A line that is cut, not JSON, or not
an entry of this shape is ignored (the image is scored again), never trusted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from repro.workspace import current


def job_key(identity: dict) -> str:
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


class RowCache:
    def __init__(
        self, key: str, rank: int = 0, enabled: bool = True, folder: Path | None = None
    ) -> None:
        self.enabled = enabled
        self.folder = folder or current().row_cache
        self.key = key
        self.path = self.folder / f"{key}.rank{rank}.jsonl"
        self.hits: list[str] = []  # images whose rows came from the cache in this run
        self._rows: dict[str, dict] = {}
        if enabled:
            for path in sorted(self.folder.glob(f"{key}.rank*.jsonl")):
                self._load(path)

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return  # an unreadable cache only costs a recomputation
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interrupted write
            if _well_formed(entry):
                self._rows[entry["image"]] = entry

    def get(
        self, image: str, files_sha256: dict[str, str], metrics: tuple[str, ...] = ()
    ) -> list[dict] | None:
        """The rows of one image (one per view for stereo pairs), or None to recompute.

        Rows that lack one of ``metrics`` (frame column names) or hold a value that is not a
        number are not trusted: the image is scored again.
        """
        entry = self._rows.get(image)
        if entry is None or entry["files_sha256"] != files_sha256:
            return None
        if not all(_is_number(r.get(m)) for r in entry["rows"] for m in (*metrics, "seconds")):
            return None
        self.hits.append(image)
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


def _well_formed(entry) -> bool:
    """An entry as :meth:`RowCache.put` writes it: image name, file hashes, non-empty rows."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("image"), str)
        and isinstance(entry.get("files_sha256"), dict)
        and isinstance(entry.get("rows"), list)
        and len(entry["rows"]) > 0
        and all(isinstance(r, dict) and r.get("image") == entry["image"] for r in entry["rows"])
    )


def _is_number(value) -> bool:
    """A metric value as put() stores it: a float (NaN for a view without that metric)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _jsonable(value):
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
