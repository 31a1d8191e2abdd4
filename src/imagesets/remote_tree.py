"""A class-folder tree in an object store (``s3://bucket/photos/``), copied into the cache.

:func:`imagesets.from_folder` on an object-store URL calls :func:`local_copy`: every object
under the URL is copied to ``<root>/downloads/<name>/<name>/`` (keys become relative paths)
with the rules of :mod:`imagesets.fetch`: a ``.part`` beside each file, resumed by a ranged
read, the size checked against the listing and, where the store publishes it (an S3 ETag of
a single-part upload is the object's md5), the md5, before an atomic rename. A file already
there with the listed size is kept. The copy is then scanned and prepared like any local
tree. fsspec and the scheme's implementation (s3fs) are imported only here (the ``cloud``
extra).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from .cache import Cache
from .errors import FetchError

__all__ = ["is_object_url", "local_copy"]

_MD5 = re.compile(r"[0-9a-f]{32}")
CHUNK = 1 << 20


def is_object_url(path: object) -> bool:
    """True for a string URL of an object store fsspec reads (``s3://``, ``gs://``, ...)."""
    from .fetch_streams import FSSPEC_SCHEMES

    if not isinstance(path, str):
        return False
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.lower() in FSSPEC_SCHEMES


def default_name(url: str) -> str:
    """The last component of the URL's path (``s3://b/photos/`` -> ``photos``)."""
    return PurePosixPath(url.partition("://")[2].rstrip("/")).name or "folder"


def local_copy(url: str, name: str, root: str | os.PathLike[str] | None, *,
               progress: bool = True) -> Path:  # fmt: skip
    """Copy the tree at ``url`` into the cache and return the local folder.

    Raises:
        MissingDependencyError: fsspec or the scheme's implementation is not installed.
        FetchError: the URL lists no object, a key would leave the folder, or an object
            could not be read or did not match its listed size or md5 (each named).
    """
    from filelock import FileLock

    from .fetch_streams import fsspec_filesystem

    fs, base = fsspec_filesystem(url)
    cache = Cache.at(root, create=True)
    dest = cache.downloads(name) / name
    dest.mkdir(parents=True, exist_ok=True)
    try:
        listing: dict[str, dict[str, Any]] = fs.find(base, detail=True)
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot list {url}: {type(exc).__name__}: {exc}") from exc
    if not listing:
        raise FetchError(f"{url} holds no object: give the URL of a folder of class folders")
    failures = []
    with FileLock(str(dest.parent / f".{name}.lock")):
        for key, info in sorted(listing.items()):
            target = dest / _relative(url, base, key)
            try:
                _copy(fs, key, info, target)
            except FetchError as exc:
                failures.append(f"  - {fs.unstrip_protocol(key)}: {exc}")
    if failures:
        raise FetchError(
            f"{len(failures)} object(s) under {url} could not be copied into {dest}:\n"
            + "\n".join(failures)
            + "\nwhat to do: run again (parts are resumed), or fix the objects named"
        )
    return dest


def _relative(url: str, base: str, key: str) -> PurePosixPath:
    rel = PurePosixPath(key[len(base.rstrip("/")) :].lstrip("/"))
    if not key.startswith(base.rstrip("/")) or any(p in ("", ".", "..") for p in rel.parts):
        raise FetchError(f"the key {key!r} listed under {url} would leave the folder; refused")
    return rel


def _copy(fs: Any, key: str, info: dict[str, Any], target: Path) -> None:
    """One object into ``target``: resume the part, check size (and md5), rename."""
    size = int(info.get("size") or 0)
    if target.is_file() and target.stat().st_size == size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    if start > size:
        part.unlink()
        start = 0
    try:
        with fs.open(key, "rb", block_size=CHUNK) as src, part.open("ab") as out:
            src.seek(start)
            while block := src.read(CHUNK):
                out.write(block)
    except FileNotFoundError as exc:
        raise FetchError("the object vanished while being copied") from exc
    except OSError as exc:
        raise FetchError(f"read failed ({type(exc).__name__}: {exc}); the part is kept") from exc
    found = part.stat().st_size
    if found != size:
        part.unlink()
        raise FetchError(f"size: expected {size} bytes (the listing), found {found}")
    etag = str(info.get("ETag") or info.get("etag") or "").strip('"').lower()
    if _MD5.fullmatch(etag):
        digest = _md5(part)
        if digest != etag:
            part.unlink()
            raise FetchError(f"md5: expected {etag} (the ETag), found {digest}")
    part.replace(target)


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()
