"""Bytes from mirrors to the cache, verified before they become visible.

For each file: the user's mirrors (``$IMAGESETS_MIRROR``) are tried first, then the catalog's
URLs in order. A download streams into ``<name>.part`` beside the target, resumes an existing
part with an HTTP ``Range`` request (starting over when the server ignores it), retries
transient failures with backoff, checks the size and then the sha256, and only then renames the
part into place (atomic on one filesystem). A per-file lock makes concurrent processes fetch
once. This module knows no formats and no prepared cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
import urllib3
from filelock import FileLock

from .catalog import RemoteFile
from .config import is_offline, user_mirrors
from .errors import FetchError, OfflineError, VerificationError

__all__ = ["candidate_urls", "ensure_files", "fetch_file", "hash_file"]

log = logging.getLogger("imagesets")

CHUNK = 1 << 20
TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
RETRIES = 2  # extra attempts per URL for transient failures
BACKOFF = 0.25  # seconds, doubled per attempt
USER_AGENT = "imagesets (+https://github.com/imagesets/imagesets)"


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
    from tqdm import tqdm

    return tqdm(
        total=rf.size,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=rf.name,
        file=sys.stderr,
        leave=False,
        disable=not (show and sys.stderr.isatty()),
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
                out.write(chunk)
            bar.update(len(chunk))
    return {name: d.hexdigest() for name, d in digests.items()}


# --------------------------------------------------------------------------- one URL


def _http_stream(session: requests.Session, url: str, start: int) -> tuple[Iterator[bytes], int]:
    """Open ``url`` from byte ``start``; returns the chunks and the offset they begin at."""
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        resp = session.get(url, stream=True, timeout=TIMEOUT, headers=headers)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Transient(f"connection failed: {type(exc).__name__}") from exc
    if resp.status_code == 416 and start:  # the part is already whole
        resp.close()
        return iter(()), start
    if resp.status_code >= 500 or resp.status_code == 429:
        resp.close()
        raise _Transient(f"HTTP {resp.status_code} {resp.reason}")
    if resp.status_code >= 400:
        resp.close()
        raise _Fatal(f"HTTP {resp.status_code} {resp.reason}")
    offset = start if resp.status_code == 206 and _range_start(resp) == start else 0
    return _chunks(resp), offset


def _range_start(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Range", "")  # "bytes 100-199/200"
    with contextlib.suppress(ValueError, IndexError):
        return int(value.split()[1].split("-")[0])
    return None


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    """The body exactly as sent (no Content-Encoding decoding: a .gz served with
    ``Content-Encoding: gzip`` must stay compressed), as soon as bytes arrive, so a dropped
    connection keeps everything received."""
    try:
        while chunk := resp.raw.read1(CHUNK, decode_content=False):
            yield chunk
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _Transient(f"connection dropped mid-file: {type(exc).__name__}") from exc
    finally:
        resp.close()


def _file_stream(url: str, start: int) -> tuple[Iterator[bytes], int]:
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise _Fatal(f"cannot open local file: {exc.strerror or exc}") from exc
    fh.seek(start)
    return _file_chunks(fh), start


def _file_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _sniff(part: Path) -> str:
    with part.open("rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return " (the server sent an HTML page, not the file)"
    return ""


def _download_once(
    session: requests.Session, url: str, rf: RemoteFile, part: Path, show: bool
) -> None:
    """One attempt: resume or start ``part`` from ``url``, then verify it (size, sha256)."""
    start = part.stat().st_size if part.exists() else 0
    limit = rf.size if rf.size is not None else float("inf")
    if start > limit:
        part.unlink()
        start = 0
    if url.startswith("file:"):
        chunks, offset = _file_stream(url, start)
    else:
        chunks, offset = _http_stream(session, url, start)
    digest = hashlib.new(rf.algorithm)
    if offset:
        with part.open("rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
    written = offset
    with part.open("r+b" if offset else "wb") as out, _progress_bar(rf, offset, show) as bar:
        out.seek(offset)
        out.truncate()
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                out.close()
                part.unlink()
                raise _Fatal(f"size: expected {rf.size} bytes, the server sent more", True)
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())
    try:
        _verify(rf, part, written, digest.hexdigest())
    except _Fatal as exc:
        exc.resumed = offset > 0
        raise


def _verify(rf: RemoteFile, part: Path, size: int, digest: str) -> None:
    """Size, then the hash (sha256, or md5 for a file with nothing else published)."""
    if not rf.size_ok(size):
        reason = f"size: expected {rf.size} bytes, found {size}{_sniff(part)}"
        part.unlink()
        raise _Fatal(reason, True)
    if digest != rf.digest:
        part.unlink()
        raise _Fatal(f"{rf.algorithm}: expected {rf.digest}, found {digest}", True)


def _try_url(
    session: requests.Session, url: str, rf: RemoteFile, part: Path, show: bool, retries: int
) -> None:
    """Transient failures are retried (resuming the part) with backoff; a resumed download
    that fails verification (a stale part) is started over once from byte 0."""
    attempt, fresh_retry = 0, True
    while True:
        try:
            _download_once(session, url, rf, part, show)
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

    Raises:
        OfflineError: ``$IMAGESETS_OFFLINE`` is set and the file is missing.
        VerificationError: every URL gave wrong bytes (names each URL, expected and found).
        FetchError: every URL failed; lists each URL and why.
    """
    dest = folder / rf.name
    if _present(dest, rf):
        return dest
    if is_offline():
        raise _offline_error(dataset, [rf], folder)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f".{rf.name}.lock")):
        if _present(dest, rf):
            return dest  # another process fetched it while we waited
        _fetch_locked(dataset, rf, dest, progress, retries, session or _session())
    return dest


def _session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def _fetch_locked(
    dataset: str,
    rf: RemoteFile,
    dest: Path,
    progress: bool,
    retries: int,
    session: requests.Session,
) -> None:
    part = dest.with_name(dest.name + ".part")
    urls = candidate_urls(dataset, rf)
    failures = _Failures()
    for url in urls:
        try:
            _try_url(session, url, rf, part, progress, retries)
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

    In offline mode the error lists every missing file at once.
    """
    missing = [f for f in files if not _present(folder / f.name, f)]
    if missing and is_offline():
        raise _offline_error(dataset, missing, folder)
    session = _session() if missing else None
    return {
        f.name: fetch_file(dataset, f, folder, progress=progress, session=session) for f in files
    }


def _present(path: Path, rf: RemoteFile) -> bool:
    return path.is_file() and rf.size_ok(path.stat().st_size)
