"""Files the user already has, verified into the cache: ``imagesets import NAME PATH...``.

The path for air-gapped machines and for datasets behind a login (ImageNet). Each file given
(or found under a folder given) is matched to a catalog file by size, then read exactly once:
copied (or hard-linked with ``link=True``) into a hidden part file while its sha256 is computed,
with a progress bar, and renamed into place only if the hash matches. Hashing 148 GB of
ImageNet therefore happens once, and nothing unverified ever becomes visible.

Part files are only ever written under the folder's ``.import.lock``, so whoever holds that
lock removes any ``.import-*.part`` it finds (left by an import killed mid-copy). Importing a
file also removes the ``<name>.part`` a killed download left for it. A full disk is a
:class:`~imagesets.errors.CacheError` naming the bytes needed and free; imports do not resume,
so the partial copy is removed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from .catalog import RemoteFile
from .errors import CacheError, FetchError, VerificationError
from .fetch import _present, hash_file
from .fetch_limits import check_space, no_space_error

__all__ = ["ImportResult", "import_files"]

log = logging.getLogger("imagesets")

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass
class ImportResult:
    """What :func:`import_files` did.

    Attributes:
        imported: catalog file names now in the cache.
        already: catalog file names that were in the cache before (not read again).
        unmatched: given paths that match no catalog file by size and sha256.
        notes: things worth telling, such as a link that had to be a copy.
    """

    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unmatched: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _walk(paths: Sequence[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
        elif p.is_file():
            yield p
        else:
            raise FetchError(f"import: {p} is neither a file nor a folder; check the path")


def import_files(
    dataset: str,
    files: Sequence[RemoteFile],
    paths: Sequence[Path],
    folder: Path,
    *,
    progress: bool = True,
    link: bool = False,
) -> ImportResult:
    """Verify user-supplied files against ``files`` and put the matching ones in ``folder``.

    A file matches by size and sha256 (its name may differ). A file that has a catalog file's
    name but other bytes is an error; files that match nothing are reported as unmatched.

    Raises:
        VerificationError: a file named like a catalog file has the wrong size or sha256
            (the others given are still imported).
        CacheError: the disk holding ``folder`` is too full for a copy (checked before each
            copy, and on a failed write); the partial copy is removed.
    """
    by_size: dict[int | None, list[RemoteFile]] = {}
    for f in files:
        by_size.setdefault(f.size, []).append(f)
    names = {f.name: f for f in files}
    result, bad = ImportResult(), []
    folder.mkdir(parents=True, exist_ok=True)
    for path in _walk(paths):
        size = path.stat().st_size
        unsized = [f for f in by_size.get(None, []) if f.name == path.name]
        candidates = by_size.get(size, []) + unsized
        if candidates and all(_present(folder / c.name, c) for c in candidates):
            result.already.extend(c.name for c in candidates)
            continue
        found = _import_one(path, candidates, folder, link, progress, result) if candidates else {}
        if found and path.name in names:
            bad.append(_mismatch(path, names[path.name], size, found))
        if found or not candidates:
            if not candidates and path.name in names:
                bad.append(_mismatch(path, names[path.name], size, None))
            result.unmatched.append(path)
    if bad:
        raise VerificationError(
            f"import into {dataset}: " + "; ".join(bad) + "; these files were not imported "
            "(what to do: fetch them again from the official source)"
        )
    return result


def _mismatch(path: Path, rf: RemoteFile, size: int, found: dict[str, str] | None) -> str:
    if not rf.size_ok(size) or not found:
        return f"{path}: size: expected {rf.size} bytes, found {size}"
    return f"{path}: {rf.algorithm}: expected {rf.digest}, found {found.get(rf.algorithm)}"


def _import_one(
    path: Path,
    candidates: list[RemoteFile],
    folder: Path,
    link: bool,
    progress: bool,
    result: ImportResult,
) -> dict[str, str]:
    """Read ``path`` once into a part file; rename it to the matching catalog name.

    Returns ``{}`` when imported, else the digests found (no candidate has them).
    """
    algorithms = sorted({c.algorithm for c in candidates})
    with FileLock(str(folder / ".import.lock")):
        part = folder / f".import-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"
        _remove_dead_parts(folder)
        try:
            found = _copy_hashing(path, part, algorithms, link, progress, result)
            match = next((c for c in candidates if found[c.algorithm] == c.digest), None)
            if match is None:
                return found
            part.replace(folder / match.name)
            result.imported.append(match.name)
            _remove_download_part(folder, match.name)
            return {}
        finally:
            part.unlink(missing_ok=True)


def _remove_dead_parts(folder: Path) -> None:
    """Remove ``.import-*.part`` files: with ``.import.lock`` held, none is being written."""
    for stale in folder.glob(".import-*.part"):
        with contextlib.suppress(FileNotFoundError):
            size = stale.stat().st_size
            stale.unlink()
            log.info("removed %s (%d bytes) left by an interrupted import", stale, size)


def _remove_download_part(folder: Path, name: str) -> None:
    """Remove the ``<name>.part`` of a download that was interrupted, unless a download of
    ``name`` is running now (its lock is held): that one renames or resumes its own part."""
    part = folder / f"{name}.part"
    if not part.exists():
        return
    try:
        with FileLock(str(folder / f".{name}.lock"), timeout=0):
            part.unlink(missing_ok=True)
    except Timeout:
        log.info("%s: a download is running; it will rename or resume its own part", part)


def _copy_hashing(
    src: Path, part: Path, algorithms: list[str], link: bool, progress: bool, result: ImportResult
) -> dict[str, str]:
    """Digests of ``src`` as it is copied (or linked, then read) to ``part``: one read."""
    if link and _try_link(src, part, result):
        return hash_file(part, algorithms, progress=progress)
    size = src.stat().st_size
    check_space(f"importing {src}", part.parent, size)
    try:
        with part.open("wb", buffering=0) as out:
            found = hash_file(src, algorithms, progress=progress, out=out)
            os.fsync(out.fileno())
    except OSError as exc:
        if exc.errno not in _NO_SPACE or isinstance(exc, CacheError):
            raise
        done = part.stat().st_size if part.exists() else 0
        note = "the partial copy was removed (an import starts over; it does not resume)"
        raise no_space_error(f"importing {src}", part.parent, size - done, note) from exc
    return found


def _try_link(src: Path, part: Path, result: ImportResult) -> bool:
    try:
        os.link(src, part)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        result.notes.append(f"{src}: copied, not linked ({exc.strerror})")
        return False
    return True
