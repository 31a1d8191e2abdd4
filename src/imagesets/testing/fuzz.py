"""Seeded mutation fuzzing of every reader, run in a worker process with hard limits.

``python -m imagesets.testing.fuzz`` is the worker: it reads one case per line on stdin
(``TARGET SEED``), runs it and answers one JSON line per case: ``{"target", "seed", "outcome",
"detail", "rss"}`` where ``outcome`` is ``"ok"`` (the reader accepted the bytes), ``"refused"``
(an :class:`~imagesets.errors.ImagesetsError`) or ``"unexpected"`` (anything else: a bug), and
``rss`` the peak resident memory in bytes so far. The worker caps its address space
(``RLIMIT_AS``) at its baseline plus ``--memory`` bytes and arms ``signal.alarm`` per case, so
a bomb fails as ``MemoryError`` (an unexpected outcome) and a hang ends as ``"hang"``; the
parent (``tests/test_fuzz.py``) also kills and restarts a worker that stops answering.

Each target takes a valid fake file from :mod:`imagesets.testing`, applies 1 to 4 mutations
chosen by ``numpy.random.default_rng(seed)`` (flip, insert, delete, truncate, or a 2/4/8-byte
field set to a huge value) and runs the reader on the result.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import os
import resource
import signal
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from ..errors import ImagesetsError

__all__ = ["TARGETS", "mutate", "run_case"]

_HUGE = (0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 62, (1 << 64) - 1)


class _Timeout(Exception):
    """Raised by the per-case alarm."""


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` with 1 to 4 random mutations (see the module docstring)."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 6))
        at = int(rng.integers(0, max(len(buf), 1)))
        if kind == 0 and buf:  # flip bits of one byte
            buf[at] ^= int(rng.integers(1, 256))
        elif kind == 1:  # insert bytes
            buf[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        elif kind == 2:  # delete bytes
            del buf[at : at + int(rng.integers(1, 64))]
        elif kind == 3:  # truncate
            del buf[at:]
        else:  # a header-like field set to a huge value
            width = (2, 4, 8)[int(rng.integers(0, 3))]
            value = _HUGE[int(rng.integers(0, len(_HUGE)))] % (1 << (8 * width))
            raw = value.to_bytes(width, "little")
            buf[at : at + width] = raw if rng.integers(0, 2) else raw[::-1]
    return bytes(buf)


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="imagesets-fuzz-"))


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- valid samples, made once per worker -----------------------------------------------------


@functools.cache
def _sample(target: str) -> bytes:
    from . import cifar, idx, imagenet, matlab, svhn_full

    tmp = _tmp()
    if target in ("idx-images", "idx-labels"):
        images, labels = idx.fake_mnist_arrays(8, seed=0)
        return idx.idx_bytes(images if target == "idx-images" else labels, compress=False)
    if target == "emnist":
        from .emnist import fake_emnist_split, write_fake_emnist

        digits = [str(d) for d in range(10)]
        split = {"train": fake_emnist_split(4, digits, seed=0)}
        return write_fake_emnist(tmp / "gzip.zip", "digits", split, digits).read_bytes()
    if target == "emnist-member":  # the IDX bytes of one member, zipped after the mutation
        return idx.idx_bytes(np.zeros((4, 28, 28), np.uint8), compress=False)
    if target in ("cifar-python", "cifar-binary"):
        fake = cifar.make_fake_cifar("cifar10", 10, 4)
        write = cifar.write_cifar_python if target == "cifar-python" else cifar.write_cifar_binary
        path = write(tmp / "c.tar.gz", "cifar10", fake["train"], fake["test"])
        return gzip.decompress(path.read_bytes())
    if target == "stl10":
        from .stl10 import fake_stl10_split, write_fake_stl10

        data = {"train": fake_stl10_split(3, 10, seed=0, folds=True)}
        path = write_fake_stl10(tmp / "s.tar.gz", data, [str(c) for c in range(10)])
        return gzip.decompress(path.read_bytes())
    if target == "imagenette":
        from .imagenette import write_fake_imagenette

        path = tmp / "imagenette2-160.tgz"
        write_fake_imagenette(path, {"train": 2, "val": 1}, _WNIDS, 0)
        return gzip.decompress(path.read_bytes())
    if target in ("oxford-pet", "oxford-pet-images"):
        pets = _oxford_pet_fakes()
        return gzip.decompress(pets[1 if target == "oxford-pet" else 0].read_bytes())
    if target == "eurosat":
        from .eurosat import write_fake_eurosat

        path = tmp / "EuroSAT.zip"
        write_fake_eurosat(path, _EUROSAT, [3, 2], 0)
        return path.read_bytes()
    if target == "tiny-imagenet":
        return _tiny_imagenet_fake().read_bytes()
    if target == "tiny-imagenet-text":  # the three text members, zipped after the mutation
        with zipfile.ZipFile(_tiny_imagenet_fake()) as zf:
            return _TINY_SEP.join(zf.read(f"tiny-imagenet-200/{n}") for n in _TINY_TEXTS)
    if target == "food101":
        from .food101 import write_fake_food101

        path = tmp / "food-101.tar.gz"
        write_fake_food101(path, {"train": 3, "test": 2}, _FOOD, 0)
        return gzip.decompress(path.read_bytes())
    if target in ("flowers102", "flowers102-labels", "flowers102-setid"):
        files = _flowers_fakes()
        role = {"flowers102": "images", "flowers102-labels": "labels"}.get(target, "setid")
        raw = files[role].read_bytes()
        return gzip.decompress(raw) if role == "images" else raw
    if target == "pickle":
        return cifar.py2_pickle(
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2], b"batch_label": b"x"}
        )
    if target in ("mat", "mat-raw"):
        matlab.write_fake_svhn(tmp / "s.mat", n=3, compress=target == "mat")
        return (tmp / "s.mat").read_bytes()
    if target == "hdf5":
        rng = np.random.default_rng(0)
        shapes = np.array([[20, 30], [25, 35]], np.int32)
        boxes, offsets = svhn_full.fake_boxes(rng, shapes)
        return svhn_full.write_digit_struct(["1.png", "2.png"], boxes, offsets)
    if target == "tar":
        return _tar({"a/x.bin": b"x" * 300, "a/y.bin": b"y" * 700})
    if target == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("a/x.bin", b"x" * 300)
            zf.writestr("a/y.bin", b"y" * 700)
        return buf.getvalue()
    if target == "jpeg":
        return imagenet.image_bytes(0, "jpeg")
    if target == "png":
        return imagenet.image_bytes(0, "png")
    if target == "packed":
        from ..imaging import encode

        return encode(np.full((12, 16, 3), 90, np.uint8)) + encode(np.zeros((8, 8, 3), np.uint8))
    raise KeyError(target)


# --- running one mutated sample through its reader --------------------------------------------


def _write(data: bytes, name: str) -> Path:
    path = _tmp() / name
    path.write_bytes(data)
    return path


def _run_idx(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter, idx

    images = idx.idx_bytes(np.zeros((8, 28, 28), np.uint8), compress=False)
    labels = idx.idx_bytes(np.zeros(8, np.uint8), compress=False)
    files = {"images": data, "labels": labels} if target == "idx-images" else {
        "images": images, "labels": data}  # fmt: skip
    paths = {role: _write(raw, f"{role}-idx") for role, raw in files.items()}
    get_reader("idx")(ReadRequest("mnist", "train", paths), MemoryWriter())


def _run_emnist(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter, idx

    if target == "emnist-member":
        from ..formats.emnist import member_names

        names = member_names("digits", "train")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(names["images"], gzip.compress(data, mtime=0))
            zf.writestr(names["labels"], idx.idx_bytes(np.zeros(4, np.uint8)))
            zf.writestr(names["mapping"], "".join(f"{d} {48 + d}\n" for d in range(10)))
        data = buf.getvalue()
    path = _write(data, "gzip.zip")
    request = ReadRequest("emnist-digits", "train", {"archive": path}, {"variant": "digits"})
    get_reader("emnist")(request, MemoryWriter())


def _run_cifar(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    path = _write(data, "c.tar")
    request = ReadRequest("cifar10", "train", {"archive": path}, {"variant": "cifar10"})
    get_reader(target)(request, MemoryWriter())


def _run_stl10(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    path = _write(data, "stl10_binary.tar")
    get_reader("stl10-binary")(ReadRequest("stl10", "train", {"archive": path}), MemoryWriter())


_WNIDS = ["n01440764", "n02102040", "n02979186"]


def _run_imagenette(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    path = _write(data, "imagenette2-160.tar")
    options = {"wnids": _WNIDS, "noisy_csv": "noisy_imagenette.csv", "workers": 1}
    for split in ("train", "val"):
        request = ReadRequest("imagenette", split, {"archive": path}, options)
        get_reader("imagenette")(request, MemoryWriter())


_BREEDS = ["Abyssinian", "american_bulldog", "Bengal"]


@functools.cache
def _oxford_pet_fakes() -> tuple[Path, Path]:
    """Valid Oxford-IIIT Pet archives: the one not being mutated is read as it is."""
    from .oxford_pet import write_fake_oxford_pet

    tmp = _tmp()
    images, annotations = tmp / "images.tar.gz", tmp / "annotations.tar.gz"
    write_fake_oxford_pet(images, annotations, {"trainval": 3, "test": 2}, _BREEDS, 0)
    return images, annotations


def _run_oxford_pet(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    images, annotations = _oxford_pet_fakes()
    if target == "oxford-pet":
        annotations = _write(data, "annotations.tar")
    else:
        images = _write(data, "images.tar")
    files = {"images": images, "annotations": annotations}
    for split in ("trainval", "test"):
        request = ReadRequest("oxford-iiit-pet", split, files, {"breeds": _BREEDS, "workers": 1})
        get_reader("oxford-pet")(request, MemoryWriter())


_EUROSAT = ["Forest", "River"]


def _run_eurosat(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    path = _write(data, "EuroSAT.zip")
    for split in ("train", "test"):
        request = ReadRequest("eurosat", split, {"archive": path}, {"classes": _EUROSAT,
                                                                    "workers": 1})  # fmt: skip
        get_reader("eurosat")(request, MemoryWriter())


_TINY_TEXTS = ("wnids.txt", "words.txt", "val/val_annotations.txt")
_TINY_SEP = b"\n--\n"


@functools.cache
def _tiny_imagenet_fake() -> Path:
    """A valid Tiny ImageNet zip of the three classes :data:`_WNIDS`."""
    from .tiny_imagenet import write_fake_tiny_imagenet

    path = _tmp() / "tiny-imagenet-200.zip"
    counts = {"train": 2, "val": 2, "test": 1}
    write_fake_tiny_imagenet(path, counts, _WNIDS, ["tench", "springer", "player"], 0)
    return path


def _run_tiny_imagenet(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    if target == "tiny-imagenet":
        path = _write(data, "tiny-imagenet-200.zip")
    else:  # the mutated text members in place of the valid ones
        texts = dict(zip(_TINY_TEXTS, [*data.split(_TINY_SEP, 2), b"", b""], strict=False))
        path = _write(b"", "tiny-imagenet-200.zip")
        with zipfile.ZipFile(_tiny_imagenet_fake()) as src, zipfile.ZipFile(path, "w") as zf:
            for info in src.infolist():
                name = info.filename.removeprefix("tiny-imagenet-200/")
                zf.writestr(info, texts[name] if name in texts else src.read(info))
    for split in ("train", "val", "test"):
        options = {"wnids": _WNIDS, "workers": 1}
        request = ReadRequest("tiny-imagenet", split, {"archive": path}, options)
        get_reader("tiny-imagenet")(request, MemoryWriter())


_FOOD = ["apple_pie", "baby_back_ribs"]


def _run_food101(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    path = _write(data, "food-101.tar")
    for split in ("train", "test"):
        request = ReadRequest("food101", split, {"archive": path}, {"classes": _FOOD,
                                                                    "workers": 1})  # fmt: skip
        get_reader("food101")(request, MemoryWriter())


@functools.cache
def _flowers_fakes() -> dict[str, Path]:
    """Valid Flowers-102 files: the two not being mutated are read as they are."""
    from .flowers102 import write_fake_flowers102

    tmp = _tmp()
    names = {"images": "102flowers.tgz", "labels": "imagelabels.mat", "setid": "setid.mat"}
    write_fake_flowers102(tmp, names, {"train": 2, "val": 1, "test": 2}, 3, 0)
    return {role: tmp / name for role, name in names.items()}


def _run_flowers102(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from . import MemoryWriter

    files = dict(_flowers_fakes())
    if target == "flowers102":
        files["images"] = _write(data, "mutated-102flowers.tgz")  # a plain tar: sniffed
    else:
        files["labels" if target == "flowers102-labels" else "setid"] = _write(data, "mutated.mat")
    for split in ("train", "val", "test"):
        request = ReadRequest("flowers102", split, files, {"classes": ["a", "b", "c"],
                                                           "workers": 1})  # fmt: skip
        get_reader("flowers102")(request, MemoryWriter())


def _run_pickle(data: bytes, target: str) -> None:
    from .._pickle import pickled_dict, restricted_loads
    from ..formats.cifar import _python_labels

    batch = pickled_dict(restricted_loads(data, "fuzz.pkl"), "fuzz.pkl", "batch")
    _python_labels(batch, "labels", 2, "fuzz.pkl")


def _run_mat(data: bytes, target: str) -> None:
    from ..formats import ReadRequest, get_reader
    from ..formats.matlab import MatFile
    from . import MemoryWriter

    path = _write(data, "s.mat")
    get_reader("svhn-mat")(ReadRequest("svhn", "test", {"mat": path}), MemoryWriter())
    with MatFile(path) as mat:  # the generic reader too, on every variable
        for info in mat.variables:
            mat.read(info.name)


def _run_hdf5(data: bytes, target: str) -> None:
    from ..formats.svhn_full import read_digit_struct

    read_digit_struct(io.BytesIO(data), "digitStruct.mat")


def _run_archive(data: bytes, target: str) -> None:
    from ..archives import iter_files, members

    path = _write(data, f"a.{target}")
    list(members(path))
    for _, reader in iter_files(path):
        reader.read()


def _run_image(data: bytes, target: str) -> None:
    from ..imaging import UndecodableImageError, check, decode, probe

    for call in (lambda: decode(data, size=16), lambda: check(data), lambda: probe(data)):
        with contextlib.suppress(UndecodableImageError):
            call()


def _run_packed(data: bytes, target: str) -> None:
    from ..packed import PackedImages

    rng = np.random.default_rng(len(data))
    offsets = np.array([0, int(rng.integers(0, len(data) + 8)), len(data)])
    if rng.integers(0, 4) == 0:
        offsets[1] = int(_HUGE[int(rng.integers(0, 4))])
    images = PackedImages(data, offsets, workers=1)
    for i in range(len(images)):
        with contextlib.suppress(ImagesetsError):
            images[i]
    images.take([0, 1], size=8)


TARGETS: dict[str, Callable[[bytes, str], None]] = {
    "idx-images": _run_idx,
    "idx-labels": _run_idx,
    "emnist": _run_emnist,
    "emnist-member": _run_emnist,
    "cifar-python": _run_cifar,
    "cifar-binary": _run_cifar,
    "stl10": _run_stl10,
    "imagenette": _run_imagenette,
    "oxford-pet": _run_oxford_pet,
    "oxford-pet-images": _run_oxford_pet,
    "eurosat": _run_eurosat,
    "tiny-imagenet": _run_tiny_imagenet,
    "tiny-imagenet-text": _run_tiny_imagenet,
    "food101": _run_food101,
    "flowers102": _run_flowers102,
    "flowers102-labels": _run_flowers102,
    "flowers102-setid": _run_flowers102,
    "pickle": _run_pickle,
    "mat": _run_mat,
    "mat-raw": _run_mat,
    "hdf5": _run_hdf5,
    "tar": _run_archive,
    "zip": _run_archive,
    "jpeg": _run_image,
    "png": _run_image,
    "packed": _run_packed,
}


def run_case(target: str, seed: int) -> tuple[str, str]:
    """``(outcome, detail)`` of one case (outcomes in the module docstring)."""
    data = mutate(_sample(target), np.random.default_rng([seed, len(target)]))
    try:
        TARGETS[target](data, target)
    except ImagesetsError as exc:
        return "refused", type(exc).__name__
    except _Timeout:
        return "hang", "no answer within the alarm"
    except Exception as exc:  # every other exception is what we look for
        return "unexpected", f"{type(exc).__name__}: {exc}"[:300]
    return "ok", ""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def main(argv: list[str] | None = None) -> int:
    """The worker loop: ``--memory BYTES --alarm SECONDS``; cases on stdin, results on stdout."""
    args = argv if argv is not None else sys.argv[1:]
    memory = int(args[args.index("--memory") + 1]) if "--memory" in args else 3 << 29
    alarm = int(args[args.index("--alarm") + 1]) if "--alarm" in args else 5
    from . import limits

    _sample("jpeg")  # imports done before the cap
    limit = limits.address_space() + memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    for line in sys.stdin:
        target, seed = line.split()
        signal.alarm(alarm)
        try:
            outcome, detail = run_case(target, int(seed))
        except _Timeout:
            outcome, detail = "hang", "alarm outside the reader"
        finally:
            signal.alarm(0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result: dict[str, Any] = {"target": target, "seed": int(seed), "outcome": outcome,
                                  "detail": detail, "rss": rss}  # fmt: skip
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
