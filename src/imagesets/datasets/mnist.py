"""Drop-in for ``keras.datasets.mnist``.

``(x_train, y_train), (x_test, y_test) = load_data()``.

Images are uint8 ``(60000, 28, 28)`` and ``(10000, 28, 28)``, values 0-255; labels uint8
``(60000,)`` and ``(10000,)``, values 0-9, exactly as keras returns them.
"""

from __future__ import annotations

from ..api import Arrays, PathLike
from ..api import load_data as _load_data

__all__ = ["load_data"]


def load_data(
    path: str | None = None, *, sample: bool = False, root: PathLike | None = None
) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)`` of mnist (see :func:`imagesets.load_data`).

    ``path`` is accepted for keras compatibility and ignored (the cache root is ``root``).
    """
    return _load_data("mnist", sample=sample, root=root)
