"""Tests of the process decode pool (``executor="processes"``, imagesets._procpool): the same
batches as the thread path, shared memory that never leaks, and errors that never hang."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pytest

from imagesets import _procpool
from imagesets.augment import RandomCrop
from imagesets.batching import BatchOptions, BatchPlan, batches
from imagesets.errors import ArgumentError, WorkerError
from imagesets.imaging import UndecodableImageError, encode
from imagesets.lazy_images import DecodedImages
from imagesets.packed import PackedWriter
from imagesets.sources import PackedSource

Array = np.ndarray[Any, Any]
N, SIZE, BATCH = 40, 12, 8
METHODS = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


def _packed(path: Path, bad: int | None = None) -> DecodedImages:
    """``N`` small JPEGs of varied sizes in a packed file (image ``bad`` is not a JPEG),
    served at ``SIZE`` by a one-thread source."""
    rng = np.random.default_rng(7)
    with path.open("wb") as fh:
        writer = PackedWriter(fh)
        for i in range(N):
            h, w = (int(v) for v in rng.integers(14, 30, 2))
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            writer.append(b"not a jpeg at all" if i == bad else encode(img))
    return PackedSource(path, writer.offsets(), workers=1).pixels(SIZE, "test")


@pytest.fixture
def source(tmp_path: Path) -> DecodedImages:
    return _packed(tmp_path / "data.bin")


@pytest.fixture
def segments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the shared-memory segments the pool creates in this test."""
    from multiprocessing import shared_memory

    made: list[str] = []

    class Recorded(shared_memory.SharedMemory):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if kwargs.get("create"):
                made.append(self.name.lstrip("/"))

    monkeypatch.setattr(shared_memory, "SharedMemory", Recorded)
    return made


def _assert_released(made: list[str]) -> None:
    """Every segment made was unlinked and no decode worker is left running."""
    assert made, "the pool made no shared-memory segment"
    assert not [name for name in made if Path("/dev/shm", name).exists()]
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("imagesets")]


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after 60 s."""

    def fail(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the process pool hung")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _epoch(images: Any, **options: Any) -> list[tuple[Array, Array]]:
    labels = np.arange(N) % 5
    return list(batches(images, labels, BATCH, seed=3, **options))


def _same(a: list[tuple[Array, Array]], b: list[tuple[Array, Array]]) -> None:
    assert len(a) == len(b) > 0
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert xa.dtype == xb.dtype and xa.shape == xb.shape
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


@pytest.mark.parametrize("method", METHODS)
def test_each_start_method_decodes_the_thread_paths_batches(
    source: DecodedImages, segments: list[str], method: str, deadline: None
) -> None:
    plan = BatchPlan.create(N, BatchOptions(BATCH, seed=3, drop_last=False))
    expected = [images for images, _ in _epoch(source, workers=1, executor="threads")]
    got = [
        (idx.copy(), view.copy())
        for idx, view in _procpool.decoded_batches(
            source, plan.batch_indices(), 3, 2, method=method
        )
    ]
    assert [len(i) for i, _ in got] == [8] * 5
    assert all(np.array_equal(e, v) for e, (_, v) in zip(expected, got, strict=True))
    _assert_released(segments)


@pytest.mark.parametrize(
    "options",
    [{}, {"normalize": True, "layout": "NCHW"}, {"transform": RandomCrop(8, padding=2)}],
    ids=["uint8", "float-nchw", "transform"],
)
def test_feed_with_processes_is_bit_identical_to_threads(
    source: DecodedImages, segments: list[str], options: dict[str, Any], deadline: None
) -> None:
    threads = _epoch(source, workers=2, executor="threads", **options)
    procs = _epoch(source, workers=2, executor="processes", prefetch=2, **options)
    _same(threads, procs)
    _assert_released(segments)


def test_batches_stay_valid_after_the_next_ones_are_served(
    source: DecodedImages, deadline: None
) -> None:
    """One slot, reused for every batch: the served arrays are copies, never views of it."""
    kept = _epoch(source, workers=2, executor="processes", prefetch=1)
    _same(_epoch(source, workers=1, executor="threads"), kept)


def test_early_break_releases_everything(
    source: DecodedImages, segments: list[str], deadline: None
) -> None:
    feed = batches(source, np.zeros(N, np.int64), BATCH, workers=2, executor="processes")
    for _ in feed:
        break
    del feed
    _assert_released(segments)


def test_a_decode_error_in_a_worker_is_the_thread_paths_error(
    tmp_path: Path, segments: list[str], deadline: None
) -> None:
    bad = _packed(tmp_path / "bad.bin", bad=13)
    with pytest.raises(UndecodableImageError) as threads:
        _epoch(bad, workers=2, executor="threads")
    with pytest.raises(UndecodableImageError) as procs:
        _epoch(bad, workers=2, executor="processes")
    assert str(procs.value) == str(threads.value)
    assert "packed image 13" in str(procs.value)
    assert procs.value.source == threads.value.source
    assert any("decode worker" in note for note in getattr(procs.value, "__notes__", []))
    _assert_released(segments)


def test_a_killed_worker_raises_a_worker_error_naming_it(
    source: DecodedImages, segments: list[str], deadline: None
) -> None:
    feed = batches(source, np.zeros(N, np.int64), 4, workers=2, executor="processes", prefetch=1)
    next(feed)
    (victim,) = [p for p in multiprocessing.active_children() if p.name == "imagesets-decode-1"]
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    with pytest.raises(WorkerError, match=r"decode worker 1 \(process \d+\) died .*SIGKILL"):
        for _ in feed:
            pass
    del feed
    _assert_released(segments)


def test_an_unpicklable_source_is_an_argument_error(deadline: None) -> None:
    class Local:  # a class inside a function cannot be pickled for spawned workers
        shape = (N, 2, 2)

        def __len__(self) -> int:
            return N

        def take(self, indices: Array) -> Array:
            return np.zeros((len(indices), 2, 2), np.uint8)

    plan = BatchPlan.create(N, BatchOptions(BATCH, seed=0))
    with pytest.raises(ArgumentError, match="executor='threads'"):
        list(_procpool.decoded_batches(Local(), plan.batch_indices(), 2, 2, method="spawn"))


def test_arrays_are_gathered_in_this_process_whatever_the_executor() -> None:
    images = np.arange(N * 4, dtype=np.uint8).reshape(N, 2, 2)
    _same(_epoch(images, executor="processes"), _epoch(images))


@pytest.mark.parametrize("bad", ["gpu", 1, "Threads"])
def test_executor_is_checked(bad: object) -> None:
    with pytest.raises(ArgumentError, match="executor: expected None or one of"):
        BatchOptions(8, executor=bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="executor"):
        batches(np.zeros((4, 2, 2), np.uint8), np.zeros(4, np.int64), 2, executor=bad)


def test_executor_options_are_accepted() -> None:
    assert BatchOptions(8, executor="processes").executor == "processes"
    assert BatchOptions(8).executor is None


def test_a_packed_split_with_processes_keeps_a_process_per_core(source: DecodedImages) -> None:
    """Split feeds decode a packed split on one feed thread (the source's own threads do the
    work), but ``executor="processes"`` must not be cut to one process."""
    from imagesets.split_feeds import SplitFeeds

    class Packed:
        def pixels(self, size: int | None = None) -> DecodedImages:
            return source

    procs: dict[str, Any] = {"executor": "processes"}
    threads: dict[str, Any] = {}
    SplitFeeds._feed(Packed(), SIZE, procs)  # type: ignore[arg-type]
    SplitFeeds._feed(Packed(), SIZE, threads)  # type: ignore[arg-type]
    assert "workers" not in procs and threads["workers"] == 1


def test_chosen_rows_of_an_array_are_gathered_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from imagesets.lazy_images import GatheredRows

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a process pool was started for decoded rows")

    monkeypatch.setattr(_procpool, "decoded_batches", refuse)
    base = np.arange(N * 4, dtype=np.uint8).reshape(N, 2, 2)
    rows = GatheredRows(base, np.arange(N, dtype=np.int64)[::-1].copy())
    _same(_epoch(rows, executor="processes", workers=2), _epoch(base[::-1].copy()))


def test_a_slot_view_kept_past_the_end_is_still_mapped(
    source: DecodedImages, segments: list[str], deadline: None
) -> None:
    """Against the lifetime rule, but never a crash: the view keeps its mapping alive (its
    values are whatever the slot held last; the name is unlinked all the same)."""
    plan = BatchPlan.create(N, BatchOptions(BATCH, seed=0))
    views = [v for _, v in _procpool.decoded_batches(source, plan.batch_indices(), 2, 1)]
    assert len(views) == 5 and all(v.shape == (BATCH, SIZE, SIZE, 3) for v in views)
    last = list(batches(source, np.zeros(N, np.int64), BATCH, seed=0, workers=1))[-1][0]
    assert np.array_equal(views[0], last)  # one slot: every view shows the last batch
    _assert_released(segments)


def test_the_default_executor_is_threads(
    source: DecodedImages, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured: threads decode JPEGs faster than processes here (bench_decode_workers.py)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a process pool was started by default")

    monkeypatch.setattr(_procpool, "decoded_batches", refuse)
    _same(_epoch(source, workers=2), _epoch(source, workers=1, executor="threads"))
