"""The catalog entry parser: plain data (a built-in JSON entry, a user's TOML entry, a dict
given to :func:`~imagesets.catalog.register`) into a :class:`~imagesets.catalog.DatasetSpec`.

Holds :func:`spec_from_dict` and its helpers: ``_Fields`` (typed access to one table of an
entry, with errors naming the entry's source and field) and one ``_parse_*`` per part of an
entry (file, edition, split). Every malformed entry raises a :class:`CatalogError` naming its
source and field. The dataclasses and the registry live in :mod:`imagesets.catalog`, which
re-exports :func:`spec_from_dict`; this module imports them at its end, so either module may
be imported first. Imports no reader and no numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._registry import READERS
from .errors import CatalogError

__all__ = ["spec_from_dict"]


class _Fields:
    """Typed access to one mapping of an entry, with errors naming the source and field."""

    def __init__(self, data: Any, source: str, where: str) -> None:
        if not isinstance(data, Mapping):
            raise CatalogError(
                f"catalog entry {source}: {where} must be a table/dict, found {type(data).__name__}"
            )
        self.data, self.source, self.where = data, source, where

    def fail(self, key: str, expected: str, found: object) -> CatalogError:
        return CatalogError(
            f"catalog entry {self.source}: field {self.where}{key!r} must be {expected}, "
            f"found {found!r}; fix the entry"
        )

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., what: str = ""
    ) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, what or _kind_name(kind), "nothing (missing)")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.fail(key, what or _kind_name(kind), value)
        return value

    def str_list(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, (list, tuple), default, "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise self.fail(key, "a list of strings", value)
        return tuple(value)

    def count(self, key: str, default: Any = ...) -> int:
        value: int = self.get(key, int, default, "an integer >= 0")
        if value is not None and value < 0:
            raise self.fail(key, "an integer >= 0", value)
        return value

    def int_list(self, key: str, default: Any = ...) -> tuple[int, ...]:
        value = self.get(key, (list, tuple), default, "a list of integers >= 0")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise self.fail(key, "a list of integers >= 0", value)
        return tuple(value)

    def sub(self, key: str, default: Any = ...) -> _Fields:
        return _Fields(self.get(key, Mapping, default, "a table"), self.source, f"{key}.")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {"str": "a string", "int": "an integer"}.get(k.__name__, k.__name__) for k in kinds
    )


def _hex(f: _Fields, key: str, digits: int) -> str | None:
    value: str | None = f.get(key, str, None)
    if value is None:
        return None
    value = value.lower()
    if len(value) != digits or any(c not in "0123456789abcdef" for c in value):
        raise f.fail(key, f"{digits} hex digits (run `imagesets hash FILE`)", value)
    return value


def _parse_file(data: Any, source: str, where: str) -> RemoteFile:
    """A file needs its size and sha256; only a file whose publisher gave nothing but an md5
    may name that instead (and then its size may be unknown)."""
    f = _Fields(data, source, where)
    name = _plain(f, "name", "file name")
    sha, md5 = _hex(f, "sha256", 64), _hex(f, "md5", 32)
    if sha is None and md5 is None:
        raise f.fail("sha256", "64 hex digits (run `imagesets hash FILE`)", "nothing (missing)")
    size: int | None = f.count("size", None if sha is None else ...)
    return RemoteFile(name, size, sha, md5, f.str_list("urls", ()))


def _parse_edition(data: Any, source: str, where: str, split_names: set[str]) -> Edition:
    f = _Fields(data, source, where)
    local = f.get("local", str, None)
    listed = f.get("files", list, [] if local is not None else ..., "a list of file tables")
    files = tuple(_parse_file(d, source, f"{where}files[{i}].") for i, d in enumerate(listed))
    known = {x.name for x in files}
    splits: dict[str, Mapping[str, str]] = {}
    for split, roles in f.get("splits", Mapping, what="a table split -> {role: file}").items():
        sf = _Fields(roles, source, f"{where}splits.{split}.")
        if split not in split_names:
            raise sf.fail("", f"one of the splits {sorted(split_names)}", split)
        for role, fname in roles.items():
            if not isinstance(fname, str):
                raise sf.fail(role, "a file name (or, in a local edition, a folder)", fname)
            if local is None and fname not in known:
                raise sf.fail(role, f"one of the edition's file names {sorted(known)}", fname)
        splits[split] = MappingProxyType(dict(roles))
    counts_table = f.sub("counts", {})
    counts = {k: counts_table.count(k) for k in counts_table.data}
    fmt = f.get("format", str)
    _check_format(fmt, f)
    return Edition(
        name=f.get("name", str, "default"),
        format=fmt,
        files=files,
        splits=MappingProxyType(splits),
        options=MappingProxyType(dict(f.get("options", Mapping, {}))),
        bundled=f.get("bundled", bool, False),
        counts=MappingProxyType(counts),
        local=local,
    )


def _plain(f: _Fields, key: str, what: str) -> str:
    """The string field ``key``, checked to be a plain name (it becomes a cache path)."""
    from .cache import check_name

    return check_name(f.get(key, str), what, f"catalog entry {f.source}: field {f.where}{key!r}")


def _check_format(fmt: str, f: _Fields) -> None:
    if fmt not in READERS:
        raise f.fail("format", f"one of the known formats {sorted(READERS)}", fmt)


def _shorthand_edition(data: Mapping[str, Any]) -> dict[str, Any]:
    """A one-edition entry may give ``format``, ``files`` and per-split ``files`` at top level."""
    splits = data.get("splits", {})
    return {
        "name": "default",
        "format": data.get("format"),
        "files": data.get("files", []),
        "options": data.get("options", {}),
        "splits": {s: v.get("files", {}) for s, v in splits.items() if isinstance(v, Mapping)},
    }


def _parse_split(name: str, data: Any, source: str) -> SplitSpec:
    from .cache import check_name

    check_name(name, "split name", f"catalog entry {source}: field 'splits'")
    f = _Fields(data, source, f"splits.{name}.")
    return SplitSpec(name, f.count("count"), f.get("optional", bool, False))


def _at(source: str, key: str) -> str:
    return f"catalog entry {source}: field {key!r}"


def spec_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> DatasetSpec:
    """Build a :class:`DatasetSpec` from plain data (a parsed TOML file or a dict).

    Raises:
        CatalogError: a missing or malformed field; the message names ``source`` and the field.
    """
    from .cache import check_name

    f = _Fields(data, source, "")
    name = check_name(f.get("name", str).strip().lower(), "dataset name", _at(source, "name"))
    aliases = tuple(
        check_name(a.lower(), "alias", _at(source, "aliases")) for a in f.str_list("aliases", ())
    )
    split_table = f.sub("splits")
    splits = tuple(_parse_split(s, v, source) for s, v in split_table.data.items())
    split_names = {s.name for s in splits}
    raw_editions = data["editions"] if "editions" in data else [_shorthand_edition(data)]
    if not isinstance(raw_editions, list) or not raw_editions:
        raise f.fail("editions", "a non-empty list of edition tables", raw_editions)
    editions = tuple(
        _parse_edition(e, source, f"editions[{i}].", split_names)
        for i, e in enumerate(raw_editions)
    )
    sample = None
    if "sample" in data:
        raw_sample = {"name": "sample", "bundled": True, **f.sub("sample").data}
        sample = _parse_edition(raw_sample, source, "sample.", split_names)
    names_table = f.sub("label_names", {})
    extra = {k: names_table.str_list(k) for k in names_table.data}
    keras = f.get("keras_labels", str, "flat")
    if keras not in ("flat", "column"):
        raise f.fail("keras_labels", "'flat' or 'column'", keras)
    shared = f.get("shared_downloads", str, None)
    if shared is not None:
        shared = check_name(shared, "downloads folder", _at(source, "shared_downloads"))
    return DatasetSpec(
        name=name,
        title=f.get("title", str, name),
        splits=splits,
        image_shape=f.int_list("image_shape", ()),
        classes=f.str_list("classes", ()),
        editions=editions,
        aliases=aliases,
        description=f.get("description", str, ""),
        homepage=f.get("homepage", str, ""),
        license=f.get("license", str, ""),
        citation=f.get("citation", str, ""),
        sample=sample,
        label_names=MappingProxyType(extra),
        keras_labels=keras,
        manual=f.get("manual", str, None),
        source=source,
        provenance=f.get("provenance", str, ""),
        shared_downloads=shared,
    )


# The dataclasses, imported last: imagesets.catalog imports this module after defining them
# (to re-export spec_from_dict), so the cycle resolves whichever module is imported first.
from .catalog import DatasetSpec, Edition, RemoteFile, SplitSpec  # noqa: E402
