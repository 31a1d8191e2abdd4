"""Benchmark: warm ``load_data("cifar10")`` against ``np.load`` of an ``.npz`` (keras's way).

A fake CIFAR-10 of the real size (50,000 + 10,000 images, binary edition) is written to a
temporary folder, registered as a catalog entry, prepared once (timed), then loaded warm many
times in-process. Run: ``python bench/bench_cifar_load.py [--repeat 200]``. No network.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in seconds over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fake_cifar10(tmp: Path) -> str:
    """Write a full-size fake binary CIFAR-10 archive and register it; returns its name."""
    from imagesets import catalog
    from imagesets.testing.cifar import make_fake_cifar, write_cifar_binary

    data = make_fake_cifar("cifar10", 50000, 10000, seed=0)
    path = write_cifar_binary(
        tmp / "cifar-10-binary.tar.gz", "cifar10", data["train"], data["test"], compresslevel=1
    )
    blob = path.read_bytes()
    entry = copy.deepcopy(catalog.builtin_entry("cifar10"))
    entry["name"], entry["aliases"] = "bench-cifar10", []
    entry["editions"] = entry["editions"][:1]
    f = entry["editions"][0]["files"][0]
    f.update(size=len(blob), sha256=hashlib.sha256(blob).hexdigest(), urls=[path.as_uri()])
    catalog.register(entry)
    return "bench-cifar10"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ["IMAGESETS_HOME"] = str(tmp / "cache")
        import imagesets

        name = fake_cifar10(tmp)
        imagesets.download(name, progress=False)
        t = time.perf_counter()
        imagesets.prepare(name, progress=False)
        prepare_s = time.perf_counter() - t
        (x, y), (xt, yt) = imagesets.load_data(name, progress=False)
        npz = tmp / "cifar10.npz"
        np.savez(npz, x_train=x, y_train=y, x_test=xt, y_test=yt)

        def keras_way() -> object:
            with np.load(npz) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])

        ours = median_time(lambda: imagesets.load_data(name, progress=False), args.repeat)
        peer = median_time(keras_way, max(5, args.repeat // 20))
    print(f"prepare from the binary edition (cold, 60,000 images): {prepare_s:8.3f} s")
    print(f"warm imagesets.load_data('cifar10'):                   {ours * 1000:8.3f} ms")
    print(f"np.load(.npz) of the same arrays (keras's way):        {peer * 1000:8.3f} ms")
    print(f"ours is {peer / ours:.0f}x faster")


if __name__ == "__main__":
    main()
