"""Converted batches in one pass: gather, layout (NHWC/NCHW) and dtype/scaling per chunk of rows.

Used by :mod:`imagesets.batching`. A batch is filled by the compiled kernel of
:mod:`imagesets._kernels` when numba is installed and it serves the output dtype, else chunk by
chunk with numpy (:func:`_convert_rows`); ``parts`` row ranges of one batch are filled on a
small shared thread pool. Every function returns a fresh array (or, when nothing changes, the
gathered batch itself), bit-exact with torchvision's ``ToTensor`` for float32 ``normalize``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _kernels
from .batch_options import Layout

Array = np.ndarray[Any, Any]
IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Convert:
    """What happens to a gathered uint8 batch: dtype, scaling and layout."""

    dtype: np.dtype[Any] | None
    normalize: bool
    layout: Layout


def _as_nhwc(x: Array) -> Array:
    return x


def _as_nchw(x: Array) -> Array:
    return x[:, np.newaxis] if x.ndim == 3 else x.transpose(0, 3, 1, 2)


_LAYOUTS: dict[str, Callable[[Array], Array]] = {"NHWC": _as_nhwc, "NCHW": _as_nchw}


#: uint8 bytes of one chunk of a batch: the gathered rows and their converted copy stay in the
#: core's L2 cache between the gather, the layout change and the conversion.
_CHUNK_BYTES = 1 << 18
#: Output bytes below which a batch is converted in the calling thread only: a hand-off to the
#: pool costs tens of microseconds, more than a second thread saves on an MNIST-shaped float32
#: batch of 256 (0.8 MB, about 100 us); a CIFAR-shaped one (3 MB) gains 25 % from it.
_PARALLEL_BYTES = 1 << 20
#: Stored rows (samples) shorter than this many bytes are gathered first, chunk by chunk,
#: with ``np.take`` (one copy per row, in L2) and then converted by the compiled kernel: the
#: kernel reading short rows at random waits on memory (MNIST-shaped float32 batches, 784-byte
#: rows, were 1.3x slower that way); longer rows (64x64 RGB, 12 KiB) are faster read by the
#: kernel directly (bench/bench_batches.py; the same bytes either way).
_GATHER_FIRST_ROW_BYTES = 2048


def _out_shape(shape: tuple[int, ...], layout: Layout) -> tuple[int, ...]:
    """The served shape of a uint8 batch of ``shape`` (N, H, W[, C]) in ``layout``."""
    if layout == "NHWC":
        return shape
    return (shape[0], 1, *shape[1:]) if len(shape) == 3 else (shape[0], shape[3], *shape[1:3])


def _convert_rows(out: Array, rows: Callable[[int, int], Array], conv: _Convert) -> None:
    """Fill ``out`` (the served batch) from ``rows(start, stop)`` (uint8 samples), chunk by
    chunk: each chunk is gathered, laid out and converted while it is in cache.

    ``normalize`` casts each uint8 to the target dtype and divides in it (SIMD loops on the
    chunk in cache): for float32 exactly ``np.float32(x) / np.float32(255)``, the values of
    torchvision's ``ToTensor``. Numpy's copies and ufuncs release the GIL, so several threads
    can fill parts of one batch.
    """
    n = len(out)
    if n == 0:
        return
    sample = max(1, out[0].size)
    step = max(1, _CHUNK_BYTES // sample)
    arrange = _LAYOUTS[conv.layout]
    scale = out.dtype.type(255)
    for start in range(0, n, step):
        stop = min(start + step, n)
        chunk = out[start:stop]
        np.copyto(chunk, arrange(rows(start, stop)), casting="unsafe")
        if conv.normalize:
            np.divide(chunk, scale, out=chunk)


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """One pool per size, shared by every feed (its threads idle between batches)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imagesets-convert")


Fill = Callable[[Array, int, int], None]
"""``fill(block, lo, hi)``: write the served rows ``lo:hi`` of a batch into ``block``."""


def _convert_batch(shape: tuple[int, ...], fill: Fill, conv: _Convert, parts: int) -> Array:
    """A new batch of ``shape`` (uint8 N, H, W[, C]) served as ``conv`` says, made by ``fill``
    in one pass, split into ``parts`` row ranges filled in parallel."""
    out = np.empty(_out_shape(shape, conv.layout), conv.dtype or np.uint8)
    n = shape[0]
    parts = min(parts, n) if out.nbytes >= _PARALLEL_BYTES else 1
    if parts <= 1:
        fill(out, 0, n)
        return out
    bounds = [n * k // parts for k in range(parts + 1)]

    def part(k: int) -> None:
        lo, hi = bounds[k], bounds[k + 1]
        fill(out[lo:hi], lo, hi)

    futures = [_pool(parts - 1).submit(part, k) for k in range(1, parts)]
    try:
        part(0)
    finally:
        for future in futures:
            future.result()
    return out


def _filler(images: Array, idx: IndexArray | None, conv: _Convert) -> Fill:
    """How the rows of ``images[idx]`` (``idx`` None: every row in order) are filled in: by
    the compiled kernel when :func:`imagesets._kernels.kernel_name` is ``"numba"`` and it
    serves the dtype, else chunk by chunk with numpy (:func:`_convert_rows`)."""
    dtype = conv.dtype or np.dtype(np.uint8)
    if images.dtype == np.uint8 and _kernels.serves(dtype):
        chw = conv.layout == "NCHW"
        row_bytes = images[0].nbytes if len(images) else 0
        if idx is not None and (
            not images.flags.c_contiguous or row_bytes < _GATHER_FIRST_ROW_BYTES
        ):
            strided, rows = images, idx
            step = max(1, min(len(rows), _CHUNK_BYTES // max(1, row_bytes)))
            in_order = np.arange(step)

            def fill_gathered(block: Array, lo: int, hi: int) -> None:
                for a in range(lo, hi, step):
                    b = min(a + step, hi)
                    part = strided.take(rows[a:b], 0)  # a C-contiguous copy, in L2
                    _kernels.fill(
                        part, in_order[: b - a], block[a - lo : b - lo], chw, conv.normalize
                    )

            return fill_gathered
        source = np.ascontiguousarray(images)  # a gathered batch: already contiguous
        order = np.arange(len(images)) if idx is None else idx

        def fill_kernel(block: Array, lo: int, hi: int) -> None:
            _kernels.fill(source, order[lo:hi], block, chw, conv.normalize)

        return fill_kernel
    if idx is None:
        whole = images

        def take(a: int, b: int) -> Array:
            return whole[a:b]
    else:
        base, where = images, idx

        def take(a: int, b: int) -> Array:
            return np.take(base, where[a:b], axis=0)

    def fill_numpy(block: Array, lo: int, hi: int) -> None:
        _convert_rows(block, lambda a, b: take(lo + a, lo + b), conv)

    return fill_numpy


def _convert(x: Array, conv: _Convert, parts: int = 1) -> Array:
    """A gathered uint8 batch served as ``conv`` says (a fresh array, or ``x`` itself)."""
    if conv.dtype is None and conv.layout == "NHWC":
        return x
    return _convert_batch(x.shape, _filler(x, None, conv), conv, parts)
