"""The options of every batch feed (:class:`BatchOptions`), each checked once when made; the
one keyword list of :func:`imagesets.batching.batches` and the torch, TensorFlow and JAX
adapters (see :mod:`imagesets.batching` for what they mean)."""

from __future__ import annotations

import difflib
import functools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from .errors import ArgumentError

__all__ = ["BatchOptions", "Executor", "Layout", "Transform"]

Layout = Literal["NHWC", "NCHW"]
LAYOUTS: tuple[str, ...] = get_args(Layout)
Executor = Literal["threads", "processes"]
EXECUTORS: tuple[str, ...] = get_args(Executor)
Array = np.ndarray[Any, Any]
Transform = Callable[[Array, np.random.Generator], Array]
"""A batch transform: ``transform(images, rng) -> images``; see :mod:`imagesets.augment`."""


def _whole(name: str, value: object, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (numpy integers too), or an :class:`ArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(
            f"{name}: expected an int >= {minimum}, found {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ArgumentError(f"{name}: expected an int >= {minimum}, found {value}")
    return int(value)


def _optional_whole(name: str, value: object, minimum: int) -> int | None:
    return None if value is None else _whole(name, value, minimum)


def _shard_pair(shard: object) -> tuple[int, int] | None:
    """``shard`` as ``(index, count)`` ints with ``0 <= index < count``, or None."""
    if shard is None:
        return None
    if not isinstance(shard, (tuple, list)) or len(shard) != 2:
        raise ArgumentError(
            f"shard: expected a pair (index, count) such as shard=(rank, world_size),"
            f" found {shard!r}"
        )
    index, count = _whole("shard index", shard[0], 0), _whole("shard count", shard[1], 1)
    if index >= count:
        raise ArgumentError(
            f"shard: the index must be in 0..{count - 1} for {count} shards, found {shard!r};"
            " pass shard=(rank, world_size) with rank < world_size"
        )
    return index, count


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name}: expected True or False, found {value!r}")
    return bool(value)


def _fresh_seed() -> int:
    """128 bits from the OS, as ``np.random.SeedSequence()`` would draw."""
    return secrets.randbits(128)


@dataclass(frozen=True)
class BatchOptions:
    """Every option of a batch feed, checked once: the one keyword list of :func:`batches`,
    :class:`EpochBatches` and the torch, TensorFlow and JAX adapters.

    Attributes:
        batch_size: samples per batch (int >= 1); the last batch is shorter unless
            ``drop_last``.
        shuffle, seed, epoch: order from ``default_rng([seed, epoch])`` (module docstring);
            ``seed`` None or an int >= 0 (None: fresh entropy each call), ``epoch`` an int >= 0.
        drop_last: drop the final partial batch (and, with ``shard``, the ``n % count`` extra
            samples, so every shard yields the same number of batches).
        normalize: True gives floats ``x / 255`` in ``[0, 1]`` (float32 unless ``dtype``).
        layout: "NHWC" keeps the stored shape; "NCHW" gives ``(B, C, H, W)``, and grayscale
            ``(B, H, W)`` becomes ``(B, 1, H, W)``.
        dtype: output dtype; without ``normalize`` the values are cast unscaled (0-255).
        shard: ``(index, count)``, this worker's part of each epoch. A shuffled shard with
            ``seed=None`` uses seed 0, as torch's ``DistributedSampler`` does, so that every
            worker draws the same permutation and the shards stay disjoint.
        transform: ``transform(images, rng) -> images`` run on each converted batch with
            ``rng = BatchPlan.rng(batch_number)``, so augmentation is reproducible per seed.
        workers, prefetch: threads decoding a :class:`SampleSource` (default: all cores), each
            a whole batch (a packed split's own decode threads give way: one thread a ``take``),
            and batches in flight (default: twice the workers); while they decode, OpenCV runs
            single-threaded (restored after the epoch: ``imaging_into.one_opencv_thread``). For
            an array, ``workers`` threads share the conversion of each batch (``normalize``,
            ``dtype``, ``layout``) by row blocks (default: all cores, at most 4; memory-bound). On
            2 idle cores the second thread makes a CIFAR float32 NCHW epoch 1.35x faster; with the
            other core busy it costs 15 % (bench/bench_torchvision.py): pass ``workers=1`` when
            other processes hold the cores. ``prefetch`` is unused.
        executor: how ``workers`` decode a :class:`SampleSource`: ``"threads"`` (one process;
            simplejpeg, Pillow and OpenCV release the GIL for most of the work) or
            ``"processes"`` (worker processes, started with forkserver for each epoch, decode
            slices of each batch into a ring of ``prefetch`` shared-memory batch buffers; no
            pixel array is pickled, each served batch is a fresh copy out of its buffer; the
            source must be picklable, as the packed stores are: a memory-mapped blob pickles
            as its path). None (default) is threads: on the 2-core machine of
            bench/bench_decode_workers.py, 2 threads decoded JPEGs to 224 at 1.79-1.95x one
            thread and 2 processes at 1.55-1.81x (OpenCV and simplejpeg leave little under the
            GIL; processes pay a start per epoch, fresh shared pages and the copy out); try
            processes when a decoder holds the GIL. Arrays, and chosen rows of one, are always
            gathered in this process.
        chw_copy: for a re-iterable feed (:class:`EpochBatches`, ``torch_loader``,
            ``to_tf_dataset``) of an RGB array served ``layout="NCHW"``: keep one channels-first
            copy of the whole array in memory, made on the first epoch, so that later batches
            are gathered without the per-batch HWC->CHW transpose (about 40 % of a float32
            CIFAR epoch). Costs one more copy of the images in RAM; ignored otherwise.

    Every field is checked when the options are made; a bad one raises :class:`ArgumentError`
    naming it. Integers may be numpy integers and are stored as ``int``.

    >>> BatchOptions(256, shard=(1, 4)).seed
    0
    >>> BatchOptions.from_kwargs(8, {"sed": 1})
    Traceback (most recent call last):
    imagesets.errors.ArgumentError: batches: unknown keyword 'sed' (did you mean 'seed'?); ...
    """

    batch_size: int
    shuffle: bool = True
    seed: int | None = None
    epoch: int = 0
    drop_last: bool = False
    normalize: bool = False
    layout: Layout = "NHWC"
    dtype: npt.DTypeLike | None = None
    shard: tuple[int, int] | None = None
    transform: Transform | None = None
    workers: int | None = None
    prefetch: int | None = None
    chw_copy: bool = False
    executor: Executor | None = None

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        put("batch_size", _whole("batch_size", self.batch_size, 1))
        put("epoch", _whole("epoch", self.epoch, 0))
        for name in ("shuffle", "drop_last", "normalize", "chw_copy"):
            put(name, _flag(name, getattr(self, name)))
        put("shard", _shard_pair(self.shard))
        seed = _optional_whole("seed", self.seed, 0)
        put("seed", 0 if seed is None and self.shard is not None and self.shuffle else seed)
        if self.layout not in LAYOUTS:
            raise ArgumentError(f"layout: expected one of {sorted(LAYOUTS)}, found {self.layout!r}")
        _target_dtype(self.normalize, self.dtype)
        if self.transform is not None and not callable(self.transform):
            raise ArgumentError(
                f"transform: expected None or a callable (images, rng) -> images,"
                f" found {type(self.transform).__name__}"
            )
        put("workers", _optional_whole("workers", self.workers, 1))
        put("prefetch", _optional_whole("prefetch", self.prefetch, 1))
        if self.executor is not None and self.executor not in EXECUTORS:
            raise ArgumentError(
                f"executor: expected None or one of {sorted(EXECUTORS)}, found {self.executor!r}"
            )

    @classmethod
    def from_kwargs(
        cls,
        batch_size: int,
        kwargs: Mapping[str, Any],
        *,
        caller: str = "batches",
        defaults: Mapping[str, Any] | None = None,
    ) -> BatchOptions:
        """The options of ``caller(..., batch_size, **kwargs)``; ``defaults`` are the caller's
        own defaults for keywords it was not given. An unknown keyword is an
        :class:`ArgumentError` naming the close matches and every valid keyword."""
        names = [f.name for f in fields(cls)][1:]
        for key in kwargs:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ArgumentError(
                    f"{caller}: unknown keyword {key!r}{hint}; the keywords are {', '.join(names)}"
                )
        return cls(batch_size, **{**(defaults or {}), **kwargs})

    @property
    def out_dtype(self) -> np.dtype[Any] | None:
        """The dtype of the served images (None: the stored uint8)."""
        return _target_dtype(self.normalize, self.dtype)


def _target_dtype(normalize: bool, dtype: npt.DTypeLike | None) -> np.dtype[Any] | None:
    """The served dtype: None keeps uint8; ``normalize`` alone gives float32."""
    if dtype is None:
        return np.dtype(np.float32) if normalize else None
    try:
        target = np.dtype(dtype)
    except TypeError as exc:
        raise ArgumentError(
            f"dtype: expected a numpy dtype such as 'float32', found {dtype!r}"
        ) from exc
    if normalize and target.kind != "f":
        raise ArgumentError(f"dtype: normalize=True needs a float dtype, found {target}")
    return target
