"""Split statistics: per-channel mean and std over all pixels, and class counts.

The normalisation constants people copy are often wrong. For CIFAR-10 train the widely copied
std ``(0.2023, 0.1994, 0.2010)`` is the *mean of per-image stds*, which ignores the spread of the
image means; the std over all pixels, which is what ``(x - mean) / std`` needs, is
``(0.2470, 0.2435, 0.2616)`` (mean ``(0.4914, 0.4822, 0.4465)``). :func:`channel_stats` computes
the latter, exactly, in one streaming pass that works on memory-mapped arrays.

>>> import numpy as np
>>> s = channel_stats(np.array([[[[0, 255]]], [[[255, 0]]]], dtype=np.uint8))
>>> s.mean, s.std, s.count
((0.5, 0.5), (0.5, 0.5), 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from .sources import Pixels

__all__ = ["ChannelStats", "SplitStats", "channel_stats", "class_counts", "split_stats"]

_PIXELS_PER_CHUNK = 1 << 18  # values per channel summed at a time: ~0.5 MB of uint16


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel statistics of uint8 images, with pixels scaled to [0, 1].

    Attributes:
        mean: one float per channel, in [0, 1].
        std: one float per channel (population std over all pixels of all images), in [0, 0.5].
        count: the number of images.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    count: int


def _channels(images: Pixels) -> int:
    """The number of channels of uint8 ``(N, H, W)`` (1) or ``(N, H, W, C)`` images."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ArgumentError(
            f"channel_stats needs uint8 images (N, H, W) or (N, H, W, C), "
            f"got {images.dtype} with shape {images.shape}"
        )
    return 1 if images.ndim == 3 else int(images.shape[3])


def _chunk_sums(chunk: np.ndarray[Any, Any], channels: int) -> tuple[list[int], list[int]]:
    """Exact per-channel sums of values and of squared values of one uint8 chunk."""
    planar = np.empty((channels, chunk.size // channels), dtype=np.uint16)
    planar[...] = chunk.reshape(-1, channels).T  # 255**2 fits in uint16
    sums = planar.sum(axis=1, dtype=np.uint64)
    planar *= planar
    squares = planar.sum(axis=1, dtype=np.uint64)
    return [int(x) for x in sums], [int(x) for x in squares]


def channel_stats(images: Pixels, *, chunk: int | None = None) -> ChannelStats:
    """Mean and std per channel over all pixels of ``images``, scaled to [0, 1].

    Args:
        images: uint8 (N, H, W) or (N, H, W, C) values in 0..255, possibly a ``np.memmap`` or
            a :class:`imagesets.sources.DecodedImages` (decoded as read); read once, ``chunk``
            images at a time.
        chunk: images per step (default: about 256k pixels per channel).

    Returns:
        :class:`ChannelStats` with ``len(mean) == len(std) == C`` (1 for (N, H, W)).

    Sums and sums of squares are accumulated as exact integers, so the result does not depend
    on ``chunk`` and has no cancellation error. This is NOT the mean of per-image stds: see the
    module docstring (CIFAR-10: 0.2470, 0.2435, 0.2616, not 0.2023, 0.1994, 0.2010).
    """
    x, channels = images, _channels(images)
    if len(x) == 0:
        raise ArgumentError("channel_stats needs at least one image, got an empty array")
    per_image = max(1, math.prod(x.shape[1:3]))
    step = chunk or max(1, _PIXELS_PER_CHUNK // per_image)
    sums, squares = [0] * channels, [0] * channels
    for start in range(0, len(x), step):
        s, q = _chunk_sums(np.asarray(x[start : start + step]), channels)
        sums = [a + b for a, b in zip(sums, s, strict=True)]
        squares = [a + b for a, b in zip(squares, q, strict=True)]
    n = len(x) * per_image
    mean = tuple(s / n / 255 for s in sums)
    # n * sum(x^2) - (sum x)^2 is exact in Python integers: no catastrophic cancellation.
    std = tuple(math.sqrt(n * q - s * s) / n / 255 for s, q in zip(sums, squares, strict=True))
    return ChannelStats(mean=mean, std=std, count=len(x))


def class_counts(labels: np.ndarray[Any, Any], num_classes: int) -> np.ndarray[Any, Any]:
    """How many of ``labels`` fall in each class: int64 ``(num_classes,)``.

    ``labels`` is an integer array of any shape with values in ``0..num_classes-1``; anything
    outside raises ``ValueError`` naming the offending value.

    >>> class_counts(np.array([0, 2, 2], dtype=np.uint8), 4).tolist()
    [1, 0, 2, 0]
    """
    values = np.asarray(labels)
    if not np.issubdtype(values.dtype, np.integer):
        raise ArgumentError(f"class_counts needs integer labels, got dtype {values.dtype}")
    if values.size and (int(values.min()) < 0 or int(values.max()) >= num_classes):
        bad = int(values.min()) if int(values.min()) < 0 else int(values.max())
        raise ArgumentError(f"label {bad} is outside 0..{num_classes - 1}")
    return np.bincount(values.ravel().astype(np.intp), minlength=num_classes).astype(np.int64)


@dataclass(frozen=True)
class SplitStats:
    """What ``imagesets stats`` prints: pixel statistics and class counts of one split.

    Attributes:
        channels: per-channel mean and std of the pixels in [0, 1] (see :class:`ChannelStats`).
        class_counts: int64 ``(num_classes,)``, examples per class.
    """

    channels: ChannelStats
    class_counts: np.ndarray[Any, Any]

    @property
    def mean(self) -> tuple[float, ...]:
        """Per-channel mean, pixels in [0, 1]."""
        return self.channels.mean

    @property
    def std(self) -> tuple[float, ...]:
        """Per-channel std over all pixels (not the mean of per-image stds)."""
        return self.channels.std

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "count": self.channels.count,
            "class_counts": self.class_counts.tolist(),
        }


def split_stats(images: Pixels, labels: np.ndarray[Any, Any], num_classes: int) -> SplitStats:
    """:func:`channel_stats` of ``images`` and :func:`class_counts` of ``labels``."""
    return SplitStats(channel_stats(images), class_counts(labels, num_classes))
