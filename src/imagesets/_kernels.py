"""The compiled fill of converted batches: gather, HWC->CHW and ``/ 255`` in one pass per row.

A converted batch (float, NCHW) is made by one of two kernels, chosen once per process and
reported by :func:`kernel_name`:

* ``"numba"`` (when numba is installed: ``pip install imagesets[fast]``): for each sample, the
  stored uint8 row is read once, its channels are split into a small uint8 scratch row that
  stays in L1 (NCHW only), and the scratch row is converted into the output by one SIMD loop
  (float32: ``float32(float64(v) * (1 / 255))``, which equals ``float32(v) / float32(255)`` for
  all 256 values and is cheaper than the division; float64: the division). The loop releases
  the GIL, so the row blocks of one batch run on several threads truly in parallel. An
  epoch of CIFAR-shaped float32 NCHW batches is 2.4x faster than with the numpy kernel,
  MNIST-shaped 1.3x (bench/bench_torchvision.py; uint8 NCHW 2.7x). The first converted batch
  of a process imports numba and compiles the kernel (2-3 s) or loads it from numba's disk
  cache (0.7-1 s, numba's import included): ``NUMBA_CACHE_DIR``, else ``__pycache__`` beside
  :mod:`imagesets._numba_kernels`, else (read-only site-packages) ``~/.cache/numba``.
* ``"numpy"``: numpy copies and ufuncs over chunks of rows in cache
  (``batch_convert._convert_rows``), used when numba is not installed or for output dtypes
  the numba kernel does not serve (anything but uint8, float32 and float64).

``IMAGESETS_KERNEL=numpy`` (or ``numba``) in the environment forces one; forcing ``numba``
without numba installed is an :class:`~imagesets.errors.ArgumentError`, never a quiet fallback.

Both kernels give the same bytes: ``np.float32(v) / np.float32(255)`` for every uint8 ``v``,
which are torchvision ``ToTensor``'s values (tests/test_kernels.py checks all 256 against torch).
numba is imported here lazily, on the first converted batch, never on the warm load path.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ArgumentError

__all__ = ["KERNELS", "fill", "kernel_name", "serves"]

Array = np.ndarray[Any, Any]

#: The kernel names :func:`kernel_name` may return (and ``IMAGESETS_KERNEL`` may force).
KERNELS = ("numba", "numpy")
#: Output dtypes the numba kernel fills; any other is converted by the numpy kernel.
_NUMBA_DTYPES = frozenset({np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64)})

#: The modes of ``_numba_kernels.convert`` (its CAST, DIVIDE, MULTIPLY; kept here so that
#: this module never imports numba).
_CAST, _DIVIDE, _MULTIPLY = 0, 1, 2

_active: str | None = None  # the resolved kernel name, once
_compiled: Callable[..., None] | None = None


def kernel_name() -> str:
    """The kernel filling converted batches in this process: ``"numba"`` or ``"numpy"``.

    ``"numba"`` when numba imports (unless ``IMAGESETS_KERNEL=numpy``), else ``"numpy"``.
    Resolved once and then fixed for the process.
    """
    global _active
    if _active is None:
        _active = _resolve(os.environ.get("IMAGESETS_KERNEL", "").strip().lower())
    return _active


def _resolve(wanted: str) -> str:
    if wanted not in ("", *KERNELS):
        raise ArgumentError(
            f"IMAGESETS_KERNEL: expected one of {', '.join(KERNELS)} or unset, found {wanted!r}"
        )
    if wanted == "numpy":
        return "numpy"
    try:
        importlib.import_module("numba")
    except ImportError as exc:
        if wanted == "numba":
            raise ArgumentError(
                "IMAGESETS_KERNEL=numba: numba is not installed; install it with"
                " `pip install imagesets[fast]`, or unset IMAGESETS_KERNEL"
            ) from exc
        return "numpy"
    return "numba"


def serves(dtype: np.dtype[Any]) -> bool:
    """Whether the active kernel is numba and fills batches of ``dtype``."""
    return kernel_name() == "numba" and dtype in _NUMBA_DTYPES


def fill(images: Array, idx: Array, out: Array, chw: bool, normalize: bool) -> None:
    """Fill ``out`` with the samples ``images[idx]`` laid out and converted, in one pass.

    Args:
        images: uint8 ``(N, H, W)`` or ``(N, H, W, C)``, C-contiguous (a memmap's pages).
        idx: int64 ``(n,)`` sample numbers, each in ``[0, N)`` (not checked: the kernel
            indexes without bounds checks, so callers pass indices they made).
        out: C-contiguous ``(n, ...)`` of uint8, float32 or float64 (``serves``), the served
            shape: ``(n, C, H, W)`` when ``chw``, else the stored one.
        chw: channels first (``(H, W, C)`` rows become ``(C, H, W)``).
        normalize: divide by 255 in ``out``'s dtype (``np.float32(v) / np.float32(255)``).

    Releases the GIL while it runs: several threads may fill disjoint parts of one batch.
    """
    kernel = _kernel()
    n = len(idx)
    if n == 0:
        return
    rows = images.reshape(len(images), -1)
    channels = images.shape[3] if images.ndim == 4 else 1
    mode = _CAST if not normalize else _MULTIPLY if out.dtype == np.float32 else _DIVIDE
    scale = out.dtype.type(255)
    kernel(rows, idx, out.reshape(n, -1), channels, chw and channels > 1, mode, scale)


def _kernel() -> Callable[..., None]:
    """The compiled kernel (numba imported and the function compiled or loaded on first use)."""
    global _compiled
    if _compiled is None:
        _compiled = _build()
    return _compiled


def _build() -> Callable[..., None]:
    """Import the numba kernels (compiled on the first call, or loaded from numba's cache)."""
    from . import _numba_kernels

    kernel: Callable[..., None] = _numba_kernels.fill_rows
    return kernel
