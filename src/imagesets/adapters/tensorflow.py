"""TensorFlow adapter: a ``tf.data.Dataset`` of whole batches made by vectorised numpy gathers.

tensorflow is imported on first call; without it :func:`to_tf_dataset` raises
:class:`MissingDependencyError` naming the ``tf`` extra.

>>> import numpy as np
>>> ds = to_tf_dataset(np.zeros((10, 28, 28), np.uint8), np.arange(10), 4)  # doctest: +SKIP
>>> [tuple(x.shape) for x, _ in ds]  # doctest: +SKIP
[(4, 28, 28), (4, 28, 28), (2, 28, 28)]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..batching import EpochBatches, Images, Layout, Transform, batches
from ..errors import require

__all__ = ["to_tf_dataset"]

Array = np.ndarray[Any, Any]


def to_tf_dataset(
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
) -> Any:
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches, equal to ``batches(...)``.

    Each element is the pair that :func:`imagesets.batching.batches` yields with the same
    arguments (uint8 NHWC by default; float32 ``[0, 1]`` with ``normalize``), labels int64.
    The batch dimension is ``batch_size`` with ``drop_last`` and unknown otherwise. Each pass
    over the dataset (each ``for`` loop, or each round of ``.repeat()``) serves the next
    epoch: ``epoch``, ``epoch + 1``, ... Add ``.prefetch(tf.data.AUTOTUNE)`` to overlap the
    gathers with training.
    """
    tf: Any = require("tensorflow", "tf", "imagesets.adapters.tensorflow")
    options = {
        "shuffle": shuffle,
        "seed": seed,
        "drop_last": drop_last,
        "normalize": normalize,
        "layout": layout,
        "dtype": dtype,
        "shard": shard,
        "transform": transform,
    }
    epochs = EpochBatches(images, labels, batch_size, epoch=epoch, **options)
    x = _probe(epochs)
    first = batch_size if drop_last else None
    signature = (
        tf.TensorSpec(shape=(first, *x.shape[1:]), dtype=tf.as_dtype(x.dtype)),
        tf.TensorSpec(shape=(first,), dtype=tf.int64),
    )
    return tf.data.Dataset.from_generator(epochs.__iter__, output_signature=signature)


def _probe(epochs: EpochBatches) -> Array:
    """A one-sample image batch made with the same conversion, for its shape and dtype."""
    options = {**epochs.options, "shuffle": False, "seed": 0, "shard": None, "drop_last": False}
    options.update(workers=1, prefetch=1)
    first = next(iter(batches(epochs.images, epochs.labels, 1, **options)), None)
    if first is None:
        raise ValueError("images: to_tf_dataset needs at least one sample, found 0")
    return first[0]
