"""Parallel JPEG decode for training batches: threads against worker processes (issue 15, item 5).

Batches of 256 samples, decoded and resized (shorter side 224, centre crop) on the fly, from

  (a) a folder tree of JPEGs (300-500 px a side), each file read and decoded when asked for,
      straight into its row of the batch (``imaging.decode_into``);
  (b) the packed store: the same images re-encoded at max side 256 in one memory-mapped blob.

Rows (images per wall second over whole epochs, median and min over --repeat interleaved runs;
the ratios are against the baseline named "1 thread"; CPU ms per image counts this process and
its worker processes, so it shows the overhead of each way even on a busy machine):

  1 thread          feed(workers=1): decoding in one thread
  2 threads         feed(workers=2, executor="threads")
  2 processes       feed(workers=2, executor="processes"): shared-memory batches, each copied
                    out of its ring slot (the served rule)
  2 processes view  the same pool without the copy-out (what the copy costs)
  split default     (b) only: what ``split.batches(size=224)`` does: the feed's defaults over
                    a source with 2 decode threads of its own (a packed split's); the feed
                    decodes each batch on one of its threads (until 2026-12-01 the split used
                    one feed thread and the source's 2 threads per batch: 1.66x)

Each epoch starts its own workers (forkserver), so process start-up is included. The test data
is built in a temporary folder and removed at the end.

    python bench/bench_decode_workers.py --count 6144 --batch 64 --repeat 7   # steady state, ~8 min
    python bench/bench_decode_workers.py --count 2048 --repeat 5             # quicker, noisier

Measured 2026-11-30 (--count 2048 --repeat 7, 2 cores shared with other jobs; "1 thread" ->
"2 threads", median img/s): with OpenCV's default pool (one thread per core) the one-thread row
already used ~1.2 cores, so 2 threads gave 1.60-1.70x; with --cv-threads 1, 1.77-1.93x. The
feed has run OpenCV single-threaded during decode epochs since (imaging_into.one_opencv_thread).

Measured 2026-12-01, steady state (--count 6144 --batch 64 --repeat 7, load average < 1 before
each run), three runs: folder 835 -> 1593 (1.91x), 819 -> 1601 (1.95x); packed 1899 -> 3585
(1.89x), 1891 -> 3392 (1.79x, its min rows show a disturbed round), 1778 -> 3356 (1.89x);
2 processes 1.78-1.81x (folder), 1.55-1.66x (packed); split default 1.80x and 1.89x (was 1.66x
with one feed thread over the source's own 2 threads). CPU ms per image rises 2-9 % from 1 to 2
threads (the GIL-held Python glue is 2-4 % of an image), which is what bounds 2 threads below 2x.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagesets import _procpool
from imagesets.batching import BatchOptions, BatchPlan, batches
from imagesets.imaging import reencode
from imagesets.imaging_into import decode_into
from imagesets.packed import PackedWriter
from imagesets.sources import PackedSource
from imagesets.testing.images import photo

SIZE = 224
BATCH = 256
BASELINE = "1 thread"


class FolderJPEGs:
    """A sample source over JPEG files: ``take`` reads and decodes each file in the calling
    thread (pickles as its paths, so worker processes reopen the files themselves)."""

    def __init__(self, paths: list[str], size: int) -> None:
        self.paths, self.size = paths, size
        self.shape = (len(paths), size, size, 3)

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty((len(indices), self.size, self.size, 3), np.uint8)
        for row, i in enumerate(indices.tolist()):
            path = self.paths[i]
            decode_into(out[row], Path(path).read_bytes(), source=path)
        return out


def make_tree(root: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` photographic JPEGs (quality 90, 300-500 px a side) in 10 class folders."""
    rng = np.random.default_rng(seed)
    bases = [photo(500, 500, s) for s in range(16)]
    paths = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(300, 501, 2))
        base = bases[i % len(bases)]
        y, x = int(rng.integers(0, 501 - h)), int(rng.integers(0, 501 - w))
        img = base[y : y + h, x : x + w]
        if rng.random() < 0.5:
            img = img[:, ::-1]
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:05d}.jpg"
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img)).save(buf, format="JPEG", quality=90)
        path.write_bytes(buf.getvalue())
        paths.append(str(path))
    return paths


def make_packed(root: Path, paths: list[str], max_side: int, workers: int = 1) -> PackedSource:
    """The images re-encoded at ``max_side`` in one blob; ``take`` decodes on ``workers``
    threads (default 1: the feed's workers are the only parallelism)."""
    blob = root / "data.bin"
    if not blob.exists():
        with blob.open("wb") as fh:
            writer = PackedWriter(fh)
            for path in paths:
                writer.append(reencode(Path(path).read_bytes(), max_side, source=path))
        np.save(root / "offsets.npy", writer.offsets())
    return PackedSource(blob, np.load(root / "offsets.npy"), workers=workers)


def epoch(images: Any, labels: np.ndarray, **options: Any) -> int:
    """Images served by one epoch of ``feed`` with ``options``."""
    return sum(len(y) for _, y in batches(images, labels, BATCH, seed=0, **options))


def epoch_views(images: Any, labels: np.ndarray, workers: int) -> int:
    """One epoch of the process pool's slot views, never copied."""
    plan = BatchPlan.create(len(labels), BatchOptions(BATCH, seed=0))
    got = _procpool.decoded_batches(images, plan.batch_indices(), workers, 2 * workers)
    return sum(len(idx) for idx, _ in got)


def runs(images: Any, labels: np.ndarray, threaded: Any = None) -> dict[str, Callable[[], int]]:
    """The jobs; ``threaded``: the same source decoding each ``take`` on 2 threads."""
    jobs = {
        BASELINE: lambda: epoch(images, labels, workers=1, executor="threads"),
        "2 threads": lambda: epoch(images, labels, workers=2, executor="threads"),
        "2 processes": lambda: epoch(images, labels, workers=2, executor="processes"),
        "2 processes view": lambda: epoch_views(images, labels, 2),
    }
    if threaded is not None:
        jobs["split default"] = lambda: epoch(threaded, labels)
    return jobs


def cpu_seconds() -> float:
    """CPU seconds of this process and of its reaped children (the decode workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


Rates = dict[str, tuple[list[float], list[float]]]


def measure(jobs: dict[str, Callable[[], int]], repeat: int) -> Rates:
    """Images per wall second and CPU milliseconds per image of each job, ``repeat`` rounds,
    the jobs interleaved within each round."""
    rates: Rates = {name: ([], []) for name in jobs}
    for job in jobs.values():  # warm-up: imports, the fork server, the page cache
        job()
    for _ in range(repeat):
        for name, job in jobs.items():
            start, cpu = time.perf_counter(), cpu_seconds()
            served = job()
            rates[name][0].append(served / (time.perf_counter() - start))
            rates[name][1].append((cpu_seconds() - cpu) * 1e3 / served)
    return rates


def report(title: str, rates: Rates) -> None:
    base = statistics.median(rates[BASELINE][0])
    print(f"\n{title}")
    head = f"{'median img/s':>13} {'min img/s':>10} {'x ' + BASELINE:>12} {'CPU ms/img':>11}"
    print(f"  {'':18} {head}")
    for name, (values, cpu) in rates.items():
        med = statistics.median(values)
        counted = "processes" not in name or _procpool.default_start_method() == "fork"
        ms = f"{statistics.median(cpu):11.2f}" if counted else f"{'n/a':>11}"
        line = f"{med:13.0f} {min(values):10.0f} {med / base:12.2f} {ms}"
        print(f"  {name:18} {line}")


def copy_cost(repeat: int) -> None:
    """Milliseconds to copy one (256, 224, 224, 3) uint8 batch (the copy out of a slot)."""
    src = np.random.default_rng(0).integers(0, 255, (BATCH, SIZE, SIZE, 3), dtype=np.uint8)
    times = []
    for _ in range(max(repeat, 5)):
        start = time.perf_counter()
        src.copy()
        times.append(time.perf_counter() - start)
    print(
        f"\ncopy of one {src.shape} batch ({src.nbytes / 2**20:.0f} MiB): "
        f"median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms"
    )


def start_cost(images: Any, repeat: int) -> None:
    """Seconds to start and stop the pool of one epoch (2 workers, one batch of one sample):
    the fixed cost per epoch of the process rows above."""
    times = []
    for _ in range(max(repeat, 5)):
        start = time.perf_counter()
        for _ in _procpool.decoded_batches(images, [np.zeros(1, np.int64)], 2, 4):
            pass
        times.append(time.perf_counter() - start)
    print(
        f"pool start + stop per epoch (2 workers, {_procpool.default_start_method()}): "
        f"median {statistics.median(times) * 1e3:.0f} ms, min {min(times) * 1e3:.0f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2048, help="images (default 2048)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--max-side", type=int, default=256, help="packed store side (256)")
    parser.add_argument("--only", choices=["folder", "packed"], help="one source only")
    parser.add_argument(
        "--start-method",
        choices=["forkserver", "spawn", "fork"],
        help="the workers' start method (default: the library's); the CPU time of worker "
        "processes is counted with fork only (others are reaped by the fork server)",
    )
    parser.add_argument(
        "--cv-threads",
        type=int,
        help="cv2.setNumThreads(N) first (default: OpenCV's own, one per core): with 1, OpenCV "
        "no longer spreads each resize over its own pool, so '1 thread' uses one core "
        "(process workers keep the default)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help=f"batch size (default {BATCH}); an epoch of few batches ends with one thread "
        "decoding the last batch alone, which lowers the 2-thread ratio of a short epoch",
    )
    args = parser.parse_args(argv)
    BATCH = args.batch
    if args.cv_threads is not None:
        import cv2

        cv2.setNumThreads(args.cv_threads)
    if args.start_method:
        method = args.start_method
        _procpool.default_start_method = lambda: method  # type: ignore[assignment]
    method = _procpool.default_start_method()
    cv = f", cv2 threads: {args.cv_threads}" if args.cv_threads is not None else ""
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}, start method: {method}{cv}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-decode-workers-"))
    try:
        paths = make_tree(tmp / "tree", args.count)
        labels = np.arange(args.count) % 10
        if args.only != "packed":
            folder = FolderJPEGs(paths, SIZE)
            report(
                f"(a) folder tree, {args.count} JPEGs 300-500 px -> {SIZE}",
                measure(runs(folder, labels), args.repeat),
            )
        if args.only != "folder":
            packed = make_packed(tmp, paths, args.max_side).pixels(SIZE, "bench")
            threaded = make_packed(tmp, paths, args.max_side, workers=2).pixels(SIZE, "bench")
            report(
                f"(b) packed store, max side {args.max_side} -> {SIZE}",
                measure(runs(packed, labels, threaded), args.repeat),
            )
        copy_cost(args.repeat)
        if args.only != "folder":
            start_cost(packed, args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
