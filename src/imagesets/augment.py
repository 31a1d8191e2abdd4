"""Batch augmentations, vectorised over the whole batch (a few numpy calls, no per-sample loop).

Every function takes a batch ``(B, H, W)`` (grayscale) or ``(B, H, W, C)`` for ``layout="NHWC"``,
``(B, C, H, W)`` for ``layout="NCHW"``, of any dtype, and a ``np.random.Generator``; given the
same generator state the result is the same on every machine. The step classes
(:class:`RandomCrop`, :class:`RandomFlip`, :class:`Normalize`) and :class:`Compose` have the
``transform(batch, rng)`` signature that :func:`imagesets.batching.batches` calls per batch.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> batch = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
>>> random_crop(batch, 4, 1, rng).shape
(2, 4, 4)
>>> aug = Compose((RandomCrop(4, padding=1), RandomFlip()))
>>> aug(batch, rng).dtype
dtype('uint8')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import ArgumentError

__all__ = [
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomFlip",
    "normalize",
    "random_crop",
    "random_flip",
]

Array = np.ndarray[Any, Any]
Layout = Literal["NHWC", "NCHW"]
PadMode = Literal["constant", "reflect"]
Step = Callable[[Array, np.random.Generator], Array]


def _spatial_axes(batch: Array, layout: str) -> tuple[int, int]:
    """The (height, width) axes of ``batch``: a table of layout and rank."""
    table = {("NHWC", 3): (1, 2), ("NHWC", 4): (1, 2), ("NCHW", 3): (1, 2), ("NCHW", 4): (2, 3)}
    axes = table.get((layout, batch.ndim))
    if axes is None:
        raise ArgumentError(
            f"batch: expected a 3-D or 4-D batch in layout NHWC or NCHW,"
            f" found shape {batch.shape} with layout {layout!r}"
        )
    return axes


def _channel_axis(batch: Array, layout: str) -> int | None:
    h_axis, _ = _spatial_axes(batch, layout)
    if batch.ndim == 3:
        return None
    return 3 if h_axis == 1 else 1


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def random_crop(
    batch: Array,
    size: int | tuple[int, int],
    padding: int,
    rng: np.random.Generator,
    *,
    mode: PadMode = "constant",
    layout: Layout = "NHWC",
) -> Array:
    """Pad every image by ``padding`` pixels, then cut a ``size`` window at a random offset.

    Padding is zeros (``mode="constant"``) or a mirror without the edge (``"reflect"``). Each
    sample gets its own offset: ``rng.integers`` draws all row offsets, then all column
    offsets, each uniform in ``[0, padded - size]``. Returns a new C-contiguous array of the
    input dtype, the spatial axes replaced by ``size``.
    """
    h_axis, w_axis = _spatial_axes(batch, layout)
    height, width = _pair(size)
    room_h = batch.shape[h_axis] + 2 * padding - height
    room_w = batch.shape[w_axis] + 2 * padding - width
    if padding < 0 or min(room_h, room_w) < 0 or min(height, width) < 1:
        raise ArgumentError(
            f"random_crop: size {(height, width)} must fit the image"
            f" {batch.shape[h_axis], batch.shape[w_axis]} padded by {padding} (padding >= 0)"
        )
    pad = [(0, 0)] * batch.ndim
    pad[h_axis] = pad[w_axis] = (padding, padding)
    padded = np.pad(batch, pad, mode=mode) if padding else batch
    top = rng.integers(0, room_h + 1, len(batch))
    left = rng.integers(0, room_w + 1, len(batch))
    return _cut(padded, top, left, (height, width), (h_axis, w_axis))


def _cut(
    padded: Array, top: Array, left: Array, size: tuple[int, int], axes: tuple[int, int]
) -> Array:
    """Gather window ``[top:top+h, left:left+w]`` of every sample with one advanced index."""
    moved = np.moveaxis(padded, axes, (1, 2))
    rows = top[:, None] + np.arange(size[0])
    cols = left[:, None] + np.arange(size[1])
    samples = np.arange(len(padded))[:, None, None]
    cut = moved[samples, rows[:, :, None], cols[:, None, :]]
    return np.ascontiguousarray(np.moveaxis(cut, (1, 2), axes))


def random_flip(
    batch: Array, rng: np.random.Generator, p: float = 0.5, *, layout: Layout = "NHWC"
) -> Array:
    """Mirror each image left-right with probability ``p`` (one ``rng.random`` draw per sample).

    Returns a new array of the same shape and dtype; ``batch`` is not modified.
    """
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"random_flip: p must be in [0, 1], found {p}")
    _, w_axis = _spatial_axes(batch, layout)
    chosen = rng.random(len(batch)) < p
    out = np.array(batch, copy=True)
    out[chosen] = np.flip(batch[chosen], axis=w_axis)
    return out


def normalize(
    batch: Array,
    mean: float | Sequence[float],
    std: float | Sequence[float],
    *,
    layout: Layout = "NHWC",
) -> Array:
    """``(batch - mean) / std`` per channel, as float32.

    ``mean`` and ``std`` are in the units of ``batch``: for the ``[0, 1]`` floats of
    ``batches(normalize=True)`` use statistics of ``x / 255``. Give one value per channel
    (a grayscale ``(B, H, W)`` batch has one channel) or a single value for all.
    """
    mean_a = _per_channel(batch, mean, "mean", layout)
    std_a = _per_channel(batch, std, "std", layout)
    if np.any(std_a == 0):
        raise ArgumentError(f"normalize: std must not contain 0, found {np.ravel(std_a).tolist()}")
    out = np.subtract(batch, mean_a, dtype=np.float32)
    out /= std_a
    return out


def _per_channel(batch: Array, values: float | Sequence[float], name: str, layout: str) -> Array:
    """``values`` as float32 shaped to broadcast along the channel axis of ``batch``."""
    arr = np.asarray(values, dtype=np.float32).reshape(-1)
    axis = _channel_axis(batch, layout)
    channels = 1 if axis is None else batch.shape[axis]
    if arr.size == 1:
        return arr.reshape(())
    if arr.size != channels:
        raise ArgumentError(
            f"normalize: {name} has {arr.size} values; the batch {batch.shape} ({layout})"
            f" has {channels} channel(s): give one value per channel or a single value"
        )
    shape = [1] * batch.ndim
    shape[axis or 0] = channels
    return arr.reshape(shape)


@dataclass(frozen=True)
class RandomCrop:
    """Step form of :func:`random_crop`."""

    size: int | tuple[int, int]
    padding: int = 0
    mode: PadMode = "constant"
    layout: Layout = "NHWC"

    def __call__(self, batch: Array, rng: np.random.Generator) -> Array:
        return random_crop(batch, self.size, self.padding, rng, mode=self.mode, layout=self.layout)


@dataclass(frozen=True)
class RandomFlip:
    """Step form of :func:`random_flip`."""

    p: float = 0.5
    layout: Layout = "NHWC"

    def __call__(self, batch: Array, rng: np.random.Generator) -> Array:
        return random_flip(batch, rng, self.p, layout=self.layout)


@dataclass(frozen=True)
class Normalize:
    """Step form of :func:`normalize` (draws nothing from ``rng``)."""

    mean: float | tuple[float, ...]
    std: float | tuple[float, ...]
    layout: Layout = "NHWC"

    def __call__(self, batch: Array, rng: np.random.Generator) -> Array:
        return normalize(batch, self.mean, self.std, layout=self.layout)


@dataclass(frozen=True)
class Compose:
    """Run ``steps`` in order, each as ``step(batch, rng)`` with the same generator."""

    steps: tuple[Step, ...]

    def __call__(self, batch: Array, rng: np.random.Generator) -> Array:
        for step in self.steps:
            batch = step(batch, rng)
        return batch
