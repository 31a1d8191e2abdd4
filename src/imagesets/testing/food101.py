"""Fake ``food-101.tar.gz``: ``food-101/images/<class>/<id>.jpg`` and ``food-101/meta/*.txt``."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeFood101", "write_fake_food101", "write_food101_edition"]


@dataclass(frozen=True)
class FakeFood101:
    """What was written: per split the image members (``<class>/<id>.jpg``) in archive order
    and their class indices."""

    names: dict[str, list[str]]
    labels: dict[str, list[int]]


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_food101(
    path: Path, counts: Mapping[str, int], classes: Sequence[str], seed: int
) -> FakeFood101:
    """Write the ``.tar.gz``: per split ``counts[split]`` small JPEGs cycling through
    ``classes``, stored class folder by class folder (so the splits interleave), one image in
    no list, and then ``meta/`` with both lists (in an order unlike the archive's), and the
    files the reader ignores (``classes.txt``, ``train.json``)."""
    from .imagenet import image_bytes

    stored: list[tuple[str, str, int]] = []  # "<class>/<id>", split, class index
    lists: dict[str, list[str]] = {s: [] for s in counts}
    for s, (split, n) in enumerate(counts.items()):
        for i in range(n):
            k = (i + s) % len(classes)
            image = f"{classes[k]}/{1000 * s + 7 * i + 11}"
            lists[split].append(image)
            stored.append((image, split, k))
    stored.sort()
    names: dict[str, list[str]] = {s: [] for s in counts}
    labels: dict[str, list[int]] = {s: [] for s in counts}
    with tarfile.open(path, "w:gz") as tf:
        for number, (image, split, k) in enumerate(stored):
            _add(tf, f"food-101/images/{image}.jpg", image_bytes(seed + number))
            names[split].append(f"{image}.jpg")
            labels[split].append(k)
        _add(tf, f"food-101/images/{classes[0]}/999999.jpg", image_bytes(seed + 999))
        _add(tf, "food-101/meta/classes.txt", ("\n".join(classes) + "\n").encode())
        for split, rows in lists.items():
            _add(tf, f"food-101/meta/{split}.txt", ("\n".join(reversed(rows)) + "\n").encode())
            _add(tf, f"food-101/meta/{split}.json", b"{}")
        _add(tf, "food-101/README.txt", b"Food-101 (fake)\n")
    return FakeFood101(names, labels)


def write_food101_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``food101``: the edition's one ``archive`` for ``train`` and
    ``test``, classes from the option ``classes``. Facts: ``"food"`` -> :class:`FakeFood101`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, ("train", "test"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake Food-101 edition has one archive, found {archives}")
    classes = list(edition.get("options", {}).get("classes") or entry["classes"])
    fake = write_fake_food101(
        folder / archives.pop(), {s: counts[s] for s in splits}, classes, seed
    )
    return FakeFiles({s: counts[s] for s in splits}, facts={"food": fake})
