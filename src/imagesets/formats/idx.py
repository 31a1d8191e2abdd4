"""IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST, QMNIST...), gzip-compressed or plain.

Layout (big-endian): two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then one uint32 per
dimension, then the data in C order. Every field is validated; the data are decompressed
straight into the output array (no intermediate copy), using ``isal`` when installed
(``pip install 'imagesets[fast]'``, about 2x faster than zlib).
"""

from __future__ import annotations

import gzip
import math
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter

__all__ = ["IdxHeader", "read_array", "read_header", "read_split", "read_stream"]

#: IDX type code -> numpy dtype (big-endian where it matters).
TYPE_CODES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22
_MAX_NDIM = 8
_MAX_RATIO = 1032  # deflate cannot expand more than about 1032:1


@dataclass(frozen=True)
class IdxHeader:
    """A parsed IDX header: ``dtype`` of the items, ``shape`` of the array, ``size`` in bytes."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Bytes of data that follow the header."""
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def header_size(self) -> int:
        """Bytes of the header itself: 4 + 4 per dimension."""
        return 4 + 4 * len(self.shape)


def _open_gzip(path: Path) -> IO[bytes]:
    try:
        from isal import igzip
    except ImportError:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return cast(IO[bytes], igzip.open(path, "rb"))  # type: ignore[no-untyped-call]


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(2) == _GZIP_MAGIC


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading, decompressing transparently if it is gzip."""
    fh = _open_gzip(path) if _is_gzip(path) else path.open("rb")
    try:
        yield fh
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(
            f"IDX file {path}: the gzip stream is corrupt or cut short ({exc}); "
            "delete it and download it again (`imagesets verify NAME` finds such files)"
        ) from exc
    finally:
        fh.close()


def _read_exact(fh: IO[bytes], n: int, path: Path, field: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise FormatError(
            f"IDX file {path}: truncated in the {field}: expected {n} bytes, found {len(data)}"
        )
    return data


def _parse_header(fh: IO[bytes], path: Path) -> IdxHeader:
    magic = _read_exact(fh, 4, path, "magic number")
    if magic[:2] != b"\0\0":
        raise FormatError(
            f"IDX file {path}: bad magic number: expected two zero bytes then type and ndim, "
            f"found {magic.hex()} (is this an IDX file, or an HTML page saved under its name?)"
        )
    code, ndim = magic[2], magic[3]
    if code not in TYPE_CODES:
        raise FormatError(
            f"IDX file {path}: unknown type code: expected one of "
            f"{', '.join(hex(c) for c in TYPE_CODES)}, found {code:#04x}"
        )
    if not 1 <= ndim <= _MAX_NDIM:
        raise FormatError(
            f"IDX file {path}: number of dimensions: expected 1 to {_MAX_NDIM}, found {ndim}"
        )
    raw = _read_exact(fh, 4 * ndim, path, "dimensions")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4"))
    return IdxHeader(TYPE_CODES[code], shape)


def read_header(path: str | Path) -> IdxHeader:
    """Parse only the header of an IDX file (gzip or plain).

    Raises:
        FormatError: bad magic, unknown type code, impossible dimensions or truncation.
    """
    path = Path(path)
    with _open(path) as fh:
        return _parse_header(fh, path)


def _fill(fh: IO[bytes], out: np.ndarray[Any, Any], path: Path, header: IdxHeader) -> None:
    """Decompress the body straight into ``out`` (C-contiguous), chunk by chunk."""
    view = memoryview(out.reshape(-1).view(np.uint8).data)
    done = 0
    while done < header.nbytes:
        got = fh.readinto(view[done : done + _CHUNK])  # type: ignore[attr-defined]
        if not got:
            raise FormatError(
                f"IDX file {path}: truncated data: header says {header.shape} "
                f"({header.nbytes} bytes), found {done} bytes; delete the file and fetch it again"
            )
        done += got
    if fh.read(1):
        raise FormatError(
            f"IDX file {path}: longer than its header says: expected {header.nbytes} bytes of "
            f"data for {header.shape}, found more; the file is not what it claims to be"
        )


def read_array(path: str | Path, out: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
    """Read a whole IDX file into a native-endian array of the header's shape.

    Args:
        path: an IDX file, gzip-compressed or plain.
        out: an optional C-contiguous array of the header's shape and (native) dtype to fill
            in place; the data are decompressed straight into it.

    Returns:
        the array, e.g. uint8 ``(60000, 28, 28)`` for MNIST train images, values 0-255.

    Raises:
        FormatError: any header field wrong, a size the file cannot hold, the data truncated or
            too long, bad gzip, or an ``out`` of another shape or dtype.
    """
    path = Path(path)
    with _open(path) as fh:
        header = _parse_header(fh, path)
        _check_size(path, header)
        native = header.dtype.newbyteorder("=")
        if out is None:
            out = np.empty(header.shape, dtype=native)
        elif out.shape != header.shape or out.dtype != native:
            raise FormatError(
                f"IDX file {path}: shape and dtype: expected {out.shape} {out.dtype} (the "
                f"output array), found {header.shape} {native} in the header"
            )
        _fill(fh, out, path, header)
    if header.dtype.byteorder == ">" and sys.byteorder == "little":
        out.byteswap(inplace=True)  # the file's big-endian bytes, turned into native values
    return out


def read_stream(
    fh: IO[bytes], label: Path, allocate: Callable[[IdxHeader], np.ndarray[Any, Any]]
) -> np.ndarray[Any, Any]:
    """Read one IDX array from an open, already decompressed stream (a member of an archive).

    Args:
        fh: the stream, positioned at the IDX magic number.
        label: names the stream in errors (``archive.zip/member``).
        allocate: called with the parsed header; must check the header against what its
            source can hold (before allocating) and return a C-contiguous array of the
            header's shape and native dtype to fill.

    Returns:
        the array ``allocate`` gave, filled with native-endian values.

    Raises:
        FormatError: a bad header, truncated or over-long data, or what ``allocate`` raises.
    """
    header = _parse_header(fh, label)
    out = allocate(header)
    if out.shape != header.shape or out.dtype != header.dtype.newbyteorder("="):
        raise FormatError(
            f"IDX stream {label}: shape and dtype: expected {header.shape} "
            f"{header.dtype.newbyteorder('=')}, the output array is {out.shape} {out.dtype}"
        )
    _fill(fh, out, label, header)
    if header.dtype.byteorder == ">" and sys.byteorder == "little":
        out.byteswap(inplace=True)
    return out


def _check_size(path: Path, header: IdxHeader) -> None:
    """Refuse a header that claims more data than the file can hold, before allocating."""
    stored = path.stat().st_size
    if _is_gzip(path):
        if header.nbytes > stored * _MAX_RATIO:
            raise FormatError(
                f"IDX file {path}: truncated data: header says {header.shape} ({header.nbytes} "
                f"bytes), a gzip file of {stored} bytes cannot hold that; delete the file and "
                "fetch it again"
            )
        return
    found = stored - header.header_size
    if header.nbytes > found:
        raise FormatError(
            f"IDX file {path}: truncated data: header says {header.shape} ({header.nbytes} "
            f"bytes), found {found} bytes; delete the file and fetch it again"
        )


def _label_columns(request: ReadRequest) -> tuple[str, ...] | None:
    """The entry option ``label_columns`` (QMNIST's 8 columns): unique identifier names, the
    first ``"labels"``; None when absent (1-D labels, as MNIST's)."""
    value = request.options.get("label_columns")
    if value is None:
        return None
    ok = (
        isinstance(value, (list, tuple))
        and value
        and value[0] == "labels"
        and all(isinstance(v, str) and v.isidentifier() for v in value)
        and len(set(value)) == len(value)
    )
    if not ok:
        raise request.option_error(
            "label_columns", "a list of unique array names, the first 'labels'"
        )
    return tuple(value)


def _check_headers(
    request: ReadRequest, img_h: IdxHeader, lab_h: IdxHeader, columns: tuple[str, ...] | None
) -> None:
    images_path, labels_path = request.file("images"), request.file("labels")
    want = "1-D labels" if columns is None else f"labels of shape (N, {len(columns)})"
    rank_ok = len(lab_h.shape) == 1 if columns is None else lab_h.shape[1:] == (len(columns),)
    if not rank_ok or len(img_h.shape) < 2:
        raise FormatError(
            f"IDX files of {request.dataset} {request.split}: expected images with 2+ dimensions "
            f"and {want}, found images {img_h.shape} in {images_path.name} and labels "
            f"{lab_h.shape} in {labels_path.name}"
        )
    if img_h.shape[0] != lab_h.shape[0]:
        raise FormatError(
            f"IDX files of {request.dataset} {request.split}: {images_path.name} holds "
            f"{img_h.shape[0]} images but {labels_path.name} holds {lab_h.shape[0]} labels"
        )


def _read_columns(
    path: Path, header: IdxHeader, columns: tuple[str, ...], out: SplitWriter
) -> None:
    """Split a 2-D label file into one ``(N,)`` array per column name (native dtype); the
    table's size was bounded by the image count before this allocation."""
    table = read_array(path)
    for i, name in enumerate(columns):
        out.array(name, (header.shape[0],), table.dtype)[:] = table[:, i]


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read one split of an IDX dataset: roles ``images`` and ``labels``.

    Writes ``images`` (the images file's dtype and shape, e.g. uint8 ``(N, 28, 28)``) and
    ``labels`` (``(N,)``, the labels file's dtype, uint8 for MNIST). With the entry option
    ``label_columns`` (QMNIST's extended labels), the labels file is a table ``(N, K)`` and
    each of its ``K`` columns becomes an ``(N,)`` array named by the option, the first
    ``labels`` (QMNIST: int32 columns ``labels``, ``nist_hsf``, ``writer_id``, ...).

    Raises:
        FormatError: a bad file, labels not of the expected shape, or image and label counts
            that differ.
        CatalogError: a malformed ``label_columns`` option.
    """
    columns = _label_columns(request)
    images_path, labels_path = request.file("images"), request.file("labels")
    img_h, lab_h = read_header(images_path), read_header(labels_path)
    _check_headers(request, img_h, lab_h, columns)
    arr = out.array("images", img_h.shape, img_h.dtype.newbyteorder("="))
    read_array(images_path, arr)
    request.progress(img_h.shape[0])
    if columns is None:
        read_array(labels_path, out.array("labels", lab_h.shape, lab_h.dtype.newbyteorder("=")))
    else:
        _read_columns(labels_path, lab_h, columns, out)
    return ReadResult()
