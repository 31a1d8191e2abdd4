"""A reader for MATLAB Level 5 MAT-files (the SVHN ``*_32x32.mat`` files, the ImageNet devkit).

numpy and zlib only. The layout (MathWorks, "MAT-File Format", level 5):

- a 128-byte header: 116 bytes of text (``MATLAB 5.0 MAT-file...``), an 8-byte subsystem data
  offset (zeros or spaces when absent), the version ``0x0100`` and the endian indicator ``'IM'``
  (little-endian file) or ``'MI'`` (big-endian), both written as 16-bit values;
- then data elements, each an 8-byte tag (type, byte count) and its data padded to 8 bytes, or a
  small element packing type, count (<= 4) and data into the 8 bytes. Top-level elements are
  ``miMATRIX`` or ``miCOMPRESSED`` (a zlib stream holding one ``miMATRIX``, not padded);
- a ``miMATRIX`` holds array flags (class, complex/global/logical bits), dimensions, the name and
  the data in column-major order, possibly in a narrower type than its class (MATLAB saves a
  double array of small integers as ``miUINT8``); this reader converts to the class, as MATLAB
  does (scipy's ``loadmat(mat_dtype=True)``).

Values: numeric classes become numpy arrays of the class dtype with the stored dims (column-major;
``bool`` if logical; complex if flagged); a char row (``1xN`` or empty) a ``str``, a char array
of more rows a numpy ``str`` array over the leading dims; a cell array an object array of values;
a struct array a :class:`MatStruct`. Sparse, object, function and opaque classes are listed but
not read. Every malformation is a :class:`FormatError`; compressed data is inflated in chunks.

>>> import tempfile, numpy as np, pathlib
>>> from imagesets.testing.matlab import write_mat
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.mat"
>>> write_mat(p, {"x": np.arange(6, dtype=np.uint8).reshape(2, 3)}, compress=True)
>>> [(v.name, v.mat_class, v.dims) for v in list_variables(p)]
[('x', 'uint8', (2, 3))]
>>> read_variable(p, "x")[1].tolist()
[3, 4, 5]
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias

import numpy as np

from ..errors import FormatError

__all__ = [
    "MatFile",
    "MatStruct",
    "MatValue",
    "VariableInfo",
    "list_variables",
    "open_mat",
    "read_variable",
]

MI_INT8, MI_UINT8, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 4, 5, 6
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
#: numeric data types: miXXX code -> numpy dtype (the file's byte order is added)
STORAGE: dict[int, str] = {
    1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8",
}  # fmt: skip
#: mxXXX_CLASS code -> class name
CLASSES: dict[int, str] = {
    1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 6: "double", 7: "single",
    8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32", 13: "uint32", 14: "int64",
    15: "uint64", 16: "function", 17: "opaque",
}  # fmt: skip
#: numeric class name -> numpy dtype of the values returned
CLASS_DTYPES: dict[str, str] = {
    "double": "f8", "single": "f4", "int8": "i1", "uint8": "u1", "int16": "i2",
    "uint16": "u2", "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
}  # fmt: skip
COMPLEX_FLAG, LOGICAL_FLAG = 0x0800, 0x0200
_ENDIAN: dict[bytes, Literal["little", "big"]] = {b"IM": "little", b"MI": "big"}
_INPUT_CHUNK = 1 << 20  # compressed bytes read per step
_OUTPUT_CHUNK = 1 << 24  # most bytes inflated per zlib call
_Array: TypeAlias = "np.ndarray[Any, Any]"
_ADVICE = "the file is damaged or not a MATLAB v5 MAT-file; download it again"


def _fail(
    path: Path, field: str, expected: object, found: object, advice: str = _ADVICE
) -> FormatError:
    return FormatError(f"{path}: {field}: expected {expected}, found {found}; {advice}")


@dataclass(frozen=True)
class MatStruct:
    """A MATLAB struct array: ``dims`` (e.g. ``(1000, 1)``), ``fields`` in file order, and
    ``records``, one ``{field: value}`` per element in column-major order."""

    dims: tuple[int, ...]
    fields: tuple[str, ...]
    records: tuple[dict[str, MatValue], ...]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, MatValue]:
        return self.records[index]

    def column(self, name: str) -> list[MatValue]:
        """The values of field ``name`` for every element (a ``KeyError`` if there is none)."""
        if name not in self.fields:
            raise KeyError(f"struct has no field {name!r}; fields: {', '.join(self.fields)}")
        return [rec[name] for rec in self.records]


MatValue: TypeAlias = "np.ndarray[Any, Any] | str | MatStruct"


@dataclass(frozen=True)
class VariableInfo:
    """One top-level variable, from its header alone: ``name``, ``mat_class`` (a CLASSES value),
    ``dims`` (at least two, column-major), the ``is_complex``/``is_logical`` flags, whether it
    is ``compressed`` (zlib), and its top-level tag's ``offset`` and byte count ``nbytes``."""

    name: str
    mat_class: str
    dims: tuple[int, ...]
    is_complex: bool
    is_logical: bool
    compressed: bool
    offset: int
    nbytes: int


class _RawStream:
    """Bytes of an uncompressed element; seeks to its own offset, so streams can interleave."""

    def __init__(self, f: io.BufferedReader, start: int, path: Path) -> None:
        self.f, self.start, self.path, self.pos = f, start, path, 0

    def readinto(self, view: memoryview) -> None:
        self.f.seek(self.start + self.pos)
        got = self.f.readinto(view)
        if got != len(view):
            where = f"data at byte {self.start + self.pos}"
            raise _fail(self.path, where, f"{len(view)} bytes", f"{got} (file truncated)")
        self.pos += got

    def skip(self, n: int) -> None:
        self.pos += n

    def finish(self) -> None:
        """Nothing to verify in raw bytes."""


class _ZlibStream:
    """Bytes inflated on demand from a ``miCOMPRESSED`` element: memory stays within a chunk."""

    def __init__(self, f: io.BufferedReader, start: int, length: int, path: Path) -> None:
        self.f, self.path, self.pos = f, path, 0
        self.next_in, self.left, self.tail = start, length, b""
        self.inflater = zlib.decompressobj()

    def readinto(self, view: memoryview) -> None:
        filled = 0
        while filled < len(view):
            out = self._inflate(min(len(view) - filled, _OUTPUT_CHUNK))
            if not out:
                ends = f"the zlib stream ends after {self.pos + filled} bytes"
                raise _fail(self.path, "compressed element", "more data", ends)
            view[filled : filled + len(out)] = out
            filled += len(out)
        self.pos += filled

    def skip(self, n: int) -> None:
        while n > 0:
            step = min(n, _OUTPUT_CHUNK)
            self.readinto(np.empty(step, np.uint8).data)
            n -= step

    def finish(self) -> None:
        """Inflate to the end of the zlib stream, so that its checksum is verified."""
        while not self.inflater.eof:
            self._inflate(_OUTPUT_CHUNK)

    def _inflate(self, want: int) -> bytes:
        """1 to ``want`` inflated bytes, or none at the stream's end; every loop consumes input."""
        while True:
            if not self.tail and self.left > 0 and not self.inflater.eof:
                self.tail = self._read_input()
            before = len(self.tail)
            try:
                out = self.inflater.decompress(self.tail, want)
            except zlib.error as exc:
                raise _fail(self.path, "compressed element", "a zlib stream", exc) from None
            self.tail = self.inflater.unconsumed_tail
            if out or self.inflater.eof:
                return out
            if before == 0 or len(self.tail) == before:
                found = "the end of its bytes before the end of the zlib stream"
                raise _fail(self.path, "compressed element", "more data", found)

    def _read_input(self) -> bytes:
        self.f.seek(self.next_in)
        data = self.f.read(min(_INPUT_CHUNK, self.left))
        if not data:
            raise _fail(self.path, "compressed element", f"{self.left} more bytes", "end of file")
        self.next_in, self.left = self.next_in + len(data), self.left - len(data)
        return data


@dataclass
class _Parser:
    """Tags and elements from a stream, never past ``end`` (a stream position)."""

    stream: _RawStream | _ZlibStream
    endian: Literal["little", "big"]
    path: Path
    end: int

    @property
    def order(self) -> str:
        return "<" if self.endian == "little" else ">"

    def fail(self, field: str, expected: object, found: object) -> FormatError:
        return _fail(self.path, field, expected, found)

    def readinto(self, view: memoryview, field: str) -> None:
        room = self.end - self.stream.pos
        if len(view) > room:
            raise self.fail(field, f"at most {room} bytes", f"{len(view)} (beyond its element)")
        self.stream.readinto(view)

    def read(self, n: int, field: str) -> bytes:
        buf = np.empty(n, np.uint8)
        self.readinto(buf.data, field)
        return buf.tobytes()

    def tag(self, field: str) -> tuple[int, int, bytes | None]:
        """``(type, byte count, inline data or None)`` of the next element."""
        raw = self.read(8, f"{field} tag")
        word = int.from_bytes(raw[:4], self.endian)
        if not word >> 16:
            return word, int.from_bytes(raw[4:], self.endian), None
        if word >> 16 > 4:
            raise self.fail(f"{field} small element", "at most 4 bytes", word >> 16)
        return word & 0xFFFF, word >> 16, raw[4 : 4 + (word >> 16)]

    def pad(self, nbytes: int) -> None:
        """Skip the padding to 8 bytes, only as far as the enclosing element goes."""
        self.stream.skip(min(-nbytes % 8, self.end - self.stream.pos))

    def element(self, field: str, allowed: tuple[int, ...] | None = None) -> tuple[int, bytes]:
        """``(type, data)`` of the next element, whose type must be in ``allowed`` if given."""
        mdtype, nbytes, inline = self.tag(field)
        if allowed is not None and mdtype not in allowed:
            raise self.fail(f"{field} type", f"one of {allowed}", mdtype)
        if inline is not None:
            return mdtype, inline
        data = self.read(nbytes, field)
        self.pad(nbytes)
        return mdtype, data


@dataclass(frozen=True)
class _Header:
    mat_class: str
    dims: tuple[int, ...]
    name: str
    is_complex: bool
    is_logical: bool


def _read_header(p: _Parser) -> _Header:
    flags_data = p.element("array flags", (MI_UINT32,))[1]
    flags = int.from_bytes(flags_data[:4], p.endian)
    if len(flags_data) != 8 or flags & 0xFF not in CLASSES:
        raise p.fail("array flags", f"8 bytes, a class in {sorted(CLASSES)}", flags_data.hex())
    dims_data = p.element("dimensions", (MI_INT32,))[1]
    if len(dims_data) < 8 or len(dims_data) % 4:
        raise p.fail("dimensions", "at least two int32 values", f"{len(dims_data)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(dims_data, p.order + "i4"))
    if min(dims) < 0:
        raise p.fail("dimensions", "non-negative sizes", dims)
    name = p.element("array name", (MI_INT8, MI_UINT8))[1].decode("latin-1")
    cls = CLASSES[flags & 0xFF]
    return _Header(cls, dims, name, bool(flags & COMPLEX_FLAG), bool(flags & LOGICAL_FLAG))


def _part_dtype(p: _Parser, h: _Header, mdtype: int, nbytes: int) -> np.dtype[Any]:
    """The stored dtype (file byte order) of a data element, checked against the dims."""
    field = f"{h.name or 'element'} data"
    if mdtype not in STORAGE:
        raise p.fail(f"{field} type", f"a numeric type {sorted(STORAGE)}", mdtype)
    dtype = np.dtype(p.order + STORAGE[mdtype])
    count = math.prod(h.dims)
    if nbytes != count * dtype.itemsize:
        raise p.fail(f"{field} size", f"{count} x {dtype.itemsize} bytes for dims {h.dims}", nbytes)
    return dtype


def _numeric_part(p: _Parser, h: _Header) -> _Array:
    """The next data element's values, flat, in the stored dtype (file byte order)."""
    mdtype, nbytes, inline = p.tag(f"{h.name or 'element'} data")
    dtype = _part_dtype(p, h, mdtype, nbytes)
    if inline is not None:
        small: _Array = np.frombuffer(inline, dtype).copy()
        return small
    arr = np.empty(math.prod(h.dims), dtype)
    p.readinto(arr.view(np.uint8).data, f"{h.name or 'element'} data")
    p.pad(nbytes)
    return arr


def _as_class(values: _Array, h: _Header) -> _Array:
    """Stored values converted to the class dtype (``bool`` if logical), native byte order."""
    target = np.dtype(bool) if h.is_logical else np.dtype(CLASS_DTYPES[h.mat_class])
    return values.astype(target, copy=False)


def _read_numeric(p: _Parser, h: _Header) -> _Array:
    real = _numeric_part(p, h)
    if not h.is_complex:
        return _as_class(real, h).reshape(h.dims, order="F")
    imag = _numeric_part(p, h)
    values = np.empty(real.shape, np.complex64 if h.mat_class == "single" else np.complex128)
    values.real, values.imag = real, imag
    return values.reshape(h.dims, order="F")


def _code_units(dtype: str) -> Callable[[bytes, str], str]:
    def decode(data: bytes, order: str) -> str:
        return "".join(map(chr, np.frombuffer(data, order + dtype).tolist()))

    return decode


def _latin1(data: bytes, order: str) -> str:
    return data.decode("latin-1")


#: char data type -> decoder of its bytes to characters (MATLAB itself writes miUINT16)
_CHAR_DECODERS: dict[int, Callable[[bytes, str], str]] = {
    MI_INT8: _latin1,
    MI_UINT8: _latin1,
    MI_UTF8: lambda data, order: data.decode("utf-8"),
    MI_UINT16: _code_units("u2"),
    MI_UTF16: _code_units("u2"),
    MI_UTF32: _code_units("u4"),
}


def _read_char(p: _Parser, h: _Header) -> _Array | str:
    mdtype, data = p.element(f"{h.name or 'element'} characters", tuple(_CHAR_DECODERS))
    try:
        text = _CHAR_DECODERS[mdtype](data, p.order)
    except (UnicodeDecodeError, ValueError) as exc:
        raise p.fail("char data", "valid characters", exc) from None
    if len(text) != math.prod(h.dims):
        raise p.fail("char data", f"{math.prod(h.dims)} characters for dims {h.dims}", len(text))
    if len(h.dims) == 2 and h.dims[0] <= 1:
        return text
    chars = np.array(list(text), dtype="U1").reshape(h.dims, order="F").reshape(-1, h.dims[-1])
    return np.array(["".join(row) for row in chars], dtype=str).reshape(h.dims[:-1])


def _check_count(p: _Parser, count: int, what: str) -> None:
    """Refuse ``count`` nested elements that cannot fit (8 bytes each) before looping."""
    if count * 8 > p.end - p.stream.pos:
        raise p.fail(what, f"at most {(p.end - p.stream.pos) // 8} (8 bytes each)", count)


def _read_cell(p: _Parser, h: _Header) -> _Array:
    count = math.prod(h.dims)
    _check_count(p, count, "cell elements")
    cells = np.empty(count, dtype=object)
    for i in range(count):
        cells[i] = _read_matrix(p)
    return cells.reshape(h.dims, order="F")


def _read_struct(p: _Parser, h: _Header) -> MatStruct:
    length_data = p.element("field name length", (MI_INT32,))[1]
    width = int.from_bytes(length_data, p.endian) if len(length_data) == 4 else -1
    names = p.element("field names", (MI_INT8, MI_UINT8))[1]
    if width < 0 or (width == 0 and names) or (width and len(names) % width):
        raise p.fail("field names", "fixed-width names", f"width {width}, {len(names)} bytes")
    chunks = [names[i : i + width] for i in range(0, len(names), width or 1)]
    fields = tuple(c.split(b"\0", 1)[0].decode("latin-1") for c in chunks)
    count = math.prod(h.dims)
    _check_count(p, count * len(fields), "struct field values")
    records = tuple({name: _read_matrix(p) for name in fields} for _ in range(count))
    return MatStruct(h.dims, fields, records)


def _unsupported(p: _Parser, h: _Header) -> MatValue:
    advice = "this reader does not read that class"
    raise _fail(p.path, f"class of {h.name!r}", sorted(_BODIES), h.mat_class, advice)


_BODIES: dict[str, Callable[[_Parser, _Header], MatValue]] = {
    "cell": _read_cell,
    "struct": _read_struct,
    "char": _read_char,
    **dict.fromkeys(CLASS_DTYPES, _read_numeric),
}


def _read_body(p: _Parser, h: _Header) -> MatValue:
    return _BODIES.get(h.mat_class, _unsupported)(p, h)


def _read_matrix(p: _Parser) -> MatValue:
    """A nested ``miMATRIX`` element (a cell or a struct field); empty ones read as 0x0 double."""
    mdtype, nbytes, inline = p.tag("nested matrix")
    if inline is not None or mdtype != MI_MATRIX or nbytes > p.end - p.stream.pos:
        room = p.end - p.stream.pos
        raise p.fail("nested element", f"miMATRIX of at most {room} bytes", (mdtype, nbytes))
    if nbytes == 0:
        return np.empty((0, 0))
    outer, p.end = p.end, p.stream.pos + nbytes
    value = _read_body(p, _read_header(p))
    p.stream.skip(p.end - p.stream.pos)
    p.end = outer
    return value


def _parse_file_header(head: bytes, size: int, path: Path) -> tuple[Literal["little", "big"], int]:
    """Validate the 128-byte header: ``(byte order, subsystem offset or 0)``."""
    if len(head) < 128:
        raise _fail(path, "header", "128 bytes", f"{len(head)} bytes (file too short)")
    if head.startswith(b"MATLAB 7.3"):
        advice = "read v7.3 files with h5py (`pip install 'imagesets[svhn]'`)"
        raise _fail(path, "header text", "a v5 MAT-file", "v7.3 (HDF5)", advice)
    if not head.startswith(b"MATLAB 5.0 MAT-file"):
        raise _fail(path, "header text", "'MATLAB 5.0 MAT-file...'", repr(head[:20]))
    endian = _ENDIAN.get(head[126:128])
    if endian is None:
        raise _fail(path, "endian indicator", "b'IM' or b'MI'", repr(head[126:128]))
    version = int.from_bytes(head[124:126], endian)
    if version != 0x0100:
        raise _fail(path, "version", "0x0100", f"{version:#06x}")
    subsys = head[116:124]
    offset = 0 if subsys in (b"\0" * 8, b" " * 8) else int.from_bytes(subsys, endian)
    if offset and not 128 <= offset < size:
        raise _fail(path, "subsystem data offset", f"0 or 128..{size - 1}", offset)
    return endian, offset


class MatFile:
    """An open MAT-file: variables indexed from their headers only, data read on demand.

    ``with MatFile("train_32x32.mat") as mat: mat.info("X").dims`` gives ``(32, 32, 3, 73257)``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        try:
            self._size = self.path.stat().st_size
            self.endian, self._subsys = _parse_file_header(self._f.read(128), self._size, self.path)
            self._vars = self._index()
        except BaseException:
            self._f.close()
            raise

    def __enter__(self) -> MatFile:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    @property
    def variables(self) -> tuple[VariableInfo, ...]:
        """Every named variable, in file order (the subsystem element is left out)."""
        return tuple(self._vars.values())

    def info(self, name: str) -> VariableInfo:
        """The header of variable ``name`` (a :class:`FormatError` if the file lacks it)."""
        if name not in self._vars:
            found, advice = sorted(self._vars) or "none", "check that this is the right file"
            raise _fail(self.path, "variables", f"a variable {name!r}", found, advice)
        return self._vars[name]

    def read(self, name: str) -> MatValue:
        """The value of variable ``name`` (types in the module docstring)."""
        p, h = self._open(self.info(name))
        value = _read_body(p, h)
        p.stream.finish()
        return value

    def iter_data(self, name: str, chunk_elements: int = 1 << 22) -> Iterator[_Array]:
        """A real numeric variable's values in column-major order, as 1-D arrays of the class
        dtype, ``chunk_elements`` at a time (the last one shorter); memory stays within a chunk.
        Header errors raise here, data errors while iterating."""
        if chunk_elements < 1:
            raise ValueError(f"chunk_elements must be positive, got {chunk_elements}")
        info = self.info(name)
        if info.mat_class not in CLASS_DTYPES or info.is_complex:
            found = info.mat_class + " complex" * info.is_complex
            raise _fail(self.path, repr(name), "a real numeric array", found, "use read()")
        p, h = self._open(info)
        mdtype, nbytes, inline = p.tag(f"{name} data")
        dtype = _part_dtype(p, h, mdtype, nbytes)
        if inline is not None or not nbytes:
            p.stream.finish()
            return iter([_as_class(np.frombuffer(inline or b"", dtype).copy(), h)])
        return _chunks(p, h, dtype, chunk_elements)

    def _open(self, info: VariableInfo) -> tuple[_Parser, _Header]:
        start = info.offset + 8
        if not info.compressed:
            p = _Parser(_RawStream(self._f, start, self.path), self.endian, self.path, info.nbytes)
            return p, _read_header(p)
        stream = _ZlibStream(self._f, start, info.nbytes, self.path)
        p = _Parser(stream, self.endian, self.path, 8)
        mdtype, nbytes, inline = p.tag("compressed matrix")
        if inline is not None or mdtype != MI_MATRIX or nbytes == 0:
            raise p.fail(f"element at byte {info.offset}", "a miMATRIX inside", (mdtype, nbytes))
        p.end = 8 + nbytes
        return p, _read_header(p)

    def _index(self) -> dict[str, VariableInfo]:
        found: dict[str, VariableInfo] = {}
        pos = 128
        while pos < self._size:  # each step advances by at least 8 bytes
            info = self._index_one(pos)
            pos = info.offset + 8 + info.nbytes
            if info.offset == self._subsys or not info.name:
                continue
            if info.name in found:
                raise _fail(self.path, "variable names", "unique names", f"{info.name!r} twice")
            found[info.name] = info
        return found

    def _index_one(self, pos: int) -> VariableInfo:
        self._f.seek(pos)
        raw = self._f.read(8)
        mdtype, nbytes = int.from_bytes(raw[:4], self.endian), int.from_bytes(raw[4:], self.endian)
        if len(raw) < 8 or mdtype not in (MI_MATRIX, MI_COMPRESSED) or nbytes == 0:
            found = f"type {mdtype}, {nbytes} bytes" if len(raw) == 8 else "end of file"
            raise _fail(self.path, f"tag at byte {pos}", "a miMATRIX or miCOMPRESSED", found)
        if pos + 8 + nbytes > self._size:
            room = f"at most {self._size - pos - 8} (the file size)"
            raise _fail(self.path, f"element size at byte {pos}", room, nbytes)
        compressed = mdtype == MI_COMPRESSED
        h = self._open(VariableInfo("", "", (), False, False, compressed, pos, nbytes))[1]
        flags = (h.is_complex, h.is_logical, compressed)
        return VariableInfo(h.name, h.mat_class, h.dims, *flags, pos, nbytes)


def _chunks(p: _Parser, h: _Header, dtype: np.dtype[Any], chunk: int) -> Iterator[_Array]:
    count = math.prod(h.dims)
    for done in range(0, count, chunk):
        part = np.empty(min(chunk, count - done), dtype)
        p.readinto(part.view(np.uint8).data, f"{h.name} data")
        if done + chunk >= count:
            p.stream.finish()
        yield _as_class(part, h)


def open_mat(path: str | Path) -> MatFile:
    """Open ``path`` and index its variables (close it, or use it in a ``with`` block)."""
    return MatFile(path)


def list_variables(path: str | Path) -> tuple[VariableInfo, ...]:
    """Name, class and dims of every variable in ``path``, from the headers alone."""
    with MatFile(path) as mat:
        return mat.variables


def read_variable(path: str | Path, name: str) -> MatValue:
    """The value of variable ``name`` in ``path`` (a :class:`FormatError` if it is missing)."""
    with MatFile(path) as mat:
        return mat.read(name)
