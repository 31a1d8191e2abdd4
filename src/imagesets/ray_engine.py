"""The Ray engine of ``prepare``: read -> decode/resize -> pack as Ray tasks over natural units.

``prepare(NAME, engine="ray")`` builds each split exactly as the local engine does (same
reader, same image sink, same :class:`~imagesets.store_write.SplitBuilder`, under the same
variant lock, made visible by the same rename), except where the work runs:

* **Archive sources cut into units** (:attr:`~imagesets.formats.image_sink.ImageSource.units`,
  installed here as :data:`imagesets._parallel.unit_engine`): ImageNet train, one task per
  class tar (``n01440764.tar``: its name, wnid, byte offset and size in the outer tar); ImageNet
  val, ranges of :data:`~imagesets.formats.imagenet.VAL_UNIT` members (name, label, offset,
  size); Cats & Dogs, ranges of zip member names, for the audit and for the split's rows. The
  driver lists the units cheaply (tar headers by seeking, the zip's central directory: no
  image byte is read in the driver), and each task opens the archive **by its path**, reads
  its unit, decodes / resizes / packs its records (or audits them) and returns the results,
  without the encoded bytes when they are not what is stored.
* **Other bounded maps** (:func:`imagesets._parallel.imap_bounded`, installed as
  :data:`~imagesets._parallel.map_engine`): records go out in chunks of :data:`CHUNK`; a folder
  tree's records are file paths, read by the task itself; a reader without units (another
  archive format) still sends its records' bytes.

Backpressure: at most ``window`` tasks in flight (default twice the cluster's CPUs); no task
holds more than its unit or chunk, the driver at most ``window`` results. Results come back
and are written in order, so the arrays, the manifest and the skipped files with their
reasons are byte-identical to the local engine's (the manifest holds no timing field). A unit's
result is its rows: an ImageNet class tar (about 1,300 images) is about 200 MB at ``size=224``,
so the driver's object store holds at most ``window`` times that.

**The shared-filesystem assumption.** Tasks receive paths, not bytes: the cache root (where
downloaded and imported archives live) and any folder source must be visible on every node at
the same path (NFS, Lustre, GPFS, CephFS, or the local disk on one machine), and must not change
during the build (a unit that no longer matches its offsets or names is a
:class:`~imagesets.errors.FormatError`, never wrong rows). Only the driver writes.

What the locks assume on a cluster: only the driver takes the variant lock and writes the
split; workers only read sources and return results. The lock is a ``filelock`` file lock in
the cache root, which is safe on a local disk and on shared filesystems whose ``flock`` is
coherent across nodes (NFSv4 with locking, Lustre, GPFS, CephFS); on NFSv3 without
``lockd`` two drivers on two nodes could both build: run one preparing driver per variant
there. The temporary build folder is named with a random uuid (unique per node and
process), and becomes visible by one ``rename`` within one folder, which is atomic on NFS
and the cluster filesystems above.

A task whose worker dies is retried by Ray (``max_retries``); a task that still fails, or
a cluster that cannot be reached, is a :class:`~imagesets.adapters.ray.ClusterError`, and the
half-built temporary folder is removed: no half-visible split.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ._parallel import map_engine, unit_engine

__all__ = ["CHUNK", "ray_engine"]

#: Records per Ray task.
CHUNK = 64


def _run_chunk(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """One task: ``fn`` over a chunk of records, in order."""
    return [fn(item) for item in items]


def _run_unit(fn: Callable[[Any], list[Any]], unit: Any) -> list[Any]:
    """One task: ``fn`` over one unit of a source (it reads the unit's bytes itself)."""
    return fn(unit)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


@contextmanager
def ray_engine(address: str | None = None, *, window: int | None = None,
               chunk: int = CHUNK, max_retries: int = 3) -> Iterator[None]:  # fmt: skip
    """Within this context, the units and bounded maps of a build run as Ray tasks (see the
    module docstring); ``window`` tasks in flight at most (default: twice the cluster's CPUs).

    Raises:
        MissingDependencyError: ray is not installed (the ``ray`` extra).
        ClusterError: the cluster cannot be reached, or a chunk failed after its retries.
    """
    from .adapters.ray import connect, run_bounded

    ray = connect(address)
    limit = window or 2 * int(ray.cluster_resources().get("CPU", 1))
    task = ray.remote(max_retries=max_retries)(_run_chunk)
    unit_task = ray.remote(max_retries=max_retries)(_run_unit)

    def imap(fn: Callable[[Any], Any], items: Iterable[Any], workers: int,
             _window: int | None) -> Iterator[Any]:  # fmt: skip
        fn_ref = ray.put(fn)
        submit = lambda part: task.remote(fn_ref, part)  # noqa: E731
        for results in run_bounded(ray, submit, _chunks(items, chunk), limit):
            yield from results

    def imap_units(fn: Callable[[Any], list[Any]], units: Iterable[Any]) -> Iterator[list[Any]]:
        fn_ref = ray.put(fn)
        yield from run_bounded(ray, lambda unit: unit_task.remote(fn_ref, unit), units, limit)

    token, units_token = map_engine.set(imap), unit_engine.set(imap_units)
    try:
        yield
    finally:
        unit_engine.reset(units_token)
        map_engine.reset(token)
