"""Decode the batches of a sample source in worker processes, into shared memory.

:func:`decoded_batches` is the ``executor="processes"`` path of :func:`imagesets.batching.feed`.
Each of ``workers`` processes gets the source once when it starts (a packed store memory-mapped
from a file pickles as its path, so the worker reopens it; a folder source as its file paths),
then decodes its slice of every batch straight into a ring of ``prefetch`` preallocated batch
buffers in :mod:`multiprocessing.shared_memory`. Only slot numbers and index arrays go to the
workers and only "done" (or a pickled exception) comes back: no pixel array is ever pickled.

Lifetime rule: each yielded array is a *view into a ring slot*, valid only until the generator
is resumed. The slot is handed to the workers again for batch ``b + prefetch`` as soon as the
consumer asks for the next batch, so a caller must copy (or convert) the view before that; the
batching layer does exactly that (``feed`` serves fresh arrays). A copy was chosen over handing
out views because a kept view would silently change under the caller (``list(feed(...))``),
and after the generator ends it would point at unmapped memory; it costs 6-7 ms for a
(256, 224, 224, 3) batch here, against about 150 ms of decode CPU (bench/bench_decode_workers.py,
rows "2 processes" and "2 processes view"). A converted batch (``normalize``, ``layout``) is
made straight from the slot, so the conversion is the copy.

Shutdown: the workers are terminated and every segment is unlinked when the generator ends,
is closed early (``break``), or raises (a decode error in a worker is re-raised in the parent
with its own type and message; a worker that dies raises :class:`~imagesets.errors.WorkerError`
naming it, never a hang). If the parent process itself is killed, multiprocessing's resource
tracker unlinks the segments.

Workers start with ``forkserver`` (``spawn`` where that is missing): forking a process that
runs threads (torch, the conversion pool) can deadlock. Each :func:`decoded_batches` call (one
epoch) starts its own workers, which costs a fraction of a second per epoch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import traceback
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .errors import ArgumentError, ImagesetsError, WorkerError

if TYPE_CHECKING:  # pragma: no cover
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from multiprocessing.shared_memory import SharedMemory

__all__ = ["decoded_batches", "default_start_method"]

Array = np.ndarray[Any, Any]
IndexArray = npt.NDArray[np.int64]

#: Samples a worker asks its source for at once (bounds its temporary copy to a few MB).
_CHUNK = 32
#: Modules the fork server imports once, so that its workers start in milliseconds.
_PRELOAD = [
    "__main__",
    "numpy",
    "imagesets._procpool",
    "imagesets.sources",
    "imagesets.imaging",
    "cv2",
    "simplejpeg",
]
#: Seconds a terminated worker gets to exit before it is killed.
_JOIN_SECONDS = 5.0


def default_start_method() -> str:
    """``"forkserver"`` where the platform has it, else ``"spawn"``."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def sample_shape(images: Any, first: IndexArray) -> tuple[int, ...]:
    """The shape of one sample: ``images.shape[1:]`` when the source has a shape, else that of
    a sample decoded here (``first[:1]``)."""
    shape = getattr(images, "shape", None)
    if isinstance(shape, tuple) and len(shape) in (3, 4):
        return tuple(int(s) for s in shape[1:])
    got = images.take(first[:1])
    if not isinstance(got, np.ndarray) or got.ndim not in (3, 4) or got.shape[0] != 1:
        found = getattr(got, "shape", type(got).__name__)
        raise ArgumentError(
            f"{type(images).__name__}.take: expected an array of 1 sample, found {found}"
        )
    return tuple(int(s) for s in got.shape[1:])


def decoded_batches(
    images: Any,
    batches: Iterable[IndexArray],
    workers: int,
    prefetch: int,
    *,
    method: str | None = None,
) -> Generator[tuple[IndexArray, Array], None, None]:
    """Yield ``(idx, x)`` for each index array of ``batches``: ``x`` uint8
    ``(len(idx), *sample)`` is ``images.take(idx)`` decoded by ``workers`` processes started
    with ``method`` (default :func:`default_start_method`), at most ``prefetch`` batches ahead.

    ``x`` is a view into a shared-memory slot that is reused once the generator is resumed (see
    the module docstring): copy it before asking for the next batch.
    """
    order = iter(batches)
    first = next(order, None)
    if first is None:
        return
    shape = sample_shape(images, first)
    rows = len(first)  # the first batch is the largest (only the last one is shorter)
    pool = _Pool(images, shape, rows, workers, prefetch, method or default_start_method())
    try:
        yield from pool.run(first, order)
    finally:
        pool.close()


class _Pool:
    """The worker processes, their pipes and the ring of shared batch buffers."""

    def __init__(
        self, images: Any, shape: tuple[int, ...], rows: int, workers: int, slots: int, method: str
    ) -> None:
        import multiprocessing
        from multiprocessing.shared_memory import SharedMemory

        self.shape, self.rows = shape, rows
        nbytes = max(1, rows * int(np.prod(shape)))
        _check_room(nbytes * slots, rows, slots)
        self.segments: list[SharedMemory] = []
        self.procs: list[BaseProcess] = []
        self.conns: list[Connection] = []
        try:
            for _ in range(slots):
                self.segments.append(SharedMemory(create=True, size=nbytes))
            self.slots = [self._view(s) for s in self.segments]
            ctx: Any = multiprocessing.get_context(method)
            if method == "forkserver":  # workers forked with numpy and the decoders imported
                ctx.set_forkserver_preload(_PRELOAD)
            names = [s.name for s in self.segments]
            for k in range(workers):
                here, there = ctx.Pipe()
                proc = ctx.Process(
                    target=_worker_main,
                    args=(k, there, images, names, shape, rows),
                    name=f"imagesets-decode-{k}",
                    daemon=True,
                )
                try:
                    proc.start()
                except (pickle.PicklingError, AttributeError, TypeError) as exc:
                    raise ArgumentError(
                        f"executor='processes': cannot send the source "
                        f"{type(images).__name__} to a worker process ({exc}); make it "
                        "picklable (reopenable from paths) or pass executor='threads'"
                    ) from exc
                finally:
                    there.close()
                self.procs.append(proc)
                self.conns.append(here)
        except BaseException:
            self.close()
            raise

    def _view(self, segment: SharedMemory) -> Array:
        """The slot array of ``segment`` on a mapping of its own, which lives as long as any
        view of it: closing the segment then never leaves a view pointing at unmapped memory
        (numpy keeps a reference to the mapping, not a buffer export that would stop it)."""
        import mmap

        shape = (self.rows, *self.shape)
        fd: int = getattr(segment, "_fd", -1)  # POSIX shared memory
        buffer: Any = mmap.mmap(fd, segment.size) if fd >= 0 else segment.buf
        view: Array = np.ndarray(shape, np.uint8, buffer=buffer)
        return view

    def run(
        self, first: IndexArray, order: Iterator[IndexArray]
    ) -> Iterator[tuple[IndexArray, Array]]:
        """Dispatch batches to the ring slots and yield each as its slot view, in order."""
        pending: deque[tuple[int, int, IndexArray, list[int]]] = deque()
        number = 0
        nxt: IndexArray | None = first
        while nxt is not None and len(pending) < len(self.slots):
            pending.append(self._submit(number, nxt))
            number, nxt = number + 1, next(order, None)
        while pending:
            batch, slot, idx, busy = pending.popleft()
            for k in busy:
                self._collect(k, batch)
            yield idx, self.slots[slot][: len(idx)]
            if nxt is not None:  # the consumer asked for the next batch: the slot is free
                pending.append(self._submit(number, nxt, slot))
                number, nxt = number + 1, next(order, None)

    def _submit(
        self, batch: int, idx: IndexArray, slot: int | None = None
    ) -> tuple[int, int, IndexArray, list[int]]:
        """Send each worker its slice of ``idx`` for ring slot ``slot`` (default: ``batch``'s)."""
        if len(idx) > self.rows:
            raise ArgumentError(f"batch {batch}: {len(idx)} samples exceed the {self.rows} slots")
        slot = batch % len(self.slots) if slot is None else slot
        workers = len(self.procs)
        busy = []
        for k in range(workers):
            lo, hi = len(idx) * k // workers, len(idx) * (k + 1) // workers
            if hi > lo:
                self._send(k, (slot, lo, np.ascontiguousarray(idx[lo:hi], np.int64)))
                busy.append(k)
        return batch, slot, idx, busy

    def _send(self, k: int, message: object) -> None:
        try:
            self.conns[k].send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            raise self._dead(k, "before it was sent its work") from None

    def _collect(self, k: int, batch: int) -> None:
        """Wait for worker ``k``'s answer about ``batch``; re-raise its error, or raise
        :class:`WorkerError` if it died."""
        from multiprocessing.connection import wait

        conn, proc = self.conns[k], self.procs[k]
        ready = wait([conn, proc.sentinel])
        if conn not in ready:
            raise self._dead(k, f"while decoding batch {batch}")
        try:
            answer = conn.recv()
        except (EOFError, OSError):
            raise self._dead(k, f"while decoding batch {batch}") from None
        if answer is not None:
            raise _rebuilt(answer, k, proc.pid)

    def _dead(self, k: int, when: str) -> WorkerError:
        proc = self.procs[k]
        proc.join(1.0)
        code = proc.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            how = f"signal {signal.Signals(-code).name}"
        return WorkerError(
            f"decode worker {k} (process {proc.pid}) died {when} ({how}), so the epoch "
            "cannot continue: a SIGKILL is usually the out-of-memory killer; retry with a "
            "smaller batch_size or prefetch, or with executor='threads'"
        )

    def close(self) -> None:
        """Stop the workers and unlink every shared segment (safe to call twice)."""
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(_JOIN_SECONDS)
            if proc.is_alive():  # pragma: no cover  (ignored SIGTERM)
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.procs, self.conns, self.slots = [], [], []
        for segment in self.segments:
            with contextlib.suppress(BufferError):  # a caller still holds a view: unmapped later
                segment.close()
            with contextlib.suppress(FileNotFoundError):
                segment.unlink()
        self.segments = []


def _check_room(total: int, rows: int, slots: int) -> None:
    """An error before anything is allocated when /dev/shm cannot hold the ring."""
    if not hasattr(os, "statvfs") or not Path("/dev/shm").is_dir():
        return
    stat = os.statvfs("/dev/shm")
    free = stat.f_bavail * stat.f_frsize
    if total > free:
        raise ImagesetsError(
            f"executor='processes': {slots} batch buffers of {rows} samples need "
            f"{total / 2**20:.0f} MiB of shared memory but /dev/shm has {free / 2**20:.0f} MiB "
            "free: lower prefetch or batch_size, enlarge /dev/shm (docker run --shm-size=2g), "
            "or pass executor='threads'"
        )


# --- in the worker process ------------------------------------------------------------------


def _inline(fn: Any, items: Any, workers: int, window: int | None) -> Iterator[Any]:
    """A map engine that runs in the calling thread: one worker process decodes on one core."""
    return map(fn, items)


def _untracked(name: object, rtype: str) -> None:
    """Attach without registering: a second registration in the shared resource tracker would
    be removed by the parent's unlink and then reported there as a leak."""


def _worker_main(
    k: int, conn: Connection, images: Any, names: list[str], shape: tuple[int, ...], rows: int
) -> None:
    """Decode slices into the ring slots until the pipe closes (run in worker ``k``)."""
    from multiprocessing import resource_tracker
    from multiprocessing.shared_memory import SharedMemory

    from ._parallel import map_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    map_engine.set(_inline)
    register = resource_tracker.register
    resource_tracker.register = _untracked  # the parent owns, tracks and unlinks them
    try:
        segments = [SharedMemory(name=name) for name in names]
    finally:
        resource_tracker.register = register
    slots = [np.ndarray((rows, *shape), np.uint8, buffer=s.buf) for s in segments]
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            slot, lo, idx = message
            try:
                _fill(slots[slot][lo : lo + len(idx)], images, idx)
                answer: object = None
            except Exception as exc:  # sent to the parent, which re-raises it
                answer = _portable(exc)
            conn.send(answer)
    finally:
        del slots
        for segment in segments:
            segment.close()


def _fill(out: Array, images: Any, idx: IndexArray) -> None:
    """``out[:] = images.take(idx)``, asked for in chunks of :data:`_CHUNK` samples."""
    for start in range(0, len(idx), _CHUNK):
        part = idx[start : start + _CHUNK]
        got = images.take(part)
        want = (len(part), *out.shape[1:])
        if not isinstance(got, np.ndarray) or got.shape != want or got.dtype != np.uint8:
            found = getattr(got, "shape", type(got).__name__)
            dtype = getattr(got, "dtype", "")
            raise ArgumentError(
                f"{type(images).__name__}.take: expected a uint8 array of shape {want} (every "
                f"sample the shape of the first), found {dtype} {found}"
            )
        out[start : start + len(part)] = got


def _portable(exc: Exception) -> tuple[bytes | None, str, str]:
    """``exc`` as (pickled type, args and attributes, or None; ``repr``; traceback text), so
    that the parent can raise the same type with the same message without calling its
    ``__init__`` (which may take other arguments than ``args``)."""
    text = "".join(traceback.format_exception(exc))
    try:
        state = pickle.dumps((type(exc), exc.args, vars(exc)))
    except Exception:
        state = None
    return state, f"{type(exc).__name__}: {exc}", text


def _rebuilt(answer: Any, k: int, pid: int | None) -> BaseException:
    """The exception a worker sent (see :func:`_portable`), noted with where it came from."""
    state, summary, text = answer
    exc: BaseException
    # ``state`` was pickled by our own worker process (started by this process) and came over
    # the same pipe whose ``recv`` already unpickles every message; it is never downloaded
    # data, so the restricted unpickler of downloaded pickles (``_pickle``) does not apply
    # (and would refuse the exception classes this must rebuild).
    try:
        cls, args, attrs = pickle.loads(state) if state is not None else (None, (), {})
    except Exception:
        cls = None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        exc = cls.__new__(cls)
        exc.args = args
        exc.__dict__.update(attrs)
    else:
        exc = WorkerError(f"decode worker {k} (process {pid}) failed: {summary}")
    add_note = getattr(exc, "add_note", None)  # Python >= 3.11
    if add_note is not None:
        add_note(f"raised in imagesets decode worker {k} (process {pid}):\n{text}")
    return exc
