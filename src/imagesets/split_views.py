"""Index views of a split: the row-index check of ``split[...]``, the
:class:`SplitViews` part of :class:`~imagesets.dataset.Split` (:meth:`~SplitViews.select`
with its provenance record, :meth:`~SplitViews.partition`, :meth:`~SplitViews.filter`,
:meth:`~SplitViews.where`) and :func:`carve`, what :func:`imagesets.load` does with
``validation=`` and ``split_fractions=``.

Every view is a sub-split of chosen rows (no image copied) whose ``manifest["subsplit"]``
records how it was made; the seeded, stratified choice itself is :mod:`imagesets.subsplits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ArgumentError
from .sources import Rows

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Split

__all__ = ["SplitViews", "carve"]

Array = np.ndarray[Any, Any]


def _rows(index: object, n: int) -> Rows:
    """``index`` if it selects rows of an ``n``-row split: a slice, or a 1-d array of ints
    (each in range) or of ``n`` bools; else an ArgumentError naming what was given."""
    if isinstance(index, slice):
        return index
    if isinstance(index, (list, tuple, np.ndarray)):
        arr = np.asarray(index)
        if arr.ndim == 1 and arr.dtype == bool and len(arr) == n:
            return arr
        if arr.ndim == 1 and (arr.dtype.kind in "iu" or arr.size == 0):
            arr = arr.astype(np.int64)
            if arr.size and not (-n <= arr.min() and arr.max() < n):
                raise IndexError(f"row indices {arr.min()}..{arr.max()} out of range 0..{n - 1}")
            return arr
    raise ArgumentError(
        f"a split is indexed by an int, a slice, or a 1-d array of row indices or of {n} bools; "
        f"found {type(index).__name__} {index!r:.80}"
    )


class SplitViews:
    """The index views of :class:`~imagesets.dataset.Split` (a mixin: no state of its own)."""

    if TYPE_CHECKING:  # pragma: no cover  (what the views read; Split defines them)

        @property
        def name(self) -> str: ...

        @property
        def arrays(self) -> Mapping[str, Array]: ...

        @property
        def classes(self) -> tuple[str, ...]: ...

        @property
        def manifest(self) -> Mapping[str, Any]: ...

        @property
        def labels(self) -> Array: ...

        def __len__(self) -> int: ...

        def __getitem__(self, index: slice | Sequence[int] | Sequence[bool] | Array) -> Split: ...

    def select(
        self, rows: Rows, *, name: str | None = None, how: Mapping[str, Any] | None = None
    ) -> Split:
        """The split of ``rows`` (as :meth:`__getitem__` takes them), named ``name``, with its
        provenance in ``manifest["subsplit"]``: ``how`` plus ``parent`` (this split's name),
        ``parent_subsplit`` (this split's own provenance, or None), ``count`` and
        ``indices_sha256`` (sha256 of the row numbers into this split as little-endian
        int64, :func:`imagesets.subsplits.digest`). No image is copied."""
        from .subsplits import ManifestView, digest

        chosen = np.arange(len(self), dtype=np.int64)[_rows(rows, len(self))]
        view = self[chosen] if not isinstance(rows, slice) else self[rows]
        record = {
            **(how or {}),
            "parent": self.name,
            "parent_subsplit": self.manifest.get("subsplit"),
            "count": len(chosen),
            "indices_sha256": digest(chosen),
        }
        manifest = ManifestView(self.manifest, record)
        return replace(view, name=name or self.name, manifest=manifest)

    def _strata(self) -> Array:
        """The labels to stratify by: :attr:`labels`, or zeros for a split without them."""
        if "labels" in self.arrays:
            return self.labels
        return np.zeros(len(self), np.int64)

    def partition(
        self, sizes: Mapping[str, int | float], *, seed: int = 0, rest: str | None = None
    ) -> dict[str, Split]:
        """Seeded parts of this split, stratified by label (see :mod:`imagesets.subsplits`).

        Args:
            sizes: part name -> a fraction in (0, 1] or a number of images >= 1, together at
                most the whole split, e.g. ``{"train": 0.8, "validation": 0.1, "test": 0.1}``.
            seed: a non-negative int; the same seed gives the same parts on any machine.
            rest: a part taking every row the others leave (``"train"``), or None to leave
                them out.

        Returns:
            part name -> an index view (:meth:`select`; no image copied) whose
            ``manifest["subsplit"]`` records ``seed``, ``fractions`` (``sizes`` as asked),
            ``rest`` and ``stratified`` (False for a split without class labels). Each
            class's share of each part is within one image of the asked fraction.

        Raises:
            ArgumentError: a bad size or seed, sizes over the whole split, an empty part.
        """
        from .subsplits import stratified_parts

        if not isinstance(sizes, Mapping) or not all(isinstance(k, str) for k in sizes):
            raise ArgumentError(
                f"partition: sizes must map part names to fractions or counts, e.g. "
                f"{{'train': 0.9, 'validation': 0.1}}; found {sizes!r:.80}"
            )
        what = f"parts of split {self.name!r}"
        parts = stratified_parts(self._strata(), sizes, seed, rest=rest, what=what)
        how = {
            "how": "stratified",
            "seed": seed,
            "fractions": dict(sizes),
            "rest": rest,
            "stratified": "labels" in self.arrays,
        }
        return {name: self.select(rows, name=name, how=how) for name, rows in parts.items()}

    def filter(self, labels: Sequence[int | str] | int | str) -> Split:
        """The images of the given classes (label indices or class names), in stored order:
        an index view (no image copied; labels keep their values), recorded in
        ``manifest["subsplit"]`` as ``{"how": "filter", "labels": [...]}``.

        Raises:
            ArgumentError: a class name or index this split does not have.
        """
        wanted = [labels] if isinstance(labels, (int, str, np.integer)) else labels
        if not isinstance(wanted, (list, tuple, np.ndarray)) or len(wanted) == 0:
            raise ArgumentError(
                f"filter(labels=...): expected a class index or name or a non-empty list of "
                f"them, found {labels!r:.80}"
            )
        values = sorted({self._label_value(v) for v in wanted})
        chosen = np.flatnonzero(np.isin(self.labels, values))
        return self.select(chosen, how={"how": "filter", "labels": values})

    def _label_value(self, value: object) -> int:
        if isinstance(value, str):
            if value in self.classes:
                return self.classes.index(value)
            from .subsplits import close_names

            close = close_names(value, self.classes)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ArgumentError(
                f"filter: split {self.name!r} has no class {value!r} (classes: "
                f"{list(self.classes)[:20]}{'...' if len(self.classes) > 20 else ''}){hint}"
            )
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            index = int(value)
            if 0 <= index < max(len(self.classes), 1):
                return index
        raise ArgumentError(
            f"filter: a label is a class index 0..{len(self.classes) - 1} or a class name of "
            f"split {self.name!r}, found {value!r}"
        )

    def where(self, mask: Sequence[bool] | Array) -> Split:
        """The images where ``mask`` (bool ``(N,)``) is True, in stored order: an index view
        (no image copied) recorded in ``manifest["subsplit"]`` as ``{"how": "where"}``.

        >>> split.where(split.labels % 2 == 0)  # doctest: +SKIP
        """
        arr = np.asarray(mask)
        if arr.dtype != bool or arr.shape != (len(self),):
            raise ArgumentError(
                f"where(mask): expected a bool array of shape ({len(self)},), found "
                f"{arr.dtype} {arr.shape}"
            )
        return self.select(np.flatnonzero(arr), how={"how": "where"})


def carve(
    dataset: str,
    splits: Mapping[str, Split],
    *,
    validation: int | float | None = None,
    split_fractions: Mapping[str, int | float] | None = None,
    seed: int = 0,
    reserved: Sequence[str] = (),
) -> dict[str, Split]:
    """``splits`` with a validation split carved from ``train``, or the one split divided
    into ``split_fractions`` (each part a :meth:`Split.partition` index view). What
    :func:`imagesets.load` does with the keywords of the same names.

    Args:
        dataset: the dataset's name, for messages.
        splits: the loaded splits, by name.
        validation: a fraction in (0, 1) or a number of images >= 1 of ``train`` to put in a
            ``validation`` split (stratified by label, seeded); ``train`` keeps the rest.
        split_fractions: part name -> fraction or number of images of the *one* loaded split
            (e.g. a folder tree's ``all``), which the parts replace; rows left over are
            left out.
        seed: a non-negative int.
        reserved: split names of the dataset that a new part may not take.

    Raises:
        ArgumentError: both keywords, a missing or ambiguous parent split, a name taken,
            a bad size (see :func:`imagesets.subsplits.stratified_parts`).
    """
    from .subsplits import check_seed

    check_seed(seed, "load")
    if validation is not None and split_fractions is not None:
        raise ArgumentError(
            "load: pass validation= (a part of 'train') or split_fractions= (parts of the one "
            "split loaded), not both"
        )
    if validation is not None:
        return _carve_validation(dataset, splits, validation, seed, reserved)
    if split_fractions is not None:
        return _carve_parts(dataset, splits, split_fractions, seed)
    if seed != 0:
        raise ArgumentError(
            f"load: seed={seed} chooses the rows of validation= or split_fractions=, and "
            "neither was given"
        )
    return dict(splits)


def _carve_validation(
    dataset: str,
    splits: Mapping[str, Split],
    validation: int | float,
    seed: int,
    reserved: Sequence[str],
) -> dict[str, Split]:
    if "train" not in splits:
        raise ArgumentError(
            f"validation= carves a 'validation' split out of 'train', but {dataset!r} has no "
            f"'train' split loaded (loaded: {', '.join(splits) or 'none'}); load 'train', or "
            "divide the one split you load with split_fractions={'train': 0.9, 'validation': "
            "0.1}"
        )
    if "validation" in splits or "validation" in reserved:
        raise ArgumentError(
            f"validation=: {dataset!r} already has a split 'validation'; load it, or name "
            "the parts yourself with splits='train' and split_fractions="
        )
    train = splits["train"]
    if isinstance(validation, (float, np.floating)) and validation >= 1:
        raise ArgumentError(
            f"validation={validation}: a fraction must be in (0, 1), or pass an int number "
            f"of images (1..{len(train) - 1})"
        )
    whole = isinstance(validation, (int, np.integer)) and not isinstance(validation, bool)
    if whole and validation >= len(train):
        raise ArgumentError(
            f"validation={validation}: 'train' has {len(train)} images, so a validation "
            f"split takes 1..{len(train) - 1} of them (or a fraction in (0, 1))"
        )
    parts = train.partition({"validation": validation}, seed=seed, rest="train")
    out: dict[str, Split] = {}
    for name, split in splits.items():
        out.update({"train": parts["train"], "validation": parts["validation"]} if name == "train"
                   else {name: split})  # fmt: skip
    return out


def _carve_parts(
    dataset: str, splits: Mapping[str, Split], sizes: Mapping[str, int | float], seed: int
) -> dict[str, Split]:
    if len(splits) != 1:
        raise ArgumentError(
            f"split_fractions= divides one split, but {dataset!r} has {len(splits)} loaded "
            f"({', '.join(splits)}); choose one with splits=, e.g. splits='train'"
        )
    bad = [k for k in sizes if not isinstance(k, str) or not k or "[" in k or "]" in k]
    if not isinstance(sizes, Mapping) or bad:
        raise ArgumentError(
            f"split_fractions: expected part names (plain strings) -> fractions or counts, "
            f"e.g. {{'train': 0.8, 'validation': 0.1, 'test': 0.1}}, found {sizes!r:.100}"
        )
    (parent,) = splits.values()
    return parent.partition(sizes, seed=seed)
