"""Fake EMNIST ``gzip.zip`` files: IDX ``.gz`` members with the images stored transposed, as
NIST stores them, and the variant's mapping file.

>>> import tempfile, pathlib
>>> images = np.zeros((2, 28, 28), np.uint8); images[:, 0, :] = 255  # a bar along the top
>>> path = pathlib.Path(tempfile.mkdtemp()) / "gzip.zip"
>>> _ = write_fake_emnist(path, "digits", {"train": (images, np.array([3, 7], np.uint8))},
...                       [str(d) for d in range(10)])
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..formats.emnist import member_names
from .idx import idx_bytes

__all__ = ["fake_emnist_split", "mapping_text", "write_fake_emnist"]

_MISSING = "N/A"


def mapping_text(classes: Sequence[str]) -> str:
    """The mapping file of ``classes``: ``"label code"`` per named class (``"N/A"`` left out);
    a lowercase letter gets its capital's code first, as EMNIST Letters' ``"1 65 97"``."""
    lines = []
    for label, name in enumerate(classes):
        if name == _MISSING:
            continue
        codes = [ord(name)]
        if name.islower() and _MISSING in classes:
            codes.insert(0, ord(name.upper()))
        lines.append(" ".join(str(c) for c in (label, *codes)))
    return "\n".join(lines) + "\n"


def fake_emnist_split(
    n: int, classes: Sequence[str], seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Upright uint8 images ``(n, 28, 28)`` and uint8 labels ``(n,)``, every label one the
    classes name (never an ``"N/A"`` index)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    named = np.array([i for i, c in enumerate(classes) if c != _MISSING], dtype=np.uint8)
    labels = named[np.arange(n) % len(named)]
    rng.shuffle(labels)
    return images, labels


def write_fake_emnist(
    path: Path,
    variant: str,
    splits: Mapping[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    classes: Sequence[str] | None,
    *,
    append: bool = False,
) -> Path:
    """Write a zip at ``path`` holding ``variant``'s members for each split of ``splits``
    (``split -> (upright images (n, 28, 28) uint8, labels (n,) uint8)``), the images stored
    transposed, and its mapping file unless ``classes`` is None; ``append`` adds them to an
    existing zip (several variants in one file, as NIST's). Returns ``path``."""
    with zipfile.ZipFile(path, "a" if append else "w", zipfile.ZIP_STORED) as zf:
        for split, (images, labels) in splits.items():
            names = member_names(variant, split)
            stored = np.ascontiguousarray(images.transpose(0, 2, 1))
            zf.writestr(names["images"], idx_bytes(stored))
            zf.writestr(names["labels"], idx_bytes(labels))
        if classes is not None:
            any_split = next(iter(splits), "train")
            zf.writestr(member_names(variant, any_split)["mapping"], mapping_text(classes))
    return path
