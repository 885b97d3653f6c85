"""One transfer of one URL into one file: whole, from one source, within its limits.

- Whole: the bytes received must be as many as the server announced (``Content-Length``, or a
  resumed ``Content-Range``); fewer is a cut, retried up to :data:`RETRIES` times.
- One source: a cut transfer is resumed only when the server proved the file unchanged: it named
  it by a strong ``ETag`` and its length, the new request carries ``Range`` with ``If-Range``,
  and the answer is a 206 whose ``Content-Range`` continues exactly where the kept bytes end, of
  the same total, under the same ``ETag``. Any other answer starts the file again from zero;
  without a strong ``ETag`` and a length nothing is kept for a later run at all.
- Redirects and Google Drive: :mod:`.http`; the deadline and the minimum rate: :mod:`.limits`.

The kept bytes of a cut transfer live in ``<partial>/body`` with ``<partial>/meta.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from repro.download.http import BLOCK, Cut, Session, read
from repro.download.limits import Clock, Limits, TransferError

#: Transient failures (a cut, a dropped connection) retried within one transfer.
RETRIES = 3


# -- the kept bytes of a cut transfer ---------------------------------------------------------
class _Partial:
    """``body`` (the bytes so far) and ``meta.json`` (the strong ETag and total length)."""

    def __init__(self, folder: Path):
        self.folder, self.body, self.meta = folder, folder / "body", folder / "meta.json"

    def resumable(self) -> tuple[str, int, int] | None:
        """(ETag, total, bytes kept) of a transfer that may continue; else None (dropped)."""
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
            etag, total, have = meta["etag"], meta["length"], self.body.stat().st_size
            if isinstance(etag, str) and _strong(etag) and type(total) is int and 0 < have < total:
                return etag, total, have
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            pass
        self.drop()
        return None

    def start(self, etag: str | None, total: int | None, resume: bool) -> None:
        """A fresh body; remembered for a later run only if the server named the file."""
        self.drop()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.body.write_bytes(b"")
        if resume and etag and total:
            self.meta.write_text(json.dumps({"etag": etag, "length": total}), encoding="utf-8")

    def keep_or_drop(self) -> int:
        """After a failure: keep what may be resumed, drop the rest; return the bytes kept."""
        if self.meta.is_file() and self.resumable() is not None:
            return self.body.stat().st_size
        self.drop()
        return 0

    def drop(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last partial gone: no empty folder is left
            self.folder.parent.rmdir()


def _strong(etag: str | None) -> bool:
    return bool(etag) and not etag.startswith("W/")  # type: ignore[union-attr]


def _identity(res: requests.Response) -> bool:
    """Whether the body's bytes are the file's (no content coding the length would not count)."""
    return res.headers.get("Content-Encoding", "identity").strip().lower() in ("", "identity")


def _length(res: requests.Response) -> int | None:
    raw = res.headers.get("Content-Length", "")
    return int(raw) if raw.isdigit() and _identity(res) else None


# -- the transfer -----------------------------------------------------------------------------
@dataclass
class Transfer:
    """Download ``url`` into ``dest`` (see the module docstring); :meth:`run` returns the sha256.

    ``on_bytes(have, total)`` is called as bytes arrive (a progress bar); ``max_bytes`` bounds
    the file. ``resume``: keep a cut transfer's bytes (when resumable) for a later run; ``kept``
    then says how many were kept.
    """

    url: str
    dest: Path
    partial: Path
    drive_id: str | None
    max_bytes: int
    resume: bool
    limits: Limits
    hosts: tuple[str, ...] = ()
    on_bytes: Callable[[int, int | None], None] | None = None
    have: int = 0
    total: int | None = None
    kept: int = 0

    def run(self) -> str:
        part = _Partial(self.partial)
        if not self.resume:
            part.drop()
        clock = Clock(self.limits)
        session = Session(self.url, self.hosts, self.drive_id is not None, clock)
        tries = 0
        try:
            while True:
                try:
                    digest = self._attempt(session, part, clock)
                    break
                except TransferError as exc:
                    tries += 1
                    if not exc.retry or tries > RETRIES:
                        raise
                    time.sleep(0.25 * 2 ** (tries - 1))
            os.replace(part.body, self.dest)
            part.drop()
            return digest
        except BaseException:  # Ctrl-C too: what may be resumed stays (never without resume)
            self.kept = part.keep_or_drop()
            raise
        finally:
            session.close()

    def _attempt(self, session: Session, part: _Partial, clock: Clock) -> str:
        state = part.resumable() if part.meta.is_file() else None
        headers = {"Range": f"bytes={state[2]}-", "If-Range": state[0]} if state else {}
        res = session.open_file(self.url, self.drive_id, headers)
        continues = state is not None and self._continues(res, state)
        if state and not continues and res.status_code != 200:
            res.close()  # a 206 that does not continue the kept bytes exactly, a 416: anew
            part.drop()
            res = session.open_file(self.url, self.drive_id, {})
        with res:
            if res.status_code >= 400:
                raise TransferError(f"HTTP {res.status_code} {res.reason}".strip())
            if continues:
                self.have, self.total = state[2], state[1]  # type: ignore[index]
            elif res.status_code == 200:  # the whole file: anew (it changed, or Range ignored)
                self.have, self.total = 0, _length(res)
                etag = res.headers.get("ETag")
                part.start(etag if _strong(etag) else None, self.total, self.resume)
            else:
                raise TransferError(f"HTTP {res.status_code} to a request for the whole file")
            if self.total is not None and self.total > self.max_bytes:
                raise TransferError(f"{self.total} bytes, over the {self.max_bytes}-byte limit")
            return self._stream(res, part, clock)

    def _continues(self, res: requests.Response, state: tuple[str, int, int]) -> bool:
        """Whether ``res`` is exactly the rest of the kept bytes' file, unchanged."""
        etag, total, have = state
        length = _length(res)
        return (
            res.status_code == 206
            and res.headers.get("Content-Range", "").strip() == f"bytes {have}-{total - 1}/{total}"
            and res.headers.get("ETag", etag) == etag
            and _identity(res)
            and (length is None or length == total - have)
        )

    def _stream(self, res: requests.Response, part: _Partial, clock: Clock) -> str:
        hasher = hashlib.sha256()
        cut = None
        with open(part.body, "r+b") as out:
            while block := out.read(BLOCK):  # the kept bytes of a resumed transfer
                hasher.update(block)
            clock.body_starts()
            try:
                while block := read(res, clock, self.have, self.total):
                    out.write(block)
                    hasher.update(block)
                    self.have += len(block)
                    clock.received += len(block)
                    if self.have > self.max_bytes:
                        raise TransferError(f"over the {self.max_bytes}-byte limit")
                    clock.check(self.have, self.total)
                    if self.on_bytes is not None:
                        self.on_bytes(self.have, self.total)
            except Cut as exc:
                cut = str(exc)
        if self.total is not None and self.have != self.total:
            raise TransferError(
                f"the connection closed after {self.have} of {self.total} bytes", retry=True
            )
        if cut is not None:  # no length announced: a cut is known only by the broken stream
            raise TransferError(f"the connection broke after {self.have} bytes ({cut})", retry=True)
        return hasher.hexdigest()
