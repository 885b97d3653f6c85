"""Downloads of official files (dataset archives, weight files): one whole file from one source.

:func:`downloaded` (and :func:`download`) try their URLs in order and give the first file that
arrives whole and, when a sha256 is known, right. What "whole, from one source" means for one
transfer (lengths, resume, redirects, deadline and minimum rate) is :mod:`.transfer`'s job;
here:

- One download of a URL at a time: a lock per URL (``<folder>/.<key>.lock``, :mod:`.locking`)
  makes a second process (or thread) wait until the first is done with the file.
- A whole file left by an earlier run (``<folder>/<key>/<name>``, one per URL; ``<name>`` as
  the URL names it) is reused only after the same check as a fresh one: its sha256 compared
  when one is known.
- ``HF_HUB_OFFLINE`` is the callers' business: they decide before asking for a download.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gdown.parse_url import parse_url
from tqdm import tqdm

from repro.checksums import sha256_file
from repro.download.http import DRIVE_HOSTS
from repro.download.limits import Limits, TransferError
from repro.download.locking import exclusive
from repro.download.transfer import Transfer
from repro.errors import DownloadError

__all__ = ["Downloaded", "Limits", "download", "downloaded", "drive_file_id", "file_name"]


@dataclass(frozen=True)
class Downloaded:
    """A file that arrived whole: where it is, the URL it came from, its sha256 and size."""

    path: Path
    url: str
    sha256: str
    size: int


class RefusedRedirect(DownloadError):
    """A download failed (for one URL, or all) by a redirect to an untrusted host (``hosts``)."""

    def __init__(self, message: str, hosts: tuple[str, ...]):
        super().__init__(message)
        self.hosts = hosts


def drive_file_id(url: str) -> str | None:
    """The file id of a Google Drive link (``file/d/<id>/view``, ``open?id=``, ``uc?id=``).

    None for any other URL; a Drive link without a file id (a folder) is a DownloadError.
    """
    if urllib.parse.urlsplit(url).hostname not in DRIVE_HOSTS:
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


class _Bar:
    """A progress bar in bytes on stderr (only on a terminal), opened at the first bytes."""

    def __init__(self, url: str, enabled: bool):
        self.desc, self.enabled, self.bar = file_name(url)[:40], enabled, None

    def __call__(self, have: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=total,
                initial=0,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self.desc,
                file=sys.stderr,
                disable=None if self.enabled else True,  # None: only on a terminal
                leave=False,
            )
        self.bar.total = total
        self.bar.update(have - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _one(
    url: str,
    folder: Path,
    sha256: str | None,
    *,
    max_bytes: int,
    resume: bool,
    progress: bool,
    hosts: tuple[str, ...],
    limits: Limits,
) -> Downloaded:
    """One URL: a whole file of an earlier run (checked like a new one), or a transfer."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError("not an http(s) URL")
    drive_id = drive_file_id(url)  # a Drive folder link: refused before any request
    path = folder / _key(url) / file_name(url)  # messages name it as the URL does
    if path.is_file():  # an earlier run's whole download, not used up
        digest = sha256_file(path)
        if sha256 is None or digest == sha256:
            return Downloaded(path, url, digest, path.stat().st_size)
        path.unlink()
    bar = _Bar(url, progress)
    path.parent.mkdir(exist_ok=True)
    transfer = Transfer(
        url=url,
        dest=path,
        partial=folder / ".partial" / _key(url),
        drive_id=drive_id,
        max_bytes=max_bytes,
        resume=resume,
        limits=limits,
        hosts=hosts,
        on_bytes=bar,
    )
    try:
        digest = transfer.run()
    except TransferError as exc:
        kept = f" ({transfer.kept} bytes kept: the next try resumes)" if transfer.kept else ""
        if exc.refused_host:
            raise RefusedRedirect(f"{exc}{kept}", (exc.refused_host,)) from None
        raise DownloadError(f"{exc}{kept}") from None
    finally:
        bar.close()
    if sha256 is not None and digest != sha256:
        path.unlink()
        raise DownloadError(f"sha256 {digest}, expected {sha256}")
    return Downloaded(path, url, digest, path.stat().st_size)


@contextlib.contextmanager
def downloaded(
    urls: Sequence[str],
    folder: Path,
    *,
    sha256: str | None = None,
    max_bytes: int,
    resume: bool = True,
    progress: bool = True,
    hosts: Sequence[str] = (),
    limits: Limits | None = None,
    keep: bool = False,
) -> Iterator[Downloaded]:
    """The first of ``urls`` that arrives whole (and, given ``sha256``, right), for the block.

    Each URL is tried in order: an HTTP error, a cut past the retries, a limit, a body over
    ``max_bytes``, a refused redirect or a wrong sha256 moves on to the next. The file
    (``<folder>/<key>/<name>``) is the caller's while the block runs: no other download of its
    URL touches it; it is removed at the end unless ``keep``. Redirects may go to ``hosts`` too.
    ``limits``: default :meth:`Limits.from_env`. With ``resume`` a cut transfer is kept for the
    next call to continue (where the server allows it); without, nothing of a failed try stays.
    Raises DownloadError naming every URL and why it failed (one line).
    """
    limits = limits or Limits.from_env()
    folder.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    refused: list[str] = []
    for url in urls:
        lock = folder / f".{_key(url)}.lock"
        with exclusive(lock, f"waiting for another download of {url} to end"):
            try:
                got = _one(
                    url,
                    folder,
                    sha256,
                    max_bytes=max_bytes,
                    resume=resume,
                    progress=progress,
                    hosts=tuple(hosts),
                    limits=limits,
                )
            except DownloadError as exc:
                failed.append(f"{url}: {exc}")
                refused += exc.hosts if isinstance(exc, RefusedRedirect) else ()
                continue
            try:
                yield got
            finally:
                if not keep:
                    got.path.unlink(missing_ok=True)
                    with contextlib.suppress(OSError):  # its folder, once empty
                        got.path.parent.rmdir()
            return
    message = "; ".join(failed) or "no URL to download from"
    raise RefusedRedirect(message, tuple(refused)) if refused else DownloadError(message)


def download(
    urls: Sequence[str],
    folder: Path,
    *,
    sha256: str | None = None,
    max_bytes: int,
    resume: bool = True,
    progress: bool = True,
    hosts: Sequence[str] = (),
    limits: Limits | None = None,
) -> Downloaded:
    """:func:`downloaded` for callers that remove the file themselves when done with it.

    The file is no longer guarded once this returns: a later call for the same URL may reuse
    it (after the same checks). Where two may run at once, prefer :func:`downloaded`.
    """
    with downloaded(
        urls,
        folder,
        sha256=sha256,
        max_bytes=max_bytes,
        resume=resume,
        progress=progress,
        hosts=hosts,
        limits=limits,
        keep=True,
    ) as got:
        return got
