"""torchvision's per-sample DataLoader path vs imagesets' vectorised batches, same data, same run.

torchvision needs its own venv (torch + torchvision, ~5.5 GB with the CUDA wheels): run with any
Python and the script builds /tmp/tvenv if missing (``python3 -m venv /tmp/tvenv &&
/tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 numpy``, a few minutes) and
re-runs itself there, importing imagesets from this checkout's src/.

Fake random uint8 data is written in the raw layouts torchvision reads: MNIST IDX files in
``root/MNIST/raw`` and CIFAR-10 python pickles in ``root/cifar-10-batches-py``. CIFAR10 checks
the md5 of each pickle against the published ones, which fake data cannot match, so the CIFAR
row uses a subclass whose ``_check_integrity`` returns True and whose ``_load_meta`` reads the
class names without the md5 check; loading and ``__getitem__`` (the
per-sample PIL + ToTensor path being timed) are torchvision's own. The same arrays go to
imagesets as .npy files opened with mmap_mode="r".

Timed: DataLoader(batch_size=256, shuffle=True, num_workers=0) with ToTensor over its first
``--tv-batches`` batches (its cost is per sample, so its rate is the epoch's), vs one whole
epoch of imagesets.adapters.torch.torch_loader (batches(normalize=True, layout="NCHW") wrapped
by torch.from_numpy; its kernel, numba or numpy, is printed: ``IMAGESETS_KERNEL=numpy`` forces
the numpy one; the default fills each batch on every core, at most 4), the same with
``workers=1`` (one thread), torch_loader(device="cpu") (uint8 moved, converted by torch ops: the
GPU fast path run on the CPU), and with chw_copy=True (a channels-first copy of the split kept
in RAM, made on a warm-up epoch before timing). The paths are timed in turn ``--repeat`` times
(the machine may be shared); the median and min epoch of each are shown, the ratios of medians
(of mins in brackets) against torchvision. Goals (issue 15): CIFAR-10 >= 50x, MNIST >= 100x.

Run: python3 bench/bench_torchvision.py [--repeat 7] [--tv-batches 40] [--venv /tmp/tvenv]
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
PINS = ["torch==2.14.1", "torchvision==0.29.1", "numpy"]


def ensure_venv(venv: Path) -> Path:
    """The venv's python, building the venv first if it has no torchvision."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import torchvision"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"building {venv} (torch + torchvision, a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PINS], check=True)
    return python


def write_idx(path: Path, array: Any) -> None:
    """An MNIST IDX file (big-endian dims, magic 0x0000080N for uint8)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.tobytes())


def write_mnist(root: Path, x: Any, y: Any) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, cut in (("train", slice(None)), ("t10k", slice(0, 16))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x[cut])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y[cut])


def write_cifar(root: Path, x: Any, y: Any) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    chw = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    names = [f"data_batch_{i}" for i in range(1, 6)]
    for i, name in enumerate(names):
        part = slice(i * 10000, (i + 1) * 10000)
        entry = {"data": chw[part], "labels": y[part].tolist()}
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "test_batch").write_bytes(pickle.dumps({"data": chw[:16], "labels": [0] * 16}))
    meta = {"label_names": [f"class{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def torchvision_datasets(root: Path, to_tensor: Any) -> dict[str, Any]:
    from torchvision import datasets

    class FakeCIFAR10(datasets.CIFAR10):  # type: ignore[misc]
        def _check_integrity(self) -> bool:  # fake data cannot match the published md5s
            return True

        def _load_meta(self) -> None:  # the same, without the md5 check
            with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as f:
                self.classes = pickle.load(f)["label_names"]
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    return {
        "MNIST": datasets.MNIST(str(root), train=True, transform=to_tensor),
        "CIFAR-10": FakeCIFAR10(str(root), train=True, transform=to_tensor),
    }


def samples_per_second(loader: Any, max_batches: int) -> float:
    """Rate of one pass over at most ``max_batches`` batches of ``loader``."""
    start, count = time.perf_counter(), 0
    for number, (x, _) in enumerate(loader):
        count += len(x)
        if number + 1 >= max_batches:
            break
    return count / (time.perf_counter() - start)


def inner(repeat: int, tv_batches: int) -> int:
    import numpy as np
    import torch
    import torchvision
    from torchvision import transforms

    sys.path.insert(0, str(SRC))
    from imagesets._kernels import kernel_name
    from imagesets.adapters.torch import torch_loader

    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, numpy {np.__version__}"
    )
    print(f"imagesets kernel for float batches: {kernel_name()} (IMAGESETS_KERNEL forces one)")
    print(f"torch threads {torch.get_num_threads()}; batch 256; {repeat} passes interleaved;"
          f" torchvision timed on {tv_batches} batches, imagesets on whole epochs")  # fmt: skip
    rng = np.random.default_rng(0)
    data = {
        "MNIST": (rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8),
                  rng.integers(0, 10, 60000).astype(np.uint8)),
        "CIFAR-10": (rng.integers(0, 256, (50000, 32, 32, 3), dtype=np.uint8),
                     rng.integers(0, 10, 50000).astype(np.uint8)),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_mnist(root, *data["MNIST"])
        write_cifar(root, *data["CIFAR-10"])
        tv = torchvision_datasets(root, transforms.ToTensor())
        print(f"{'data':9} {'path':50} {'median':>10} {'min':>10} {'samples/s':>10} ratio (min)")
        for name, (x, y) in data.items():
            np.save(root / f"{name}-x.npy", x)
            np.save(root / f"{name}-y.npy", y)
            mm_x = np.load(root / f"{name}-x.npy", mmap_mode="r")
            mm_y = np.load(root / f"{name}-y.npy", mmap_mode="r")
            check_same_values(tv[name], mm_x, mm_y)
            loader = torch.utils.data.DataLoader(tv[name], batch_size=256, shuffle=True)
            paths = [
                ("torchvision DataLoader + ToTensor (per sample)", loader, tv_batches),
                ("imagesets torch_loader(normalize, NCHW, memmap)",
                 torch_loader(mm_x, mm_y, 256, seed=0), None),
                ("imagesets torch_loader(workers=1): 1 thread",
                 torch_loader(mm_x, mm_y, 256, seed=0, workers=1), None),
                ("imagesets torch_loader(device='cpu'): torch ops",
                 torch_loader(mm_x, mm_y, 256, seed=0, device="cpu"), None),
                ("imagesets torch_loader(chw_copy=True), 2nd+ epochs",
                 torch_loader(mm_x, mm_y, 256, seed=0, chw_copy=True), None),
            ]  # fmt: skip
            for _ in paths[-1][1]:  # the warm-up epoch that makes the channels-first copy
                pass
            rates: list[list[float]] = [[] for _ in paths]
            for _ in range(repeat):
                for k, (_, feed, count) in enumerate(paths):
                    rates[k].append(samples_per_second(feed, count or len(feed)))
            base = statistics.median(rates[0]), max(rates[0])
            for (label, _, _), got in zip(paths, rates, strict=True):
                med, best = statistics.median(got), max(got)
                ratio = "      base" if got is rates[0] else (
                    f"{med / base[0]:5.0f}x ({best / base[1]:.0f}x)")  # fmt: skip
                print(f"{name:9} {label:50} {len(x) / med:8.3f} s {len(x) / best:8.3f} s"
                      f" {med / 1e3:7.1f} k/s {ratio}")  # fmt: skip
    return 0


def check_same_values(dataset: Any, mm_x: Any, mm_y: Any) -> None:
    """torchvision's ToTensor item i equals our normalized NCHW sample i."""
    import numpy as np

    from imagesets.batching import batches

    x, y = next(iter(batches(mm_x, mm_y, 8, shuffle=False, normalize=True, layout="NCHW")))
    for i in range(8):
        image, label = dataset[i]
        if not (np.array_equal(image.numpy(), x[i]) and int(label) == int(y[i])):
            raise SystemExit(f"values differ at sample {i}: the comparison would be unfair")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed passes of each path")
    parser.add_argument("--tv-batches", type=int, default=40, help="torchvision batches a pass")
    parser.add_argument("--venv", type=Path, default=Path("/tmp/tvenv"))
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        return inner(args.repeat, args.tv_batches)
    python = ensure_venv(args.venv)
    cmd = [str(python), __file__, "--inner", "--repeat", str(args.repeat)]
    cmd += ["--tv-batches", str(args.tv_batches)]
    return subprocess.run(cmd, env={**os.environ, "PYTHONNOUSERSITE": "1"}).returncode


if __name__ == "__main__":
    raise SystemExit(main())
