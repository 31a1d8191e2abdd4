"""The training feeds of a split: :class:`SplitFeeds`, the part of
:class:`~imagesets.dataset.Split` that serves its pixels and targets in batches.

:meth:`~SplitFeeds.batches` (numpy), :meth:`~SplitFeeds.shard`, the torch, TensorFlow, JAX and
dask feeds and :meth:`~SplitFeeds.normalizer`. Each reads the split's
:meth:`~imagesets.dataset.Split.pixels` and :meth:`~imagesets.dataset.Split.targets`; the
framework modules are imported inside the methods that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from .augment import Normalize
    from .batching import Layout
    from .dataset import Split
    from .sources import Pixels
    from .stats import SplitStats

__all__ = ["SplitFeeds"]

Array = np.ndarray[Any, Any]


class SplitFeeds:
    """The training feeds of :class:`~imagesets.dataset.Split` (a mixin: no state of its own)."""

    if TYPE_CHECKING:  # pragma: no cover  (what the feeds read; Split defines them)

        @property
        def normalize(self) -> bool: ...

        def pixels(self, size: int | None = None) -> Pixels: ...

        def targets(self) -> Array: ...

        def stats(self, *, size: int | None = None) -> SplitStats: ...

        def __getitem__(self, index: slice) -> Split: ...

    def _feed(self, size: int | None, kwargs: dict[str, Any]) -> Pixels:
        """The pixels to batch; chosen rows of an array are one vectorised gather a batch, so
        one batching thread (``workers=1``) unless asked otherwise. A packed split keeps the
        feed's default: a decoding thread (or process) per core, each decoding whole batches
        on its own (see :func:`imagesets.batching.feed`)."""
        from .lazy_images import GatheredRows

        pixels = self.pixels(size)
        if isinstance(pixels, GatheredRows):
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

    def normalizer(self, layout: Layout = "NHWC", *, size: int | None = None) -> Normalize:
        """An :class:`imagesets.augment.Normalize` step with this split's own per-channel
        mean and std (from :meth:`stats`), for batches made with ``normalize=True``."""
        from .augment import Normalize

        result = self.stats(size=size)
        return Normalize(result.mean, result.std, layout)
