"""One epoch of shuffled 256-batches: imagesets.batching.batches vs bare numpy, same run.

MNIST-shaped (60000, 28, 28) and CIFAR-shaped (50000, 32, 32, 3) random uint8 data are saved
as .npy in a temporary folder and opened with mmap_mode="r" (page cache warmed first).

(a) batches(memmap) vs the bare gather ``x[perm[i:i+256]]`` from an in-memory array (images
    only; batches also gathers labels as int64 and draws the permutation). Goal >= 0.8x.
(c) batches(memmap, normalize=True, layout="NCHW") vs the same by hand per batch, the fast way
    ``f = np.ascontiguousarray(x[ix].transpose(0, 3, 1, 2)).astype(np.float32); f /= 255``.
    For information, the one-liner ``... .astype(np.float32) / 255``: it holds two float
    temporaries per batch and, with glibc's malloc trimming, page-faults every batch (8x slower
    here); batches() writes each batch into one array (np.divide with out=).

The machine may be shared, so the paths are timed interleaved (one epoch of each in turn)
and the best epoch of each is kept.

Run: .venv/bin/python bench/bench_batches.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from imagesets.batching import batches

Array = np.ndarray[Any, Any]
SHAPES = {"MNIST": (60000, 28, 28), "CIFAR-10": (50000, 32, 32, 3)}
BATCH = 256


def best_of(repeat: int, runs: list[Callable[[int], object]]) -> list[float]:
    """The fastest of ``repeat`` calls ``run(epoch)`` of each run, interleaved, in seconds."""
    best = [float("inf")] * len(runs)
    for epoch in range(repeat):
        for k, run in enumerate(runs):
            start = time.perf_counter()
            run(epoch)
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def bare_gather(x: Array, n: int) -> Callable[[int], object]:
    def run(epoch: int) -> None:
        perm = np.random.default_rng([0, epoch]).permutation(n)
        for i in range(0, n, BATCH):
            x[perm[i : i + BATCH]]

    return run


def by_hand_float_nchw(x: Array, n: int, *, one_liner: bool = False) -> Callable[[int], object]:
    def run(epoch: int) -> None:
        perm = np.random.default_rng([0, epoch]).permutation(n)
        for i in range(0, n, BATCH):
            b = x[perm[i : i + BATCH]]
            b = b[:, None] if b.ndim == 3 else b.transpose(0, 3, 1, 2)
            if one_liner:
                np.ascontiguousarray(b).astype(np.float32) / 255
            else:
                f = np.ascontiguousarray(b).astype(np.float32)
                f /= 255

    return run


def ours(x: Array, y: Array, **kw: Any) -> Callable[[int], object]:
    def run(epoch: int) -> None:
        for _ in batches(x, y, BATCH, seed=0, epoch=epoch, **kw):
            pass

    return run


def open_data(folder: Path, name: str, shape: tuple[int, ...]) -> tuple[Array, Array, Array]:
    """Write random data as .npy; return (in-memory images, memmap images, memmap labels)."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    np.save(folder / f"{name}-x.npy", images)
    np.save(folder / f"{name}-y.npy", rng.integers(0, 10, shape[0]).astype(np.uint8))
    mm_x = np.load(folder / f"{name}-x.npy", mmap_mode="r")
    mm_y = np.load(folder / f"{name}-y.npy", mmap_mode="r")
    int(np.asarray(mm_x).sum(dtype=np.uint64))  # warm the page cache
    return images, mm_x, mm_y


def bench_one(folder: Path, name: str, shape: tuple[int, ...], repeat: int) -> list[str]:
    images, mm_x, mm_y = open_data(folder, name, shape)
    n = shape[0]
    paths = [
        ("(a) bare x[perm[i:i+256]], RAM", bare_gather(images, n), None),
        ("(a) batches(memmap)", ours(mm_x, mm_y), 0),
        ("(c) by hand float32 NCHW, RAM", by_hand_float_nchw(images, n), None),
        (
            "(c) batches(memmap, normalize, NCHW)",
            ours(mm_x, mm_y, normalize=True, layout="NCHW"),
            2,
        ),
        ("    (one-liner astype()/255, RAM)", by_hand_float_nchw(images, n, one_liner=True), 2),
    ]
    times = best_of(repeat, [run for _, run, _ in paths])
    rows = [(label, secs, base) for (label, _, base), secs in zip(paths, times, strict=True)]
    lines = []
    for label, secs, base in rows:
        ratio = f"{rows[base][1] / secs:6.2f}x" if base is not None else "  base"
        lines.append(f"{name:9} {label:38} {secs * 1e3:8.1f} ms {n / secs / 1e6:6.2f} M/s {ratio}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="epochs timed; best is shown")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}; one epoch, batch {BATCH}, best of {args.repeat}")
    print(f"{'data':9} {'path':38} {'epoch':>11} {'samples/s':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in SHAPES.items():
            for line in bench_one(Path(tmp), name, shape, args.repeat):
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
