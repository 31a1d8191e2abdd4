"""Fake Oxford 102 Flowers files: ``102flowers.tgz`` (``jpg/image_NNNNN.jpg``) and the two
MAT-files ``imagelabels.mat`` (1-based ``labels``) and ``setid.mat`` (``trnid``, ``valid``,
``tstid``), in the real layout."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeFlowers", "write_fake_flowers102", "write_flowers102_edition"]

SETID = {"train": "trnid", "val": "valid", "test": "tstid"}


@dataclass(frozen=True)
class FakeFlowers:
    """What was written: per split the image numbers in archive order and their 0-based
    labels; ``file_labels`` the 1-based labels stored in ``imagelabels.mat`` (column n - 1
    for image n)."""

    ids: dict[str, list[int]]
    labels: dict[str, list[int]]
    file_labels: list[int]


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_flowers102(
    folder: Path, names: Mapping[str, str], counts: Mapping[str, int], classes: int, seed: int
) -> FakeFlowers:
    """Write the three files (``names``: role ``images``/``labels``/``setid`` -> file name)
    into ``folder``: ``sum(counts)`` JPEGs numbered 1..N, split by a seeded permutation (the
    set ids are not in image order, as in the real ``setid.mat``), labels 1..``classes``
    (``double``, as MATLAB saves them), a folder entry and a stray file (ignored)."""
    from .imagenet import image_bytes
    from .matlab import write_mat

    rng = np.random.default_rng(seed)
    total = sum(counts.values())
    file_labels = [int(x) for x in rng.integers(1, classes + 1, total)]
    order = [int(x) + 1 for x in rng.permutation(total)]
    setid: dict[str, list[int]] = {}
    for split, n in counts.items():
        setid[split], order = order[:n], order[n:]
    with tarfile.open(folder / names["images"], "w:gz") as tf:
        dir_info = tarfile.TarInfo("jpg")
        dir_info.type = tarfile.DIRTYPE
        tf.addfile(dir_info)
        for n in range(1, total + 1):
            _add(tf, f"jpg/image_{n:05d}.jpg", image_bytes(seed + n))
        _add(tf, "README.txt", b"Oxford 102 Flowers (fake)\n")
    write_mat(folder / names["labels"], {"labels": np.asarray([file_labels], np.float64)})
    write_mat(
        folder / names["setid"],
        {SETID[s]: np.asarray([setid.get(s, [])], np.float64) for s in SETID},
        compress=True,
    )
    ids = {s: sorted(v) for s, v in setid.items()}
    labels = {s: [file_labels[n - 1] - 1 for n in v] for s, v in ids.items()}
    return FakeFlowers(ids, labels, file_labels)


def write_flowers102_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``flowers102``: the edition's three files for ``train``,
    ``val`` and ``test``, labels over the option ``classes``. Facts: ``"flowers"`` ->
    :class:`FakeFlowers`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, tuple(SETID))
    roles = ("images", "labels", "setid")
    files = {tuple(_file(edition, s, r) for r in roles) for s in splits}
    if len(files) != 1:
        raise ValueError(f"a fake Flowers-102 edition has one set of three files, found {files}")
    names = dict(zip(roles, files.pop(), strict=True))
    classes = len(edition.get("options", {}).get("classes") or entry["classes"])
    fake = write_fake_flowers102(folder, names, {s: counts[s] for s in splits}, classes, seed)
    return FakeFiles({s: counts[s] for s in splits}, facts={"flowers": fake})
