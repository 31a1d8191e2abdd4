"""ImageNet ILSVRC-2012: the class index and the readers ``ilsvrc2012`` / ``ilsvrc2012-packed``.

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

**One pass.** ``ilsvrc2012`` must size its arrays before reading, and counting first would read
the 148 GB twice. It takes N from ``request.count``, the number of decodable images the catalog
expects (1,281,167 train, 50,000 val), fills rows in order and fails with a :class:`FormatError`
as soon as there are more, or at the end if there are fewer (listing the skipped files). No
shrinking is needed: a split whose row count differs from the catalog's is refused anyway.

Readers (options ``workers``, and ``size`` or ``max_side``) write what the ``image-tree``
readers write:

* ``ilsvrc2012`` (:func:`read_split`): ``images`` uint8 ``(N, size, size, 3)`` (shorter side
  resized to ``size``, centre-cropped) and ``labels`` int64 ``(N,)`` in 0..999.
* ``ilsvrc2012-packed`` (:func:`read_split_packed`): blob ``data`` (original bytes, or JPEGs
  with the longer side at most ``max_side``), ``offsets`` int64 ``(N + 1,)``, ``labels`` int64
  ``(N,)``, ``shapes`` int64 ``(N, 2)`` (stored height, width).

Both return ``classes`` (1,000 names), ``wnids``, ``skipped`` (``path``, ``reason``) and
``count``; decoding runs on ``workers`` threads with a bounded number of images in flight.
"""

from __future__ import annotations

import array
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..archives import iter_files, iter_tar_stream
from ..errors import CatalogError, FormatError
from ..imaging import UndecodableImageError, check, decode, default_workers, imap_bounded, reencode
from ..packed import PackedWriter
from . import ReadRequest, SplitWriter
from ._imagenet_devkit import N_CLASSES, _val_labels, _wnid_index, imagenet_classes
from ._imagenet_devkit import _ground_truth as _ground_truth  # kept importable from here
from ._imagenet_devkit import _parse_index as _parse_index  # kept importable from here

__all__ = ["N_CLASSES", "imagenet_classes", "read_split", "read_split_packed"]

_CLASS_TAR = re.compile(r"(n\d{8})\.tar")
_VAL_NAME = re.compile(r"ILSVRC2012_val_(\d{8})\.JPEG")
_PROGRESS_EVERY = 256  # rows between progress calls

# --- train: a tar of class tars ----------------------------------------------------------------


class _Item(NamedTuple):
    path: str  # how ``skipped`` names the file
    label: int
    data: bytes
    source: str  # archive!member, for error messages


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


def _train_items(archive: Path) -> Iterator[_Item]:
    """Every image of the train tar, streamed class tar by class tar, in archive order."""
    seen: set[str] = set()
    for outer, reader in iter_files(archive):
        wnid = _class_wnid(archive, outer.name, seen)
        label = f"{archive}!{outer.name}"
        for member, inner in iter_tar_stream(reader, label):
            if inner is None:
                continue  # a folder entry
            _check_train_member(label, member.name, wnid)
            path = f"{wnid}/{member.name}"
            yield _Item(path, _wnid_index()[wnid], inner.read(), f"{label}!{member.name}")


def _train_source(request: ReadRequest) -> Iterator[_Item]:
    return _train_items(Path(request.file("archive")))


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


def _val_items(archive: Path, labels: NDArray[np.int64]) -> Iterator[_Item]:
    """Every image of the val tar in archive order; all ``len(labels)`` must be present."""
    seen = np.zeros(len(labels), bool)
    for member, reader in iter_files(archive):
        number = _val_number(archive, member.name, len(labels))
        if seen[number - 1]:
            raise FormatError(f"{archive}: {member.name!r} appears twice; download it again")
        seen[number - 1] = True
        yield _Item(member.name, int(labels[number - 1]), reader.read(), f"{archive}!{member.name}")
    missing = np.flatnonzero(~seen)
    if missing.size:
        raise FormatError(
            f"{archive}: {missing.size} of the {len(labels)} images of the ground truth are "
            f"missing, the first ILSVRC2012_val_{missing[0] + 1:08d}.JPEG; download it again"
        )


def _val_source(request: ReadRequest) -> Iterator[_Item]:
    labels = _val_labels(Path(request.file("devkit")))  # checked before any output exists
    return _val_items(Path(request.file("archive")), labels)


#: split -> its images with labels (the test split has no public labels).
_SOURCES: dict[str, Callable[[ReadRequest], Iterator[_Item]]] = {
    "train": _train_source,
    "val": _val_source,
}


def _items(request: ReadRequest) -> Iterator[_Item]:
    try:
        source = _SOURCES[request.split]
    except KeyError:
        raise CatalogError(
            f"dataset {request.dataset!r}: the ILSVRC-2012 readers read the splits "
            f"{sorted(_SOURCES)}, not {request.split!r}; fix the entry"
        ) from None
    return source(request)


# --- options and counts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    size: int | None
    max_side: int | None
    workers: int


def _options(request: ReadRequest, *, fixed: bool) -> _Options:
    return _Options(
        size=request.int_option("size", required=True) if fixed else None,
        max_side=None if fixed else request.int_option("max_side"),
        workers=request.int_option("workers") or default_workers(),
    )


def _required_count(request: ReadRequest) -> int:
    if request.count is None or request.count < 0:
        raise CatalogError(
            f"dataset {request.dataset!r}, split {request.split!r}: the ilsvrc2012 reader sizes "
            f"its arrays from the split's count before its single pass, found {request.count!r}; "
            "give the count in the entry"
        )
    return request.count


def _count_error(request: ReadRequest, what: str, skipped: list[dict[str, str]]) -> FormatError:
    listed = ", ".join(f"{s['path']} ({s['reason']})" for s in skipped[:5])
    return FormatError(
        f"{request.file('archive')}: found {what} decodable images, expected {request.count}"
        f" ({len(skipped)} undecodable{': ' + listed if listed else ''}); "
        "check that the archive is the official one and its count in the entry"
    )


# --- writing -----------------------------------------------------------------------------------


class _Done(NamedTuple):
    path: str
    label: int
    result: Any  # what the worker made, or the reason (a str) it could not


def _decoded(item: _Item, size: int) -> _Done:
    try:
        return _Done(item.path, item.label, decode(item.data, size=size, source=item.source))
    except UndecodableImageError as exc:
        return _Done(item.path, item.label, exc.reason)


def _packed(item: _Item, max_side: int | None) -> _Done:
    """(bytes to store, height, width) of one image, or the reason it cannot be decoded."""
    try:
        stored = (
            item.data if max_side is None else reencode(item.data, max_side, source=item.source)
        )
        return _Done(item.path, item.label, (stored, *check(stored, source=item.source)))
    except UndecodableImageError as exc:
        return _Done(item.path, item.label, exc.reason)


def _accepted(
    results: Iterator[_Done], request: ReadRequest, skipped: list[dict[str, str]]
) -> Iterator[_Done]:
    """The decodable results in order (the others go to ``skipped``); their number must be
    ``request.count`` when given: one more is an error at once, fewer an error at the end."""
    n = 0
    for done in results:
        if isinstance(done.result, str):
            skipped.append({"path": done.path, "reason": done.result})
            continue
        if n == request.count:
            raise _count_error(request, f"more than {n}", skipped)
        yield done
        n += 1
        if n % _PROGRESS_EVERY == 0:
            request.progress(_PROGRESS_EVERY)
    request.progress(n % _PROGRESS_EVERY)
    if request.count is not None and n != request.count:
        raise _count_error(request, f"only {n}", skipped)


def _manifest(skipped: list[dict[str, str]], count: int) -> dict[str, Any]:
    wnids, names = imagenet_classes()
    return {"classes": names, "wnids": wnids, "skipped": skipped, "count": count}


def read_split(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``ilsvrc2012``: ``images`` uint8 ``(N, size, size, 3)``, ``labels`` int64 ``(N,)``.

    N is ``request.count``; see the module docstring for files, options and the returned facts.
    """
    opts = _options(request, fixed=True)
    count, size = _required_count(request), opts.size
    assert size is not None
    items = _items(request)  # the devkit is checked before any output exists
    images = out.array("images", (count, size, size, 3), np.uint8)
    labels = out.array("labels", (count,), np.int64)
    skipped: list[dict[str, str]] = []
    results = imap_bounded(functools.partial(_decoded, size=size), items, opts.workers)
    for row, done in enumerate(_accepted(results, request, skipped)):
        images[row], labels[row] = done.result, done.label
    return _manifest(skipped, count)


def read_split_packed(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``ilsvrc2012-packed``: blob ``data``, ``offsets``, ``labels``, ``shapes``.

    One pass; ``request.count``, if given, is checked. Returns what :func:`read_split` returns
    plus ``max_side`` and ``bytes`` (the data size).
    """
    opts = _options(request, fixed=False)
    items = _items(request)
    labels, shapes = array.array("q"), array.array("q")  # shapes: height, width, height, ...
    skipped: list[dict[str, str]] = []
    results = imap_bounded(functools.partial(_packed, max_side=opts.max_side), items, opts.workers)
    with out.blob("data") as fh:
        writer = PackedWriter(fh)
        for done in _accepted(results, request, skipped):
            writer.append(done.result[0])
            labels.append(done.label)
            shapes.extend(done.result[1:])
    n = len(writer)
    out.array("offsets", (n + 1,), np.int64)[:] = writer.offsets()
    out.array("labels", (n,), np.int64)[:] = np.frombuffer(labels, np.int64)
    out.array("shapes", (n, 2), np.int64)[:] = np.frombuffer(shapes, np.int64).reshape(n, 2)
    return {**_manifest(skipped, n), "max_side": opts.max_side, "bytes": writer.nbytes}


def read_split_any(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Format ``ilsvrc2012``: fixed-size arrays when the option ``size`` is given, else the
    packed store (original JPEG bytes, or re-encoded at ``max_side``)."""
    reader = read_split if request.options.get("size") is not None else read_split_packed
    return reader(request, out)
