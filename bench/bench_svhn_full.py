"""Benchmark the "svhn-full" reader against the common recipe (extract the tar, parse
digitStruct.mat with h5py's high-level API, one f[ref][()] per value).

    .venv/bin/python bench/bench_svhn_full.py --n 2000
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from imagesets.formats import ReadRequest
from imagesets.formats.svhn_full import read_digit_struct, read_split
from imagesets.testing import MemoryWriter
from imagesets.testing.svhn_full import fake_boxes, fake_png, write_digit_struct, write_tar


def _recipe_parse(data: bytes) -> int:
    """The widely copied DigitStructFile recipe (high-level h5py)."""
    digits = 0
    with h5py.File(io.BytesIO(data), "r") as f:
        names, bboxes = f["digitStruct/name"], f["digitStruct/bbox"]
        for i in range(len(names)):
            "".join(chr(c[0]) for c in f[names[i][0]][()])
            group = f[bboxes[i][0]]
            for key in ("height", "label", "left", "top", "width"):
                attr = group[key]
                if len(attr) > 1:
                    values = [f[attr[j][0]][()][0][0] for j in range(len(attr))]
                else:
                    values = [attr[0][0]]
            digits += len(values)
    return digits


def _timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="images in the fake archive")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shapes = np.stack([rng.integers(30, 120, args.n), rng.integers(40, 220, args.n)], 1)
    shapes = shapes.astype(np.int32)
    boxes, offsets = fake_boxes(rng, shapes, max_digits=3)
    struct = write_digit_struct([f"{i + 1}.png" for i in range(args.n)], boxes, offsets)
    members = [
        (f"train/{i + 1}.png", fake_png(rng, int(h), int(w))) for i, (h, w) in enumerate(shapes)
    ]
    members.append(("train/digitStruct.mat", struct))
    tmp = Path(tempfile.mkdtemp())
    archive = tmp / "train.tar.gz"
    write_tar(archive, [members[k] for k in rng.permutation(len(members))], folder="train/")

    def ours() -> None:
        read_split(ReadRequest("svhn-full", "train", {"archive": archive}), MemoryWriter())

    def recipe() -> None:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp / f"x{time.perf_counter_ns()}", filter="data")
        _recipe_parse(struct)

    rows = [
        (
            "digitStruct: recipe (h5py high-level)",
            _timed(lambda: _recipe_parse(struct), args.repeat),
        ),
        (
            "digitStruct: read_digit_struct",
            _timed(lambda: read_digit_struct(io.BytesIO(struct)), args.repeat),
        ),
        ("split: extractall + recipe", _timed(recipe, args.repeat)),
        ("split: read_split (one pass)", _timed(ours, args.repeat)),
    ]
    print(
        f"n={args.n} images, {len(boxes)} digits, archive {archive.stat().st_size / 1e6:.1f} MB, "
        f"digitStruct {len(struct) / 1e6:.1f} MB"
    )
    print(f"{'case':40} {'s':>8} {'images/s':>10} {'vs baseline':>12}")
    for k, (name, secs) in enumerate(rows):
        base = rows[k - k % 2][1]
        print(f"{name:40} {secs:8.2f} {args.n / secs:10.0f} {base / secs:11.1f}x")


if __name__ == "__main__":
    main()
