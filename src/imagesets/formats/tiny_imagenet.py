"""Tiny ImageNet (CS231n, Stanford): ``tiny-imagenet-200.zip``, 64x64 JPEGs of 200 classes.

Layout (``R`` is ``tiny-imagenet-200``)::

    R/wnids.txt                                the 200 WordNet ids, one a line (not sorted)
    R/words.txt                                "wnid<TAB>name, name, ..." for ~82,000 synsets
    R/train/<wnid>/images/<wnid>_<k>.JPEG      500 a class (R/train/<wnid>/*_boxes.txt ignored)
    R/val/images/val_<k>.JPEG                  10,000
    R/val/val_annotations.txt                  "val_<k>.JPEG<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1"
    R/test/images/test_<k>.JPEG                10,000, no labels

Format ``tiny-imagenet``: entry option ``wnids`` (the 200 class wnids; the set must be the one
``wnids.txt`` lists); user option ``workers``. A first pass over the zip reads the small text
members: the class index is the position in the **sorted** wnids (torchvision's ImageFolder
convention), the class names are the first name ``words.txt`` gives each wnid, and for ``val``
``val_annotations.txt`` maps each image's file name to its wnid. A second pass yields the
split's images (archive order) to :mod:`imagesets.formats.image_sink` as fixed-size arrays:
``images`` uint8 ``(N, 64, 64, 3)`` (grayscale JPEGs served as RGB; every image of the real
archive is 64x64, one of another size would be resized and centre-cropped as every fixed-size
read is) and ``labels`` int64 ``(N,)`` in ``0..199``. ``test`` has no labels: no ``labels``
array, and the manifest says ``labeled: false`` (as STL-10's ``unlabeled``). For ``val`` and
``test`` the manifest lists ``members``, the file of each row (``val/images/val_0.JPEG``...).

An image folder whose wnid is not in ``wnids.txt``, a val image with no annotation row, a row
for an image the zip does not hold, a row whose wnid is not a class, a duplicate member or
row: each is a :class:`FormatError` naming the member (and the line).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ..errors import FormatError
from ..imaging import default_workers
from . import JSON, ReadRequest, ReadResult, SplitWriter
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["ANNOTATIONS", "ROOT", "SIDE", "SPLITS", "WNIDS", "WORDS", "read_split"]

ROOT = "tiny-imagenet-200"
SPLITS = ("train", "val", "test")
SIDE = 64
WNIDS, WORDS, ANNOTATIONS = "wnids.txt", "words.txt", "val/val_annotations.txt"
MAX_IMAGE_BYTES = 1 << 20  # a 64x64 JPEG is a few KB
MAX_IMAGES = 1_000_000  # per split; the real zip holds 100,000 / 10,000 / 10,000
#: text member -> its largest accepted size (the real ones: 2 KB, 2.6 MB, 0.4 MB)
MAX_TEXT_BYTES = {WNIDS: 1 << 16, WORDS: 32 << 20, ANNOTATIONS: 16 << 20}


@dataclass
class _Pass:
    """What the image pass saw: the member of each record (relative to ``R``), in order."""

    names: list[str] = field(default_factory=list)


class _Unlabeled:
    """A :class:`SplitWriter` that keeps the sink's ``labels`` out of the split (``test``)."""

    def __init__(self, out: SplitWriter) -> None:
        self._out = out

    def array(
        self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike
    ) -> np.ndarray[Any, Any]:
        if name == "labels":
            return np.zeros(shape, dtype)
        return self._out.array(name, shape, dtype)

    def blob(self, name: str) -> BinaryIO:
        return self._out.blob(name)


def _wnid_option(request: ReadRequest) -> frozenset[str]:
    return frozenset(request.names_option("wnids", folders=True, what="a list of distinct wnids"))


def _texts(path: Path, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of the text members ``wanted`` (names relative to ``R``), each bounded."""
    from ..archives import read_members

    caps = {f"{ROOT}/{name}": MAX_TEXT_BYTES[name] for name in wanted}
    found = read_members(path, caps, what="tiny-imagenet-200.zip")
    return {name: found[f"{ROOT}/{name}"] for name in wanted}


def _lines(data: bytes, label: str) -> list[str]:
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise FormatError(f"{label}: not UTF-8 text ({exc}); download it again") from None


def parse_wnids(data: bytes, label: str, expected: frozenset[str]) -> tuple[str, ...]:
    """The wnids of ``wnids.txt``, sorted (the class index); they must be ``expected``.

    Raises:
        FormatError: a line listed twice, or another set of wnids than the entry's.
    """
    wnids: set[str] = set()
    for number, line in enumerate(_lines(data, label), 1):
        wnid = line.strip()
        if not wnid:
            continue
        if wnid in wnids:
            raise FormatError(f"{label}, line {number}: {wnid!r} is listed twice")
        wnids.add(wnid)
    extra, missing = sorted(wnids - expected), sorted(expected - wnids)
    if extra or missing:
        raise FormatError(
            f"{label}: lists {len(wnids)} wnids, not the entry's {len(expected)}"
            + (f"; not classes of the entry: {extra[:5]}" if extra else "")
            + (f"; missing: {missing[:5]}" if missing else "")
            + "; is this the zip the entry names?"
        )
    return tuple(sorted(wnids))


def parse_words(data: bytes, label: str, wnids: tuple[str, ...]) -> tuple[str, ...]:
    """The first name ``words.txt`` gives each of ``wnids``, in their order.

    Only the lines of ``wnids`` are decoded (UTF-8); every non-empty line must hold a tab.

    Raises:
        FormatError: a line without a tab, a class listed twice or with no name, a class
            missing.
    """
    wanted, names = set(wnids), dict[str, str]()
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.rstrip(b"\r")
        if not line.strip():
            continue
        key, tab, rest = line.partition(b"\t")
        if not tab:
            raise FormatError(
                f"{label}, line {number}: expected 'wnid<TAB>names', found {line[:60]!r}; "
                "download the zip again"
            )
        wnid = key.strip().decode("ascii", "replace")
        if wnid not in wanted:
            continue
        if wnid in names:
            raise FormatError(f"{label}, line {number}: {wnid} is listed twice")
        first = _lines(rest, f"{label}, line {number}")[:1]
        name = first[0].split(",")[0].strip() if first else ""
        if not name:
            raise FormatError(f"{label}, line {number}: {wnid} has no name")
        names[wnid] = name
    missing = [w for w in wnids if w not in names]
    if missing:
        raise FormatError(
            f"{label}: no line for the class(es) {missing[:5]} ({len(missing)} missing); "
            "download the zip again"
        )
    return tuple(names[w] for w in wnids)


def parse_annotations(
    data: bytes, label: str, index: Mapping[str, int]
) -> dict[str, tuple[int, int]]:
    """``val_annotations.txt``: image file name -> (class index, line number).

    Raises:
        FormatError: a line with fewer than two tab-separated fields, a file name listed twice,
            a wnid that is not a class.
    """
    rows: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(_lines(data, label), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip():
            raise FormatError(
                f"{label}, line {number}: expected 'val_<k>.JPEG<TAB>wnid<TAB>x0<TAB>y0<TAB>x1"
                f"<TAB>y1', found {line[:80]!r}"
            )
        name, wnid = fields[0].strip(), fields[1].strip()
        if name in rows:
            raise FormatError(f"{label}, line {number}: {name} is listed twice")
        if wnid not in index:
            raise FormatError(
                f"{label}, line {number}: {name} has the wnid {wnid!r}, which wnids.txt does "
                "not list; download the zip again"
            )
        rows[name] = (index[wnid], number)
    if len(rows) > MAX_IMAGES:
        raise FormatError(f"{label}: more than {MAX_IMAGES} rows")
    return rows


def _label(
    path: Path, split: str, parts: list[str], index: Mapping[str, int],
    rows: Mapping[str, tuple[int, int]],
) -> int:  # fmt: skip
    """The class index of the image member ``R/<parts>`` of ``split`` (-1 for ``test``)."""
    where = f"{path}!{ROOT}/{'/'.join(parts)}"
    if split == "train":
        if parts[1] not in index:
            raise FormatError(
                f"{where}: folder {parts[1]!r} is not one of the {len(index)} wnids of "
                f"{ROOT}/{WNIDS}; is this tiny-imagenet-200.zip?"
            )
        return index[parts[1]]
    if split == "val":
        row = rows.get(parts[-1])
        if row is None:
            raise FormatError(
                f"{where}: no row for {parts[-1]} in {ROOT}/{ANNOTATIONS}; download the zip again"
            )
        return row[0]
    return -1


def _is_image(split: str, parts: list[str]) -> bool:
    """Whether ``R/<parts>`` is an image member of ``split``."""
    if split == "train":
        return len(parts) == 4 and parts[0] == "train" and parts[2] == "images"
    return len(parts) == 3 and parts[0] == split and parts[1] == "images"


def _records(
    path: Path, split: str, index: Mapping[str, int], rows: Mapping[str, tuple[int, int]],
    seen: _Pass,
) -> Iterator[Record]:  # fmt: skip
    from ..archives import iter_files

    seen.names.clear()
    done: set[str] = set()
    prefix = f"{ROOT}/{split}/"
    for member, reader in iter_files(path, select=lambda m: m.name.startswith(prefix)):
        parts = member.name.split("/")[1:]
        if not _is_image(split, parts):
            continue  # the boxes files of train
        name, where = "/".join(parts), f"{path}!{member.name}"
        label = _label(path, split, parts, index, rows)
        if name in done:
            raise FormatError(f"{where}: the member occurs twice in the zip")
        if member.size > MAX_IMAGE_BYTES:
            raise FormatError(f"{where}: {member.size} bytes, a 64x64 image holds at most 1 MB")
        if len(done) == MAX_IMAGES:
            raise FormatError(f"{path}: more than {MAX_IMAGES} {split} images")
        done.add(name)
        seen.names.append(name)
        yield Record(name, label, reader.read(member.size))


def _check_rows(path: Path, rows: Mapping[str, tuple[int, int]]) -> None:
    """Every annotation row names a val image of the zip's listing (checked before anything is
    decoded; an image with no row fails the image pass)."""
    from ..archives import members

    held: set[str] = set()
    for member in members(path):
        parts = member.name.split("/")
        if parts[0] == ROOT and not member.is_dir and _is_image("val", parts[1:]):
            held.add(parts[-1])
    orphans = [(line, name) for name, (_, line) in rows.items() if name not in held]
    if orphans:
        line, name = min(orphans)
        raise FormatError(
            f"{path}!{ROOT}/{ANNOTATIONS}, line {line}: a row for {name}, which is not a member "
            f"{ROOT}/val/images/{name} ({len(orphans)} such row(s)); download the zip again"
        )


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``tiny-imagenet``: split ``train``, ``val`` or ``test`` of
    ``tiny-imagenet-200.zip`` (role ``archive``), as the module docstring describes.

    Raises:
        FormatError: a text member missing or malformed, an image or row that does not match
            the classes or the annotations, a count not the catalog's.
        CatalogError: another split, or bad options.
    """
    request.check_split(SPLITS, "tiny-imagenet-200.zip")
    expected = _wnid_option(request)
    opts = ImageOptions(SIDE, None, request.int_option("workers") or default_workers())
    path = Path(request.file("archive"))
    wanted = (WNIDS, WORDS, ANNOTATIONS) if request.split == "val" else (WNIDS, WORDS)
    texts = _texts(path, wanted)
    wnids = parse_wnids(texts[WNIDS], f"{path}!{ROOT}/{WNIDS}", expected)
    classes = parse_words(texts[WORDS], f"{path}!{ROOT}/{WORDS}", wnids)
    index = {w: i for i, w in enumerate(wnids)}
    rows: dict[str, tuple[int, int]] = {}
    if request.split == "val":
        rows = parse_annotations(texts[ANNOTATIONS], f"{path}!{ROOT}/{ANNOTATIONS}", index)
        _check_rows(path, rows)
    del texts
    seen = _Pass()
    records = functools.partial(_records, path, request.split, index, rows, seen)
    labeled = request.split != "test"
    sink = out if labeled else _Unlabeled(out)
    written = write_images(ImageSource(str(path), records, request.count), opts, sink,
                           request.progress)  # fmt: skip
    dropped = {s.path for s in written.skipped}
    kept = [n for n in seen.names if n not in dropped]
    if len(kept) != written.count:
        raise FormatError(f"{path}: {written.count} images written, {len(kept)} listed")
    extras: dict[str, JSON] = {"labeled": labeled}
    if request.split != "train":
        extras["members"] = kept
    return ReadResult(
        classes=classes,
        label_names={"wnids": wnids},
        skipped=written.skipped,
        count=written.count,
        extras=extras,
    )
