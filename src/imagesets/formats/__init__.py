"""Readers: local files in a dataset's original format in, arrays out.

A reader never touches the network, the cache layout or the terminal. It is a function::

    def read(request: ReadRequest, out: SplitWriter) -> ReadResult

that reads the files of one split (``request.files`` maps a role such as ``"images"`` to a
local path), asks ``out`` for arrays of the final shape and fills them (in chunks, so memory
stays bounded), and returns a :class:`ReadResult`: the facts it found (class names found in the
files, skipped files as :class:`Skip` with reasons, the count when the reader decides it,
further label-name lists, ``labels_are_class_indices=False`` when the labels are not indices
into the class names, as with SVHN's raw 1..10) and, under ``extras``, JSON facts genuinely
specific to its format (Cats & Dogs' audit counts and member list). ``out`` is implemented by
:mod:`imagesets.store`; readers only see this protocol, so the store knows no source format and
the formats know no cache.

Image sources (a class-folder tree, ImageNet's tars, the Cats & Dogs zip) do not decode
anything themselves: each is a small iterator of records ``(name, label, encoded bytes)`` plus
its own facts, handed to the one image sink, :func:`imagesets.formats.image_sink.write_images`,
which parses ``size`` / ``max_side`` / ``workers``, decodes and resizes (fixed-size arrays when
``size`` is given) or packs (originals, or re-encoded at ``max_side``), counts, bounds the work
in flight on all cores, and records skips with reasons.

**A new format** is three things: its reader (for images, a record iterator handed to the
sink), its fake writer in :mod:`imagesets.testing`, and one line in
:data:`imagesets._registry.READERS` (plus its user options in ``READER_OPTIONS``).

Readers are found by format name through :data:`READERS`, a table of import paths, so that
importing :mod:`imagesets` imports no reader.
"""

from __future__ import annotations

import functools
import importlib
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from .._registry import READERS
from ..errors import CatalogError, FormatError

__all__ = [
    "JSON",
    "READERS",
    "ReadRequest",
    "ReadResult",
    "Reader",
    "Skip",
    "SplitWriter",
    "get_reader",
]

#: A JSON value, as a manifest holds it.
JSON: TypeAlias = "bool | int | float | str | Sequence[JSON] | Mapping[str, JSON] | None"


class SplitWriter(Protocol):
    """Where a reader puts one split's arrays (implemented by the store)."""

    def array(
        self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike
    ) -> np.ndarray[Any, Any]:
        """A new writable array ``name`` of ``shape`` and ``dtype``, zero-filled, on disk."""
        ...

    def blob(self, name: str) -> BinaryIO:
        """A new binary file ``name`` opened for writing (packed variable-size records)."""
        ...


@dataclass(frozen=True)
class ReadRequest:
    """What a reader is asked to read.

    Attributes:
        dataset: the catalog name, for error messages.
        split: the split name (``"train"``, ``"test"``, ...).
        files: role (``"images"``, ``"labels"``, ``"archive"``, ...) to a local, verified path.
        options: the format options from the catalog entry.
        count: the number of examples the catalog expects in this split (the pipeline checks
            the output against it; a reader may use it to allocate before a single pass).
        progress: called with a count of items done since the last call; may be ignored.
    """

    dataset: str
    split: str
    files: Mapping[str, Path]
    options: Mapping[str, Any] = field(default_factory=dict)
    count: int | None = None
    progress: Callable[[int], None] = field(default=lambda n: None, compare=False, repr=False)

    def option_error(self, key: str, expected: str) -> CatalogError:
        """The error for option ``key`` whose value is not ``expected``."""
        return CatalogError(
            f"dataset {self.dataset!r}, split {self.split!r}: option {key!r} must be "
            f"{expected}, found {self.options.get(key)!r}; fix the entry or the --option"
        )

    def names_option(self, key: str, *, folders: bool = False, what: str = "") -> tuple[str, ...]:
        """The option ``key``: a non-empty list of distinct non-empty names (no ``/`` in any
        when ``folders``, as class folder names), in order.

        Raises:
            CatalogError: anything else (the entry is wrong).
        """
        value = self.options.get(key)
        names: tuple[Any, ...] = tuple(value) if isinstance(value, (list, tuple)) else ()
        good = all(isinstance(n, str) and n and not (folders and "/" in n) for n in names)
        if not names or not good or len(set(names)) != len(names):
            raise self.option_error(key, what or "a list of distinct names")
        return names

    def int_option(self, key: str, *, low: int = 1, required: bool = False) -> int | None:
        """The integer option ``key`` (>= ``low``), or None when absent and not required."""
        value = self.options.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise self.option_error(key, what + ("" if required else " or None"))
        return value

    def bool_option(self, key: str, default: bool = False) -> bool:
        """The true/false option ``key`` (``default`` when absent)."""
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self.option_error(key, "true or false")
        return value

    def check_split(self, splits: Iterable[str], holder: str) -> None:
        """Refuse a split the reader does not have: ``holder`` (``"Food-101"``) holds only
        ``splits``.

        Raises:
            CatalogError: naming the dataset, ``splits`` and the split asked (the entry is wrong).
        """
        names = list(splits)
        if self.split not in names:
            raise CatalogError(
                f"dataset {self.dataset!r}: {holder} holds the splits {names}, not "
                f"{self.split!r}; fix the entry"
            )

    def file(self, role: str) -> Path:
        """The path for ``role``; a clear error if the catalog entry does not give it."""
        try:
            return self.files[role]
        except KeyError:
            raise CatalogError(
                f"dataset {self.dataset!r}, split {self.split!r}: the format needs a file with "
                f"role {role!r}, the entry gives {sorted(self.files)}; fix the entry's split files"
            ) from None


@dataclass(frozen=True)
class Skip:
    """A file left out of a split, and why (``"truncated"``, ``"not a regular file: FIFO"``).

    ``path`` names it as the reader's source does: relative to the split folder for a tree,
    ``wnid/member`` for ImageNet train, the zip member for Cats & Dogs.
    """

    path: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """``{"path", "reason"}``, as the manifest lists it under ``skipped``."""
        return {"path": self.path, "reason": self.reason}


#: Manifest keys the typed fields of :class:`ReadResult` write; ``extras`` may not use them.
_TYPED_KEYS = frozenset({"classes", "skipped", "count", "labels_are_class_indices"})


@dataclass(frozen=True)
class ReadResult:
    """What a reader found, for the checks and the manifest (every field optional).

    Attributes:
        classes: class names found in the files (None: the catalog's are used).
        label_names: further name lists by manifest key: CIFAR-100's ``superclasses``,
            ImageNet's ``wnids`` (one per class).
        skipped: files left out with reasons (None: the reader never skips; not listed).
        count: the number of rows written, when the reader decides it (a tree, a seeded
            split); the checks use it for a variant whose options change the count.
        labels_are_class_indices: False when the labels are not indices into ``classes``
            (SVHN's raw 1..10); None when the reader does not say (they are).
        extras: JSON facts specific to the format (Cats & Dogs' ``audit`` and ``members``, a
            packed store's ``max_side`` and ``bytes``), written to the manifest as they are.
    """

    classes: tuple[str, ...] | None = None
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: tuple[Skip, ...] | None = None
    count: int | None = None
    labels_are_class_indices: bool | None = None
    extras: Mapping[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names, extras = set(self.label_names), set(self.extras)
        clash = sorted((_TYPED_KEYS & (names | extras)) | (names & extras))
        if clash:
            raise ValueError(f"ReadResult: label_names or extras repeat the keys {clash}")

    def manifest(self) -> dict[str, JSON]:
        """The facts as the manifest stores them: only the keys the reader stated."""
        facts: dict[str, JSON] = {}
        if self.classes is not None:
            facts["classes"] = list(self.classes)
        facts.update({key: list(names) for key, names in self.label_names.items()})
        if self.skipped is not None:
            facts["skipped"] = [skip.to_json() for skip in self.skipped]
        if self.count is not None:
            facts["count"] = self.count
        if self.labels_are_class_indices is not None:
            facts["labels_are_class_indices"] = self.labels_are_class_indices
        facts.update(self.extras)
        return facts


Reader = Callable[[ReadRequest, SplitWriter], ReadResult]


#: What must never escape a reader raw: the last line of defence (the bounds in each reader are
#: the real fix); each becomes a FormatError naming the split's files.
_BOUNDARY = (MemoryError, OverflowError, RecursionError, struct.error, zlib.error, EOFError,
             UnicodeDecodeError, KeyError, IndexError)  # fmt: skip


def _guarded(reader: Reader) -> Reader:
    """``reader`` with raw errors of :data:`_BOUNDARY` turned into :class:`FormatError`."""

    @functools.wraps(reader)
    def read(request: ReadRequest, out: SplitWriter) -> ReadResult:
        try:
            return reader(request, out)
        except _BOUNDARY as exc:
            files = ", ".join(str(p) for p in request.files.values())
            raise FormatError(
                f"{files}: could not be read as {request.dataset!r} split {request.split!r} "
                f"({type(exc).__name__}: {exc}); the files are damaged or not in the expected "
                "format: download them again"
            ) from exc

    return read


def get_reader(fmt: str) -> Reader:
    """The reader function for format ``fmt`` (a :class:`CatalogError` if unknown)."""
    try:
        target = READERS[fmt]
    except KeyError:
        raise CatalogError(
            f"unknown format {fmt!r}; known formats: {', '.join(sorted(READERS))}"
        ) from None
    module, _, func = target.partition(":")
    reader: Reader = getattr(importlib.import_module(module), func)
    return _guarded(reader)
