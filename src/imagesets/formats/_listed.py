"""Images of an archive picked by a published list: each listed image exactly once, none too
large, none missing (Food-101's ``meta/*.txt``, Oxford-IIIT Pet's ``trainval.txt``/``test.txt``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from ..errors import FormatError

__all__ = ["listed_images"]

T = TypeVar("T")


def listed_images(
    path: Path,
    listed: Mapping[str, T],
    key: Callable[[str], str | None],
    *,
    max_bytes: int,
    twice: str,
    missing: Callable[[int, str], str],
) -> Iterator[tuple[str, T, bytes]]:
    """``(member name, listed value, bytes)`` of each member of the archive ``path`` whose
    ``key(member name)`` is in ``listed`` (None: not an image of the list's kind, skipped).

    Args:
        twice: what to do when an image is stored twice (the end of that error).
        missing: the message, from the number missing and the first one's key, when listed
            images are not in the archive.

    Raises:
        FormatError: an image stored twice, one over ``max_bytes``, listed images missing.
    """
    from ..archives import iter_files

    found: set[str] = set()
    for member, reader in iter_files(path):
        image = key(member.name)
        value = listed.get(image) if image is not None else None
        if image is None or value is None:
            continue  # not an image, or one of another split
        where = f"{path}!{member.name}"
        if image in found:
            raise FormatError(f"{where}: stored twice; {twice}")
        if member.size > max_bytes:
            raise FormatError(
                f"{where}: {member.size} bytes, an image holds at most {max_bytes >> 20} MB"
            )
        found.add(image)
        yield member.name, value, reader.read(member.size)
    absent = sorted(set(listed) - found)
    if absent:
        raise FormatError(f"{path}: {missing(len(absent), absent[0])}")
