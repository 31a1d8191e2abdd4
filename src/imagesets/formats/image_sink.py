"""The one image sink: records ``(name, label, encoded bytes)`` in, a prepared split out.

Every image source (a class-folder tree, ImageNet's tars, the Cats & Dogs zip) is an
:class:`ImageSource`: an iterator of :class:`Record` plus what it knows up front (its count,
whether its records were already proven to decode). :func:`write_images` does the rest, the same
way for all of them, with the options :class:`ImageOptions` parses once (``size``, ``max_side``,
``workers``):

* ``size`` given: **fixed-size arrays**, ``images`` uint8 ``(N, size, size, 3)`` (shorter side
  resized to ``size``, centre-cropped) and ``labels`` int64 ``(N,)``. N must be known before the
  array exists. A source that knows it (ImageNet's catalog count, Cats & Dogs' audited split)
  is read once: rows are filled in order, one decodable image too many is an error at once, too
  few an error at the end. Otherwise (a tree) a **check pass** first decodes every record at
  1/8 DCT scale (a truncated or corrupt file fails there as at full size; it costs a fifth of
  the main pass at size 224, half of it at size 64), then the **main pass** decodes the N good
  ones straight into the array. Rows go out in chunks of :data:`CHUNK`.
* otherwise: the **packed store**, one pass: blob ``data`` (the original bytes, or JPEGs with
  the longer side at most ``max_side``), ``offsets`` int64 ``(N + 1,)``, ``labels`` int64
  ``(N,)`` and ``shapes`` int64 ``(N, 2)`` (stored height, width); ``max_side`` and ``bytes``
  (the data size) are returned as extras for the manifest.

Either way the manifest's ``imaging`` says which libraries decoded and resized, with their
versions (:func:`imagesets.imaging.backends`): OpenCV's and Pillow's resizes differ by 1-2 grey
levels, so two caches of one tree made with and without the ``fast`` extra are told apart.

Decoding runs on ``workers`` threads (default: every core this process may use) with at most
``4 * workers`` records in flight, so image memory does not grow with N. A record that does not
decode is left out and returned as a :class:`~imagesets.formats.Skip` with its reason, unless
the source says its records were already checked (then it is a :class:`FormatError`: the file
changed meanwhile). ``progress`` is called with the number of records done.

Under a distributed engine (:data:`imagesets._parallel.unit_engine`, the Ray engine of
:mod:`imagesets.ray_engine`) a source that lists ``units`` with a ``read_unit`` function is
read unit by unit in tasks: each task runs ``read_unit`` (it opens the archive by its path) and
the per-record work above on its records, and sends back the results without the encoded bytes;
this process only writes them, in order. The results, skips and errors are the same.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from .._parallel import unit_engine
from ..errors import FormatError
from ..imaging import (
    UndecodableImageError,
    backends,
    check,
    decode,
    default_workers,
    imap_bounded,
    read_file,
    reencode,
)
from ..packed import PackedWriter
from . import JSON, ReadRequest, Skip, SplitWriter

__all__ = ["CHUNK", "ImageOptions", "ImageSource", "Record", "Written", "write_images"]

CHUNK = 256  # rows buffered before a write to the output array, records per progress call


@dataclass(frozen=True, slots=True)
class Record:
    """One image of a source.

    Attributes:
        name: how a skip names it (a path relative to the split folder, a member name).
        label: its class index.
        data: the encoded bytes, or the file holding them (read on a worker thread, regular
            files only, see :func:`imagesets.imaging.read_file`).
        shape: ``(height, width)`` when the source already proved the bytes decode (an audit);
            packing the originals then decodes nothing.
    """

    name: str
    label: int
    data: bytes | Path
    shape: tuple[int, int] | None = None


@dataclass(frozen=True)
class ImageSource:
    """A source of records and what it knows before reading.

    Attributes:
        origin: the archive or folder, for messages.
        records: a new iterator over the records in row order at each call (the sink calls it
            twice only for a fixed-size read with ``count`` None).
        count: exactly how many records decode, when known before reading (one pass).
        checked: why every record is known to decode (``"it passed the audit"``), or None; when
            given, a record that does not decode is an error instead of a skip.
        units: for a distributed engine (:data:`imagesets._parallel.unit_engine`), the
            source cut into natural units listed cheaply (an inner tar's name and offset, a
            range of zip member names: never their bytes), in row order; None if it cannot be.
        read_unit: a picklable pure function ``unit -> list[Record]`` that opens the archive
            (by its path: a shared filesystem on a cluster) and reads that unit's records; the
            records of all units, in order, are exactly ``records()``.
    """

    origin: str
    records: Callable[[], Iterator[Record]]
    count: int | None = None
    checked: str | None = None
    units: Callable[[], Iterable[Any]] | None = None
    read_unit: Callable[[Any], list[Record]] | None = None


@dataclass(frozen=True)
class ImageOptions:
    """The sink's options: ``size`` (fixed-size arrays) or ``max_side`` (packed), ``workers``."""

    size: int | None
    max_side: int | None
    workers: int

    @classmethod
    def parse(cls, request: ReadRequest) -> ImageOptions:
        """The options of ``request`` (a :class:`CatalogError` for bad values or both sizes)."""
        size, max_side = request.int_option("size"), request.int_option("max_side")
        if size is not None and max_side is not None:
            raise request.option_error(
                "max_side", "absent when 'size' is given (size: fixed-size arrays, max_side: "
                "the packed store), not both"
            )  # fmt: skip
        return cls(size, max_side, request.int_option("workers") or default_workers())


@dataclass(frozen=True)
class Written:
    """What the sink wrote: ``count`` rows, the records ``skipped``, and manifest ``extras``."""

    count: int
    skipped: tuple[Skip, ...]
    extras: Mapping[str, JSON]


# --- per record, on the worker threads ---------------------------------------------------------


class _Done(NamedTuple):
    record: Record
    value: object  # what the worker made, or the UndecodableImageError it raised


def _where(origin: str, record: Record) -> str:
    return str(record.data) if isinstance(record.data, Path) else f"{origin}!{record.name}"


def _failed(record: Record, exc: UndecodableImageError, where: str) -> _Done:
    """``exc`` naming ``where`` (some steps, such as a header probe, do not know the name)."""
    return _Done(record, UndecodableImageError(exc.reason, where))


def _bytes(record: Record) -> bytes:
    return read_file(record.data) if isinstance(record.data, Path) else record.data


def _checked(origin: str, record: Record) -> _Done:
    """``record`` proven decodable (1/8 DCT scale), or the error saying why not."""
    if record.shape is not None:
        return _Done(record, record.shape)
    where = _where(origin, record)
    try:
        return _Done(record, check(_bytes(record), source=where))
    except UndecodableImageError as exc:
        return _failed(record, exc, where)


def _decoded(origin: str, size: int, record: Record) -> _Done:
    """uint8 ``(size, size, 3)``, or the error."""
    where = _where(origin, record)
    try:
        return _Done(record, decode(_bytes(record), size=size, source=where))
    except UndecodableImageError as exc:
        return _failed(record, exc, where)


def _packed(origin: str, max_side: int | None, record: Record) -> _Done:
    """``(bytes to store, height, width)``, or the error."""
    where = _where(origin, record)
    try:
        data = _bytes(record)
        if max_side is None:
            shape = record.shape or check(data, source=where)
            return _Done(record, (data, *shape))
        stored = reencode(data, max_side, source=where)
        return _Done(record, (stored, *check(stored, source=where)))
    except UndecodableImageError as exc:
        return _failed(record, exc, where)


def _slim(done: _Done) -> _Done:
    """``done`` without the record's bytes (what a unit task sends back: name, label, value)."""
    return _Done(replace(done.record, data=b""), done.value)


def _run_unit(read_unit: Callable[[Any], list[Record]], work: Callable[[Record], _Done],
              unit: Any) -> list[_Done]:  # fmt: skip
    """One unit task: read the unit's records from the archive, then ``work`` on each."""
    return [_slim(work(record)) for record in read_unit(unit)]


def _results(source: ImageSource, work: Callable[[Record], _Done], workers: int) -> Iterator[_Done]:
    """``work`` over the source's records, in order: on this process's threads (or the
    :data:`~imagesets._parallel.map_engine`) from ``records()``, or, under a unit engine, unit by
    unit in tasks that read their own records."""
    engine = unit_engine.get()
    if engine is None or source.units is None or source.read_unit is None:
        return imap_bounded(work, source.records(), workers)
    task = partial(_run_unit, source.read_unit, work)
    return itertools.chain.from_iterable(engine(task, source.units()))


# --- in order, on the calling thread -----------------------------------------------------------


def _count_error(origin: str, what: str, count: int, skipped: list[Skip]) -> FormatError:
    listed = ", ".join(f"{s.path} ({s.reason})" for s in skipped[:5])
    return FormatError(
        f"{origin}: found {what} decodable images, expected {count}"
        f" ({len(skipped)} undecodable{': ' + listed if listed else ''}); "
        "check that the archive is the official one and its count in the entry"
    )


def _accepted(
    results: Iterable[_Done],
    source: ImageSource,
    count: int | None,
    skipped: list[Skip],
    progress: Callable[[int], None],
    checked: str | None,
) -> Iterator[_Done]:
    """The decodable results in order; the others go to ``skipped`` (or, when ``checked``,
    raise). With ``count``, one result more is an error at once and fewer one at the end."""
    n = done = 0
    for done, result in enumerate(results, 1):
        if isinstance(result.value, UndecodableImageError):
            if checked is not None:
                raise FormatError(f"{result.value} ({checked})") from result.value
            skipped.append(Skip(result.record.name, result.value.reason))
        else:
            if n == count:
                raise _count_error(source.origin, f"more than {n}", count, skipped)
            yield result
            n += 1
        if done % CHUNK == 0:
            progress(CHUNK)
    if done % CHUNK:
        progress(done % CHUNK)
    if count is not None and n != count:
        raise _count_error(source.origin, f"only {n}", count, skipped)


def _check_pass(
    source: ImageSource, workers: int, skipped: list[Skip]
) -> tuple[int, Iterator[Record]]:
    """The number of records that decode, and a new iterator over just those."""
    good = bytearray()
    results = imap_bounded(partial(_checked, source.origin), source.records(), workers)
    for result in results:
        bad = isinstance(result.value, UndecodableImageError)
        good.append(not bad)
        if isinstance(result.value, UndecodableImageError):
            skipped.append(Skip(result.record.name, result.value.reason))
    return sum(good), itertools.compress(source.records(), good)


def _write_fixed(
    source: ImageSource,
    opts: ImageOptions,
    out: SplitWriter,
    progress: Callable[[int], None],
    skipped: list[Skip],
) -> int:
    assert opts.size is not None
    count, checked = source.count, source.checked
    work = partial(_decoded, source.origin, opts.size)
    if count is None:
        count, records = _check_pass(source, opts.workers, skipped)
        if skipped:
            progress(len(skipped))
        checked = "it passed the check pass: did it change meanwhile?"
        results = imap_bounded(work, records, opts.workers)
    else:
        results = _results(source, work, opts.workers)
    images = out.array("images", (count, opts.size, opts.size, 3), np.uint8)
    labels_out = out.array("labels", (count,), np.int64)
    labels = array.array("q")

    def rows() -> Iterator[NDArray[np.uint8]]:
        for result in _accepted(results, source, count, skipped, progress, checked):
            labels.append(result.record.label)
            yield cast(NDArray[np.uint8], result.value)

    write_rows(images, rows(), lambda n: None, CHUNK)
    labels_out[:] = np.frombuffer(labels, np.int64)
    return count


def _write_packed(
    source: ImageSource,
    opts: ImageOptions,
    out: SplitWriter,
    progress: Callable[[int], None],
    skipped: list[Skip],
) -> tuple[int, int]:
    labels, shapes = array.array("q"), array.array("q")  # shapes: height, width, height, ...
    work = partial(_packed, source.origin, opts.max_side)
    results = _results(source, work, opts.workers)
    with out.blob("data") as fh:
        writer = PackedWriter(fh)
        for result in _accepted(results, source, source.count, skipped, progress, source.checked):
            stored, height, width = cast(tuple[bytes, int, int], result.value)
            writer.append(stored)
            labels.append(result.record.label)
            shapes.extend((height, width))
    n = len(writer)
    out.array("offsets", (n + 1,), np.int64)[:] = writer.offsets()
    out.array("labels", (n,), np.int64)[:] = np.frombuffer(labels, np.int64)
    out.array("shapes", (n, 2), np.int64)[:] = np.frombuffer(shapes, np.int64).reshape(n, 2)
    return n, writer.nbytes


def write_images(
    source: ImageSource, opts: ImageOptions, out: SplitWriter, progress: Callable[[int], None]
) -> Written:
    """Write ``source`` as fixed-size arrays (``opts.size``) or packed (see the module docstring).

    Raises:
        FormatError: the count is not ``source.count``, or a checked record no longer decodes.
    """
    skipped: list[Skip] = []
    imaging: dict[str, JSON] = {**backends()}
    if opts.size is not None:
        count = _write_fixed(source, opts, out, progress, skipped)
        return Written(count, tuple(skipped), {"imaging": imaging})
    count, nbytes = _write_packed(source, opts, out, progress, skipped)
    extras: dict[str, JSON] = {"max_side": opts.max_side, "bytes": nbytes, "imaging": imaging}
    return Written(count, tuple(skipped), extras)


def write_rows(
    out: NDArray[Any],
    rows: Iterable[NDArray[Any]],
    progress: Callable[[int], None],
    chunk: int = 256,
) -> None:
    """Write ``rows`` (one per index of ``out``, in order) into ``out`` through a buffer of
    ``chunk`` rows, so a memory-mapped output gets large sequential writes; ``progress`` is
    called with the rows done after each chunk."""
    count = len(out)
    buffer = np.empty((min(chunk, max(1, count)), *out.shape[1:]), out.dtype)
    start = 0
    for row, value in enumerate(rows):
        buffer[row - start] = value
        if row + 1 - start == len(buffer) or row + 1 == count:
            out[start : row + 1] = buffer[: row + 1 - start]
            progress(row + 1 - start)
            start = row + 1
