"""Ray adapter: a split as a lazy ``ray.data.Dataset``, and exports as Ray tasks.

A split is shipped to Ray workers as a :class:`PortableSplit`: the *paths* of its
memory-mapped arrays and packed blobs (with the byte offset, shape and strides of the view the
split holds), never their bytes. Each worker maps the files again, so the cache root must be
on a filesystem every node sees at the same path (a shared filesystem on a cluster; the local
disk on one machine). Arrays that are not memory-mapped (the gathered labels of a split of
chosen rows) travel by value: they are one small value per example.

* :func:`to_ray`: ``ray.data.range(N)`` mapped block by block to ``{"image", "label",
  extras}`` rows read by the workers; the driver never holds the split's pixels.
* :func:`export_on_ray`: one Ray task per shard of :mod:`imagesets.exports`, at most
  ``window`` in flight; each shard is written under a temporary name unique to its node and
  process and renamed when complete, so a task that dies and is retried never leaves a half
  shard under its final name.

ray is imported on first call; without it a :class:`MissingDependencyError` names the ``ray``
extra. A Ray address that cannot be reached is a :class:`ClusterError`.
"""

from __future__ import annotations

import math
import mmap
import os
import pickle
import socket
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..errors import ArgumentError, ImagesetsError, require
from ..sources import ArraySource, EncodedSource, LazyImages, check_size

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset import Split

__all__ = [
    "ClusterError",
    "PortableSplit",
    "connect",
    "export_on_ray",
    "run_bounded",
    "to_ray",
]

Array = np.ndarray[Any, Any]
T = TypeVar("T")
R = TypeVar("R")


class ClusterError(ImagesetsError, RuntimeError):
    """The Ray cluster could not be reached, or a task failed after its retries.

    What to do: check the address (``--address HOST:PORT``, ``ray status``), or leave it out
    to run a local Ray; a failed task's error is in the message.
    """


def _ray() -> Any:
    return require("ray", "ray", "the Ray engine")


def _probe(address: str) -> None:
    """A clear error, at once, when ``host:port`` refuses or does not answer (``ray.init``
    would retry for a minute before failing)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ArgumentError(
            f"Ray address: expected HOST:PORT (e.g. 127.0.0.1:6379) or 'auto', found {address!r}"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ClusterError(
            f"the Ray cluster at {address} cannot be reached ({exc}); start it with "
            f"`ray start --head` or give the address of a running head node"
        ) from exc


def connect(address: str | None = None) -> Any:
    """The ``ray`` module, connected: to the running session if there is one, else to
    ``address`` (``HOST:PORT`` or ``"auto"``), else to a new local Ray on this machine.

    Raises:
        MissingDependencyError: ray is not installed (the ``ray`` extra).
        ClusterError: ``address`` cannot be reached.
    """
    ray = _ray()
    if ray.is_initialized():
        return ray
    if address is not None and address != "auto":
        _probe(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except ConnectionError as exc:
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    return ray


def run_bounded(
    ray: Any, submit: Callable[[T], Any], items: Iterable[T], window: int
) -> Iterable[Any]:
    """``ray.get(submit(item))`` for each item, in order, with at most ``window`` tasks in
    flight (backpressure: the object store holds at most ``window`` results).

    Raises:
        ClusterError: a task failed after Ray's retries (its error is included).
    """
    pending: deque[Any] = deque()

    def take() -> Any:
        try:
            return ray.get(pending.popleft())
        except ray.exceptions.RayError as exc:
            for ref in pending:
                ray.cancel(ref, force=True)
            cause = getattr(exc, "cause", None)
            if isinstance(cause, ImagesetsError):
                raise cause from exc
            raise ClusterError(f"a Ray task failed after its retries: {exc}") from exc

    for item in items:
        if len(pending) >= window:
            yield take()
        try:
            pending.append(submit(item))
        except (TypeError, ValueError, AttributeError, pickle.PicklingError) as exc:
            raise ClusterError(
                f"this work cannot be shipped to Ray workers ({type(exc).__name__}: {exc}); "
                "run it with the local engine"
            ) from exc
    while pending:
        yield take()


# --------------------------------------------------------------------------- portable splits


@dataclass(frozen=True)
class _FileView:
    """A view into a file: ``shape``/``strides``/``dtype`` starting at byte ``offset``."""

    path: str
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: str

    def open(self) -> Array:
        if not math.prod(self.shape):
            return np.zeros(self.shape, np.dtype(self.dtype))
        mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        view: Array = np.ndarray(self.shape, np.dtype(self.dtype), mm, self.offset, self.strides)
        return view


def _stored_manifest(manifest: Mapping[str, Any]) -> Any:
    """The :class:`~imagesets.manifest.Manifest` under a sub-split's view (or None)."""
    from ..manifest import Manifest

    while not isinstance(manifest, Manifest):
        parent = getattr(manifest, "_parent", None)
        if parent is None:
            return None
        manifest = parent
    return manifest


def _portable(arr: Array, name: str, manifest: Any) -> Array | _FileView:
    """``arr`` as a :class:`_FileView` of the stored ``name.npy`` when it is a view of that
    memory map with positive strides; otherwise ``arr`` itself (pickled by value)."""
    entry = manifest.arrays.get(name) if manifest is not None else None
    owner = arr
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    base = owner.base.obj if isinstance(owner.base, memoryview) else owner.base
    mapped = isinstance(base, mmap.mmap)
    if entry is None or not mapped or owner.nbytes != entry.nbytes or arr.dtype != entry.dtype:
        return arr
    if any(s < 0 for s in arr.strides):
        return np.ascontiguousarray(arr)
    delta = arr.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    path = Path(manifest.path) / f"{name}.npy"
    return _FileView(str(path), entry.offset + delta, arr.shape, arr.strides, arr.dtype.str)


def _opened(value: Array | _FileView) -> Array:
    return value.open() if isinstance(value, _FileView) else value


@dataclass(frozen=True)
class PortableSplit:
    """What a Ray worker needs to open a split again: paths, offsets and small values.

    :meth:`open` gives a :class:`~imagesets.dataset.Split` equal to the one it was made
    from (same rows, same order), reading the same files.
    """

    name: str
    classes: tuple[str, ...]
    normalize: bool
    manifest: Mapping[str, Any]
    label_names: Mapping[str, tuple[str, ...]]
    blobs: Mapping[str, Path]
    arrays: Mapping[str, Array | _FileView]
    images: Array | _FileView | None
    rows: Array | None
    encoded: EncodedSource | None

    @classmethod
    def of(cls, split: Split) -> PortableSplit:
        """The portable form of ``split`` (an encoded source pickles its blob by path)."""
        manifest = _stored_manifest(split.manifest)
        arrays = {k: _portable(v, k, manifest) for k, v in split.arrays.items()}
        source = split.source
        images = rows = encoded = None
        if isinstance(source, ArraySource):
            images, rows = _portable(source._base, "images", manifest), source.rows
        else:
            assert isinstance(source, EncodedSource)
            encoded = source
        return cls(
            name=split.name,
            classes=split.classes,
            normalize=split.normalize,
            manifest=dict(split.manifest),
            label_names=dict(split.label_names),
            blobs=dict(split.blobs),
            arrays=arrays,
            images=images,
            rows=rows,
            encoded=encoded,
        )

    def open(self) -> Split:
        """The split, its files mapped again in this process."""
        from ..dataset import Split

        arrays = {k: _opened(v) for k, v in self.arrays.items()}
        source: ArraySource | EncodedSource
        if self.encoded is not None:
            source = self.encoded
        else:
            assert self.images is not None
            source = ArraySource(_opened(self.images), self.rows)
        return Split(
            self.name,
            arrays,
            self.classes,
            self.normalize,
            self.manifest,
            self.label_names,
            self.blobs,
            source=source,
        )


# --------------------------------------------------------------------------- to_ray


def _extras(split: Split) -> list[str]:
    layout = set(split.source.layout) | {"images", "labels"}
    return sorted(k for k in split.arrays if k not in layout)


def _read_rows(batch: Mapping[str, Array], *, recipe: PortableSplit, size: int | None) -> dict[
    str, Array
]:  # fmt: skip
    """One block of rows ``batch["id"]``: ``image`` uint8 (float32 in [0, 1] for a
    normalized split), ``label`` int64 and the extra per-example arrays."""
    split = recipe.open()
    ids = np.asarray(batch["id"], dtype=np.int64)
    pixels = split.pixels(size)
    if isinstance(pixels, LazyImages):  # one thread: Ray's tasks (a CPU each) are the parallelism
        images = pixels.on_threads(1).take(ids)
    elif len(ids) and ids[-1] - ids[0] == len(ids) - 1:
        images = np.array(pixels[int(ids[0]) : int(ids[-1]) + 1])
    else:
        images = np.take(pixels, ids, axis=0)
    if split.normalize:
        images = np.multiply(images, np.float32(1 / 255), dtype=np.float32)
    out: dict[str, Array] = {
        "image": images,
        "label": np.asarray(split.targets()[ids], dtype=np.int64),
    }
    out.update({k: np.asarray(split.arrays[k][ids]) for k in _extras(split)})
    return out


def to_ray(split: Split, *, size: int | None = None, block_size: int = 1024) -> Any:
    """``split`` as a ``ray.data.Dataset`` with columns ``image``, ``label`` and the extra
    per-example arrays (e.g. ``coarse_labels``), read lazily by the workers in blocks of
    ``block_size`` rows from the memory-mapped files (see the module docstring).

    ``image`` is uint8 ``(H, W[, C])`` per row (float32 in [0, 1] for a split loaded with
    ``normalize=True``), a packed split's images decoded to ``(size, size, 3)``; ``label``
    is int64 (what :meth:`Split.targets` gives). Rows keep the split's order, so
    ``iter_torch_batches(batch_size=B)`` yields the batches of
    ``split.batches(B, shuffle=False)``.

    Raises:
        MissingDependencyError: ray is not installed (the ``ray`` extra).
        ArgumentError: a packed split without ``size``, a bad ``size`` or ``block_size``.
    """
    size = check_size(size)
    split.pixels(size)  # the one size error, in the driver, before any task
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ArgumentError(f"block_size: expected an int >= 1, found {block_size!r}")
    require("ray.data", "ray", "Split.to_ray")
    import ray.data

    n = len(split)
    blocks = max(1, math.ceil(n / block_size))
    dataset: Any = ray.data.range(n, override_num_blocks=blocks)
    # Ray Data may hand blocks over out of order; this dataset's own context (a copy, so the
    # caller's global context is untouched) keeps the split's order, as documented above.
    dataset.context.execution_options.preserve_order = True
    return dataset.map_batches(
        _read_rows,
        batch_size=block_size,
        batch_format="numpy",
        fn_kwargs={"recipe": PortableSplit.of(split), "size": size},
    )


# --------------------------------------------------------------------------- exports


def _write_shard(recipe: PortableSplit, fmt: str, out: str, k: int, count: int,
                 rows: tuple[int, int]) -> str:  # fmt: skip
    from ..exports import check_format, write_shard

    return str(write_shard(recipe.open(), check_format(fmt), Path(out), k, count, rows))


def export_on_ray(
    split: Split,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    shard_size: int,
    address: str | None = None,
    window: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """:func:`imagesets.exports.export_split` with one Ray task per shard, at most ``window``
    in flight (default: twice the cluster's CPUs). ``out`` must be a folder every node sees.

    Raises:
        ClusterError: Ray cannot be reached, or a shard failed after Ray's retries.
        ArgumentError, MissingDependencyError: as :func:`~imagesets.exports.export_split`.
    """
    from ..exports import _Tick, plan_export

    form, ranges, target = plan_export(split, fmt, out, shard_size)
    ray = connect(address)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    recipe = ray.put(PortableSplit.of(split))
    task = ray.remote(max_retries=3, retry_exceptions=False)(_write_shard)
    tick = _Tick(len(split), f"export {split.name} ({form}, ray)", progress)

    def submit(item: tuple[int, tuple[int, int]]) -> Any:
        k, rows = item
        return task.remote(recipe, form, str(target), k, len(ranges), rows)

    written = []
    try:
        for (_, rows), path in zip(
            enumerate(ranges),
            run_bounded(ray, submit, enumerate(ranges), window or 2 * cpus),
            strict=False,
        ):
            written.append(Path(path))
            tick(rows[1] - rows[0])
    finally:
        tick.close()
    return list(dict.fromkeys(written))
