"""Downloads of official files (dataset archives, weight files): mirrors, resume, bounds, sha256.

:func:`download` tries its URLs in order and returns the first file that arrives whole and, when
a sha256 is known, right. :func:`pooch.retrieve` frames each try (a complete earlier download is
reused, the bytes land in a temporary file moved into place only when whole); the transfer
itself is :func:`gdown.download`, for plain HTTP(S) as for Google Drive links (file id parsing,
the "can't scan for viruses" confirmation page): it resumes with ``Range`` requests, checks the
server honoured them, and feeds a sha256 as the bytes arrive. pooch's own HTTP downloader cannot
resume, which multi-GB archives need.

A partial transfer is kept per URL (``<folder>/.partial/<key>/``), so a mirror's bytes are
never spliced onto another's, and dropped when the server's ``ETag``/``Last-Modified`` changed.
Callers that must leave nothing behind pass ``resume=False``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import gdown
import pooch
import requests
from gdown.exceptions import DownloadError as GdownError
from gdown.parse_url import parse_url
from tqdm import tqdm

from repro.checksums import sha256_file
from repro.errors import DownloadError

#: Transient network failures retried within one try of a URL, each resuming where it stopped.
RETRIES = 3
TIMEOUT = (10.0, 60.0)  # seconds: connecting, then between two reads
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")


@dataclass(frozen=True)
class Downloaded:
    """A file that arrived whole: where it is, the URL it came from, its sha256 and size."""

    path: Path
    url: str
    sha256: str
    size: int


class _TooLarge(Exception):
    """Raised from the progress callback: gdown then stops the transfer."""


def drive_file_id(url: str) -> str | None:
    """The file id of a Google Drive link (``file/d/<id>/view``, ``open?id=``, ``uc?id=``).

    None for any other URL; a Drive link without a file id (a folder) is a DownloadError.
    """
    if urllib.parse.urlsplit(url).hostname not in _DRIVE_HOSTS:
        return None
    file_id, _ = parse_url(url)
    if not file_id:
        raise DownloadError(
            f"{url} names no Google Drive file (a folder?); only file links can be downloaded"
        )
    return file_id


def file_name(url: str) -> str:
    """A local name for what ``url`` serves: its last path part, or ``drive-<id>``."""
    file_id = drive_file_id(url)
    if file_id:
        return f"drive-{file_id}"
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-80:] or "download"


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _unreachable(exc: BaseException | None) -> str | None:
    """Why the server was not reached (refused, timed out, DNS), if that is in ``exc``'s chain."""
    for _ in range(8):
        if exc is None:
            return None
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            reason = getattr(exc.args[0] if exc.args else None, "reason", None)  # urllib3's
            return type(reason or exc).__name__
        exc = exc.__cause__ or exc.__context__
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


class _Transfer:
    """pooch's downloader: one resumable gdown transfer of ``url`` into pooch's temporary file."""

    def __init__(self, url: str, partial: Path, *, max_bytes: int, resume: bool, progress: bool):
        self.url, self.partial, self.max_bytes = url, partial, max_bytes
        self.resume, self.progress = resume, progress
        self.sha256: str | None = None
        self.got, self.total = 0, None
        self._bar: tqdm | None = None

    def _on_chunk(self, done: int, total: int | None) -> None:
        limit = self.max_bytes
        if (total is not None and total > limit) or done > limit:
            size = total if total is not None and total > limit else done
            raise _TooLarge(f"{size} bytes, over the {limit}-byte limit")
        self.got, self.total = done, total
        if self._bar is None:
            self._bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=file_name(self.url)[:40],
                file=sys.stderr,
                disable=None if self.progress else True,  # None: only on a terminal
                leave=False,
            )
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def _drop_stale_partial(self) -> None:
        """Forget a partial transfer whose source changed since (or that may not be resumed)."""
        if not self.resume:
            self._forget()
            return
        validator = ""
        if drive_file_id(self.url) is None:  # Drive answers HEAD with a page, not the file
            try:
                head = requests.head(self.url, allow_redirects=True, timeout=TIMEOUT)
            except requests.RequestException:
                return  # unreachable: keep what arrived; the transfer reports the failure
            validator = head.headers.get("ETag") or head.headers.get("Last-Modified") or ""
        stamp = self.partial / "validator"
        if stamp.is_file() and stamp.read_text(encoding="utf-8") != validator:
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True, exist_ok=True)
        stamp.write_text(validator, encoding="utf-8")

    def _forget(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last partial gone: no empty folder is left
            self.partial.parent.rmdir()

    def _partial_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.partial.glob("*.part"))

    def __call__(self, url: str, output_file: str, _pooch: object) -> None:
        self._drop_stale_partial()
        self.partial.mkdir(parents=True, exist_ok=True)
        out = self.partial / "file"
        before = self._partial_bytes()
        hasher = hashlib.sha256()
        try:
            if out.is_file():  # whole already, but not moved on before an interruption
                self.sha256 = sha256_file(out)
            else:
                gdown.download(
                    url=url,
                    output=str(out),
                    quiet=True,
                    use_cookies=False,  # never read or write ~/.cache/gdown/cookies.txt
                    resume=True,
                    progress=self._on_chunk,
                    hasher=hasher,
                    timeout=TIMEOUT,
                    retries=RETRIES,
                )
                self.sha256 = hasher.hexdigest()
            os.replace(out, output_file)
        except BaseException as exc:
            # keep a partial only where it can be resumed: not over the limit, and it grew or
            # the server was not reached (a server that answered but could not continue it
            # would refuse it again)
            now = self._partial_bytes()
            stuck = now == 0 or (now <= before and _unreachable(exc) is None)
            if not self.resume or isinstance(exc, _TooLarge) or stuck:
                self._forget()
            raise
        finally:
            if self._bar is not None:
                self._bar.close()
        self._forget()

    def failure(self, exc: BaseException) -> str:
        """What went wrong with this transfer, on one line."""
        if isinstance(exc, _TooLarge):
            return str(exc)
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            return f"HTTP {exc.response.status_code} {exc.response.reason}"
        unreachable = _unreachable(exc)
        if unreachable and self.got == 0:
            host = urllib.parse.urlsplit(self.url).hostname
            return f"cannot connect to {host} ({unreachable}: no network, DNS, or refused)"
        if self.total is not None and self.got < self.total:
            return f"the connection closed after {self.got} of {self.total} bytes"
        return f"{type(exc).__name__}: {_one_line(exc)}"


def _try(
    url: str,
    folder: Path,
    name: str,
    sha256: str | None,
    *,
    max_bytes: int,
    resume: bool,
    progress: bool,
) -> Downloaded:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError("not an http(s) URL")
    drive_file_id(url)  # a Drive folder link: refused before any request
    fname = f"{_key(url)}-{name}"
    path = folder / fname
    if path.is_file():  # a whole download of an earlier run, not used yet
        digest = sha256_file(path)
        if sha256 is None or digest == sha256:
            return Downloaded(path, url, digest, path.stat().st_size)
        path.unlink()
    transfer = _Transfer(
        url, folder / ".partial" / _key(url), max_bytes=max_bytes, resume=resume, progress=progress
    )
    pooch.get_logger().setLevel(logging.WARNING)  # its "Downloading ..." lines are ours to print
    try:
        pooch.retrieve(url, known_hash=None, fname=fname, path=folder, downloader=transfer)
    except (requests.RequestException, GdownError, _TooLarge) as exc:
        raise DownloadError(transfer.failure(exc)) from None
    digest = transfer.sha256 or sha256_file(path)
    if sha256 is not None and digest != sha256:
        path.unlink()
        raise DownloadError(f"sha256 {digest}, expected {sha256}")
    return Downloaded(path, url, digest, path.stat().st_size)


def download(
    urls: Sequence[str],
    folder: Path,
    *,
    sha256: str | None = None,
    max_bytes: int,
    resume: bool = True,
    progress: bool = True,
) -> Downloaded:
    """Fetch the first of ``urls`` that arrives whole (and, given ``sha256``, right).

    Each URL is tried in order: an HTTP error, a cut connection past the retries, a body over
    ``max_bytes`` or a wrong sha256 moves on to the next. The file is ``<folder>/<key>-<name>``
    (one per URL); the caller removes it when done. With ``resume`` a cut transfer is kept for
    the next call to continue; without, nothing of a failed try stays. Raises DownloadError
    naming every URL and why it failed (one line).
    """
    folder.mkdir(parents=True, exist_ok=True)
    failed = []
    for url in urls:
        try:
            return _try(
                url,
                folder,
                file_name(url),
                sha256,
                max_bytes=max_bytes,
                resume=resume,
                progress=progress,
            )
        except DownloadError as exc:
            failed.append(f"{url}: {exc}")
    raise DownloadError("; ".join(failed) or "no URL to download from")
