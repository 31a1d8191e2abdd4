"""The catalog: every dataset is an entry of plain data, never a class.

An entry names the dataset's files (size, sha256, published md5, ordered mirror URLs), one or
more *editions* (the same data in different packagings, such as CIFAR's python and binary
archives; each edition has a format name and maps every split to its files by role), the
splits with their counts, the image shape and the class names. Built-in entries are JSON
files shipped in the package (``imagesets/data/catalog/<name>.json``, each with a
``provenance`` field saying where its sizes and checksums come from; JSON because the standard
library parses it several times faster than TOML on a fresh process's critical path), parsed by
the same code (:mod:`imagesets.catalog_parse`) as a user's TOML entry in
``$IMAGESETS_HOME/catalog/*.toml`` or a dict given to :func:`register`, so every malformed
entry gets the same clear error naming its source and field. Dataset, split and file names
must be plain names (they become cache folder and file names); a user's catalog file that
cannot be read is reported and skipped, never fatal for the other datasets. Resolving a name
imports no reader and no numpy.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import CatalogError, UnknownDatasetError

__all__ = [
    "DatasetSpec",
    "Edition",
    "RemoteFile",
    "SplitSpec",
    "builtin_entry",
    "get",
    "names",
    "problems",
    "register",
    "spec_from_dict",
    "unregister",
]


@dataclass(frozen=True)
class RemoteFile:
    """One original file: where to get it and how to know it is the right one.

    Attributes:
        name: the original file name (kept in ``<root>/downloads/<dataset>/``).
        size: exact size in bytes (None only where no size was ever published).
        sha256: lowercase hex sha256 of the whole file, checked before the file is visible.
        md5: the md5 the dataset's authors or torchvision publish: a cross-check, and the
            check itself for the rare file with no published sha256 (ImageNet's devkit).
        urls: full URLs, tried in order after the user's mirrors.
    """

    name: str
    size: int | None
    sha256: str | None
    md5: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def algorithm(self) -> str:
        """The hash that verifies this file: ``sha256``, or ``md5`` when that is all there is."""
        return "sha256" if self.sha256 else "md5"

    @property
    def digest(self) -> str:
        """The expected hex digest of :attr:`algorithm`."""
        return self.sha256 or self.md5 or ""

    def size_ok(self, size: int) -> bool:
        """True when ``size`` is this file's size (or no size is known)."""
        return self.size is None or size == self.size

    def describe(self) -> str:
        """``name (N bytes, sha256 ...)`` for messages."""
        size = f"{self.size} bytes" if self.size is not None else "size unpublished"
        return f"{self.name} ({size}, {self.algorithm} {self.digest})"


@dataclass(frozen=True)
class SplitSpec:
    """A split: its name, its number of examples, and whether it is fetched only on request."""

    name: str
    count: int
    optional: bool = False


@dataclass(frozen=True)
class Edition:
    """One packaging of a dataset: a format, its files, and which files make each split.

    ``splits`` maps a split name to ``{role: file name}`` (roles are the format's, such as
    ``images`` and ``labels`` for IDX or ``archive`` for CIFAR). ``bundled`` editions ship
    inside the package (the offline samples) and have no URLs. A ``local`` edition is a folder
    on this machine (an image tree): it has no files, and each split maps a role to a path
    relative to ``local``.
    """

    name: str
    format: str
    files: tuple[RemoteFile, ...]
    splits: Mapping[str, Mapping[str, str]]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    bundled: bool = False
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    local: str | None = None

    def file(self, name: str) -> RemoteFile:
        """The :class:`RemoteFile` called ``name``."""
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    def files_for(self, split: str) -> dict[str, RemoteFile]:
        """``{role: RemoteFile}`` for one split."""
        return {role: self.file(fname) for role, fname in self.splits[split].items()}


@dataclass(frozen=True)
class DatasetSpec:
    """A catalog entry. ``info`` of a loaded dataset is built from it.

    Attributes:
        name: the canonical name (``"mnist"``); ``aliases`` are other accepted names.
        splits: the splits in their usual order, with counts.
        image_shape: one image's shape, ``(28, 28)`` or ``(32, 32, 3)``; ``()`` if variable.
        classes: class names, index = label value.
        editions: alternative packagings; the first one present or reachable is used.
        sample: a small bundled edition (offline default for the demo), or None.
        label_names: further name lists, such as ``superclasses`` for CIFAR-100.
        keras_labels: ``"flat"`` (``(N,)``, MNIST) or ``"column"`` (``(N, 1)``, CIFAR).
        manual: instructions when the files need a manual download (login), else None.
        source: where the entry came from (``"builtin"`` or a file path), for errors.
        shared_downloads: the downloads folder this entry shares with other entries of the
            same files (EMNIST's six entries read one ``gzip.zip``), else None (its own name);
            see :attr:`downloads_name`.
    """

    name: str
    title: str
    splits: tuple[SplitSpec, ...]
    image_shape: tuple[int, ...]
    classes: tuple[str, ...]
    editions: tuple[Edition, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""
    homepage: str = ""
    license: str = ""
    citation: str = ""
    sample: Edition | None = None
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    keras_labels: str = "flat"
    manual: str | None = None
    source: str = "builtin"
    provenance: str = ""
    shared_downloads: str | None = None

    @property
    def downloads_name(self) -> str:
        """The name of this entry's downloads folder: ``shared_downloads`` or its own name."""
        return self.shared_downloads or self.name

    def split(self, name: str) -> SplitSpec:
        """The :class:`SplitSpec` called ``name``; a clear error listing the splits if none."""
        for s in self.splits:
            if s.name == name:
                return s
        raise UnknownDatasetError(
            f"dataset {self.name!r} has no split {name!r}; its splits are "
            f"{', '.join(s.name for s in self.splits)}"
        )

    @property
    def split_names(self) -> tuple[str, ...]:
        """Split names in catalog order."""
        return tuple(s.name for s in self.splits)

    def all_files(self) -> tuple[RemoteFile, ...]:
        """Every file of every edition, without repeats."""
        seen: dict[str, RemoteFile] = {}
        for ed in self.editions:
            for f in ed.files:
                seen.setdefault(f.name, f)
        return tuple(seen.values())


# --------------------------------------------------------------------------- parsing

# The parser lives in catalog_parse; imported here, after the dataclasses it builds, so that
# module can import them back whichever of the two is imported first.
from .catalog_parse import spec_from_dict  # noqa: E402

# --------------------------------------------------------------------------- registry

_BUILTIN: dict[str, DatasetSpec] | None = None
_BUILTIN_ONE: dict[str, DatasetSpec] = {}
_USER: dict[str, DatasetSpec] = {}
_ORDER = ("mnist", "fashion-mnist", "cifar10", "cifar100", "svhn", "svhn-full", "imagenet")

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


_DATA = Path(__file__).parent / "data" / "catalog"


def _builtin_files() -> list[Path]:
    """The package's entry files, in the order ``imagesets list`` shows them (the classic
    sets first, the rest by name)."""
    files = [f for f in _DATA.iterdir() if f.name.endswith(".json")]
    rank = {name: i for i, name in enumerate(_ORDER)}
    return sorted(files, key=lambda f: (rank.get(f.stem, len(rank)), f.name))


def _parse_builtin(file: Path) -> DatasetSpec:
    import json

    return spec_from_dict(json.loads(file.read_bytes()), f"builtin {file.name}")


def builtin_entry(name: str) -> dict[str, Any]:
    """The plain data of the built-in entry ``name`` (a fresh copy: a test may retarget it).

    Raises:
        UnknownDatasetError: no built-in entry has that canonical name.
    """
    for file in _builtin_files():
        if file.name == f"{name}.json":
            import json

            data: dict[str, Any] = json.loads(file.read_bytes())
            return data
    raise UnknownDatasetError(f"no built-in catalog entry {name!r}")


def _builtin(key: str) -> DatasetSpec | None:
    """The built-in entry called ``key`` (a name or alias): its own file first (one small
    parse for the usual call), then every file (for aliases)."""
    if key in _BUILTIN_ONE:
        return _BUILTIN_ONE[key]
    if _BUILTIN is None and _PLAIN.fullmatch(key):
        file = _DATA / f"{key}.json"
        if file.is_file():
            spec = _parse_builtin(file)
            _BUILTIN_ONE[key] = spec
            return spec
    return _builtins().get(key)


def _builtins() -> dict[str, DatasetSpec]:
    global _BUILTIN
    if _BUILTIN is None:
        table: dict[str, DatasetSpec] = {}
        for file in _builtin_files():
            _add(table, _BUILTIN_ONE.get(file.stem) or _parse_builtin(file))
        _BUILTIN = table
    return _BUILTIN


def _add(table: dict[str, DatasetSpec], spec: DatasetSpec) -> None:
    for key in (spec.name, *spec.aliases):
        table[key] = spec


def register(spec: DatasetSpec | Mapping[str, Any]) -> DatasetSpec:
    """Add a dataset to the catalog for this process (a :class:`DatasetSpec` or plain data).

    Raises:
        CatalogError: a malformed entry, or a name that a built-in dataset already uses.
    """
    if not isinstance(spec, DatasetSpec):
        if not isinstance(spec, Mapping):
            raise CatalogError(
                f"register(): expected a DatasetSpec or a dict, found {type(spec).__name__}"
            )
        spec = spec_from_dict(spec, "register()")
    for key in (spec.name, *spec.aliases):
        if key in _builtins():
            raise CatalogError(
                f"catalog entry {spec.source}: name {key!r} is a built-in dataset; choose another"
            )
    _add(_USER, spec)
    return spec


def unregister(name: str) -> None:
    """Remove a dataset added by :func:`register` (all its names); unknown names are ignored."""
    spec = _USER.get(name.strip().lower())
    if spec is not None:
        for key in (spec.name, *spec.aliases):
            _USER.pop(key, None)


def _entry_files(root: Path | None) -> list[Path]:
    if root is None:
        return []
    folder = root / "catalog"
    try:
        return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))
    except OSError:
        return []


def _load_entry_file(path: Path) -> DatasetSpec:
    """One user entry file. Entries written with ``name_escapes = true`` (folder names that
    were not UTF-8) have their ``\\xNN`` escapes turned back into the exact names.

    Raises:
        CatalogError: unreadable, not UTF-8, not valid TOML, or not a valid entry.
    """
    from ._toml import unescape_all

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(
            f"catalog entry {path}: not UTF-8 text (byte {exc.start}: {exc.reason}); a TOML "
            "entry must be UTF-8: re-save it as UTF-8, or remove it"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog entry {path}: not valid TOML ({exc}); fix the file") from None
    except OSError as exc:
        raise CatalogError(f"catalog entry {path}: cannot be read ({exc})") from None
    if data.pop("name_escapes", False) is True:
        data = unescape_all(data)
    return spec_from_dict(data, str(path))


def _user_table(root: Path | None, bad: list[str] | None = None) -> dict[str, DatasetSpec]:
    """The user's entries; a file that cannot be used is logged (and added to ``bad``) and
    skipped, so one broken file never hides the other datasets."""
    table = dict(_USER)
    for path in _entry_files(root):
        try:
            spec = _load_entry_file(path)
            if spec.name in _builtins():
                raise CatalogError(
                    f"catalog entry {path}: name {spec.name!r} is a built-in dataset; rename "
                    "the entry or remove the file"
                )
        except CatalogError as exc:
            _warn(f"skipped {exc}")
            if bad is not None:
                bad.append(str(exc))
            continue
        _add(table, spec)
    return table


def _warn(message: str) -> None:
    import logging  # only when something is wrong: logging costs a fresh process ~10 ms

    logging.getLogger("imagesets").warning("%s", message)


def problems(root: Path | None = None) -> list[str]:
    """One message per user catalog file under ``root`` that was skipped, and why."""
    bad: list[str] = []
    _user_table(root, bad)
    return bad


def get(name: str, root: Path | None = None) -> DatasetSpec:
    """The entry for ``name`` (or an alias), case-insensitive.

    ``root`` is the cache root whose ``catalog/`` folder holds user entries (read only when
    ``name`` is not built in).

    Raises:
        UnknownDatasetError: no such dataset; the message suggests the closest names.
        ArgumentError: ``name`` is not a string.
        CatalogError: a catalog file could not be read and ``name`` was not found.
    """
    if not isinstance(name, str):
        from .errors import ArgumentError

        raise ArgumentError(
            f"a dataset name must be a string such as 'mnist', found {type(name).__name__} "
            f"{name!r}; `imagesets list` shows the names"
        )
    key = name.strip().lower()
    spec = _builtin(key)
    if spec is not None:
        return spec
    bad: list[str] = []
    table = _user_table(root, bad)
    if key in table:
        return table[key]
    if bad:
        raise CatalogError(
            f"unknown dataset {name!r}, and {len(bad)} catalog file(s) could not be read (it "
            "may be one of them): " + "; ".join(bad)
        )
    every = sorted({*_builtins(), *table})
    import difflib

    close = difflib.get_close_matches(key, every, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; {hint}`imagesets list` shows all {len(all_specs(root))}"
    )


def all_specs(root: Path | None = None) -> list[DatasetSpec]:
    """Every entry once (built-in first, then the user's), in catalog order."""
    seen: dict[str, DatasetSpec] = {}
    for spec in [*_builtins().values(), *_user_table(root).values()]:
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def names(root: Path | None = None) -> list[str]:
    """Canonical names of every dataset in the catalog."""
    return [s.name for s in all_specs(root)]
