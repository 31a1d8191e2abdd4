"""JPEG decoding throughput: imagesets.imaging against plain Pillow, threads, and the packed store.

Images are 500x375 photographic JPEGs (quality 90) made from the real ImageNet test samples
(scaled by 1.0-1.1 to cover 500x375, random crops, flips), or from
imagesets.testing.images.photo when those are missing; they are decoded from memory, so file
I/O is not measured.

    python bench/bench_jpeg.py --count 300

Rows (images/s, median and best of --repeat alternated runs; one core: per CPU second; the
thread row: per wall second, so it needs an idle machine; the load average is printed):
  1. one core, bytes -> (224, 224, 3): plain Pillow (open, RGB, BILINEAR shorter side 224,
     centre crop) vs imaging.decode(size=224), with OpenCV's resize if installed and with
     Pillow's                                                         goal (issue 15) >= 1.8x
  2. imaging.decode(size=224) on 2 threads vs 1                              goal >= 1.85x
  3. full decode of the packed store (re-encoded, max side 256) vs the originals, and the
     same to 224x224                          goal: packed -> 224 >= 2,000 img/s per core
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from imagesets import imaging
from imagesets.imaging import decode, imap_bounded, reencode
from imagesets.packed import PackedImages, PackedWriter
from imagesets.testing.images import photo

REAL = Path("/work/shared/real-data/imagenet/test-samples")


def make_images(count: int, seed: int = 0) -> list[bytes]:
    """``count`` 500x375 JPEGs (quality 90) cropped from the real samples or fake photos."""
    rng = np.random.default_rng(seed)
    templates = [Image.open(p).convert("RGB") for p in sorted(REAL.glob("*.JPEG"))]
    out = []
    for i in range(count):
        if templates:
            src = templates[i % len(templates)]
            scale = max(500 / src.width, 375 / src.height) * rng.uniform(1.0, 1.1)
            w, h = round(src.width * scale), round(src.height * scale)
            x, y = int(rng.integers(0, w - 500 + 1)), int(rng.integers(0, h - 375 + 1))
            big = src.resize((w, h), Image.Resampling.LANCZOS)
            im = big.crop((x, y, x + 500, y + 375))
            if rng.random() < 0.5:
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        else:
            im = Image.fromarray(photo(375, 500, i))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def pillow_baseline(data: bytes, size: int = 224) -> np.ndarray:
    """What most loaders do: open, convert, resize the shorter side, centre crop."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    scale = size / min(w, h)
    im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))


Job = tuple[Callable[[bytes], object], Sequence[bytes], int]


def rate(job: Job, clock: Callable[[], float]) -> float:
    """Images/s of one run of ``fn`` over ``images`` on ``workers`` threads, timed by ``clock``."""
    fn, images, workers = job
    start = clock()
    for _ in imap_bounded(fn, images, workers):
        pass
    return len(images) / (clock() - start)


def compare(base: Job, ours: Job, repeat: int, *, wall: bool = False) -> list[tuple[float, float]]:
    """``(median, best)`` images/s of each, runs alternated so that a busy machine hurts both
    alike.

    Timed in this process's CPU seconds (``time.process_time``, which other processes on a
    shared machine barely disturb) unless ``wall``: thread scaling needs wall time.
    """
    clock = time.perf_counter if wall else time.process_time
    rates: list[list[float]] = [[], []]
    for _ in range(repeat):
        for k, job in enumerate((base, ours)):
            rates[k].append(rate(job, clock))
    return [(statistics.median(r), max(r)) for r in rates]


def without_opencv(fn: Callable[[bytes], object]) -> Callable[[bytes], object]:
    """``fn`` with imagesets' OpenCV resize turned off (Pillow resizes)."""

    def run(data: bytes) -> object:
        saved = imaging._cv2
        imaging._cv2 = lambda: None  # type: ignore[assignment]
        try:
            return fn(data)
        finally:
            imaging._cv2 = saved

    return run


def pack(images: Sequence[bytes], max_side: int) -> PackedImages:
    buf = io.BytesIO()
    writer = PackedWriter(buf)
    for data in images:
        writer.append(reencode(data, max_side))
    return PackedImages(buf.getvalue(), writer.offsets())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-side", type=int, default=256)
    args = parser.parse_args(argv)
    images = make_images(args.count)
    mean_kb = np.mean([len(d) for d in images]) / 1024
    load = os.getloadavg()[0]
    print(f"{len(images)} JPEGs 500x375, mean {mean_kb:.0f} KiB; load average {load:.2f}")
    rows = []

    def to224(d: bytes) -> object:
        return decode(d, size=224)

    r = args.repeat
    cv2 = "OpenCV" if imaging._cv2() is not None else "no OpenCV"
    base, ours = compare((pillow_baseline, images, 1), (to224, images, 1), r)
    rows.append(("to 224x224, 1 core", "Pillow open+resize+crop", base, f"decode ({cv2})", ours))
    base, pil = compare((pillow_baseline, images, 1), (without_opencv(to224), images, 1), r)
    rows.append(
        ("to 224x224, 1 core", "Pillow open+resize+crop", base, "decode, Pillow resize", pil)
    )
    one, two = compare((to224, images, 1), (to224, images, 2), r, wall=True)
    rows.append(("to 224x224", "imaging.decode, 1 thread", one, "2 threads", two))
    start = time.perf_counter()
    packed = pack(images, args.max_side)
    pack_s = time.perf_counter() - start
    raw = [packed.raw(i) for i in range(len(packed))]
    full_orig, full_packed = compare((decode, images, 1), (decode, raw, 1), r)
    rows.append(
        ("full decode, 1 core", "originals", full_orig, f"packed {args.max_side}", full_packed)
    )
    orig_224, packed_224 = compare((to224, images, 1), (to224, raw, 1), r)
    rows.append(
        ("to 224x224, 1 core", "originals", orig_224, f"packed {args.max_side}", packed_224)
    )
    print(f"{'work':20s} {'baseline':24s} {'img/s med/best':>14s}  {'ours':22s}"
          f" {'img/s med/best':>14s} ratio (best)")  # fmt: skip
    for work, bname, b, oname, o in rows:
        print(f"{work:20s} {bname:24s} {b[0]:6.0f} {b[1]:6.0f}   {oname:22s} {o[0]:6.0f}"
              f" {o[1]:6.0f}  {o[0] / b[0]:5.2f}x ({o[1] / b[1]:.2f}x)")  # fmt: skip
    packed_kb = np.mean([len(r) for r in raw]) / 1024
    print(f"packing at max side {args.max_side}: {len(images) / pack_s:.0f} img/s, 1 core, "
          f"mean {packed_kb:.0f} KiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
