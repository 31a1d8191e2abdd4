"""The byte level of MATLAB Level 5 MAT-files: the file header, byte streams, tags and elements.

:mod:`imagesets.formats.matlab` decodes matrices on top of this module. Here live the 128-byte
file header (:func:`parse_file_header`), the top-level element tags (:func:`top_level_tag`), the
two byte streams of an element (:class:`RawStream` over plain bytes, :class:`ZlibStream` inflating
a ``miCOMPRESSED`` element in bounded chunks, both opened by :class:`Source`) and the
:class:`Parser` that reads tags (normal and small elements), element data and character data from
a stream, never past the end of the enclosing element. Every malformation is a
:class:`FormatError` naming the file, the field, what was expected and what was found.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np

from ..errors import FormatError

MI_INT8, MI_UINT8, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 4, 5, 6
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
#: numeric data types: miXXX code -> numpy dtype (the file's byte order is added)
STORAGE: dict[int, str] = {
    1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8",
}  # fmt: skip
Endian: TypeAlias = Literal["little", "big"]
#: endian indicator (header bytes 126..127) -> byte order of the file
ENDIAN: dict[bytes, Endian] = {b"IM": "little", b"MI": "big"}
#: zlib's largest possible expansion (deflate's limit is 1032:1), plus slack for headers: a
#: compressed element claiming more inflated bytes than this is refused before reading it.
MAX_INFLATE_RATIO = 1032
#: Deepest nesting of cells and structs read (real files nest 3 levels): a bound, not recursion
#: until Python's stack runs out.
MAX_DEPTH = 64
ADVICE = "the file is damaged or not a MATLAB v5 MAT-file; download it again"
_Array: TypeAlias = "np.ndarray[Any, Any]"


def _code_units(dtype: str) -> Callable[[bytes, str], str]:
    def decode(data: bytes, order: str) -> str:
        return "".join(map(chr, np.frombuffer(data, order + dtype).tolist()))

    return decode


def _latin1(data: bytes, order: str) -> str:
    return data.decode("latin-1")


#: char data type -> decoder of its bytes to characters (MATLAB itself writes miUINT16)
CHAR_DECODERS: dict[int, Callable[[bytes, str], str]] = {
    MI_INT8: _latin1,
    MI_UINT8: _latin1,
    MI_UTF8: lambda data, order: data.decode("utf-8"),
    MI_UINT16: _code_units("u2"),
    MI_UTF16: _code_units("u2"),
    MI_UTF32: _code_units("u4"),
}


def fail(
    path: Path, field: str, expected: object, found: object, advice: str = ADVICE
) -> FormatError:
    """The error for ``field`` of ``path``: expected versus found, and what to do."""
    return FormatError(f"{path}: {field}: expected {expected}, found {found}; {advice}")


def parse_file_header(head: bytes, size: int, path: Path) -> tuple[Endian, int]:
    """Validate the 128-byte header: ``(byte order, subsystem offset or 0)``."""
    if len(head) < 128:
        raise fail(path, "header", "128 bytes", f"{len(head)} bytes (file too short)")
    if head.startswith(b"MATLAB 7.3"):
        advice = "read v7.3 files with h5py (`pip install 'imagesets[svhn]'`)"
        raise fail(path, "header text", "a v5 MAT-file", "v7.3 (HDF5)", advice)
    if not head.startswith(b"MATLAB 5.0 MAT-file"):
        raise fail(path, "header text", "'MATLAB 5.0 MAT-file...'", repr(head[:20]))
    endian = ENDIAN.get(head[126:128])
    if endian is None:
        raise fail(path, "endian indicator", "b'IM' or b'MI'", repr(head[126:128]))
    version = int.from_bytes(head[124:126], endian)
    if version != 0x0100:
        raise fail(path, "version", "0x0100", f"{version:#06x}")
    subsys = head[116:124]
    offset = 0 if subsys in (b"\0" * 8, b" " * 8) else int.from_bytes(subsys, endian)
    if offset and not 128 <= offset < size:
        raise fail(path, "subsystem data offset", f"0 or 128..{size - 1}", offset)
    return endian, offset


def top_level_tag(
    f: io.BufferedReader, pos: int, size: int, endian: Endian, path: Path
) -> tuple[int, bool]:
    """``(byte count, compressed)`` of the top-level element whose tag is at ``pos``: a non-empty
    ``miMATRIX`` or ``miCOMPRESSED`` that ends within the file's ``size`` bytes."""
    f.seek(pos)
    raw = f.read(8)
    mdtype, nbytes = int.from_bytes(raw[:4], endian), int.from_bytes(raw[4:], endian)
    if len(raw) < 8 or mdtype not in (MI_MATRIX, MI_COMPRESSED) or nbytes == 0:
        found = f"type {mdtype}, {nbytes} bytes" if len(raw) == 8 else "end of file"
        raise fail(path, f"tag at byte {pos}", "a miMATRIX or miCOMPRESSED", found)
    if pos + 8 + nbytes > size:
        room = f"at most {size - pos - 8} (the file size)"
        raise fail(path, f"element size at byte {pos}", room, nbytes)
    return nbytes, mdtype == MI_COMPRESSED


@dataclass(frozen=True)
class Source:
    """Where top-level elements are read from: the open ``f`` of ``path`` in byte order
    ``endian``; ``chunks`` are the (input, output) byte steps of :class:`ZlibStream`."""

    f: io.BufferedReader
    path: Path
    endian: Endian
    chunks: tuple[int, int]

    def open(self, offset: int, nbytes: int, compressed: bool) -> Parser:
        """A parser over the ``miMATRIX`` content of the top-level element whose tag is at
        ``offset`` (``nbytes`` after its tag), positioned after the inner tag if compressed."""
        start = offset + 8
        if not compressed:
            return Parser(RawStream(self.f, start, self.path), self.endian, self.path, nbytes)
        stream = ZlibStream(self.f, start, nbytes, self.path, self.chunks)
        p = Parser(stream, self.endian, self.path, 8)
        mdtype, inner, inline = p.tag("compressed matrix")
        if inline is not None or mdtype != MI_MATRIX or inner == 0:
            raise p.fail(f"element at byte {offset}", "a miMATRIX inside", (mdtype, inner))
        bound = nbytes * MAX_INFLATE_RATIO + 64
        if inner > bound:
            field = f"compressed element at byte {offset}"
            raise p.fail(field, f"at most {bound} inflated bytes from {nbytes}", inner)
        p.end = 8 + inner
        return p


class RawStream:
    """Bytes of an uncompressed element; seeks to its own offset, so streams can interleave."""

    def __init__(self, f: io.BufferedReader, start: int, path: Path) -> None:
        self.f, self.start, self.path, self.pos = f, start, path, 0

    def readinto(self, view: memoryview) -> None:
        self.f.seek(self.start + self.pos)
        got = self.f.readinto(view)
        if got != len(view):
            where = f"data at byte {self.start + self.pos}"
            raise fail(self.path, where, f"{len(view)} bytes", f"{got} (file truncated)")
        self.pos += got

    def skip(self, n: int) -> None:
        self.pos += n

    def finish(self) -> None:
        """Nothing to verify in raw bytes."""


class ZlibStream:
    """Bytes inflated on demand from a ``miCOMPRESSED`` element of ``length`` bytes at ``start``:
    ``chunks`` is (compressed bytes read per step, most bytes inflated per zlib call), so memory
    stays within a chunk."""

    def __init__(
        self, f: io.BufferedReader, start: int, length: int, path: Path, chunks: tuple[int, int]
    ) -> None:
        self.f, self.path, self.pos = f, path, 0
        self.next_in, self.left, self.tail = start, length, b""
        self.input_chunk, self.output_chunk = chunks
        self.inflater = zlib.decompressobj()

    def readinto(self, view: memoryview) -> None:
        filled = 0
        while filled < len(view):
            out = self._inflate(min(len(view) - filled, self.output_chunk))
            if not out:
                ends = f"the zlib stream ends after {self.pos + filled} bytes"
                raise fail(self.path, "compressed element", "more data", ends)
            view[filled : filled + len(out)] = out
            filled += len(out)
        self.pos += filled

    def skip(self, n: int) -> None:
        while n > 0:
            step = min(n, self.output_chunk)
            self.readinto(np.empty(step, np.uint8).data)
            n -= step

    def finish(self) -> None:
        """Inflate to the end of the zlib stream, so that its checksum is verified."""
        while not self.inflater.eof:
            self._inflate(self.output_chunk)

    def _inflate(self, want: int) -> bytes:
        """1 to ``want`` inflated bytes, or none at the stream's end; every loop consumes input."""
        while True:
            if not self.tail and self.left > 0 and not self.inflater.eof:
                self.tail = self._read_input()
            before = len(self.tail)
            try:
                out = self.inflater.decompress(self.tail, want)
            except zlib.error as exc:
                raise fail(self.path, "compressed element", "a zlib stream", exc) from None
            self.tail = self.inflater.unconsumed_tail
            if out or self.inflater.eof:
                return out
            if before == 0 or len(self.tail) == before:
                found = "the end of its bytes before the end of the zlib stream"
                raise fail(self.path, "compressed element", "more data", found)

    def _read_input(self) -> bytes:
        self.f.seek(self.next_in)
        data = self.f.read(min(self.input_chunk, self.left))
        if not data:
            raise fail(self.path, "compressed element", f"{self.left} more bytes", "end of file")
        self.next_in, self.left = self.next_in + len(data), self.left - len(data)
        return data


@dataclass
class Parser:
    """Tags and elements from a stream, never past ``end`` (a stream position)."""

    stream: RawStream | ZlibStream
    endian: Endian
    path: Path
    end: int
    depth: int = 0

    @property
    def order(self) -> str:
        """The numpy byte-order character of the file: ``"<"`` or ``">"``."""
        return "<" if self.endian == "little" else ">"

    @property
    def room(self) -> int:
        """Bytes left in the enclosing element."""
        return self.end - self.stream.pos

    def fail(self, field: str, expected: object, found: object) -> FormatError:
        return fail(self.path, field, expected, found)

    def readinto(self, view: memoryview, field: str) -> None:
        room = self.end - self.stream.pos  # inline, not self.room: the hot path
        if len(view) > room:
            raise self.fail(field, f"at most {room} bytes", f"{len(view)} (beyond its element)")
        self.stream.readinto(view)

    def fits(self, nbytes: int, field: str) -> None:
        """Refuse ``nbytes`` beyond the enclosing element, before anything is allocated."""
        room = self.end - self.stream.pos
        if nbytes > room:
            raise self.fail(field, f"at most {room} bytes", f"{nbytes} (beyond its element)")

    def read_array(self, count: int, dtype: np.dtype[Any], field: str) -> _Array:
        """The next ``count`` values of ``dtype`` (1-D), read straight into a new array."""
        self.fits(count * dtype.itemsize, field)
        arr = np.empty(count, dtype)
        self.readinto(arr.view(np.uint8).data, field)
        return arr

    def read(self, n: int, field: str) -> bytes:
        self.fits(n, field)
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

    def text(self, field: str) -> str:
        """The characters of the next element, of a type in :data:`CHAR_DECODERS`."""
        mdtype, data = self.element(field, tuple(CHAR_DECODERS))
        try:
            return CHAR_DECODERS[mdtype](data, self.order)
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.fail("char data", "valid characters", exc) from None
