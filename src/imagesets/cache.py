"""The cache on disk, as one object: every path the library writes is asked of a :class:`Cache`.

Layout (see DESIGN.md section 4)::

    <root>/downloads/<dataset>/<file>                       verified originals
    <root>/prepared/<dataset>/<variant>/<split>/...          prepared arrays and manifest
    <root>/prepared/<dataset>/.<variant>.lock                one lock per variant
    <root>/catalog/<name>.toml                               the user's catalog entries

A :class:`Cache` resolves the root once. Each name that becomes a path component (a dataset,
split, variant or file name) is checked to be one plain component, and every path built is
checked to stay inside the root, so a hostile or careless name (``../x``, ``/etc``, a NUL, a
leading dot) is an error here even if an earlier check missed it. No other module joins cache
paths. Importing this module imports neither numpy nor requests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import cache_root
from .errors import CacheError, CatalogError

if TYPE_CHECKING:  # pragma: no cover
    from filelock import BaseFileLock

__all__ = ["NAME_PATTERN", "Cache", "check_name"]

#: What a dataset, split or file name may be: one plain path component.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._+-]*"
_NAME = re.compile(NAME_PATTERN)
#: Variant folder names also hold ``=`` (``default-size=64``).
_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,-]*")
_MAX_NAME = 200


def check_name(value: object, what: str, where: str = "") -> str:
    """``value`` if it is a plain name (``[A-Za-z0-9][A-Za-z0-9._+-]*``, at most 200 chars).

    Args:
        value: the candidate name.
        what: what it names, for the message (``"dataset name"``, ``"file name"``).
        where: the source, for the message (``"catalog entry /x/pets.toml: field 'name'"``).

    Raises:
        CatalogError: not a string, empty, too long, or with anything but letters, digits and
            ``._+-`` (``/``, ``..``, a NUL, a leading dot, spaces...).
    """
    if isinstance(value, str) and len(value) <= _MAX_NAME and _NAME.fullmatch(value):
        return value
    prefix = f"{where}: " if where else ""
    raise CatalogError(
        f"{prefix}{what} {value!r} is not a plain name: expected letters, digits and . _ + - "
        f"(starting with a letter or digit, at most {_MAX_NAME} characters); rename it"
    )


@dataclass(frozen=True)
class Cache:
    """The cache rooted at :attr:`root` (already resolved: made once per call).

    Every method returns a path inside :attr:`root`; a name that would lead outside it is a
    :class:`~imagesets.errors.CacheError`.
    """

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None = None, *, create: bool = False) -> Cache:
        """The cache at ``root`` (else ``$IMAGESETS_HOME``, else the user cache folder).

        Args:
            root: an explicit folder.
            create: create it and check it is writable (else only resolve it).

        Raises:
            CacheError: ``create`` and the folder is not writable.
        """
        return cls(Path(os.path.abspath(cache_root(root, create=create))))  # noqa: PTH100

    def writable(self) -> Cache:
        """This cache, its root created and checked writable (before anything is written)."""
        cache_root(self.root, create=True)
        return self

    # ------------------------------------------------------------------ paths

    def path(self, *parts: str) -> Path:
        """``<root>/<part>/...``, each part one plain component, the result inside the root.

        Raises:
            CacheError: a part with ``/``, ``..``, a NUL, a leading dot or other characters
                that are not a plain name, or a result that resolves outside the root.
        """
        for part in parts:
            if not (isinstance(part, str) and len(part) <= 255 and _COMPONENT.fullmatch(part)):
                raise CacheError(
                    f"cache path component {part!r} (under {self.root}) is not a plain name; "
                    "a catalog entry or argument names a path outside the cache: fix the name"
                )
        path = self.root.joinpath(*parts)
        self.check_inside(path)
        return path

    def check_inside(self, path: Path) -> Path:
        """``path`` if it resolves (symlinks followed) inside the root, else a CacheError."""
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
            raise CacheError(
                f"cache path {path} resolves to {real}, outside the cache root {real_root}; "
                "refusing to touch it (a symlink or a name leads out of the cache)"
            )
        return path

    def downloads(self, dataset: str) -> Path:
        """``<root>/downloads/<dataset>``: verified original files of one dataset."""
        return self.path("downloads", dataset)

    def download(self, dataset: str, file: str) -> Path:
        """``<root>/downloads/<dataset>/<file>``."""
        return self.path("downloads", dataset, file)

    def prepared(self, dataset: str) -> Path:
        """``<root>/prepared/<dataset>``: every prepared variant of one dataset."""
        return self.path("prepared", dataset)

    def variant(self, dataset: str, variant: str) -> Path:
        """``<root>/prepared/<dataset>/<variant>``."""
        return self.path("prepared", dataset, variant)

    def split(self, dataset: str, variant: str, split: str) -> Path:
        """``<root>/prepared/<dataset>/<variant>/<split>``: one prepared split's folder."""
        return self.path("prepared", dataset, variant, split)

    def catalog(self) -> Path:
        """``<root>/catalog``: the user's TOML catalog entries."""
        return self.path("catalog")

    def catalog_entry(self, name: str) -> Path:
        """``<root>/catalog/<name>.toml``."""
        return self.path("catalog", f"{name}.toml")

    def variants(self, dataset: str) -> list[str]:
        """The prepared variant folders of ``dataset`` (sorted; hidden names left out)."""
        return _children(self.prepared(dataset))

    def downloaded_datasets(self) -> list[str]:
        """Every downloads folder (a dataset's, or one shared by several entries)."""
        return _children(self.path("downloads"))

    def prepared_datasets(self) -> list[str]:
        """Every dataset with a prepared folder."""
        return _children(self.path("prepared"))

    def variant_lock(self, dataset: str, variant: str) -> BaseFileLock:
        """The lock that preparers and cleaners of one variant hold
        (``<root>/prepared/<dataset>/.<variant>.lock``; its folder is created)."""
        from filelock import FileLock

        folder = self.prepared(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        self.variant(dataset, variant)  # checks the variant name
        return FileLock(str(folder / f".{variant}.lock"))


def _children(folder: Path) -> list[str]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    # Only folders imagesets could have made: a stranger's folder is neither listed nor touched.
    return sorted(e.name for e in entries if e.is_dir() and _COMPONENT.fullmatch(e.name))
