"""ImageNet ILSVRC-2012: the class index and the reader ``ilsvrc2012``.

**Class index.** The 1,000 WordNet ids (wnids) sorted as strings, as torchvision's ImageFolder,
TFDS, timm and keras number them: index 0 is ``n01440764`` (tench), 999 ``n15075141`` (toilet
tissue). Names are keras's ``imagenet_class_index.json``, shipped in ``imagesets/data`` (words
joined by ``_``; two names repeat: ``crane`` 134/517 and ``maillot`` 638/639, so the wnid is the
identity). See :func:`imagenet_classes`; the index and the devkit parsing live in
:mod:`imagesets.formats._imagenet_devkit`.

**Files** (``request.files``):

* ``train``: ``{"archive": ILSVRC2012_img_train.tar}``, a tar of 1,000 class tars
  ``nXXXXXXXX.tar`` each holding ``nXXXXXXXX_<k>.JPEG``. The 148 GB are streamed, never extracted:
  class tars in any order, each read as a stream from the outer member; the label is the index of
  its wnid. Skipped files are reported as ``nXXXXXXXX/nXXXXXXXX_<k>.JPEG``.
* ``val``: ``{"archive": ILSVRC2012_img_val.tar, "devkit": ILSVRC2012_devkit_t12.tar.gz}``. The
  archive holds ``ILSVRC2012_val_<8 digits>.JPEG`` flat; line ``i`` of the devkit's
  ``data/ILSVRC2012_validation_ground_truth.txt`` is the ILSVRC2012_ID of image ``i``, mapped to
  a wnid by the ``synsets`` struct of ``data/meta.mat`` (its 1,000 leaves, ``num_children == 0``,
  have IDs 1..1000). That ID order is *not* the class index (ID 1 is ``n02119789``, kit fox,
  class 278): labels always go through the wnid.

Rows follow archive order (the official archives are pinned by their sha256, so it is fixed).
Every image is decoded (CMYK JPEGs and the PNG named ``.JPEG`` of the real train set included);
undecodable files are left out and listed under ``skipped`` with their reason.

**One pass.** The reader (format ``ilsvrc2012``; options ``workers``, and ``size`` or
``max_side``) yields records ``(path, label, bytes)`` in archive order to the image sink
(:mod:`imagesets.formats.image_sink`), which writes what it writes for every image source:
fixed-size ``images`` uint8 ``(N, size, size, 3)`` and ``labels`` int64 ``(N,)`` in 0..999 when
``size`` is given, else the packed store. Fixed-size arrays must be sized before reading and
counting first would read the 148 GB twice, so N is ``request.count``, the number of decodable
images the catalog expects (1,281,167 train, 50,000 val): one image more is a
:class:`FormatError` at once, fewer one at the end (listing the skipped files); packed, the
count is checked when given. No shrinking is needed: a split whose row count differs from the
catalog's is refused anyway.

**Units** (for ``engine="ray"``, see :mod:`imagesets.ray_engine`): train is cut into its class
tars, val into ranges of :data:`VAL_UNIT` images, both listed from the tar headers (offsets, no
image byte read) with the same checks as the streamed read; a task reads its unit by offset.

It returns ``classes`` (1,000 names), ``wnids``, ``skipped`` (``path``, ``reason``) and ``count``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..archives import MemberReader, iter_files, iter_tar_stream, open_range, tar_index
from ..errors import CatalogError, FormatError
from . import ReadRequest, ReadResult, SplitWriter
from ._imagenet_devkit import N_CLASSES, _val_labels, _wnid_index, imagenet_classes
from ._imagenet_devkit import _ground_truth as _ground_truth  # kept importable from here
from ._imagenet_devkit import _parse_index as _parse_index  # kept importable from here
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["N_CLASSES", "imagenet_classes", "read_split"]

_CLASS_TAR = re.compile(r"(n\d{8})\.tar")
_VAL_NAME = re.compile(r"ILSVRC2012_val_(\d{8})\.JPEG")


class _Parts(NamedTuple):
    """A split's records: streamed (the local engine), or as units a task reads by itself."""

    records: Callable[[], Iterator[Record]]
    units: Callable[[], Iterable[Any]]
    read_unit: Callable[[Any], list[Record]]


# --- train: a tar of class tars ----------------------------------------------------------------


def _class_wnid(archive: Path, name: str, seen: set[str]) -> str:
    match = _CLASS_TAR.fullmatch(name)
    if match is None:
        raise FormatError(
            f"{archive}: member {name!r} is not a class tar; expected only members named "
            "<wnid>.tar (e.g. n01440764.tar) at the top: is this ILSVRC2012_img_train.tar?"
        )
    wnid = match[1]
    if wnid not in _wnid_index():
        raise FormatError(
            f"{archive}: class tar {name!r} has the wnid {wnid}, which is not one of the "
            f"{N_CLASSES} ILSVRC-2012 classes; is this the ILSVRC-2012 training archive?"
        )
    if wnid in seen:
        raise FormatError(f"{archive}: class tar {name!r} appears twice; download it again")
    seen.add(wnid)
    return wnid


def _check_train_member(label: str, name: str, wnid: str) -> None:
    if re.fullmatch(rf"{wnid}_\d+\.JPEG", name) is None:
        raise FormatError(
            f"{label}: member {name!r} is not an image of this class; expected names like "
            f"{wnid}_<number>.JPEG at the top of the class tar; download the archive again"
        )


def _class_records(reader: MemberReader, label: str, wnid: str) -> Iterator[Record]:
    """The images of one class tar, streamed from ``reader``."""
    for member, inner in iter_tar_stream(reader, label):
        if inner is None:
            continue  # a folder entry
        _check_train_member(label, member.name, wnid)
        yield Record(f"{wnid}/{member.name}", _wnid_index()[wnid], inner.read())


def _train_items(archive: Path) -> Iterator[Record]:
    """Every image of the train tar, streamed class tar by class tar, in archive order."""
    seen: set[str] = set()
    for outer, reader in iter_files(archive):
        wnid = _class_wnid(archive, outer.name, seen)
        yield from _class_records(reader, f"{archive}!{outer.name}", wnid)


#: A unit of the train tar: a class tar's member name, wnid, data offset and size.
TrainUnit = tuple[str, str, int, int]


def _train_units(archive: Path) -> Iterator[TrainUnit]:
    """The class tars of the train tar, listed from its headers (no image byte read)."""
    seen: set[str] = set()
    for outer, offset in tar_index(archive):
        yield outer.name, _class_wnid(archive, outer.name, seen), offset, outer.size


def _train_unit(archive: Path, unit: TrainUnit) -> list[Record]:
    """The images of one class tar, read by offset from the train tar (a Ray task runs it)."""
    name, wnid, offset, size = unit
    label = f"{archive}!{name}"
    with open_range(archive, offset, size, label) as reader:
        return list(_class_records(reader, label, wnid))


def _train_source(request: ReadRequest) -> _Parts:
    archive = Path(request.file("archive"))
    return _Parts(
        functools.partial(_train_items, archive),
        functools.partial(_train_units, archive),
        functools.partial(_train_unit, archive),
    )


# --- val: flat images, labels from the devkit --------------------------------------------------


def _val_number(archive: Path, name: str, count: int) -> int:
    match = _VAL_NAME.fullmatch(name)
    if match is None or not 1 <= int(match[1]) <= count:
        raise FormatError(
            f"{archive}: member {name!r} is not a validation image; expected names "
            f"ILSVRC2012_val_00000001.JPEG to ILSVRC2012_val_{count:08d}.JPEG (one per "
            "ground-truth line) at the top: is this ILSVRC2012_img_val.tar?"
        )
    return int(match[1])


def _val_items(archive: Path, labels: NDArray[np.int64]) -> Iterator[Record]:
    """Every image of the val tar in archive order; all ``len(labels)`` must be present."""
    seen = np.zeros(len(labels), bool)
    for member, reader in iter_files(archive):
        number = _val_number(archive, member.name, len(labels))
        if seen[number - 1]:
            raise FormatError(f"{archive}: {member.name!r} appears twice; download it again")
        seen[number - 1] = True
        yield Record(member.name, int(labels[number - 1]), reader.read())
    missing = np.flatnonzero(~seen)
    if missing.size:
        raise FormatError(
            f"{archive}: {missing.size} of the {len(labels)} images of the ground truth are "
            f"missing, the first ILSVRC2012_val_{missing[0] + 1:08d}.JPEG; download it again"
        )


#: Images per unit of the val tar, and a unit: (member name, label, data offset, size) each.
VAL_UNIT = 256
ValUnit = tuple[tuple[str, int, int, int], ...]


def _val_units(archive: Path, labels: NDArray[np.int64]) -> list[ValUnit]:
    """The val tar in ranges of :data:`VAL_UNIT` images, listed from its headers (no image
    byte read), with the checks of :func:`_val_items` (names, duplicates, missing images)."""
    seen = np.zeros(len(labels), bool)
    entries = []
    for member, offset in tar_index(archive):
        number = _val_number(archive, member.name, len(labels))
        if seen[number - 1]:
            raise FormatError(f"{archive}: {member.name!r} appears twice; download it again")
        seen[number - 1] = True
        entries.append((member.name, int(labels[number - 1]), offset, member.size))
    missing = np.flatnonzero(~seen)
    if missing.size:
        raise FormatError(
            f"{archive}: {missing.size} of the {len(labels)} images of the ground truth are "
            f"missing, the first ILSVRC2012_val_{missing[0] + 1:08d}.JPEG; download it again"
        )
    return [tuple(entries[i : i + VAL_UNIT]) for i in range(0, len(entries), VAL_UNIT)]


def _val_unit(archive: Path, unit: ValUnit) -> list[Record]:
    """The images of one range of the val tar, read by offset (a Ray task runs it)."""
    records = []
    for name, label, offset, size in unit:
        with open_range(archive, offset, size, f"{archive}!{name}") as reader:
            records.append(Record(name, label, reader.read()))
    return records


def _val_source(request: ReadRequest) -> _Parts:
    labels = _val_labels(Path(request.file("devkit")))  # checked before any output exists
    archive = Path(request.file("archive"))
    return _Parts(
        functools.partial(_val_items, archive, labels),
        functools.partial(_val_units, archive, labels),
        functools.partial(_val_unit, archive),
    )


#: split -> its records (the test split has no public labels).
_SOURCES: dict[str, Callable[[ReadRequest], _Parts]] = {
    "train": _train_source,
    "val": _val_source,
}


def _records(request: ReadRequest) -> _Parts:
    try:
        source = _SOURCES[request.split]
    except KeyError:
        raise CatalogError(
            f"dataset {request.dataset!r}: the ILSVRC-2012 readers read the splits "
            f"{sorted(_SOURCES)}, not {request.split!r}; fix the entry"
        ) from None
    return source(request)


# --- the reader ------------------------------------------------------------------------------


def _required_count(request: ReadRequest) -> int:
    if request.count is None or request.count < 0:
        raise CatalogError(
            f"dataset {request.dataset!r}, split {request.split!r}: the ilsvrc2012 reader sizes "
            f"its arrays from the split's count before its single pass, found {request.count!r}; "
            "give the count in the entry"
        )
    return request.count


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``ilsvrc2012``: fixed-size arrays when ``size`` is given (N is ``request.count``),
    else the packed store; see the module docstring for files, options and returned facts."""
    opts = ImageOptions.parse(request)
    count = _required_count(request) if opts.size is not None else request.count
    parts = _records(request)  # the devkit is checked before any output exists
    source = ImageSource(str(request.file("archive")), parts.records, count,
                         units=parts.units, read_unit=parts.read_unit)  # fmt: skip
    written = write_images(source, opts, out, request.progress)
    wnids, names = imagenet_classes()
    return ReadResult(
        classes=tuple(names),
        label_names={"wnids": tuple(wnids)},
        skipped=written.skipped,
        count=written.count,
        extras=written.extras,
    )
