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

from ..batching import BatchOptions, Images, feed
from ..errors import require

__all__ = ["jax_batches"]


def jax_batches(
    images: Images, labels: npt.ArrayLike, batch_size: int, *, device: Any = None, **options: Any
) -> Iterator[tuple[Any, Any]]:
    """Yield the batches of :func:`imagesets.batching.batches` as ``jax.Array`` pairs.

    Same arguments (the keywords of :class:`imagesets.batching.BatchOptions`) and values;
    each pair goes through ``jax.device_put(..., device)`` (``device=None``: JAX's default
    device). The next batch is put on the device before the current one is yielded, so the
    copy overlaps the caller's step. Labels are int64 only with ``jax_enable_x64``; by default
    JAX stores them as int32 (same values).
    """
    opts = BatchOptions.from_kwargs(batch_size, options, caller="jax_batches")
    jax = require("jax", "jax", "imagesets.adapters.jax")
    return _ahead(jax, feed(images, labels, opts), device)


def _ahead(jax: Any, source: Iterator[Any], device: Any) -> Iterator[tuple[Any, Any]]:
    ready = None
    for x, y in source:
        placed = (jax.device_put(x, device), jax.device_put(y, device))
        if ready is not None:
            yield ready
        ready = placed
    if ready is not None:
        yield ready
