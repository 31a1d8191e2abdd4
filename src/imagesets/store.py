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
import math
import mmap
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from .errors import CacheError

__all__ = ["FORMAT_VERSION", "SplitBuilder", "StoredSplit", "open_split", "split_dir"]

#: Bumped whenever the on-disk layout or a reader's output changes; older caches are rebuilt.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_TMP_PREFIX = ".tmp-"

MmapMode = Literal["r", "c"]


def split_dir(root: Path, dataset: str, variant: str, split: str) -> Path:
    """``<root>/prepared/<dataset>/<variant>/<split>``."""
    return root / "prepared" / dataset / variant / split


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
        """A zero-filled ``.npy`` of ``shape`` and ``dtype``, memory-mapped for writing."""
        self._claim(name)
        path = self.folder / f"{name}.npy"
        if int(np.prod(shape)) == 0:  # an empty file cannot be memory-mapped
            arr: np.ndarray[Any, Any] = np.zeros(shape, dtype=dtype)
            np.save(path, arr)
        else:
            arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        self.arrays[name] = arr
        return arr

    def blob(self, name: str) -> BinaryIO:
        """A new binary file ``<name>.bin`` for packed variable-size records."""
        self._claim(name)
        fh = (self.folder / f"{name}.bin").open("wb")
        self.blobs[name] = fh
        return fh

    def flush(self) -> dict[str, dict[str, Any]]:
        """Flush and close everything; the arrays' shapes and dtypes for the manifest."""
        described: dict[str, dict[str, Any]] = {}
        for name, arr in self.arrays.items():
            if durable() and isinstance(arr, np.memmap):
                arr.flush()
            described[name] = {
                "shape": list(arr.shape),
                "dtype": np.lib.format.dtype_to_descr(arr.dtype),
                "offset": _data_offset(self.folder / f"{name}.npy"),
            }
        for name, fh in self.blobs.items():
            if not fh.closed:
                fh.close()
            described[name] = {"blob": f"{name}.bin"}
        self.arrays.clear()
        if durable():
            for path in self.folder.iterdir():
                _fsync(path)
        return described


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
    temporary folder, and an existing complete split is left untouched.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = target.parent / f"{_TMP_PREFIX}{target.name}-{uuid.uuid4().hex[:12]}"
        self.tmp.mkdir()
        self.writer = _DiskWriter(self.tmp)
        self.committed = False

    def __enter__(self) -> SplitBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            for fh in self.writer.blobs.values():
                fh.close()
            self.writer.arrays.clear()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def commit(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
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
        return full


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
    if not variant_dir.is_dir():
        return 0
    stale = [p for p in variant_dir.iterdir() if p.name.startswith(_TMP_PREFIX)]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


@dataclass(frozen=True)
class StoredSplit:
    """A prepared split on disk: its manifest and its memory-mapped arrays.

    ``arrays`` maps a name (``images``, ``labels``, ...) to a read-only (or copy-on-write)
    ``np.memmap``; ``blobs`` maps a blob name to its ``.bin`` path.
    """

    path: Path
    manifest: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray[Any, Any]]
    blobs: Mapping[str, Path]


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of the split folder ``path``, or None when the split is not there."""
    try:
        text = (path / MANIFEST).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CacheError(
            f"prepared split {path}: manifest.json is not valid JSON ({exc}); remove the "
            "folder with `imagesets clean NAME` and load again"
        ) from exc
    if not isinstance(data, dict):
        raise CacheError(
            f"prepared split {path}: manifest.json is not a JSON object; remove the folder "
            "with `imagesets clean NAME` and load again"
        )
    return data


def open_split(path: Path, manifest: Mapping[str, Any], mode: MmapMode = "r") -> StoredSplit:
    """Memory-map every array a manifest lists, checking shapes and dtypes against it.

    Raises:
        CacheError: an array missing or different from its manifest entry.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    blobs: dict[str, Path] = {}
    for name, desc in manifest.get("arrays", {}).items():
        if "blob" in desc:
            blobs[name] = path / desc["blob"]
            continue
        arrays[name] = _open_array(path / f"{name}.npy", desc, mode)
    return StoredSplit(path, manifest, arrays, blobs)


def _open_array(file: Path, desc: Mapping[str, Any], mode: MmapMode) -> np.ndarray[Any, Any]:
    """Map an array; with the data offset known, straight through ``mmap`` (about 20x faster
    than ``np.load(mmap_mode=...)``, which re-parses the header and resolves the path)."""
    dtype = dtype_from_manifest(desc["dtype"])
    shape = tuple(desc["shape"])
    nbytes = math.prod(shape) * dtype.itemsize
    if "offset" in desc and nbytes:
        return _map(file, int(desc["offset"]), dtype, shape, nbytes, mode)
    try:
        arr: np.ndarray[Any, Any] = np.load(file, mmap_mode=mode, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CacheError(f"prepared array {file} cannot be opened: {exc}") from exc
    if list(arr.shape) != list(desc["shape"]) or arr.dtype != dtype:
        raise CacheError(
            f"prepared array {file}: expected shape {tuple(desc['shape'])} {desc['dtype']}, "
            f"found {arr.shape} {arr.dtype.str}"
        )
    return arr


def dtype_from_manifest(descr: Any) -> np.dtype[Any]:
    """The dtype a manifest records: a ``.npy`` descr string, or (structured arrays such as
    SVHN's digit boxes) a list of ``[name, type]`` pairs as JSON keeps them."""
    try:
        if isinstance(descr, list):
            return np.lib.format.descr_to_dtype([tuple(field) for field in descr])
        return np.lib.format.descr_to_dtype(descr)
    except (TypeError, ValueError) as exc:
        raise CacheError(f"manifest dtype {descr!r} is not a numpy dtype ({exc})") from exc


def _map(
    file: Path,
    offset: int,
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    nbytes: int,
    mode: MmapMode,
) -> np.ndarray[Any, Any]:
    access = mmap.ACCESS_READ if mode == "r" else mmap.ACCESS_COPY
    try:
        with file.open("rb") as fh:
            _check_header(fh, file, offset, dtype, shape, nbytes)
            mm = mmap.mmap(fh.fileno(), 0, access=access)
    except (OSError, ValueError) as exc:
        raise CacheError(f"prepared array {file} cannot be opened: {exc}") from exc
    flat = np.frombuffer(mm, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
    return flat.reshape(shape)


def _check_header(
    fh: BinaryIO, file: Path, offset: int, dtype: np.dtype[Any], shape: tuple[int, ...], nbytes: int
) -> None:
    """The file's own ``.npy`` header and size must agree with the manifest."""
    major, _ = np.lib.format.read_magic(fh)
    reader = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    found_shape, fortran, found_dtype = reader(fh)
    size = os.fstat(fh.fileno()).st_size
    if (found_shape, fortran, found_dtype, fh.tell(), size) != (
        shape,
        False,
        dtype,
        offset,
        offset + nbytes,
    ):
        raise CacheError(
            f"prepared array {file}: expected {shape} {dtype.str} in {offset + nbytes} bytes, "
            f"found {found_shape} {found_dtype.str}{' (Fortran order)' if fortran else ''} in "
            f"{size} bytes; remove it with `imagesets clean NAME` and load again"
        )
