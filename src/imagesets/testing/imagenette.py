"""Fake fast.ai Imagenette archives: ``<root>/{train,val}/<wnid>/*.JPEG`` and the noisy CSV."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeImagenette", "write_fake_imagenette", "write_imagenette_edition"]

NOISY = (0, 1, 5, 25, 50)


@dataclass(frozen=True)
class FakeImagenette:
    """What was written: per split the image paths (``train/<wnid>/<name>``) in archive order,
    their class indices, and per noisy column ``noisy_labels_K`` the class indices."""

    paths: dict[str, list[str]]
    labels: dict[str, list[int]]
    noisy: dict[str, dict[str, list[int]]]


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_imagenette(
    path: Path,
    counts: Mapping[str, int],
    wnids: Sequence[str],
    seed: int,
    csv_name: str = "noisy_imagenette.csv",
    csv_first: bool = False,
) -> FakeImagenette:
    """Write a ``.tgz`` at ``path`` whose top folder is the file name less ``.tgz``: per split
    ``counts[split]`` small JPEGs cycling through ``wnids``, and the CSV (after the images, or
    first with ``csv_first``). Noisy column K relabels image ``i`` when ``(i + K) % 3 == 0``
    and K > 0 (column 0 is the true class)."""
    from .imagenet import image_bytes

    root = path.name.removesuffix(".tgz").removesuffix(".tar.gz")
    paths: dict[str, list[str]] = {}
    labels: dict[str, list[int]] = {}
    noisy: dict[str, dict[str, list[int]]] = {}
    rows = ["path," + ",".join(f"noisy_labels_{k}" for k in NOISY) + ",is_valid"]
    images: list[tuple[str, bytes]] = []
    for s, (split, n) in enumerate(counts.items()):
        paths[split], labels[split] = [], []
        noisy[split] = {f"noisy_labels_{k}": [] for k in NOISY if k}
        for i in range(n):
            label = i % len(wnids)
            name = f"{split}/{wnids[label]}/{wnids[label]}_{i}.JPEG"
            paths[split].append(name)
            labels[split].append(label)
            images.append((f"{root}/{name}", image_bytes(seed + 100 * s + i)))
            row = [wnids[label]]
            for k in NOISY[1:]:
                value = (label + 1) % len(wnids) if (i + k) % 3 == 0 else label
                noisy[split][f"noisy_labels_{k}"].append(value)
                row.append(wnids[value])
            rows.append(f"{name},{','.join(row)},{split == 'val'}")
    text = ("\n".join(rows) + "\n").encode()
    with tarfile.open(path, "w:gz") as tf:
        if csv_first:
            _add(tf, f"{root}/{csv_name}", text)
        for name, data in images:
            _add(tf, name, data)
        if not csv_first:
            _add(tf, f"{root}/{csv_name}", text)
    return FakeImagenette(paths, labels, noisy)


def write_imagenette_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``imagenette``: one archive for train and val, the wnids and
    CSV name of the edition's options. Facts: ``"archive"`` -> :class:`FakeImagenette`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    _entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, ("train", "val"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake Imagenette edition has one archive, found {archives}")
    options = edition.get("options", {})
    fake = write_fake_imagenette(
        folder / archives.pop(),
        {s: counts[s] for s in splits},
        list(options["wnids"]),
        seed,
        csv_name=str(options["noisy_csv"]),
    )
    return FakeFiles({s: counts[s] for s in splits}, facts={"archive": fake})
