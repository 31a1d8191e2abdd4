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
no other file's split. Readers (``request.files = {"archive": zip}``, ``request.split`` is
``"train"`` or ``"test"``; options ``test_fraction`` (0.2), ``seed`` (0), ``workers``):

* ``petimages`` (:func:`read_split`, option ``size`` required): ``images`` uint8
  ``(N, size, size, 3)`` (shorter side resized, centre crop) and ``labels`` int64 ``(N,)``;
* ``petimages-packed`` (:func:`read_split_packed`, option ``max_side``): blob ``data`` (the
  original bytes, or JPEGs re-encoded with the longer side at most ``max_side``), ``offsets``
  int64 ``(N + 1,)``, ``labels`` int64 ``(N,)``, ``shapes`` int64 ``(N, 2)`` (height, width).

Labels: 0 = ``Cat``, 1 = ``Dog``. Rows follow :attr:`Audit.members` order (class, then file
number), which the returned ``members`` lists. Each reader audits the whole zip (one streamed pass,
decoding at 1/8 DCT scale) and then reads its split's members by random access. The layout,
audit and split live in :mod:`imagesets.formats._petimages_audit`, re-exported here.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..archives import safe_name
from ..errors import CatalogError, FormatError
from ..imaging import (
    UndecodableImageError,
    check,
    decode,
    default_workers,
    imap_bounded,
    reencode,
    write_rows,
)
from ..packed import PackedWriter
from . import ReadRequest, SplitWriter
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

__all__ = [
    "CLASSES",
    "SPLITS",
    "TFDS_JFIF_WINDOW",
    "Audit",
    "SplitPlan",
    "audit",
    "plan_split",
    "read_split",
    "read_split_packed",
    "stratified_split",
]

_CHUNK = 256  # rows buffered before a write to the output array


# --- options and reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    size: int | None
    max_side: int | None
    test_fraction: float
    seed: int
    workers: int


def _option_error(request: ReadRequest, key: str, expected: str) -> CatalogError:
    return CatalogError(
        f"dataset {request.dataset!r}, split {request.split!r}: option {key!r} must be "
        f"{expected}, found {request.options.get(key)!r}; fix the entry or the --option"
    )


def _fraction(request: ReadRequest) -> float:
    value = request.options.get("test_fraction", 0.2)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise _option_error(request, "test_fraction", "a number strictly between 0 and 1")
    return float(value)


def _options(request: ReadRequest, *, fixed: bool) -> _Options:
    if request.split not in SPLITS:
        raise CatalogError(
            f"dataset {request.dataset!r}: split {request.split!r} is not one of {SPLITS}; the "
            "PetImages readers draw train and test from the one archive"
        )
    if fixed and request.options.get("max_side") is not None:
        raise _option_error(
            request, "max_side", "absent for format petimages (use petimages-packed)"
        )
    return _Options(
        size=request.int_option("size", low=1, required=True) if fixed else None,
        max_side=None if fixed else request.int_option("max_side", low=1),
        test_fraction=_fraction(request),
        seed=request.int_option("seed", low=0) or 0,
        workers=request.int_option("workers", low=1) or default_workers(),
    )


def _plan(request: ReadRequest, opts: _Options) -> tuple[Audit, SplitPlan]:
    result = audit(Path(request.file("archive")), workers=opts.workers)
    return result, plan_split(
        result, request.split, test_fraction=opts.test_fraction, seed=opts.seed
    )


@contextlib.contextmanager
def _zip_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
        raise FormatError(
            f"{path}: the zip changed or is corrupt since it was audited ({exc}); "
            "delete it and download it again"
        ) from exc


def _member_bytes(path: Path, names: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of the named members, in the order given (random access)."""
    with _zip_errors(path), zipfile.ZipFile(path) as zf:
        infos = {safe_name(info.filename, str(path)): info for info in zf.infolist()}
        for name in names:
            yield name, zf.read(infos[name])


def _changed(exc: UndecodableImageError) -> FormatError:
    return FormatError(f"{exc} (it passed the audit: did the zip change meanwhile?)")


def _manifest(result: Audit, plan: SplitPlan, opts: _Options) -> dict[str, Any]:
    return {
        "classes": list(CLASSES),
        "skipped": plan.skipped,
        "count": len(plan.members),
        "audit": result.summary(),
        "split_seed": opts.seed,
        "test_fraction": opts.test_fraction,
        "members": list(plan.members),
    }


def _decode_into(
    images: NDArray[np.uint8],
    items: Iterator[tuple[str, bytes]],
    workers: int,
    progress: Callable[[int], None],
) -> None:
    """Decode ``items`` (one per row) into ``images``, written in chunks of ``_CHUNK`` rows."""
    size = images.shape[1]

    def load(item: tuple[str, bytes]) -> NDArray[np.uint8]:
        try:
            return decode(item[1], size=size, source=item[0])
        except UndecodableImageError as exc:
            raise _changed(exc) from exc

    write_rows(images, imap_bounded(load, items, workers), progress, _CHUNK)


def read_split(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``petimages``: ``images`` uint8 ``(N, size, size, 3)``, ``labels`` int64 ``(N,)``.

    Returns ``classes`` (``["Cat", "Dog"]``), ``skipped`` (``path`` = member, ``reason``),
    ``count`` (N), ``audit`` (:meth:`Audit.summary`), ``split_seed``, ``test_fraction`` and
    ``members`` (the N member names, row by row).
    """
    opts = _options(request, fixed=True)
    result, plan = _plan(request, opts)
    assert opts.size is not None
    n = len(plan.members)
    images = out.array("images", (n, opts.size, opts.size, 3), np.uint8)
    out.array("labels", (n,), np.int64)[:] = plan.labels
    items = _member_bytes(result.archive, plan.members)
    _decode_into(images, items, opts.workers, request.progress)
    return _manifest(result, plan, opts)


def _packer(
    result: Audit, max_side: int | None
) -> Callable[[tuple[str, bytes]], tuple[bytes, int, int]]:
    def pack(item: tuple[str, bytes]) -> tuple[bytes, int, int]:
        name, data = item
        if max_side is None:
            return (data, *result.shapes[name])
        try:
            stored = reencode(data, max_side, source=name)
            return (stored, *check(stored, source=name))
        except UndecodableImageError as exc:
            raise _changed(exc) from exc

    return pack


def read_split_packed(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``petimages-packed``: blob ``data``, ``offsets``, ``labels``, ``shapes``.

    Returns what :func:`read_split` returns, plus ``max_side`` and ``bytes`` (the data size).
    """
    opts = _options(request, fixed=False)
    result, plan = _plan(request, opts)
    n = len(plan.members)
    shapes = out.array("shapes", (n, 2), np.int64)
    packed = imap_bounded(
        _packer(result, opts.max_side), _member_bytes(result.archive, plan.members), opts.workers
    )
    with out.blob("data") as fh:
        writer = PackedWriter(fh)
        for row, (stored, height, width) in enumerate(packed):
            writer.append(stored)
            shapes[row] = height, width
            if (row + 1) % _CHUNK == 0 or row + 1 == n:
                request.progress(row % _CHUNK + 1)
    out.array("offsets", (n + 1,), np.int64)[:] = writer.offsets()
    out.array("labels", (n,), np.int64)[:] = plan.labels
    return {**_manifest(result, plan, opts), "max_side": opts.max_side, "bytes": writer.nbytes}


def read_split_any(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Format ``petimages``: fixed-size arrays when the option ``size`` is given, else the
    packed store (original bytes, or re-encoded at ``max_side``)."""
    reader = read_split if request.options.get("size") is not None else read_split_packed
    return reader(request, out)
