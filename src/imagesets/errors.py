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
    """Base class of every error raised on purpose by imagesets.

    Cause: any failure imagesets detects; the subclasses below say which. A few come straight
    from this class: a malformed ``--option`` (not ``KEY=VALUE``), for one.

    What to do: read the message (what failed, on which input, what was expected and found);
    ``except ImagesetsError`` catches every one of them. ``imagesets -v`` adds the traceback.
    """


class UnknownDatasetError(ImagesetsError, KeyError):
    """A dataset name that is not in the catalog (built-in, your TOML files or ``register()``).

    What to do: use one of the close matches the message suggests, or ``imagesets list``;
    for your own dataset, add a catalog entry or use ``from_folder``.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CatalogError(ImagesetsError, ValueError):
    """A catalog entry that is malformed: names the entry (file) and the field. Also a
    ``register()`` of a name a built-in dataset already uses.

    What to do: fix the named field of the entry (``imagesets hash FILE...`` prints correct
    ``[[files]]`` blocks), or choose another name.
    """


class FetchError(ImagesetsError, OSError):
    """A file could not be fetched from any of its URLs: the message lists each URL tried and
    why it failed (HTTP error, dropped connection, too slow, bad redirect).

    What to do: retry later (a ``.part`` resumes), set ``IMAGESETS_MIRROR`` to a mirror that
    has the file, or download it by hand and run ``imagesets import NAME DIR``.
    """


class VerificationError(FetchError):
    """Downloaded or imported bytes whose size or sha256 differ from the catalog (a changed,
    truncated or wrong file); nothing is put in the cache.

    What to do: fetch the file again from another mirror, or check that the file you import is
    the original one named in the catalog (its size and sha256 are on the dataset's page).
    """


class OfflineError(FetchError):
    """Offline mode is on (``IMAGESETS_OFFLINE=1``) and files are missing from the cache; the
    message lists them.

    What to do: copy the files to this machine and run ``imagesets import NAME DIR``, or unset
    ``IMAGESETS_OFFLINE`` to download them.
    """


class ManualDownloadError(FetchError):
    """The files cannot be downloaded automatically (a login is needed, as for ImageNet).

    What to do: follow the message (where to sign in, which files to fetch), then run
    ``imagesets import NAME DIR`` on the folder holding them.
    """


class CacheError(ImagesetsError, OSError):
    """The cache root is unusable (missing, not writable, full: bytes needed and free are
    named), or a prepared cache is stale, damaged or foreign (a manifest that does not match).

    What to do: set ``IMAGESETS_HOME`` (or ``root=``) to a writable folder with room; for a
    damaged prepared split, run the command the message gives (``imagesets prepare NAME
    --force`` or ``imagesets clean NAME``).
    """


class FormatError(ImagesetsError, ValueError):
    """A file whose bytes do not match its format (a bad header, a wrong length, an
    undecodable member); the message names the file, the offset or member, what was expected
    and what was found.

    What to do: a catalog file passed its checksum, so this is a reader limit: report it. For
    your own files, re-create the file, or remove it (folders skip undecodable images).
    """


class UnsafeArchiveError(FormatError):
    """An archive member that would land outside the target, or is a link or a device; the
    archive is refused and nothing of it is extracted.

    What to do: do not use the archive; get the original from the dataset's mirrors.
    """


class UnsafePickleError(FormatError):
    """A pickle that asks for a global outside the admitted set (the numpy globals the CIFAR
    python edition's real files use); the file is not loaded.

    What to do: do not use the file; get the original archive (its sha256 is in the catalog)
    or use the binary edition.
    """


class MissingDependencyError(ImagesetsError, ImportError):
    """An optional dependency is missing (torch, tensorflow, jax, h5py, ray, pyarrow, ...).

    What to do: install the extra the message names, e.g. ``pip install 'imagesets[torch]'``.
    """


class ArgumentError(ImagesetsError, ValueError, TypeError):
    """An argument (or CLI option) of the wrong type or out of range: names the argument, what
    is allowed and what was found. Catchable as ``ValueError`` or ``TypeError``.

    What to do: pass a value in the range the message gives.
    """


class UnknownSplitError(UnknownDatasetError, ArgumentError, AttributeError):
    """A split name a dataset does not have (``splits=``, ``ds["val"]``, ``ds.val``): lists its
    splits and suggests close names. Catchable as ``KeyError``, ``ArgumentError`` (a bad
    argument) or ``AttributeError`` (so ``hasattr(ds, "val")`` is False).

    What to do: use one of the listed splits (``validation=0.1`` makes a validation split).
    """


class WorkerError(ImagesetsError, RuntimeError):
    """A worker process decoding batches (``executor="processes"``) died: killed, out of memory
    or crashed. The message names the worker, its process id and the signal.

    What to do: look for the kernel's out-of-memory killer (``dmesg``); use a smaller batch or
    fewer ``workers``, or ``executor="threads"``, which shares one process.
    """


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
