"""An HTTP server on 127.0.0.1 for download tests: Range requests, cuts, stalls, a log.

``Server.files`` maps a path (``/good.zip``) to the bytes served. Answers carry a strong
``ETag`` (the body's sha256) and honour ``Range`` with ``If-Range``, as real servers do; per path
a test can make the server misbehave:

- ``cut``: the next full transfer stops after half the body (the connection closes);
- ``etags``: the ``ETag`` sent instead (``None``: no validator at all; ``'W/"x"'``: a weak one);
- ``no_range``: ``Range`` is ignored (always 200 and the whole body);
- ``no_if_range``: ``Range`` is honoured even when ``If-Range`` names another version;
- ``bad_range``: ``Range`` is answered by a 206 of as many bytes, but from the start (a buggy
  server whose ``Content-Range`` says so);
- ``no_length``: no ``Content-Length`` (the body ends when the connection closes);
- ``pace``: ``(bytes, seconds)``: the body is sent that many bytes at a time, with a pause;
- ``stall``: seconds to wait after the headers before the body.

Every request is logged as ``(method, path, Range header)`` in ``log`` and with all its headers
in ``requests``. ``Server.pages`` maps a path to a callable ``page(handler, query)`` that answers
with ``handler.reply(...)`` or ``handler.send_file(...)`` (the Google Drive emulation of
test_fetch, redirects).
"""

from __future__ import annotations

import hashlib
import re
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _Handler(BaseHTTPRequestHandler):
    server: Server  # type: ignore[assignment]

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        parts = urllib.parse.urlsplit(self.path)
        srv = self.server
        srv.log.append((self.command, parts.path, self.headers.get("Range")))
        srv.requests.append({"method": self.command, "path": parts.path, **self.headers})
        self.head = head
        if parts.path in srv.pages:
            srv.pages[parts.path](self, urllib.parse.parse_qs(parts.query))
            return
        body = srv.files.get(parts.path)
        if body is None:
            self.reply(404, {"Content-Type": "text/plain"}, b"not found")
            return
        self.send_file(body)

    def send_file(self, body: bytes, extra: dict | None = None) -> None:
        """Serve ``body`` as the server's settings for this path say (see the module doc)."""
        srv, path, head = self.server, self.path.split("?")[0], self.head
        etag = srv.etags.get(path, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if etag is not None:
            headers["ETag"] = etag
        headers.update(extra or {})
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if_range = self.headers.get("If-Range")
        same = if_range is None or if_range == etag or path in srv.no_if_range
        start = int(wanted[1]) if wanted and same and path not in srv.no_range else 0
        if start and path in srv.bad_range:
            headers["Content-Range"] = f"bytes 0-{len(body) - start - 1}/{len(body)}"
            self.reply(206, headers, b"" if head else body[: len(body) - start])
            return
        if start >= len(body) > 0:
            self.reply(416, {"Content-Range": f"bytes */{len(body)}"}, b"")
            return
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        chunk = body[start:]
        cut = not head and path in srv.cut
        if cut:
            srv.cut.discard(path)
        length = None if path in srv.no_length else len(chunk)
        self.reply(206 if start else 200, headers, b"" if head else chunk, length=length, cut=cut)

    def reply(
        self, status: int, headers: dict, body: bytes, *, length: int | None = -1, cut=False
    ) -> None:
        """Answer ``status``; ``length``: the Content-Length sent (-1: the body's, None: none)."""
        srv, path = self.server, self.path.split("?")[0]
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if length is not None:
            self.send_header("Content-Length", str(len(body) if length == -1 else length))
        self.send_header("Connection", "close")
        self.end_headers()
        body = body[: len(body) // 2] if cut else body
        step, pause = srv.pace.get(path, (len(body) or 1, 0.0))
        try:
            self.wfile.flush()
            if path in srv.stall:
                srv.stopping.wait(srv.stall[path])
            for at in range(0, len(body), step):
                if srv.stopping.is_set():
                    break
                self.wfile.write(body[at : at + step])
                self.wfile.flush()
                if pause:
                    srv.stopping.wait(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a size or rate limit): expected in those tests
        self.close_connection = True


class Server(ThreadingHTTPServer):
    """A loopback server in a thread; use as a context manager."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.etags: dict[str, str | None] = {}
        self.no_range: set[str] = set()
        self.no_if_range: set[str] = set()
        self.bad_range: set[str] = set()
        self.no_length: set[str] = set()
        self.pace: dict[str, tuple[int, float]] = {}
        self.stall: dict[str, float] = {}
        self.pages: dict[str, Callable] = {}
        self.log: list[tuple[str, str, str | None]] = []
        self.requests: list[dict] = []
        self.stopping = threading.Event()  # ends paced and stalled answers at shutdown
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def etag_of(self, path: str) -> str | None:
        """The ETag served for ``path`` now."""
        default = '"' + hashlib.sha256(self.files[path]).hexdigest()[:32] + '"'
        return self.etags.get(path, default)

    def gets(self, path: str) -> list[str | None]:
        """The Range header of every GET of ``path`` (None: a whole-file request)."""
        return [rng for method, p, rng in self.log if method == "GET" and p == path]

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join()


def guard_loopback(monkeypatch) -> None:
    """Refuse any connection but to loopback (requests/urllib3 and the socket module alike)."""
    import socket

    import urllib3.util.connection as u3

    def only_loopback(real):
        def guarded(address, *args, **kwargs):
            if address[0] not in LOOPBACK:
                raise AssertionError(f"a test tried to contact {address[0]}")
            return real(address, *args, **kwargs)

        return guarded

    monkeypatch.setattr(socket, "create_connection", only_loopback(socket.create_connection))
    monkeypatch.setattr(u3, "create_connection", only_loopback(u3.create_connection))
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
