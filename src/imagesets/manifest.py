"""The manifest of a prepared split, parsed and checked in one place.

``manifest.json`` is written last into a split's folder (see :mod:`imagesets.store`). It holds
the format version, where the split came from (dataset, split, variant, edition, source
hashes), the class names, one entry per array (shape, dtype, data offset in the ``.npy`` file
and a sha256 of its data) and per blob (file, size, sha256), and the reader's own facts
(skipped files with reasons, superclasses, audit counts...) as ``extras``.

:meth:`Manifest.parse` turns any JSON object into a :class:`Manifest` or raises a
:class:`~imagesets.errors.CacheError` that names the folder, the bad field and the command that
rebuilds it: an edited or damaged manifest never reaches the code as ``KeyError`` or
``TypeError``. A :class:`Manifest` is also a read-only mapping over the JSON it came from, so
``split.manifest["audit"]`` keeps working.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import CacheError

__all__ = ["FORMAT_VERSION", "ArrayEntry", "BlobEntry", "Manifest", "dtype_from_manifest"]

#: Bumped whenever the on-disk layout or a reader's output changes; older caches are rebuilt.
#: 2: every array and blob carries a sha256 of its data (``imagesets verify`` checks them).
FORMAT_VERSION = 2
_MAX_DIMS = 8
_MAX_BYTES = 1 << 50  # 1 PiB: anything larger is a damaged manifest, not a dataset

_CORE = ("format_version", "arrays")
_TEXT = ("dataset", "split", "variant", "edition", "format", "imagesets_version")


def dtype_from_manifest(descr: Any) -> np.dtype[Any]:
    """The dtype a manifest records: a ``.npy`` descr string, or (structured arrays such as
    SVHN's digit boxes) a list of ``[name, type]`` pairs as JSON keeps them.

    Raises:
        CacheError: not a numpy dtype, or an object dtype (never read from a cache).
    """
    try:
        if isinstance(descr, list):
            dtype = np.lib.format.descr_to_dtype([tuple(f) for f in descr])
        elif isinstance(descr, str):
            dtype = np.lib.format.descr_to_dtype(descr)  # type: ignore[arg-type]
        else:
            raise TypeError(f"a dtype is a string or a list, found {type(descr).__name__}")
    except (TypeError, ValueError) as exc:
        raise CacheError(f"manifest dtype {descr!r} is not a numpy dtype ({exc})") from exc
    if dtype.hasobject:
        raise CacheError(f"manifest dtype {descr!r} holds Python objects; refusing it")
    return dtype


@dataclass(frozen=True)
class ArrayEntry:
    """One ``<name>.npy``: ``shape``, ``dtype``, where its data start and their sha256."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int
    sha256: str

    @property
    def nbytes(self) -> int:
        """Size of the data in bytes (``prod(shape) * itemsize``)."""
        return math.prod(self.shape) * self.dtype.itemsize

    def as_json(self) -> dict[str, Any]:
        """The entry as written into ``manifest.json``."""
        return {
            "shape": list(self.shape),
            "dtype": np.lib.format.dtype_to_descr(self.dtype),
            "offset": self.offset,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class BlobEntry:
    """One ``<name>.bin`` of packed variable-size records: file name, size, sha256."""

    file: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        """The entry as written into ``manifest.json``."""
        return {"blob": self.file, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest(Mapping[str, Any]):
    """A prepared split's manifest (see the module docstring); parse with :meth:`parse`."""

    path: Path
    format_version: int
    dataset: str
    split: str
    variant: str
    edition: str
    format: str
    options: Mapping[str, Any]
    sources: Mapping[str, Any]
    classes: tuple[str, ...]
    arrays: Mapping[str, ArrayEntry]
    blobs: Mapping[str, BlobEntry]
    raw: Mapping[str, Any] = field(repr=False)

    # ------------------------------------------------------------------ mapping view

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Files the reader could not use: ``{"path", "reason"}`` each."""
        rows = self.raw.get("skipped", [])
        return [dict(r) for r in rows] if isinstance(rows, list) else []

    # ------------------------------------------------------------------ parsing

    @classmethod
    def parse(cls, data: Any, path: Path, *, rebuild: str = "") -> Manifest:
        """Check ``data`` (the JSON of ``path/manifest.json``) and build the manifest.

        Args:
            data: the parsed JSON.
            path: the split folder, for messages.
            rebuild: the command that rebuilds this split, for messages.

        Raises:
            CacheError: a missing key, a wrong type, an impossible shape, dtype or offset.
        """
        check = _Checker(path, rebuild)
        if not isinstance(data, Mapping):
            raise check.fail("", "a JSON object", type(data).__name__)
        for key in _CORE:
            if key not in data:
                raise check.fail(key, "present", "nothing")
        version = data["format_version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise check.fail("format_version", "an integer (the format version)", version)
        text = {k: check.text(data, k) for k in _TEXT}
        arrays_raw = check.entries(data)
        arrays = {k: _array(check, k, v) for k, v in arrays_raw.items() if "blob" not in v}
        blobs = {k: _blob(check, k, v) for k, v in arrays_raw.items() if "blob" in v}
        classes = data.get("classes", [])
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise check.fail("classes", "a list of strings", classes)
        return cls(
            path=path,
            format_version=version,
            dataset=text["dataset"],
            split=text["split"],
            variant=text["variant"],
            edition=text["edition"],
            format=text["format"],
            options=MappingProxyType(dict(check.table(data, "options", required=False))),
            sources=MappingProxyType(dict(check.table(data, "sources", required=False))),
            classes=tuple(classes),
            arrays=MappingProxyType(arrays),
            blobs=MappingProxyType(blobs),
            raw=MappingProxyType(dict(data)),
        )


class _Checker:
    """Messages for one manifest: the folder, the field, expected against found, the fix."""

    def __init__(self, path: Path, rebuild: str) -> None:
        self.path = path
        self.rebuild = rebuild or "`imagesets clean NAME` and load again"

    def fail(self, key: str, expected: str, found: object) -> CacheError:
        what = f"field {key!r}" if key else "the manifest"
        shown = repr(found)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return CacheError(
            f"prepared split {self.path}: manifest.json {what} must be {expected}, found "
            f"{shown}; the cache is damaged or edited: rebuild it with {self.rebuild}"
        )

    def text(self, data: Mapping[str, Any], key: str) -> str:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise self.fail(key, "a string", value)
        return value

    def table(self, data: Mapping[str, Any], key: str, required: bool = True) -> dict[str, Any]:
        value = data.get(key) if required else data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(key, "a JSON object", value)
        return dict(value)

    def entries(self, data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        table = self.table(data, "arrays")
        for name, desc in table.items():
            if not name.isidentifier() or not isinstance(desc, Mapping):
                raise self.fail(f"arrays.{name}", "an identifier naming a JSON object", desc)
        return table

    def count(self, key: str, value: Any, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < _MAX_BYTES:
            raise self.fail(key, f"an integer in {low}..2^50", value)
        return value

    def digest(self, key: str, value: Any) -> str:
        ok = isinstance(value, str) and len(value) == 64
        if not ok or any(c not in "0123456789abcdef" for c in value):
            raise self.fail(key, "a sha256 (64 hex digits)", value)
        return str(value)


def _array(check: _Checker, name: str, desc: Mapping[str, Any]) -> ArrayEntry:
    key = f"arrays.{name}"
    shape = desc.get("shape")
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS:
        raise check.fail(f"{key}.shape", f"a list of at most {_MAX_DIMS} sizes", shape)
    dims = tuple(check.count(f"{key}.shape", d) for d in shape)
    try:
        dtype = dtype_from_manifest(desc.get("dtype"))
    except CacheError as exc:
        raise check.fail(f"{key}.dtype", "a numpy dtype", desc.get("dtype")) from exc
    entry = ArrayEntry(
        shape=dims,
        dtype=dtype,
        offset=check.count(f"{key}.offset", desc.get("offset"), low=10),
        sha256=check.digest(f"{key}.sha256", desc.get("sha256")),
    )
    if entry.nbytes >= _MAX_BYTES:
        raise check.fail(f"{key}.shape", "an array under 1 PiB", shape)
    return entry


def _blob(check: _Checker, name: str, desc: Mapping[str, Any]) -> BlobEntry:
    key = f"arrays.{name}"
    file = desc.get("blob")
    if file != f"{name}.bin":
        raise check.fail(f"{key}.blob", repr(f"{name}.bin"), file)
    return BlobEntry(
        file=f"{name}.bin",
        size=check.count(f"{key}.size", desc.get("size")),
        sha256=check.digest(f"{key}.sha256", desc.get("sha256")),
    )
