"""Fake ``tiny-imagenet-200.zip`` in the real layout: the text members and 64x64 JPEGs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = [
    "FakeTinyImagenet",
    "gray_jpeg",
    "write_fake_tiny_imagenet",
    "write_tiny_imagenet_edition",
]

ROOT = "tiny-imagenet-200"
GRAY_EVERY = 5  # every fifth image of a split is a grayscale JPEG


@dataclass(frozen=True)
class FakeTinyImagenet:
    """What was written, per split: the image members (relative to the root folder) in archive
    order, their class indices (into the sorted wnids; -1 for ``test``) and which are gray."""

    names: dict[str, list[str]]
    labels: dict[str, list[int]]
    gray: dict[str, list[bool]]


def gray_jpeg(seed: int, side: int = 64) -> bytes:
    """A grayscale (mode ``L``, one component) JPEG of ``side`` x ``side``."""
    from PIL import Image

    from .images import photo

    buf = io.BytesIO()
    Image.fromarray(photo(side, side, seed)).convert("L").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _shuffled(items: Sequence[str]) -> list[str]:
    """``items`` in a fixed order that is not sorted (odd positions first, then even)."""
    return [*items[1::2], *items[::2]]


def _member(split: str, wnid: str, i: int) -> str:
    """The name of image ``i`` of ``split`` below the root folder."""
    if split == "train":
        return f"train/{wnid}/images/{wnid}_{i}.JPEG"
    return f"{split}/images/{split}_{i}.JPEG"


def write_fake_tiny_imagenet(
    path: Path, counts: Mapping[str, int], wnids: Sequence[str], names: Sequence[str], seed: int
) -> FakeTinyImagenet:
    """Write the zip at ``path``: ``wnids.txt`` (not sorted), ``words.txt`` (the classes'
    lines ``"wnid<TAB>name, another name"`` among lines of other synsets), per split in
    ``counts`` (``train``, ``val``, ``test``) that many 64x64 JPEGs cycling through the sorted
    wnids (every :data:`GRAY_EVERY`-th one grayscale), train's ``*_boxes.txt``, and
    ``val_annotations.txt`` with its rows in the reverse order of the val images."""
    from .imagenet import image_bytes

    order = sorted(wnids)
    name_of = dict(zip(wnids, names, strict=True))
    words = [f"n0000{k:04d}\tentity {k}, thing" for k in range(3)]
    words += [f"{w}\t{name_of[w]}, {name_of[w]} (other name)" for w in _shuffled(order)]
    members: list[tuple[str, bytes]] = [
        (f"{ROOT}/wnids.txt", ("\n".join(_shuffled(order)) + "\n").encode()),
        (f"{ROOT}/words.txt", ("\n".join([*words, "n09999999\tlast, one"]) + "\n").encode()),
    ]
    fake = FakeTinyImagenet({}, {}, {})
    rows: list[str] = []
    for s, (split, n) in enumerate(counts.items()):
        fake.names[split], fake.labels[split], fake.gray[split] = [], [], []
        for i in range(n):
            label = i % len(order)
            wnid = order[label]
            name = _member(split, wnid, i)
            gray = i % GRAY_EVERY == GRAY_EVERY - 1
            k = seed + 1000 * s + i
            data = gray_jpeg(k) if gray else image_bytes(k, size=(64, 64))
            members.append((f"{ROOT}/{name}", data))
            fake.names[split].append(name)
            fake.labels[split].append(-1 if split == "test" else label)
            fake.gray[split].append(gray)
            if split == "train" and i < len(order):
                boxes = f"{wnid}_{i}.JPEG\t0\t0\t63\t63\n".encode()
                members.append((f"{ROOT}/train/{wnid}/{wnid}_boxes.txt", boxes))
            if split == "val":
                rows.append(f"val_{i}.JPEG\t{wnid}\t1\t2\t60\t61")
        if split == "val":
            text = "\n".join(reversed(rows)) + "\n"
            members.append((f"{ROOT}/val/val_annotations.txt", text.encode()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{ROOT}/", b"")
        for name, data in members:
            zf.writestr(name, data)
    return fake


def write_tiny_imagenet_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``tiny-imagenet``: one zip for every split, the wnids of the
    edition's options named as the entry's classes (the entry lists them in sorted-wnid order).
    Facts: ``"zip"`` -> :class:`FakeTinyImagenet`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, ("train", "val", "test"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake Tiny ImageNet edition has one zip, found {archives}")
    wnids = sorted(edition.get("options", {})["wnids"])
    fake = write_fake_tiny_imagenet(
        folder / archives.pop(), {s: counts[s] for s in splits}, wnids, list(entry["classes"]), seed
    )
    return FakeFiles({s: counts[s] for s in splits}, facts={"zip": fake})
