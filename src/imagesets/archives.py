"""Safe, streaming access to tar and zip archives, chosen by suffix.

Downloaded archives are untrusted. Every member is checked before anything is read or written:
absolute names, drive letters, ``..`` components (with ``/`` or ``\\`` as separator), NUL bytes,
symbolic and hard links, devices, FIFOs and any other non-regular member make the whole archive
refused with :class:`~imagesets.errors.UnsafeArchiveError` naming the archive and the member.

Members are read straight from the archive, never extracted to disk: compressed tars are read in
streaming mode (``r|gz``), member by member in archive order, so a 148 GB tar of tars costs one
member's buffer of memory. Nested tars are streamed with :func:`iter_tar_stream`::

    for outer, inner_file in iter_files(Path("ILSVRC2012_img_train.tar")):
        for member, jpeg in iter_tar_stream(inner_file, label=f"{outer.name}"):
            data = jpeg.read()

:func:`extract` writes members under a target folder (into a temporary sibling first, renamed
into place only when every member was written).
"""

from __future__ import annotations

import contextlib
import gzip
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol, cast

from .errors import FormatError, UnsafeArchiveError

__all__ = [
    "SUFFIXES",
    "Member",
    "MemberReader",
    "extract",
    "iter_files",
    "iter_tar_stream",
    "members",
    "open_range",
    "read_members",
    "safe_name",
    "tar_index",
]

#: Errors of the decompressors and container parsers that mean "corrupt or truncated bytes".
#: zipfile also raises NotImplementedError (a method or version field it does not know),
#: IndexError, UnicodeDecodeError (names), struct.error and OverflowError on mutated headers.
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile,
            NotImplementedError, IndexError, UnicodeDecodeError, struct.error,
            OverflowError)  # fmt: skip
_DRIVE = re.compile(r"^[A-Za-z]:")
_COPY_BUFFER = 1 << 20
_TAR_BUFFER = 1 << 16  # read size of streaming tars: 6x fewer calls than tarfile's 10 KiB


@dataclass(frozen=True)
class Member:
    """One member of an archive, already checked safe.

    Attributes:
        name: the POSIX path inside the archive, without a leading ``./`` (e.g.
            ``"cifar-10-batches-py/data_batch_1"``).
        size: the member's size in bytes as recorded by the archive (0 for folders).
        is_dir: True for a folder entry.
    """

    name: str
    size: int
    is_dir: bool = False

    @property
    def basename(self) -> str:
        """The last path component (``"data_batch_1"``)."""
        return self.name.rsplit("/", 1)[-1]


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class MemberReader:
    """A read-only binary stream over one member's bytes.

    Read errors of the container (truncated or corrupt data) become
    :class:`~imagesets.errors.FormatError` naming the archive and member. In streaming mode the
    reader is valid only until the iteration moves to the next member.
    """

    def __init__(self, raw: _Readable, label: str) -> None:
        self._raw = raw
        self.label = label

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all remaining bytes when ``size`` is negative)."""
        with _corrupt_as_format_error(self.label):
            return self._raw.read(size)


Select = Callable[[Member], bool]


@contextlib.contextmanager
def _corrupt_as_format_error(label: str) -> Iterator[None]:
    try:
        yield
    except _CORRUPT as exc:
        raise FormatError(
            f"{label}: the archive is truncated or corrupt ({type(exc).__name__}: {exc}); "
            "delete the file and download it again"
        ) from exc
    except OSError as exc:
        if type(exc) is not OSError:  # FileNotFoundError, PermissionError...: not corruption
            raise
        raise FormatError(
            f"{label}: the archive is corrupt (an offset or size points nowhere: {exc}); "
            "delete the file and download it again"
        ) from exc


def _refuse(label: str, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"archive {label} refused: member {member!r} {why}; imagesets only reads regular files and "
        "folders below the archive root, so this archive is not a genuine dataset file: delete it "
        "and download it again from an official mirror"
    )


def safe_name(raw: str, label: str) -> str:
    """``raw`` as a normalised relative POSIX path, or :class:`UnsafeArchiveError`.

    >>> safe_name("./cifar-10-batches-py/data_batch_1", "x.tar")
    'cifar-10-batches-py/data_batch_1'
    """
    if "\x00" in raw:
        raise _refuse(label, raw, "has a NUL byte in its name")
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        raise _refuse(label, raw, "has an absolute path")
    parts = re.split(r"[/\\]", raw)
    if ".." in parts:
        raise _refuse(label, raw, "has a '..' component that points outside the target")
    return "/".join(p for p in raw.split("/") if p not in ("", "."))


# --------------------------------------------------------------------------------------------
# tar


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"is a symbolic link to {info.linkname!r}"
    if info.islnk():
        return f"is a hard link to {info.linkname!r}"
    if info.ischr() or info.isblk():
        return "is a device file"
    if info.isfifo():
        return "is a FIFO"
    return f"has the unsupported tar type {info.type!r}"


def _tar_member(info: tarfile.TarInfo, label: str) -> Member:
    name = safe_name(info.name, label)
    if not (info.isreg() or info.isdir()):
        raise _refuse(label, info.name, _tar_kind(info))
    return Member(name=name, size=info.size if info.isreg() else 0, is_dir=info.isdir())


def _iter_tarfile(tf: tarfile.TarFile, label: str) -> Iterator[tuple[Member, MemberReader | None]]:
    while True:
        with _corrupt_as_format_error(label):
            info = tf.next()
        if info is None:
            return
        # Streaming never looks members up again: drop them so memory stays flat on archives
        # of millions of members (TarFile.next only appends to this list).
        tf.members.clear()  # type: ignore[attr-defined]
        member = _tar_member(info, label)
        if member.is_dir or not member.name:
            yield member, None
            continue
        raw = tf.extractfile(info)
        assert raw is not None  # a regular member always has a file object
        yield member, MemberReader(raw, f"{label}!{member.name}")


Compression = Literal["", "gz", "bz2", "xz"]
_STREAM_MODES: dict[str, Literal["r|", "r|gz", "r|bz2", "r|xz"]] = {
    "": "r|",
    "gz": "r|gz",
    "bz2": "r|bz2",
    "xz": "r|xz",
}


def iter_tar_stream(
    fileobj: _Readable, label: str, compression: Compression = ""
) -> Iterator[tuple[Member, MemberReader | None]]:
    """Stream the members of a tar read from ``fileobj`` (for tars inside tars).

    Args:
        fileobj: an object with ``read(size)``, e.g. a :class:`MemberReader` of an outer archive.
        label: how errors name this tar (e.g. ``"train.tar!n01440764.tar"``).
        compression: ``""``, ``"gz"``, ``"bz2"`` or ``"xz"``.

    Yields:
        ``(member, reader)`` in archive order; ``reader`` is None for folders.
    """
    with (
        _corrupt_as_format_error(label),
        # streaming mode only ever calls fileobj.read
        tarfile.open(
            fileobj=cast(IO[bytes], fileobj), mode=_STREAM_MODES[compression], bufsize=_TAR_BUFFER
        ) as tf,
    ):
        yield from _iter_tarfile(tf, label)


@dataclass(frozen=True)
class _TarBackend:
    compression: Compression

    def iterate(self, path: Path) -> Iterator[tuple[Member, MemberReader | None]]:
        with path.open("rb") as f:
            yield from iter_tar_stream(f, str(path), self.compression)


# --------------------------------------------------------------------------------------------
# zip


def _zip_member(info: zipfile.ZipInfo, label: str) -> Member:
    name = safe_name(info.filename, label)
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode) if info.create_system == 3 else 0  # unix attributes only
    if kind == stat.S_IFLNK:
        raise _refuse(label, info.filename, "is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: writers that store permissions only
        raise _refuse(label, info.filename, f"is a special file (mode {oct(mode)})")
    is_dir = info.is_dir()
    return Member(name=name, size=0 if is_dir else info.file_size, is_dir=is_dir)


@dataclass(frozen=True)
class _ZipBackend:
    def iterate(self, path: Path) -> Iterator[tuple[Member, MemberReader | None]]:
        label = str(path)
        with _corrupt_as_format_error(label), zipfile.ZipFile(path) as zf:
            checked = [(_zip_member(info, label), info) for info in zf.infolist()]
            for member, info in checked:  # every name was checked before any byte is read
                if member.is_dir or not member.name:
                    yield member, None
                    continue
                with zf.open(info) as raw:
                    yield member, MemberReader(raw, f"{label}!{member.name}")


class _Backend(Protocol):
    def iterate(self, path: Path) -> Iterator[tuple[Member, MemberReader | None]]: ...


#: archive suffix -> how to read it (the longest matching suffix wins).
SUFFIXES: dict[str, _Backend] = {
    ".tar": _TarBackend(""),
    ".tar.gz": _TarBackend("gz"),
    ".tgz": _TarBackend("gz"),
    ".tar.bz2": _TarBackend("bz2"),
    ".tar.xz": _TarBackend("xz"),
    ".zip": _ZipBackend(),
}


def _backend(path: Path) -> _Backend:
    name = path.name.lower()
    matches = [s for s in SUFFIXES if name.endswith(s)]
    if not matches:
        raise FormatError(
            f"{path}: unknown archive type; expected a name ending in {', '.join(SUFFIXES)}"
        )
    return SUFFIXES[max(matches, key=len)]


def _iterate(path: Path) -> Iterator[tuple[Member, MemberReader | None]]:
    return _backend(Path(path)).iterate(Path(path))


# --------------------------------------------------------------------------------------------
# public reading API


def members(archive: Path) -> Iterator[Member]:
    """Every member (files and folders) of ``archive``, checked safe, in archive order.

    A compressed tar is decompressed once to list it. Raises :class:`UnsafeArchiveError` at the
    first unsafe member and :class:`FormatError` on truncated or corrupt bytes.
    """
    for member, _ in _iterate(archive):
        yield member


def iter_files(
    archive: Path, select: Select | None = None
) -> Generator[tuple[Member, MemberReader], None, None]:
    """The regular files of ``archive`` with a reader each, in archive order, without extracting.

    Args:
        archive: a ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.zip`` file.
        select: called with each file member; members it rejects are skipped unread. Every
            member, selected or not, is checked safe.

    Yields:
        ``(member, reader)``; the reader is valid until the next member is requested. Close
        the generator to stop early (the archive file is closed with it).
    """
    for member, reader in _iterate(archive):
        if reader is not None and (select is None or select(member)):
            yield member, reader


def read_members(archive: Path, caps: Mapping[str, int], *, what: str) -> dict[str, bytes]:
    """The bytes of the file members named in ``caps`` (POSIX paths; a leading ``./`` is
    ignored), each at most its cap in bytes, in one pass that stops once all are found (a list
    file near the start of a 5 GB ``.tar.gz`` is read without decompressing the rest).

    Args:
        archive: any archive :func:`iter_files` reads.
        caps: member name -> most bytes it may hold (int >= 0).
        what: what ``archive`` should be (``"food-101.tar.gz"``), for the messages.

    Returns:
        The bytes of each member, keyed by its name as given in ``caps``.

    Raises:
        FormatError: a member is larger than its cap, occurs twice before the last one is
            found, or is missing (every missing name in one message).
    """
    label = str(archive)
    names = {safe_name(name, label): name for name in caps}
    found: dict[str, bytes] = {}
    for member, reader in iter_files(archive, select=lambda m: m.name in names):
        where, cap = f"{label}!{member.name}", caps[names[member.name]]
        if names[member.name] in found:
            raise FormatError(f"{where}: the member occurs twice in the archive")
        data = reader.read(cap + 1)
        if member.size > cap or len(data) > cap:
            size = max(member.size, len(data))
            raise FormatError(f"{where}: {size} bytes, expected at most {cap}; is this {what}?")
        found[names[member.name]] = data
        if len(found) == len(names):
            return found
    missing = ", ".join(sorted(n for n in names if names[n] not in found))
    raise FormatError(
        f"{label}: no member {missing}; is this {what}? Delete it and download it again"
    )


# --------------------------------------------------------------------------------------------
# random access to an uncompressed tar (the units of a distributed read)


def tar_index(archive: Path) -> Iterator[tuple[Member, int]]:
    """The regular files of the uncompressed tar ``archive`` with the byte offset of their data,
    in archive order, checked safe like :func:`iter_files`. Listed by seeking from header to
    header: no payload byte is read, so listing a 148 GB tar costs one read per member header.

    Raises:
        FormatError: ``archive`` is not an uncompressed ``.tar``, or it is truncated or corrupt.
        UnsafeArchiveError: an unsafe member name or type.
    """
    path, label = Path(archive), str(archive)
    if _backend(path) != _TarBackend(""):
        raise FormatError(f"{label}: expected an uncompressed .tar to index, found another type")
    with _corrupt_as_format_error(label), tarfile.open(path, "r:") as tf:
        while True:
            with _corrupt_as_format_error(label):
                info = tf.next()
            if info is None:
                return
            tf.members.clear()  # type: ignore[attr-defined]  # memory stays flat
            member = _tar_member(info, label)
            if info.issparse():
                raise FormatError(
                    f"{label}: member {member.name!r} is a sparse file, which cannot be read by "
                    "offset; this is not the official archive: download it again"
                )
            if not member.is_dir and member.name:
                yield member, info.offset_data


class _Range:
    """``read`` over ``size`` bytes of ``f`` from its current position (then end of file)."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self._f, self._left = f, size

    def read(self, size: int = -1, /) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._f.read(want)
        self._left -= len(data)
        return data


@contextlib.contextmanager
def open_range(
    archive: Path, offset: int, size: int, label: str | None = None
) -> Iterator[MemberReader]:
    """A reader over the ``size`` bytes at ``offset`` of ``archive`` (a member's data, from
    :func:`tar_index`; ``label`` names it in errors); a range past the end of the file is a
    :class:`FormatError`."""
    label = label or f"{archive}@{offset}"
    with Path(archive).open("rb") as f:
        if offset + size > f.seek(0, 2):
            raise FormatError(
                f"{archive}: bytes {offset}..{offset + size} lie past its end: the archive changed "
                "or is truncated since it was indexed; delete it and download it again"
            )
        f.seek(offset)
        yield MemberReader(_Range(f, size), label)


# --------------------------------------------------------------------------------------------
# extraction


def _write_member(root: Path, member: Member, reader: MemberReader | None) -> Path | None:
    dest = root.joinpath(*member.name.split("/"))
    if not dest.resolve().is_relative_to(root.resolve()):  # defence in depth
        raise _refuse(str(root), member.name, "would be written outside the target")
    if reader is None:
        dest.mkdir(parents=True, exist_ok=True)
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as f:
        shutil.copyfileobj(reader, f, _COPY_BUFFER)
    return dest


def _extract_into(archive: Path, root: Path) -> list[Path]:
    written = []
    for member, reader in _iterate(archive):
        if member.name:
            path = _write_member(root, member, reader)
            if path is not None:
                written.append(path)
    return written


def extract(archive: Path, target: Path) -> list[Path]:
    """Extract every member of ``archive`` below ``target``; return the files written.

    Members go to a temporary sibling of ``target`` that is renamed to ``target`` only when all
    were written, so a refused or corrupt archive leaves nothing behind. ``target`` must not
    exist or be an empty folder. Links and special members are refused, never created; file
    permissions from the archive are not applied.

    Returns:
        the paths of the extracted files (under ``target``), in archive order.
    """
    archive, target = Path(archive), Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target}: extraction target exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        written = _extract_into(archive, tmp)
        if target.exists():
            target.rmdir()
        tmp.replace(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [target / p.relative_to(tmp) for p in written]
