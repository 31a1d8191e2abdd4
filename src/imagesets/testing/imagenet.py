"""Fake ILSVRC-2012 files in the real layout: train tar of class tars, val tar, devkit.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     fake = write_fake_ilsvrc(pathlib.Path(tmp), per_class=2, n_val=3)
>>> len(fake.train_labels), len(fake.val_labels), fake.train.name
(8, 3, 'ILSVRC2012_img_train.tar')
"""

from __future__ import annotations

import functools
import io
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..formats.imagenet import imagenet_classes
from .images import photo
from .matlab import write_fake_imagenet_meta

__all__ = [
    "DEFAULT_CLASSES",
    "FakeIlsvrc",
    "image_bytes",
    "tar_bytes",
    "write_fake_devkit",
    "write_fake_ilsvrc",
]

#: tench (class 0), sea snake (65, the first real val image), Shetland sheepdog (230, whose real
#: tar holds the PNG named .JPEG) and toilet tissue (999).
DEFAULT_CLASSES = ("n01440764", "n01751748", "n02105855", "n15075141")
DEVKIT_DATA = "ILSVRC2012_devkit_t12/data/"
TRAIN_NAME, VAL_NAME = "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"
DEVKIT_NAME = "ILSVRC2012_devkit_t12.tar.gz"
_SIZE = (20, 28)  # height, width of the fake pictures


def image_bytes(seed: int, kind: str = "jpeg", size: tuple[int, int] = _SIZE) -> bytes:
    """A small picture's file bytes: ``kind`` is ``jpeg``, ``cmyk`` (a CMYK JPEG), ``png``
    or ``truncated`` (the first half of a JPEG)."""
    image = Image.fromarray(photo(*size, seed))
    buf = io.BytesIO()
    if kind == "png":
        image.save(buf, format="PNG")
    else:
        image.convert("CMYK" if kind == "cmyk" else "RGB").save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    return data[: len(data) // 2] if kind == "truncated" else data


def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """An uncompressed tar of ``(name, data)`` members in the given order (names unchecked)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        _add(tf, members)
    return buf.getvalue()


def _add(tf: tarfile.TarFile, members: Iterable[tuple[str, bytes]]) -> None:
    for name, data in members:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))


@functools.lru_cache(maxsize=8)
def _meta_bytes(order: tuple[str, ...]) -> bytes:
    """A fake meta.mat numbering ``order`` 1..n (cached: 1,000 records take a quarter second)."""
    words = dict(zip(*imagenet_classes(), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp) / "meta.mat"
        write_fake_imagenet_meta(meta, order, [words.get(w, w).replace("_", " ") for w in order])
        return meta.read_bytes()


def write_fake_devkit(
    path: Path, ground_truth: Sequence[int], meta_wnids: Sequence[str] | None = None
) -> None:
    """Write ``ILSVRC2012_devkit_t12.tar.gz``: ``data/meta.mat`` (leaf ``i`` of ``meta_wnids``,
    default all 1,000 classes sorted, has ILSVRC2012_ID ``i + 1``; one inner node follows) and
    ``data/ILSVRC2012_validation_ground_truth.txt`` (one ID per line)."""
    order = tuple(meta_wnids if meta_wnids is not None else imagenet_classes()[0])
    members = [
        ("ILSVRC2012_devkit_t12/COPYING", b"fake devkit\n"),
        (DEVKIT_DATA + "meta.mat", _meta_bytes(order)),
        (DEVKIT_DATA + "ILSVRC2012_validation_ground_truth.txt",
         "".join(f"{i}\n" for i in ground_truth).encode()),
    ]  # fmt: skip
    with tarfile.open(path, "w:gz") as tf:
        _add(tf, members)


@dataclass(frozen=True)
class FakeIlsvrc:
    """What :func:`write_fake_ilsvrc` wrote, and what a reader must find.

    Attributes:
        train, val, devkit: the three files.
        train_names, val_names: the decodable images in archive order, named as a reader names
            them (``"<wnid>/<file>"`` for train, the member name for val).
        train_labels, val_labels: int64 class indices (sorted-wnid order) of those images.
        files: every image written (name as above) -> its bytes, broken ones included.
        skipped: name -> reason, for the images no reader can decode.
        meta_ids: wnid -> ILSVRC2012_ID in the fake meta.mat (a shuffled order).
    """

    train: Path
    val: Path
    devkit: Path
    train_names: tuple[str, ...]
    train_labels: NDArray[np.int64]
    val_names: tuple[str, ...]
    val_labels: NDArray[np.int64]
    files: Mapping[str, bytes]
    skipped: Mapping[str, str]
    meta_ids: Mapping[str, int]


@dataclass
class _Collector:
    """Accumulates what was written: every file, the skipped ones, the decodable ones' labels."""

    files: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    good: list[tuple[str, int]] = field(default_factory=list)

    def add(self, name: str, data: bytes, kind: str, label: int) -> None:
        self.files[name] = data
        if kind == "truncated":
            self.skipped[name] = "truncated"
        else:
            self.good.append((name, label))

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.good)

    def labels(self) -> NDArray[np.int64]:
        return np.array([label for _, label in self.good], np.int64).reshape(-1)


def _kinds(per_class: int, first: bool, last: bool, truncated: bool) -> list[str]:
    """The kind of each image of a class tar: the first tar starts with the CMYK JPEG and the
    PNG named .JPEG, the last one ends with the truncated JPEG."""
    kinds = ["jpeg"] * per_class
    if first:
        kinds[:2] = ["cmyk", "png"][:per_class]
    return [*kinds, "truncated"] if last and truncated else kinds


def _write_train(
    path: Path, classes: Sequence[str], per_class: int, seed: int, truncated: bool, seen: _Collector
) -> None:
    index = {w: i for i, w in enumerate(imagenet_classes()[0])}
    tars = sorted(classes, reverse=True)
    outer = []
    for pos, wnid in enumerate(tars):
        inner = []
        for k, kind in enumerate(_kinds(per_class, pos == 0, pos == len(tars) - 1, truncated)):
            name = f"{wnid}_{1000 * pos + k + 1}.JPEG"
            inner.append((name, image_bytes(seed * 100_003 + 1000 * pos + k, kind)))
            seen.add(f"{wnid}/{name}", inner[-1][1], kind, index[wnid])
        outer.append((f"{wnid}.tar", tar_bytes(inner)))
    path.write_bytes(tar_bytes(outer))


def _write_val(
    path: Path,
    labels: Sequence[int],
    broken: int,
    seed: int,
    rng: np.random.Generator,
    seen: _Collector,
) -> None:
    members = []
    for number in rng.permutation(len(labels)) + 1:
        name = f"ILSVRC2012_val_{number:08d}.JPEG"
        kind = "truncated" if number == broken else "jpeg"
        members.append((name, image_bytes(seed * 100_003 + 500_000 + int(number), kind)))
        seen.add(name, members[-1][1], kind, labels[number - 1])
    path.write_bytes(tar_bytes(members))


def write_fake_ilsvrc(
    folder: Path,
    classes: Sequence[str] = DEFAULT_CLASSES,
    per_class: int = 3,
    n_val: int = 8,
    seed: int = 0,
    *,
    truncated: bool = False,
) -> FakeIlsvrc:
    """Write ``ILSVRC2012_img_train.tar``, ``ILSVRC2012_img_val.tar`` and
    ``ILSVRC2012_devkit_t12.tar.gz`` under ``folder``, in the real layout.

    Train holds one class tar per wnid of ``classes`` (in reverse sorted order, to prove order
    does not matter) with ``per_class`` 20x28 images each; the first tar's first two are a CMYK
    JPEG and a PNG named ``.JPEG``. Val holds ``n_val`` JPEGs in a shuffled member order, of
    classes drawn from ``classes``; meta.mat numbers all 1,000 classes in a shuffled
    ILSVRC2012_ID order, so ground-truth IDs are not class indices. ``truncated`` adds a
    truncated JPEG to the last class tar and makes one val image truncated: readers skip them.
    """
    rng = np.random.default_rng(seed)
    wnids = imagenet_classes()[0]
    index = {w: i for i, w in enumerate(wnids)}
    order = [wnids[i] for i in rng.permutation(len(wnids))]
    meta_ids = {w: i + 1 for i, w in enumerate(order)}
    val_wnids = [classes[int(i)] for i in rng.integers(0, len(classes), n_val)]
    broken = int(rng.integers(1, n_val + 1)) if truncated and n_val else 0
    folder.mkdir(parents=True, exist_ok=True)
    train, val = _Collector(), _Collector()
    fake_train, fake_val, devkit = (folder / n for n in (TRAIN_NAME, VAL_NAME, DEVKIT_NAME))
    _write_train(fake_train, classes, per_class, seed, truncated, train)
    _write_val(fake_val, [index[w] for w in val_wnids], broken, seed, rng, val)
    write_fake_devkit(devkit, [meta_ids[w] for w in val_wnids], order)
    return FakeIlsvrc(
        train=fake_train,
        val=fake_val,
        devkit=devkit,
        train_names=train.names(),
        train_labels=train.labels(),
        val_names=val.names(),
        val_labels=val.labels(),
        files={**train.files, **val.files},
        skipped={**train.skipped, **val.skipped},
        meta_ids=meta_ids,
    )
