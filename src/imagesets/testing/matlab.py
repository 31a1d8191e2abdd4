"""Write MATLAB Level 5 MAT-files in the real layout, for tests (fake SVHN, a fake devkit meta.mat).

The bytes follow the MathWorks level-5 layout that :mod:`imagesets.formats.matlab` reads: a
128-byte header, one ``miMATRIX`` element per variable (array flags, dims, name, data padded to
8 bytes, small-element format for data of 4 bytes or less), optionally wrapped in a
``miCOMPRESSED`` zlib element. Numeric arrays are written like ``scipy.io.savemat`` writes them
(byte-identical after the 116-byte header text), chars as MATLAB writes them (``miUINT16``), and
``narrow=True`` stores integral double arrays in the smallest integer type, as MATLAB does.

>>> import tempfile, pathlib, numpy as np
>>> from imagesets.formats.matlab import read_variable
>>> p = pathlib.Path(tempfile.mkdtemp()) / "s.mat"
>>> labels = write_fake_svhn(p, n=5, seed=1)
>>> read_variable(p, "X").shape, labels.shape
((32, 32, 3, 5), (5,))
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np

from ..formats._mat5 import (
    MI_COMPRESSED,
    MI_INT8,
    MI_INT32,
    MI_MATRIX,
    MI_UINT8,
    MI_UINT16,
    MI_UINT32,
    STORAGE,
)
from ..formats.matlab import CLASS_DTYPES, CLASSES, COMPLEX_FLAG, LOGICAL_FLAG, MatStruct

__all__ = [
    "HEADER_TEXT",
    "MatInput",
    "fake_svhn_images",
    "fake_svhn_labels",
    "write_fake_imagenet_meta",
    "write_fake_svhn",
    "write_mat",
]

MatInput: TypeAlias = "np.ndarray[Any, Any] | str | MatStruct"
HEADER_TEXT = "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970"
_CLASS_CODES = {name: code for code, name in CLASSES.items()}
_CLASS_OF_DTYPE = {dtype: name for name, dtype in CLASS_DTYPES.items()}
#: numpy dtype (no byte order) -> (miXXX data type, mxXXX class name); bool is stored as uint8
_NUMERIC: dict[str, tuple[int, str]] = {
    **{dtype: (code, _CLASS_OF_DTYPE[dtype]) for code, dtype in STORAGE.items()},
    "b1": (MI_UINT8, "uint8"),
}
_NARROW = ("u1", "i1", "u2", "i2", "u4", "i4")  # MATLAB's compact storage of integral doubles
_FAKE_BLOCK = 1024  # fake SVHN images drawn per random generator


class _Encoder:
    """Element bytes in one byte order (``"<"`` or ``">"``)."""

    def __init__(self, order: str, narrow: bool) -> None:
        self.order, self.narrow = order, narrow

    def u4(self, *values: int) -> bytes:
        return np.array(values, self.order + "u4").tobytes()

    def element(self, mdtype: int, data: bytes) -> bytes:
        if len(data) <= 4:
            return self.u4(len(data) << 16 | mdtype) + data.ljust(4, b"\0")
        return self.u4(mdtype, len(data)) + data + b"\0" * (-len(data) % 8)

    def header(self, cls: str, dims: Sequence[int], name: str, flags: int = 0) -> bytes:
        flag_word = self.u4(_CLASS_CODES[cls] | flags, 0)
        dims_data = np.array(dims, self.order + "i4").tobytes()
        name_data = self.element(MI_INT8, name.encode("latin-1"))
        return self.element(MI_UINT32, flag_word) + self.element(MI_INT32, dims_data) + name_data

    def matrix(self, value: MatInput, name: str = "") -> bytes:
        """A whole ``miMATRIX`` element for ``value``."""
        content = self._content(value, name)
        return self.u4(MI_MATRIX, len(content)) + content

    def _content(self, value: MatInput, name: str) -> bytes:
        if isinstance(value, str):
            return self._char(np.array(value), name)
        if isinstance(value, MatStruct):
            return self._struct(value, name)
        kind = "object" if value.dtype == object else "char" if value.dtype.kind == "U" else "num"
        return {"object": self._cell, "char": self._char, "num": self._numeric}[kind](value, name)

    def _numeric(self, arr: np.ndarray[Any, Any], name: str) -> bytes:
        is_complex = arr.dtype.kind == "c"
        part = arr.real if is_complex else arr
        key = part.dtype.str[1:]
        if key not in _NUMERIC:
            raise ValueError(f"{name!r}: no MATLAB class for dtype {arr.dtype}")
        flags = COMPLEX_FLAG * is_complex | LOGICAL_FLAG * (arr.dtype.kind == "b")
        head = self.header(_NUMERIC[key][1], _matdims(arr), name, flags)
        if is_complex:
            return head + self._data(arr.real) + self._data(arr.imag)
        return head + self._data(arr)

    def _data(self, arr: np.ndarray[Any, Any]) -> bytes:
        stored = _narrowest(arr) if self.narrow else arr
        key = stored.dtype.str[1:]
        data = stored.astype(self.order + key.replace("b1", "u1")).tobytes(order="F")
        return self.element(_NUMERIC[key][0], data)

    def _char(self, arr: np.ndarray[Any, Any], name: str) -> bytes:
        strings = [str(s) for s in arr.ravel()]
        width = max(map(len, strings), default=0)
        if width == 0:
            return self.header("char", (0,) * max(2, arr.ndim), name) + self.element(MI_UINT16, b"")
        if {len(s) for s in strings} != {width} or max(map(ord, "".join(strings))) > 0xFFFF:
            raise ValueError(f"{name!r}: char arrays need equal-length strings of BMP characters")
        codes = np.array([[ord(c) for c in s] for s in strings], self.order + "u2")
        codes = codes.reshape((*(arr.shape or (1,)), width))
        chars = self.element(MI_UINT16, codes.tobytes(order="F"))
        return self.header("char", codes.shape, name) + chars

    def _cell(self, arr: np.ndarray[Any, Any], name: str) -> bytes:
        cells = np.atleast_1d(arr).ravel(order="F")
        body = b"".join(self.matrix(_coerce(el)) for el in cells)
        return self.header("cell", _matdims(arr), name) + body

    def _struct(self, st: MatStruct, name: str) -> bytes:
        if len(st.records) != math.prod(st.dims):
            raise ValueError(f"{name!r}: {len(st.records)} records for struct dims {st.dims}")
        width = 32 if max(map(len, st.fields), default=0) < 32 else 64
        names = b"".join(f.encode("latin-1").ljust(width, b"\0") for f in st.fields)
        body = b"".join(self.matrix(_coerce(rec[f])) for rec in st.records for f in st.fields)
        head = self.header("struct", st.dims, name)
        return head + self.element(MI_INT32, self.u4(width)) + self.element(MI_INT8, names) + body


def _coerce(value: Any) -> MatInput:
    """Nested values: Python scalars and sequences become arrays."""
    if isinstance(value, str | MatStruct | np.ndarray):
        return value
    return np.asarray(value)


def _matdims(arr: np.ndarray[Any, Any]) -> tuple[int, ...]:
    """MATLAB dims: a scalar is 1x1 and a 1-D array a row, as scipy writes them."""
    return (1, 1) if arr.ndim == 0 else (1, arr.shape[0]) if arr.ndim == 1 else arr.shape


def _narrowest(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """An integral double array in the first integer type that holds it, else unchanged."""
    if arr.dtype != np.float64 or arr.size == 0 or not np.array_equal(arr, np.round(arr)):
        return arr
    for key in _NARROW:
        info = np.iinfo(key)
        if info.min <= arr.min() and arr.max() <= info.max:
            return arr.astype(key)
    return arr


def _file_header(order: str, text: str) -> bytes:
    """The 128-byte header: text (space padded), no subsystem data, version, endian mark."""
    endian = b"IM" if order == "<" else b"MI"
    version = np.array(0x0100, order + "u2").tobytes()
    return text.encode("ascii").ljust(116, b" ")[:116] + b"\0" * 8 + version + endian


def _write_element(f: BinaryIO, pieces: Iterable[bytes], compress: bool, enc: _Encoder) -> None:
    """Write one top-level element from ``pieces`` (a whole ``miMATRIX``), zlib-wrapped or not."""
    if not compress:
        for piece in pieces:
            f.write(piece)
        return
    tag_at = f.tell()
    f.write(b"\0" * 8)
    squeezer, size = zlib.compressobj(), 0
    for piece in [*(squeezer.compress(p) for p in pieces), squeezer.flush()]:
        f.write(piece)
        size += len(piece)
    end = f.tell()
    f.seek(tag_at)
    f.write(enc.u4(MI_COMPRESSED, size))
    f.seek(end)


def write_mat(
    path: str | Path,
    variables: Mapping[str, MatInput],
    *,
    compress: bool = False,
    narrow: bool = False,
    byteorder: str = "<",
    header_text: str = HEADER_TEXT,
) -> None:
    """Write ``variables`` to a MAT-file at ``path``.

    Values: numeric/bool/complex arrays (0-d is 1x1, 1-D a row), ``str`` (a 1xN char row),
    ``str`` arrays of equal-length strings (char arrays), object arrays (cells), and
    :class:`MatStruct` (struct arrays). ``compress`` wraps each variable in ``miCOMPRESSED``
    (zlib level 6, as scipy); ``narrow`` stores integral doubles as MATLAB does; ``byteorder``
    ``"<"`` or ``">"`` picks the file's byte order.
    """
    enc = _Encoder(byteorder, narrow)
    with open(path, "wb") as f:
        f.write(_file_header(byteorder, header_text))
        for name, value in variables.items():
            _write_element(f, [enc.matrix(value, name)], compress, enc)


def fake_svhn_labels(n: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """The raw labels of the fake SVHN file ``(n, seed)``: ``(n,)`` uint8 in 1..10 (10 = 0)."""
    return np.random.default_rng(seed).integers(1, 11, n, dtype=np.uint8)


def fake_svhn_images(
    n: int, seed: int = 0, start: int = 0, stop: int | None = None
) -> np.ndarray[Any, Any]:
    """Images ``start:stop`` of the fake SVHN file ``(n, seed)``: ``(k, 32, 32, 3)`` uint8 NHWC,
    a flat colour plus noise (zlib shrinks it to 0.82, the real files to 0.80)."""
    stop = n if stop is None else min(stop, n)
    blocks = range(start // _FAKE_BLOCK, (stop + _FAKE_BLOCK - 1) // _FAKE_BLOCK)
    parts = [_fake_block(n, seed, b) for b in blocks]
    if not parts:
        return np.zeros((0, 32, 32, 3), np.uint8)
    first = blocks[0] * _FAKE_BLOCK
    return np.concatenate(parts)[start - first : stop - first]


def _fake_block(n: int, seed: int, block: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng([seed, block])
    count = min(_FAKE_BLOCK, n - block * _FAKE_BLOCK)
    base = rng.integers(0, 240, (count, 1, 1, 3), dtype=np.uint8)
    return base + rng.integers(0, 16, (count, 32, 32, 3), dtype=np.uint8)


def write_fake_svhn(
    path: str | Path, n: int, seed: int = 0, *, compress: bool = True, chunk: int = 4096
) -> np.ndarray[Any, Any]:
    """Write a fake ``*_32x32.mat`` with ``n`` images and return its raw labels ``(n,)`` uint8.

    Layout as the real files: ``X`` uint8 ``(32, 32, 3, n)`` column-major, then ``y`` of class
    double ``(n, 1)`` stored as ``miUINT8`` (values 1..10), each variable zlib-compressed unless
    ``compress=False``. Pixels are streamed ``chunk`` images at a time, so any ``n`` fits in
    memory; :func:`fake_svhn_images` regenerates them.
    """
    enc = _Encoder("<", narrow=True)
    labels = fake_svhn_labels(n, seed)
    nbytes = n * 32 * 32 * 3
    head = enc.header("uint8", (32, 32, 3, n), "X") + enc.u4(MI_UINT8, nbytes)
    if len(head) + nbytes >= 2**32:
        raise ValueError(f"{n} images do not fit in one MAT-file v5 element")
    pixels = (_column_major(fake_svhn_images(n, seed, i, i + chunk)) for i in range(0, n, chunk))
    pad = b"\0" * (-nbytes % 8)
    with open(path, "wb") as f:
        f.write(_file_header("<", HEADER_TEXT))
        pieces = [enc.u4(MI_MATRIX, len(head) + nbytes + len(pad)) + head], pixels, [pad]
        _write_element(f, (p for group in pieces for p in group), compress, enc)
        y = enc.matrix(labels.astype(np.float64).reshape(n, 1), "y")
        _write_element(f, [y], compress, enc)
    return labels


def _column_major(images: np.ndarray[Any, Any]) -> bytes:
    """NHWC images as the bytes of ``X[:, :, :, i]`` blocks in column-major order."""
    return np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes()


def write_fake_imagenet_meta(
    path: str | Path,
    wnids: Sequence[str],
    words: Sequence[str],
    *,
    parent: bool = True,
    compress: bool = True,
) -> None:
    """Write a fake ILSVRC2012 devkit ``data/meta.mat``: one variable ``synsets``, a struct array
    ``(len(wnids) + parent, 1)`` with the real fields (``ILSVRC2012_ID`` double 1..N, ``WNID``,
    ``words``, ``gloss`` char rows, ``num_children``, ``children`` (empty for leaves),
    ``wordnet_height``, ``num_train_images`` doubles). The leaves come first, like the real file
    (1,000 leaves then 860 inner nodes); ``parent`` adds one inner node whose children are all
    the leaves. Doubles are stored narrow, as MATLAB stores them.
    """
    if len(wnids) != len(words):
        raise ValueError(f"{len(wnids)} wnids but {len(words)} words")
    n = len(wnids)
    records = [
        _synset(i + 1, w, t, [], 1300) for i, (w, t) in enumerate(zip(wnids, words, strict=True))
    ]
    if parent:
        records.append(_synset(n + 1, "n00001740", "entity", list(range(1, n + 1)), 1300 * n))
    synsets = MatStruct((len(records), 1), tuple(records[0]) if records else (), tuple(records))
    write_mat(path, {"synsets": synsets}, compress=compress, narrow=True)


def _synset(index: int, wnid: str, words: str, children: list[int], images: int) -> dict[str, Any]:
    def scalar(x: float) -> np.ndarray[Any, Any]:
        return np.array([[x]], dtype=np.float64)

    return {
        "ILSVRC2012_ID": scalar(index),
        "WNID": wnid,
        "words": words,
        "gloss": f"a fake gloss for {words}",
        "num_children": scalar(len(children)),
        "children": np.array(children, dtype=np.float64).reshape(1, len(children)),
        "wordnet_height": scalar(1 if children else 0),
        "num_train_images": scalar(images),
    }
