"""A subprocess for the concurrency and crash-safety tests (a helper, not a test module).

Usage::

    python tests/_worker.py ENTRY_JSON ACTION [--out NPZ] [--ready FILE --go FILE] [--reader F=M:FN]

``ENTRY_JSON`` is a catalog entry (plain data) that is registered first; the cache root is
``$IMAGESETS_HOME`` as the parent test set it. Actions:

- ``load``: ``imagesets.load(name)`` and save every split's arrays to ``--out`` (an ``.npz``).
- ``download``: ``imagesets.download(name)`` (fetch only, per-file locks, no prepare lock).

With ``--ready`` and ``--go`` the process writes the ready file, then waits for the go file,
so that several workers start their race at the same moment. Log lines of the ``imagesets``
logger go to stderr (``prepared ...``, ``fetched ...``), which the tests count.

``--reader FORMAT=module:function`` adds a reader to ``imagesets.formats.READERS`` first.
It also provides :func:`slow_read_split`, a reader that fills a split, touches
``$IMAGESETS_TEST_MARKER`` and then hangs, so a test can kill a process in mid-prepare.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MARKER_ENV = "IMAGESETS_TEST_MARKER"


def slow_read_split(request: Any, out: Any) -> dict[str, Any]:
    """The IDX reader, then a marker file, then a long sleep (the test kills us there)."""
    from imagesets.formats.idx import read_split

    extras = read_split(request, out)
    Path(os.environ[MARKER_ENV]).touch()
    time.sleep(60)
    return extras


def _wait_for_go(ready: Path, go: Path) -> None:
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("worker: no go signal within 60 s")
        time.sleep(0.005)


def _load(name: str, out: Path | None) -> None:
    import imagesets

    ds = imagesets.load(name, progress=False)
    arrays = {f"{s}_{k}": np.asarray(v) for s in ("train", "test") for k, v in ds[s].arrays.items()}
    if out is not None:
        np.savez(out, **arrays)


def _download(name: str, out: Path | None) -> None:
    import imagesets

    imagesets.download(name, progress=False)


ACTIONS = {"load": _load, "download": _download}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("entry", type=Path)
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--go", type=Path)
    parser.add_argument("--reader", help="FORMAT=module:function to register in READERS")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    import imagesets.api  # the heavy imports happen before the race starts
    import imagesets.formats.idx  # noqa: F401
    from imagesets import catalog
    from imagesets.formats import READERS

    if args.reader:
        fmt, _, target = args.reader.partition("=")
        READERS[fmt] = target
    entry = json.loads(args.entry.read_text())
    catalog.register(entry)
    if args.ready and args.go:
        _wait_for_go(args.ready, args.go)
    ACTIONS[args.action](entry["name"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
