"""Files the user already has, verified into the cache: ``imagesets import NAME PATH...``.

The path for air-gapped machines and for datasets behind a login (ImageNet). Each file given
(or found under a folder given) is matched to a catalog file by size, then read exactly once:
copied (or hard-linked with ``link=True``) into a hidden part file while its sha256 is computed,
with a progress bar, and renamed into place only if the hash matches. Hashing 148 GB of
ImageNet therefore happens once, and nothing unverified ever becomes visible.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from .catalog import RemoteFile
from .errors import FetchError, VerificationError
from .fetch import _present, hash_file

__all__ = ["ImportResult", "import_files"]


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
        part = folder / f".import-{uuid.uuid4().hex[:12]}.part"
        try:
            found = _copy_hashing(path, part, algorithms, link, progress, result)
            match = next((c for c in candidates if found[c.algorithm] == c.digest), None)
            if match is None:
                return found
            part.replace(folder / match.name)
            result.imported.append(match.name)
            return {}
        finally:
            part.unlink(missing_ok=True)


def _copy_hashing(
    src: Path, part: Path, algorithms: list[str], link: bool, progress: bool, result: ImportResult
) -> dict[str, str]:
    """Digests of ``src`` as it is copied (or linked, then read) to ``part``: one read."""
    if link and _try_link(src, part, result):
        return hash_file(part, algorithms, progress=progress)
    with part.open("wb") as out:
        found = hash_file(src, algorithms, progress=progress, out=out)
        out.flush()
        os.fsync(out.fileno())
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
