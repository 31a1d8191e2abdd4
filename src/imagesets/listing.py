"""The file list of a class-folder tree, and its fingerprint: what tells a folder dataset that
its folder changed since it was prepared.

One walk (``os.scandir``, following symlinked folders, not loops, never into hidden folders)
stats every *candidate image* (a name that is not hidden, not a system file such as
``Thumbs.db`` and has an image suffix) and notes every folder. Nothing is read. The
fingerprint is the sha256 of the rows ``relative path, size, mtime (ns)`` of the files and
the relative paths of the folders (a new empty subfolder changes which folders are classes),
in walk order: folders by name, depth first, a folder's files before its subfolders.

What counts as a change: a candidate image or a folder added or removed, or a file whose size
or mtime differs. A ``touch`` alone is a change (as for ``make``): only reading every file could
tell that its bytes are the same. Files that cannot change the data (hidden files, ``.txt``,
``Thumbs.db``) are not listed, so editing them rebuilds nothing.

Racy files: a file rewritten within the file system's timestamp granularity (a few ms on ext4,
2 s on FAT) of the walk may keep its size and mtime. As git does for its index, files whose
mtime is at most :data:`RACY_NS` before the walk (or later) are also hashed (their bytes are
read), and a check hashes the files in that same mtime window again. In real use the window
holds no file, or the few written just before the build.

Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

__all__ = [
    "IMAGE_SUFFIXES",
    "RACY_NS",
    "Change",
    "Folder",
    "Listing",
    "diff",
    "parse_rows",
    "take",
]

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})
#: Files modified this close to the walk (or after it) are hashed too (see the module doc).
RACY_NS = 2_000_000_000

#: ignore reason -> test on a file name, tried in order.
FILE_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("hidden", lambda name: name.startswith(".")),
    ("system", lambda name: name.lower() in SYSTEM_FILES),
    ("not_image", lambda name: name[name.rfind(".") :].lower() not in IMAGE_SUFFIXES),
)


@dataclass(frozen=True)
class Folder:
    """One folder of the walk: its path parts below the root, whether it has (followed,
    non-hidden) subfolders, and its candidate images ``(name, size, mtime_ns)`` by name
    (size -1: not a regular file, or a dangling link)."""

    parts: tuple[str, ...]
    is_leaf: bool
    files: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Listing:
    """A tree's walk: its folders in order, files ignored per reason, symlink loops not
    followed, and the fingerprint (:attr:`digest`, :attr:`racy`)."""

    root: Path
    folders: tuple[Folder, ...]
    ignored: dict[str, int]
    loops: tuple[str, ...]
    racy_since: int
    digest: str
    racy: str
    rows: bytes = field(repr=False)

    @property
    def count(self) -> int:
        """The number of candidate images."""
        return sum(len(f.files) for f in self.folders)

    def record(self) -> dict[str, str | int]:
        """What a manifest keeps: ``files`` (count), ``listing`` (sha256 of the rows), ``racy``
        (sha256 of the racy files' bytes, or ``""``) and ``racy_since`` (ns)."""
        return {
            "files": self.count,
            "listing": self.digest,
            "racy": self.racy,
            "racy_since": self.racy_since,
        }

    def matches(self, record: object) -> bool:
        """True when ``record`` (from :meth:`record`) describes this tree as it is now."""
        if not isinstance(record, dict):
            return False
        return record.get("listing") == self.digest and record.get("racy") == self.racy


def _walk(root: Path, ignored: dict[str, int], loops: list[str]) -> Iterator[Folder]:
    """Every folder under ``root`` (depth first, by name), its candidate images stat'ed."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, ...]] = [()]
    suffixes, system = IMAGE_SUFFIXES, SYSTEM_FILES
    while stack:
        parts = stack.pop()
        path = os.path.join(root, *parts)  # noqa: PTH118  (str paths: the hot loop, no Path)
        info = os.stat(path)  # noqa: PTH116
        seen.add((info.st_dev, info.st_ino))
        files: list[tuple[str, int, int]] = []
        dirs: list[str] = []
        add = files.append
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir():
                    if name[0] == ".":
                        ignored["hidden"] += 1
                    else:
                        dirs.append(name)
                    continue
                # _ignore, inlined: a function call per file is a tenth of the whole walk
                if name[0] == ".":
                    ignored["hidden"] += 1
                    continue
                low = name.lower()
                if low[low.rfind(".") :] not in suffixes or low in system:
                    ignored["system" if low in system else "not_image"] += 1
                    continue
                try:
                    st = entry.stat()
                except OSError:  # a dangling link: listed, the reader reports it as skipped
                    add((name, -1, 0))
                    continue
                # a FIFO or device: size -1, never read
                add((name, st.st_size if S_ISREG(st.st_mode) else -1, st.st_mtime_ns))
        keep = []
        for d in sorted(dirs):
            target = os.stat(os.path.join(path, d))  # noqa: PTH116, PTH118
            if (target.st_dev, target.st_ino) in seen:
                loops.append("/".join([*parts, d]))
            else:
                keep.append(d)
                seen.add((target.st_dev, target.st_ino))
        files.sort()
        yield Folder(parts, not keep, tuple(files))
        stack.extend((*parts, d) for d in reversed(keep))


def _rows(folders: tuple[Folder, ...]) -> bytes:
    """The listing as bytes: ``D\\0path\\0`` per folder, ``F\\0path\\0size\\0mtime\\0`` per
    file (paths relative, ``/``-separated, as the file system gives them)."""
    out: list[str] = []
    for folder in folders:
        base = "/".join(folder.parts)
        if base:
            out.append(f"D\0{base}\0")
        prefix = base + "/" if base else ""
        out.extend(f"F\0{prefix}{n}\0{s}\0{m}\0" for n, s, m in folder.files)
    return "".join(out).encode("utf-8", "surrogateescape")


def _racy_digest(root: Path, folders: tuple[Folder, ...], since: int) -> str:
    h = hashlib.sha256()
    found = False
    for folder in folders:
        if not any(m >= since for _, _, m in folder.files):
            continue
        for name, _size, mtime in folder.files:
            if mtime >= since and _size >= 0:
                found = True
                rel = "/".join([*folder.parts, name])
                try:
                    data = Path(root, rel).read_bytes()
                except OSError as exc:
                    data = f"unreadable: {exc.strerror}".encode()
                h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
                h.update(hashlib.sha256(data).digest())
    return h.hexdigest() if found else ""


def take(root: Path, *, racy_since: int | None = None) -> Listing:
    """Walk ``root`` once and fingerprint it.

    Args:
        root: the folder (a split folder, or the whole tree).
        racy_since: hash files with an mtime from this (ns) on; default: the walk's start
            less :data:`RACY_NS` (a check passes the value recorded when the split was built).

    Raises:
        OSError: ``root`` cannot be listed.
    """
    since = time.time_ns() - RACY_NS if racy_since is None else racy_since
    ignored = {"hidden": 0, "system": 0, "not_image": 0}
    loops: list[str] = []
    folders = tuple(_walk(root, ignored, loops))
    rows = _rows(folders)
    digest = hashlib.sha256(rows).hexdigest()
    racy = _racy_digest(root, folders, since)
    return Listing(root, folders, ignored, tuple(loops), since, digest, racy, rows)


def parse_rows(rows: bytes) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of files and ``{path + "/": (-2, 0)}`` of folders from
    :attr:`Listing.rows`."""
    fields = rows.decode("utf-8", "surrogateescape").split("\0")
    out: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(fields) - 1:
        if fields[i] == "D":
            out[fields[i + 1] + "/"] = (-2, 0)
            i += 2
        else:
            out[fields[i + 1]] = (int(fields[i + 2]), int(fields[i + 3]))
            i += 4
    return out


@dataclass(frozen=True)
class Change:
    """How a tree differs from its listing: paths added, removed and changed (sorted)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self, most: int = 5) -> str:
        """``2 added, 1 changed: +cat/new.jpg, ~cat/cat1.jpg`` (at most ``most`` paths)."""
        kinds = (
            ("added", "+", self.added),
            ("removed", "-", self.removed),
            ("changed", "~", self.changed),
        )
        counts = ", ".join(f"{len(p)} {k}" for k, _, p in kinds if p)
        paths = [f"{mark}{p}" for _, mark, ps in kinds for p in ps][:most]
        total = len(self.added) + len(self.removed) + len(self.changed)
        more = f", ... ({total - most} more)" if total > most else ""
        return f"{counts}: {', '.join(paths)}{more}" if paths else "file contents changed"


def diff(old: dict[str, tuple[int, int]], new: dict[str, tuple[int, int]]) -> Change:
    """The :class:`Change` from the rows ``old`` to ``new`` (see :func:`parse_rows`)."""
    added = tuple(sorted(p for p in new if p not in old))
    removed = tuple(sorted(p for p in old if p not in new))
    changed = tuple(sorted(p for p in new if p in old and old[p] != new[p]))
    return Change(added, removed, changed)
