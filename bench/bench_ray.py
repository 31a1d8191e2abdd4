"""Ray against the local engine: prepare of a JPEG tree, and training ingest.

1. A tree of ``--images`` JPEGs (default 20,000, about 256 x 200 each; written once into
   ``--work``) is prepared as fixed-size ``--size`` arrays by the local engine and by
   ``engine="ray"``; Ray's startup (``ray.init``) is timed apart from the prepare itself.
   The two prepared splits are checked byte-identical.
2. ``split.to_ray().iter_torch_batches`` against ``split.torch_loader`` over the prepared
   split (images per second, one epoch, no shuffle).

    python bench/bench_ray.py [--images 20000] [--size 64] [--cpus 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _tree(folder: Path, n: int) -> None:
    """``n`` JPEGs in 10 class folders (kept between runs)."""
    from PIL import Image

    from imagesets.testing.images import photo

    done = folder / f".complete-{n}"
    if done.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    base = [photo(200, 256, seed) for seed in range(50)]
    for i in range(n):
        cls = folder / f"class{i % 10}"
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(base[i % 50]).save(cls / f"img{i:06d}.jpg", quality=90 - i % 7)
    done.touch()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=20_000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "imagesets-bench-ray"))
    args = p.parse_args(argv)

    import ray

    import imagesets
    from imagesets import catalog
    from imagesets.folders import folder_entry

    work = Path(args.work)
    tree = work / "tree"
    t = time.perf_counter()
    _tree(tree, args.images)
    print(f"tree: {args.images} JPEGs in {time.perf_counter() - t:.1f} s ({tree})")
    catalog.register({**folder_entry(tree), "name": "bench-tree"})
    options = {"size": args.size}
    for sub in ("local", "ray"):
        shutil.rmtree(work / sub, ignore_errors=True)

    t = time.perf_counter()
    local = imagesets.prepare("bench-tree", root=work / "local", options=options, progress=False)
    t_local = time.perf_counter() - t

    t = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    t_init = time.perf_counter() - t
    t = time.perf_counter()
    remote = imagesets.prepare(
        "bench-tree", root=work / "ray", options=options, engine="ray", progress=False
    )
    t_ray = time.perf_counter() - t
    same = all(
        {f.name: f.read_bytes() for f in local[s].iterdir()}
        == {f.name: f.read_bytes() for f in remote[s].iterdir()}
        for s in local
    )
    n = args.images
    print(f"prepare local : {t_local:7.2f} s  {n / t_local:8.0f} img/s")
    print(f"ray.init      : {t_init:7.2f} s  (startup, once per driver)")
    print(f"prepare ray   : {t_ray:7.2f} s  {n / t_ray:8.0f} img/s  "
          f"ratio ray/local {t_ray / t_local:.2f}")  # fmt: skip
    print(f"identical output: {same}")

    split = imagesets.load("bench-tree", root=work / "local", options=options, progress=False)[
        "all"
    ]
    t = time.perf_counter()
    seen = sum(len(b[1]) for b in split.torch_loader(args.batch, shuffle=False))
    t_torch = time.perf_counter() - t
    t = time.perf_counter()
    ds = split.to_ray(block_size=1024)
    seen_ray = sum(len(b["label"]) for b in ds.iter_torch_batches(batch_size=args.batch))
    t_ingest = time.perf_counter() - t
    print(f"torch_loader        : {seen / t_torch:9.0f} img/s ({seen} images)")
    print(f"to_ray().iter_torch : {seen_ray / t_ingest:9.0f} img/s ({seen_ray} images)")
    ray.shutdown()
    return 0 if same and seen == seen_ray else 1


if __name__ == "__main__":
    sys.exit(main())
