"""Dataset and Split: views over the memory-mapped arrays of the prepared cache.

>>> ds = imagesets.load("mnist", sample=True)  # doctest: +SKIP
>>> train = ds["train"]
>>> len(train), train.images.shape, train.images.dtype  # doctest: +SKIP
(1000, (1000, 28, 28), dtype('uint8'))
>>> image, label = train[100]  # uint8 (28, 28) in 0..255, and the label 5
>>> train.classes[label]  # doctest: +SKIP
'5'

Indexing with an int gives ``(image, label)``; a slice or an index array gives a new
:class:`Split` over the selected rows (a view for slices, no copy of the data). With
``normalize=True`` images come out float32 in [0, 1] (what ``x / 255.0`` gives).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .dataset_info import DatasetInfo
from .errors import ArgumentError

__all__ = ["Dataset", "DatasetInfo", "Split"]


Array = np.ndarray[Any, Any]


def _rows(index: Any, n: int) -> Any:
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
    """One split: images, labels and any extra per-example arrays.

    Attributes:
        name: ``"train"``, ``"test"``, ...
        arrays: every per-example array by name: ``images`` (uint8, ``(N, H, W)`` or
            ``(N, H, W, C)``, 0-255), ``labels`` (``(N,)``, integers in ``0..len(classes)-1``)
            and extras such as ``coarse_labels``; read-only memory maps of the cache.
        classes: class names, index = label value.
        normalize: images come out float32 in [0, 1] instead of uint8 in 0..255.
        manifest: the prepared split's manifest (sources, skipped files, ...).
    """

    name: str
    arrays: Mapping[str, Array]
    classes: tuple[str, ...]
    normalize: bool = False
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    blobs: Mapping[str, Path] = field(default_factory=dict, repr=False)

    @property
    def packed(self) -> bool:
        """True for a packed store: encoded images decoded on access (see :attr:`images`)."""
        return "images" not in self.arrays and "data" in self.blobs

    @property
    def images(self) -> Any:
        """The images: uint8 0..255 memory-mapped, or float32 in [0, 1] if ``normalize``.

        For a packed split, a :class:`imagesets.packed.PackedImages`: ``images[i]`` decodes
        one image (uint8 ``(H, W, 3)``, its own size) and ``images.take(idx, size=224)`` a
        batch on all cores.
        """
        if self.packed:
            return self._packed_images(None)
        raw = self.arrays["images"]
        return _to_float(raw) if self.normalize else raw

    def _packed_images(self, size: int | None) -> Any:
        """The packed reader for this split's layout: ``offsets`` (images in row order) or
        ``spans`` with digit boxes (SVHN full numbers)."""
        if "spans" in self.arrays:
            from .formats.svhn_full import SvhnFullSplit

            return SvhnFullSplit(self.arrays, self.blobs["data"], size=size)
        from .packed import PackedImages

        return PackedImages(self.blobs["data"], self.arrays["offsets"], size=size)

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
        if "boxes" not in self.arrays:
            raise KeyError(f"split {self.name!r} has no digit boxes")
        digits: Array = self._packed_images(None).digits(index)
        return digits

    def __len__(self) -> int:
        for key, extra in (("labels", 0), ("spans", 0), ("offsets", 1)):
            if key in self.arrays:
                return int(self.arrays[key].shape[0]) - extra
        return int(next(iter(self.arrays.values())).shape[0])

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Files that could not be decoded at prepare time: ``{"path", "reason"}`` each."""
        return list(self.manifest.get("skipped", []))

    def __getitem__(self, index: Any) -> Any:
        """``split[i]`` -> ``(image, label)``; a slice or index array -> a sub-:class:`Split`."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            if not -len(self) <= int(index) < len(self):
                raise IndexError(
                    f"index {int(index)} is out of range for split {self.name!r} of "
                    f"{len(self)} examples (0..{len(self) - 1}, or negative from the end)"
                )
            image = self.images[index] if self.packed else self.arrays["images"][index]
            target = self.digits(int(index)) if "boxes" in self.arrays else self.labels[index]
            return (_to_float(image) if self.normalize else image), target
        if self.packed:
            raise ArgumentError(
                f"split {self.name!r} is a packed store: index it with an int, or decode a "
                "batch with split.images.take(indices, size=...)"
            )
        return replace(self, arrays={k: v[_rows(index, len(self))] for k, v in self.arrays.items()})

    def __iter__(self) -> Iterator[tuple[Array, Any]]:
        for i in range(len(self)):
            yield self[i]

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

    def stats(self) -> Any:
        """Per-channel mean and std of the pixels in [0, 1], over every pixel, and class
        counts (see :func:`imagesets.stats.split_stats`)."""
        from .stats import split_stats

        return split_stats(self.arrays["images"], self.labels, max(len(self.classes), 1))

    # ------------------------------------------------------------------ training feeds

    def batches(
        self, batch_size: int, *, size: int | None = None, **kwargs: Any
    ) -> Iterator[tuple[Array, Array]]:
        """Shuffled ``(images, labels)`` numpy batches by vectorised gathers.

        Keywords as :func:`imagesets.batching.batches`: ``shuffle=True, seed=None, epoch=0,
        drop_last=False, normalize=False, layout="NHWC"|"NCHW", dtype=None,
        shard=(index, count), transform=None``. The same ``seed`` and ``epoch`` give the same
        order on any machine; labels come out int64. A packed split needs ``size`` (each
        image resized and centre-cropped) and is decoded in worker threads with prefetch.
        """
        from .batching import batches

        kwargs.setdefault("normalize", self.normalize)
        if self.packed:
            kwargs.setdefault("workers", 1)  # PackedImages.take decodes on all cores itself
        return batches(self._source(size), self.labels, batch_size, **kwargs)

    def _source(self, size: int | None) -> Any:
        if not self.packed:
            return self.arrays["images"]
        if size is None:
            raise ArgumentError(f"split {self.name!r} is a packed store: pass size=... to batch it")
        return self._packed_images(size)

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
        return self[index::count]  # type: ignore[no-any-return]

    def to_torch(self, transform: Any = None) -> Any:
        """A map-style ``torch.utils.data.Dataset`` (see :mod:`imagesets.adapters.torch`)."""
        from .adapters.torch import to_torch_dataset

        return to_torch_dataset(self.arrays["images"], self.labels, transform)

    def torch_loader(self, batch_size: int, **kwargs: Any) -> Any:
        """Batches as torch tensors straight from the vectorised path (float32 NCHW in [0, 1]
        by default; ``pin_memory``, ``device``, and every keyword of :meth:`batches`)."""
        from .adapters.torch import torch_loader

        return torch_loader(self.arrays["images"], self.labels, batch_size, **kwargs)

    def to_tf(self, batch_size: int, **kwargs: Any) -> Any:
        """A ``tf.data.Dataset`` of ``(images, labels)`` batches, equal to :meth:`batches`."""
        from .adapters.tensorflow import to_tf_dataset

        return to_tf_dataset(self.arrays["images"], self.labels, batch_size, **kwargs)

    def jax_batches(self, batch_size: int, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
        """The batches of :meth:`batches` as ``jax.Array`` pairs (``device=`` to place them)."""
        from .adapters.jax import jax_batches

        return jax_batches(self.arrays["images"], self.labels, batch_size, **kwargs)

    def to_dask(self, chunks: Any = "auto") -> tuple[Any, Any]:
        """``(images, labels)`` as lazy dask arrays over the memory-mapped files (no copy)."""
        from .adapters.dask import to_dask

        return to_dask(self.arrays["images"], self.labels, chunks)

    def normalizer(self, layout: str = "NHWC") -> Any:
        """An :class:`imagesets.augment.Normalize` step with this split's own per-channel
        mean and std (from :meth:`stats`), for batches made with ``normalize=True``."""
        from .augment import Normalize

        result = self.stats()
        return Normalize(result.mean, result.std, layout)  # type: ignore[arg-type]

    def class_name(self, label: int) -> str:
        """The name of class ``label`` (the number itself when it names no class)."""
        index = int(label)
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={v.dtype}{list(v.shape)}" for k, v in self.arrays.items())
        return f"Split({self.name!r}, {shapes}, {len(self.classes)} classes)"


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: ``info`` and its splits by name (``ds["train"]``, ``ds.train``)."""

    info: DatasetInfo
    splits: Mapping[str, Split]

    def __getitem__(self, split: str) -> Split:
        try:
            return self.splits[split]
        except KeyError:
            raise KeyError(
                f"{self.info.name} has no split {split!r} loaded; it has {sorted(self.splits)}"
            ) from None

    def __getattr__(self, name: str) -> Split:
        splits = self.__dict__.get("splits", {})
        if name in splits:
            return splits[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.splits)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)}" for k, v in self.splits.items())
        return f"Dataset({self.info.name!r}, {{{parts}}}, {len(self.info.classes)} classes)"
