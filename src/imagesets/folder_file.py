"""A folder dataset's catalog entry as plain data, and its TOML file in ``<root>/catalog/``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._toml import dumps, escape_all, needs_escape
from .cache import Cache
from .catalog import DatasetSpec
from .variant import local_edition

__all__ = ["entry_of", "write_entry"]


def entry_of(spec: DatasetSpec) -> dict[str, Any]:
    """The plain-data entry of a folder dataset (what :func:`folder_entry` made)."""
    edition = local_edition(spec)
    assert edition is not None
    options = _plain(dict(edition.options))
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "classes": list(spec.classes),
        "image_shape": list(spec.image_shape),
        "splits": {s.name: {"count": s.count} for s in spec.splits},
        "editions": [
            {
                "name": edition.name,
                "format": edition.format,
                "local": edition.local,
                "options": options,
                "counts": dict(edition.counts),
                "splits": {s: dict(r) for s, r in edition.splits.items()},
            }
        ],
    }


def _plain(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


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
