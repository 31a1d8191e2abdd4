"""Readers: local files in a dataset's original format in, arrays out.

A reader never touches the network, the cache layout or the terminal. It is a function::

    def read(request: ReadRequest, out: SplitWriter) -> dict[str, object]

that reads the files of one split (``request.files`` maps a role such as ``"images"`` to a
local path), asks ``out`` for arrays of the final shape and fills them (in chunks, so memory
stays bounded), and returns extra facts for the manifest (class names found in the file,
skipped members with reasons, ...; ``"labels_are_class_indices": False`` when the labels are
not indices into the class names, as with SVHN's raw 1..10). ``out`` is implemented by
:mod:`imagesets.store`; readers only see this protocol, so the store knows no source format and
the formats know no cache.

Readers are found by format name through :data:`READERS`, a table of import paths, so that
importing :mod:`imagesets` imports no reader.
"""

from __future__ import annotations

import functools
import importlib
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from .._registry import READERS
from ..errors import CatalogError, FormatError

__all__ = ["READERS", "ReadRequest", "Reader", "SplitWriter", "get_reader"]


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

    def _option_error(self, key: str, expected: str) -> CatalogError:
        return CatalogError(
            f"dataset {self.dataset!r}, split {self.split!r}: option {key!r} must be "
            f"{expected}, found {self.options.get(key)!r}; fix the entry or the --option"
        )

    def int_option(self, key: str, *, low: int = 1, required: bool = False) -> int | None:
        """The integer option ``key`` (>= ``low``), or None when absent and not required."""
        value = self.options.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise self._option_error(key, what + ("" if required else " or None"))
        return value

    def bool_option(self, key: str, default: bool = False) -> bool:
        """The true/false option ``key`` (``default`` when absent)."""
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self._option_error(key, "true or false")
        return value

    def file(self, role: str) -> Path:
        """The path for ``role``; a clear error if the catalog entry does not give it."""
        try:
            return self.files[role]
        except KeyError:
            raise CatalogError(
                f"dataset {self.dataset!r}, split {self.split!r}: the format needs a file with "
                f"role {role!r}, the entry gives {sorted(self.files)}; fix the entry's split files"
            ) from None


Reader = Callable[[ReadRequest, SplitWriter], dict[str, Any]]


#: What must never escape a reader raw: the last line of defence (the bounds in each reader are
#: the real fix); each becomes a FormatError naming the split's files.
_BOUNDARY = (MemoryError, OverflowError, RecursionError, struct.error, zlib.error, EOFError,
             UnicodeDecodeError, KeyError, IndexError)  # fmt: skip


def _guarded(reader: Reader) -> Reader:
    """``reader`` with raw errors of :data:`_BOUNDARY` turned into :class:`FormatError`."""

    @functools.wraps(reader)
    def read(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
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
