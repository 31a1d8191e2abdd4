"""A local gallery of one split in the browser: ``imagesets browse NAME``.

A stdlib HTTP server bound to 127.0.0.1 serves three static files shipped in this package
(``static/index.html``, ``app.js``, ``style.css``: no build step, no CDN) and a small JSON
API over the memory-mapped split:

* ``GET /api/info``: name, split, count, kind, classes with counts, superclasses and
  ``fine_to_coarse`` (CIFAR-100), the skipped files with reasons, and the pixel statistics;
* ``GET /api/page?page=P&per=K[&label=C|&coarse=S]``: the indices and labels of one page of
  thumbnails, optionally of one class or superclass;
* ``GET /img/I.png[?zoom=1]``: image ``I`` as a PNG thumbnail (or enlarged), a boxed split's
  digit boxes drawn; images are decoded one by one on request.

Nothing else is served: no path from the browser reaches the file system, and a bad page,
index or parameter is a 400 with a JSON error, never a traceback.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset import Split

__all__ = ["HOST", "MAX_PER_PAGE", "BadRequest", "Gallery"]

#: The only address the gallery listens on.
HOST = "127.0.0.1"
#: The most thumbnails one page may ask for.
MAX_PER_PAGE = 500
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
_IMAGE = re.compile(r"^/img/(\d{1,12})\.png$")


class BadRequest(Exception):
    """A parameter the gallery cannot serve: answered with 400 and this message."""


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    values = query.get(key)
    if not values:
        return default
    raw = values[-1]
    if not re.fullmatch(r"-?\d{1,12}", raw):
        raise BadRequest(f"{key}: expected an integer, found {raw[:40]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"{key}: expected {low}..{high}, found {value}")
    return value


class Gallery:
    """The gallery server of ``split`` (of dataset ``dataset``) on ``127.0.0.1:port``
    (``port`` 0: a free one). :meth:`start` serves in a thread, :meth:`serve_forever` in this
    one; :meth:`close` stops it. Use as a context manager to start and close it."""

    def __init__(self, dataset: str, split: Split, *, port: int = 0) -> None:
        self.dataset, self.split = dataset, split
        handler = type("Handler", (_Handler,), {"gallery": self})
        self.server = ThreadingHTTPServer((HOST, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._by_label: dict[tuple[str, int], np.ndarray[Any, Any]] = {}

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://{HOST}:{self.server.server_address[1]}/"

    def start(self) -> Gallery:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()

    def __enter__(self) -> Gallery:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- what the API answers

    @cached_property
    def info(self) -> dict[str, Any]:
        from ..notebook import _counts

        split = self.split
        counts = _counts(split)
        coarse = list(split.superclasses)
        mapping = (
            split.fine_to_coarse.tolist() if coarse and "coarse_labels" in split.arrays else []
        )
        stats = None
        if split.kind == "arrays":
            result = split.stats()
            stats = {"mean": list(result.mean), "std": list(result.std)}
        return {
            "dataset": self.dataset,
            "split": split.name,
            "count": len(split),
            "kind": split.kind,
            "classes": list(split.classes),
            "counts": counts.tolist() if counts is not None else [],
            "labelled": split.kind != "boxed" and "labels" in split.arrays,
            "superclasses": coarse,
            "fine_to_coarse": mapping,
            "skipped": split.skipped,
            "stats": stats,
        }

    def _rows(self, key: str, value: int) -> np.ndarray[Any, Any]:
        with self._lock:
            if (key, value) not in self._by_label:
                labels = self.split.arrays["coarse_labels" if key == "coarse" else "labels"]
                self._by_label[(key, value)] = np.flatnonzero(np.asarray(labels) == value)
            return self._by_label[(key, value)]

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        info = self.info
        per = _int(query, "per", 60, 1, MAX_PER_PAGE)
        rows: np.ndarray[Any, Any] | None = None
        for key, names in (("label", info["classes"]), ("coarse", info["superclasses"])):
            if key in query:
                if not info["labelled"] or not names:
                    raise BadRequest(f"{key}: this split has no such labels")
                rows = self._rows(key, _int(query, key, 0, 0, len(names) - 1))
        total = len(rows) if rows is not None else len(self.split)
        pages = max(1, -(-total // per))
        page = _int(query, "page", 0, 0, pages - 1)
        chosen = np.arange(page * per, min(total, (page + 1) * per))
        indices = rows[chosen] if rows is not None else chosen
        items = []
        for i in indices.tolist():
            item: dict[str, Any] = {"index": i}
            if info["labelled"]:
                label = int(self.split.labels[i])
                item.update(label=label, name=self.split.class_name(label))
            items.append(item)
        return {"total": total, "page": page, "pages": pages, "per": per, "items": items}

    def image(self, index: int, query: dict[str, list[str]]) -> bytes:
        from ..notebook import picture_of, png_bytes, thumbnail

        if not 0 <= index < len(self.split):
            raise BadRequest(f"index: expected 0..{len(self.split) - 1}, found {index}")
        zoom = _int(query, "zoom", 0, 0, 1)
        picture = np.asarray(picture_of(self.split, index))
        side = 320 if zoom else 64
        return png_bytes(thumbnail(picture, side))


class _Handler(BaseHTTPRequestHandler):
    gallery: Gallery
    server_version = "imagesets-gallery"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: object) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if parts.path in STATIC:
                name, kind = STATIC[parts.path]
                body = (resources.files(__package__) / "static" / name).read_bytes()
                self._send(HTTPStatus.OK, body, kind)
            elif parts.path == "/api/info":
                self._json(HTTPStatus.OK, self.gallery.info)
            elif parts.path == "/api/page":
                self._json(HTTPStatus.OK, self.gallery.page(query))
            elif match := _IMAGE.match(parts.path):
                body = self.gallery.image(int(match.group(1)), query)
                self._send(HTTPStatus.OK, body, "image/png")
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {parts.path[:80]}"})
        except BadRequest as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
