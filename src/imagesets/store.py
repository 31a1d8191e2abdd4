"""The prepared cache: one ``.npy`` per array per split, plus ``manifest.json``.

Layout::

    <root>/prepared/<dataset>/<variant>/<split>/manifest.json
    <root>/prepared/<dataset>/<variant>/<split>/images.npy, labels.npy, ...  (and *.bin blobs)

A split is built in a hidden temporary sibling folder and becomes visible by one ``rename``
once every file is written and the manifest last, so a ``kill -9`` at any moment leaves either
no prepared split or a complete one (``$IMAGESETS_DURABLE=1`` adds fsyncs for power loss).
Arrays open memory-mapped (read-only, or copy-on-write for the keras-style API), never through
pickle. This module knows no source format and no network.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np

from .errors import CacheError
from .manifest import FORMAT_VERSION, ArrayEntry, Manifest, dtype_from_manifest

if TYPE_CHECKING:  # pragma: no cover
    from .store_write import SplitBuilder, disk_full, remove_leftovers, space_error

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Manifest",
    "MmapMode",
    "SplitBuilder",
    "StoredSplit",
    "disk_full",
    "dtype_from_manifest",
    "hash_file",
    "open_split",
    "read_manifest",
    "remove_leftovers",
    "space_error",
    "verify_split",
]

MANIFEST = "manifest.json"
_HASH_CHUNK = 1 << 24
#: The writing side lives in :mod:`imagesets.store_write` (imported on first use, so that
#: opening a prepared split imports no more than it needs).
_WRITE_NAMES = ("SplitBuilder", "disk_full", "remove_leftovers", "space_error", "durable")

MmapMode = Literal["r", "c"]


def __getattr__(name: str) -> Any:
    if name in _WRITE_NAMES:
        from . import store_write

        return getattr(store_write, name)
    raise AttributeError(f"module 'imagesets.store' has no attribute {name!r}")


def hash_file(path: Path, start: int = 0, length: int | None = None) -> str:
    """sha256 of ``length`` bytes of ``path`` from ``start`` (to the end when None)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(start)
        left = length
        while left is None or left > 0:
            chunk = fh.read(_HASH_CHUNK if left is None else min(_HASH_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredSplit:
    """A prepared split on disk: its manifest and its memory-mapped arrays.

    ``arrays`` maps a name (``images``, ``labels``, ...) to a read-only (or copy-on-write)
    memory map; ``blobs`` maps a blob name to its ``.bin`` path.
    """

    path: Path
    manifest: Manifest
    arrays: Mapping[str, np.ndarray[Any, Any]]
    blobs: Mapping[str, Path]


def read_manifest(path: Path, *, rebuild: str = "") -> Manifest | None:
    """The manifest of the split folder ``path``, or None when the split is not there.

    Raises:
        CacheError: the manifest is not valid JSON or not a valid manifest (the message names
            the field and ``rebuild``, the command that rebuilds the split).
    """
    try:
        text = (path / MANIFEST).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    fix = rebuild or "`imagesets clean NAME` and load again"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CacheError(
            f"prepared split {path}: manifest.json is not valid JSON ({exc}); the cache is "
            f"damaged: rebuild it with {fix}"
        ) from None
    if not isinstance(data, dict):
        raise CacheError(
            f"prepared split {path}: manifest.json is not a JSON object; the cache is damaged: "
            f"rebuild it with {fix}"
        )
    return Manifest.parse(data, path, rebuild=rebuild)


def open_split(
    path: Path, manifest: Manifest | Mapping[str, Any], mode: MmapMode = "r"
) -> StoredSplit:
    """Memory-map every array a manifest lists, checking each file's header and size.

    Raises:
        CacheError: an array missing or different from its manifest entry.
    """
    if not isinstance(manifest, Manifest):
        manifest = Manifest.parse(manifest, path)
    arrays = {
        name: _map(path / f"{name}.npy", entry, mode) for name, entry in manifest.arrays.items()
    }
    blobs = {name: path / entry.file for name, entry in manifest.blobs.items()}
    return StoredSplit(path, manifest, arrays, blobs)


def verify_split(path: Path, manifest: Manifest) -> list[str]:
    """Re-hash every array and blob of a prepared split; one line per bad one (none: ``[]``)."""
    bad = []
    for name, entry in manifest.arrays.items():
        file = path / f"{name}.npy"
        try:
            found = _check_file(file, entry)
        except CacheError as exc:
            bad.append(str(exc))
            continue
        if found != entry.sha256:
            bad.append(f"{file}: sha256 of the data expected {entry.sha256}, found {found}")
    for blob in manifest.blobs.values():
        file = path / blob.file
        size = file.stat().st_size if file.is_file() else -1
        found = hash_file(file) if size == blob.size else ""
        if found != blob.sha256:
            bad.append(
                f"{file}: expected {blob.size} bytes with sha256 {blob.sha256}, found "
                + (f"sha256 {found}" if found else f"{size} bytes" if size >= 0 else "no file")
            )
    return bad


def _check_file(file: Path, entry: ArrayEntry) -> str:
    """Header check of one ``.npy``, then the sha256 of its data."""
    try:
        with file.open("rb") as fh:
            _check_header(fh, file, entry)
    except OSError as exc:
        raise CacheError(f"prepared array {file} cannot be opened: {exc}") from exc
    return hash_file(file, entry.offset, entry.nbytes)


def _map(file: Path, entry: ArrayEntry, mode: MmapMode) -> np.ndarray[Any, Any]:
    """Map an array straight through ``mmap`` at the offset the manifest records (about 20x
    faster than ``np.load(mmap_mode=...)``, which re-parses the header)."""
    access = mmap.ACCESS_READ if mode == "r" else mmap.ACCESS_COPY
    try:
        with file.open("rb") as fh:
            _check_header(fh, file, entry)
            if not entry.nbytes:
                return np.zeros(entry.shape, entry.dtype)
            mm = mmap.mmap(fh.fileno(), 0, access=access)
    except (OSError, ValueError) as exc:
        raise CacheError(f"prepared array {file} cannot be opened: {exc}") from exc
    flat = np.frombuffer(mm, dtype=entry.dtype, count=_items(entry), offset=entry.offset)
    return flat.reshape(entry.shape)


def _items(entry: ArrayEntry) -> int:
    """Number of items of an entry."""
    return entry.nbytes // entry.dtype.itemsize if entry.dtype.itemsize else 0


def _header_text(entry: ArrayEntry) -> str:
    """The ``.npy`` header numpy writes for ``entry`` (without padding)."""
    descr = np.lib.format.dtype_to_descr(entry.dtype)
    shape = entry.shape
    return f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"


def _check_header(fh: BinaryIO, file: Path, entry: ArrayEntry) -> None:
    """One cheap check that the file is the array the manifest describes: the magic, the
    header text numpy writes for that shape and dtype, and the file size (no parsing)."""
    head = fh.read(entry.offset)
    size = os.fstat(fh.fileno()).st_size
    expected = _header_text(entry).encode("latin1")
    ok = (
        head[:6] == b"\x93NUMPY"
        and head[10 if head[6] == 1 else 12 :].rstrip(b" \n") == expected
        and size == entry.offset + entry.nbytes
    )
    if not ok:
        raise CacheError(
            f"prepared array {file}: expected {entry.shape} {entry.dtype.str} in "
            f"{entry.offset + entry.nbytes} bytes, found another header or {size} bytes; "
            "remove it with `imagesets clean NAME` and load again"
        )
