"""The public functions: ``load``, ``load_data`` (keras's contract) and the cache verbs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import catalog, fetch, importing, store
from . import pipeline as _prep
from .catalog import DatasetSpec
from .config import cache_root
from .dataset import Dataset, DatasetInfo, Split
from .errors import CatalogError, FetchError
from .importing import ImportResult

__all__ = [
    "CachedFile",
    "clean",
    "download",
    "import_files",
    "info",
    "list_datasets",
    "load",
    "load_data",
    "prepare",
    "verify",
]

PathLike = str | os.PathLike[str]
Arrays = tuple[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], ...]


def _root(root: PathLike | None) -> Path:
    return cache_root(root, create=False)


def _spec(name: str, root: PathLike | None) -> DatasetSpec:
    return catalog.get(name, _root(root))


def _default_splits(spec: DatasetSpec) -> list[str]:
    return [s.name for s in spec.splits if not s.optional]


def _info(
    spec: DatasetSpec, *, edition: str = "", sample: bool = False, path: Path | None = None
) -> DatasetInfo:
    counts = spec.sample.counts if sample and spec.sample else {}
    return DatasetInfo(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        homepage=spec.homepage,
        license=spec.license,
        citation=spec.citation,
        classes=spec.classes,
        splits={s.name: counts.get(s.name, s.count) for s in spec.splits},
        image_shape=spec.image_shape,
        label_names=dict(spec.label_names),
        edition=edition,
        sample=sample,
        path=path,
    )


def _open(
    spec: DatasetSpec,
    split: str,
    root: PathLike | None,
    sample: bool,
    progress: bool,
    mode: store.MmapMode = "r",
    options: Mapping[str, Any] | None = None,
) -> store.StoredSplit:
    base = Path(root) if root is not None else None
    located = _prep.ensure_split(
        spec, split, root=base, sample=sample, progress=progress, options=options
    )
    return store.open_split(located.path, located.manifest, mode)


def load(
    name: str,
    splits: Sequence[str] | str | None = None,
    *,
    sample: bool = False,
    normalize: bool = False,
    root: PathLike | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> Dataset:
    """Load a dataset: download, verify and prepare it on first use, then memory-map it.

    Args:
        name: a catalog name or alias (``"mnist"``, ``"fashion_mnist"``); case-insensitive.
        splits: which splits (default: every non-optional split, e.g. train and test).
        sample: the small bundled sample (1,000 train + 1,000 test; no network at all).
        normalize: images as float32 in [0, 1] instead of uint8 in 0..255.
        root: cache root (default ``$IMAGESETS_HOME`` or the user cache dir).
        progress: progress bars on stderr (only when it is a terminal).
        options: reader options that change the prepared arrays, each variant cached apart
            (``{"raw_labels": True}`` for SVHN, ``{"size": 64}`` for image folders).

    Returns:
        a :class:`Dataset`; ``ds["train"].images`` is uint8 ``(60000, 28, 28)`` for MNIST.

    Raises:
        UnknownDatasetError: no such dataset (suggests close names).
        FetchError: the files could not be fetched (every URL and why).
    """
    spec = _spec(name, root)
    wanted = [splits] if isinstance(splits, str) else list(splits or _default_splits(spec))
    _fetch_missing(spec, wanted, root, sample, progress, options)
    opened = {s: _open(spec, s, root, sample, progress, "r", options) for s in wanted}
    loaded = {s: _split(spec, s, st, normalize) for s, st in opened.items()}
    first = next(iter(opened.values()), None)
    edition = str(first.manifest.get("edition", "")) if first else ""
    path = first.path.parent if first else None
    return Dataset(_info(spec, edition=edition, sample=sample, path=path), loaded)


def _fetch_missing(
    spec: DatasetSpec,
    wanted: Sequence[str],
    root: PathLike | None,
    sample: bool,
    progress: bool,
    options: Mapping[str, Any] | None,
) -> None:
    """Fetch the files of every split that still has to be prepared, together, so one error
    (offline, or every URL failing) names all that is missing rather than one split's."""
    if sample:
        return
    base = _root(root)
    variant = _prep.Variant.of(sample, options)
    todo = [s for s in wanted if _prep.locate(spec, spec.split(s).name, base, variant) is None]
    if len(todo) > 1:
        _prep.fetch_edition(spec, todo, cache_root(root), progress=progress)


def _split(spec: DatasetSpec, name: str, st: store.StoredSplit, normalize: bool) -> Split:
    classes = tuple(st.manifest.get("classes") or spec.classes)
    names = {k: tuple(v) for k, v in spec.label_names.items()}
    names.update({k: tuple(st.manifest[k]) for k in ("superclasses",) if k in st.manifest})
    return Split(name, dict(st.arrays), classes, normalize, st.manifest, names, dict(st.blobs))


def load_data(
    name: str = "mnist",
    *,
    label_mode: Literal["fine", "coarse"] = "fine",
    sample: bool = False,
    root: PathLike | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> Arrays:
    """Keras's ``load_data()``: ``(x_train, y_train), (x_test, y_test)``, same shapes and dtypes.

    MNIST / Fashion-MNIST: ``x`` uint8 ``(60000, 28, 28)`` and ``(10000, 28, 28)``, values
    0-255; ``y`` uint8 ``(60000,)`` and ``(10000,)``, values 0-9. CIFAR: ``x`` uint8
    ``(N, 32, 32, 3)`` and ``y`` ``(N, 1)``; ``label_mode="coarse"`` gives CIFAR-100's 20
    superclass labels.

    The arrays are copy-on-write memory maps of the prepared cache: writable like keras's, free
    to open (no copy), and a write never reaches the cache.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data("mnist")  # doctest: +SKIP
        >>> int(y_train[100])  # doctest: +SKIP
        5
    """
    spec = _spec(name, root)
    if label_mode not in ("fine", "coarse"):
        raise CatalogError(f"label_mode must be 'fine' or 'coarse', found {label_mode!r}")
    key = "labels" if label_mode == "fine" else "coarse_labels"
    out = []
    for split in ("train", "test"):
        st = _open(spec, split, root, sample, progress, "c", options)
        if key not in st.arrays:
            raise CatalogError(f"{spec.name} has no {label_mode} labels; use label_mode='fine'")
        y = st.arrays[key]
        out.append((st.arrays["images"], y.reshape(-1, 1) if spec.keras_labels == "column" else y))
    return tuple(out)


def download(
    name: str,
    splits: Sequence[str] | None = None,
    *,
    root: PathLike | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Fetch and verify the original files of ``splits`` (default: non-optional ones).

    Returns ``{file name: path in the cache}``.
    """
    spec = _spec(name, root)
    base = cache_root(root)
    _, paths = _prep.fetch_edition(
        spec, list(splits or _default_splits(spec)), base, progress=progress
    )
    return paths


def prepare_dataset(
    name: str,
    splits: Sequence[str] | None = None,
    *,
    sample: bool = False,
    force: bool = False,
    root: PathLike | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Download (if needed) and prepare ``splits``; ``{split: prepared folder}``."""
    spec = _spec(name, root)
    base = Path(root) if root is not None else None
    return {
        s: _prep.prepare_split(
            spec, s, root=base, sample=sample, progress=progress, force=force, options=options
        ).path
        for s in (splits or _default_splits(spec))
    }


prepare = prepare_dataset


def import_files(
    name: str,
    paths: Sequence[PathLike],
    *,
    root: PathLike | None = None,
    progress: bool = True,
    link: bool = False,
) -> ImportResult:
    """Verify user-supplied files (or folders of them) and copy the matching ones into the cache.

    Each file is read once (hashed while copied); ``link=True`` hard-links instead of copying
    when the cache is on the same filesystem.

    Raises:
        VerificationError: a file named like a catalog file has other bytes.
        FetchError: nothing given matched any file of the dataset.
    """
    spec = _spec(name, root)
    folder = _prep.downloads_dir(cache_root(root), spec.name)
    result = importing.import_files(
        spec.name, spec.all_files(), [Path(p) for p in paths], folder, progress=progress, link=link
    )
    if not result.imported and not result.already:
        raise FetchError(
            f"import into {spec.name}: none of the {len(result.unmatched)} file(s) given matches "
            f"a file of {spec.name} by size and sha256; `imagesets info {spec.name}` lists them"
        )
    return result


def info(name: str, *, root: PathLike | None = None) -> DatasetInfo:
    """The catalog facts of ``name`` (no download)."""
    return _info(_spec(name, root))


def list_datasets(*, root: PathLike | None = None) -> list[DatasetSpec]:
    """Every catalog entry, built-in first."""
    return catalog.all_specs(_root(root))


@dataclass(frozen=True)
class CachedFile:
    """One file of a dataset in the download cache and what ``verify`` found."""

    name: str
    path: Path
    status: Literal["ok", "missing", "corrupt"]
    detail: str = ""


def verify(name: str, *, root: PathLike | None = None, progress: bool = True) -> list[CachedFile]:
    """Re-hash every cached original file of ``name`` against the catalog (nothing is changed)."""
    spec = _spec(name, root)
    folder = _prep.downloads_dir(_root(root), spec.name)
    rows = []
    for f in spec.all_files():
        path = folder / f.name
        if not path.is_file():
            rows.append(CachedFile(f.name, path, "missing"))
            continue
        size = path.stat().st_size
        found = (
            fetch.hash_file(path, [f.algorithm], progress=progress)[f.algorithm]
            if f.size_ok(size)
            else ""
        )
        if found == f.digest:
            rows.append(CachedFile(f.name, path, "ok"))
        else:
            why = (
                f"{f.algorithm} expected {f.digest}, found {found}"
                if found
                else f"size {size} != {f.size}"
            )
            rows.append(CachedFile(f.name, path, "corrupt", why))
    return rows


def clean(
    name: str | None = None, *, downloads: bool = False, root: PathLike | None = None
) -> list[Path]:
    """Remove prepared arrays of ``name`` (or of every dataset), and originals if ``downloads``.

    Returns the folders removed. Each prepared variant is removed while holding the lock its
    preparers take, so a concurrent preparer never sees a half-removed split.
    """
    base = _root(root)
    names = [_spec(name, root).name] if name else sorted(_children(base / "prepared"))
    removed = []
    for ds in names:
        prepared = base / "prepared" / ds
        for variant in _children(prepared):
            with _prep.variant_lock(prepared / variant):
                shutil.rmtree(prepared / variant)
            removed.append(prepared / variant)
        if downloads and (base / "downloads" / ds).is_dir():
            shutil.rmtree(base / "downloads" / ds)
            removed.append(base / "downloads" / ds)
    return removed


def _children(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
