"""Oxford-IIIT Pet: ``images.tar.gz`` and ``annotations.tar.gz`` (VGG, Oxford).

Layout::

    images.tar.gz        images/<Breed>_<n>.jpg   (a few are PNG or GIF bytes, some files are
                                                   not listed: only listed images are read)
    annotations.tar.gz   annotations/trainval.txt, annotations/test.txt, list.txt, README,
                         trimaps/, xmls/ (not read)

Each line of a list file is ``<image> <CLASS-ID> <SPECIES> <BREED-ID>``: the image's file name
without ``.jpg``, the breed 1..37, the species 1 (Cat) or 2 (Dog), the breed's number within its
species; lines starting with ``#`` are comments.

Format ``oxford-pet``: splits ``trainval`` and ``test`` (the list file of that name); roles
``images`` and ``annotations``; entry option ``breeds`` (the 37 breed names in CLASS-ID order, as
the file names spell them: every listed image must be named ``<breeds[CLASS-ID - 1]>_<n>``);
user options ``size`` / ``max_side`` / ``workers`` of the image sink. The list is read first
(at most :data:`MAX_LIST_BYTES`), then one streamed pass over the images yields the split's
listed images in archive order to :mod:`imagesets.formats.image_sink`: labels int64 ``(N,)``
0..36 (CLASS-ID - 1), and ``coarse_labels`` int64 ``(N,)`` 0 (Cat) or 1 (Dog), named by the
label names ``superclasses``. A listed image missing from the archive, listed twice or stored
twice, a breed whose species changes between lines, or a name that is not its breed's fails
the read; an image that does not decode is skipped with its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter
from ._listed import listed_images
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["SPECIES", "SPLITS", "ListEntry", "parse_list", "read_split"]

SPLITS = ("trainval", "test")
SPECIES = ("Cat", "Dog")  # SPECIES 1 and 2 of the annotations README
MAX_LIST_BYTES = 1 << 20  # the real lists are about 110 KB
MAX_IMAGE_BYTES = 64 << 20  # one photo; the largest is a few MB


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One line of a list file: the image name (no ``.jpg``), breed 0..36, species 0..1."""

    image: str
    breed: int
    species: int


@dataclass
class _Pass:
    """The listed images one pass over the images archive found, in row order."""

    names: list[str] = field(default_factory=list)


def _breeds(request: ReadRequest) -> tuple[str, ...]:
    breeds = request.options.get("breeds")
    if (
        not isinstance(breeds, list | tuple)
        or not breeds
        or not all(isinstance(b, str) and b for b in breeds)
        or len(set(breeds)) != len(breeds)
    ):
        raise request.option_error("breeds", "the list of distinct breed names in CLASS-ID order")
    return tuple(breeds)


def _int_field(text: str, low: int, high: int, what: str, where: str) -> int:
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise FormatError(f"{where}: {what} {text!r}, expected an integer in {low}..{high}")
    return int(text)


def parse_list(data: bytes, breeds: tuple[str, ...], label: str) -> list[ListEntry]:
    """The entries of a list file (``trainval.txt``, ``test.txt``), 0-based.

    Raises:
        FormatError: not ASCII text of 4-field lines; a CLASS-ID outside 1..len(breeds), a
            SPECIES other than 1 or 2; an image named after another breed, listed twice, or
            a breed listed under both species.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise FormatError(f"{label}: not ASCII text; download the annotations again") from None
    entries: list[ListEntry] = []
    seen: set[str] = set()
    species_of: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{label} line {number}"
        fields = line.split()
        if len(fields) != 4:
            raise FormatError(
                f"{where}: {len(fields)} fields, expected 4 (image CLASS-ID SPECIES BREED-ID)"
            )
        image = fields[0]
        breed = _int_field(fields[1], 1, len(breeds), "CLASS-ID", where) - 1
        species = _int_field(fields[2], 1, len(SPECIES), "SPECIES", where) - 1
        _int_field(fields[3], 1, 99, "BREED-ID", where)
        stem, _, number_part = image.rpartition("_")
        if stem != breeds[breed] or not number_part.isdigit():
            raise FormatError(
                f"{where}: image {image!r} has CLASS-ID {breed + 1}, whose breed is "
                f"{breeds[breed]!r} (images <breed>_<n>); is the entry's breed list the "
                "published one?"
            )
        if image in seen:
            raise FormatError(f"{where}: image {image!r} is listed twice")
        if species_of.setdefault(breed, species) != species:
            raise FormatError(
                f"{where}: breed {breeds[breed]!r} is listed as {SPECIES[species]} here and "
                f"as {SPECIES[species_of[breed]]} before"
            )
        seen.add(image)
        entries.append(ListEntry(image, breed, species))
    if not entries:
        raise FormatError(f"{label}: no entries; download the annotations again")
    return entries


def _read_list(path: Path, split: str, breeds: tuple[str, ...]) -> list[ListEntry]:
    from ..archives import read_members

    name, what = f"annotations/{split}.txt", "the Oxford-IIIT Pet annotations.tar.gz"
    data = read_members(path, {name: MAX_LIST_BYTES}, what=what)
    return parse_list(data[name], breeds, f"{path}!{name}")


def _records(path: Path, listed: dict[str, ListEntry], seen: _Pass) -> Iterator[Record]:
    def key(name: str) -> str | None:  # the .mat files beside the images, anything else: None
        parts = name.split("/")
        ok = len(parts) == 2 and parts[0] == "images" and parts[1].endswith(".jpg")
        return parts[1].removesuffix(".jpg") if ok else None

    seen.names.clear()
    for name, entry, data in listed_images(
        path,
        listed,
        key,
        max_bytes=MAX_IMAGE_BYTES,
        twice="download the images again",
        missing=lambda n, first: (
            f"{n} listed image(s) missing, e.g. images/{first}.jpg; are images.tar.gz and "
            "annotations.tar.gz from the same release?"
        ),
    ):
        image = name.split("/")[1]
        seen.names.append(image)
        yield Record(image, entry.breed, data)


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``oxford-pet``: split ``trainval`` or ``test`` (module docstring).

    Raises:
        FormatError: a bad list file, a listed image missing, a count not the catalog's.
        CatalogError: another split, or a bad ``breeds`` option.
    """
    request.check_split(SPLITS, "Oxford-IIIT Pet")
    breeds = _breeds(request)
    opts = ImageOptions.parse(request)
    entries = _read_list(Path(request.file("annotations")), request.split, breeds)
    listed = {e.image: e for e in entries}
    images = Path(request.file("images"))
    seen = _Pass()
    records = functools.partial(_records, images, listed, seen)
    written = write_images(ImageSource(str(images), records), opts, out, request.progress)
    dropped = {s.path for s in written.skipped}
    kept = [n for n in seen.names if n not in dropped]
    if len(kept) != written.count:
        raise FormatError(f"{images}: {written.count} images written, {len(kept)} listed")
    species = [listed[n.removesuffix(".jpg")].species for n in kept]
    out.array("coarse_labels", (len(kept),), np.int64)[:] = np.asarray(species, np.int64)
    return ReadResult(
        classes=breeds,
        label_names={"superclasses": SPECIES},
        skipped=written.skipped,
        count=written.count,
        extras=dict(written.extras),
    )
