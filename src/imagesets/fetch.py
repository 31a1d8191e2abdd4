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

The limits and the disk-space checks live in :mod:`imagesets.fetch_limits`, the stream openers
(HTTP with redirects, ``file://``, fsspec) in :mod:`imagesets.fetch_streams`; their public names
stay importable from here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
from filelock import FileLock

from .catalog import RemoteFile
from .config import is_offline, user_mirrors
from .errors import FetchError, OfflineError, VerificationError
from .fetch_limits import MAX_UNSIZED as MAX_UNSIZED  # kept importable from here
from .fetch_limits import MAX_UNSIZED_ENV as MAX_UNSIZED_ENV  # kept importable from here
from .fetch_limits import MIN_RATE as MIN_RATE  # kept importable from here
from .fetch_limits import MIN_RATE_ENV as MIN_RATE_ENV  # kept importable from here
from .fetch_limits import RATE_WINDOW as RATE_WINDOW  # kept importable from here
from .fetch_limits import RATE_WINDOW_ENV as RATE_WINDOW_ENV  # kept importable from here
from .fetch_limits import TIMEOUT as TIMEOUT  # kept importable from here
from .fetch_limits import Limits, _write_error, check_space, no_space_error
from .fetch_streams import CHUNK as CHUNK  # kept importable from here
from .fetch_streams import FSSPEC_SCHEMES as FSSPEC_SCHEMES  # kept importable from here
from .fetch_streams import MAX_REDIRECTS as MAX_REDIRECTS  # kept importable from here
from .fetch_streams import _Body, _Fatal, _open, _Transient
from .fetch_streams import fsspec_filesystem as fsspec_filesystem  # kept importable from here

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

RETRIES = 2  # extra attempts per URL for transient failures
BACKOFF = 0.25  # seconds, doubled per attempt
USER_AGENT = "imagesets (+https://github.com/imagesets/imagesets)"


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


# --------------------------------------------------------------------------- one URL


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
