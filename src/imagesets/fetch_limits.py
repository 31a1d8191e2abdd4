"""Transfer limits and disk-space checks of :mod:`imagesets.fetch`.

:class:`Limits` holds how long a slow mirror is given (``$IMAGESETS_MIN_RATE`` over
``$IMAGESETS_RATE_WINDOW``) and how much a file of unknown size may grow
(``$IMAGESETS_MAX_UNSIZED``), parsed from the environment at each fetch. The disk-space helpers
(:func:`check_space`, :func:`no_space_error`) turn a full disk or quota into a
:class:`~imagesets.errors.CacheError` naming the folder, the bytes needed and the bytes free.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .catalog import RemoteFile
from .errors import CacheError, FetchError

__all__ = ["Limits", "check_space", "no_space_error"]

TIMEOUT = (10.0, 60.0)  # connect, read (seconds); the read timeout shrinks to the rate window
MIN_RATE_ENV, MIN_RATE = "IMAGESETS_MIN_RATE", 1024.0  # bytes per second
RATE_WINDOW_ENV, RATE_WINDOW = "IMAGESETS_RATE_WINDOW", 30.0  # seconds
MAX_UNSIZED_ENV, MAX_UNSIZED = "IMAGESETS_MAX_UNSIZED", 64 << 30  # bytes
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """How long a slow mirror is given, and how much a file of unknown size may grow.

    Attributes:
        min_rate: bytes/s a transfer must average over each window; 0 turns the check off.
        window: seconds of that average (> 0).
        max_unsized: most bytes accepted for a file whose size the catalog does not give.
    """

    min_rate: float = MIN_RATE
    window: float = RATE_WINDOW
    max_unsized: int = MAX_UNSIZED

    @classmethod
    def from_env(cls) -> Limits:
        """The limits set in ``$IMAGESETS_MIN_RATE``, ``$IMAGESETS_RATE_WINDOW`` and
        ``$IMAGESETS_MAX_UNSIZED``, else the defaults.

        Raises:
            FetchError: a variable holds something other than a number in range.
        """
        return cls(
            _env_number(MIN_RATE_ENV, MIN_RATE, float, "bytes per second, 0 or more", 0),
            _env_number(RATE_WINDOW_ENV, RATE_WINDOW, float, "seconds, more than 0", None),
            int(_env_number(MAX_UNSIZED_ENV, MAX_UNSIZED, int, "whole bytes, 1 or more", None)),
        )

    @property
    def read_timeout(self) -> float:
        """Seconds without a byte before a mirror counts as stalled: the window, within 10-60."""
        return min(TIMEOUT[1], max(self.window, 10.0)) if self.min_rate else TIMEOUT[1]


def _env_number(
    name: str, default: float, kind: type[float] | type[int], what: str, floor: float | None
) -> float:
    """``$name`` as a number (``default`` when unset): ``>= floor``, or ``> 0`` without one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(kind(raw))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value >= floor if floor is not None else value > 0)):
        raise FetchError(
            f"{name}={raw!r} is not usable: expected {what}; set it to such a number, "
            f"or unset it for the default ({default:g})"
        )
    return value


# --------------------------------------------------------------------------- disk space


def _free_bytes(folder: Path) -> int | None:
    """Bytes free to us on the filesystem of ``folder`` (or its nearest existing parent)."""
    for p in (folder, *folder.parents):
        with contextlib.suppress(OSError):
            if p.exists():
                return shutil.disk_usage(p).free
    return None


def no_space_error(action: str, folder: Path, needed: int | None, note: str) -> CacheError:
    """The error for a full disk (or quota): what, where, bytes needed and free, what to do."""
    free = _free_bytes(folder)
    need = f"{needed} more bytes" if needed is not None else "more bytes (size unpublished)"
    have = f"{free} bytes free" if free is not None else "free space unknown"
    return CacheError(
        f"no space left on the device for {action} in {folder}: needs {need}, {have} there "
        f"(shutil.disk_usage); {note}; what to do: free space on that filesystem, or set "
        "IMAGESETS_HOME to a folder on a larger disk, then run again"
    )


def check_space(action: str, folder: Path, needed: int) -> None:
    """Fail fast, before writing anything, when ``folder``'s filesystem has under ``needed``.

    Raises:
        CacheError: the filesystem reports less free space than ``needed``.
    """
    free = _free_bytes(folder)
    if free is not None and needed > free:
        raise no_space_error(action, folder, needed, "nothing was written")


def _write_error(exc: OSError, rf: RemoteFile, part: Path) -> CacheError:
    """A write to ``part`` failed: a full disk (the part kept for resume) or another error."""
    size = part.stat().st_size if part.exists() else 0
    if exc.errno in _NO_SPACE:
        needed = rf.size - size if rf.size is not None else None
        note = (
            f"the partial download {part.name} ({size} bytes) is kept so that the next run "
            "resumes it (delete it to get that space back)"
        )
        return no_space_error(f"downloading {rf.name}", part.parent, needed, note)
    return CacheError(
        f"cannot write {part}: {exc.strerror or exc}; check the disk and the permissions of "
        "that folder, or set IMAGESETS_HOME to another folder"
    )
