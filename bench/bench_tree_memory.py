"""Peak memory of preparing a class-per-folder tree into fixed-size 64x64 arrays.

For each count (default 10,000 and 50,000) it writes that many small JPEGs (64x48, 10 class
folders) into a temporary folder, runs the ``image-tree`` reader in a fresh subprocess with an
``np.lib.format.open_memmap``-backed writer, and reports the child's peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) next to the RSS after imports alone, and the size
of the output. Everything is deleted afterwards.

    python bench/bench_tree_memory.py --counts 10000 50000

Bounded memory means the peak does not grow with the count. ``ru_maxrss`` also counts the pages
of the output ``.npy`` files that the process has written through its memory map (file-backed,
reclaimable by the kernel at any time), so the child also samples ``RssAnon`` (heap and buffers:
the memory the reader itself holds) every 5 ms and reports its peak.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def write_tree(root: Path, count: int, classes: int = 10) -> None:
    """``count`` 64x48 JPEGs spread over ``classes`` folders (64 distinct pictures reused)."""
    from PIL import Image

    from imagesets.testing.images import photo

    blobs = []
    for seed in range(64):
        buf = io.BytesIO()
        Image.fromarray(photo(48, 64, seed)).save(buf, format="JPEG", quality=90)
        blobs.append(buf.getvalue())
    for c in range(classes):
        (root / f"class{c:02d}").mkdir(parents=True)
    for i in range(count):
        (root / f"class{i % classes:02d}" / f"{i:06d}.jpg").write_bytes(blobs[i % len(blobs)])


class NpyWriter:
    """A SplitWriter keeping each array as a ``.npy`` opened with ``open_memmap``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray[Any, Any]:
        arr = np.lib.format.open_memmap(self.folder / f"{name}.npy", "w+", dtype, shape)
        self.arrays[name] = arr
        return arr

    def blob(self, name: str) -> BinaryIO:
        return open(self.folder / name, "wb")


def _rss_anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def _sample_peak(peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.005):
        peak[0] = max(peak[0], _rss_anon_kib())


def child(root: Path, out: Path) -> None:
    """Run the reader once and print a JSON line with the peak RSS."""
    import resource

    from imagesets.formats import ReadRequest
    from imagesets.formats.image_tree import read_split

    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    anon_peak, stop = [_rss_anon_kib()], threading.Event()
    sampler = threading.Thread(target=_sample_peak, args=(anon_peak, stop), daemon=True)
    sampler.start()
    start = time.perf_counter()
    writer = NpyWriter(out)
    facts = read_split(ReadRequest("bench", "train", {"root": root}, {"size": 64}), writer)
    for arr in writer.arrays.values():
        arr.flush()  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    result = {
        "count": facts.count,
        "seconds": seconds,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "imports_kib": rss_imports,
        "anon_peak_kib": anon_peak[0],
        "output_mib": sum(a.nbytes for a in writer.arrays.values()) / 2**20,
    }
    print(json.dumps(result))


def measure(count: int, tmp: Path) -> dict[str, Any]:
    root, out = tmp / f"tree{count}", tmp / f"out{count}"
    out.mkdir()
    start = time.perf_counter()
    write_tree(root, count)
    made = time.perf_counter() - start
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(root), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(root)
    shutil.rmtree(out)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["write_s"] = made
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    print(f"{'images':>7s} {'output MiB':>10s} {'imports RSS':>11s} {'peak RSS':>9s} "
          f"{'peak anon':>11s} {'prepare s':>9s} {'img/s':>6s}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for count in args.counts:
            r = measure(count, Path(tmp))
            print(
                f"{r['count']:7d} {r['output_mib']:10.0f} {r['imports_kib'] / 1024:8.0f} MiB "
                f"{r['peak_kib'] / 1024:5.0f} MiB {r['anon_peak_kib'] / 1024:7.0f} MiB "
                f"{r['seconds']:9.1f} {r['count'] / r['seconds']:6.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
