"""Fake ``stl10_binary.tar.gz`` files in the real layout (column-major planes, 1-based labels).

>>> import tempfile, pathlib
>>> data = fake_stl10_split(3, n_classes=10, seed=0)
>>> data.images.shape, int(data.labels.max()) < 10
((3, 96, 96, 3), True)
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeStl10Split", "fake_stl10_split", "stl10_bytes", "write_fake_stl10",
           "write_stl10_edition"]  # fmt: skip

_ROOT = "stl10_binary"
_MEMBERS = {"train": ("train_X.bin", "train_y.bin"), "test": ("test_X.bin", "test_y.bin"),
            "unlabeled": ("unlabeled_X.bin", None)}  # fmt: skip


@dataclass(frozen=True)
class FakeStl10Split:
    """One split as the reader must serve it: ``images`` uint8 ``(n, 96, 96, 3)`` upright,
    ``labels`` uint8 ``(n,)`` 0-based (None for ``unlabeled``), ``folds`` the 10 lists of
    train indices (train only)."""

    images: np.ndarray[Any, Any]
    labels: np.ndarray[Any, Any] | None
    folds: tuple[tuple[int, ...], ...] = ()


def fake_stl10_split(
    n: int, n_classes: int, seed: int, labeled: bool = True, folds: bool = False
) -> FakeStl10Split:
    """Seeded random images (asymmetric: a transposed read shows), labels cycling through the
    classes, and for ``folds`` 10 seeded folds of ``max(1, n // 5)`` indices each."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
    labels = None
    if labeled:
        labels = (np.arange(n) % n_classes).astype(np.uint8)
        rng.shuffle(labels)
    chosen: tuple[tuple[int, ...], ...] = ()
    if folds:
        size = max(1, n // 5) if n else 0
        chosen = tuple(tuple(sorted(rng.choice(n, size, replace=False).tolist()))
                       for _ in range(10))  # fmt: skip
    return FakeStl10Split(images, labels, chosen)


def stl10_bytes(images: np.ndarray[Any, Any]) -> bytes:
    """``(n, 96, 96, 3)`` upright images as STL-10 stores them: per image the R, G, B planes,
    each column-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"{_ROOT}/{name}")
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_stl10(
    path: Path, splits: Mapping[str, FakeStl10Split], classes: Sequence[str]
) -> Path:
    """Write ``stl10_binary.tar.gz`` at ``path`` holding ``splits`` (keys ``train``, ``test``,
    ``unlabeled``), ``class_names.txt`` and, with a train split, ``fold_indices.txt``."""
    with tarfile.open(path, "w:gz") as tf:
        _add(tf, "class_names.txt", "".join(f"{c}\n" for c in classes).encode())
        for split, data in splits.items():
            images_name, labels_name = _MEMBERS[split]
            _add(tf, images_name, stl10_bytes(data.images))
            if labels_name is not None and data.labels is not None:
                _add(tf, labels_name, (data.labels + 1).astype(np.uint8).tobytes())
            if split == "train":
                lines = "".join(" ".join(map(str, f)) + " \n" for f in data.folds)
                _add(tf, "fold_indices.txt", lines.encode())
    return path


def write_stl10_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``stl10-binary``: one archive for every split of the edition,
    the entry's class names. Facts: split -> :class:`FakeStl10Split`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, tuple(_MEMBERS))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake STL-10 edition has one archive for every split, found {archives}")
    classes = list(entry.get("classes") or [str(i) for i in range(10)])
    data = {s: fake_stl10_split(counts[s], len(classes), seed + k, labeled=s != "unlabeled",
                                folds=s == "train")
            for k, s in enumerate(splits)}  # fmt: skip
    write_fake_stl10(folder / archives.pop(), data, classes)
    return FakeFiles(dict(counts), facts=dict(data))
