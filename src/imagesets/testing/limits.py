"""Resource caps for tests of hostile input: a memory bomb must fail, not take the machine.

:func:`memory_cap` lowers the address-space limit (``RLIMIT_AS``) of this process to what it
uses now plus ``extra`` bytes, for the ``with`` block only, so a reader that tries to allocate
gigabytes gets a ``MemoryError`` at once instead of swapping (POSIX only; elsewhere a no-op).

>>> with memory_cap(1 << 30):
...     data = bytes(1 << 20)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["address_space", "memory_cap"]


def address_space() -> int:
    """Bytes of address space this process maps now (``/proc/self/statm``), 0 if unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@contextlib.contextmanager
def memory_cap(extra: int) -> Iterator[None]:
    """Within the block, allocations beyond the current address space plus ``extra`` bytes
    fail with ``MemoryError``; the previous limit is restored afterwards."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    used = address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra if used else soft
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
