"""The writing side of the prepared cache: a split built in a temporary folder, made visible by
one rename (see :mod:`imagesets.store` for the layout), blocks reserved before mapping, a full
disk turned into a :class:`~imagesets.errors.CacheError`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from .errors import CacheError
from .manifest import FORMAT_VERSION, ArrayEntry, BlobEntry, Manifest
from .store import MANIFEST, hash_file

__all__ = ["SplitBuilder", "disk_full", "durable", "remove_leftovers", "space_error"]

_TMP_PREFIX = ".tmp-"
_HASH_CHUNK = 1 << 24


def disk_full(exc: BaseException) -> bool:
    """True for ENOSPC / EDQUOT (no space left, quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def space_error(folder: Path, needed: int | None, exc: BaseException | None = None) -> CacheError:
    """The CacheError for a full disk: how much is needed, how much is free, and where."""
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
        have = f"{free:,} bytes free"
    except OSError:
        have = "free space unknown"
    need = f"{needed:,} more bytes" if needed else "more space"
    return CacheError(
        f"no space left on the device holding {folder}: it needs {need}, {have}; free some "
        "space or point IMAGESETS_HOME (or root=) at a larger disk" + (f" ({exc})" if exc else "")
    )


class _DiskWriter:
    """The :class:`imagesets.formats.SplitWriter` of the store: files in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}
        self.blobs: dict[str, BinaryIO] = {}

    def _claim(self, name: str) -> None:
        if not name.isidentifier() or name in self.arrays or name in self.blobs:
            raise ValueError(f"array or blob name {name!r} is not a new identifier")

    def array(
        self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike
    ) -> np.ndarray[Any, Any]:
        """A zero-filled ``.npy`` of ``shape`` and ``dtype``, memory-mapped for writing.

        The file's blocks are reserved before it is mapped, so a full disk is a
        :class:`~imagesets.errors.CacheError` here and never a SIGBUS on a later write.
        """
        self._claim(name)
        path = self.folder / f"{name}.npy"
        if int(np.prod(shape)) == 0:  # an empty file cannot be memory-mapped
            arr: np.ndarray[Any, Any] = np.zeros(shape, dtype=dtype)
            np.save(path, arr)
        else:
            arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
            _reserve(path)
        self.arrays[name] = arr
        return arr

    def blob(self, name: str) -> BinaryIO:
        """A new binary file ``<name>.bin`` for packed variable-size records."""
        self._claim(name)
        fh = (self.folder / f"{name}.bin").open("wb")
        self.blobs[name] = fh
        return fh

    def flush(self) -> dict[str, dict[str, Any]]:
        """Flush and close everything; each array's shape, dtype, offset and sha256 (and each
        blob's size and sha256) for the manifest. The data are hashed here, while their
        pages are still in memory (no read from disk)."""
        described: dict[str, dict[str, Any]] = {}
        for name, arr in self.arrays.items():
            if durable() and isinstance(arr, np.memmap):
                arr.flush()
            entry = ArrayEntry(
                tuple(arr.shape),
                arr.dtype,
                _data_offset(self.folder / f"{name}.npy"),
                _sha256_array(arr),
            )
            described[name] = entry.as_json()
        for name, fh in self.blobs.items():
            if not fh.closed:
                fh.close()
            path = self.folder / f"{name}.bin"
            described[name] = BlobEntry(path.name, path.stat().st_size, hash_file(path)).as_json()
        self.arrays.clear()
        if durable():
            for path in self.folder.iterdir():
                _fsync(path)
        return described


def _reserve(path: Path) -> None:
    """Allocate every block of ``path`` now (``posix_fallocate``), so writes through a memory
    map cannot fail later; ENOSPC becomes a CacheError naming the size and the folder."""
    size = path.stat().st_size
    fd = os.open(path, os.O_RDWR)
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if disk_full(exc):
            raise space_error(path.parent, size, exc) from exc
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem without it
            raise
    finally:
        os.close(fd)


def _sha256_array(arr: np.ndarray[Any, Any]) -> str:
    """sha256 of an array's data in C order (what the ``.npy`` file holds after the header)."""
    digest = hashlib.sha256()
    flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, _HASH_CHUNK):
        digest.update(flat[start : start + _HASH_CHUNK].data)
    return digest.hexdigest()


def _data_offset(path: Path) -> int:
    """Where the data of an ``.npy`` file start: magic (6), version (2), header length, header."""
    with path.open("rb") as fh:
        major, _ = np.lib.format.read_magic(fh)
        width = 2 if major == 1 else 4
        return 8 + width + int.from_bytes(fh.read(width), "little")


def durable() -> bool:
    """``$IMAGESETS_DURABLE=1``: fsync every prepared file before it becomes visible.

    Without it a split is still all-or-nothing for any process crash or ``kill -9`` (the
    rename happens after every byte is written to the page cache); the fsyncs add power-loss
    durability at the price of a synchronous disk write (about 1 s for MNIST here, 2x the
    whole decompression).
    """
    return os.environ.get("IMAGESETS_DURABLE", "").strip().lower() in {"1", "true", "yes", "on"}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SplitBuilder:
    """Builds one split in a temporary folder; :meth:`commit` makes it visible atomically.

    Use as a context manager: leaving the block without ``commit`` (an error) removes the
    temporary folder, and an existing complete split is left untouched. A full disk anywhere
    in the block (ENOSPC from a reader's writes, a blob, the manifest) leaves as a
    :class:`~imagesets.errors.CacheError` naming the folder and the space needed.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = target.parent / f"{_TMP_PREFIX}{target.name}-{uuid.uuid4().hex[:12]}"
        try:
            self.tmp.mkdir()
        except OSError as exc:
            if disk_full(exc):
                raise space_error(target.parent, None, exc) from exc
            raise
        self.writer = _DiskWriter(self.tmp)
        self.committed = False

    def __enter__(self) -> SplitBuilder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if not self.committed:
            for fh in self.writer.blobs.values():
                with contextlib.suppress(OSError):  # a full disk on the last flush
                    fh.close()
            self.writer.arrays.clear()
            shutil.rmtree(self.tmp, ignore_errors=True)
        cause = _disk_full_cause(exc)
        if cause is not None and not isinstance(exc, CacheError):
            raise space_error(self.target.parent, None, cause) from exc

    def commit(self, manifest: Mapping[str, Any]) -> Manifest:
        """Flush all files, write ``manifest.json``, rename the folder into place.

        Returns the manifest as written (with ``format_version`` and ``arrays``).
        """
        arrays = self.writer.flush()
        full = {"format_version": FORMAT_VERSION, **manifest, "arrays": arrays}
        (self.tmp / MANIFEST).write_text(json.dumps(full, indent=1, sort_keys=True))
        if durable():
            _fsync(self.tmp / MANIFEST)
            _fsync(self.tmp)
        _swap_in(self.tmp, self.target)
        if durable():
            _fsync(self.target.parent)
        self.committed = True
        return Manifest.parse(full, self.target)


def _disk_full_cause(exc: BaseException | None) -> BaseException | None:
    """The ENOSPC/EDQUOT error behind ``exc`` (itself, or along its causes), if any."""
    seen = 0
    while exc is not None and seen < 10:
        if disk_full(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``; a stale ``target`` is moved aside first, then removed."""
    if target.exists():
        old = target.with_name(f"{_TMP_PREFIX}old-{target.name}-{uuid.uuid4().hex[:8]}")
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


def remove_leftovers(variant_dir: Path) -> int:
    """Remove temporary folders left by killed preparers (call while holding the lock)."""
    try:
        stale = [p for p in variant_dir.iterdir() if p.name.startswith(_TMP_PREFIX)]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)
