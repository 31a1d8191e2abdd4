"""Dataset and Split: views over the memory-mapped arrays of the prepared cache.

>>> ds = imagesets.load("mnist", sample=True)  # doctest: +SKIP
>>> train = ds["train"]  # doctest: +SKIP
>>> len(train), train.images.shape, train.images.dtype  # doctest: +SKIP
(1000, (1000, 28, 28), dtype('uint8'))
>>> image, label = train[100]  # doctest: +SKIP
>>> train.classes[label]  # doctest: +SKIP
'5'

Indexing with an int gives ``(image, label)`` (uint8 ``(28, 28)`` in 0..255 and the label 5
above); a slice or an index array gives a new :class:`Split` over the selected rows (a view for
slices, no copy of the data). With ``normalize=True`` images come out float32 in [0, 1] (what
``x / 255.0`` gives).

A split holds one :class:`~imagesets.sources.ImageSource` (:attr:`Split.kind`): fixed-size
arrays, a packed store of encoded images, or packed images with digit boxes. Every consumer
(:meth:`Split.batches`, :meth:`Split.stats`, :meth:`Split.to_dask`, the torch, TensorFlow and
JAX feeds, pictures) reads :meth:`Split.pixels`; a packed split is decoded to the ``size`` they
are given, and without one they raise one :class:`ArgumentError` saying to pass ``size=``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .dataset_info import DatasetInfo
from .errors import ArgumentError, UnknownSplitError
from .sources import (
    ArraySource,
    BoxedSource,
    EncodedSource,
    ImageSource,
    Pixels,
    Rows,
    check_size,
    source_of,
)

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .audit import AuditReport
    from .augment import Normalize
    from .batching import Layout
    from .notebook import Example
    from .stats import SplitStats

__all__ = ["Dataset", "DatasetInfo", "Split", "carve"]


Array = np.ndarray[Any, Any]
#: What ``split[i]`` gives besides the image: a label (a numpy integer), or for a boxed split
#: its digit records (a structured array). Typed ``Any`` so that ``split.classes[label]`` and
#: ``split.class_name(label)`` type-check: which of the two it is depends on the data.
Target = Any
Index = int | np.integer[Any] | slice | Sequence[int] | Sequence[bool] | Array


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


def _to_float(images: Array) -> Array:
    out: Array = np.multiply(images, np.float32(1 / 255), dtype=np.float32)
    return out


@dataclass(frozen=True)
class Split:
    """One split: its images (one :class:`~imagesets.sources.ImageSource`), labels and any
    extra per-example arrays.

    Build one with :meth:`stored`, which makes the source once from the stored arrays.

    Attributes:
        name: ``"train"``, ``"test"``, ...
        arrays: the stored arrays by name: ``images`` (uint8, ``(N, H, W)`` or
            ``(N, H, W, C)``, 0-255) or a packed layout (``offsets``; ``spans`` and ``boxes``),
            ``labels`` (``(N,)``, integers in ``0..len(classes)-1``) and extras such as
            ``coarse_labels``; read-only memory maps of the cache. A sub-split keeps the
            per-example ones (and ``images``).
        classes: class names, index = label value.
        normalize: images come out float32 in [0, 1] instead of uint8 in 0..255.
        manifest: the prepared split's manifest (sources, skipped files, ...).
        label_names: other label name lists (``superclasses``).
        blobs: the stored blobs by name (``data`` of a packed store).
        source: where the images come from: arrays, packed or boxed (see :attr:`kind`).
    """

    name: str
    arrays: Mapping[str, Array]
    classes: tuple[str, ...]
    normalize: bool = False
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    blobs: Mapping[str, Path] = field(default_factory=dict, repr=False)
    source: ImageSource = field(kw_only=True, repr=False)

    @classmethod
    def stored(
        cls,
        name: str,
        arrays: Mapping[str, Array],
        blobs: Mapping[str, Path],
        classes: tuple[str, ...],
        *,
        normalize: bool = False,
        manifest: Mapping[str, Any] | None = None,
        label_names: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Split:
        """The split of a prepared split's stored ``arrays`` and ``blobs``, its source built
        once (:func:`imagesets.sources.source_of`)."""
        return cls(
            name,
            arrays,
            classes,
            normalize,
            manifest if manifest is not None else {},
            label_names if label_names is not None else {},
            blobs,
            source=source_of(arrays, blobs),
        )

    @property
    def kind(self) -> str:
        """``"arrays"`` (fixed-size uint8 arrays), ``"packed"`` (encoded images decoded on
        access) or ``"boxed"`` (packed images with digit boxes, SVHN full numbers)."""
        return self.source.kind

    @property
    def packed(self) -> bool:
        """True for a packed store: encoded images decoded on access (see :attr:`images`)."""
        return isinstance(self.source, EncodedSource)

    @property
    def images(self) -> Array | EncodedSource:
        """The images: uint8 0..255 memory-mapped, or float32 in [0, 1] if ``normalize``.

        A split of chosen rows (``split[index_array]``, :meth:`partition`, :meth:`filter`,
        :meth:`where`) gathers them into a new array on each access; its feeds read the
        rows on demand instead (:meth:`pixels`).

        For a packed split, its :class:`~imagesets.sources.EncodedSource`: ``images[i]``
        decodes one image (uint8 ``(H, W, 3)``, its own size), ``images.raw(i)`` gives its
        bytes and ``images.take(idx, size=224)`` decodes a batch on all cores.
        """
        if isinstance(self.source, ArraySource):
            raw = self.source.images
            return _to_float(raw) if self.normalize else raw
        return self._encoded()

    def _encoded(self) -> EncodedSource:
        assert isinstance(self.source, EncodedSource)
        return self.source

    @property
    def labels(self) -> Array:
        """The labels, ``(N,)``, integer class indices (the source's dtype: uint8 for MNIST)."""
        if "labels" not in self.arrays:
            raise KeyError(
                f"split {self.name!r} has no class labels; its per-example arrays are "
                f"{sorted(self.arrays)}"
            )
        labels: Array = self.arrays["labels"]
        return labels

    def digits(self, index: int) -> Array:
        """The digit records of image ``index`` (SVHN full numbers): a structured array with
        fields ``label`` (0-9), ``left``, ``top``, ``width``, ``height``."""
        if not isinstance(self.source, BoxedSource):
            raise KeyError(f"split {self.name!r} has no digit boxes")
        return self.source.digits(index)

    def digits_per_image(self) -> Array:
        """int64 ``(N,)``: how many digits each image has (SVHN full numbers)."""
        if not isinstance(self.source, BoxedSource):
            raise KeyError(f"split {self.name!r} has no digit boxes")
        return self.source.digit_counts()

    def __len__(self) -> int:
        return len(self.source)

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Files that could not be decoded at prepare time: ``{"path", "reason"}`` each."""
        return list(self.manifest.get("skipped", []))

    @overload
    def __getitem__(self, index: int | np.integer[Any]) -> tuple[Array, Target]: ...

    @overload
    def __getitem__(self, index: slice | Sequence[int] | Sequence[bool] | Array) -> Split: ...

    def __getitem__(self, index: Index) -> tuple[Array, Target] | Split:
        """``split[i]`` -> ``(image, label)`` (``(image, digits)`` for a boxed split; the image
        at its own size); a slice or an index array -> a sub-:class:`Split` of those rows
        (no image copied: a numpy view for a slice, else a source that reads the chosen rows
        of the same memory map; per-example arrays such as ``labels`` are gathered)."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            return self._example(int(index))
        rows = _rows(index, len(self))
        layout = self.source.layout
        arrays = {k: v[rows] for k, v in self.arrays.items() if k not in layout}
        source = self.source.select(rows)
        if isinstance(source, ArraySource) and source.rows is None:
            arrays["images"] = source.images  # a numpy view of the stored array
        return replace(self, arrays=arrays, source=source)

    def _example(self, index: int) -> tuple[Array, Target]:
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"index {index} is out of range for split {self.name!r} of "
                f"{len(self)} examples (0..{len(self) - 1}, or negative from the end)"
            )
        image = self.source.image(index)
        target: Target = self.digits(index) if self.kind == "boxed" else self.labels[index]
        return (_to_float(image) if self.normalize else image), target

    def __iter__(self) -> Iterator[tuple[Array, Target]]:
        for i in range(len(self)):
            yield self._example(i)

    @property
    def superclasses(self) -> tuple[str, ...]:
        """Coarse class names (CIFAR-100's 20 superclasses), or ``()``."""
        return self.label_names.get("superclasses", ())

    @property
    def fine_to_coarse(self) -> Array:
        """int64 ``(num_classes,)``: the coarse class of each fine class, derived at prepare
        time from the ``labels`` and ``coarse_labels`` arrays (-1 for a class never seen)."""
        mapping = self.manifest.get("fine_to_coarse")
        if mapping is None:
            raise KeyError(f"split {self.name!r} has no coarse labels")
        return np.asarray(mapping, dtype=np.int64)

    # ------------------------------------------------------------------ what consumers read

    def pixels(self, size: int | None = None) -> Pixels:
        """Every image as one uint8 array-like ``(N, ...)``: the stored array of an array split
        (``size`` None or its own side), or for a packed split the images decoded on access,
        resized and centre-cropped to ``(N, size, size, 3)`` (``size`` required: without it,
        one :class:`ArgumentError` saying to pass it)."""
        return self.source.pixels(check_size(size), f"split {self.name!r}")

    def targets(self) -> Array:
        """What the training feeds serve as labels: :attr:`labels`, or for a boxed split
        (no class labels) each image's row number, int64 ``(N,)``, to look its digits up
        with :meth:`digits`."""
        if self.kind == "boxed" and "labels" not in self.arrays:
            return np.arange(len(self), dtype=np.int64)
        return self.labels

    def stats(self, *, size: int | None = None) -> SplitStats:
        """Per-channel mean and std of the pixels in [0, 1], over every pixel, and class
        counts (see :func:`imagesets.stats.split_stats`; digits per class for a boxed split).
        A packed split needs ``size``: its images are decoded to ``size`` x ``size``."""
        from .stats import SplitStats, channel_stats, class_counts

        channels = channel_stats(self.pixels(size))
        if isinstance(self.source, BoxedSource):
            return SplitStats(channels, self.source.label_counts(len(self.classes)))
        return SplitStats(channels, class_counts(self.labels, max(len(self.classes), 1)))

    # ------------------------------------------------------------------ training feeds

    def _feed(self, size: int | None, kwargs: dict[str, Any]) -> Pixels:
        """The pixels to batch; a packed source decodes on all cores itself and chosen rows
        are one vectorised gather a batch, so one batching thread (``workers=1``) unless
        asked otherwise."""
        pixels = self.pixels(size)
        if not isinstance(pixels, np.ndarray):
            kwargs.setdefault("workers", 1)
        return pixels

    def batches(
        self, batch_size: int, *, size: int | None = None, **kwargs: Any
    ) -> Iterator[tuple[Array, Array]]:
        """Shuffled ``(images, labels)`` numpy batches by vectorised gathers.

        Keywords as :func:`imagesets.batching.batches`: ``shuffle=True, seed=None, epoch=0,
        drop_last=False, normalize=False, layout="NHWC"|"NCHW", dtype=None,
        shard=(index, count), transform=None``. The same ``seed`` and ``epoch`` give the same
        order on any machine; labels come out int64 (row numbers for a boxed split, see
        :meth:`targets`). A packed split needs ``size`` (each image resized and centre-cropped)
        and is decoded in worker threads with prefetch.
        """
        from .batching import batches

        kwargs.setdefault("normalize", self.normalize)
        return batches(self._feed(size, kwargs), self.targets(), batch_size, **kwargs)

    def shard(self, index: int, count: int) -> Split:
        """A fixed part of this split (rows ``index::count``): the ``count`` parts are
        disjoint and together complete. For a part that is reshuffled every epoch, pass
        ``shard=(index, count)`` to :meth:`batches` instead."""
        ints = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (index, count)
        )
        if not ints or not 0 <= index < count:
            raise ArgumentError(
                f"shard(index, count): expected integers with 0 <= index < count, found "
                f"index={index!r}, count={count!r}"
            )
        return self[index::count]

    def to_torch(self, transform: Any = None, *, size: int | None = None) -> Any:
        """A map-style ``torch.utils.data.Dataset`` (see :mod:`imagesets.adapters.torch`);
        a packed split needs ``size``."""
        from .adapters.torch import to_torch_dataset

        return to_torch_dataset(self.pixels(size), self.targets(), transform)

    def torch_loader(self, batch_size: int, *, size: int | None = None, **kwargs: Any) -> Any:
        """Batches as torch tensors straight from the vectorised path (float32 NCHW in [0, 1]
        by default; ``pin_memory``, ``device``, and every keyword of :meth:`batches`)."""
        from .adapters.torch import torch_loader

        return torch_loader(self._feed(size, kwargs), self.targets(), batch_size, **kwargs)

    def to_tf(self, batch_size: int, *, size: int | None = None, **kwargs: Any) -> Any:
        """A ``tf.data.Dataset`` of ``(images, labels)`` batches, equal to :meth:`batches`."""
        from .adapters.tensorflow import to_tf_dataset

        return to_tf_dataset(self._feed(size, kwargs), self.targets(), batch_size, **kwargs)

    def jax_batches(
        self, batch_size: int, *, size: int | None = None, **kwargs: Any
    ) -> Iterator[tuple[Any, Any]]:
        """The batches of :meth:`batches` as ``jax.Array`` pairs (``device=`` to place them)."""
        from .adapters.jax import jax_batches

        return jax_batches(self._feed(size, kwargs), self.targets(), batch_size, **kwargs)

    def to_dask(self, chunks: int | Literal["auto"] = "auto", *,
                size: int | None = None) -> tuple[Any, Any]:  # fmt: skip
        """``(images, labels)`` as lazy dask arrays over the memory-mapped files (no copy); a
        packed split's chunks are decoded to ``size`` x ``size`` when computed."""
        from .adapters.dask import to_dask

        return to_dask(self.pixels(size), self.targets(), chunks)

    def to_ray(self, *, size: int | None = None, block_size: int = 1024) -> Any:
        """A ``ray.data.Dataset`` of this split, read lazily in blocks of ``block_size`` rows
        from the memory maps or packed store by the Ray workers (see
        :mod:`imagesets.adapters.ray`): columns ``image`` (uint8), ``label`` (int64) and any
        extra per-example arrays. A packed split needs ``size``."""
        from .adapters.ray import to_ray

        return to_ray(self, size=size, block_size=block_size)

    def to_hf(self, path: str | Path | None = None, *, progress: bool = True) -> Any:
        """A Hugging Face ``datasets.Dataset`` (Arrow-backed, memory-mapped from ``path``):
        ``image`` and ``label`` (a ``ClassLabel``) columns; see :func:`imagesets.exports.to_hf`."""
        from .exports import to_hf

        return to_hf(self, path, progress=progress)

    def normalizer(self, layout: Layout = "NHWC", *, size: int | None = None) -> Normalize:
        """An :class:`imagesets.augment.Normalize` step with this split's own per-channel
        mean and std (from :meth:`stats`), for batches made with ``normalize=True``."""
        from .augment import Normalize

        result = self.stats(size=size)
        return Normalize(result.mean, result.std, layout)

    # ------------------------------------------------------------------ index views

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

    def class_name(self, label: int | np.integer[Any]) -> str:
        """The name of class ``label`` (the number itself when it names no class)."""
        index = int(label)
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    # ------------------------------------------------------------------ looking at it

    def image(self, index: int) -> Example:
        """Example ``index`` as an :class:`~imagesets.notebook.Example`: a notebook shows it
        as its picture (boxes drawn for a boxed split) captioned ``train label [100] = 8
        (Bag)``; ``.array`` is the image at its own size, ``.pil()`` a Pillow image."""
        from .notebook import Example

        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ArgumentError(f"image(index): expected an int, found {index!r:.80}")
        image, target = self._example(int(index))
        position = int(index) % len(self)
        if self.kind == "boxed":
            return Example(self.name, position, image, None, "", digits=target)
        label = int(target)
        return Example(self.name, position, image, label, self.class_name(label))

    def show(self, index: int) -> Example:
        """:meth:`image`, displayed at once in a notebook (IPython's ``display`` when IPython
        runs this process), and returned."""
        import sys

        example = self.image(index)
        display = getattr(sys.modules.get("IPython.display"), "display", None)
        if callable(display):
            display(example)
        return example

    def grid(
        self,
        per_class: int = 10,
        by: str = "class",
        *,
        scale: int = 2,
        size: int | None = None,
    ) -> Image.Image:
        """A Pillow sprite of the first ``per_class`` images of each class (``by="class"``)
        or superclass (``by="superclass"``, CIFAR-100), one row each: the picture of
        ``imagesets grid``. A packed split is decoded to ``size`` x ``size`` (default 64),
        image by image; a boxed split has a row per number of digits."""
        from .viz import split_grid

        return split_grid(self, per_class=per_class, by=by, scale=scale, size=size)

    def duplicates(self, **kwargs: Any) -> AuditReport:
        """Exact and near-duplicate pairs of images within this split: an
        :class:`~imagesets.audit.AuditReport` (``.counts``, ``.table()``, ``.picture()``).
        Keywords as :func:`imagesets.audit.audit` (``threshold``, ``pixel_threshold``,
        ``side``, ``size``, ``progress``); across splits: ``imagesets.audit.audit(ds.splits)``
        or ``imagesets audit NAME``."""
        from .audit import audit

        return audit({self.name: self}, **kwargs)

    def _repr_html_(self) -> str:
        from .notebook import split_card

        return split_card(self)

    def __repr__(self) -> str:
        shown: dict[str, Any] = dict(self.arrays)
        if isinstance(self.source, ArraySource) and "images" not in shown:
            shown = {"images": self.source.pixels(None, self.name), **shown}
        shapes = ", ".join(f"{k}={v.dtype}{list(v.shape)}" for k, v in shown.items())
        kind = "" if self.kind == "arrays" else f"{self.kind}, "
        return f"Split({self.name!r}, {kind}{shapes}, {len(self.classes)} classes)"


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: ``info`` and its splits by name (``ds["train"]``, ``ds.train``).

    A read-only mapping of split names to :class:`Split`: ``len(ds)`` is the number of
    splits, ``ds.keys()``, ``ds.values()``, ``ds.items()``, ``"train" in ds`` and
    ``ds.splits`` (the mapping itself). An unknown name (``ds["val"]`` or ``ds.val``) raises
    one :class:`~imagesets.errors.UnknownSplitError` listing the splits and suggesting close
    names (``'validation'``).
    """

    info: DatasetInfo
    splits: Mapping[str, Split]

    def __getitem__(self, split: str) -> Split:
        if isinstance(split, str) and split in self.splits:
            return self.splits[split]
        raise self._unknown(split)

    def _unknown(self, split: object) -> UnknownSplitError:
        from .subsplits import unknown_split

        return unknown_split(self.info.name, str(split), list(self.splits), " loaded")

    def __getattr__(self, name: str) -> Split:
        splits = self.__dict__.get("splits", {})
        if name in splits:
            return splits[name]  # type: ignore[no-any-return]
        if name.startswith("_"):  # dunders and private names: the protocols' own lookups
            raise AttributeError(name)
        raise self._unknown(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.splits)

    def __len__(self) -> int:
        return len(self.splits)

    def __contains__(self, split: object) -> bool:
        return split in self.splits

    def keys(self) -> KeysView[str]:
        """The split names, in load order."""
        return self.splits.keys()

    def values(self) -> ValuesView[Split]:
        """The splits, in load order."""
        return self.splits.values()

    def items(self) -> ItemsView[str, Split]:
        """``(name, split)`` pairs, in load order."""
        return self.splits.items()

    def _repr_html_(self) -> str:
        from .notebook import dataset_card

        return dataset_card(self)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)}" for k, v in self.splits.items())
        return f"Dataset({self.info.name!r}, {{{parts}}}, {len(self.info.classes)} classes)"


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
