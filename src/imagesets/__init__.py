"""imagesets: the classic image datasets as numpy arrays, safely, correctly and fast.

>>> import imagesets
>>> (x_train, y_train), (x_test, y_test) = imagesets.load_data("mnist")  # doctest: +SKIP
>>> x_train.shape, x_train.dtype, y_train[100]  # doctest: +SKIP
((60000, 28, 28), dtype('uint8'), np.uint8(5))

Importing this package does no I/O and imports no reader, framework or optional dependency;
the public names are resolved on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "load": "imagesets.api",
    "load_data": "imagesets.api",
    "download": "imagesets.api",
    "prepare": "imagesets.api",
    "import_files": "imagesets.api",
    "info": "imagesets.api",
    "list_datasets": "imagesets.api",
    "verify": "imagesets.api",
    "clean": "imagesets.api",
    "register": "imagesets.catalog",
    "from_folder": "imagesets.folders",
    "Dataset": "imagesets.dataset",
    "Split": "imagesets.dataset",
    "DatasetSpec": "imagesets.catalog",
    "RemoteFile": "imagesets.catalog",
}

__all__ = [
    "Dataset",
    "DatasetSpec",
    "RemoteFile",
    "Split",
    "__version__",
    "clean",
    "download",
    "from_folder",
    "import_files",
    "info",
    "list_datasets",
    "load",
    "load_data",
    "prepare",
    "register",
    "verify",
]

if TYPE_CHECKING:  # pragma: no cover
    from .api import (
        clean,
        download,
        import_files,
        info,
        list_datasets,
        load,
        load_data,
        prepare,
        verify,
    )
    from .catalog import DatasetSpec, RemoteFile, register
    from .dataset import Dataset, Split
    from .folders import from_folder


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'imagesets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
