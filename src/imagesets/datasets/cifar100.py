"""Drop-in for ``keras.datasets.cifar100``.

``(x_train, y_train), (x_test, y_test) = load_data()``: images uint8 ``(50000, 32, 32, 3)`` and
``(10000, 32, 32, 3)`` (NHWC, values 0-255), labels uint8 ``(50000, 1)`` and ``(10000, 1)``,
exactly as keras returns them.
"""

from __future__ import annotations

from typing import Literal

from ..api import Arrays, PathLike
from ..api import load_data as _load_data

__all__ = ["load_data"]


def load_data(
    label_mode: Literal["fine", "coarse"] = "fine", *, root: PathLike | None = None
) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)`` of CIFAR-100.

    ``label_mode="fine"`` gives the 100 class labels, ``"coarse"`` the 20 superclass labels,
    both uint8 shaped ``(N, 1)``, as in keras.
    """
    return _load_data("cifar100", label_mode=label_mode, root=root)
