"""Food-101: ``food-101.tar.gz`` (ETH Zurich), one archive of photos and their split lists.

Layout::

    food-101/images/<class>/<id>.jpg   101 class folders of 1,000 JPEGs (max side 512 px)
    food-101/meta/train.txt            one line per train image: ``<class>/<id>`` (no ``.jpg``)
    food-101/meta/test.txt             the same for the test images
    food-101/meta/*.json, other files  (not read)

Format ``food101``: splits ``train`` and ``test`` (the list of that name); role ``archive``;
entry option ``classes`` (the 101 class folder names: the label of an image is its folder's
index in it); user options ``size`` / ``max_side`` / ``workers`` of the image sink. One pass
finds the split's list (at most :data:`MAX_LIST_BYTES`), a second streamed pass yields the
listed images in archive order to :mod:`imagesets.formats.image_sink`: labels int64 ``(N,)``
0..100. A listed image missing from the archive, listed twice or stored twice, or a line whose
class is not one of ``classes`` fails the read; an image that does not decode is skipped with
its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter
from ._listed import listed_images
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["ROOT", "SPLITS", "parse_list", "read_split"]

ROOT = "food-101"
SPLITS = ("train", "test")
MAX_LIST_BYTES = 4 << 20  # the real train.txt is about 1.5 MB (75,750 lines)
MAX_IMAGE_BYTES = 64 << 20  # one photo; the real ones are under 1 MB


def _classes(request: ReadRequest) -> dict[str, int]:
    names = request.names_option(
        "classes", folders=True, what="the list of distinct class folder names"
    )
    return {c: i for i, c in enumerate(names)}


def parse_list(data: bytes, index: dict[str, int], label: str) -> dict[str, int]:
    """The entries of ``meta/train.txt`` or ``meta/test.txt``: ``"<class>/<id>"`` -> label.

    Raises:
        FormatError: not ASCII text; a line not ``<class>/<id>``, a class not in ``index``,
            an image listed twice, or no line at all.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise FormatError(f"{label}: not ASCII text; download food-101.tar.gz again") from None
    listed: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        image = line.strip()
        if not image:
            continue
        where = f"{label} line {number}"
        cls, slash, stem = image.partition("/")
        if not slash or not stem or "/" in stem or not stem.isprintable() or " " in stem:
            raise FormatError(f"{where}: {image[:80]!r}, expected <class>/<image id>")
        if cls not in index:
            raise FormatError(
                f"{where}: class {cls[:80]!r} is not one of the {len(index)} classes of the "
                "entry; is this the Food-101 archive?"
            )
        if image in listed:
            raise FormatError(f"{where}: image {image!r} is listed twice")
        listed[image] = index[cls]
    if not listed:
        raise FormatError(f"{label}: no entries; download food-101.tar.gz again")
    return listed


def _read_list(path: Path, split: str, index: dict[str, int]) -> dict[str, int]:
    from ..archives import read_members

    name = f"{ROOT}/meta/{split}.txt"
    data = read_members(path, {name: MAX_LIST_BYTES}, what="the Food-101 food-101.tar.gz")
    return parse_list(data[name], index, f"{path}!{name}")


def _records(path: Path, listed: dict[str, int]) -> Iterator[Record]:
    prefix = f"{ROOT}/images/"

    def key(name: str) -> str | None:  # meta/ and anything else: None
        ok = name.startswith(prefix) and name.endswith(".jpg")
        return name[len(prefix) : -len(".jpg")] if ok else None

    for name, label, data in listed_images(
        path,
        listed,
        key,
        max_bytes=MAX_IMAGE_BYTES,
        twice="download food-101.tar.gz again",
        missing=lambda n, first: (
            f"{n} listed image(s) missing, e.g. {prefix}{first}.jpg; delete food-101.tar.gz "
            "and download it again"
        ),
    ):
        yield Record(name[len(prefix) :], label, data)


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``food101``: split ``train`` or ``test`` (module docstring).

    Raises:
        FormatError: a bad list file, a listed image missing or stored twice.
        CatalogError: another split, or a bad ``classes`` option.
    """
    request.check_split(SPLITS, "Food-101")
    index = _classes(request)
    opts = ImageOptions.parse(request)
    path = Path(request.file("archive"))
    listed = _read_list(path, request.split, index)
    records = functools.partial(_records, path, listed)
    written = write_images(ImageSource(str(path), records), opts, out, request.progress)
    return ReadResult(
        classes=tuple(index),
        skipped=written.skipped,
        count=written.count,
        extras=dict(written.extras),
    )
