"""An HTTP server on 127.0.0.1 for download tests: Range requests, a cut connection, a log.

``Server.files`` maps a path (``/good.zip``) to the bytes served; ``Server.cut`` holds paths
whose next full transfer stops after half the body (the connection closes: a cut); every request
is logged as ``(method, path, Range header)``. Answers carry an ``ETag`` (the body's sha256), so
``If-Range`` works as on real servers. ``Server.pages`` maps a path to a callable
``page(handler, query)`` that answers with ``handler.reply(...)`` or ``handler.send_file(...)``
(the Google Drive emulation of test_fetch).
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
        """Serve ``body``, honouring ``Range`` (and ``If-Range``); cut it if listed in ``cut``."""
        head = self.head
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"Content-Type": "application/octet-stream", "ETag": etag, **(extra or {})}
        headers["Accept-Ranges"] = "bytes"
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if_range = self.headers.get("If-Range")
        start = int(wanted[1]) if wanted and (if_range is None or if_range == etag) else 0
        if start >= len(body) > 0:
            self.reply(416, {"Content-Range": f"bytes */{len(body)}"}, b"")
            return
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        chunk = body[start:]
        cut = not head and self.path.split("?")[0] in self.server.cut
        if cut:
            self.server.cut.discard(self.path.split("?")[0])
        status = 206 if start else 200
        self.reply(status, headers, b"" if head else chunk, length=len(chunk), cut=cut)

    def reply(
        self, status: int, headers: dict, body: bytes, *, length: int | None = None, cut=False
    ) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body[: len(body) // 2] if cut else body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a size limit): expected in those tests
        self.close_connection = True


class Server(ThreadingHTTPServer):
    """A loopback server in a thread; use as a context manager."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.pages: dict[str, Callable] = {}
        self.log: list[tuple[str, str, str | None]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def gets(self, path: str) -> list[str | None]:
        """The Range header of every GET of ``path`` (None: a whole-file request)."""
        return [rng for method, p, rng in self.log if method == "GET" and p == path]

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
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
