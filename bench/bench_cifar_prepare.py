"""Prepare time of the CIFAR readers, python (pickle) edition versus binary edition.

Writes fake full-size archives in the real layouts (by default 50,000 + 10,000 images), then
times reading both splits through each reader into a writer, against the floor of one plain
gzip pass over the same archive. Images are noisy "photos" (a per-image base colour plus Gaussian
noise) rather than uniform noise, so that gzip compresses them about as much as the real CIFAR
archives (~0.92) and decompression does real Huffman work.

    .venv/bin/python bench/bench_cifar_prepare.py                 # CIFAR-10, in memory
    .venv/bin/python bench/bench_cifar_prepare.py --writer npy    # np.lib.format.open_memmap
    .venv/bin/python bench/bench_cifar_prepare.py --variant cifar100
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from imagesets.formats import ReadRequest, SplitWriter
from imagesets.formats.cifar import read_binary_split, read_python_split
from imagesets.testing import MemoryWriter
from imagesets.testing.cifar import (
    CIFAR100_FINE_TO_COARSE,
    FakeSplit,
    write_cifar_binary,
    write_cifar_python,
)


class NpyWriter:
    """A SplitWriter that puts every array in a ``.npy`` file opened as a memmap."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray[Any, Any]:
        path = self.folder / f"{name}.npy"
        return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)

    def blob(self, name: str) -> BinaryIO:
        return (self.folder / name).open("wb")


def photos(n: int, variant: str, rng: np.random.Generator) -> FakeSplit:
    base = rng.integers(30, 220, size=(n, 1, 1, 3), dtype=np.int16)
    noise = rng.normal(0, 18, size=(n, 32, 32, 3)).astype(np.int16)
    images = np.clip(base + noise, 0, 255).astype(np.uint8)
    labels = rng.integers(0, 10 if variant == "cifar10" else 100, size=n, dtype=np.uint8)
    coarse = CIFAR100_FINE_TO_COARSE[labels] if variant == "cifar100" else None
    return FakeSplit(images, labels, coarse)


def gunzip_floor(path: Path) -> None:
    with gzip.open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def read_both(
    reader: Callable[[ReadRequest, SplitWriter], dict[str, Any]],
    path: Path,
    variant: str,
    make_writer: Callable[[str], SplitWriter],
) -> None:
    for split in ("train", "test"):
        request = ReadRequest(variant, split, {"archive": path}, {"variant": variant})
        reader(request, make_writer(split))


def best_of(repeat: int, work: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["cifar10", "cifar100"], default="cifar10")
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--writer", choices=["memory", "npy"], default="memory")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        train, test = (
            photos(args.n_train, args.variant, rng),
            photos(args.n_test, args.variant, rng),
        )
        start = time.perf_counter()
        py_path = write_cifar_python(root / "python.tar.gz", args.variant, train, test)
        bin_path = write_cifar_binary(root / "binary.tar.gz", args.variant, train, test)
        raw = train.images.nbytes + test.images.nbytes
        print(
            f"{args.variant}: {args.n_train}+{args.n_test} images; archives written in "
            f"{time.perf_counter() - start:.1f} s; gzip ratio "
            f"{py_path.stat().st_size / raw:.3f} (python), {bin_path.stat().st_size / raw:.3f} "
            f"(binary); writer={args.writer}, best of {args.repeat}"
        )

        def writer(split: str) -> SplitWriter:
            return MemoryWriter() if args.writer == "memory" else NpyWriter(root / "out" / split)

        rows = {
            "gunzip floor (binary archive, 1 pass)": lambda: gunzip_floor(bin_path),
            "binary edition (train+test)": lambda: read_both(
                read_binary_split, bin_path, args.variant, writer
            ),
            "python edition (train+test)": lambda: read_both(
                read_python_split, py_path, args.variant, writer
            ),
        }
        times = {name: best_of(args.repeat, work) for name, work in rows.items()}
    base = times["binary edition (train+test)"]
    n = args.n_train + args.n_test
    print(f"{'work':40s} {'seconds':>8s} {'images/s':>10s} {'vs binary':>10s}")
    for name, seconds in times.items():
        print(f"{name:40s} {seconds:8.3f} {n / seconds:10,.0f} {seconds / base:9.2f}x")


if __name__ == "__main__":
    main()
