"""Benchmark: warm load and cold prepare of MNIST, against the ways the peers do it.

(a) warm ``imagesets.load_data("mnist")`` in-process, against keras's own way: its
    ``mnist.npz`` is ``np.savez_compressed`` of the four arrays ``x_train, y_train, x_test,
    y_test`` (built here from the real MNIST files), read by ``np.load`` and indexed, which
    inflates every array; and, when a Python with torchvision is given, torchvision's
    ``MNIST(root)``. The two in-process paths are timed interleaved (median and min).
    Goals (issue 15): warm load_data <= 1 ms, >= 100x keras, >= 40x torchvision.
(b) cold prepare from the four official .gz files, against bare decompression of the same
    files with the same decompressor (isal when installed) and with stdlib gzip.
    Goal: <= 1.2x bare decompression.

Run: ``python bench/bench_load.py [--real ../shared/real-data] [--torchvision-python PY]``.
Uses a temporary cache; touches no network.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]

TORCHVISION_CODE = """
import sys, time, statistics
from torchvision.datasets import MNIST
root = sys.argv[1]
MNIST(root, train=True); MNIST(root, train=False)
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    a = MNIST(root, train=True); b = MNIST(root, train=False)
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in seconds over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved(fns: list[Callable[[], object]], counts: list[int]) -> list[float]:
    """Median seconds of each ``fn``, the calls taken in turn (``fns[k]`` ``counts[k]`` times in
    all, after one warm-up each), so that a busy machine slows every path alike. The min of
    each is printed too."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for step in range(max(counts)):
        for k, fn in enumerate(fns):
            if step * counts[k] // max(counts) != (step + 1) * counts[k] // max(counts):
                t = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t)
    for k, got in enumerate(times):
        print(f"  path {k}: {len(got)} runs, median {statistics.median(got) * 1e3:.3f} ms,"
              f" min {min(got) * 1e3:.3f} ms")  # fmt: skip
    return [statistics.median(got) for got in times]


def bench_warm(tmp: Path, tv_python: str | None, repeat: int) -> list[tuple[str, float]]:
    import imagesets

    (x, y), (xt, yt) = imagesets.load_data("mnist", progress=False)
    npz = tmp / "mnist.npz"
    np.savez_compressed(  # keras's mnist.npz is compressed (4x slower to read than a plain .npz)
        npz,
        x_train=np.asarray(x),
        y_train=np.asarray(y),
        x_test=np.asarray(xt),
        y_test=np.asarray(yt),
    )

    def keras_way() -> object:
        with np.load(npz, allow_pickle=True) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])

    ours, keras = interleaved(
        [lambda: imagesets.load_data("mnist"), keras_way], [repeat, max(5, repeat // 20)]
    )
    rows = [("imagesets.load_data('mnist') warm", ours), ("keras: np.load(compressed .npz)", keras)]
    if tv_python:
        tv = _torchvision(tmp, tv_python, x, y, xt, yt)  # its own process, after ours
        rows.append(("torchvision MNIST(root) x2 (median)", tv))
    return rows


def _torchvision(tmp: Path, python: str, *arrays: np.ndarray) -> float:
    from imagesets.testing.idx import idx_bytes

    raw = tmp / "tv" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, arr in zip(FILES, arrays, strict=True):
        (raw / name.removesuffix(".gz")).write_bytes(idx_bytes(np.asarray(arr), compress=False))
    out = subprocess.run(
        [python, "-c", TORCHVISION_CODE, str(tmp / "tv"), "10"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_cold(real: Path, tmp: Path, repeat: int) -> list[tuple[str, float]]:
    import imagesets

    def prepare() -> object:
        return imagesets.prepare("mnist", force=True, progress=False)

    def bare(opener: Callable[..., object]) -> Callable[[], object]:
        def run() -> object:
            for name in FILES:
                with opener(real / "mnist" / name, "rb") as fh:  # type: ignore[attr-defined]
                    fh.read()
            return None

        return run

    rows = [("imagesets prepare mnist (cold, 4 files)", median_time(prepare, repeat))]
    try:
        from isal import igzip

        rows.append(
            ("bare isal decompression of the 4 files", median_time(bare(igzip.open), repeat))
        )
    except ImportError:
        pass
    rows.append(("bare stdlib gzip decompression", median_time(bare(gzip.open), repeat)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=Path(__file__).parents[2] / "shared" / "real-data")
    ap.add_argument("--torchvision-python", help="a Python that has torchvision (optional)")
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ["IMAGESETS_HOME"] = str(tmp / "cache")
        os.environ["IMAGESETS_OFFLINE"] = "1"
        import imagesets

        imagesets.import_files("mnist", [args.real / "mnist"], progress=False)
        warm = bench_warm(tmp, args.torchvision_python, args.repeat)
        cold = bench_cold(args.real, tmp, max(3, args.repeat // 40))
    report("(a) warm load, in-process (median)", warm, slowest_peer=True)
    report("(b) cold prepare (median)", cold, slowest_peer=False)


def report(title: str, rows: list[tuple[str, float]], *, slowest_peer: bool) -> None:
    ours = rows[0][1]
    print(f"\n{title}")
    for name, sec in rows:
        print(f"  {name:<42} {sec * 1000:10.3f} ms   {sec / ours:8.2f}x of ours")
    peers = [sec for _, sec in rows[1:]]
    if peers and slowest_peer:
        goals = {"keras": 100, "torchvision": 40}
        for name, sec in rows[1:]:
            goal = next((g for key, g in goals.items() if name.startswith(key)), None)
            print(f"  ours vs {name}: {sec / ours:.0f}x (goal >= {goal}x)")
        print(f"  ours warm: {ours * 1e3:.3f} ms (goal <= 1 ms)")
    elif peers:
        print(f"  ours / bare decompression ({rows[1][0]}): {ours / peers[0]:.2f}x")


if __name__ == "__main__":
    main()
