"""A loopback HTTP server with the failure modes real mirrors have, for tests.

>>> with LoopbackServer() as srv:  # doctest: +SKIP
...     srv.add("/mnist/train-labels-idx1-ubyte.gz", data)
...     srv.fail("/mnist/t10k-labels-idx1-ubyte.gz", "404")
...     url = srv.url("/mnist/")

Behaviours per path (``fail(path, mode, ...)``), each applied to the next ``times`` requests
(forever when ``times`` is None), then the file is served normally:

- ``"403"``, ``"404"``, ``"500"``: that status with a short body.
- ``"drop"``: full ``Content-Length`` header, then the connection closes after ``after`` bytes.
- ``"html"``: status 200 with an HTML page (a captive portal or a moved-file page).
- ``"wrong"``: status 200 with bytes of the right length but other content.
- ``"ignore-range"``: ``Range`` requests are answered 200 with the whole file.
- ``"slow"``: each 64 KiB chunk after a ``delay`` in seconds.
- ``"trickle"``: full ``Content-Length`` header, then one byte every ``delay`` seconds
  (a mirror that never quite stalls, so a per-read timeout never fires).
- ``"redirect"``: ``302`` with ``Location: <location>`` exactly as given (relative, another
  scheme, malformed; ``None`` sends no ``Location`` at all). A location equal to the path
  itself is a redirect loop.
- ``"endless"``: status 200, no ``Content-Length``, the file's bytes repeated until the client
  hangs up (a body with no end), or until ``after`` bytes when ``after`` is given.

It binds to 127.0.0.1 only and records every request as ``(method, path, range header)``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["LoopbackServer"]

_HTML = b"<!DOCTYPE html><html><body>The file has moved.</body></html>\n"


@dataclass
class _Rule:
    mode: str
    times: int | None
    after: int = 0
    delay: float = 0.0
    location: str | None = None


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (on purpose, in the tests) are not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) serving in-memory files."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.rules: dict[str, _Rule] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:<port><path>``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, data: bytes) -> None:
        """Serve ``data`` at ``path``."""
        self.files[path] = data

    def fail(
        self,
        path: str,
        mode: str,
        *,
        times: int | None = None,
        after: int = 0,
        delay: float = 0.0,
        location: str | None = None,
    ) -> None:
        """Make ``path`` misbehave (see the module docstring) for the next ``times`` requests."""
        if mode not in _BEHAVIOURS:
            raise ValueError(f"unknown failure mode {mode!r}; known: {sorted(_BEHAVIOURS)}")
        self.rules[path] = _Rule(mode, times, after, delay, location)

    def hits(self, path: str) -> int:
        """How many requests asked for ``path``."""
        return sum(1 for _, p, _ in self.requests if p == path)

    def _take_rule(self, path: str) -> _Rule | None:
        with self._lock:
            rule = self.rules.get(path)
            if rule is None:
                return None
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    del self.rules[path]
            return rule

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            server.requests.append(("GET", self.path, rng))
            rule = server._take_rule(self.path)
            data = server.files.get(self.path)
            if data is None and not (rule and rule.mode == "redirect"):  # a redirect needs none
                self._send(404, b"not found\n")
                return
            _BEHAVIOURS.get(rule.mode if rule else "ok", _serve)(self, data or b"", rng, rule)

        def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _parse_range(rng: str | None, size: int) -> int | None:
    if not rng or not rng.startswith("bytes=") or not rng.endswith("-"):
        return None
    start = int(rng[6:-1])
    return start if 0 <= start <= size else None


def _serve(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    start = _parse_range(rng, len(data))
    if start is not None and start == len(data):
        h.send_response(416)
        h.send_header("Content-Range", f"bytes */{len(data)}")
        h.send_header("Content-Length", "0")
        h.end_headers()
        return
    body = data[start:] if start is not None else data
    h.send_response(206 if start is not None else 200)
    if start is not None:
        h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    h.send_header("Content-Type", "application/octet-stream")
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Accept-Ranges", "bytes")
    h.end_headers()
    delay = rule.delay if rule else 0.0
    for i in range(0, len(body), 1 << 16):
        if delay:
            time.sleep(delay)
        h.wfile.write(body[i : i + (1 << 16)])


def _status(code: int) -> Any:
    def send(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
        h._send(code, f"error {code}\n".encode())

    return send


def _drop(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    start = _parse_range(rng, len(data)) or 0
    body = data[start:]
    h.send_response(206 if start else 200)
    if start:
        h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body[: rule.after if rule else 0])
    h.wfile.flush()
    h.close_connection = True
    h.connection.shutdown(2)


def _html(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h._send(200, _HTML, "text/html")


def _wrong(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h._send(200, bytes(b ^ 0xFF for b in data[:64]) + data[64:], "application/octet-stream")


def _ignore_range(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h._send(200, data, "application/octet-stream")


def _trickle(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.close_connection = True
    delay = rule.delay if rule else 1.0
    with contextlib.suppress(OSError):  # the client gave up: stop quietly
        for i in range(len(data)):
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            time.sleep(delay)


def _redirect(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h.send_response(302)
    if rule is not None and rule.location is not None:
        h.send_header("Location", rule.location)
    h.send_header("Content-Length", "0")
    h.end_headers()


def _endless(h: Any, data: bytes, rng: str | None, rule: _Rule | None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.end_headers()  # no Content-Length: the body ends when the connection closes
    h.close_connection = True
    block = (data or b"\0") * max(1, (1 << 16) // max(1, len(data)))
    limit = rule.after if rule and rule.after else None
    sent = 0
    with contextlib.suppress(OSError):  # the client gave up: stop quietly
        while limit is None or sent < limit:
            piece = block if limit is None else block[: limit - sent]
            h.wfile.write(piece)
            sent += len(piece)


_BEHAVIOURS = {
    "ok": _serve,
    "403": _status(403),
    "404": _status(404),
    "500": _status(500),
    "drop": _drop,
    "html": _html,
    "wrong": _wrong,
    "ignore-range": _ignore_range,
    "slow": _serve,
    "trickle": _trickle,
    "redirect": _redirect,
    "endless": _endless,
}
