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


def test_a_packed_split_keeps_the_feeds_workers_and_chosen_rows_get_one(
    source: DecodedImages,
) -> None:
    """Split feeds leave a packed split to the feed's default (a decoding thread or process
    per core), but gather chosen rows of an array on one feed thread."""
    from imagesets.lazy_images import GatheredRows
    from imagesets.split_feeds import SplitFeeds

    class Split:
        def __init__(self, pixels: Any) -> None:
            self.got = pixels

        def pixels(self, size: int | None = None) -> Any:
            return self.got

    rows = GatheredRows(np.zeros((4, 2, 2), np.uint8), np.arange(4, dtype=np.int64))
    for executor in (None, "processes"):
        packed: dict[str, Any] = {"executor": executor}
        SplitFeeds._feed(Split(source), SIZE, packed)  # type: ignore[arg-type]
        assert "workers" not in packed
    gathered: dict[str, Any] = {}
    SplitFeeds._feed(Split(rows), None, gathered)  # type: ignore[arg-type]
    assert gathered["workers"] == 1
    mine: dict[str, Any] = {"workers": 3}
    SplitFeeds._feed(Split(rows), None, mine)  # type: ignore[arg-type]
    assert mine["workers"] == 3


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sources_own_threads_give_way_to_the_feeds(
    tmp_path: Path, sized_takes: list[tuple[int, str]], workers: int
) -> None:
    """A source that decodes each ``take`` on its own threads (a packed split: all cores)
    decodes on one thread inside a feed, so ``workers`` threads are all there are; the
    batches are the same bytes, and the source itself keeps its threads."""
    own = _packed(tmp_path / "data.bin").source.on_threads(3).pixels(SIZE, "test")
    got = _epoch(own, workers=workers)
    assert {w for w, _ in sized_takes} == {1}
    assert all(name.startswith("imagesets") for _, name in sized_takes)
    sized_takes.clear()
    own.take(np.arange(4))
    assert sized_takes == [(3, "MainThread")]
    _same(got, _epoch(_packed(tmp_path / "other.bin"), workers=workers))


def test_worker_processes_get_a_one_thread_source(
    source: DecodedImages, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each decode process decodes on one thread, not on a pool of its own per process."""
    sent: list[Any] = []

    def record(images: Any, batches: Any, workers: int, prefetch: int) -> Iterator[Any]:
        sent.append(images)
        yield from ()

    monkeypatch.setattr(_procpool, "decoded_batches", record)
    _epoch(source.on_threads(3), workers=2, executor="processes")
    assert [s.source._workers for s in sent] == [1]


def test_on_threads_shares_the_blob_and_checks_its_count(source: DecodedImages) -> None:
    more = source.on_threads(4)
    assert more.source._workers == 4 and source.source._workers == 1
    assert more.source._data is source.source._data
    assert np.array_equal(more.take(np.arange(N)), source.take(np.arange(N)))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ArgumentError, match="workers: expected an int >= 1"):
            source.source.on_threads(bad)  # type: ignore[arg-type]
    rows = np.arange(4, dtype=np.int64)
    from imagesets.lazy_images import GatheredRows

    gathered = GatheredRows(np.zeros((4, 2, 2), np.uint8), rows)
    assert gathered.on_threads(2) is gathered


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
