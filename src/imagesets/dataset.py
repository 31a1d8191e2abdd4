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

Split's training feeds are in :mod:`imagesets.split_feeds`, its index views and :func:`carve`
in :mod:`imagesets.split_views` (``carve`` is importable from here too).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from .dataset_info import DatasetInfo
from .errors import ArgumentError, UnknownSplitError
from .sources import (
    ArraySource,
    BoxedSource,
    EncodedSource,
    ImageSource,
    Pixels,
    check_size,
    source_of,
)
from .split_feeds import SplitFeeds
from .split_views import SplitViews, _rows, carve

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .audit import AuditReport
    from .notebook import Example
    from .stats import SplitStats

__all__ = ["Dataset", "DatasetInfo", "Split", "carve"]


Array = np.ndarray[Any, Any]
#: What ``split[i]`` gives besides the image: a label (a numpy integer), or for a boxed split
#: its digit records (a structured array). Typed ``Any`` so that ``split.classes[label]`` and
#: ``split.class_name(label)`` type-check: which of the two it is depends on the data.
Target = Any
Index = int | np.integer[Any] | slice | Sequence[int] | Sequence[bool] | Array


def _to_float(images: Array) -> Array:
    out: Array = np.multiply(images, np.float32(1 / 255), dtype=np.float32)
    return out


@dataclass(frozen=True)
class Split(SplitFeeds, SplitViews):
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

    # ------------------------------------------------------------------ whole-split adapters

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
