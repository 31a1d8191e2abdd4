"""TensorFlow adapter: a ``tf.data.Dataset`` of whole batches made by vectorised numpy gathers.

tensorflow is imported on first call; without it :func:`to_tf_dataset` raises
:class:`MissingDependencyError` naming the ``tf`` extra.

>>> import numpy as np
>>> ds = to_tf_dataset(np.zeros((10, 28, 28), np.uint8), np.arange(10), 4)  # doctest: +SKIP
>>> [tuple(x.shape) for x, _ in ds]  # doctest: +SKIP
[(4, 28, 28), (4, 28, 28), (2, 28, 28)]
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ..batching import BatchOptions, EpochBatches, Images, feed
from ..errors import ArgumentError, require

__all__ = ["to_tf_dataset"]

Array = np.ndarray[Any, Any]


def to_tf_dataset(images: Images, labels: npt.ArrayLike, batch_size: int, **options: Any) -> Any:
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches, equal to ``batches(...)``.

    Takes the keywords of :class:`imagesets.batching.BatchOptions`. Each element is the pair
    that :func:`imagesets.batching.batches` yields with the same arguments (uint8 NHWC by
    default; float32 ``[0, 1]`` with ``normalize``), labels int64. The batch dimension is
    ``batch_size`` with ``drop_last`` and unknown otherwise. Each pass over the dataset (each
    ``for`` loop, or each round of ``.repeat()``) serves the next epoch: ``epoch``,
    ``epoch + 1``, ... Add ``.prefetch(tf.data.AUTOTUNE)`` to overlap the gathers with training.
    """
    opts = BatchOptions.from_kwargs(batch_size, options, caller="to_tf_dataset")
    tf: Any = require("tensorflow", "tf", "imagesets.adapters.tensorflow")
    epochs = EpochBatches(images, labels, opts)
    x = _probe(epochs)
    first = opts.batch_size if opts.drop_last else None
    signature = (
        tf.TensorSpec(shape=(first, *x.shape[1:]), dtype=tf.as_dtype(x.dtype)),
        tf.TensorSpec(shape=(first,), dtype=tf.int64),
    )
    return tf.data.Dataset.from_generator(epochs.__iter__, output_signature=signature)


def _probe(epochs: EpochBatches) -> Array:
    """A one-sample image batch made with the same conversion, for its shape and dtype."""
    one = replace(
        epochs.options, batch_size=1, shuffle=False, shard=None, drop_last=False, workers=1
    )
    first = next(iter(feed(epochs.images, epochs.labels, replace(one, prefetch=1))), None)
    if first is None:
        raise ArgumentError("images: to_tf_dataset needs at least one sample, found 0")
    return first[0]
