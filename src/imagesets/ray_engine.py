"""The Ray engine of ``prepare``: the per-record work of a build as Ray tasks.

``prepare(NAME, engine="ray")`` builds each split exactly as the local engine does (same
reader, same image sink, same :class:`~imagesets.store_write.SplitBuilder`, under the same
variant lock, made visible by the same rename), except that every bounded map of the build
(:func:`imagesets._parallel.imap_bounded`: the decode / resize / re-encode / check of each
record) runs on Ray instead of this process's threads. Records go out in chunks of
:data:`CHUNK` (a folder tree's records are file paths, read by the task itself from the
shared filesystem; an archive's records carry their bytes), at most ``window`` chunks in
flight (backpressure: no task holds more than its chunk, the driver at most ``window``
results), and results come back in order, so the arrays and the manifest are byte-identical
to the local engine's (the manifest holds no timing field).

What the locks assume on a cluster: only the driver takes the variant lock and writes the
split; workers only read sources and return results. The lock is a ``filelock`` file lock in
the cache root, which is safe on a local disk and on shared filesystems whose ``flock`` is
coherent across nodes (NFSv4 with locking, Lustre, GPFS, CephFS); on NFSv3 without
``lockd`` two drivers on two nodes could both build: run one preparing driver per variant
there. The temporary build folder is named with a random uuid (unique per node and
process), and becomes visible by one ``rename`` within one folder, which is atomic on NFS
and the cluster filesystems above.

A chunk whose worker dies is retried by Ray (``max_retries``); a chunk that still fails, or
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
    """Within this context, the bounded maps of a build run as Ray tasks (see the module
    docstring); ``window`` chunks in flight at most (default: twice the cluster's CPUs).

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
