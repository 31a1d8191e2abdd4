"""The numba kernels of :mod:`imagesets._kernels` (imported by it on first use, only when numba
is installed: importing this module imports numba).

Module-level functions so that numba's on-disk cache (``cache=True``) finds them again in the
next process: ``NUMBA_CACHE_DIR`` if set, else ``__pycache__`` beside this file, else (a
read-only site-packages) numba's user-wide cache directory.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(nogil=True, cache=True, boundscheck=False)


@_jit  # type: ignore[untyped-decorator]
def split_channels(src: Any, tmp: Any, channels: int) -> None:
    """``tmp[c * hw + p] = src[p * channels + c]``: one uint8 HWC row to CHW, in cache."""
    hw = len(src) // channels
    if channels == 3:  # the common RGB case, unrolled so that the loop vectorises
        for p in range(hw):
            tmp[p] = src[3 * p]
            tmp[hw + p] = src[3 * p + 1]
            tmp[2 * hw + p] = src[3 * p + 2]
    else:
        for c in range(channels):
            for p in range(hw):
                tmp[c * hw + p] = src[p * channels + c]


@_jit  # type: ignore[untyped-decorator]
def convert(row: Any, dst: Any, normalize: bool, scale: Any) -> None:
    """``dst = row / scale`` in ``scale``'s dtype (a SIMD division), or a plain cast."""
    if normalize:
        for p in range(len(row)):
            dst[p] = row[p] / scale
    else:
        for p in range(len(row)):
            dst[p] = row[p]


@_jit  # type: ignore[untyped-decorator]
def fill_rows(
    rows: Any, idx: Any, out: Any, channels: int, chw: bool, normalize: bool, scale: Any
) -> None:
    """``out[i] = convert(layout(rows[idx[i]]))`` for each i; ``rows`` uint8 ``(N, S)``,
    ``out`` ``(n, S)``; the arguments of :func:`imagesets._kernels.fill`. No bounds checks."""
    tmp = np.empty(rows.shape[1], np.uint8)
    for i in range(len(idx)):
        src = rows[idx[i]]
        if chw:
            split_channels(src, tmp, channels)
            convert(tmp, out[i], normalize, scale)
        else:
            convert(src, out[i], normalize, scale)
