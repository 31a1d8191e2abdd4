"""JAX adapter: batches as ``jax.Array`` pairs, placed on a device one batch ahead.

jax is imported on first call; without it :func:`jax_batches` raises
:class:`MissingDependencyError` naming the ``jax`` extra.

>>> import numpy as np
>>> x, y = np.zeros((10, 28, 28), np.uint8), np.arange(10)
>>> [tuple(b.shape) for b, _ in jax_batches(x, y, 4, seed=0)]  # doctest: +SKIP
[(4, 28, 28), (4, 28, 28), (2, 28, 28)]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy.typing as npt

from ..batching import Images, Layout, Transform, batches
from ..errors import require

__all__ = ["jax_batches"]


def jax_batches(
    images: Images,
    labels: npt.ArrayLike,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    epoch: int = 0,
    drop_last: bool = False,
    normalize: bool = False,
    layout: Layout = "NHWC",
    dtype: npt.DTypeLike | None = None,
    shard: tuple[int, int] | None = None,
    transform: Transform | None = None,
    device: Any = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield the batches of :func:`imagesets.batching.batches` as ``jax.Array`` pairs.

    Same arguments and values; each pair goes through ``jax.device_put(..., device)``
    (``device=None``: JAX's default device). The next batch is put on the device before the
    current one is yielded, so the copy overlaps the caller's step. Labels are int64 only
    with ``jax_enable_x64``; by default JAX stores them as int32 (same values).
    """
    jax = require("jax", "jax", "imagesets.adapters.jax")
    source = batches(
        images,
        labels,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        epoch=epoch,
        drop_last=drop_last,
        normalize=normalize,
        layout=layout,
        dtype=dtype,
        shard=shard,
        transform=transform,
    )
    return _ahead(jax, source, device)


def _ahead(jax: Any, source: Iterator[Any], device: Any) -> Iterator[tuple[Any, Any]]:
    ready = None
    for x, y in source:
        placed = (jax.device_put(x, device), jax.device_put(y, device))
        if ready is not None:
            yield ready
        ready = placed
    if ready is not None:
        yield ready
