"""Fake IDX files (the MNIST format) and whole fake MNIST-style datasets.

>>> images, labels = fake_mnist_arrays(5, seed=0)
>>> images.shape, images.dtype, labels.shape
((5, 28, 28), dtype('uint8'), (5,))
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["fake_mnist_arrays", "idx_bytes", "write_fake_mnist", "write_idx"]

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}

#: The IDX file names of each split, as MNIST and Fashion-MNIST publish them.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(array: np.ndarray[Any, Any], *, compress: bool = True) -> bytes:
    """The IDX encoding of ``array`` (big-endian; gzip-compressed with mtime 0 if asked)."""
    code = _CODES[array.dtype.kind + str(array.dtype.itemsize)]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    body = array.astype(array.dtype.newbyteorder(">"), copy=False).tobytes()
    raw = header + body
    return gzip.compress(raw, mtime=0) if compress else raw


def write_idx(path: Path, array: np.ndarray[Any, Any], *, compress: bool = True) -> Path:
    """Write ``array`` as an IDX file (``.gz`` when ``compress``); returns ``path``."""
    path.write_bytes(idx_bytes(array, compress=compress))
    return path


def fake_mnist_arrays(
    n: int, *, seed: int = 0, shape: tuple[int, int] = (28, 28), classes: int = 10
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Deterministic uint8 images ``(n, *shape)`` in 0..255 and uint8 labels ``(n,)``."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    labels = (np.arange(n) % classes).astype(np.uint8)
    rng.shuffle(labels)
    return images, labels


def write_fake_mnist(
    folder: Path, counts: dict[str, int], *, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Write the four MNIST-named .gz files into ``folder``.

    Returns ``{file name: {"size", "sha256", "array"}}`` so tests can build catalog entries.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for i, (split, n) in enumerate(counts.items()):
        images, labels = fake_mnist_arrays(n, seed=seed + i)
        for name, arr in zip(SPLIT_FILES[split], (images, labels), strict=True):
            data = idx_bytes(arr)
            (folder / name).write_bytes(data)
            out[name] = {
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "array": arr,
            }
    return out
