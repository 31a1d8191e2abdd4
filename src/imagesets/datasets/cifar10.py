"""Drop-in for ``keras.datasets.cifar10``.

``(x_train, y_train), (x_test, y_test) = load_data()``: images uint8 ``(50000, 32, 32, 3)`` and
``(10000, 32, 32, 3)`` (NHWC, values 0-255), labels uint8 ``(50000, 1)`` and ``(10000, 1)``,
exactly as keras returns them.
"""

from __future__ import annotations

from ..api import Arrays, PathLike
from ..api import load_data as _load_data

__all__ = ["load_data"]


def load_data(*, sample: bool = False, root: PathLike | None = None) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)`` of CIFAR-10; labels 0-9 shaped ``(N, 1)``."""
    return _load_data("cifar10", sample=sample, root=root)
