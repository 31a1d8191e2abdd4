"""The checks a freshly read split must pass before it becomes visible, and the progress bar
of a build. Used by :mod:`imagesets.pipeline` inside a build only (imports numpy and tqdm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .catalog import DatasetSpec, Edition
from .errors import FormatError
from .formats import ReadResult

__all__ = ["check_output", "hierarchy", "progress_bar"]


def check_output(
    spec: DatasetSpec,
    split: str,
    edition: Edition,
    arrays: Mapping[str, np.ndarray[Any, Any]],
    result: ReadResult,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Counts, image shape and label range against the catalog, before anything is visible.

    The count expected is the catalog's less the files the reader reports as skipped. Reader
    options may change the count (a 90/10 split of Cats & Dogs instead of 80/20): for such a
    variant the reader's own ``count`` is what every array must hold. A ``size`` option sets
    the image side: a folder entry records the side it was prepared at, and ``prepare`` may
    build another size as another variant, checked against that size.
    """
    options = options or {}
    expected = edition.counts.get(split, spec.split(split).count) - len(result.skipped or ())
    if options and result.count is not None:
        expected = result.count
    where = f"{spec.name} {split} (edition {edition.name})"
    for name, arr in arrays.items():
        if (name == "images" or name.endswith("labels")) and arr.shape[0] != expected:
            raise FormatError(f"{where}: {name} holds {arr.shape[0]} items, expected {expected}")
    images, shape = arrays.get("images"), spec.image_shape
    size = options.get("size")
    if isinstance(size, int) and len(shape) == 3:
        shape = (size, size, shape[2])
    if images is not None and shape and images.shape[1:] != shape:
        raise FormatError(f"{where}: one image has shape {images.shape[1:]}, expected {shape}")
    labels = arrays.get("labels")
    indices = result.labels_are_class_indices is not False
    if labels is not None and spec.classes and len(labels) and indices:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= len(spec.classes):
            raise FormatError(
                f"{where}: labels range over {low}..{high}, expected 0..{len(spec.classes) - 1}"
            )


def hierarchy(
    spec: DatasetSpec, split: str, arrays: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, Any]:
    """``fine_to_coarse``, derived from the label arrays (never typed in), when both exist.

    Raises:
        FormatError: a fine class that appears under two coarse classes.
    """
    fine, coarse = arrays.get("labels"), arrays.get("coarse_labels")
    if fine is None or coarse is None or not len(fine):
        return {}
    pairs = np.unique(np.stack([np.asarray(fine), np.asarray(coarse)], axis=1), axis=0)
    counts = np.bincount(pairs[:, 0])
    if counts.max() > 1:
        bad = int(np.argmax(counts > 1))
        found = pairs[pairs[:, 0] == bad][:, 1].tolist()
        raise FormatError(
            f"{spec.name} {split}: fine class {bad} appears under coarse classes {found}; "
            "expected exactly one"
        )
    mapping = np.full(int(pairs[:, 0].max()) + 1, -1, dtype=np.int64)
    mapping[pairs[:, 0]] = pairs[:, 1]
    return {"fine_to_coarse": mapping.tolist()}


class progress_bar:
    """A bar (:func:`imagesets._progress.bar`: terminal, notebook or ``IMAGESETS_PROGRESS``),
    exposed as a ``tick(n)`` callable."""

    def __init__(self, spec: DatasetSpec, split: str, show: bool) -> None:
        from ._progress import bar

        self.bar = bar(show, total=None, desc=f"prepare {spec.name} {split}", unit="img")

    def __enter__(self) -> Callable[[int], None]:
        return self._tick

    def _tick(self, n: int) -> None:
        if n:
            self.bar.update(n)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
