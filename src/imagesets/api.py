"""The public functions: ``load``, ``load_data`` (keras's contract) and the cache verbs.

Each function checks its arguments, makes one :class:`~imagesets.cache.Cache`, hands the work
to the orchestrator (:mod:`imagesets.pipeline`) and shapes the result; nothing here fetches,
locks or builds a path. The orchestrator (and numpy with it) is imported by the verbs that
need it, so ``list``, ``info`` and ``path`` stay light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import catalog
from .api_splits import _current, _settled, _sliced, _split, _split_rule
from .cache import Cache
from .catalog import DatasetSpec, RemoteFile
from .errors import ArgumentError, CatalogError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .dataset import Dataset
    from .dataset_info import CachedFile, DatasetInfo
    from .importing import ImportResult

__all__ = [
    "catalog_problems",
    "clean",
    "download",
    "export",
    "file_entry",
    "files",
    "import_files",
    "info",
    "list_datasets",
    "load",
    "load_data",
    "paths",
    "prepare",
    "skipped",
    "verify",
]

PathLike = str | os.PathLike[str]
Arrays = tuple[tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]"], ...]


def _resolve(name: str, root: PathLike | None) -> tuple[DatasetSpec, Cache]:
    """The catalog entry of ``name`` and the cache, each resolved once for the call."""
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise ArgumentError(f"root must be a folder path, found {type(root).__name__} {root!r}")
    cache = Cache.at(root)
    return catalog.get(name, cache.root), cache


def _info(
    spec: DatasetSpec, *, edition: str = "", sample: bool = False, path: Path | None = None
) -> DatasetInfo:
    from .dataset_info import DatasetInfo

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


def load(
    name: str,
    splits: Sequence[str] | str | None = None,
    *,
    sample: bool = False,
    normalize: bool = False,
    root: PathLike | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
    validation: int | float | None = None,
    split_fractions: Mapping[str, int | float] | None = None,
    seed: int = 0,
    rebuild: bool = True,
) -> Dataset:
    """Load a dataset: download, verify and prepare it on first use, then memory-map it.

    Args:
        name: a catalog name or alias (``"mnist"``, ``"fashion_mnist"``); case-insensitive.
        splits: one split name or a list of them (default: every non-optional split, e.g.
            train and test). A name may carry a tfds-style slice: ``"train[:90%]"``,
            ``"train[90%:]"``, ``"train[:1000]"``, ``"test[-100:]"`` (int or int-percent
            bounds; a percent bound of N images is ``floor(p * N / 100 + 1/2)``; see
            :mod:`imagesets.subsplits`). The split is loaded under the name as written.
        sample: the small bundled sample (1,000 train + 1,000 test; no network at all).
        normalize: images as float32 in [0, 1] instead of uint8 in 0..255.
        root: cache root (default ``$IMAGESETS_HOME`` or the user cache dir).
        progress: progress bars on stderr (only when it is a terminal).
        options: reader options that change the prepared arrays, each variant cached apart
            (``{"raw_labels": True}`` for SVHN, ``{"size": 64}`` for image folders; a folder
            dataset defaults to the form it was prepared as).
        validation: carve a ``validation`` split out of ``train``: a fraction in (0, 1) or a
            number of images, stratified by label and seeded; ``train`` keeps the rest
            (``load("cifar10", validation=0.1)`` gives train 45,000, validation 5,000, test).
        split_fractions: divide the one split loaded (a folder tree's ``all``, or the one
            named by ``splits=``) into named parts, each a fraction or a number of images,
            e.g. ``{"train": 0.8, "validation": 0.1, "test": 0.1}`` (stratified, seeded;
            rows left over when they sum below 1 are left out).
        seed: the seed of ``validation`` and ``split_fractions`` (a non-negative int); the
            same seed gives the same rows on any machine and numpy version.
        rebuild: for a folder dataset whose folder changed since it was prepared, ``False``
            raises a CacheError naming the changes instead of rebuilding.

    Slices and parts are index views over the same memory maps (no image copied), and each
    records how it was made in ``split.manifest["subsplit"]`` (parent split, seed,
    fractions, count, sha256 of its row numbers).

    Returns:
        a :class:`Dataset`; ``ds["train"].images`` is uint8 ``(60000, 28, 28)`` for MNIST.

    Raises:
        UnknownDatasetError: no such dataset (suggests close names), or no such split
            (an :class:`~imagesets.errors.UnknownSplitError`, also an ArgumentError).
        ArgumentError: a bad argument (a split that is not a string, an unknown option, a
            malformed slice, fractions over 1, ``validation=0``...).
        FetchError: the files could not be fetched (every missing file and why).
    """
    from . import pipeline as _orchestrator
    from .dataset import Dataset, carve
    from .variant import Variant

    spec, cache = _resolve(name, root)
    _check_bool(normalize=normalize, rebuild=rebuild)
    spec = _current(spec, cache, sample, options, rebuild)
    wanted = _orchestrator.check_splits(spec, splits)
    variant = Variant.of(sample, options, spec)
    opened = _orchestrator.open_splits(spec, wanted, cache, variant, progress=progress)
    spec = _settled(spec, cache, {s: st.manifest for s, st in opened.items()})
    loaded = {s: _split(spec, s, st, normalize) for s, st in opened.items()}
    asked = [splits] if isinstance(splits, str) else list(splits or ())
    if any("[" in s for s in asked):
        loaded = _sliced(loaded, asked)
    rule = _split_rule(spec) if splits is None and validation is None else None
    if split_fractions is None and rule is not None and seed == 0:
        split_fractions, seed = rule  # a folder dataset divided as prepare-folder recorded
    if validation is not None or split_fractions is not None or seed != 0:
        loaded = carve(
            spec.name,
            loaded,
            validation=validation,
            split_fractions=split_fractions,
            seed=seed,
            reserved=spec.split_names,
        )
    first = next(iter(opened.values()), None)
    edition = first.manifest.edition if first else ""
    path = first.path.parent if first else None
    return Dataset(_info(spec, edition=edition, sample=sample, path=path), loaded)


def _check_bool(**flags: object) -> None:
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ArgumentError(f"{key} must be True or False, found {value!r}")


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
    from . import pipeline as _orchestrator
    from .variant import Variant

    spec, cache = _resolve(name, root)
    if label_mode not in ("fine", "coarse"):
        raise ArgumentError(f"label_mode must be 'fine' or 'coarse', found {label_mode!r}")
    key = "labels" if label_mode == "fine" else "coarse_labels"
    spec = _current(spec, cache, sample, options, True)
    wanted = _orchestrator.check_splits(spec, ["train", "test"])
    variant = Variant.of(sample, options, spec)
    opened = _orchestrator.open_splits(spec, wanted, cache, variant, progress=progress, mode="c")
    out = []
    for split in wanted:
        arrays = opened[split].arrays
        _check_keras_arrays(spec.name, split, arrays)
        if key not in arrays:
            raise CatalogError(f"{spec.name} has no {label_mode} labels; use label_mode='fine'")
        y = arrays[key]
        out.append((arrays["images"], y.reshape(-1, 1) if spec.keras_labels == "column" else y))
    return tuple(out)


def _check_keras_arrays(name: str, split: str, arrays: Mapping[str, Any]) -> None:
    """An :class:`ArgumentError` unless the prepared split holds fixed-size ``images``."""
    if "images" in arrays:
        return
    if "boxes" in arrays:
        raise ArgumentError(
            f"{name} {split} holds variable-size images with digit boxes and no class labels, "
            f"which have no keras-style (x, y) arrays; use imagesets.load({name!r}) "
            "(split[i] gives the image and its digits)"
        )
    raise ArgumentError(
        f"{name} {split} is a packed store of variable-size images, which has no keras-style "
        f"array: pass options={{'size': N}} (e.g. options={{'size': 64}}) for fixed-size "
        f"N x N arrays, or use imagesets.load({name!r}) and pass size=N to its feeds"
    )


def download(
    name: str,
    splits: Sequence[str] | str | None = None,
    *,
    root: PathLike | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Fetch and verify the original files of ``splits`` (default: non-optional ones).

    Returns ``{file name: path in the cache}``.
    """
    from . import pipeline as _orchestrator

    spec, cache = _resolve(name, root)
    wanted = _orchestrator.check_splits(spec, splits)
    return _orchestrator.download(spec, wanted, cache, progress=progress)


def prepare(
    name: str,
    splits: Sequence[str] | str | None = None,
    *,
    sample: bool = False,
    force: bool = False,
    root: PathLike | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
) -> dict[str, Path]:
    """Download (if needed) and prepare ``splits`` (one name or a list); ``{split: folder}``.

    Every file still missing is fetched first, together, so a failure names all of them.
    ``engine="ray"`` decodes, resizes and packs the images as Ray tasks (on the cluster at
    ``address``, ``HOST:PORT`` or ``"auto"``, else a local Ray; the ``ray`` extra) and writes
    the same prepared split as the local engine; see :mod:`imagesets.ray_engine` for what it
    assumes of a shared cache root.
    """
    from . import pipeline as _orchestrator
    from .variant import Variant

    spec, cache = _resolve(name, root)
    _check_bool(force=force)
    spec = _current(spec, cache, sample, options, True, building=True)
    wanted = _orchestrator.check_splits(spec, splits)
    variant = Variant.of(sample, options, spec)
    _check_engine(engine, address)
    return _orchestrator.prepare(
        spec, wanted, cache, variant, force=force, progress=progress, engine=engine,
        address=address,
    )  # fmt: skip


prepare_dataset = prepare


def export(
    name: str,
    out: PathLike,
    *,
    format: str,
    splits: Sequence[str] | str | None = None,
    shard_size: int = 10_000,
    sample: bool = False,
    options: Mapping[str, Any] | None = None,
    root: PathLike | None = None,
    progress: bool = True,
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
) -> dict[str, list[Path]]:
    """Export ``splits`` of a dataset (prepared first if needed) under the folder ``out``.

    ``format`` is ``"webdataset"`` (tar shards of ``shard_size`` examples), ``"parquet"``
    (Hugging Face-style Parquet files of ``shard_size`` rows) or ``"folder"`` (a class-folder
    tree :func:`imagesets.from_folder` reads back); see :mod:`imagesets.exports`. With
    ``engine="ray"`` each shard is one Ray task (on the cluster at ``address``, else a local
    Ray), and ``out`` must be a folder every node sees. Returns ``{split: [shards]}``.

    Raises:
        ArgumentError: an unknown format or engine, a bad shard size, a split that cannot be
            exported (digit boxes, no labels).
        MissingDependencyError: the ``export`` (Parquet) or ``ray`` extra is not installed.
    """
    from .exports import check_format, export_split

    fmt = check_format(format)
    _check_engine(engine, address)
    ds = load(name, splits, sample=sample, root=root, progress=progress, options=options)
    written: dict[str, list[Path]] = {}
    for split_name, split in ds.splits.items():
        if engine == "ray":
            from .adapters.ray import export_on_ray

            written[split_name] = export_on_ray(
                split, fmt, out, shard_size=shard_size, address=address, progress=progress
            )
        else:
            written[split_name] = export_split(
                split, fmt, out, shard_size=shard_size, progress=progress
            )
    return written


def _check_engine(engine: object, address: object) -> None:
    if engine not in ("local", "ray"):
        raise ArgumentError(f"engine must be 'local' or 'ray', found {engine!r}")
    if address is not None and (engine != "ray" or not isinstance(address, str)):
        raise ArgumentError(
            f"address: a Ray address (HOST:PORT or 'auto') goes with engine='ray', found "
            f"address={address!r} with engine={engine!r}"
        )


def import_files(
    name: str,
    paths: Sequence[PathLike] | PathLike,
    *,
    root: PathLike | None = None,
    progress: bool = True,
    link: bool = False,
) -> ImportResult:
    """Verify user-supplied files (or folders of them) and copy the matching ones into the cache.

    ``paths`` is a file or folder, or a list of them. Each file is read once (hashed while
    copied); ``link=True`` hard-links instead of copying when the cache is on the same
    filesystem.

    Raises:
        VerificationError: a file named like a catalog file has other bytes.
        FetchError: nothing given matched any file of the dataset.
    """
    from . import pipeline as _orchestrator

    spec, cache = _resolve(name, root)
    items = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(p, (str, os.PathLike)) for p in items
    ):
        raise ArgumentError(
            f"import_files: paths must be a file or folder path or a list of them, found {paths!r}"
        )
    return _orchestrator.import_files(
        spec, [Path(p) for p in items], cache, progress=progress, link=link
    )


def info(name: str, *, root: PathLike | None = None) -> DatasetInfo:
    """The catalog facts of ``name`` (no download)."""
    return _info(_resolve(name, root)[0])


def files(name: str, *, root: PathLike | None = None) -> tuple[RemoteFile, ...]:
    """Every original file of ``name``: name, size, sha256, md5, URLs."""
    return _resolve(name, root)[0].all_files()


def list_datasets(*, root: PathLike | None = None) -> list[DatasetSpec]:
    """Every catalog entry, built-in first (a broken user entry file is skipped and logged)."""
    return catalog.all_specs(Cache.at(root).root)


def catalog_problems(*, root: PathLike | None = None) -> list[str]:
    """One message per user catalog file that could not be read (it is skipped, and why)."""
    return catalog.problems(Cache.at(root).root)


def verify(name: str, *, root: PathLike | None = None, progress: bool = True) -> list[CachedFile]:
    """Re-hash every cached original of ``name`` against the catalog and every prepared array
    against its manifest (nothing is changed); one :class:`CachedFile` each."""
    from . import pipeline as _orchestrator

    spec, cache = _resolve(name, root)
    return _orchestrator.verify(spec, cache, progress=progress)


def clean(
    name: str | None = None, *, downloads: bool = False, root: PathLike | None = None
) -> list[Path]:
    """Remove prepared arrays of ``name`` (or of every dataset), and originals if ``downloads``.

    Returns the folders removed (none for a dataset never prepared). Each prepared variant is
    removed while holding the lock its preparers take, so a concurrent preparer never sees a
    half-removed split.
    """
    from . import pipeline as _orchestrator

    cache = Cache.at(root)
    spec = catalog.get(name, cache.root) if name is not None else None
    return _orchestrator.clean(cache, spec, downloads=downloads)


def paths(name: str, *, root: PathLike | None = None) -> dict[str, Path]:
    """Where ``name`` lives: ``{"downloads": folder, "prepared": folder}`` (nothing created)."""
    spec, cache = _resolve(name, root)
    return {
        "downloads": cache.downloads(spec.downloads_name),
        "prepared": cache.prepared(spec.name),
    }


def skipped(name: str, *, root: PathLike | None = None) -> list[tuple[str, str, dict[str, str]]]:
    """``(variant, split, {"path", "reason"})`` for each file a prepared variant skipped.

    Raises:
        CacheError: nothing of ``name`` is prepared yet.
    """
    from . import pipeline as _orchestrator

    spec, cache = _resolve(name, root)
    return _orchestrator.skipped(spec, cache)


def file_entry(path: PathLike, *, progress: bool = True) -> dict[str, Any]:
    """A catalog file entry for ``path``: ``{"name", "size", "sha256", "md5"}`` (one read)."""
    from . import pipeline as _orchestrator

    return _orchestrator.file_entry(Path(path), progress=progress)
