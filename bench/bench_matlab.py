"""Benchmark: our MAT-file reader and SVHN reader against scipy.io.loadmat.

Fake SVHN files in the real layout (``X`` uint8 (32, 32, 3, N), ``y`` double stored as uint8,
each variable zlib-compressed as in the published files, which are smaller than their pixels:
test_32x32.mat is 64,275,384 bytes for 79,970,304 bytes of pixels). Each measurement runs in a
fresh subprocess: wall time of the work (imports excluded) and peak RSS (``ru_maxrss``), also
shown minus the RSS after imports. The ``extra`` split (531,131 images) is prepared through
``svhn.read_split`` into ``.npy`` files opened with ``open_memmap``; dirty pages of the output
count in RSS, so the table also shows peak RSS minus the output size. Files go to ``--tmp`` and
are deleted afterwards.

    python bench/bench_matlab.py                 # test split (26,032) + extra (531,131)
    python bench/bench_matlab.py --extra-n 0     # test split only
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _rss_now_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


class _MemmapWriter:
    """A SplitWriter putting each array in an ``.npy`` file opened with ``open_memmap``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrays: dict[str, Any] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
        arr = np.lib.format.open_memmap(self.folder / f"{name}.npy", "w+", dtype, shape)
        self.arrays[name] = arr
        return arr

    def blob(self, name: str) -> Any:
        return open(self.folder / name, "wb")


def _scipy_load(path: Path, out: Path) -> int:
    import scipy.io as sio

    mat = sio.loadmat(path)
    return int(mat["X"].nbytes)


def _scipy_nhwc(path: Path, out: Path) -> int:
    import scipy.io as sio

    mat = sio.loadmat(path)
    images = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2))
    labels = mat["y"].astype(np.uint8).ravel() % 10
    return int(images.nbytes + labels.nbytes)


def _ours_load(path: Path, out: Path) -> int:
    from imagesets.formats.matlab import read_variable

    x = read_variable(path, "X")
    read_variable(path, "y")
    assert isinstance(x, np.ndarray)
    return int(x.nbytes)


def _ours_nhwc(path: Path, out: Path) -> int:
    from imagesets.formats import ReadRequest, svhn
    from imagesets.testing import MemoryWriter

    writer = MemoryWriter()
    svhn.read_split(ReadRequest("svhn", "test", {"mat": path}), writer)
    return sum(int(a.nbytes) for a in writer.arrays.values())


def _ours_memmap(path: Path, out: Path) -> int:
    from imagesets.formats import ReadRequest, svhn

    writer = _MemmapWriter(out)
    svhn.read_split(ReadRequest("svhn", "extra", {"mat": path}), writer)
    for arr in writer.arrays.values():
        arr.flush()
    return sum(int(a.nbytes) for a in writer.arrays.values())


WORKERS = {
    "scipy loadmat": _scipy_load,
    "scipy loadmat + NHWC": _scipy_nhwc,
    "ours read_variable": _ours_load,
    "ours read_split (RAM)": _ours_nhwc,
    "ours read_split (memmap)": _ours_memmap,
}


def _worker(method: str, path: Path, out: Path) -> None:
    import scipy.io  # noqa: F401  (imports excluded from the baseline of every method)

    import imagesets.formats.svhn  # noqa: F401

    base = _rss_now_kb()
    start = time.perf_counter()
    output = WORKERS[method](path, out)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_kb": peak, "base_kb": base, "output": output}))


def _measure(method: str, path: Path, tmp: Path, repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh-process runs (the machine may be busy)."""
    runs = [_measure_once(method, path, tmp) for _ in range(repeat)]
    return min(runs, key=lambda r: float(r["seconds"]))


def _measure_once(method: str, path: Path, tmp: Path) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(dir=tmp))
    try:
        cmd = [sys.executable, __file__, "--worker", method, str(path), str(out)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return dict(json.loads(done.stdout.splitlines()[-1]))
    finally:
        shutil.rmtree(out)


def _table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    base = rows[0][1]
    print(f"\n{title}")
    head = (
        f"{'method':26} {'time s':>8} {'x base':>7} {'peak MB':>8} {'- import':>9} {'- output':>9}"
    )
    print(head)
    for name, r in rows:
        mb = r["peak_kb"] / 1024
        extra, beyond = mb - r["base_kb"] / 1024, mb - r["output"] / 2**20
        ratio = r["seconds"] / base["seconds"]
        print(f"{name:26} {r['seconds']:8.2f} {ratio:7.2f} {mb:8.0f} {extra:9.0f} {beyond:9.0f}")


def _write(path: Path, n: int, compress: bool) -> float:
    from imagesets.testing.matlab import write_fake_svhn

    start = time.perf_counter()
    write_fake_svhn(path, n, seed=0, compress=compress)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=26_032, help="images in the test-size file")
    parser.add_argument("--extra-n", type=int, default=531_131, help="images in extra (0: skip)")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (best is shown)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="bench_matlab_", dir=args.tmp))
    try:
        for compress in (True, False):
            path = work / f"test_{'z' if compress else 'raw'}.mat"
            took = _write(path, args.n, compress)
            size = path.stat().st_size
            title = f"N={args.n}, {'compressed' if compress else 'uncompressed'}, {size:,} bytes"
            names = [m for m in WORKERS if "memmap" not in m]
            rows = [(m, _measure(m, path, work, args.repeat)) for m in names]
            _table(f"{title} (written in {took:.1f} s)", rows)
            path.unlink()
        if args.extra_n:
            path = work / "extra_32x32.mat"
            took = _write(path, args.extra_n, compress=True)
            title = f"extra N={args.extra_n}, compressed, {path.stat().st_size:,} bytes"
            names = ["scipy loadmat + NHWC", "ours read_split (memmap)", "ours read_split (RAM)"]
            rows = [(m, _measure(m, path, work, 1)) for m in names]
            _table(f"{title} (written in {took:.0f} s)", rows)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
