"""Prepare time of the CIFAR readers, python (pickle) edition versus binary edition.

Writes fake full-size archives in the real layouts (by default 50,000 + 10,000 images), then
times reading each split through each reader into a writer, against the floor of one bare gunzip
pass over the same archive. The readers get ``count`` as the pipeline passes it (one pass); the
"no count" rows show the two-pass path kept for direct calls, the "member md5" row the cost of the
per-member md5 the catalog gives for the python edition. Images are noisy "photos" (a per-image
base colour plus Gaussian noise) rather than uniform noise, so that gzip compresses them about as
much as the real CIFAR archives (~0.92) and decompression does real Huffman work.

    .venv/bin/python bench/bench_cifar_prepare.py                 # CIFAR-10, in memory
    .venv/bin/python bench/bench_cifar_prepare.py --writer npy    # np.lib.format.open_memmap
    .venv/bin/python bench/bench_cifar_prepare.py --variant cifar100
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import tarfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
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


def read_split(
    reader: Callable[[ReadRequest, SplitWriter], dict[str, Any]],
    path: Path,
    variant: str,
    split: str,
    count: int | None,
    md5: dict[str, str] | None = None,
    *,
    writer: Callable[[str], SplitWriter],
) -> None:
    options: dict[str, Any] = {"variant": variant, **({"member_md5": md5} if md5 else {})}
    reader(ReadRequest(variant, split, {"archive": path}, options, count), writer(split))


def member_md5(path: Path) -> dict[str, str]:
    """basename -> md5 of every file member (what the catalog publishes for the real files)."""
    with tarfile.open(path, "r:gz") as tar:
        return {
            m.name.rsplit("/", 1)[-1]: hashlib.md5(tar.extractfile(m).read()).hexdigest()  # type: ignore[union-attr]
            for m in tar
            if m.isreg()
        }


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

        n = {"train": args.n_train, "test": args.n_test}
        md5 = member_md5(py_path)
        editions = {"binary": (read_binary_split, bin_path), "python": (read_python_split, py_path)}
        rows: dict[str, tuple[str, int, Callable[[], None]]] = {
            f"gunzip {ed} archive (1 pass)": (ed, 0, partial(gunzip_floor, path))
            for ed, (_, path) in editions.items()
        }
        for ed, (reader, path) in editions.items():
            read = partial(read_split, reader, path, args.variant, writer=writer)
            for split, count in n.items():
                rows[f"{ed} {split}"] = (ed, count, partial(read, split, count))
            rows[f"{ed} train, no count (2 passes)"] = (
                ed,
                n["train"],
                partial(read, "train", None),
            )
        read = partial(read_split, read_python_split, py_path, args.variant, writer=writer)
        rows["python train, member md5"] = (
            "python",
            n["train"],
            partial(read, "train", n["train"], md5),
        )
        times = {name: best_of(args.repeat, work) for name, (_, _, work) in rows.items()}
    floor = {ed: times[f"gunzip {ed} archive (1 pass)"] for ed in editions}
    print(f"{'work':36s} {'seconds':>8s} {'images/s':>10s} {'vs gunzip':>10s}")
    for name, seconds in times.items():
        ed, images, _ = rows[name]
        rate = f"{images / seconds:10,.0f}" if images else f"{'':10s}"
        print(f"{name:36s} {seconds:8.3f} {rate} {seconds / floor[ed]:9.2f}x")


if __name__ == "__main__":
    main()
