"""Shuffled batches at memory speed: pure functions over image and label arrays.

Every batch is one vectorised gather (``np.take`` of the batch's indices along axis 0), never a
Python loop over samples, so a shuffled epoch over a memory-mapped prepared split runs at the
speed of the gather itself (about 5 M samples/s for MNIST-shaped data here). A converted batch
(float, NCHW) is made in one pass: each chunk of rows is gathered, laid out and converted
while it is in cache, and with ``workers=k`` the row blocks of a batch are split over k
threads. With numba installed (the ``fast`` extra) a compiled kernel does this per row, without
the GIL; else numpy does it per chunk of rows: :func:`kernel_name` says which (module
:mod:`imagesets._kernels`).

The order of an epoch is a permutation drawn from ``np.random.default_rng([seed, epoch])``
(PCG64), so it is identical on every machine and every numpy version that keeps PCG64's stream.
``seed=None`` draws fresh entropy once per call and is never silently reused.

Sharding rule (``shard=(index, count)``), applied to the epoch's permutation ``p`` of ``n``:

* ``drop_last=False``: shard ``index`` takes ``p[index::count]``. The shards are disjoint and
  together hold every sample exactly once; their lengths differ by at most one.
* ``drop_last=True``: the permutation is first cut to ``count * (n // count)`` samples (the
  ``n % count`` dropped samples change every epoch), so every shard has exactly ``n // count``
  samples and, with the final partial batch dropped too, every shard yields the same number of
  batches (what data-parallel training needs to keep its workers in step).

Each shard is therefore shuffled too. Every worker must draw the same permutation, so a
shuffled shard with ``seed=None`` uses seed 0 (torch's ``DistributedSampler`` default) rather
than fresh entropy, which would make the shards overlap.

Every keyword is a field of :class:`BatchOptions`, checked once when the options are made;
:func:`batches` and the torch, TensorFlow and JAX adapters all take the same keywords.

>>> import numpy as np
>>> images = np.zeros((10, 28, 28), np.uint8); labels = np.arange(10, dtype=np.uint8)
>>> [y.tolist() for _, y in batches(images, labels, 4, seed=0, drop_last=True)]
[[4, 6, 2, 7], [3, 5, 9, 0]]
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from ._kernels import kernel_name
from ._parallel import default_workers
from .batch_convert import _Convert, _convert, _convert_batch, _filler
from .batch_options import BatchOptions, Layout, Transform, _fresh_seed, _whole
from .errors import ArgumentError

__all__ = [
    "BatchOptions",
    "BatchPlan",
    "EpochBatches",
    "Layout",
    "SampleSource",
    "Transform",
    "batches",
    "epoch_indices",
    "feed",
    "kernel_name",
]

Array = np.ndarray[Any, Any]
IndexArray = npt.NDArray[np.int64]

_T = TypeVar("_T")
#: Default threads sharing the conversion of one array batch (``workers=None``): up to this
#: many cores. The fill is memory-bound, so more threads than memory channels gain nothing.
CONVERT_THREADS = 4
_AUGMENT_TAG = 1  # keeps the transform seeds [seed, epoch, 1, ...] apart from [seed, epoch]


@runtime_checkable
class SampleSource(Protocol):
    """Samples that are decoded on access, such as a packed JPEG store.

    ``take(indices)`` gets an int64 array of sample numbers and returns a uint8 array of shape
    ``(len(indices), H, W)`` or ``(len(indices), H, W, C)`` in that order. It is called from
    worker threads, so it must be thread-safe (decoders that release the GIL keep cores busy).
    """

    def __len__(self) -> int: ...

    def take(self, indices: IndexArray) -> Array: ...


Images = Array | SampleSource


def epoch_indices(
    n: int,
    *,
    seed: int | None,
    epoch: int = 0,
    shuffle: bool = True,
    shard: tuple[int, int] | None = None,
    drop_last: bool = False,
) -> IndexArray:
    """The sample numbers of one epoch (of one shard), in the order they are served.

    Returns an int64 array of distinct values in ``[0, n)``; ``shuffle=False`` keeps them
    ascending. The arguments are those of :class:`BatchOptions`; the sharding rule is in the
    module docstring.

    >>> epoch_indices(6, seed=1, shuffle=False, shard=(1, 2)).tolist()
    [1, 3, 5]
    """
    n = _whole("n", n, 0)
    options = BatchOptions(1, shuffle, seed, epoch, drop_last, shard=shard)
    return _epoch_order(n, options)


def _epoch_order(n: int, options: BatchOptions) -> IndexArray:
    if options.shuffle:
        key = _fresh_seed() if options.seed is None else options.seed
        gen = np.random.default_rng([key, options.epoch])
        order = gen.permutation(n).astype(np.int64, copy=False)
    else:
        order = np.arange(n, dtype=np.int64)
    return _apply_shard(order, options.shard, options.drop_last)


def _apply_shard(order: IndexArray, shard: tuple[int, int] | None, drop_last: bool) -> IndexArray:
    if shard is None:
        return order
    index, count = shard
    if drop_last:
        order = order[: count * (len(order) // count)]
    return np.ascontiguousarray(order[index::count])


def _shard_length(n: int, shard: tuple[int, int] | None, drop_last: bool) -> int:
    if shard is None:
        return n
    index, count = shard
    return n // count if drop_last else len(range(index, n, count))


@dataclass(frozen=True)
class BatchPlan:
    """The batches of one epoch of ``n`` samples as index arrays, and the random streams of
    their transforms.

    ``options.seed`` is always an int here: :meth:`create` turns ``None`` into fresh entropy
    once, so the permutation and every batch's transform generator come from the same key.

    >>> plan = BatchPlan.create(10, BatchOptions(4, seed=0))
    >>> len(plan), [len(i) for i in plan.batch_indices()]
    (3, [4, 4, 2])
    """

    n: int
    options: BatchOptions

    @classmethod
    def create(cls, n: int, options: BatchOptions) -> BatchPlan:
        """Fix the seed (fresh entropy when ``options.seed`` is None)."""
        if options.seed is None:
            options = replace(options, seed=_fresh_seed())
        return cls(_whole("n", n, 0), options)

    @property
    def seed(self) -> int:
        """The seed of the permutation and of the transform generators."""
        return int(self.options.seed or 0)

    def indices(self) -> IndexArray:
        """All sample numbers of this epoch and shard, in serving order (int64)."""
        return _epoch_order(self.n, self.options)

    def __len__(self) -> int:
        """The number of batches this plan yields."""
        opt = self.options
        count = _shard_length(self.n, opt.shard, opt.drop_last)
        whole, rest = divmod(count, opt.batch_size)
        return whole + (1 if rest and not opt.drop_last else 0)

    def batch_indices(self) -> Iterator[IndexArray]:
        """One int64 index array per batch, in order (views into :meth:`indices`)."""
        order, size = self.indices(), self.options.batch_size
        for start in self.starts(len(order)):
            yield order[start : start + size]

    def starts(self, count: int) -> range:
        """Where each batch begins in the ``count`` sample numbers of :meth:`indices`."""
        size = self.options.batch_size
        return range(0, count - count % size if self.options.drop_last else count, size)

    def rng(self, batch_number: int) -> np.random.Generator:
        """The generator handed to the transform of batch ``batch_number`` (deterministic)."""
        opt = self.options
        shard_index = opt.shard[0] if opt.shard else 0
        key = [self.seed, opt.epoch, _AUGMENT_TAG, shard_index, batch_number]
        return np.random.default_rng(key)


def _gather_convert(images: Images, idx: IndexArray, conv: _Convert, parts: int) -> Array:
    """Gather the samples ``idx`` and serve them as ``conv`` says, fused for arrays: each
    row (or chunk of rows) is gathered straight into the converted batch, never a whole
    uint8 copy."""
    if not isinstance(images, np.ndarray):
        return _convert(_gather(images, idx), conv, parts)
    if conv.dtype is None and conv.layout == "NHWC":
        return _gather(images, idx)
    shape = (len(idx), *images.shape[1:])
    return _convert_batch(shape, _filler(images, idx, conv), conv, parts)


def _gather(images: Images, idx: IndexArray) -> Array:
    if isinstance(images, np.ndarray):
        return np.take(images, idx, axis=0).view(np.ndarray)
    got = images.take(idx)
    if not isinstance(got, np.ndarray) or got.shape[:1] != (len(idx),):
        shape = getattr(got, "shape", type(got).__name__)
        raise ArgumentError(
            f"{type(images).__name__}.take: expected an array of {len(idx)} samples, found {shape}"
        )
    return got


def _check_arrays(images: Images, labels: Array) -> None:
    if isinstance(images, np.ndarray) and images.ndim not in (3, 4):
        raise ArgumentError(
            f"images: expected shape (N, H, W) or (N, H, W, C), found {images.shape}"
        )
    if not isinstance(images, (np.ndarray, SampleSource)):
        raise ArgumentError(
            f"images: expected a numpy array or an object with __len__ and take(indices),"
            f" found {type(images).__name__}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        raise ArgumentError(
            f"labels: expected an integer array of shape ({len(images)},),"
            f" found {labels.dtype} {labels.shape}"
        )


def batches(
    images: Images, labels: npt.ArrayLike, batch_size: int, **options: Any
) -> Iterator[tuple[Array, Array]]:
    """Yield ``(images, labels)`` batches of one epoch, each gathered in one vectorised step.

    Args:
        images: uint8 ``(N, H, W)`` or ``(N, H, W, C)`` array (a read-only ``np.memmap`` is
            ideal), or a :class:`SampleSource` decoded on access, which is gathered in
            ``workers`` threads, or worker processes with ``executor="processes"`` (default:
            all cores), with ``prefetch`` batches in flight (default: twice the workers). An
            array is gathered in the calling thread; a converted batch (float, NCHW) is
            gathered and converted chunk by chunk in one pass, its row blocks split over
            ``workers`` threads (default: all cores, at most 4; see :class:`BatchOptions`).
        labels: integer array ``(N,)``; served as int64.
        batch_size: samples per batch; the last batch is shorter unless ``drop_last``.
        options: the keywords of :class:`BatchOptions` (``shuffle=True, seed=None, epoch=0,
            drop_last=False, normalize=False, layout="NHWC", dtype=None, shard=None,
            transform=None, workers=None, prefetch=None, executor=None``), each checked
            before anything runs.

    Yields:
        ``(x, y)``: ``x`` a C-contiguous array of up to ``batch_size`` samples in permutation
        order, ``y`` int64 ``(B,)``. Each batch is a fresh array the caller may modify.
    """
    return feed(images, labels, BatchOptions.from_kwargs(batch_size, options))


def feed(
    images: Images, labels: npt.ArrayLike, options: BatchOptions
) -> Iterator[tuple[Array, Array]]:
    """The batches of :func:`batches`, from options made already (what the adapters call)."""
    labels = np.asarray(labels)
    _check_arrays(images, labels)
    plan = BatchPlan.create(len(images), options)
    conv = _Convert(options.out_dtype, options.normalize, options.layout)
    labels = labels.astype(np.int64)  # once per epoch, so each batch's labels are one take
    if isinstance(images, np.ndarray):
        images = images.view(np.ndarray)  # a memmap's pages, without np.memmap's per-slice cost
        if conv.dtype is None and conv.layout == "NHWC" and options.transform is None:
            return _plain(images, labels, plan)
        parts = options.workers or min(CONVERT_THREADS, default_workers())
        return (task() for task in _tasks(images, labels, plan, conv, options.transform, parts))
    workers = options.workers or default_workers()
    prefetch = options.prefetch or 2 * workers
    images = _one_thread_each(images)
    if _executor(images, options.executor, workers) == "processes":
        return _processes(images, labels, plan, conv, options.transform, workers, prefetch)
    tasks = _tasks(images, labels, plan, conv, options.transform, 1)
    return _decoding(_threaded(tasks, workers, prefetch))


def _one_thread_each(images: SampleSource) -> SampleSource:
    """``images`` decoding each ``take`` on the calling thread: the feed's ``workers`` are the
    parallelism, so a packed split's own thread pool (all cores) would only oversubscribe them
    (2 feed threads over a 2-thread source decoded 1.66x one thread, over one-thread takes
    1.89x: bench/bench_decode_workers.py)."""
    from .lazy_images import LazyImages

    return images.on_threads(1) if isinstance(images, LazyImages) else images


def _decoding(results: Iterator[_T]) -> Iterator[_T]:
    """``results`` with OpenCV single-threaded while they are made (the feed's threads are the
    parallelism: :func:`imagesets.imaging_into.one_opencv_thread`)."""
    from .imaging_into import one_opencv_thread

    with one_opencv_thread():
        yield from results


#: The executor of a decoded source when ``executor=None`` and ``workers > 1``: threads, which
#: measured faster than processes (bench/bench_decode_workers.py, see :class:`BatchOptions`).
DEFAULT_EXECUTOR = "threads"


def _executor(images: SampleSource, executor: str | None, workers: int) -> str:
    """The executor that gathers ``images`` on ``workers`` workers: rows of an array that is
    decoded already are one vectorised gather in this process whatever was asked."""
    from .lazy_images import GatheredRows

    if isinstance(images, GatheredRows):
        return "threads"
    if executor is not None:
        return executor
    return DEFAULT_EXECUTOR if workers > 1 else "threads"


def _plain(images: Array, labels: Array, plan: BatchPlan) -> Iterator[tuple[Array, Array]]:
    """The stored uint8 batches: one ``np.take`` each (a copy per row, up to 1.3x faster than
    ``images[idx]`` for MNIST-shaped rows; the same bytes), the labels by indexing (a 1-D
    take costs more Python than it saves); one generator, the indices sliced from the epoch's
    permutation without copies (bench/bench_batches.py)."""
    order, size, take = plan.indices(), plan.options.batch_size, images.take  # not np.take's
    for start in plan.starts(len(order)):  # wrappers: 2-3 us a batch, 7 % of an MNIST epoch
        idx = order[start : start + size]
        yield take(idx, 0), labels[idx]


def _tasks(
    images: Images,
    labels: Array,
    plan: BatchPlan,
    conv: _Convert,
    transform: Transform | None,
    parts: int,
) -> Iterator[Callable[[], tuple[Array, Array]]]:
    for number, idx in enumerate(plan.batch_indices()):
        rng = plan.rng(number) if transform is not None else None
        yield _Task(images, labels, idx, conv, transform, rng, parts)


@dataclass(frozen=True)
class _Task:
    """One batch's work: gather, convert, transform; runnable in any thread."""

    images: Images
    labels: Array
    idx: IndexArray
    conv: _Convert
    transform: Transform | None
    rng: np.random.Generator | None
    parts: int  # threads converting this batch (1 inside a decoding pool)

    def __call__(self) -> tuple[Array, Array]:
        x = _gather_convert(self.images, self.idx, self.conv, self.parts)
        if self.transform is not None and self.rng is not None:
            x = self.transform(x, self.rng)
        return x, self.labels[self.idx]


def _threaded(tasks: Iterator[Callable[[], _T]], workers: int, prefetch: int) -> Iterator[_T]:
    """Run ``tasks`` in a thread pool, at most ``prefetch`` ahead, yielding results in order."""
    pending: deque[Future[_T]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imagesets") as pool:
        try:
            for task in tasks:
                pending.append(pool.submit(task))
                if len(pending) >= prefetch:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _processes(
    images: SampleSource,
    labels: Array,
    plan: BatchPlan,
    conv: _Convert,
    transform: Transform | None,
    workers: int,
    prefetch: int,
) -> Iterator[tuple[Array, Array]]:
    """The batches of ``images`` decoded by ``workers`` processes into a ring of ``prefetch``
    shared-memory buffers (:mod:`imagesets._procpool`), each copied out of its slot here (or
    converted, which is the copy) before the slot is reused: every batch is a fresh array,
    the same values as :func:`_threaded` gives, in the same order."""
    from ._procpool import decoded_batches

    slots = decoded_batches(images, plan.batch_indices(), workers, prefetch)
    with contextlib.closing(slots):
        for number, (idx, view) in enumerate(slots):
            x = _convert(view, conv)
            x = view.copy() if x is view else x
            del view  # the slot is reused once the consumer asks for the next batch
            if transform is not None:
                x = transform(x, plan.rng(number))
            yield x, labels[idx]


def _wants_chw_copy(images: Images, options: BatchOptions) -> bool:
    """Whether a channels-first copy of ``images`` serves ``options`` (see ``chw_copy``)."""
    return (
        options.chw_copy
        and options.layout == "NCHW"
        and isinstance(images, np.ndarray)
        and images.ndim == 4
    )


class EpochBatches:
    """Batches that can be iterated again: iteration ``k`` serves epoch ``options.epoch + k``.

    Framework loops iterate one loader object once per epoch; a fixed epoch would repeat the
    same order every time, so each ``iter()`` takes the current epoch and advances it.
    :meth:`set_epoch` sets it explicitly (to resume, or to keep data-parallel workers in step).

    >>> import numpy as np
    >>> loader = EpochBatches(np.zeros((4, 2, 2), np.uint8), np.arange(4), BatchOptions(2, seed=0))
    >>> first, second = [[y.tolist() for _, y in loader] for _ in range(2)]
    >>> len(loader), loader.epoch, first != second
    (2, 2, True)
    """

    def __init__(self, images: Images, labels: npt.ArrayLike, options: BatchOptions) -> None:
        self.images, self.labels, self.options = images, np.asarray(labels), options
        _check_arrays(images, self.labels)
        self.epoch = options.epoch
        self._chw: Array | None = None

    def set_epoch(self, epoch: int) -> None:
        """Serve ``epoch`` on the next iteration (then ``epoch + 1``, ...)."""
        self.epoch = _whole("epoch", epoch, 0)

    def __iter__(self) -> Iterator[tuple[Array, Array]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        options = replace(self.options, epoch=epoch)
        images = self.images
        if _wants_chw_copy(images, options):
            if self._chw is None:
                self._chw = np.ascontiguousarray(np.asarray(images).transpose(0, 3, 1, 2))
            images, options = self._chw, replace(options, layout="NHWC")  # already (N, C, H, W)
        return feed(images, self.labels, options)

    def __len__(self) -> int:
        return len(BatchPlan(len(self.images), self.options))
