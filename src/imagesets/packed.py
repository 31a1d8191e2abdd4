"""The packed store: encoded images concatenated in one blob, plus an offsets array.

Image ``i`` is the bytes ``data[offsets[i]:offsets[i + 1]]``; ``offsets`` is int64 ``(N + 1,)``
starting at 0 and ending at the data length. Images are decoded on access, so a split of any
size opens instantly and costs no memory; :meth:`PackedImages.take` decodes a batch on all cores.
Storing JPEGs re-encoded at a small max side (256) makes decoding about 4x faster than the
500x375 originals (bench/bench_jpeg.py), the idea FFCV is built on.

The boxed layout (SVHN full numbers) keeps the original PNG bytes in one blob too, with
``spans`` int64 ``(N, 2)`` (image ``i`` is ``data[spans[i, 0]:spans[i, 1]]``) and its digit
boxes as :data:`BOX_DTYPE` records grouped by image (``box_offsets`` int64 ``(N + 1,)``); this
module holds the record type and its check, shared by the reader that writes the layout and by
:class:`imagesets.sources.BoxedSource` that serves it.

>>> import io
>>> import numpy as np
>>> from imagesets.imaging import encode
>>> buf = io.BytesIO()
>>> writer = PackedWriter(buf)
>>> writer.append(encode(np.full((20, 30, 3), 200, np.uint8)))
0
>>> images = PackedImages(buf.getvalue(), writer.offsets())
>>> len(images), images[0].shape, images.take([0, 0], size=8).shape
(1, (20, 30, 3), (2, 8, 8, 3))
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from ._parallel import default_workers, imap_bounded
from .errors import FormatError

__all__ = [
    "BOX_DTYPE",
    "PackedImages",
    "PackedWriter",
    "box_records",
    "checked_offsets",
    "data_view",
]

#: One digit: image index (0-based), label, and box in pixels (``left``/``top`` may be < 0).
BOX_DTYPE = np.dtype(
    [("image", "<i4"), ("label", "u1"), ("left", "<f4"), ("top", "<f4"),
     ("width", "<f4"), ("height", "<f4")]
)  # fmt: skip


class PackedWriter:
    """Appends encoded images to a binary file and tracks their offsets (8 bytes per image)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._ends = array.array("q", [0])

    def append(self, data: bytes) -> int:
        """Write ``data`` as the next image; return its index."""
        self._fh.write(data)
        self._ends.append(self._ends[-1] + len(data))
        return len(self._ends) - 2

    def __len__(self) -> int:
        return len(self._ends) - 1

    @property
    def nbytes(self) -> int:
        """Bytes written so far."""
        return self._ends[-1]

    def offsets(self) -> NDArray[np.int64]:
        """int64 ``(N + 1,)``: image ``i`` spans ``offsets[i]:offsets[i + 1]``."""
        out: NDArray[np.int64] = np.frombuffer(self._ends, dtype=np.int64).copy()
        return out


def box_records(boxes: NDArray[Any]) -> NDArray[Any]:
    """``boxes`` as :data:`BOX_DTYPE` records; a store may hand them back as a plain void dtype
    of the same item size. Anything else is a :class:`FormatError`."""
    plain_void = boxes.dtype.kind == "V" and boxes.dtype.names is None
    if boxes.dtype != BOX_DTYPE and not (plain_void and boxes.dtype.itemsize == BOX_DTYPE.itemsize):
        raise FormatError(
            f"boxed packed store: boxes: expected dtype {BOX_DTYPE.descr}, found {boxes.dtype}; "
            "re-prepare the dataset"
        )
    return boxes.view(BOX_DTYPE)


def data_view(data: str | Path | bytes | NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A read-only uint8 view of the packed data: a memory map for a path."""
    if isinstance(data, (str, Path)):
        if Path(data).stat().st_size == 0:  # mmap refuses empty files
            return np.zeros(0, np.uint8)
        return np.memmap(data, dtype=np.uint8, mode="r")
    if isinstance(data, bytes):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8).reshape(-1)


def checked_offsets(offsets: npt.ArrayLike, nbytes: int) -> NDArray[np.int64]:
    """``offsets`` as int64 ``(N + 1,)`` from 0 to ``nbytes``, non-decreasing; else a
    :class:`FormatError` saying what was found."""
    arr = np.asarray(offsets)
    problem = None
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        problem = f"a 1-D integer array of N + 1 >= 1 entries, found {arr.dtype} {arr.shape}"
    elif arr[0] != 0 or arr[-1] != nbytes:
        problem = f"offsets from 0 to the data length {nbytes}, found {arr[0]} to {arr[-1]}"
    elif np.any(np.diff(arr) < 0):
        problem = "non-decreasing offsets, found a decrease"
    if problem is not None:
        raise FormatError(f"packed images: expected {problem}; re-prepare the dataset")
    return arr.astype(np.int64, copy=False)


class PackedImages:
    """Random access to packed encoded images; a "sample source" with ``len`` and ``take``.

    Args:
        data: the packed file (path, memory-mapped), or its bytes / a uint8 array.
        offsets: int64 ``(N + 1,)``, see the module docstring.
        size: the default ``size`` of :meth:`take`, so that batching code calling
            ``take(indices)`` gets fixed-size ``(n, size, size, 3)`` batches.
        workers: threads for :meth:`take` (default: the cores this process may use).
    """

    def __init__(
        self,
        data: str | Path | bytes | NDArray[np.uint8],
        offsets: npt.ArrayLike,
        *,
        size: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.size = size
        self._data = data_view(data)
        self._offsets = checked_offsets(offsets, len(self._data))
        self._workers = workers if workers is not None else default_workers()

    @classmethod
    def open(
        cls, data_path: str | Path, offsets_path: str | Path, *, size: int | None = None
    ) -> PackedImages:
        """Open a packed file and its ``.npy`` offsets, both memory-mapped read-only."""
        offsets = np.load(offsets_path, mmap_mode="r", allow_pickle=False)
        return cls(data_path, offsets, size=size)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"packed image index {i} out of range for {n} images")
        return int(i) % n

    def raw(self, i: int) -> bytes:
        """The encoded bytes of image ``i`` exactly as stored."""
        i = self._index(i)
        return self._data[self._offsets[i] : self._offsets[i + 1]].tobytes()

    def __getitem__(self, i: int) -> NDArray[np.uint8]:
        """Image ``i`` decoded: uint8 ``(H, W, 3)`` RGB, its own size."""
        from .imaging import decode  # Pillow only when an image is decoded

        return decode(self.raw(i), source=f"packed image {i}")

    def take(
        self, indices: Sequence[int] | NDArray[np.integer[Any]], *, size: int | None = None
    ) -> NDArray[np.uint8]:
        """Decode images ``indices`` (any order, repeats allowed) on the worker threads.

        Returns:
            uint8 ``(len(indices), size, size, 3)`` when ``size`` (or the instance's ``size``)
            is given, each resized and centre-cropped; otherwise all images must share a shape.
        """
        size = size if size is not None else self.size
        idx = [self._index(int(i)) for i in np.asarray(indices).reshape(-1)]

        def one(i: int) -> NDArray[np.uint8]:
            from .imaging import decode

            return decode(self.raw(i), size=size, source=f"packed image {i}")

        return decode_batch(one, idx, size, self._workers)


def decode_batch(
    one: Callable[[int], NDArray[np.uint8]], idx: Sequence[int], size: int | None, workers: int
) -> NDArray[np.uint8]:
    """``one(i)`` for every index of ``idx``, on up to ``workers`` threads, stacked in order.

    Returns:
        uint8 ``(len(idx), size, size, 3)`` filled in place when ``size`` is given; without it
        the decoded images must share one shape (else an :class:`~imagesets.errors.ArgumentError`).
    """
    workers = min(workers, max(1, len(idx)))
    if size is not None:
        batch = np.empty((len(idx), size, size, 3), np.uint8)
        for row, img in enumerate(imap_bounded(one, idx, workers)):
            batch[row] = img
        return batch
    decoded = list(imap_bounded(one, idx, workers))
    if len({img.shape for img in decoded}) > 1:
        from .errors import ArgumentError

        raise ArgumentError(
            "take: the images differ in shape; pass size=... to resize and centre-crop them to one"
        )
    return np.stack(decoded) if decoded else np.zeros((0, 0, 0, 3), np.uint8)
