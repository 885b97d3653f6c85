"""One transfer of one URL into one file: whole, from one source, within a deadline and a rate.

- Whole: the bytes received must be as many as the server announced (``Content-Length``, or a
  resumed ``Content-Range``); fewer is a cut, retried up to :data:`RETRIES` times.
- One source: a cut transfer is resumed only when the server proved the file unchanged: it named
  it by a strong ``ETag`` and its length, the new request carries ``Range`` with ``If-Range``,
  and the answer is a 206 whose ``Content-Range`` continues exactly where the kept bytes end, of
  the same total, under the same ``ETag``. Any other answer starts the file again from zero;
  without a strong ``ETag`` and a length nothing is kept for a later run at all.
- Redirects stay on the URL's own host, the hosts the caller trusts, and (for a Google Drive
  link) Google Drive's own hosts; never to another scheme than HTTP(S), never HTTPS to HTTP.
- Limits (:class:`Limits`): an overall deadline, and a minimum rate averaged over a window
  that is also the longest wait for the server's next byte. The error says which was hit.

Google Drive links go through Drive's "can't scan for viruses" confirmation page (gdown parses
it). The kept bytes of a cut transfer live in ``<partial>/body`` with ``<partial>/meta.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3
from gdown.download import get_url_from_gdrive_confirmation
from gdown.exceptions import FileURLRetrievalError

from repro.errors import ReproError

#: Transient failures (a cut, a dropped connection) retried within one transfer.
RETRIES = 3
DEADLINE_S = 6 * 3600.0  # the longest one file may take (REPRO_DOWNLOAD_DEADLINE)
MIN_RATE = 1024.0  # bytes/s averaged over RATE_WINDOW_S (REPRO_DOWNLOAD_MIN_RATE)
RATE_WINDOW_S = 30.0  # also the longest wait for the server's next byte
CONNECT_S = 10.0
MAX_REDIRECTS = 10
_BLOCK = 1 << 20
_PAGE_BYTES = 1 << 20  # the largest Drive confirmation page read
DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
_DRIVE_SUFFIX = ".googleusercontent.com"
_DRIVE_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"


class TransferError(Exception):
    """Why a transfer failed, on one line; ``retry``: a transient failure worth another try."""

    def __init__(self, message: str, *, retry: bool = False, refused_host: str | None = None):
        super().__init__(message)
        self.retry, self.refused_host = retry, refused_host


@dataclass(frozen=True)
class Limits:
    """How long one file may take: an overall deadline and a minimum rate (bytes/s)."""

    deadline_s: float = DEADLINE_S
    min_rate: float = MIN_RATE
    window_s: float = RATE_WINDOW_S
    connect_s: float = CONNECT_S

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with ``REPRO_DOWNLOAD_DEADLINE`` / ``REPRO_DOWNLOAD_MIN_RATE`` if set."""
        return cls(
            deadline_s=_env_number("REPRO_DOWNLOAD_DEADLINE", DEADLINE_S, "seconds > 0"),
            min_rate=_env_number("REPRO_DOWNLOAD_MIN_RATE", MIN_RATE, "bytes per second > 0"),
            window_s=RATE_WINDOW_S,
            connect_s=CONNECT_S,
        )


def _env_number(name: str, default: float, what: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ReproError(
            f"{name}={raw!r} is not {what}; set a number such as {default:g}, or unset it"
        )
    return value


class _Clock:
    """The deadline and the minimum rate of one transfer, checked as bytes arrive."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.start = time.monotonic()
        self.received = 0  # bytes received by this transfer (resumed ones not counted)
        self._mark = (self.start, 0)

    def check(self, have: int, total: int | None) -> None:
        """Raise when the deadline passed or the last window ran under the minimum rate."""
        now, lim = time.monotonic(), self.limits
        of = f"{have} of {total}" if total is not None else f"{have}"
        if now - self.start > lim.deadline_s:
            raise TransferError(
                f"not done within the {lim.deadline_s:g} s deadline ({of} bytes; "
                "REPRO_DOWNLOAD_DEADLINE sets it)"
            )
        since, then = self._mark
        if now - since >= lim.window_s:
            rate = (self.received - then) / (now - since)
            if rate < lim.min_rate:
                raise TransferError(
                    f"too slow: {rate:.0f} bytes/s over the last {now - since:.1f} s, under the "
                    f"minimum rate of {lim.min_rate:g} bytes/s ({of} bytes; "
                    "REPRO_DOWNLOAD_MIN_RATE sets it)"
                )
            self._mark = (now, self.received)

    def stalled(self, have: int, total: int | None) -> TransferError:
        of = f" after {have} of {total} bytes" if total is not None else f" after {have} bytes"
        return TransferError(
            f"stalled: nothing arrived for {self.limits.window_s:g} s{of} (under the minimum "
            f"rate of {self.limits.min_rate:g} bytes/s; REPRO_DOWNLOAD_MIN_RATE sets it)"
        )


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


# -- requests: redirects, Google Drive --------------------------------------------------------
class _Session:
    """A requests session whose redirects stay among ``hosts``, timed by ``clock``."""

    def __init__(self, url: str, hosts: tuple[str, ...], drive: bool, clock: _Clock):
        self.clock = clock
        self.hosts = {h.lower() for h in (urllib.parse.urlsplit(url).hostname or "", *hosts)}
        self.drive = drive
        if drive:
            self.hosts |= set(DRIVE_HOSTS)
        self.http = requests.Session()
        self.http.headers["Accept-Encoding"] = "identity"  # offsets are the file's bytes
        if drive:
            self.http.headers["User-Agent"] = _DRIVE_AGENT

    def close(self) -> None:
        self.http.close()

    def _allowed(self, host: str) -> bool:
        return host in self.hosts or (self.drive and host.endswith(_DRIVE_SUFFIX))

    def get(self, url: str, headers: dict) -> tuple[requests.Response, str]:
        """GET ``url``, following redirects that stay on trusted hosts; (answer, its URL)."""
        lim = self.clock.limits
        for _ in range(MAX_REDIRECTS + 1):
            if time.monotonic() - self.clock.start > lim.deadline_s:
                self.clock.check(0, None)  # says the deadline passed
            try:
                res = self.http.get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(lim.connect_s, lim.window_s),
                )
            except requests.RequestException as exc:
                raise _request_failure(url, exc, lim) from None
            if not res.is_redirect:
                return res, url
            target = urllib.parse.urljoin(url, res.headers["Location"])
            res.close()
            self._check_redirect(url, target)
            url = target
        raise TransferError(f"more than {MAX_REDIRECTS} redirects")

    def _check_redirect(self, url: str, target: str) -> None:
        old, new = urllib.parse.urlsplit(url), urllib.parse.urlsplit(target)
        host = (new.hostname or "").lower()
        if new.scheme not in ("http", "https") or (old.scheme, new.scheme) == ("https", "http"):
            raise TransferError(f"refused a redirect from {old.scheme} to {new.scheme}: {target}")
        if not self._allowed(host):
            trusted = ", ".join(sorted(self.hosts))
            raise TransferError(
                f"refused a redirect to another host, {host} (trusted: {trusted})",
                refused_host=host,
            )

    def open_file(self, url: str, drive_id: str | None, headers: dict) -> requests.Response:
        """The response carrying the file (a Drive link: past its confirmation page)."""
        if drive_id is None:
            return self.get(url, headers)[0]
        url = f"https://drive.google.com/uc?id={drive_id}"
        for _ in range(3):
            res, url = self.get(url, {})
            if res.status_code >= 400 or "Content-Disposition" in res.headers:
                if headers and res.status_code == 200:  # a resume: ask this URL for the rest
                    res.close()
                    return self.get(url, headers)[0]
                return res
            page = _read_page(res, self.clock)
            try:
                link = get_url_from_gdrive_confirmation(page)
            except FileURLRetrievalError as exc:  # a quota page, a file not shared publicly
                why = " ".join(str(exc).split()).split(" Check FAQ")[0]
                raise TransferError(f"Google Drive: {why}") from None
            self._check_redirect(url, link)
            url = link
        raise TransferError("Google Drive answered with pages, not the file")


def _read_page(res: requests.Response, clock: _Clock) -> str:
    with res:
        data = b""
        while len(data) < _PAGE_BYTES and (block := _read(res, clock, len(data), None)):
            data += block
    return data.decode("utf-8", "replace")


def _request_failure(url: str, exc: requests.RequestException, lim: Limits) -> TransferError:
    host = urllib.parse.urlsplit(url).hostname
    if isinstance(exc, requests.ConnectTimeout):
        return TransferError(f"cannot connect to {host} within {lim.connect_s:g} s", retry=True)
    if isinstance(exc, requests.ReadTimeout):
        return TransferError(f"stalled: no answer from {host} for {lim.window_s:g} s")
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # refused, DNS, no route
        why = type(reason.__cause__ or reason).__name__
        return TransferError(
            f"cannot connect to {host} ({why}: no network, DNS, or refused)", retry=True
        )
    if isinstance(exc, requests.ConnectionError):
        why = type(reason).__name__ if isinstance(reason, BaseException) else "ConnectionError"
        return TransferError(f"the connection to {host} broke ({why})", retry=True)
    return TransferError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")


def _read(res: requests.Response, clock: _Clock, have: int, total: int | None) -> bytes:
    """The next bytes of ``res`` as they arrive (not waiting to fill a block)."""
    try:
        return res.raw.read1(_BLOCK, decode_content=False)
    except urllib3.exceptions.ReadTimeoutError:
        raise clock.stalled(have, total) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # a cut: IncompleteRead, reset
        raise _Cut(type(exc).__name__) from None


class _Cut(Exception):
    pass


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
        clock = _Clock(self.limits)
        session = _Session(self.url, self.hosts, self.drive_id is not None, clock)
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
        except BaseException:
            self.kept = part.keep_or_drop() if self.resume else 0
            if not self.resume:
                part.drop()
            raise
        finally:
            session.close()

    def _attempt(self, session: _Session, part: _Partial, clock: _Clock) -> str:
        state = part.resumable() if part.meta.is_file() else None
        headers = {"Range": f"bytes={state[2]}-", "If-Range": state[0]} if state else {}
        res = session.open_file(self.url, self.drive_id, headers)
        if state and not self._continues(res, state) and res.status_code != 200:
            res.close()  # a 206 that does not continue the kept bytes exactly, a 416: anew
            part.drop()
            state, res = None, session.open_file(self.url, self.drive_id, {})
        with res:
            if res.status_code >= 400:
                raise TransferError(f"HTTP {res.status_code} {res.reason}".strip())
            if state and self._continues(res, state):
                self.have, self.total = state[2], state[1]
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

    def _stream(self, res: requests.Response, part: _Partial, clock: _Clock) -> str:
        hasher = hashlib.sha256()
        cut = None
        with open(part.body, "r+b") as out:
            while block := out.read(_BLOCK):  # the kept bytes of a resumed transfer
                hasher.update(block)
            try:
                while block := _read(res, clock, self.have, self.total):
                    out.write(block)
                    hasher.update(block)
                    self.have += len(block)
                    clock.received += len(block)
                    if self.have > self.max_bytes:
                        raise TransferError(f"over the {self.max_bytes}-byte limit")
                    clock.check(self.have, self.total)
                    if self.on_bytes is not None:
                        self.on_bytes(self.have, self.total)
            except _Cut as exc:
                cut = str(exc)
        if self.total is not None and self.have != self.total:
            raise TransferError(
                f"the connection closed after {self.have} of {self.total} bytes", retry=True
            )
        if cut is not None:  # no length announced: a cut is known only by the broken stream
            raise TransferError(f"the connection broke after {self.have} bytes ({cut})", retry=True)
        return hasher.hexdigest()
