"""Lazy image arrays: uint8 array-likes ``(N, ...)`` whose rows are read on access.

:class:`LazyImages` is the base (``len``, ``shape``, ``dtype``, indexing, ``take``,
``np.asarray``); :class:`DecodedImages` is an encoded source's images decoded to one size,
:class:`GatheredRows` the chosen rows of a fixed-size array gathered when read. They are the
pixels :mod:`imagesets.sources` gives (and re-exports) besides plain arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    from .sources import EncodedSource

__all__ = ["DecodedImages", "GatheredRows", "LazyImages"]

Array = np.ndarray[Any, Any]
U8 = NDArray[np.uint8]


def _gather(base: Array, rows: NDArray[Any]) -> U8:
    out: U8 = np.take(base, rows, axis=0).view(np.ndarray)
    return out


def _digest(array: NDArray[Any]) -> str:
    import hashlib

    return hashlib.blake2b(
        np.ascontiguousarray(array).view(np.uint8).data, digest_size=16
    ).hexdigest()


class LazyImages(ABC):
    """A uint8 array-like ``(N, ...)`` whose rows are read on access.

    It has what the consumers read: ``len``, ``shape``, ``dtype``, ``ndim``, indexing (an int
    gives one image, a slice, an index array or a tuple of them an array) and
    ``take(indices)`` (so batching treats it as a :class:`imagesets.batching.SampleSource`).
    ``np.asarray`` of it reads every row.
    """

    dtype = np.dtype(np.uint8)
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """3 or 4."""
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    @abstractmethod
    def take(self, indices: Sequence[int] | NDArray[np.integer[Any]]) -> U8:
        """uint8 ``(len(indices), ...)``: rows ``indices``, in that order."""

    @abstractmethod
    def one(self, i: int) -> U8:
        """Row ``i`` (negative from the end)."""

    @abstractmethod
    def token(self) -> tuple[object, ...]:
        """A stable name of the content, for dask's task names."""

    def on_threads(self, workers: int) -> LazyImages:
        """The same images, each :meth:`take` run on ``workers`` threads of its own (rows that
        are only gathered have none: ``self``)."""
        return self

    def __getitem__(self, key: Any) -> U8:
        rest: tuple[Any, ...] = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if key is Ellipsis:
            key, rest = slice(None), (Ellipsis, *rest)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            one = self.one(int(key))
            return one[rest] if rest else one
        if isinstance(key, slice):
            rows: NDArray[Any] = np.arange(len(self))[key]
        else:
            arr = np.asarray(key)
            rows = np.flatnonzero(arr) if arr.dtype == bool else arr
        out = self.take(rows)
        every: tuple[Any, ...] = (slice(None), *rest)
        return out[every] if rest else out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Array:
        out = self.take(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype)


class DecodedImages(LazyImages):
    """An encoded source's images as a lazy uint8 array-like ``(N, size, size, 3)``: each
    image is resized (shorter side to ``size``) and centre-cropped when read."""

    def __init__(self, source: EncodedSource, size: int) -> None:
        self.source, self.size = source, size
        self.shape = (len(source), size, size, 3)

    def take(self, indices: Sequence[int] | NDArray[np.integer[Any]]) -> U8:
        """uint8 ``(len(indices), size, size, 3)``, decoded on the source's threads."""
        return self.source.take(indices, size=self.size)

    def one(self, i: int) -> U8:
        """Image ``i`` decoded to ``(size, size, 3)``."""
        return self.source.image(i, size=self.size)

    def on_threads(self, workers: int) -> DecodedImages:
        """The same images over :meth:`EncodedSource.on_threads` ``(workers)`` (the blob is
        shared, not copied)."""
        return DecodedImages(self.source.on_threads(workers), self.size)

    def token(self) -> tuple[object, ...]:
        """A stable name of the decoded content (see :meth:`EncodedSource.token`)."""
        return ("decoded", self.size, *self.source.token())


class GatheredRows(LazyImages):
    """Chosen rows of a fixed-size image array, gathered when read (no copy made before):
    the pixels of an :class:`ArraySource` with ``rows``.

    Args:
        base: uint8 ``(M, H, W)`` or ``(M, H, W, C)`` (a memory map stays one).
        rows: int64 ``(N,)`` row numbers of ``base``.
    """

    def __init__(self, base: Array, rows: NDArray[np.int64]) -> None:
        self.base, self.rows = base, rows
        self.shape = (len(rows), *base.shape[1:])

    def take(self, indices: Sequence[int] | NDArray[np.integer[Any]]) -> U8:
        """uint8 ``(len(indices), H, W[, C])``: a fresh array (one vectorised gather)."""
        return _gather(self.base, self.rows[np.asarray(indices, dtype=np.int64)])

    def one(self, i: int) -> U8:
        """Row ``i``: a view of the base array."""
        out: U8 = self.base[self.rows[i]]
        return out

    def token(self) -> tuple[object, ...]:
        """The base array's file (or a digest of its bytes) and a digest of the rows."""
        path = getattr(self.base, "filename", None)
        if path is not None:
            stat = Path(path).stat()
            view = (self.base.ctypes.data, self.base.strides, self.base.shape)
            base: tuple[object, ...] = (str(path), stat.st_size, stat.st_mtime_ns, *view)
        else:
            base = (_digest(self.base),)
        return ("gathered", *base, _digest(self.rows))
