"""Bounded parallel maps on threads (no Pillow, no numpy: the serving layer imports it freely)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

__all__ = ["default_workers", "imap_bounded", "map_engine", "unit_engine"]

T = TypeVar("T")
R = TypeVar("R")

#: Another executor for :func:`imap_bounded` in this context (the Ray engine of a prepare:
#: :mod:`imagesets.ray_engine`); None runs on this process's threads.
Engine = Callable[[Callable[[Any], Any], Iterable[Any], int, "int | None"], Iterator[Any]]
map_engine: ContextVar[Engine | None] = ContextVar("imagesets_map_engine", default=None)

#: An executor of whole *units* of a source in this context (the Ray engine): called with a
#: picklable ``task(unit) -> list`` and the units (small descriptors: an archive member's name and
#: offset, a range of member names), it yields each unit's list, in order, with bounded work in
#: flight. Sources that can be cut into units use it instead of :data:`map_engine`, so the
#: tasks read their own bytes; None (the local engine) keeps the sources' streamed reads.
UnitEngine = Callable[[Callable[[Any], list[Any]], Iterable[Any]], Iterator[list[Any]]]
unit_engine: ContextVar[UnitEngine | None] = ContextVar("imagesets_unit_engine", default=None)


def default_workers() -> int:
    """The number of cores this process may run on."""
    affinity: Callable[[int], set[int]] | None = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def imap_bounded(
    fn: Callable[[T], R], items: Iterable[T], workers: int, window: int | None = None
) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, in order, with at most ``window`` in flight.

    Memory stays bounded by ``window`` results whatever the number of items; Pillow and
    simplejpeg release the GIL while decoding, so threads use all cores. ``workers <= 1``
    runs inline. Inside a :data:`map_engine` context the map runs on that engine instead
    (same order, same results).
    """
    engine = map_engine.get()
    if engine is not None:
        yield from engine(fn, items, workers, window)
        return
    if workers <= 1:
        yield from map(fn, items)
        return
    from concurrent.futures import ThreadPoolExecutor  # imports logging: only when used

    limit = window if window is not None else 4 * workers
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(workers) as pool:
        try:
            for item in items:
                if len(pending) >= limit:
                    yield pending.popleft().result()
                pending.append(pool.submit(fn, item))
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
