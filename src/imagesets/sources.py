"""Image sources: the one type the serving layer reads a split's images from.

A prepared split stores its images in one of three layouts; :func:`source_of` builds the
matching :class:`ImageSource` once from the stored arrays and blobs:

* :class:`ArraySource`: fixed-size uint8 ``images``, ``(N, H, W)`` or ``(N, H, W, C)``, values
  0..255 (MNIST, CIFAR, SVHN digits, a folder tree loaded with ``size=``);
* :class:`PackedSource`: encoded images (JPEG, PNG) in the blob ``data`` with ``offsets``
  int64 ``(N + 1,)`` (ImageNet, Cats & Dogs, a folder tree loaded without ``size=``);
* :class:`BoxedSource`: PNGs in ``data`` at ``spans`` int64 ``(N, 2)`` with digit boxes
  (SVHN full numbers; :meth:`BoxedSource.digits`).

Every source has a length, gives image ``i`` at its own size (:meth:`ImageSource.image`),
selects rows (:meth:`ImageSource.select`, what ``split[10:20]`` uses) and gives its pixels at one
size (:meth:`ImageSource.pixels`): an array source its array, an encoded source a
:class:`DecodedImages`, a lazy uint8 ``(N, size, size, 3)`` array-like decoded on access. Pixels
are what batching, statistics, pictures and the adapters read. An encoded source asked for
pixels without a size raises the one :class:`ArgumentError` of :func:`size_needed`. The lazy
array-likes (:class:`LazyImages`, :class:`DecodedImages`, :class:`GatheredRows`) live in
:mod:`imagesets.lazy_images` and are importable from here.

>>> import io
>>> from imagesets.imaging import encode
>>> from imagesets.packed import PackedWriter
>>> buf = io.BytesIO(); writer = PackedWriter(buf)
>>> _ = [writer.append(encode(np.full((20, 30 + i, 3), 9 * i, np.uint8))) for i in range(3)]
>>> source = PackedSource(buf.getvalue(), writer.offsets())
>>> len(source), source.image(2).shape, source.pixels(8, "demo").shape
(3, (20, 32, 3), (3, 8, 8, 3))
>>> source.select(slice(1, None)).pixels(8, "demo")[0].shape
(8, 8, 3)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._parallel import default_workers
from .errors import ArgumentError, FormatError
from .lazy_images import DecodedImages, GatheredRows, LazyImages, _digest, _gather
from .packed import box_records, checked_offsets, data_view, decode_batch

__all__ = [
    "ArraySource",
    "BoxedSource",
    "DecodedImages",
    "EncodedSource",
    "GatheredRows",
    "ImageSource",
    "LazyImages",
    "PackedSource",
    "Pixels",
    "check_size",
    "size_needed",
    "source_of",
]

Array = np.ndarray[Any, Any]
U8 = NDArray[np.uint8]
IndexArray = NDArray[np.int64]
#: Rows of a source: a slice, or a 1-d array of row numbers (negative from the end) or of bools.
Rows = slice | NDArray[Any]
Data = str | Path | bytes | NDArray[np.uint8]
_S = TypeVar("_S", bound="EncodedSource")


def check_size(size: object) -> int | None:
    """``size`` as an int >= 1, or None; anything else is an :class:`ArgumentError`."""
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ArgumentError(f"size: expected an int >= 1 (pixels a side) or None, found {size!r}")
    return int(size)


def size_needed(what: str) -> ArgumentError:
    """The one error for pixels of variable-size images asked without a size."""
    return ArgumentError(
        f"{what} is a packed store of variable-size images: pass size=N to decode them resized "
        "and centre-cropped to N x N (e.g. size=64; on the command line, --size 64)"
    )


class ImageSource(ABC):
    """Where a split's images come from; see the module docstring for the three kinds.

    Attributes:
        kind: ``"arrays"``, ``"packed"`` or ``"boxed"``.
        layout: the stored arrays this source is built from (not per-example arrays of the
            split, except ``images``).
    """

    kind: ClassVar[str]
    layout: ClassVar[tuple[str, ...]]

    @abstractmethod
    def __len__(self) -> int:
        """The number of images."""

    @abstractmethod
    def image(self, i: int) -> Array:
        """Image ``i`` (0 <= i < len, or negative from the end) at its own size, uint8."""

    @abstractmethod
    def select(self, rows: Rows) -> ImageSource:
        """A source of the images ``rows`` (a slice, or an array as :data:`Rows` says)."""

    @abstractmethod
    def pixels(self, size: int | None, what: str) -> Pixels:
        """Every image as one uint8 array-like ``(N, ...)`` at one size.

        ``what`` names the split in error messages (``"split 'train'"``).
        """


class ArraySource(ImageSource):
    """Fixed-size images in one uint8 array ``(N, H, W)`` or ``(N, H, W, C)``, 0..255.

    With ``rows`` (int64 row numbers of ``images``) the source serves those rows only, in that
    order, without copying them: what ``split[index_array]``, validation parts and
    :meth:`~imagesets.dataset.Split.filter` give.
    """

    kind = "arrays"
    layout = ("images",)

    def __init__(self, images: Array, rows: IndexArray | None = None) -> None:
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise FormatError(
                f"prepared images: expected uint8 (N, H, W) or (N, H, W, C), found "
                f"{images.dtype} {images.shape}; re-prepare the dataset"
            )
        self._base, self.rows = images, rows

    @property
    def images(self) -> Array:
        """The images as one array: the stored array itself (or a numpy view of it for a
        slice); for a source of chosen ``rows``, those rows gathered into a new array on each
        access (the feeds read them on demand through :meth:`pixels` instead)."""
        if self.rows is None:
            return self._base
        return _gather(self._base, self.rows)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(self._base)

    def image(self, i: int) -> Array:
        """Image ``i``: a view of the (memory-mapped) array, ``(H, W)`` or ``(H, W, C)``."""
        out: Array = self._base[self.rows[i] if self.rows is not None else i]
        return out

    def select(self, rows: Rows) -> ArraySource:
        """A numpy view for a slice of the whole array; otherwise a source of the chosen
        rows over the same array (no image copied)."""
        if self.rows is None and isinstance(rows, slice):
            return ArraySource(self._base[rows])
        base = self.rows if self.rows is not None else np.arange(len(self), dtype=np.int64)
        return ArraySource(self._base, np.ascontiguousarray(base[rows], dtype=np.int64))

    def pixels(self, size: int | None, what: str) -> Array | GatheredRows:
        """The array itself (or, for chosen rows, a :class:`GatheredRows` view of them);
        ``size`` must be None or the images' own square side."""
        h, w = self._base.shape[1:3]
        if size is not None and not size == h == w:
            raise ArgumentError(
                f"{what} holds fixed-size {h} x {w} images, so size={size} does not apply "
                "(it decodes packed stores of variable-size images): drop size, or load the "
                f"dataset with options={{'size': {size}}} for {size} x {size} arrays"
            )
        return self._base if self.rows is None else GatheredRows(self._base, self.rows)


class EncodedSource(ImageSource):
    """Encoded images (JPEG, PNG, ...) in one byte blob, decoded on access.

    Image ``i`` is ``data[starts[r]:ends[r]]`` with ``r = rows[i]`` (``rows`` None: ``r = i``).
    :meth:`take` decodes a batch on ``workers`` threads (default: the cores this process may
    use); the decoders and OpenCV release the GIL, so threads keep every core busy. With a
    ``size``, each image is decoded straight into its row of the batch
    (:func:`imagesets.imaging.decode_into`).
    """

    kind = "encoded"
    layout: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, data: U8, starts: IndexArray, ends: IndexArray, *, workers: int | None = None
    ) -> None:
        self._data, self._starts, self._ends = data, starts, ends
        self._rows: IndexArray | None = None
        self._workers = workers if workers is not None else default_workers()

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._starts)

    def __getstate__(self) -> dict[str, Any]:
        """A blob memory-mapped from a whole file pickles as its path, not its bytes (what
        torch's worker processes receive)."""
        state = self.__dict__.copy()
        path = getattr(self._data, "filename", None)
        if path is not None and len(self._data) == Path(path).stat().st_size:
            state["_data"] = Path(path)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state["_data"], Path):
            state["_data"] = data_view(state["_data"])
        self.__dict__.update(state)

    def stored(self, i: int) -> int:
        """The stored row of image ``i`` (``IndexError`` if out of range)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"image index {i} is out of range for {n} images")
        row = int(i) % n
        return int(self._rows[row]) if self._rows is not None else row

    def describe(self, row: int) -> str:
        """A name for stored image ``row`` in error messages."""
        return f"packed image {row}"

    def raw(self, i: int) -> bytes:
        """The encoded bytes of image ``i`` exactly as stored."""
        row = self.stored(i)
        return self._data[self._starts[row] : self._ends[row]].tobytes()

    def image(self, i: int, *, size: int | None = None) -> U8:
        """Image ``i`` decoded: uint8 ``(H, W, 3)`` RGB 0..255, or ``(size, size, 3)``."""
        row = self.stored(i)
        data = self._data[self._starts[row] : self._ends[row]].tobytes()
        from .imaging import decode  # Pillow only when an image is decoded

        return decode(data, size=size, source=self.describe(row))

    def __getitem__(self, i: int) -> U8:
        """``source[i]`` is :meth:`image` ``(i)``, at its own size."""
        return self.image(i)

    def take(
        self, indices: Sequence[int] | NDArray[np.integer[Any]], *, size: int | None = None
    ) -> U8:
        """Decode images ``indices`` (any order, repeats allowed) on the worker threads.

        Returns:
            uint8 ``(len(indices), size, size, 3)``, each resized and centre-cropped; without
            ``size`` the images must share one shape (else an :class:`ArgumentError`).
        """
        if size is not None:
            return self._take_sized(self._stored_rows(indices), size)
        idx = [int(i) for i in np.asarray(indices).reshape(-1)]
        for i in idx:
            self.stored(i)  # every index checked before any work
        return decode_batch(lambda i: self.image(i), idx, size, self._workers)

    def _stored_rows(self, indices: Sequence[int] | NDArray[np.integer[Any]]) -> IndexArray:
        """int64 ``(len(indices),)``: the stored rows of images ``indices``, every index
        checked (as :meth:`stored`) before any work."""
        idx = np.asarray(indices).reshape(-1)
        n = len(self)
        if idx.dtype.kind not in "iub" or idx.dtype == bool:
            idx = np.asarray([int(i) for i in idx], dtype=np.int64)  # int() says what is wrong
        idx = idx.astype(np.int64, copy=False)
        bad = (idx < -n) | (idx >= n)
        if bad.any():
            raise IndexError(f"image index {int(idx[bad][0])} is out of range for {n} images")
        rows = idx % n if n else idx
        return self._rows[rows] if self._rows is not None else rows

    def _take_sized(self, rows: IndexArray, size: int) -> U8:
        """uint8 ``(len(rows), size, size, 3)``: stored ``rows`` decoded straight into their
        slots of the batch (:func:`imagesets.imaging.decode_into`), on the worker threads.
        Offsets are looked up once per batch, so each image costs one call."""
        from .imaging import UndecodableImageError, imap_bounded
        from .imaging_into import decode_into

        batch = np.empty((len(rows), size, size, 3), np.uint8)
        blob = self._data.data  # a memoryview: slices are not copied
        spans = list(zip(self._starts[rows].tolist(), self._ends[rows].tolist(), strict=True))

        def fill(k: int) -> None:
            start, end = spans[k]
            try:
                decode_into(batch[k], blob[start:end])
            except UndecodableImageError as exc:
                raise UndecodableImageError(exc.reason, self.describe(int(rows[k]))) from None

        workers = min(self._workers, max(1, len(rows)))
        if workers <= 1:
            for k in range(len(rows)):
                fill(k)
        else:
            for _ in imap_bounded(fill, range(len(rows)), workers):
                pass
        return batch

    def _clone(self: _S) -> _S:
        """A shallow copy sharing the blob (``copy.copy`` would pickle a mapped blob as its
        path and map the file again)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def on_threads(self: _S, workers: int) -> _S:
        """This source with :meth:`take` decoding on ``workers`` threads (int >= 1), over the
        same blob (no bytes copied)."""
        from .batch_options import _whole  # the check of the feeds' ``workers``

        clone = self._clone()
        clone._workers = _whole("workers", workers, 1)
        return clone

    def select(self: _S, rows: Rows) -> _S:
        """A source of the images ``rows`` over the same blob (no bytes copied)."""
        base = self._rows if self._rows is not None else np.arange(len(self), dtype=np.int64)
        clone = self._clone()
        clone._rows = np.ascontiguousarray(base[rows], dtype=np.int64)
        return clone

    def pixels(self, size: int | None, what: str) -> DecodedImages:
        """The images decoded to ``size`` x ``size`` on access; without ``size``, the
        :func:`size_needed` error."""
        if size is None:
            raise size_needed(what)
        return DecodedImages(self, size)

    def token(self) -> tuple[object, ...]:
        """A stable name of this source's content: the blob (its file and mtime when memory
        mapped) and digests of the spans and rows, for dask's task names."""
        path = getattr(self._data, "filename", None)
        if path is not None:
            stat = Path(path).stat()
            blob: tuple[object, ...] = (str(path), stat.st_size, stat.st_mtime_ns)
        else:
            blob = (_digest(self._data),)
        rows = _digest(self._rows) if self._rows is not None else None
        return (type(self).__name__, *blob, _digest(self._starts), _digest(self._ends), rows)


class PackedSource(EncodedSource):
    """The packed store: image ``i`` is ``data[offsets[i]:offsets[i + 1]]``.

    Args:
        data: the blob (a path, memory-mapped read-only) or its bytes / a uint8 array.
        offsets: int64 ``(N + 1,)`` from 0 to the data length, non-decreasing.
    """

    kind = "packed"
    layout = ("offsets",)

    def __init__(self, data: Data, offsets: NDArray[Any], *, workers: int | None = None) -> None:
        view = data_view(data)
        bounds = checked_offsets(offsets, len(view))
        super().__init__(view, bounds[:-1], bounds[1:], workers=workers)


class BoxedSource(EncodedSource):
    """Images with digit boxes (SVHN full numbers), as the ``svhn-full`` reader stores them.

    Args:
        arrays: ``spans`` int64 ``(N, 2)`` (image ``i`` is ``data[spans[i, 0]:spans[i, 1]]``),
            ``shapes`` ``(N, 2)`` (height, width), ``boxes`` :data:`imagesets.packed.BOX_DTYPE`
            ``(M,)`` grouped by image (a plain void dtype of that size is accepted) and
            ``box_offsets`` int64 ``(N + 1,)`` (image ``i``'s digits are
            ``boxes[box_offsets[i]:box_offsets[i + 1]]``).
        data: the blob ``data`` (a path, memory-mapped) or its bytes.
    """

    kind = "boxed"
    layout = ("spans", "shapes", "boxes", "box_offsets")

    def __init__(
        self, arrays: Mapping[str, NDArray[Any]], data: Data, *, workers: int | None = None
    ) -> None:
        spans = np.asarray(arrays["spans"])
        self.shapes = np.asarray(arrays["shapes"])
        self.boxes = box_records(np.asarray(arrays["boxes"]))
        self.box_offsets = np.asarray(arrays["box_offsets"])
        view = data_view(data)
        _check_boxed(spans, self.shapes, self.boxes, self.box_offsets, len(view))
        spans = spans.astype(np.int64, copy=False)
        super().__init__(view, spans[:, 0], spans[:, 1], workers=workers)

    def describe(self, row: int) -> str:
        """The archive's name of stored image ``row``: ``f"{row + 1}.png"``."""
        return f"SVHN full image {row + 1}.png"

    def digits(self, i: int) -> NDArray[Any]:
        """The digits of image ``i``: :data:`~imagesets.packed.BOX_DTYPE` ``(k,)``, left to
        right as annotated (``label`` 0..9, box in pixels of the original image)."""
        row = self.stored(i)
        return self.boxes[self.box_offsets[row] : self.box_offsets[row + 1]]

    def digit_counts(self) -> NDArray[np.int64]:
        """int64 ``(N,)``: the number of digits of each image."""
        counts = np.diff(self.box_offsets).astype(np.int64)
        return counts[self._rows] if self._rows is not None else counts

    def label_counts(self, num_classes: int) -> NDArray[np.int64]:
        """int64 ``(max(num_classes, largest label + 1),)``: digits of each label over the
        images of this source (an image selected twice counts twice)."""
        per_image = np.diff(self.box_offsets)
        if self._rows is None:
            weight: NDArray[Any] = np.ones(len(self.boxes), np.int64)
        else:
            owner = np.repeat(np.arange(len(per_image)), per_image)
            weight = np.bincount(self._rows, minlength=len(per_image))[owner]
        labels = self.boxes["label"].astype(np.intp)
        counts = np.bincount(labels, weights=weight, minlength=num_classes)
        return np.rint(counts).astype(np.int64)


def _check_boxed(
    spans: Array, shapes: Array, boxes: Array, box_offsets: Array, nbytes: int
) -> None:
    n = len(spans)
    ok = spans.shape == shapes.shape == (n, 2) and box_offsets.shape == (n + 1,)
    ok = ok and spans.dtype.kind in "iu" and box_offsets.dtype.kind in "iu"
    if ok and n:
        ok = bool(
            box_offsets[0] == 0
            and box_offsets[-1] == len(boxes)
            and np.all(np.diff(box_offsets) >= 0)
            and spans.min() >= 0
            and spans.max() <= nbytes
            and np.all(spans[:, 0] <= spans[:, 1])
        )
    if not ok:
        raise FormatError(
            f"SVHN full split: arrays spans {spans.dtype}{spans.shape}, shapes {shapes.shape}, "
            f"box_offsets {box_offsets.dtype}{box_offsets.shape}, boxes {boxes.shape} and "
            f"{nbytes} data bytes do not agree; re-prepare the dataset"
        )


#: A source's pixels at one size: a uint8 array, or rows read on access (decoded, or gathered).
Pixels = Array | LazyImages

_Builder = Callable[[Mapping[str, Array], Mapping[str, Path]], ImageSource]


def _encoded(build: Callable[[Mapping[str, Array], Path], ImageSource]) -> _Builder:
    def checked(arrays: Mapping[str, Array], blobs: Mapping[str, Path]) -> ImageSource:
        if "data" not in blobs:
            raise FormatError(
                f"prepared split: arrays {sorted(arrays)} describe a packed store but the blob "
                f"'data' is missing (blobs: {sorted(blobs)}); re-prepare the dataset"
            )
        return build(arrays, blobs["data"])

    return checked


#: The stored array that marks each layout -> how to build its source, tried in this order.
LAYOUTS: dict[str, _Builder] = {
    "images": lambda arrays, _blobs: ArraySource(arrays["images"]),
    "spans": _encoded(lambda arrays, data: BoxedSource(arrays, data)),
    "offsets": _encoded(lambda arrays, data: PackedSource(data, arrays["offsets"])),
}


def source_of(arrays: Mapping[str, Array], blobs: Mapping[str, Path]) -> ImageSource:
    """The source of a prepared split's stored ``arrays`` and ``blobs`` (built once; the arrays
    are used as they are, memory maps stay memory maps)."""
    for key, build in LAYOUTS.items():
        if key in arrays:
            return build(arrays, blobs)
    raise FormatError(
        f"prepared split: expected one of the arrays {sorted(LAYOUTS)} holding its images, found "
        f"{sorted(arrays)}; re-prepare the dataset"
    )
