"""A prepared SVHN full-numbers split read back: :class:`SvhnFullSplit`, :data:`BOX_DTYPE`.

The arrays are those :func:`imagesets.formats.svhn_full.read_split` writes (``spans``,
``shapes``, ``boxes``, ``box_offsets``) and the blob ``data`` of the original PNG bytes; images
are decoded on access with :func:`imagesets.imaging.decode`. Both names are re-exported by
:mod:`imagesets.formats.svhn_full`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import FormatError
from ..imaging import decode, default_workers, imap_bounded
from ..packed import _as_bytes

__all__ = ["BOX_DTYPE", "SvhnFullSplit"]

#: One digit: image index (0-based), label, and box in pixels (``left``/``top`` may be < 0).
BOX_DTYPE = np.dtype(
    [("image", "<i4"), ("label", "u1"), ("left", "<f4"), ("top", "<f4"),
     ("width", "<f4"), ("height", "<f4")]
)  # fmt: skip


def _box_view(boxes: NDArray[Any]) -> NDArray[Any]:
    """``boxes`` as :data:`BOX_DTYPE`; a store may hand back its records as a plain void dtype."""
    plain_void = boxes.dtype.kind == "V" and boxes.dtype.names is None
    if boxes.dtype != BOX_DTYPE and not (plain_void and boxes.dtype.itemsize == BOX_DTYPE.itemsize):
        raise FormatError(
            f"SVHN full split: boxes: expected dtype {BOX_DTYPE.descr}, found {boxes.dtype}; "
            "re-prepare the dataset"
        )
    return boxes.view(BOX_DTYPE)


class SvhnFullSplit:
    """Random access to a prepared SVHN full-numbers split; a batching ``SampleSource``.

    Args:
        arrays: ``spans``, ``shapes``, ``boxes`` and ``box_offsets`` as :func:`read_split`
            wrote them (memory-mapped or not; ``boxes`` may come back as a plain void dtype).
        data: the blob ``data`` (a path, memory-mapped) or its bytes.
        size: default ``size`` of :meth:`take`.
    """

    def __init__(
        self,
        arrays: Mapping[str, NDArray[Any]],
        data: str | Path | bytes | NDArray[np.uint8],
        *,
        size: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.spans = np.asarray(arrays["spans"])
        self.shapes = np.asarray(arrays["shapes"])
        self.boxes = _box_view(np.asarray(arrays["boxes"]))
        self.box_offsets = np.asarray(arrays["box_offsets"])
        self.size, self._data = size, _as_bytes(data)
        self._workers = workers if workers is not None else default_workers()
        self._check()

    def _check(self) -> None:
        n = len(self.spans)
        ok = self.spans.shape == self.shapes.shape == (n, 2) and self.box_offsets.shape == (n + 1,)
        if ok and n:
            ok = self.box_offsets[-1] == len(self.boxes) and self.spans.max() <= len(self._data)
        if not ok:
            raise FormatError(
                f"SVHN full split: arrays spans {self.spans.shape}, shapes {self.shapes.shape}, "
                f"box_offsets {self.box_offsets.shape}, boxes {self.boxes.shape} and "
                f"{len(self._data)} data bytes do not agree; re-prepare the dataset"
            )

    def __len__(self) -> int:
        return len(self.spans)

    def _index(self, i: int) -> int:
        if not -len(self) <= i < len(self):
            raise IndexError(f"SVHN full image index {i} out of range for {len(self)} images")
        return int(i) % len(self)

    def raw(self, i: int) -> bytes:
        """The PNG bytes of image ``i`` (the file ``f"{i + 1}.png"``) exactly as in the archive."""
        start, end = self.spans[self._index(i)]
        return self._data[start:end].tobytes()

    def image(self, i: int, *, size: int | None = None) -> NDArray[np.uint8]:
        """Image ``i`` decoded: uint8 ``(H, W, 3)`` RGB 0..255, or ``(size, size, 3)``."""
        return decode(self.raw(i), size=size, source=f"SVHN full image {self._index(i) + 1}.png")

    __getitem__ = image

    def digits(self, i: int) -> NDArray[Any]:
        """The digits of image ``i``: :data:`BOX_DTYPE` ``(k,)``, left to right as annotated."""
        i = self._index(i)
        return self.boxes[self.box_offsets[i] : self.box_offsets[i + 1]]

    def take(self, indices: Sequence[int] | NDArray[np.integer[Any]], *,
             size: int | None = None) -> NDArray[np.uint8]:  # fmt: skip
        """Decode images ``indices`` on worker threads: uint8 ``(n, size, size, 3)``.

        ``size`` (or the instance's) is required: SVHN full images differ in size.
        """
        size = size if size is not None else self.size
        if size is None:
            raise ValueError("take: SVHN full images differ in size; pass size=...")
        idx = [int(i) for i in np.asarray(indices).reshape(-1)]
        batch = np.empty((len(idx), size, size, 3), np.uint8)
        one = lambda i: self.image(i, size=size)  # noqa: E731
        for row, img in enumerate(imap_bounded(one, idx, min(self._workers, max(1, len(idx))))):
            batch[row] = img
        return batch
