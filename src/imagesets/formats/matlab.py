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
The byte level (file header, plain and inflating streams, tags, elements) is in ``_mat5``.

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

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import numpy as np

from ._mat5 import (
    MAX_DEPTH,
    MI_INT8,
    MI_INT32,
    MI_MATRIX,
    MI_UINT8,
    MI_UINT32,
    STORAGE,
    Parser,
    Source,
    fail,
    parse_file_header,
    top_level_tag,
)

__all__ = [
    "MatFile",
    "MatStruct",
    "MatValue",
    "VariableInfo",
    "list_variables",
    "open_mat",
    "read_variable",
]

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
#: the zlib stream's steps, read when a file is opened (tests shrink them)
_INPUT_CHUNK = 1 << 20  # compressed bytes read per step
_OUTPUT_CHUNK = 1 << 24  # most bytes inflated per zlib call
_Array: TypeAlias = "np.ndarray[Any, Any]"


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


@dataclass(frozen=True)
class _Header:
    mat_class: str
    dims: tuple[int, ...]
    name: str
    is_complex: bool
    is_logical: bool

    def label(self, what: str) -> str:
        """``"<name> <what>"`` for error messages (``element`` names an unnamed nested value)."""
        return f"{self.name or 'element'} {what}"


def _read_header(p: Parser) -> _Header:
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


def _data_tag(p: Parser, h: _Header) -> tuple[np.dtype[Any], int, _Array | None]:
    """The next data element's stored dtype (file byte order) and byte count, checked against
    the dims, and its values if the tag holds them (a small element), else ``None``."""
    mdtype, nbytes, inline = p.tag(h.label("data"))
    if mdtype not in STORAGE:
        raise p.fail(h.label("data type"), f"a numeric type {sorted(STORAGE)}", mdtype)
    dtype = np.dtype(p.order + STORAGE[mdtype])
    count = math.prod(h.dims)
    if nbytes != count * dtype.itemsize:
        expected = f"{count} x {dtype.itemsize} bytes for dims {h.dims}"
        raise p.fail(h.label("data size"), expected, nbytes)
    if inline is None:
        p.fits(nbytes, h.label("data"))
    return dtype, nbytes, None if inline is None else np.frombuffer(inline, dtype).copy()


def _numeric_part(p: Parser, h: _Header) -> _Array:
    """The next data element's values, flat, in the stored dtype (file byte order)."""
    dtype, nbytes, small = _data_tag(p, h)
    if small is not None:
        return small
    values = p.read_array(math.prod(h.dims), dtype, h.label("data"))
    p.pad(nbytes)
    return values


def _as_class(values: _Array, h: _Header) -> _Array:
    """Stored values converted to the class dtype (``bool`` if logical), native byte order."""
    target = np.dtype(bool) if h.is_logical else np.dtype(CLASS_DTYPES[h.mat_class])
    return values.astype(target, copy=False)


def _read_numeric(p: Parser, h: _Header) -> _Array:
    real = _numeric_part(p, h)
    if not h.is_complex:
        return _as_class(real, h).reshape(h.dims, order="F")
    imag = _numeric_part(p, h)
    values = np.empty(real.shape, np.complex64 if h.mat_class == "single" else np.complex128)
    values.real, values.imag = real, imag
    return values.reshape(h.dims, order="F")


def _read_char(p: Parser, h: _Header) -> _Array | str:
    text = p.text(h.label("characters"))
    if len(text) != math.prod(h.dims):
        raise p.fail("char data", f"{math.prod(h.dims)} characters for dims {h.dims}", len(text))
    if len(h.dims) == 2 and h.dims[0] <= 1:
        return text
    chars = np.array(list(text), dtype="U1").reshape(h.dims, order="F").reshape(-1, h.dims[-1])
    return np.array(["".join(row) for row in chars], dtype=str).reshape(h.dims[:-1])


def _check_count(p: Parser, count: int, what: str) -> None:
    """Refuse ``count`` nested elements that cannot fit (8 bytes each) before looping."""
    if count * 8 > p.room:
        raise p.fail(what, f"at most {p.room // 8} (8 bytes each)", count)


def _read_cell(p: Parser, h: _Header) -> _Array:
    count = math.prod(h.dims)
    _check_count(p, count, "cell elements")
    cells = np.empty(count, dtype=object)
    for i in range(count):
        cells[i] = _read_matrix(p)
    return cells.reshape(h.dims, order="F")


def _read_struct(p: Parser, h: _Header) -> MatStruct:
    length_data = p.element("field name length", (MI_INT32,))[1]
    width = int.from_bytes(length_data, p.endian) if len(length_data) == 4 else -1
    names = p.element("field names", (MI_INT8, MI_UINT8))[1]
    if width < 0 or (width == 0 and names) or (width and len(names) % width):
        raise p.fail("field names", "fixed-width names", f"width {width}, {len(names)} bytes")
    chunks = [names[i : i + width] for i in range(0, len(names), width or 1)]
    fields = tuple(c.split(b"\0", 1)[0].decode("latin-1") for c in chunks)
    count = math.prod(h.dims)
    _check_count(p, count * max(len(fields), 1), "struct field values")
    records = tuple({name: _read_matrix(p) for name in fields} for _ in range(count))
    return MatStruct(h.dims, fields, records)


def _unsupported(p: Parser, h: _Header) -> MatValue:
    advice = "this reader does not read that class"
    raise fail(p.path, f"class of {h.name!r}", sorted(_BODIES), h.mat_class, advice)


_BODIES: dict[str, Callable[[Parser, _Header], MatValue]] = {
    "cell": _read_cell,
    "struct": _read_struct,
    "char": _read_char,
    **dict.fromkeys(CLASS_DTYPES, _read_numeric),
}


def _read_body(p: Parser, h: _Header) -> MatValue:
    return _BODIES.get(h.mat_class, _unsupported)(p, h)


def _read_matrix(p: Parser) -> MatValue:
    """A nested ``miMATRIX`` element (a cell or a struct field); empty ones read as 0x0 double."""
    mdtype, nbytes, inline = p.tag("nested matrix")
    if inline is not None or mdtype != MI_MATRIX or nbytes > p.room:
        raise p.fail("nested element", f"miMATRIX of at most {p.room} bytes", (mdtype, nbytes))
    if nbytes == 0:
        return np.empty((0, 0))
    if p.depth >= MAX_DEPTH:
        raise p.fail("nested element", f"at most {MAX_DEPTH} levels of cells and structs", "more")
    outer, p.end = p.end, p.stream.pos + nbytes
    p.depth += 1
    value = _read_body(p, _read_header(p))
    p.depth -= 1
    p.stream.skip(p.room)
    p.end = outer
    return value


class MatFile:
    """An open MAT-file: variables indexed from their headers only, data read on demand.

    ``with MatFile("train_32x32.mat") as mat: mat.info("X").dims`` gives ``(32, 32, 3, 73257)``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        try:
            self._size = self.path.stat().st_size
            self.endian, self._subsys = parse_file_header(self._f.read(128), self._size, self.path)
            chunks = (_INPUT_CHUNK, _OUTPUT_CHUNK)
            self._source = Source(self._f, self.path, self.endian, chunks)
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
            raise fail(self.path, "variables", f"a variable {name!r}", found, advice)
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
            raise fail(self.path, repr(name), "a real numeric array", found, "use read()")
        p, h = self._open(info)
        dtype, nbytes, small = _data_tag(p, h)
        if small is not None or not nbytes:
            p.stream.finish()
            return iter([_as_class(np.empty(0, dtype) if small is None else small, h)])
        return _chunks(p, h, dtype, chunk_elements)

    def _open(self, info: VariableInfo) -> tuple[Parser, _Header]:
        p = self._source.open(info.offset, info.nbytes, info.compressed)
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
                raise fail(self.path, "variable names", "unique names", f"{info.name!r} twice")
            found[info.name] = info
        return found

    def _index_one(self, pos: int) -> VariableInfo:
        nbytes, compressed = top_level_tag(self._f, pos, self._size, self.endian, self.path)
        h = _read_header(self._source.open(pos, nbytes, compressed))
        flags = (h.is_complex, h.is_logical, compressed)
        return VariableInfo(h.name, h.mat_class, h.dims, *flags, pos, nbytes)


def _chunks(p: Parser, h: _Header, dtype: np.dtype[Any], chunk: int) -> Iterator[_Array]:
    count = math.prod(h.dims)
    for done in range(0, count, chunk):
        part = p.read_array(min(chunk, count - done), dtype, h.label("data"))
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
