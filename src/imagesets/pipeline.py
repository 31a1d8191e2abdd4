"""The orchestrator: every verb of the library and the CLI runs here, in one order.

``api`` and ``cli`` only check arguments and shape results; this module owns the order
catalog entry -> verified files (fetch) -> reader (formats) -> prepared split (store), the
locks, and one :class:`~imagesets.cache.Cache` per call that answers every path question.

* :func:`open_splits` is the whole story of a load: fresh prepared splits are opened as they
  are; for the missing or stale ones, the files of *all* of them are fetched together (so an
  offline or failed fetch names every missing file at once), then each is built under its
  variant's lock. A foreign cache (another dataset, a newer imagesets) is reported with the
  command that rebuilds it.
* :func:`download`, :func:`prepare`, :func:`import_files`, :func:`verify`, :func:`clean`
  and :func:`skipped` are the other verbs.

The warm path (a fresh split) imports neither requests, Pillow, tarfile, zipfile nor any
reader: those are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from . import __version__, store
from .cache import Cache
from .catalog import DatasetSpec, Edition, RemoteFile
from .errors import ArgumentError, CacheError, FetchError
from .manifest import Manifest
from .variant import Variant, expected_sources, is_fresh, local_roles

if TYPE_CHECKING:  # pragma: no cover
    from .dataset_info import CachedFile
    from .importing import ImportResult

__all__ = [
    "bundled_dir",
    "check_splits",
    "clean",
    "download",
    "fetch_edition",
    "file_entry",
    "import_files",
    "open_splits",
    "prepare",
    "skipped",
    "verify",
]


def _log(message: str, *args: object) -> None:
    import logging  # imported on use: a warm load never logs, and logging costs ~10 ms

    logging.getLogger("imagesets").info(message, *args)


def bundled_dir(dataset: str) -> Path:
    """The package folder holding the bundled sample files of ``dataset``."""
    return Path(__file__).parent / "data" / "samples" / dataset


# --------------------------------------------------------------------------- arguments


def check_splits(spec: DatasetSpec, splits: Sequence[str] | str | None) -> list[str]:
    """The stored splits to open for the split names asked for: one name, a list of names,
    or None for every non-optional split. A name may carry a tfds-style slice
    (``"train[:90%]"``, see :mod:`imagesets.subsplits`); its base split (``train``) is what is
    returned, so what gets prepared.

    Raises:
        ArgumentError: ``splits`` is not a string or a list of strings, or a malformed slice.
        UnknownSplitError: a (base) name that is not a split of ``spec``: the splits are
            listed and close names suggested (an :class:`UnknownDatasetError` too).
    """
    if splits is None:
        return [s.name for s in spec.splits if not s.optional]
    names = [splits] if isinstance(splits, str) else splits
    if not isinstance(names, (list, tuple)) or not all(isinstance(s, str) for s in names):
        raise ArgumentError(
            f"splits must be a split name or a list of them (e.g. ['train', 'test']), found "
            f"{splits!r}"
        )
    if any("[" in s or "]" in s for s in names):
        from .subsplits import split_name  # only for slices: the warm path stays light

        names = [split_name(s) for s in names]
    for s in names:
        if s not in spec.split_names:
            from .subsplits import unknown_split

            raise unknown_split(spec.name, s, spec.split_names)
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- locating


class _Located(NamedTuple):
    path: Path
    manifest: Manifest


def _locate(spec: DatasetSpec, split: str, cache: Cache, variant: Variant) -> _Located | None:
    """The prepared split if it is there and fresh, else None (stale ones are logged)."""
    path = cache.split(spec.name, variant.name, split)
    manifest = store.read_manifest(path, rebuild=variant.rebuild_hint(spec))
    if manifest is None:
        return None
    if is_fresh(spec, split, variant, manifest):
        return _Located(path, manifest)
    _log("prepared %s %s at %s is stale; rebuilding", spec.name, split, path)
    return None


def open_splits(
    spec: DatasetSpec,
    splits: Sequence[str],
    cache: Cache,
    variant: Variant,
    *,
    progress: bool = True,
    mode: store.MmapMode = "r",
) -> dict[str, store.StoredSplit]:
    """Every split of ``splits``, prepared first where missing or stale, memory-mapped.

    Raises:
        FetchError: files missing and not fetchable (every missing file named).
        CacheError: a foreign or damaged prepared cache, or a full disk.
        FormatError: the source files do not hold what the catalog says.
    """
    found = {s: _locate(spec, s, cache, variant) for s in splits}
    todo = [s for s, loc in found.items() if loc is None]
    if todo:
        paths = _sources(spec, todo, cache, variant, progress)
        for s in todo:
            found[s] = _prepare_one(spec, s, cache, variant, paths, progress, force=False)
    return {s: store.open_split(loc.path, loc.manifest, mode) for s, loc in found.items() if loc}


def prepare(
    spec: DatasetSpec,
    splits: Sequence[str],
    cache: Cache,
    variant: Variant,
    *,
    force: bool = False,
    progress: bool = True,
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
) -> dict[str, Path]:
    """Prepare ``splits`` (fetching every missing file first, together); ``{split: folder}``.

    ``engine="ray"`` runs the read/decode/pack work of each build as Ray tasks (on the cluster at
    ``address``, else a local Ray; see :mod:`imagesets.ray_engine`); the split written is the
    same, under the same lock and rename.
    """
    todo = list(splits) if force else [s for s in splits if not _locate(spec, s, cache, variant)]
    with _engine(engine if todo else "local", address):
        paths = _sources(spec, todo, cache, variant, progress) if todo else _Sources(None, {})
        return {
            s: _prepare_one(spec, s, cache, variant, paths, progress, force=force).path
            for s in splits
        }


def _engine(engine: str, address: str | None) -> contextlib.AbstractContextManager[None]:
    """Where the per-record work of a build runs: here (threads), or on Ray."""
    if engine == "ray":
        from .ray_engine import ray_engine

        return ray_engine(address)
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- fetching


class _Sources(NamedTuple):
    """The edition chosen for the splits to build, and its files on disk by name."""

    edition: Edition | None
    paths: Mapping[str, Path]


def _sources(
    spec: DatasetSpec, splits: Sequence[str], cache: Cache, variant: Variant, progress: bool
) -> _Sources:
    if variant.sample:
        if spec.sample is None:
            raise CacheError(f"{spec.name} has no bundled sample; load the full data instead")
        folder = bundled_dir(spec.name)
        return _Sources(spec.sample, {f.name: folder / f.name for f in spec.sample.files})
    edition, paths = fetch_edition(spec, splits, cache, progress=progress)
    return _Sources(edition, paths)


def download(
    spec: DatasetSpec, splits: Sequence[str], cache: Cache, *, progress: bool = True
) -> dict[str, Path]:
    """Fetch and verify the original files of ``splits``; ``{file name: path}``."""
    return fetch_edition(spec, splits, cache, progress=progress)[1]


def _present(cache: Cache, spec: DatasetSpec, edition: Edition, split: str) -> bool:
    if edition.local is not None:
        return all(p.exists() for p in local_roles(edition, split).values())
    for f in edition.files_for(split).values():
        path = cache.download(spec.downloads_name, f.name)
        if not (path.is_file() and f.size_ok(path.stat().st_size)):
            return False
    return True


def fetch_edition(
    spec: DatasetSpec, splits: Sequence[str], cache: Cache, *, progress: bool = True
) -> tuple[Edition, dict[str, Path]]:
    """Files of the first edition that covers ``splits``: present in the cache, else fetched.

    Raises:
        FetchError: no edition could be fetched (every edition's error is included).
    """
    editions = [e for e in spec.editions if all(s in e.splits for s in splits)]
    if not editions:
        raise FetchError(f"no edition of {spec.name} holds the splits {list(splits)}")
    for ed in editions:
        if all(_present(cache, spec, ed, s) for s in splits):
            return ed, _paths(spec, ed, splits, cache)
    local = [ed for ed in editions if ed.local is not None]
    if local:
        missing = [str(p) for s in splits for p in local_roles(local[0], s).values()]
        raise FetchError(
            f"{spec.name} is a local image folder and {', '.join(missing)} is no longer there; "
            f"put it back, or register the folder again with `imagesets prepare-folder PATH "
            f"--name {spec.name}`"
        )
    folder = cache.downloads(spec.downloads_name)
    if spec.manual:
        raise _manual_error(spec, folder)
    from . import fetch
    from .config import is_offline

    cache.writable()
    errors: list[str] = []
    for ed in editions:
        files = _files(ed, splits)
        for f in files:
            cache.download(spec.downloads_name, f.name)  # each file name stays inside the cache
        try:
            return ed, fetch.ensure_files(spec.name, files, folder, progress=progress)
        except FetchError as exc:
            if len(editions) == 1 or is_offline():
                raise
            errors.append(f"edition {ed.name}: {exc}")
    raise FetchError(f"no edition of {spec.name} could be fetched:\n" + "\n".join(errors))


def _files(edition: Edition, splits: Sequence[str]) -> list[RemoteFile]:
    return list({f.name: f for s in splits for f in edition.files_for(s).values()}.values())


def _paths(
    spec: DatasetSpec, edition: Edition, splits: Sequence[str], cache: Cache
) -> dict[str, Path]:
    if edition.local is not None:
        return {}
    return {f.name: cache.download(spec.downloads_name, f.name) for f in _files(edition, splits)}


def _manual_error(spec: DatasetSpec, folder: Path) -> FetchError:
    from .errors import ManualDownloadError

    rows = "\n".join(
        f"  - {f.describe()}" + (f", md5 {f.md5}" if f.md5 and f.sha256 else "")
        for f in spec.all_files()
    )
    return ManualDownloadError(
        f"{spec.name} cannot be downloaded automatically: {spec.manual}\nfiles:\n{rows}\n"
        f"then run `imagesets import {spec.name} DIR` (they are verified and kept in {folder})"
    )


# --------------------------------------------------------------------------- building


def _prepare_one(
    spec: DatasetSpec,
    split: str,
    cache: Cache,
    variant: Variant,
    sources: _Sources,
    progress: bool,
    *,
    force: bool,
) -> _Located:
    """Build one split under its variant's lock, unless a fresh one is there (another process
    may have built it while we waited for the lock)."""
    cache.writable()
    variant_dir = cache.variant(spec.name, variant.name)
    with cache.variant_lock(spec.name, variant.name):
        store.remove_leftovers(variant_dir)
        found = None if force else _locate(spec, split, cache, variant)
        if found is not None:
            return found
        if sources.edition is None:  # forced or gone stale since: fetch what this split needs
            sources = _sources(spec, [split], cache, variant, progress)
        return _build(spec, split, cache, variant, sources, progress)


def _build(
    spec: DatasetSpec,
    split: str,
    cache: Cache,
    variant: Variant,
    sources: _Sources,
    progress: bool,
) -> _Located:
    from .build import check_output, hierarchy, progress_bar
    from .formats import ReadRequest, get_reader

    edition = sources.edition
    assert edition is not None
    if edition.local is not None:
        roles = local_roles(edition, split)
    else:
        roles = {role: sources.paths[f.name] for role, f in edition.files_for(split).items()}
    target = cache.split(spec.name, variant.name, split)
    options = {**edition.options, **dict(variant.options)}
    started = time.perf_counter()
    with store.SplitBuilder(target) as builder, progress_bar(spec, split, progress) as tick:
        count = edition.counts.get(split, spec.split(split).count)
        request = ReadRequest(spec.name, split, roles, options, count, tick)
        result = get_reader(edition.format)(request, builder.writer)
        check_output(spec, split, edition, builder.writer.arrays, result, dict(variant.options))
        extras = {**result.manifest(), **hierarchy(spec, split, builder.writer.arrays)}
        manifest = builder.commit(_manifest(spec, split, variant, edition, extras))
    _log("prepared %s %s in %.2f s", spec.name, split, time.perf_counter() - started)
    return _Located(target, manifest)


def _manifest(
    spec: DatasetSpec, split: str, variant: Variant, edition: Edition, extras: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "dataset": spec.name,
        "split": split,
        "variant": variant.name,
        "options": dict(variant.options),
        "edition": edition.name,
        "format": edition.format,
        "sources": expected_sources(edition, split),
        "classes": list(extras.get("classes", spec.classes)),
        "imagesets_version": __version__,
        **{k: v for k, v in extras.items() if k != "classes"},
    }


# --------------------------------------------------------------------------- other verbs


def import_files(
    spec: DatasetSpec, paths: Sequence[Path], cache: Cache, *, progress: bool, link: bool
) -> ImportResult:
    """Verify user-supplied files and copy (or link) the matching ones into the cache.

    Raises:
        VerificationError: a file named like a catalog file has other bytes.
        FetchError: nothing given matched any file of the dataset.
    """
    from . import importing

    cache.writable()
    for f in spec.all_files():
        cache.download(spec.downloads_name, f.name)
    folder = cache.downloads(spec.downloads_name)
    result = importing.import_files(
        spec.name, spec.all_files(), list(paths), folder, progress=progress, link=link
    )
    if not result.imported and not result.already:
        raise FetchError(
            f"import into {spec.name}: none of the {len(result.unmatched)} file(s) given matches "
            f"a file of {spec.name} by size and sha256; `imagesets info {spec.name}` lists them"
        )
    return result


def verify(spec: DatasetSpec, cache: Cache, *, progress: bool = True) -> list[CachedFile]:
    """Re-hash every cached original of ``spec`` against the catalog, and every prepared
    array and blob against the sha256 its manifest records (nothing is changed)."""
    from . import fetch
    from .dataset_info import CachedFile

    rows = []
    for f in spec.all_files():
        path = cache.download(spec.downloads_name, f.name)
        if not path.is_file():
            rows.append(CachedFile(f.name, path, "missing"))
            continue
        size = path.stat().st_size
        ok = f.size_ok(size)
        found = fetch.hash_file(path, [f.algorithm], progress=progress)[f.algorithm] if ok else ""
        if found == f.digest:
            rows.append(CachedFile(f.name, path, "ok"))
            continue
        why = f"{f.algorithm} expected {f.digest}, found {found}" if found else ""
        rows.append(CachedFile(f.name, path, "corrupt", why or f"size {size} != {f.size}"))
    return rows + _verify_prepared(spec, cache)


def _verify_prepared(spec: DatasetSpec, cache: Cache) -> list[CachedFile]:
    from .dataset_info import CachedFile

    rows = []
    for variant in cache.variants(spec.name):
        for split in spec.split_names:
            path = cache.split(spec.name, variant, split)
            name = f"prepared/{variant}/{split}"
            try:
                manifest = store.read_manifest(path)
            except CacheError as exc:
                rows.append(CachedFile(name, path, "corrupt", str(exc)))
                continue
            if manifest is not None:
                bad = store.verify_split(path, manifest)
                status: Literal["ok", "corrupt"] = "corrupt" if bad else "ok"
                rows.append(CachedFile(name, path, status, "; ".join(bad)))
    return rows


def clean(cache: Cache, spec: DatasetSpec | None, *, downloads: bool = False) -> list[Path]:
    """Remove prepared variants of ``spec`` (of every dataset when None), and its originals
    when ``downloads``. Each variant is removed under the lock its preparers take; a folder
    that is already gone (never prepared, or a concurrent ``clean``) is no error.

    Returns the folders removed.
    """
    import shutil

    names = [spec.name] if spec is not None else cache.prepared_datasets()
    removed = []
    if downloads and spec is None:  # every dataset: originals of those never prepared too
        for ds in cache.downloaded_datasets():
            folder = cache.downloads(ds)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        downloads = False
    for ds in names:
        for variant in cache.variants(ds):
            folder = cache.variant(ds, variant)
            with cache.variant_lock(ds, variant):
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
        if downloads:
            folder = cache.downloads(spec.downloads_name if spec is not None else ds)  # shared
            # by every entry of the same files (EMNIST): they fetch them again when needed
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def file_entry(path: Path, *, progress: bool = True) -> dict[str, Any]:
    """``{"name", "size", "sha256", "md5"}`` of a local file, read once (``imagesets hash``).

    Raises:
        ArgumentError: ``path`` is not a file.
    """
    from .fetch import hash_file

    if not path.is_file():
        raise ArgumentError(f"hash: {path} is not a file; give the path of a downloaded file")
    found = hash_file(path, ["sha256", "md5"], progress=progress)
    return {"name": path.name, "size": path.stat().st_size, **found}


def skipped(spec: DatasetSpec, cache: Cache) -> list[tuple[str, str, dict[str, str]]]:
    """``(variant, split, {"path", "reason"})`` for every file a prepared variant skipped.

    Raises:
        CacheError: nothing of ``spec`` is prepared yet (the message says how to prepare it).
    """
    rows: list[tuple[str, str, dict[str, str]]] = []
    seen = 0
    for variant in cache.variants(spec.name):
        for split in spec.split_names:
            manifest = store.read_manifest(cache.split(spec.name, variant, split))
            if manifest is not None:
                seen += 1
                rows.extend((variant, split, row) for row in manifest.skipped)
    if not seen:
        raise CacheError(f"{spec.name} is not prepared yet; run `imagesets prepare {spec.name}`")
    return rows
