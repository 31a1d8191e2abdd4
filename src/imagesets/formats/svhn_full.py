"""Reader for SVHN "full numbers" (``train.tar.gz``, ``test.tar.gz``, ``extra.tar.gz``).

Format name ``"svhn-full"``; needs h5py (``pip install 'imagesets[svhn]'``). Each archive holds
a folder of ``1.png .. N.png`` (RGB PNGs of varying size) in no particular order, and
``digitStruct.mat``: MATLAB v7.3 (HDF5) with, for image ``k.png``, its name and one box per digit
(``left``, ``top``, ``width``, ``height`` in pixels, ``label`` 1..10 where 10 is the digit 0).
See :mod:`imagesets.testing.svhn_full` for the layout in detail. Other members (``see_bboxes.m``)
are ignored and listed in the returned facts.

The archive is streamed once, nothing is extracted. PNG bytes go unchanged to the blob ``data``
in archive order; their size comes from the IHDR header, without decoding. ``digitStruct.mat``
is read with h5py from memory (an HDF5 file image) when it is at most 64 MiB (the real ones are
smaller), otherwise from a temporary copy in the system temp folder, so memory stays bounded.
Arrays, row ``i`` for the file ``f"{i + 1}.png"``:

* ``spans`` int64 ``(N, 2)``: image ``i`` is ``data[spans[i, 0]:spans[i, 1]]`` (rows follow the
  image numbers, the bytes the archive order, so an ``(N + 1,)`` offsets array cannot describe
  them);
* ``shapes`` int32 ``(N, 2)``: ``(height, width)``;  ``digit_count`` uint8 ``(N,)``;
* ``boxes`` :data:`BOX_DTYPE` ``(M,)``: every digit, by image; ``label`` 0..9 (10 mapped to 0), or
  1..10 unchanged with the option ``raw_labels: true``;
* ``box_offsets`` int64 ``(N + 1,)``: image ``i``'s digits are ``boxes[o[i]:o[i + 1]]``.

:class:`imagesets.sources.BoxedSource` serves a prepared split (images decoded with Pillow);
:data:`BOX_DTYPE`, the record type of ``boxes``, lives in :mod:`imagesets.packed` and is
re-exported here.

>>> import tempfile, pathlib
>>> from imagesets.formats import ReadRequest
>>> from imagesets.testing import MemoryWriter
>>> from imagesets.testing.svhn_full import write_fake_svhn_full
>>> path = pathlib.Path(tempfile.mkdtemp()) / "test.tar.gz"
>>> fake = write_fake_svhn_full(path, n=3)
>>> out = MemoryWriter()
>>> result = read_split(ReadRequest("svhn-full", "test", {"archive": path}, count=3), out)
>>> result.extras["image_format"]
'png'
>>> a = out.arrays
>>> a["shapes"][0].tolist() == list(fake.shapes[0]), int(a["boxes"]["label"][a["box_offsets"][1]])
(True, 0)
"""

from __future__ import annotations

import array
import re
import shutil
import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from ..archives import Member, MemberReader, iter_files
from ..errors import FormatError, require
from ..packed import BOX_DTYPE
from . import ReadRequest, ReadResult, SplitWriter

__all__ = ["BOX_DTYPE", "read_digit_struct", "read_split"]

_BOX_FIELDS = ("left", "top", "width", "height", "label")  # columns of the parsed (k, 5) rows
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_NAME = re.compile(r"([1-9][0-9]*)\.png")
_STRUCT_NAME = "digitStruct.mat"
_SPOOL_BYTES = 64 << 20
_COPY_BYTES = 1 << 20
_PROGRESS_EVERY = 1024
_MAX_IGNORED = 20
_ADVICE = "the archive is damaged or not an SVHN full-numbers archive; download it again"
_MAX_NAME_CHARS = 32  # "k.png" with k up to 10**27
_MAX_DIGITS = 255  # digits per image (digit_count is uint8)
_F32_MAX = float(np.finfo(np.float32).max)
_H5_ERRORS = (KeyError, ValueError, TypeError, OSError, RuntimeError, AttributeError)


def _fail(where: str, what: str, expected: object, found: object) -> FormatError:
    return FormatError(f"{where}: {what}: expected {expected}, found {found}; {_ADVICE}")


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# --- digitStruct.mat ---------------------------------------------------------------------------


def read_digit_struct(
    fileobj: _Readable, source: str = _STRUCT_NAME
) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """Read a ``digitStruct.mat`` stream: ``(boxes, box_offsets)`` with the file's labels 1..10.

    ``boxes`` is :data:`BOX_DTYPE` ``(M,)`` grouped by image, ``box_offsets`` int64 ``(N + 1,)``.
    The names must be ``1.png .. N.png`` in order. A file up to 64 MiB is read in memory, a
    larger one from a temporary file. Raises :class:`FormatError` naming the entry.
    """
    h5 = _h5py()
    head = _read_upto(fileobj, _SPOOL_BYTES + 1)
    if len(head) <= _SPOOL_BYTES:
        return _parse(h5, lambda: h5.File(h5.h5f.open_file_image(head), "r"), source)
    with tempfile.TemporaryDirectory(prefix="imagesets-svhn-") as tmp:
        path = Path(tmp) / _STRUCT_NAME
        with path.open("wb") as fh:
            fh.write(head)
            shutil.copyfileobj(fileobj, fh, _COPY_BYTES)
        return _parse(h5, lambda: h5.File(path, "r"), source)


def _h5py() -> Any:
    return require("h5py", "svhn", "SVHN full numbers")


def _read_upto(fileobj: _Readable, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fileobj`` (fewer only at its end)."""
    parts, size = [], 0
    while size < limit:
        part = fileobj.read(min(_COPY_BYTES, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _parse(h5: Any, opener: Callable[[], Any], source: str) -> tuple[NDArray[Any], NDArray[Any]]:
    try:
        h5file = opener()
    except _H5_ERRORS as exc:
        raise _fail(source, "file type", "an HDF5 (MATLAB v7.3) file", f"{exc}") from None
    with h5file:
        reader = _H5Reader(h5, h5file)
        names, bboxes = _refs(h5, h5file, "name", source), _refs(h5, h5file, "bbox", source)
        if len(names) != len(bboxes):
            found = len(bboxes)
            raise _fail(source, "digitStruct/bbox", f"{len(names)} entries, one per name", found)
        rows = [
            _entry(reader, i, refs, source)
            for i, refs in enumerate(zip(names, bboxes, strict=True))
        ]
    return _pack(rows, source)


def _entry(reader: _H5Reader, i: int, refs: tuple[Any, Any], source: str) -> NDArray[np.float64]:
    """Entry ``i``'s digits as float64 ``(k, 5)``, columns :data:`_BOX_FIELDS`."""
    where = f"digitStruct entry {i + 1}"
    try:
        name = reader.name(refs[0])
        rows = reader.bbox(refs[1])
    except _H5_ERRORS as exc:
        found = f"{type(exc).__name__}: {exc}"
        raise _fail(source, where, "a readable name and bbox", found) from None
    if name != f"{i + 1}.png":
        raise _fail(source, f"{where} name", repr(f"{i + 1}.png"), repr(name))
    return rows


def _refs(h5: Any, f: Any, key: str, source: str) -> NDArray[Any]:
    """``digitStruct/<key>``, an ``(N, 1)`` array of object references, as ``(N,)``."""
    where = f"digitStruct/{key}"
    try:
        ds = f["digitStruct"][key]
        ok = isinstance(ds, h5.Dataset) and h5.check_ref_dtype(ds.dtype) is not None
        refs = ds[()] if ok and ds.ndim == 2 and 1 in ds.shape else None
    except _H5_ERRORS as exc:
        raise _fail(source, where, "a dataset", f"{type(exc).__name__}: {exc}") from None
    if refs is None:
        found = f"{getattr(ds, 'dtype', type(ds).__name__)} {getattr(ds, 'shape', '')}"
        raise _fail(source, where, "an (N, 1) array of object references", found)
    return np.asarray(refs).reshape(-1)


def _bounded(shape: tuple[int, ...], limit: int, what: str) -> None:
    """Refuse a dataset of more than ``limit`` elements before reading it (a ValueError, which
    the caller reports as a :class:`FormatError` naming the entry)."""
    if int(np.prod(shape, dtype=np.float64)) > limit:
        raise ValueError(f"{shape} {what}, at most {limit} expected")


class _H5Reader:
    """Reads names and bboxes through h5py's low-level API (about 2x fewer, cheaper calls
    than the high-level one). Every read goes through a memory dataspace of the buffer's
    shape, so HDF5 itself refuses a dataset whose size differs from the buffer."""

    def __init__(self, h5: Any, h5file: Any) -> None:
        self.h5, self.fid = h5, h5file.id
        self._spaces: dict[tuple[int, ...], Any] = {}

    def _read(self, dsid: Any, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        space = self._spaces.get(shape)
        if space is None:
            space = self._spaces[shape] = self.h5.h5s.create_simple(shape)
        buf = np.empty(shape, dtype)
        dsid.read(space, self.h5.h5s.ALL, buf)
        return buf

    def name(self, ref: Any) -> str:
        """A MATLAB char array (uint16 codes) as a string, at most 32 characters."""
        dsid = self.h5.h5r.dereference(ref, self.fid)
        _bounded(dsid.shape, _MAX_NAME_CHARS, "name characters")
        return "".join(map(chr, self._read(dsid, dsid.shape, np.uint16).reshape(-1).tolist()))

    def bbox(self, ref: Any) -> NDArray[np.float64]:
        """The five fields of a bbox group, each inline doubles or references to doubles."""
        group = self.h5.h5r.dereference(ref, self.fid)
        first = self.h5.h5d.open(group, _BOX_FIELDS[0].encode())
        shape = first.shape
        _bounded(shape, _MAX_DIGITS, "digits")
        is_refs = first.get_type().get_class() == self.h5.h5t.REFERENCE
        read = self._dereferenced if is_refs else self._inline
        columns = [read(first, shape)]
        for name in _BOX_FIELDS[1:]:
            columns.append(read(self.h5.h5d.open(group, name.encode()), shape))
        return np.stack(columns, axis=1)

    def _inline(self, dsid: Any, shape: tuple[int, ...]) -> NDArray[np.float64]:
        return self._read(dsid, shape, np.float64).reshape(-1)

    def _dereferenced(self, dsid: Any, shape: tuple[int, ...]) -> NDArray[np.float64]:
        refs = self._read(dsid, shape, self.h5.ref_dtype).reshape(-1)
        targets = [self.h5.h5r.dereference(r, self.fid) for r in refs]
        return np.array([self._read(t, (1, 1), np.float64)[0, 0] for t in targets])


def _pack(
    rows: Sequence[NDArray[np.float64]], source: str
) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """The parsed rows as ``(boxes, box_offsets)``, after checking labels and coordinates."""
    counts = np.array([len(r) for r in rows], np.int64)
    table = np.concatenate([np.zeros((0, 5)), *rows])
    _check_table(table, counts, source)
    boxes = np.zeros(len(table), BOX_DTYPE)
    boxes["image"] = np.repeat(np.arange(len(rows), dtype=np.int32), counts)
    for column, name in enumerate(_BOX_FIELDS):
        boxes[name] = table[:, column]
    return boxes, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _check_table(table: NDArray[np.float64], counts: NDArray[np.int64], source: str) -> None:
    labels, image = table[:, 4], np.repeat(np.arange(len(counts)), counts)
    bad = np.flatnonzero(~np.isin(labels, np.arange(1, 11)))
    if bad.size:
        raise _fail(
            source, f"digit label of image {image[bad[0]] + 1}.png", "1..10", labels[bad[0]]
        )
    box = table[:, :4]
    bad = np.flatnonzero(~(np.isfinite(box) & (np.abs(box) <= _F32_MAX)).all(axis=1))
    if bad.size:
        where = f"box of image {image[bad[0]] + 1}.png"
        raise _fail(source, where, "finite coordinates that fit float32", table[bad[0], :4])
    if counts.size and counts.max() > _MAX_DIGITS:
        raise _fail(source, "digits per image", f"at most {_MAX_DIGITS}", int(counts.max()))


# --- the archive pass ----------------------------------------------------------------------------


@dataclass
class _Scan:
    """What one pass over the archive found; PNG records are in archive order."""

    label: str
    blob: BinaryIO
    progress: Callable[[int], None]
    numbers: array.array[int] = field(default_factory=lambda: array.array("q"))
    starts: array.array[int] = field(default_factory=lambda: array.array("q"))
    shapes: array.array[int] = field(default_factory=lambda: array.array("i"))
    written: int = 0
    seen: set[int] = field(default_factory=set)
    digits: tuple[NDArray[Any], NDArray[np.int64]] | None = None
    ignored: list[str] = field(default_factory=list)


def _kind(member: Member) -> str:
    if member.basename == _STRUCT_NAME:
        return "struct"
    if _PNG_NAME.fullmatch(member.basename):
        return "png"
    return "bad_png" if member.basename.lower().endswith(".png") else "other"


def _take_png(scan: _Scan, member: Member, reader: MemberReader) -> None:
    match = _PNG_NAME.fullmatch(member.basename)
    assert match is not None  # _kind checked it
    number = int(match.group(1))
    if number in scan.seen:
        raise _fail(scan.label, f"member {member.name}", "one file per image number", "a repeat")
    data = reader.read()
    scan.shapes.extend(_png_size(data, f"{scan.label}!{member.name}"))
    scan.blob.write(data)
    scan.seen.add(number)
    scan.numbers.append(number)
    scan.starts.append(scan.written)
    scan.written += len(data)
    if len(scan.numbers) % _PROGRESS_EVERY == 0:
        scan.progress(_PROGRESS_EVERY)


def _take_struct(scan: _Scan, member: Member, reader: MemberReader) -> None:
    if scan.digits is not None:
        raise _fail(scan.label, f"member {member.name}", f"one {_STRUCT_NAME}", "a second one")
    scan.digits = read_digit_struct(reader, f"{scan.label}!{member.name}")


def _take_bad_png(scan: _Scan, member: Member, reader: MemberReader) -> None:
    expected = "PNG names k.png with k = 1, 2, ... (no leading zeros)"
    raise _fail(scan.label, f"member {member.name}", expected, repr(member.basename))


def _take_other(scan: _Scan, member: Member, reader: MemberReader) -> None:
    if len(scan.ignored) < _MAX_IGNORED:
        scan.ignored.append(member.name)


_HANDLERS: dict[str, Callable[[_Scan, Member, MemberReader], None]] = {
    "png": _take_png,
    "struct": _take_struct,
    "bad_png": _take_bad_png,
    "other": _take_other,
}


def _png_size(data: bytes, source: str) -> tuple[int, int]:
    """``(height, width)`` from the IHDR chunk of PNG bytes, without decoding."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _fail(
            source, "PNG signature", _PNG_SIGNATURE.hex(" "), data[:8].hex(" ") or "0 bytes"
        )
    if len(data) < 24:
        raise _fail(source, "IHDR chunk", "8 + 16 header bytes", f"{len(data)} bytes")
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    if kind != b"IHDR" or length != 13 or not (width and height):
        found = f"{kind!r} of {length} bytes, {width}x{height}"
        raise _fail(source, "first chunk", "IHDR of 13 bytes with a nonzero size", found)
    return height, width


def _image_order(scan: _Scan, n: int) -> NDArray[np.int64]:
    """Archive position of images 1..n, checking that the PNGs are exactly ``1.png .. n.png``."""
    numbers = np.frombuffer(scan.numbers, np.int64)
    missing = sorted(set(range(1, n + 1)) - scan.seen)[:5]
    if missing:
        found = f"no {', '.join(f'{k}.png' for k in missing)}"
        raise _fail(scan.label, f"PNGs named in {_STRUCT_NAME}", f"1.png .. {n}.png", found)
    if len(numbers) != n:
        extra = int(numbers.max())
        raise _fail(scan.label, f"{extra}.png", f"only 1.png .. {n}.png (in {_STRUCT_NAME})", extra)
    return np.argsort(numbers, kind="stable")


# --- the reader ----------------------------------------------------------------------------------


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read one split from ``request.files["archive"]`` into the blob ``data`` and the arrays.

    Returns the extras ``image_format`` (``"png"``), ``raw_labels`` and ``ignored_members`` (the
    first 20 members that are neither PNGs nor ``digitStruct.mat``); calls ``request.progress``
    with images done.
    """
    _h5py()  # fail before streaming gigabytes
    path, raw_labels = request.file("archive"), request.bool_option("raw_labels")
    with out.blob("data") as blob:
        scan = _Scan(str(path), blob, request.progress)
        for member, reader in iter_files(path):
            _HANDLERS[_kind(member)](scan, member, reader)
    scan.progress(len(scan.numbers) % _PROGRESS_EVERY)
    if scan.digits is None:
        raise _fail(scan.label, "members", f"a {_STRUCT_NAME}", "none")
    _write_arrays(request, out, scan, *scan.digits, raw_labels)
    return ReadResult(
        extras={"image_format": "png", "raw_labels": raw_labels, "ignored_members": scan.ignored}
    )


def _write_arrays(request: ReadRequest, out: SplitWriter, scan: _Scan, boxes: NDArray[Any],
                  box_offsets: NDArray[np.int64], raw_labels: bool) -> None:  # fmt: skip
    n = len(box_offsets) - 1
    if request.count is not None and n != request.count:
        raise _fail(scan.label, "image count", f"{request.count} (the catalog)", n)
    order = _image_order(scan, n)
    starts = np.frombuffer(scan.starts, np.int64)
    ends = np.append(starts[1:], scan.written)
    spans = out.array("spans", (n, 2), np.int64)
    spans[:, 0], spans[:, 1] = starts[order], ends[order]
    shapes = np.frombuffer(scan.shapes, np.int32).reshape(-1, 2)
    out.array("shapes", (n, 2), np.int32)[:] = shapes[order]
    out.array("digit_count", (n,), np.uint8)[:] = np.diff(box_offsets)
    if not raw_labels:
        boxes["label"] %= 10
    out.array("boxes", boxes.shape, BOX_DTYPE)[:] = boxes
    out.array("box_offsets", (n + 1,), np.int64)[:] = box_offsets
