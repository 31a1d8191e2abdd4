"""Fake data in the real formats, for our tests and our users' tests.

Each submodule writes files byte-compatible with one original format (``idx``, ``cifar``,
``matlab``, ``images``...) from small numpy arrays, and :mod:`imagesets.testing.server` serves a
folder over a loopback HTTP server with the failure modes real mirrors have. ``MemoryWriter``
lets a reader be run without a cache.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MemoryWriter"]


class MemoryWriter:
    """A :class:`imagesets.formats.SplitWriter` that keeps everything in memory.

    >>> w = MemoryWriter()
    >>> w.array("labels", (3,), "uint8").shape
    (3,)
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}
        self.blobs: dict[str, io.BytesIO] = {}

    def array(
        self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike
    ) -> np.ndarray[Any, Any]:
        """A zero-filled array, kept under ``name``."""
        if name in self.arrays or name in self.blobs:
            raise ValueError(f"array {name!r} was already created")
        arr = np.zeros(shape, dtype=dtype)
        self.arrays[name] = arr
        return arr

    def blob(self, name: str) -> io.BytesIO:
        """An in-memory binary file, kept under ``name``; it stays readable after close."""
        if name in self.arrays or name in self.blobs:
            raise ValueError(f"blob {name!r} was already created")
        buf = _KeepOpenBytesIO()
        self.blobs[name] = buf
        return buf


class _KeepOpenBytesIO(io.BytesIO):
    def close(self) -> None:  # keep the bytes for the test to read
        self.flush()
