"""A small TOML writer for catalog entries, and the lossless escape of undecodable names.

The standard library reads TOML (``tomllib``) but does not write it; catalog entries need only
strings, integers, floats, booleans, lists of those, tables and lists of tables, so this writer
is a few lines instead of a dependency.

Folder names that are not valid UTF-8 reach Python as lone surrogates (``os.fsdecode``'s
``surrogateescape``), which no TOML or UTF-8 file may hold. :func:`escape_name` writes such a
byte as ``\\xNN`` (and a backslash as ``\\\\``), and :func:`unescape_name` reverses it exactly;
an entry written that way says so with ``name_escapes = true``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "escape_all", "escape_name", "needs_escape", "unescape_all", "unescape_name"]

_SURROGATE = re.compile(r"[\udc80-\udcff]")
_ESCAPED = re.compile(r"\\(\\|x[89a-f][0-9a-f])")


def needs_escape(value: str) -> bool:
    """True when ``value`` holds a byte that was not UTF-8 (a lone surrogate)."""
    return _SURROGATE.search(value) is not None


def escape_name(value: str) -> str:
    """``value`` with each undecodable byte as ``\\xNN`` and each backslash doubled."""
    doubled = value.replace("\\", "\\\\")
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", doubled)


def unescape_name(value: str) -> str:
    """The exact inverse of :func:`escape_name`."""

    def back(m: re.Match[str]) -> str:
        code = m.group(1)
        return "\\" if code == "\\" else chr(0xDC00 + int(code[1:], 16))

    return _ESCAPED.sub(back, value)


def escape_all(data: Any) -> Any:
    """Every string in ``data`` (dict keys too) passed through :func:`escape_name`."""
    if isinstance(data, str):
        return escape_name(data)
    if isinstance(data, list):
        return [escape_all(v) for v in data]
    if isinstance(data, Mapping):
        return {escape_all(k): escape_all(v) for k, v in data.items()}
    return data


def unescape_all(data: Any) -> Any:
    """Every string in ``data`` (dicts, lists) passed through :func:`unescape_name`."""
    if isinstance(data, str):
        return unescape_name(data)
    if isinstance(data, list):
        return [unescape_all(v) for v in data]
    if isinstance(data, Mapping):
        return {unescape_all(k): unescape_all(v) for k, v in data.items()}
    return data


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text for ``data``; ``header`` lines are written first as ``#`` comments.

    Raises:
        TypeError: a value TOML cannot hold (None, bytes, a lone surrogate, NaN...).
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _string(v: str) -> str:
    if needs_escape(v):
        raise TypeError(f"cannot write {v!r} as TOML: it holds undecodable bytes; escape it")
    return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)) and all(not isinstance(x, Mapping) for x in v):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping) and all(not isinstance(x, (Mapping, list)) for x in v.values()):
        return "{" + ", ".join(f"{_name(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as a TOML value")


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _name(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


def _key(parts: list[str]) -> str:
    return ".".join(_name(p) for p in parts)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    arrays = {k: v for k, v in data.items() if _is_table_list(v)}
    for k, v in data.items():
        if k not in nested and k not in arrays:
            lines.append(f"{_name(k)} = {_value(v)}")
    for k, v in nested.items():
        if not v or any(not isinstance(x, Mapping) and not _is_table_list(x) for x in v.values()):
            lines.append(f"\n[{_key([*path, k])}]")
        _table(v, [*path, k], lines)
    for k, items in arrays.items():
        for item in items:
            lines.append(f"\n[[{_key([*path, k])}]]")
            _table(item, [*path, k], lines)
