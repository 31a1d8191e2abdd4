"""The numba kernels of :mod:`imagesets._kernels` (imported by it on first use, only when numba
is installed: importing this module imports numba).

Module-level functions so that numba's on-disk cache (``cache=True``) finds them again in the
next process: ``NUMBA_CACHE_DIR`` if set, else ``__pycache__`` beside this file, else (a
read-only site-packages) numba's user-wide cache directory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

_Kernel = Callable[..., None]
_jit: Callable[[_Kernel], _Kernel] = numba.njit(nogil=True, cache=True, boundscheck=False)


@_jit
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


#: What :func:`convert` does to each value: cast it, divide it by ``scale``, or (float32 out)
#: multiply it by 1/255 in float64 and round to float32.
CAST, DIVIDE, MULTIPLY = 0, 1, 2


@_jit
def convert(row: Any, dst: Any, mode: int, scale: Any) -> None:
    """``dst = row`` converted as ``mode`` says, one SIMD loop.

    ``MULTIPLY``: ``float32(float64(v) * (1 / 255))`` equals ``float32(v) / float32(255)`` for
    every uint8 ``v`` (all 256 checked in tests/test_kernels.py) and avoids the division, whose
    throughput bounds the loop; the multiply is one IEEE operation, no fused or reordered math.
    """
    if mode == MULTIPLY:
        inv = 1.0 / 255.0
        for p in range(len(row)):
            dst[p] = np.float32(np.float64(row[p]) * inv)
    elif mode == DIVIDE:
        for p in range(len(row)):
            dst[p] = row[p] / scale
    else:
        for p in range(len(row)):
            dst[p] = row[p]


@_jit
def fill_rows(
    rows: Any, idx: Any, out: Any, channels: int, chw: bool, mode: int, scale: Any
) -> None:
    """``out[i] = convert(layout(rows[idx[i]]))`` for each i; ``rows`` uint8 ``(N, S)``,
    ``out`` ``(n, S)``; the arguments of :func:`imagesets._kernels.fill`. No bounds checks."""
    tmp = np.empty(rows.shape[1], np.uint8)
    for i in range(len(idx)):
        src = rows[idx[i]]
        if chw:
            split_channels(src, tmp, channels)
            convert(tmp, out[i], mode, scale)
        else:
            convert(src, out[i], mode, scale)
