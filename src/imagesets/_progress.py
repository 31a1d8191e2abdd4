"""Progress bars where people are: a widget in a notebook, a bar on a terminal, nothing in CI
or a pipe. Every long step (download, import hashing, prepare, audit, export) makes its bar
with :func:`bar`.

Whether a bar shows:

* ``IMAGESETS_PROGRESS=0`` hides every bar, ``IMAGESETS_PROGRESS=1`` shows them even when
  stderr is not a terminal (a CI log, a pipe); any other value is an :class:`ArgumentError`;
* otherwise a bar shows when the caller asked for it (``progress=True``, no ``-q``) and the
  process runs in a Jupyter kernel or stderr is a terminal.

``progress=False`` (``-q``) always wins. Bars come from ``tqdm.auto``: an ipywidgets bar in a
notebook (a text bar there when ipywidgets is missing), the text bar elsewhere. tqdm is
imported only when a bar is made.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .errors import ArgumentError

__all__ = ["ENV", "bar", "enabled", "in_notebook"]

#: The environment variable that forces bars on (``1``) or off (``0``).
ENV = "IMAGESETS_PROGRESS"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython already imported and run by ``IPKernelApp``);
    never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    config = getattr(shell, "config", None)
    return config is not None and "IPKernelApp" in config


def forced() -> bool | None:
    """The choice of ``IMAGESETS_PROGRESS``: True (``1``), False (``0``) or None (unset or
    empty)."""
    raw = os.environ.get(ENV, "").strip()
    if raw == "":
        return None
    if raw in ("0", "1"):
        return raw == "1"
    raise ArgumentError(
        f"{ENV}={raw!r}: expected 0 (never show progress bars) or 1 (always show them); "
        f"unset it to show them on a terminal or in a notebook only"
    )


def enabled(show: bool) -> bool:
    """Whether a bar asked for with ``show`` is drawn (see the module docstring)."""
    if not show:
        return False
    choice = forced()
    if choice is not None:
        return choice
    isatty = getattr(sys.stderr, "isatty", None)
    return in_notebook() or bool(callable(isatty) and isatty())


def bar(show: bool, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar on stderr that is drawn only if :func:`enabled` says so.

    ``kwargs`` go to tqdm (``total``, ``desc``, ``unit``, ...); ``leave`` defaults to False.
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("leave", False)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(disable=not enabled(show), **kwargs)
