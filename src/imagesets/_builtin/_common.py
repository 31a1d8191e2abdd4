"""Helpers shared by the built-in entries."""

from __future__ import annotations

from typing import Any


def files(mirrors: tuple[str, ...], rows: list[tuple[str, int, str, str | None]]) -> list[Any]:
    return [
        {"name": n, "size": size, "sha256": sha, "md5": md5, "urls": [m + n for m in mirrors]}
        if md5
        else {"name": n, "size": size, "sha256": sha, "urls": [m + n for m in mirrors]}
        for n, size, sha, md5 in rows
    ]
