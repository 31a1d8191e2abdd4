"""Microsoft's Cats & Dogs zip (``kagglecatsanddogs_5340.zip``): audit, split and readers.

The zip holds ``PetImages/Cat/{0..12499}.jpg`` and ``PetImages/Dog/{0..12499}.jpg``, a
``Thumbs.db`` in each folder and, at the top level, ``CDLA-Permissive-2.0.pdf`` and
``readme[1].txt`` (ignored and listed). Any other layout (another folder, a deeper path, a class
other than ``Cat``/``Dog``, a duplicate name) is refused with :class:`FormatError`; unsafe names
(``..``, absolute paths, links) with :class:`UnsafeArchiveError`, before any byte is read.

Two rules for "bad" files, reported side by side by :func:`audit`:

* ``no_jfif``, tensorflow-datasets' rule: ``b"JFIF" not in fobj.peek(10)``. On a zip member
  CPython's ``ZipExtFile.peek`` returns up to **512** buffered bytes, not 10, so the rule TFDS
  actually applies (and that drops its 1,738 files) is "no ``JFIF`` in the first 512 bytes";
  ``jfif_window`` selects the window (:data:`TFDS_JFIF_WINDOW`). It drops PNG, BMP, GIF and
  Exif-only JPEG content that decodes perfectly well.
* ``undecodable``: files that fail to decode (:func:`imagesets.imaging.check`), with a reason
  (``zero bytes``, ``truncated``, ``not an image``, ``corrupt: ...``).

The datasets built here keep **every image that decodes** and list the others under ``skipped``.

There is no official test split. :func:`stratified_split` draws one, per class, from the sorted
list of *all* image members (decodable or not), so a decoder that accepts one more file changes
no other file's split. The reader (format ``petimages``; ``request.files = {"archive": zip}``,
``request.split`` is ``"train"`` or ``"test"``; options ``test_fraction`` (0.2), ``seed`` (0),
``workers``, and ``size`` or ``max_side``) hands the split's members to the image sink
(:mod:`imagesets.formats.image_sink`): fixed-size ``images`` uint8 ``(N, size, size, 3)`` and
``labels`` int64 ``(N,)`` when ``size`` is given, else the packed store (original bytes, or
JPEGs re-encoded with the longer side at most ``max_side``).

Labels: 0 = ``Cat``, 1 = ``Dog``. Rows follow :attr:`Audit.members` order (class, then file
number), which the returned ``members`` lists. The reader audits the whole zip (one streamed pass,
decoding at 1/8 DCT scale) and then reads its split's members by random access. The layout,
audit and split live in :mod:`imagesets.formats._petimages_audit`, re-exported here.
"""

from __future__ import annotations

import contextlib
import functools
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..archives import safe_name
from ..errors import CatalogError, FormatError
from . import ReadRequest, ReadResult, SplitWriter
from ._petimages_audit import (
    CLASSES,
    SPLITS,
    TFDS_JFIF_WINDOW,
    Audit,
    SplitPlan,
    audit,
    plan_split,
    stratified_split,
)
from ._petimages_audit import ROOT as ROOT  # kept importable from here
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = [
    "CLASSES",
    "SPLITS",
    "TFDS_JFIF_WINDOW",
    "Audit",
    "SplitPlan",
    "audit",
    "plan_split",
    "read_split",
    "stratified_split",
]

# --- the reader ------------------------------------------------------------------------------


def _fraction(request: ReadRequest) -> float:
    value = request.options.get("test_fraction", 0.2)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise request.option_error("test_fraction", "a number strictly between 0 and 1")
    return float(value)


@contextlib.contextmanager
def _zip_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
        raise FormatError(
            f"{path}: the zip changed or is corrupt since it was audited ({exc}); "
            "delete it and download it again"
        ) from exc


def _records(result: Audit, plan: SplitPlan) -> Iterator[Record]:
    """The split's members in row order, read by random access, their audited shapes with them."""
    path = result.archive
    with _zip_errors(path), zipfile.ZipFile(path) as zf:
        infos = {safe_name(info.filename, str(path)): info for info in zf.infolist()}
        for name, label in zip(plan.members, plan.labels.tolist(), strict=True):
            yield Record(name, label, zf.read(infos[name]), result.shapes[name])


#: Members per unit, and a unit: (member name, label, audited shape) each.
UNIT = 256
Unit = tuple[tuple[str, int, tuple[int, int]], ...]


def _units(result: Audit, plan: SplitPlan) -> Iterator[Unit]:
    """The split's members in ranges of :data:`UNIT`, in row order (names only)."""
    rows = list(zip(plan.members, plan.labels.tolist(), strict=True))
    for i in range(0, len(rows), UNIT):
        yield tuple((name, label, result.shapes[name]) for name, label in rows[i : i + UNIT])


def _read_unit(path: Path, unit: Unit) -> list[Record]:
    """One range of members, read by random access from the zip (a Ray task runs it)."""
    with _zip_errors(path), zipfile.ZipFile(path) as zf:
        infos = {safe_name(info.filename, str(path)): info for info in zf.infolist()}
        return [Record(name, label, zf.read(infos[name]), shape) for name, label, shape in unit]


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``petimages``: the split's audited members through the image sink.

    Returns ``classes`` (``["Cat", "Dog"]``), ``skipped`` (``path`` = member, ``reason``),
    ``count`` (N) and the extras ``audit`` (:meth:`Audit.summary`), ``split_seed``,
    ``test_fraction``, ``members`` (the N member names, row by row), plus ``max_side`` and
    ``bytes`` when packed.
    """
    if request.split not in SPLITS:
        raise CatalogError(
            f"dataset {request.dataset!r}: split {request.split!r} is not one of {SPLITS}; the "
            "PetImages reader draws train and test from the one archive"
        )
    opts = ImageOptions.parse(request)
    fraction, seed = _fraction(request), request.int_option("seed", low=0) or 0
    result = audit(Path(request.file("archive")), workers=opts.workers)
    plan = plan_split(result, request.split, test_fraction=fraction, seed=seed)
    checked = "it passed the audit: did the zip change meanwhile?"
    source = ImageSource(
        str(result.archive), functools.partial(_records, result, plan), len(plan.members),
        checked, units=functools.partial(_units, result, plan),
        read_unit=functools.partial(_read_unit, result.archive),
    )  # fmt: skip
    written = write_images(source, opts, out, request.progress)
    return ReadResult(
        classes=CLASSES,
        skipped=(*plan.skipped, *written.skipped),
        count=written.count,
        extras={
            "audit": result.summary(),
            "split_seed": seed,
            "test_fraction": fraction,
            "members": list(plan.members),
            **written.extras,
        },
    )
