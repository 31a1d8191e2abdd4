"""Ray against the local engine: prepare of a JPEG tree, and training ingest.

1. ``--source tree`` (default): a tree of ``--images`` JPEGs (default 20,000, about 256 x 200
   each; written once into ``--work``); ``--source imagenet-tar``: a fake
   ``ILSVRC2012_img_train.tar`` of ``--classes`` inner class tars (default 20) of
   ``--per-class`` JPEGs (default 500, 96 x 128) under a retargeted ``imagenet`` entry. It is
   prepared as fixed-size ``--size`` arrays by the local engine and by ``engine="ray"``; Ray's
   startup (``ray.init``) is timed apart from the prepare itself, and the bytes this (driver)
   process read (``rchar`` of ``/proc/self/io``) are reported for each. The two prepared splits
   are checked byte-identical.
2. ``split.to_ray().iter_torch_batches`` against ``split.torch_loader`` over the prepared
   split (images per second, one epoch, no shuffle).

    python bench/bench_ray.py [--source tree|imagenet-tar] [--images 20000] [--size 64]
                              [--classes 20] [--per-class 500] [--cpus 2] [--work DIR]
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


def _imagenet_tar(folder: Path, classes: int, per_class: int) -> Path:
    """``ILSVRC2012_img_train.tar`` of ``classes`` class tars of ``per_class`` JPEGs (kept)."""
    import io
    import tarfile

    from PIL import Image

    from imagesets.formats.imagenet import imagenet_classes
    from imagesets.testing.imagenet import tar_bytes
    from imagesets.testing.images import photo

    path = folder / "ILSVRC2012_img_train.tar"
    done = folder / f".complete-{classes}x{per_class}"
    if done.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    base = [Image.fromarray(photo(96, 128, seed)) for seed in range(50)]
    with tarfile.open(path, "w") as outer:
        for c, wnid in enumerate(imagenet_classes()[0][:classes]):
            members = []
            for k in range(per_class):
                buf = io.BytesIO()
                base[(c * per_class + k) % 50].save(buf, format="JPEG", quality=90 - k % 7)
                members.append((f"{wnid}_{k}.JPEG", buf.getvalue()))
            data = tar_bytes(members)
            info = tarfile.TarInfo(f"{wnid}.tar")
            info.size = len(data)
            outer.addfile(info, io.BytesIO(data))
    done.touch()
    return path


def _imagenet_entry(work: Path, classes: int, per_class: int, roots: list[Path]) -> str:
    """A retargeted ``imagenet`` entry whose train tar is :func:`_imagenet_tar`, imported
    into each of ``roots``; returns its name."""
    import hashlib

    from imagesets import catalog
    from imagesets.testing.entries import retarget_with_fakes

    given = work / "imagenet-given"
    shutil.rmtree(given, ignore_errors=True)
    base = catalog.builtin_entry("imagenet")
    entry, _ = retarget_with_fakes(base, given, "http://127.0.0.1:1/", counts={"train": 4})
    train = _imagenet_tar(work / "imagenet-tar", classes, per_class)
    shutil.copyfile(train, given / train.name)
    data = train.read_bytes()
    for f in entry["editions"][0]["files"]:
        if f["name"] == train.name:
            f.update(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     md5=hashlib.md5(data).hexdigest())  # fmt: skip
    entry["splits"]["train"]["count"] = classes * per_class
    spec = catalog.register({**entry, "name": "bench-imagenet"})
    for root in roots:
        imagesets_import(spec.name, given, root)
    return spec.name


def imagesets_import(name: str, folder: Path, root: Path) -> None:
    import imagesets

    imagesets.import_files(name, [folder], root=root, progress=False)


def _files(folder: Path) -> dict[str, bytes]:
    """A prepared split's files, the manifest less its one timing field (``racy_since``: when
    a folder's listing was walked)."""
    import json

    files = {f.name: f.read_bytes() for f in folder.iterdir()}
    manifest = json.loads(files["manifest.json"])
    if isinstance(manifest.get("listing"), dict):
        manifest["listing"].pop("racy_since", None)
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


def _driver_read() -> int:
    """Bytes this process has read so far (``rchar``: every read call, cached or not)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=("tree", "imagenet-tar"), default="tree")
    p.add_argument("--images", type=int, default=20_000)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--per-class", type=int, default=500)
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
    for sub in ("local", "ray"):
        shutil.rmtree(work / sub, ignore_errors=True)
    t = time.perf_counter()
    if args.source == "tree":
        tree = work / "tree"
        _tree(tree, args.images)
        name, n, splits = "bench-tree", args.images, None
        catalog.register({**folder_entry(tree), "name": name})
        print(f"tree: {n} JPEGs in {time.perf_counter() - t:.1f} s ({tree})")
    else:
        name = _imagenet_entry(work, args.classes, args.per_class, [work / "local", work / "ray"])
        n, splits = args.classes * args.per_class, "train"
        print(f"imagenet-tar: {args.classes} class tars x {args.per_class} JPEGs "
              f"({time.perf_counter() - t:.1f} s)")  # fmt: skip
    options = {"size": args.size}
    kw: dict[str, object] = {"options": options, "progress": False}
    if splits is not None:
        kw["splits"] = splits

    read0, t = _driver_read(), time.perf_counter()
    local = imagesets.prepare(name, root=work / "local", **kw)  # type: ignore[arg-type]
    t_local, read_local = time.perf_counter() - t, _driver_read() - read0

    t = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    t_init = time.perf_counter() - t
    read0, t = _driver_read(), time.perf_counter()
    remote = imagesets.prepare(name, root=work / "ray", engine="ray", **kw)  # type: ignore[arg-type]
    t_ray, read_ray = time.perf_counter() - t, _driver_read() - read0
    same = all(_files(local[s]) == _files(remote[s]) for s in local)
    print(f"prepare local : {t_local:7.2f} s  {n / t_local:8.0f} img/s  "
          f"driver read {read_local / 1e6:8.1f} MB")  # fmt: skip
    print(f"ray.init      : {t_init:7.2f} s  (startup, once per driver)")
    print(f"prepare ray   : {t_ray:7.2f} s  {n / t_ray:8.0f} img/s  "
          f"driver read {read_ray / 1e6:8.1f} MB  "
          f"ratio ray/local {t_ray / t_local:.2f}")  # fmt: skip
    print(f"identical output: {same}")

    split_name = "all" if args.source == "tree" else "train"
    split = imagesets.load(name, root=work / "local", options=options, progress=False)[split_name]
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
