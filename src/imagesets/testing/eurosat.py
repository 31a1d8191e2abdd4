"""Fake ``EuroSAT.zip``: ``2750/<Class>/<Class>_<n>.jpg``, 64x64 JPEGs, in the real layout."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeEurosat", "write_eurosat_edition", "write_fake_eurosat"]


@dataclass(frozen=True)
class FakeEurosat:
    """What was written: every image member and its class index, in archive order."""

    names: list[str]
    labels: list[int]


def write_fake_eurosat(
    path: Path, classes: Sequence[str], per_class: Sequence[int], seed: int
) -> FakeEurosat:
    """Write a zip with ``per_class[k]`` JPEGs of class ``k`` (numbered from 1, stored class
    by class in a shuffled-looking order: the reader must not depend on it), the folder
    entries, and a stray file beside the root folder (ignored)."""
    from .imagenet import image_bytes

    names: list[str] = []
    labels: list[int] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2750/", b"")
        for k, cls in enumerate(classes):
            zf.writestr(f"2750/{cls}/", b"")
            numbers = list(range(1, per_class[k] + 1))
            for n in numbers[1::2] + numbers[::2]:  # not in name order
                name = f"2750/{cls}/{cls}_{n}.jpg"
                zf.writestr(name, image_bytes(seed + 1000 * k + n, size=(64, 64)))
                names.append(name)
                labels.append(k)
        zf.writestr("readme.txt", b"EuroSAT (fake)\n")
    return FakeEurosat(names, labels)


def write_eurosat_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``eurosat``: enough images per class for the wanted train +
    test (at least 3 a class, the last classes one image fewer so the rounding is exercised);
    the counts are the stratified split's. Facts: ``"zip"`` -> :class:`FakeEurosat`."""
    import numpy as np

    from ..formats.eurosat import plan_split
    from .edition_writers import FakeFiles, _file, _only_splits

    entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, ("train", "test"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake EuroSAT edition has one zip for train and test, found {archives}")
    options = edition.get("options", {})
    classes = list(options.get("classes") or entry["classes"])
    base = max(3, math.ceil(sum(counts.get(s, 0) for s in ("train", "test")) / len(classes)))
    per_class = [base - (k >= len(classes) // 2) for k in range(len(classes))]
    fake = write_fake_eurosat(folder / archives.pop(), classes, per_class, seed)
    order = sorted(range(len(fake.names)), key=fake.names.__getitem__)
    names = [fake.names[i] for i in order]
    labels = np.asarray([fake.labels[i] for i in order], np.int64)
    fraction, split_seed = options.get("test_fraction", 0.2), options.get("seed", 0)
    found = {s: len(plan_split(names, labels, s, fraction, split_seed)) for s in splits}
    return FakeFiles(found, facts={"zip": fake})
