"""Dask adapter: lazy dask arrays over the (memory-mapped) arrays, without copying them.

``dask.array.from_array`` copies any array with a ``copy`` method into memory (since dask
2024.12, dask issue 11850), which for a memory-mapped 150 GB ImageNet split means reading it
all. We hand dask a thin read-only view without ``copy`` instead, so each chunk is read from
the memmap only when a task needs it.

dask is imported on first call; without it :func:`to_dask` raises
:class:`MissingDependencyError` naming the ``dask`` extra.

>>> import numpy as np
>>> x, y = to_dask(np.zeros((10, 28, 28), np.uint8), np.arange(10), chunks=4)  # doctest: +SKIP
>>> x.chunks[0], y.chunks  # doctest: +SKIP
((4, 4, 2), ((4, 4, 2),))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import ArgumentError, require
from ..sources import LazyImages, Pixels

__all__ = ["to_dask"]

Array = np.ndarray[Any, Any]


def to_dask(
    images: Pixels, labels: npt.ArrayLike, chunks: int | Literal["auto"] = "auto"
) -> tuple[Any, Any]:
    """``(images, labels)`` as dask arrays chunked along the sample axis only.

    ``images`` (N, H, W[, C]) is wrapped as it is (a ``np.memmap`` stays on disk and is read
    chunk by chunk when computed; a :class:`~imagesets.sources.DecodedImages` decodes a chunk's
    images when computed, on the dask worker's thread); ``chunks`` is the number of samples
    per chunk, or "auto" for dask's configured chunk size. ``labels`` (N,) gets the same chunks
    along N, so the two arrays stay aligned under ``map_blocks`` and ``blockwise``. Values and
    dtypes are unchanged.
    """
    da: Any = require("dask.array", "dask", "imagesets.adapters.dask")
    labels = np.asarray(labels)
    if labels.shape != images.shape[:1]:
        raise ArgumentError(
            f"labels: expected shape {images.shape[:1]} to match images {images.shape},"
            f" found {labels.shape}"
        )
    if chunks != "auto" and (isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1):
        raise ArgumentError(f"chunks: expected an int >= 1 or 'auto', found {chunks!r}")
    if isinstance(images, LazyImages):  # one thread a chunk: dask's threads are the parallelism
        images = images.on_threads(1)
    x = da.from_array(_Chunks(images), chunks=(chunks,) + (-1,) * (images.ndim - 1))
    y = da.from_array(_Chunks(labels), chunks=(x.chunks[0],))
    return x, y


class _Chunks:
    """What dask needs of an array (shape, dtype, slicing) and no ``copy`` for it to call."""

    def __init__(self, array: Pixels) -> None:
        self.array = array
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key: Any) -> Array:
        """One chunk, copied out of the (possibly memory-mapped) array."""
        return np.array(self.array[key])

    def __dask_tokenize__(self) -> tuple[object, ...]:
        """A memmap is named by its file and the mapped view, not by hashing its bytes.

        The view's address and strides tell apart two slices of one file of the same shape.
        """
        if isinstance(self.array, LazyImages):  # named by its blob or array, rows and size
            return ("imagesets-decoded", *self.array.token())
        path = getattr(self.array, "filename", None)
        if path is None:
            from dask.base import tokenize

            return ("imagesets-array", tokenize(np.asarray(self.array)))
        stat = Path(path).stat()
        view = (self.array.ctypes.data, self.array.strides, self.shape, self.dtype.str)
        return ("imagesets-memmap", path, stat.st_size, stat.st_mtime_ns, *view)
