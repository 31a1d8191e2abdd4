"""Bytes from mirrors to the cache, verified before they become visible.

For each file: the user's mirrors (``$IMAGESETS_MIRROR``) are tried first, then the catalog's
URLs in order. A download streams into ``<name>.part`` beside the target, resumes an existing
part with an HTTP ``Range`` request (starting over when the server ignores it), retries
transient failures with backoff, checks the size and then the sha256, and only then renames the
part into place (atomic on one filesystem). A per-file lock makes concurrent processes fetch
once. This module knows no formats and no prepared cache.

Every failure of one URL (an HTTP error, a bad redirect, wrong bytes, a mirror too slow) moves
on to the next URL; only when all fail is a :class:`~imagesets.errors.FetchError` raised, listing
each URL and why. Redirects are followed by this module, only to ``http://`` and ``https://``,
at most :data:`MAX_REDIRECTS` in a row. A full disk is a :class:`~imagesets.errors.CacheError`
(no other URL would help); the ``.part`` is kept so the next run resumes it.

Limits, read from the environment at each fetch:

- ``IMAGESETS_MIN_RATE`` (bytes/s, default 1024): a transfer averaging less over one rate
  window is abandoned for the next URL, its ``.part`` kept for resume; ``0`` turns this off.
- ``IMAGESETS_RATE_WINDOW`` (seconds, default 30): the window of that average. A mirror that
  sends nothing at all for this long (at least 10 s) is abandoned too.
- ``IMAGESETS_MAX_UNSIZED`` (bytes, default 64 GiB): the most accepted for a file whose size
  the catalog does not give (md5-only entries); a longer body is abandoned and its part removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
import urllib3
from filelock import FileLock

from .catalog import RemoteFile
from .config import is_offline, user_mirrors
from .errors import CacheError, FetchError, OfflineError, VerificationError

__all__ = [
    "Limits",
    "candidate_urls",
    "check_space",
    "ensure_files",
    "fetch_file",
    "hash_file",
    "no_space_error",
]

log = logging.getLogger("imagesets")

CHUNK = 1 << 20
TIMEOUT = (10.0, 60.0)  # connect, read (seconds); the read timeout shrinks to the rate window
RETRIES = 2  # extra attempts per URL for transient failures
BACKOFF = 0.25  # seconds, doubled per attempt
USER_AGENT = "imagesets (+https://github.com/imagesets/imagesets)"
MAX_REDIRECTS = 10
MIN_RATE_ENV, MIN_RATE = "IMAGESETS_MIN_RATE", 1024.0  # bytes per second
RATE_WINDOW_ENV, RATE_WINDOW = "IMAGESETS_RATE_WINDOW", 30.0  # seconds
MAX_UNSIZED_ENV, MAX_UNSIZED = "IMAGESETS_MAX_UNSIZED", 64 << 30  # bytes
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Transient(Exception):
    """A failure worth retrying on the same URL (connection drop, 5xx, timeout)."""


class _Fatal(Exception):
    """A failure that moves on to the next URL at once (4xx, wrong bytes)."""

    def __init__(self, reason: str, verification: bool = False) -> None:
        super().__init__(reason)
        self.verification = verification
        self.resumed = False  # the failed attempt had resumed an earlier .part


def candidate_urls(dataset: str, rf: RemoteFile) -> list[str]:
    """The URLs tried for ``rf``, in order: user mirrors, then the catalog's URLs."""
    quoted = urllib.parse.quote(rf.name)
    return [f"{base}/{dataset}/{quoted}" for base in user_mirrors()] + list(rf.urls)


def _progress_bar(rf: RemoteFile, initial: int, show: bool) -> Any:
    from ._progress import bar

    return bar(
        show,
        total=rf.size,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=rf.name,
    )


def hash_file(
    path: Path,
    algorithms: Sequence[str] = ("sha256",),
    *,
    progress: bool = False,
    out: IO[bytes] | None = None,
) -> dict[str, str]:
    """Hex digests of a whole file for each hashlib algorithm named, in one read of 1 MiB
    chunks (a progress bar when asked); each chunk is also written to ``out`` if given."""
    digests = {name: hashlib.new(name) for name in algorithms}
    size = path.stat().st_size
    bar = _progress_bar(RemoteFile(path.name, size, "0" * 64), 0, progress)
    with path.open("rb") as fh, bar:
        while chunk := fh.read(CHUNK):
            for digest in digests.values():
                digest.update(chunk)
            if out is not None:
                _write_all(out, chunk)
            bar.update(len(chunk))
    return {name: d.hexdigest() for name, d in digests.items()}


def _write_all(out: IO[bytes], data: bytes) -> None:
    """Write every byte of ``data`` (an unbuffered file may take fewer per call)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """How long a slow mirror is given, and how much a file of unknown size may grow.

    Attributes:
        min_rate: bytes/s a transfer must average over each window; 0 turns the check off.
        window: seconds of that average (> 0).
        max_unsized: most bytes accepted for a file whose size the catalog does not give.
    """

    min_rate: float = MIN_RATE
    window: float = RATE_WINDOW
    max_unsized: int = MAX_UNSIZED

    @classmethod
    def from_env(cls) -> Limits:
        """The limits set in ``$IMAGESETS_MIN_RATE``, ``$IMAGESETS_RATE_WINDOW`` and
        ``$IMAGESETS_MAX_UNSIZED``, else the defaults.

        Raises:
            FetchError: a variable holds something other than a number in range.
        """
        return cls(
            _env_number(MIN_RATE_ENV, MIN_RATE, float, "bytes per second, 0 or more", 0),
            _env_number(RATE_WINDOW_ENV, RATE_WINDOW, float, "seconds, more than 0", None),
            int(_env_number(MAX_UNSIZED_ENV, MAX_UNSIZED, int, "whole bytes, 1 or more", None)),
        )

    @property
    def read_timeout(self) -> float:
        """Seconds without a byte before a mirror counts as stalled: the window, within 10-60."""
        return min(TIMEOUT[1], max(self.window, 10.0)) if self.min_rate else TIMEOUT[1]


def _env_number(
    name: str, default: float, kind: type[float] | type[int], what: str, floor: float | None
) -> float:
    """``$name`` as a number (``default`` when unset): ``>= floor``, or ``> 0`` without one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(kind(raw))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value >= floor if floor is not None else value > 0)):
        raise FetchError(
            f"{name}={raw!r} is not usable: expected {what}; set it to such a number, "
            f"or unset it for the default ({default:g})"
        )
    return value


class _RateGuard:
    """Abandons a transfer that averages under ``min_rate`` over a window (fixed windows)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.start = time.monotonic()
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        elapsed = time.monotonic() - self.start
        if not self.limits.min_rate or elapsed < self.limits.window:
            return
        rate = self.count / elapsed
        if rate < self.limits.min_rate:
            raise _Fatal(
                f"too slow: {self.count} bytes in {elapsed:.1f} s ({rate:.0f} bytes/s), under "
                f"the minimum of {self.limits.min_rate:g} bytes/s over {self.limits.window:g} s "
                f"(set by {MIN_RATE_ENV} and {RATE_WINDOW_ENV}); the part is kept for resume"
            )
        self.start, self.count = time.monotonic(), 0


# --------------------------------------------------------------------------- disk space


def _free_bytes(folder: Path) -> int | None:
    """Bytes free to us on the filesystem of ``folder`` (or its nearest existing parent)."""
    for p in (folder, *folder.parents):
        with contextlib.suppress(OSError):
            if p.exists():
                return shutil.disk_usage(p).free
    return None


def no_space_error(action: str, folder: Path, needed: int | None, note: str) -> CacheError:
    """The error for a full disk (or quota): what, where, bytes needed and free, what to do."""
    free = _free_bytes(folder)
    need = f"{needed} more bytes" if needed is not None else "more bytes (size unpublished)"
    have = f"{free} bytes free" if free is not None else "free space unknown"
    return CacheError(
        f"no space left on the device for {action} in {folder}: needs {need}, {have} there "
        f"(shutil.disk_usage); {note}; what to do: free space on that filesystem, or set "
        "IMAGESETS_HOME to a folder on a larger disk, then run again"
    )


def check_space(action: str, folder: Path, needed: int) -> None:
    """Fail fast, before writing anything, when ``folder``'s filesystem has under ``needed``.

    Raises:
        CacheError: the filesystem reports less free space than ``needed``.
    """
    free = _free_bytes(folder)
    if free is not None and needed > free:
        raise no_space_error(action, folder, needed, "nothing was written")


def _write_error(exc: OSError, rf: RemoteFile, part: Path) -> CacheError:
    """A write to ``part`` failed: a full disk (the part kept for resume) or another error."""
    size = part.stat().st_size if part.exists() else 0
    if exc.errno in _NO_SPACE:
        needed = rf.size - size if rf.size is not None else None
        note = (
            f"the partial download {part.name} ({size} bytes) is kept so that the next run "
            "resumes it (delete it to get that space back)"
        )
        return no_space_error(f"downloading {rf.name}", part.parent, needed, note)
    return CacheError(
        f"cannot write {part}: {exc.strerror or exc}; check the disk and the permissions of "
        "that folder, or set IMAGESETS_HOME to another folder"
    )


# --------------------------------------------------------------------------- one URL


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


def _sniff(part: Path) -> str:
    with part.open("rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return " (the server sent an HTML page, not the file)"
    return ""


def _too_long(url: str, rf: RemoteFile, limit: int) -> _Fatal:
    if rf.size is not None:
        return _Fatal(f"size: expected {rf.size} bytes, the server sent more", True)
    return _Fatal(
        f"{rf.name} has no published size and {url} sent more than the cap of {limit} bytes "
        f"for such files, so it was abandoned and its part removed; if the file really is "
        f"larger, set {MAX_UNSIZED_ENV} to a larger number of bytes"
    )


@dataclass(frozen=True)
class _Job:
    """One file to fetch: what, into which part file, and how."""

    rf: RemoteFile
    part: Path
    session: requests.Session
    show: bool
    retries: int
    limits: Limits

    @property
    def limit(self) -> int:
        """The most bytes the file may have: its size, else the cap for unsized files."""
        return self.rf.size if self.rf.size is not None else self.limits.max_unsized


def _download_once(job: _Job, url: str) -> None:
    """One attempt: resume or start the part from ``url``, then verify it (size, sha256)."""
    rf, part = job.rf, job.part
    start = part.stat().st_size if part.exists() else 0
    if start > job.limit:
        part.unlink()
        start = 0
    body = _open(job.session, url, start, job.limits)
    digest = hashlib.new(rf.algorithm)
    try:
        if body.offset:
            with part.open("rb") as fh:
                while block := fh.read(CHUNK):
                    digest.update(block)
        written = _receive(job, url, body, digest)
    finally:
        body.close()
    try:
        _verify(rf, part, written, digest.hexdigest())
    except _Fatal as exc:
        exc.resumed = body.offset > 0
        raise


def _receive(job: _Job, url: str, body: _Body, digest: Any) -> int:
    """Write ``body`` into the part from ``body.offset``, reading at most ``job.limit + 1``
    bytes of the file in all; returns the bytes the part holds."""
    rf, part, limit = job.rf, job.part, job.limit
    written, guard = body.offset, _RateGuard(job.limits)
    try:
        with (
            part.open("r+b" if body.offset else "wb", buffering=0) as out,
            _progress_bar(rf, body.offset, job.show) as bar,
        ):
            out.seek(body.offset)
            out.truncate()
            while chunk := body.read(min(CHUNK, limit + 1 - written)):
                written += len(chunk)
                if written > limit:
                    part.unlink()
                    raise _too_long(url, rf, limit)
                _write_all(out, chunk)
                digest.update(chunk)
                bar.update(len(chunk))
                guard.add(len(chunk))
            os.fsync(out.fileno())
    except OSError as exc:
        raise _write_error(exc, rf, part) from exc
    return written


def _verify(rf: RemoteFile, part: Path, size: int, digest: str) -> None:
    """Size, then the hash (sha256, or md5 for a file with nothing else published)."""
    if not rf.size_ok(size):
        reason = f"size: expected {rf.size} bytes, found {size}{_sniff(part)}"
        part.unlink()
        raise _Fatal(reason, True)
    if digest != rf.digest:
        part.unlink()
        raise _Fatal(f"{rf.algorithm}: expected {rf.digest}, found {digest}", True)


def _try_url(job: _Job, url: str) -> None:
    """Transient failures are retried (resuming the part) with backoff; a resumed download
    that fails verification (a stale part) is started over once from byte 0."""
    retries, attempt, fresh_retry = job.retries, 0, True
    while True:
        try:
            _download_once(job, url)
            return
        except _Fatal as exc:
            if not (exc.resumed and fresh_retry):
                raise
            fresh_retry = False  # _verify removed the spoiled part
            log.warning("%s: %s after resuming an old part; starting over", url, exc)
        except _Transient as exc:
            if attempt == retries:
                raise _Fatal(f"{exc} (after {retries + 1} attempts)") from exc
            delay = BACKOFF * 2**attempt
            log.warning("%s: %s; retrying in %.2g s (resuming)", url, exc, delay)
            time.sleep(delay)
            attempt += 1


# --------------------------------------------------------------------------- one file


@dataclass
class _Failures:
    rows: list[tuple[str, str]] = field(default_factory=list)
    all_verification: bool = True

    def add(self, url: str, exc: _Fatal) -> None:
        self.rows.append((url, str(exc)))
        self.all_verification &= exc.verification


def fetch_file(
    dataset: str,
    rf: RemoteFile,
    folder: Path,
    *,
    progress: bool = True,
    retries: int = RETRIES,
    session: requests.Session | None = None,
) -> Path:
    """Make ``folder/rf.name`` present and verified, downloading it if needed.

    Concurrent callers (threads or processes) serialise on a per-file lock; the file is never
    visible until its size and sha256 match ``rf``.

    A ``<name>.part`` left by an earlier run (even one killed with SIGKILL: the lock dies with
    its process) is resumed; one left beside a file that is already present is removed.

    Raises:
        OfflineError: ``$IMAGESETS_OFFLINE`` is set and the file is missing.
        VerificationError: every URL gave wrong bytes (names each URL, expected and found).
        FetchError: every URL failed; lists each URL and why. Also a malformed
            ``$IMAGESETS_MIRROR`` or limit variable (see the module docstring).
        CacheError: the disk is full (bytes needed and free, and the folder, are named).
    """
    dest = folder / rf.name
    if _present(dest, rf):
        return dest
    if is_offline():
        raise _offline_error(dataset, [rf], folder)
    limits = Limits.from_env()
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f".{rf.name}.lock")):
        part = folder / f"{rf.name}.part"
        if _present(dest, rf):  # fetched (or imported) by another process while we waited
            part.unlink(missing_ok=True)
            return dest
        job = _Job(rf, part, session or _session(), progress, retries, limits)
        _fetch_locked(dataset, job, dest)
    return dest


def _session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def _fetch_locked(dataset: str, job: _Job, dest: Path) -> None:
    rf, part = job.rf, job.part
    urls = candidate_urls(dataset, rf)
    if rf.size is not None:
        have = part.stat().st_size if part.exists() else 0
        check_space(f"downloading {rf.name}", dest.parent, rf.size - min(have, rf.size))
    failures = _Failures()
    for url in urls:
        try:
            _try_url(job, url)
        except _Fatal as exc:
            log.warning("%s: %s", url, exc)
            failures.add(url, exc)
            continue
        part.replace(dest)
        log.info("fetched %s from %s", rf.name, url)
        return
    raise _all_failed(dataset, rf, failures)


def _all_failed(dataset: str, rf: RemoteFile, failures: _Failures) -> FetchError:
    lines = "\n".join(f"  - {url}: {why}" for url, why in failures.rows) or "  (no URL known)"
    todo = (
        f"what to do: set IMAGESETS_MIRROR to a mirror that has it, or download it by hand, "
        f"check it with `imagesets hash FILE`, and run `imagesets import {dataset} FILE`"
    )
    msg = (
        f"could not fetch {rf.describe()} of {dataset} "
        f"from any of {len(failures.rows)} URLs:\n{lines}\n{todo}"
    )
    if failures.rows and failures.all_verification:
        return VerificationError(msg.replace("could not fetch", "wrong bytes for", 1))
    return FetchError(msg)


def _offline_error(dataset: str, missing: Sequence[RemoteFile], folder: Path) -> OfflineError:
    rows = "\n".join(f"  - {f.describe()}" for f in missing)
    return OfflineError(
        f"IMAGESETS_OFFLINE is set and {len(missing)} file(s) of {dataset} are not in the cache "
        f"({folder}):\n{rows}\nwhat to do: copy them from a connected machine and run "
        f"`imagesets import {dataset} PATH...`, or unset IMAGESETS_OFFLINE"
    )


def ensure_files(
    dataset: str, files: Sequence[RemoteFile], folder: Path, *, progress: bool = True
) -> dict[str, Path]:
    """Fetch every file of ``files`` into ``folder``; ``{name: path}`` of verified files.

    Every file is tried even when an earlier one fails, so one error names every file that
    could not be fetched (each with its size, checksum and what every URL did), as the offline
    error lists every missing file at once. When the catalog gives the sizes and the disk has
    less free space than the missing files need, nothing is fetched.

    Raises:
        CacheError: too little free space (or the disk filled up during a download).
        FetchError: one or more files could not be fetched (all of them named).
    """
    missing = [f for f in files if not _present(folder / f.name, f)]
    if missing and is_offline():
        raise _offline_error(dataset, missing, folder)
    needed = sum(f.size - _part_size(folder, f) for f in missing if f.size is not None)
    if needed:
        check_space(f"downloading {len(missing)} file(s) of {dataset}", folder, needed)
    session = _session() if missing else None
    paths: dict[str, Path] = {}
    failed: list[tuple[RemoteFile, FetchError]] = []
    for f in files:
        try:
            paths[f.name] = fetch_file(dataset, f, folder, progress=progress, session=session)
        except FetchError as exc:
            failed.append((f, exc))
    if len(failed) == 1 and len(files) == 1:
        raise failed[0][1]
    if failed:
        raise _failed_error(dataset, failed, folder)
    return paths


def _failed_error(
    dataset: str, failed: Sequence[tuple[RemoteFile, FetchError]], folder: Path
) -> FetchError:
    rows = "\n".join(f"  - {f.describe()}: {exc}" for f, exc in failed)
    kinds = {type(exc) for _, exc in failed}
    kind = kinds.pop() if len(kinds) == 1 else FetchError  # all failed checksums: still one
    return kind(
        f"{len(failed)} file(s) of {dataset} could not be fetched:\n{rows}\nwhat to do: try "
        f"again later, set IMAGESETS_MIRROR to a mirror that has them, or copy them from "
        f"another machine and run `imagesets import {dataset} PATH...` (the cache: {folder})"
    )


def _present(path: Path, rf: RemoteFile) -> bool:
    return path.is_file() and rf.size_ok(path.stat().st_size)


def _part_size(folder: Path, rf: RemoteFile) -> int:
    """Bytes of ``rf`` already in its part file (0 when none, or when it is too long)."""
    part = folder / f"{rf.name}.part"
    size = part.stat().st_size if part.is_file() else 0
    return size if rf.size is None or size <= rf.size else 0
