"""HTTP for one transfer: redirects kept to trusted hosts, Google Drive's pages, timed reads.

Redirects stay on the URL's own host, the hosts the caller trusts, and (for a Google Drive
link) Google Drive's own hosts; never to another scheme than HTTP(S), never HTTPS to HTTP. A
Drive link goes through Drive's "can't scan for viruses" confirmation page (gdown parses it).
Bodies are read as bytes arrive (``read1``), so the minimum rate is measured on every packet.
"""

from __future__ import annotations

import urllib.parse

import requests
import urllib3
from gdown.download import get_url_from_gdrive_confirmation
from gdown.exceptions import FileURLRetrievalError

from repro.download.limits import Clock, Limits, TransferError

MAX_REDIRECTS = 10
BLOCK = 1 << 20
_PAGE_BYTES = 1 << 20  # the largest Drive confirmation page read
DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
_DRIVE_SUFFIX = ".googleusercontent.com"
_DRIVE_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"


class Session:
    """A requests session whose redirects stay among ``hosts``, timed by ``clock``."""

    def __init__(self, url: str, hosts: tuple[str, ...], drive: bool, clock: Clock):
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
            self.clock.check_deadline(0, None)
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


def _read_page(res: requests.Response, clock: Clock) -> str:
    with res:
        data = b""
        while len(data) < _PAGE_BYTES and (block := read(res, clock, len(data), None)):
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


def read(res: requests.Response, clock: Clock, have: int, total: int | None) -> bytes:
    """The next bytes of ``res`` as they arrive (not waiting to fill a block)."""
    try:
        return res.raw.read1(BLOCK, decode_content=False)
    except urllib3.exceptions.ReadTimeoutError:
        raise clock.stalled(have, total) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # a cut: IncompleteRead, reset
        raise Cut(type(exc).__name__) from None


class Cut(Exception):
    """The connection broke before the body ended."""
