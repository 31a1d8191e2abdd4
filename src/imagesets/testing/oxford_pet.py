"""Fake Oxford-IIIT Pet archives: ``images/<Breed>_<n>.jpg`` and the annotations' list files."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edition_writers import FakeFiles, FakeRequest

__all__ = ["FakeOxfordPet", "species_of", "write_fake_oxford_pet", "write_oxford_pet_edition"]


@dataclass(frozen=True)
class FakeOxfordPet:
    """What was written: per split the image file names in archive order, their breeds
    (0-based) and species (0 Cat, 1 Dog)."""

    names: dict[str, list[str]]
    breeds: dict[str, list[int]]
    species: dict[str, list[int]]


def species_of(breed: str) -> int:
    """The dataset's rule: a breed whose name starts with a capital is a cat (0), else a dog."""
    return 0 if breed[:1].isupper() else 1


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_oxford_pet(
    images: Path, annotations: Path, counts: Mapping[str, int], breeds: Sequence[str], seed: int
) -> FakeOxfordPet:
    """Write both ``.tar.gz`` files: per split ``counts[split]`` small JPEGs cycling through
    ``breeds``, stored in an order that interleaves the splits, plus one image in no list and a
    ``.mat`` file beside the images (both ignored by the reader); ``list.txt`` with its comment
    header, ``trainval.txt`` and ``test.txt``."""
    from .imagenet import image_bytes

    names: dict[str, list[str]] = {s: [] for s in counts}
    labels: dict[str, list[int]] = {s: [] for s in counts}
    species: dict[str, list[int]] = {s: [] for s in counts}
    lists: dict[str, list[str]] = {s: [] for s in counts}
    stored: list[tuple[str, str, int, bytes]] = []  # file name, split, breed, bytes
    for s, (split, n) in enumerate(counts.items()):
        for i in range(n):
            breed = (i + s) % len(breeds)
            image = f"{breeds[breed]}_{100 * s + i + 1}"
            kind = species_of(breeds[breed])
            lists[split].append(f"{image} {breed + 1} {kind + 1} {breed // 2 + 1}")
            stored.append((f"{image}.jpg", split, breed, image_bytes(seed + len(stored))))
    stored.sort(key=lambda item: item[0])  # the archive is in name order, splits interleaved
    for name, split, breed, _ in stored:
        names[split].append(name)
        labels[split].append(breed)
        species[split].append(species_of(breeds[breed]))
    with tarfile.open(images, "w:gz") as tf:
        for name, _, _, data in stored:
            _add(tf, f"images/{name}", data)
        _add(tf, f"images/{breeds[0]}_999.jpg", image_bytes(seed + 999))  # in no list
        _add(tf, f"images/{breeds[0]}_100.mat", b"MATLAB 5.0 MAT-file")
    header = "#Image CLASS-ID SPECIES BREED ID\n#ID: 1:37 Class ids\n"
    everything = [row for rows in lists.values() for row in rows]
    with tarfile.open(annotations, "w:gz") as tf:
        _add(tf, "annotations/README", b"OXFORD-IIIT PET Dataset (fake)\n")
        _add(tf, "annotations/list.txt", (header + "\n".join(everything) + "\n").encode())
        for split, rows in lists.items():
            _add(tf, f"annotations/{split}.txt", ("\n".join(rows) + "\n").encode())
        _add(tf, "annotations/trimaps/._x.png", b"")
    return FakeOxfordPet(names, labels, species)


def write_oxford_pet_edition(req: FakeRequest) -> FakeFiles:
    """The fake writer of format ``oxford-pet``: the two archives of the edition's ``images``
    and ``annotations`` roles, breeds from the option ``breeds``. Facts: ``"pets"`` ->
    :class:`FakeOxfordPet`."""
    from .edition_writers import FakeFiles, _file, _only_splits

    _entry, edition, folder, counts, seed = req
    splits = _only_splits(edition, ("trainval", "test"))
    files = {(_file(edition, s, "images"), _file(edition, s, "annotations")) for s in splits}
    if len(files) != 1:
        raise ValueError(f"a fake Oxford-IIIT Pet edition has one pair of archives, found {files}")
    images, annotations = files.pop()
    fake = write_fake_oxford_pet(
        folder / images,
        folder / annotations,
        {s: counts[s] for s in splits},
        list(edition.get("options", {})["breeds"]),
        seed,
    )
    return FakeFiles({s: counts[s] for s in splits}, facts={"pets": fake})
