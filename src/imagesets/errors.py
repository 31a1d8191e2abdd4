"""The exception tree of imagesets.

Every error the library raises on purpose is an :class:`ImagesetsError`; each subclass also
inherits the builtin that a caller would naturally catch, so ``except KeyError`` keeps working
around :func:`imagesets.load` with a wrong name::

    ImagesetsError (Exception)
    +-- UnknownDatasetError (KeyError)        a name not in the catalog; suggests close matches
    +-- CatalogError (ValueError)             a malformed catalog entry (file and field named)
    +-- FetchError (OSError)                  every URL failed; lists each URL and why
    |   +-- VerificationError                 size or sha256 differ from the catalog
    |   +-- OfflineError                      IMAGESETS_OFFLINE=1 and files are missing
    |   +-- ManualDownloadError               the files need a login; says where and how
    +-- CacheError (OSError)                  cache root missing, not writable, stale or foreign
    +-- FormatError (ValueError)              bytes that do not match the file format
    |   +-- UnsafeArchiveError                tar/zip members outside the target, links, devices
    |   +-- UnsafePickleError                 a pickle asking for a global we do not admit
    +-- MissingDependencyError (ImportError)  an optional extra is not installed; names it
    +-- ArgumentError (ValueError, TypeError) a bad argument or option: names it, the valid range
    +-- UnknownSplitError (UnknownDatasetError, ArgumentError, AttributeError)  no such split
    +-- WorkerError (RuntimeError)            a decode worker process died; names it and why

Messages follow one rule: what failed, on which input, what was expected, what was found, and
what to do.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "CacheError",
    "CatalogError",
    "FetchError",
    "FormatError",
    "ImagesetsError",
    "ManualDownloadError",
    "MissingDependencyError",
    "OfflineError",
    "UnknownDatasetError",
    "UnknownSplitError",
    "UnsafeArchiveError",
    "UnsafePickleError",
    "VerificationError",
    "WorkerError",
]


class ImagesetsError(Exception):
    """Base class of every error raised on purpose by imagesets."""


class UnknownDatasetError(ImagesetsError, KeyError):
    """A dataset name that is not in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CatalogError(ImagesetsError, ValueError):
    """A catalog entry that is malformed: names the entry (file) and the field."""


class FetchError(ImagesetsError, OSError):
    """A file could not be fetched from any of its URLs."""


class VerificationError(FetchError):
    """Downloaded or imported bytes whose size or sha256 differ from the catalog."""


class OfflineError(FetchError):
    """Offline mode is on and files are missing from the cache."""


class ManualDownloadError(FetchError):
    """The files cannot be downloaded automatically (a login is needed)."""


class CacheError(ImagesetsError, OSError):
    """The cache root is unusable, or a prepared cache is stale or foreign."""


class FormatError(ImagesetsError, ValueError):
    """A file whose bytes do not match its format."""


class UnsafeArchiveError(FormatError):
    """An archive member that would land outside the target, or is a link or a device."""


class UnsafePickleError(FormatError):
    """A pickle that asks for a global outside the admitted set."""


class MissingDependencyError(ImagesetsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class ArgumentError(ImagesetsError, ValueError, TypeError):
    """An argument (or CLI option) of the wrong type or out of range: names the argument, what
    is allowed and what was found. Catchable as ``ValueError`` or ``TypeError``."""


class UnknownSplitError(UnknownDatasetError, ArgumentError, AttributeError):
    """A split name a dataset does not have (``splits=``, ``ds["val"]``, ``ds.val``): lists its
    splits and suggests close names. Catchable as ``KeyError``, ``ArgumentError`` (a bad
    argument) or ``AttributeError`` (so ``hasattr(ds, "val")`` is False)."""


class WorkerError(ImagesetsError, RuntimeError):
    """A worker process decoding batches died (killed, out of memory, crashed)."""


def require(module: str, extra: str, feature: str) -> object:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra.

    >>> require("json", "none", "tests")  # doctest: +ELLIPSIS
    <module 'json' ...>
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}, which is not installed: "
            f"run `pip install 'imagesets[{extra}]'`"
        ) from exc
