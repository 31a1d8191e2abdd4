"""Byte streams of one URL for :mod:`imagesets.fetch`: ``http(s)://``, ``file://`` and
object stores through fsspec.

:func:`_open` opens a URL from a byte offset (an HTTP ``Range`` request, a seek) and returns a
:class:`_Body`; HTTP redirects are followed here, only to ``http://`` and ``https://``, at most
:data:`MAX_REDIRECTS` in a row. Failures are :class:`_Transient` (worth retrying on the same
URL) or :class:`_Fatal` (move on to the next URL).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3

from .fetch_limits import TIMEOUT, Limits

__all__ = ["CHUNK", "FSSPEC_SCHEMES", "MAX_REDIRECTS", "fsspec_filesystem"]

CHUNK = 1 << 20
MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Transient(Exception):
    """A failure worth retrying on the same URL (connection drop, 5xx, timeout)."""


class _Fatal(Exception):
    """A failure that moves on to the next URL at once (4xx, wrong bytes)."""

    def __init__(self, reason: str, verification: bool = False) -> None:
        super().__init__(reason)
        self.verification = verification
        self.resumed = False  # the failed attempt had resumed an earlier .part


@dataclass
class _Body:
    """An open response body: ``read(n)`` gives at most ``n`` bytes, ``b""`` at the end."""

    read: Callable[[int], bytes]
    close: Callable[[], None]
    offset: int  # the byte of the file the body starts at


def _get(session: requests.Session, url: str, headers: dict[str, str], timeout: float) -> Any:
    """One GET, redirects not followed. It goes through the session's adapter because
    ``Session.send`` parses the next ``Location`` even with ``allow_redirects=False``, so a
    malformed one would fail as if ``url`` itself were bad."""
    try:
        prep = session.prepare_request(requests.Request("GET", url, headers=headers))
        env = session.merge_environment_settings(prep.url, {}, True, None, None)
        return session.get_adapter(prep.url or url).send(
            prep,
            stream=True,
            timeout=(TIMEOUT[0], timeout),
            verify=True if env["verify"] is None else env["verify"],
            cert=env["cert"],
            proxies=env["proxies"],
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Transient(f"connection failed: {type(exc).__name__}") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
        raise _Fatal(f"unusable URL: {exc}") from exc


def _redirect_target(url: str, resp: requests.Response) -> str:
    """Where a redirect points, if that is a well-formed http(s) URL."""
    location = (resp.headers.get("Location") or "").strip()
    if not location:
        raise _Fatal(f"HTTP {resp.status_code} redirect without a Location header from {url}")
    try:
        raw = urllib.parse.urlsplit(location)
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(url, location))
        host, _ = parts.hostname, parts.port  # .port raises ValueError for a bad port
    except ValueError as exc:
        raise _Fatal(f"malformed redirect Location {location!r} from {url}: {exc}") from exc
    if (raw.scheme or parts.scheme) not in ("http", "https"):
        raise _Fatal(
            f"redirect from {url} to {location!r} refused: only http:// and https:// "
            "redirects are followed"
        )
    authority = location[len(raw.scheme) + 1 if raw.scheme else 0 :].startswith("//")
    if not host or (authority and not raw.hostname):
        raise _Fatal(f"malformed redirect Location {location!r} from {url}: no host")
    return parts.geturl()


def _open_http(session: requests.Session, url: str, start: int, limits: Limits) -> _Body:
    """Open ``url`` from byte ``start``, following at most MAX_REDIRECTS http(s) redirects."""
    headers = {"Range": f"bytes={start}-"} if start else {}
    hops = [url]
    while True:
        resp = _get(session, hops[-1], headers, limits.read_timeout)
        if resp.status_code not in _REDIRECTS:
            return _http_body(resp, start, limits.read_timeout)
        resp.close()
        if len(hops) > MAX_REDIRECTS:
            chain = " -> ".join([*hops[:2], "...", hops[-1]])
            raise _Fatal(f"more than {MAX_REDIRECTS} redirects in a row (a loop?): {chain}")
        hops.append(_redirect_target(hops[-1], resp))


def _http_body(resp: requests.Response, start: int, timeout: float) -> _Body:
    if resp.status_code == 416 and start:  # the part is already whole
        resp.close()
        return _Body(lambda n: b"", lambda: None, start)
    if resp.status_code >= 500 or resp.status_code == 429:
        resp.close()
        raise _Transient(f"HTTP {resp.status_code} {resp.reason}")
    if resp.status_code >= 300:
        resp.close()
        raise _Fatal(f"HTTP {resp.status_code} {resp.reason}")
    offset = start if resp.status_code == 206 and _range_start(resp) == start else 0
    return _Body(lambda n: _read_http(resp, n, timeout), resp.close, offset)


def _range_start(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Range", "")  # "bytes 100-199/200"
    with contextlib.suppress(ValueError, IndexError):
        return int(value.split()[1].split("-")[0])
    return None


def _read_http(resp: requests.Response, n: int, timeout: float) -> bytes:
    """At most ``n`` bytes of the body exactly as sent (no Content-Encoding decoding: a .gz
    served with ``Content-Encoding: gzip`` must stay compressed), as soon as they arrive, so a
    dropped connection keeps everything received."""
    try:
        return bytes(resp.raw.read1(n, decode_content=False))
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        raise _Fatal(f"stalled: no byte for {timeout:g} s; the part is kept for resume") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _Transient(f"connection dropped mid-file: {type(exc).__name__}") from exc


def _open_file(url: str, start: int) -> _Body:
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise _Fatal(f"cannot open local file: {exc.strerror or exc}") from exc
    fh.seek(start)
    return _Body(fh.read, fh.close, start)


def _open(session: requests.Session, url: str, start: int, limits: Limits) -> _Body:
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise _Fatal(f"malformed URL: {exc}") from exc
    if scheme == "file":
        return _open_file(url, start)
    if scheme in ("http", "https"):
        return _open_http(session, url, start, limits)
    if scheme in FSSPEC_SCHEMES:
        return _open_fsspec(url, start)
    raise _Fatal(
        f"unsupported URL (expected http://, https://, file:// or an object store: "
        f"{', '.join(s + '://' for s in FSSPEC_SCHEMES)}): {url!r}"
    )


#: Object-store schemes read through fsspec (the ``cloud`` extra: fsspec, s3fs; gcsfs and
#: adlfs for gs:// and az://), with the same resume, verification and error rules as HTTP.
FSSPEC_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")


def fsspec_filesystem(url: str) -> tuple[Any, str]:
    """``(filesystem, path)`` of an object-store URL through fsspec.

    Raises:
        MissingDependencyError: fsspec, or the scheme's implementation (s3fs for s3://), is
            not installed: names the ``cloud`` extra.
    """
    from .errors import MissingDependencyError, require

    fsspec: Any = require("fsspec", "cloud", f"the object-store URL {url}")
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec knows the scheme, its implementation is missing
        raise MissingDependencyError(
            f"the object-store URL {url} needs an fsspec implementation that is not installed "
            f"({exc}): run `pip install 'imagesets[cloud]'` (s3fs; gcsfs for gs://, adlfs "
            "for az://)"
        ) from exc
    return fs, path


def _open_fsspec(url: str, start: int) -> _Body:
    """An object from ``start`` (a ranged read), read in blocks of :data:`CHUNK`."""
    fs, path = fsspec_filesystem(url)
    try:
        fh = fs.open(path, "rb", block_size=CHUNK)
        fh.seek(start)
    except FileNotFoundError as exc:
        raise _Fatal("not found (no such object)") from exc
    except PermissionError as exc:
        raise _Fatal(f"access denied: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise _Transient(f"object store error: {type(exc).__name__}: {exc}") from exc

    def read(n: int) -> bytes:
        try:
            return bytes(fh.read(n))
        except FileNotFoundError as exc:
            raise _Fatal("the object vanished mid-file") from exc
        except (OSError, ValueError) as exc:
            raise _Transient(f"object store read failed mid-file: {type(exc).__name__}") from exc

    return _Body(read, fh.close, start)
