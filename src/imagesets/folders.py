"""Any class-per-folder tree as a dataset: ``imagesets.from_folder(path)``.

The tree is scanned once (:func:`imagesets.formats.image_tree.scan_tree`), described as a
catalog entry with a *local* edition (the folder itself; nothing to download), registered, and
loaded like any other dataset, so the prepared arrays, the manifest with skipped files, the
CLI and the training feeds all work the same. ``persist=True`` (what ``imagesets
prepare-folder`` does) also writes the entry to ``<root>/catalog/<name>.toml`` so later
processes know the name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import catalog
from ._toml import dumps, escape_all, needs_escape
from .api import load
from .cache import Cache, check_name
from .dataset import Dataset
from .errors import ArgumentError
from .formats.image_tree import scan_tree

__all__ = ["folder_entry", "from_folder"]


def _name_for(path: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-")
    return slug or "folder"


def folder_entry(path: Path, *, name: str | None = None,
                 label_depth: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The catalog entry (plain data) of the tree at ``path``: one split per split folder
    (``train``, ``test``, ``val``) or ``all``, counts of candidate images, the class index."""
    root = path.expanduser().resolve()
    if name is not None:
        check_name(name, "dataset name", "from_folder")
    tree = scan_tree(root, label_depth=label_depth)
    options: dict[str, Any] = {"classes": list(tree.classes)}
    if label_depth is not None:
        options["label_depth"] = label_depth
    rel = {s: os.path.relpath(scan.root, root) for s, scan in tree.splits.items()}
    return {
        "name": name or _name_for(root),
        "title": f"image folder {root}",
        "description": f"class folders under {root}",
        "classes": list(tree.classes),
        "splits": {s: {"count": len(scan.files)} for s, scan in tree.splits.items()},
        "editions": [
            {
                "name": "folder",
                "format": "image-folder",
                "local": str(root),
                "options": options,
                "splits": {s: {"root": r} for s, r in rel.items()},
            }
        ],
    }


def from_folder(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    size: int | None = None,
    max_side: int | None = None,
    label_depth: int | None = None,
    root: str | os.PathLike[str] | None = None,
    persist: bool = False,
    progress: bool = True,
) -> Dataset:
    """Prepare and load a class-per-folder image tree.

    Args:
        path: the tree; leaf folders are classes at any depth, and each image keeps its label
            path (``animals/domestic/cat``); ``train/``, ``test/`` or ``val/`` at the top
            become splits. An object-store URL (``s3://bucket/photos/``, the ``cloud``
            extra) is copied into the cache first (:mod:`imagesets.remote_tree`).
        name: the dataset name (default: the folder's name).
        size: fixed-size arrays, uint8 ``(N, size, size, 3)`` (shorter side resized, then
            centre crop); without it, a packed store of the JPEG bytes decoded on access.
        max_side: for the packed store, re-encode JPEGs with the longer side at most this.
        label_depth: labels cut to this many folder levels (``1`` gives ``animals``).
        persist: also write the entry to ``<root>/catalog/<name>.toml``.

    Raises:
        ArgumentError: ``size`` and ``max_side`` together, or out of range.
        CatalogError: a built-in name.
        FormatError: ``path`` is not a folder.
    """
    if size is not None and max_side is not None:
        raise ArgumentError("from_folder: give size (fixed-size arrays) or max_side (packed)")
    if isinstance(path, str) and "://" in path:  # an object store: copied into the cache first
        from .remote_tree import default_name, is_object_url, local_copy

        if is_object_url(path):
            name = name or _name_for(Path(default_name(path)))
            path = local_copy(path, name, root, progress=progress)
    _check_side("size", size, MAX_SIZE)
    _check_side("max_side", max_side, MAX_SIDE)
    _check_side("label_depth", label_depth, 64)
    entry = folder_entry(Path(path), name=name, label_depth=label_depth)
    catalog.unregister(entry["name"])
    spec = catalog.register(entry)
    if persist:
        write_entry(entry, Cache.at(root, create=True).root)
    options = {"size": size} if size is not None else {}
    if max_side is not None:
        options["max_side"] = max_side
    return load(spec.name, list(spec.split_names), root=root, options=options or None,
                progress=progress)  # fmt: skip


#: The largest ``size`` (fixed-size arrays: N x size x size x 3 bytes) and ``max_side`` (packed
#: JPEGs) accepted: beyond them a typo (``size=100000``: 30 GB an image) is not a dataset.
MAX_SIZE = 4096
MAX_SIDE = 16384


def _check_side(key: str, value: object, most: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ArgumentError(f"from_folder: {key} must be an integer in 1..{most}, found {value!r}")


def write_entry(entry: dict[str, Any], root: Path) -> Path:
    """Write ``entry`` as ``<root>/catalog/<name>.toml`` (atomically). Names from folder names
    that are not UTF-8 are escaped losslessly (``name_escapes = true``; see
    :mod:`imagesets._toml`), so the file is always valid UTF-8 TOML."""
    cache = Cache.at(root)
    target = cache.catalog_entry(entry["name"])
    target.parent.mkdir(parents=True, exist_ok=True)
    if any(needs_escape(s) for s in _strings(entry)):
        text = dumps({"name_escapes": True, **escape_all(entry)})
    else:
        text = dumps(entry)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []
