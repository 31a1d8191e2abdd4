"""Duplicate audit on CIFAR-shaped fake data: 50,000 train + 10,000 test smooth RGB 32 x 32
images with planted duplicates (exact copies, one-pixel shifts, brightness +5, JPEG
re-encodings) across and within the splits. Prints the time of each audit and what it found.

    PYTHONPATH=src python bench/bench_audit.py [--train 50000] [--test 10000]
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
from PIL import Image

from imagesets.audit import audit
from imagesets.dataset import Split
from imagesets.sources import ArraySource


def smooth_images(n: int, seed: int) -> np.ndarray:
    """uint8 ``(n, 32, 32, 3)``: random 6 x 6 colour fields enlarged to 32 x 32 bicubically
    (smooth, like downscaled photographs; distinct images are unrelated)."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (n, 6, 6, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(a).resize((32, 32), Image.Resampling.BICUBIC))
                     for a in low])  # fmt: skip


def shifted(image: np.ndarray) -> np.ndarray:
    """``image`` moved one pixel down (the top row repeated)."""
    return np.concatenate([image[:1], image[:-1]], axis=0)


def jpeg(image: np.ndarray, quality: int = 90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def plant(train: np.ndarray, test: np.ndarray, k: int, seed: int = 1) -> int:
    """``k`` of each kind of duplicate of a train image written over test images; returns the
    number planted."""
    rng = np.random.default_rng(seed)
    src = rng.choice(len(train), 4 * k, replace=False)
    dst = rng.choice(len(test), 4 * k, replace=False)
    for n, (s, d) in enumerate(zip(src, dst, strict=True)):
        image, kind = train[s], n % 4
        if kind == 0:
            test[d] = image
        elif kind == 1:
            test[d] = shifted(image)
        elif kind == 2:
            test[d] = np.clip(image.astype(np.int16) + 5, 0, 255)
        else:
            test[d] = jpeg(image)
    return 4 * k


def split(name: str, images: np.ndarray) -> Split:
    labels = np.zeros(len(images), np.uint8)
    return Split(name, {"images": images, "labels": labels}, ("x",), source=ArraySource(images))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--planted", type=int, default=25, help="of each kind")
    args = parser.parse_args()
    train, test = smooth_images(args.train, 0), smooth_images(args.test, 1)
    planted = plant(train, test, args.planted)
    print(f"{args.train:,} train + {args.test:,} test images 32x32x3, {planted} planted pairs,"
          f" {os.cpu_count()} cores")  # fmt: skip
    start = time.perf_counter()
    report = audit({"train": split("train", train), "test": split("test", test)})
    seconds = time.perf_counter() - start
    print(f"audit: {seconds:.1f} s, {report.candidates:,} candidates checked on pixels")
    for (a, b), c in report.counts.items():
        print(f"  {a}/{b}: exact {c['exact']}, near {c['near']}, images of {b} {c['images']}")


if __name__ == "__main__":
    main()
