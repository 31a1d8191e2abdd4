"""Restricted unpickling for dataset files that come as pickles (CIFAR's python edition).

Pickles from the network are code execution: :class:`RestrictedUnpickler` admits only the few
globals the real files need and refuses everything else before it is imported or called.
Python 2 strings come back as ``bytes`` (``encoding="bytes"``): a 30 MB image string is handed
to numpy as it is, never decoded to text and encoded back.

>>> import pickle
>>> restricted_loads(pickle.dumps({b"labels": [1, 2]}, protocol=2), "example")
{b'labels': [1, 2]}
"""

from __future__ import annotations

import importlib
import io
import pickle
import pickletools
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .errors import FormatError, UnsafePickleError

__all__ = ["RestrictedUnpickler", "pickled_dict", "pickled_field", "restricted_loads"]

#: What malformed bytes make the unpickler raise: all of it means "not a valid pickle".
_MALFORMED = (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
              AttributeError, struct.error)  # fmt: skip


#: Most opcodes a dataset pickle may hold: a CIFAR-100 batch of 50,000 images has about 100,000
#: (two label lists; the pixels are one string), so this bounds the objects a pickle can build.
MAX_OPCODES = 2_000_000
#: The dtypes a pickled array may have (no objects, no records): nothing else occurs in CIFAR.
_ARRAY_DTYPES = frozenset(f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)) | {
    "f4",
    "f8",
    "b1",
}


def _numpy_dtype(obj: object, *args: object) -> np.dtype[Any]:
    """``numpy.dtype(obj, ...)`` for a plain numeric dtype name only (refuses object arrays,
    whose unpickling allocates 8 bytes per claimed element before reading any)."""
    name = obj.decode("latin1") if isinstance(obj, bytes) else obj
    if not isinstance(name, str) or name.lstrip("<>|=") not in _ARRAY_DTYPES:
        raise UnsafePickleError(
            f"the pickle asks for a numpy array of dtype {obj!r}; only plain integer, float and "
            "bool arrays are admitted (CIFAR files hold uint8 pixels)"
        )
    return np.dtype(name)


def _numpy_reconstruct() -> object:
    try:  # numpy >= 2; never touch numpy.core there (deprecated alias)
        module = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # pragma: no cover - numpy 1.x
        module = importlib.import_module("numpy.core.multiarray")
    return module._reconstruct


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings, numbers and numpy arrays.

    The real CIFAR pickles (Python 2, protocol 2) need exactly these globals: numpy's
    ``_reconstruct`` (under ``numpy.core.multiarray`` or ``numpy._core.multiarray``),
    ``numpy.ndarray``, ``numpy.dtype`` and, for files re-saved by Python 3 with protocol 2,
    ``codecs.encode`` restricted to latin-1. Anything else raises :class:`UnsafePickleError`
    naming ``source`` and the refused global; nothing of it is imported or called. Python 2
    strings (keys, names, the image data) come back as ``bytes``.
    """

    _ADMITTED: Mapping[tuple[str, str], Callable[[RestrictedUnpickler], object]] = {
        ("numpy.core.multiarray", "_reconstruct"): lambda self: _numpy_reconstruct(),
        ("numpy._core.multiarray", "_reconstruct"): lambda self: _numpy_reconstruct(),
        ("numpy", "ndarray"): lambda self: np.ndarray,
        ("numpy", "dtype"): lambda self: _numpy_dtype,
        ("_codecs", "encode"): lambda self: self._latin1_encode,
        ("codecs", "encode"): lambda self: self._latin1_encode,
    }

    def __init__(self, file: io.BytesIO, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        """The admitted global ``module.name``, or :class:`UnsafePickleError`."""
        factory = self._ADMITTED.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f"{self.source}: the pickle asks for the global {module}.{name}, which is not "
                "admitted (CIFAR files hold only dicts, lists, strings, ints and numpy arrays); "
                "the file is not a genuine CIFAR file and was not loaded: delete it and download "
                "it again from the official site"
            )
        return factory(self)

    def _latin1_encode(self, text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if not (isinstance(text, str) and isinstance(encoding, str)):
            raise UnsafePickleError(
                f"{self.source}: the pickle calls codecs.encode on {type(text).__name__} with "
                f"encoding {encoding!r}; only str encoded as 'latin1' is admitted"
            )
        if encoding.lower().replace("-", "") != "latin1" or errors != "strict":
            raise UnsafePickleError(
                f"{self.source}: the pickle calls codecs.encode with encoding {encoding!r}; only "
                "'latin1' (how Python 3 writes bytes in protocol 2) is admitted"
            )
        return text.encode("latin1")

    def persistent_load(self, pid: Any) -> Any:
        """Persistent ids never occur in CIFAR files: refused."""
        raise UnsafePickleError(f"{self.source}: the pickle uses a persistent id {pid!r}")


def restricted_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` (named ``source`` in errors) through :class:`RestrictedUnpickler`.

    Python 2 strings come back as ``bytes``, Python 3 ``str`` as ``str``. Malformed bytes raise
    :class:`FormatError`; a refused global raises :class:`UnsafePickleError`.
    """
    try:
        _prescan(data, source)
        return RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError as exc:
        if exc.args and str(exc.args[0]).startswith(source):
            raise
        raise UnsafePickleError(f"{source}: {exc}") from None
    except FormatError:
        raise
    except (*_MALFORMED, MemoryError, OverflowError, RecursionError) as exc:
        raise FormatError(
            f"{source}: not a valid pickle ({type(exc).__name__}: {exc}); "
            "delete the archive and download it again"
        ) from exc


def _prescan(data: bytes, source: str) -> None:
    """Walk the opcodes of ``data`` without building anything: every length an opcode claims
    must fit the bytes that remain (so no huge buffer is allocated for a 12-byte pickle), and
    there are at most :data:`MAX_OPCODES` of them (so the objects built stay bounded)."""
    for count, _ in enumerate(pickletools.genops(io.BytesIO(data)), 1):
        if count > MAX_OPCODES:
            raise FormatError(
                f"{source}: the pickle holds more than {MAX_OPCODES} opcodes; a dataset pickle "
                "holds far fewer: the file is not a genuine dataset file, download it again"
            )


def pickled_dict(obj: object, source: str, what: str) -> dict[str, Any]:
    """``obj`` checked to be a dict, with its keys as ``str`` (bytes keys decoded as latin-1).

    ``what`` names the expected content in the error (``"batch"``, ``"meta"``).
    """
    if not isinstance(obj, dict):
        raise FormatError(f"{source}: expected a pickled dict ({what}), found {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def pickled_field(d: Mapping[str, Any], key: str, source: str) -> Any:
    """``d[key]``, or a :class:`FormatError` listing the fields found."""
    try:
        return d[key]
    except KeyError:
        raise FormatError(
            f"{source}: the pickled dict has no field {key!r}; fields found: {sorted(d)}"
        ) from None
