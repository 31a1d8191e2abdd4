"""Where the cache lives and how the library may reach the network.

The cache root is, in order: the ``root`` argument, ``$IMAGESETS_HOME``, the user cache
directory (``~/.cache/imagesets`` on Linux). There is never a silent fallback to a temporary
folder: an unusable root is a :class:`~imagesets.errors.CacheError` that says what to set.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import CacheError

__all__ = ["cache_root", "is_offline", "user_mirrors"]

HOME_ENV = "IMAGESETS_HOME"
OFFLINE_ENV = "IMAGESETS_OFFLINE"
MIRROR_ENV = "IMAGESETS_MIRROR"

_TRUE = {"1", "true", "yes", "on"}
#: Mirror schemes read through fsspec (kept equal to ``imagesets.fetch.FSSPEC_SCHEMES``).
_OBJECT_STORES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")


def cache_root(root: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
    """The cache root folder, created if needed and checked to be writable.

    Args:
        root: an explicit folder; overrides ``$IMAGESETS_HOME`` and the user cache dir.
        create: create the folder and check it is writable (``False`` only resolves it).

    Raises:
        CacheError: the folder cannot be created or written; the message says what to set.
    """
    path = Path(root) if root is not None else _default_root()
    path = path.expanduser()
    if create:
        _check_writable(path)
    return path


def _default_root() -> Path:
    return _resolve_default(os.environ.get(HOME_ENV) or None)


@functools.lru_cache(maxsize=8)
def _resolve_default(env: str | None) -> Path:
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("imagesets", appauthor=False))


def _check_writable(path: Path) -> None:
    import tempfile

    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise CacheError(
            f"cache folder {str(path)!r} is not usable ({exc.strerror or exc}); "
            f"set {HOME_ENV} to a writable folder, or pass root=..."
        ) from exc


def is_offline() -> bool:
    """True when ``$IMAGESETS_OFFLINE`` is set to 1/true/yes/on: never touch the network."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def user_mirrors() -> list[str]:
    """Base URLs from ``$IMAGESETS_MIRROR`` (space-separated), tried before the catalog's.

    A file ``F`` of dataset ``D`` is looked up at ``<base>/<D>/<F>``; ``file://`` bases work,
    and object stores through fsspec (``s3://bucket/datasets``: the ``cloud`` extra).

    Raises:
        FetchError: a base is not an ``http://``, ``https://`` or ``file://`` URL with a host
            (or a path), nor an object-store URL with a bucket; the message names it and
            shows the corrected form.
    """
    from .errors import FetchError

    given = os.environ.get(MIRROR_ENV, "").split()
    for base in given:
        scheme, sep, rest = base.partition("://")
        if not sep:
            local = base.startswith(("/", "~", "."))
            fix = Path(base).expanduser().absolute().as_uri() if local else f"http://{base}"
            found = "no scheme"
        elif scheme.lower() in _OBJECT_STORES:
            if rest.split("/")[0]:
                continue
            fix, found = f"{scheme}://BUCKET/PATH", "no bucket"
        elif scheme.lower() not in ("http", "https", "file"):
            fix, found = f"http://{rest}", f"the scheme {scheme!r}"
        elif scheme.lower() == "file" and not rest.startswith("/"):
            fix, found = "file:///ABSOLUTE/PATH", "no absolute path"
        elif scheme.lower() != "file" and not rest.split("/")[0]:
            fix, found = f"{scheme}://HOST:PORT/PATH", "no host"
        else:
            continue
        raise FetchError(
            f"{MIRROR_ENV} holds {base!r}, which is not a mirror URL: expected a base starting "
            f"with http://, https:// or file://, or an object store ("
            f"{', '.join(s + '://' for s in _OBJECT_STORES)}), found {found}; what to do: write "
            f"it as {fix} "
            "(several mirrors are separated by spaces)"
        )
    return [b.rstrip("/") for b in given]
