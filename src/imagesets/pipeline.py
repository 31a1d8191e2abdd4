"""The only orchestrator: catalog entry -> verified files -> reader -> prepared split.

``ensure_split`` is the whole story of a load: a fresh prepared split is opened as it is; a
missing or stale one is (re)built under a per-dataset lock from the first edition whose files
are in the cache or can be fetched; a foreign one (written by another dataset or a newer
imagesets) is reported with the command that rebuilds it.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from . import __version__, fetch, store
from .catalog import DatasetSpec, Edition
from .config import cache_root, is_offline
from .errors import CacheError, CatalogError, FetchError, FormatError
from .formats import ReadRequest, get_reader

__all__ = [
    "SAMPLE",
    "Located",
    "Variant",
    "downloads_dir",
    "ensure_split",
    "fetch_edition",
    "prepare_split",
]

log = logging.getLogger("imagesets")

DEFAULT = "default"
SAMPLE = "sample"


def downloads_dir(root: Path, dataset: str) -> Path:
    """``<root>/downloads/<dataset>``: verified original files (per dataset: names collide)."""
    return root / "downloads" / dataset


def bundled_dir(dataset: str) -> Path:
    """The package folder holding the bundled sample files of ``dataset``."""
    return Path(str(resources.files("imagesets") / "data" / "samples" / dataset))


@dataclass(frozen=True)
class Located:
    """A prepared split ready to open: its folder and its manifest."""

    path: Path
    manifest: Mapping[str, Any]


# --------------------------------------------------------------------------- freshness


def _expected_sources(edition: Edition, split: str) -> dict[str, dict[str, Any]]:
    if edition.local is not None:
        return {role: {"path": str(p)} for role, p in _local_roles(edition, split).items()}
    return {
        role: {"name": f.name, "sha256": f.sha256, "size": f.size}
        for role, f in edition.files_for(split).items()
    }


@dataclass(frozen=True)
class Variant:
    """Which prepared form of a dataset: the bundled sample or the full data, and reader
    options that change the output (``raw_labels=True``, ``size=64``...). Each variant has its
    own folder, ``prepared/<dataset>/<variant.name>/``.
    """

    sample: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, sample: bool = False, options: Mapping[str, Any] | None = None) -> Variant:
        """A variant, checking that option values are plain scalars (they name a folder)."""
        items = tuple(sorted((options or {}).items()))
        for key, value in items:
            if not isinstance(value, (bool, int, str)) or not re.fullmatch(r"[A-Za-z0-9_]+", key):
                raise CatalogError(
                    f"reader option {key}={value!r}: expected a name of letters, digits and _ "
                    "with a bool, int or str value"
                )
        return cls(sample, items)

    @property
    def name(self) -> str:
        """``default``, ``sample``, or e.g. ``default-raw_labels=True``."""
        base = SAMPLE if self.sample else DEFAULT
        tail = "".join(f"-{k}={_slug(v)}" for k, v in self.options)
        return base + tail

    @property
    def flags(self) -> str:
        """The CLI flags that select this variant."""
        return (" --sample" if self.sample else "") + "".join(
            f" --option {k}={v}" for k, v in self.options
        )


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", str(value))


def _edition_named(spec: DatasetSpec, variant: Variant, name: str) -> Edition | None:
    if variant.sample:
        return spec.sample
    return next((e for e in spec.editions if e.name == name), None)


def _rebuild_hint(spec: DatasetSpec, variant: Variant) -> str:
    flag = variant.flags
    return f"`imagesets clean {spec.name} && imagesets prepare {spec.name}{flag}`"


def is_fresh(spec: DatasetSpec, split: str, variant: Variant, manifest: Mapping[str, Any]) -> bool:
    """True when ``manifest`` describes this split as the current catalog and code make it.

    Raises:
        CacheError: the folder holds another dataset, or was written by a newer imagesets.
    """
    version = manifest.get("format_version")
    if manifest.get("dataset") != spec.name or manifest.get("split") != split:
        raise CacheError(
            f"prepared cache for {spec.name} {split} holds {manifest.get('dataset')!r} "
            f"{manifest.get('split')!r} instead (a foreign cache); rebuild it with "
            f"{_rebuild_hint(spec, variant)}"
        )
    if not isinstance(version, int) or version > store.FORMAT_VERSION:
        raise CacheError(
            f"prepared cache for {spec.name} {split} has format version {version!r}, this "
            f"imagesets reads {store.FORMAT_VERSION}; upgrade imagesets or rebuild with "
            f"{_rebuild_hint(spec, variant)}"
        )
    edition = _edition_named(spec, variant, str(manifest.get("edition")))
    return (
        version == store.FORMAT_VERSION
        and edition is not None
        and split in edition.splits
        and manifest.get("sources") == _expected_sources(edition, split)
        and manifest.get("options", {}) == dict(variant.options)
    )


def locate(spec: DatasetSpec, split: str, root: Path, variant: Variant) -> Located | None:
    """The prepared split if it is there and fresh, else None (stale ones are logged)."""
    path = store.split_dir(root, spec.name, variant.name, split)
    manifest = store.read_manifest(path)
    if manifest is None:
        return None
    if is_fresh(spec, split, variant, manifest):
        return Located(path, manifest)
    log.info("prepared %s %s at %s is stale; rebuilding", spec.name, split, path)
    return None


# --------------------------------------------------------------------------- editions


def _local_roles(edition: Edition, split: str) -> dict[str, Path]:
    """A local edition's ``{role: folder}`` for one split (paths relative to ``local``)."""
    base = Path(edition.local or ".")
    return {role: base / rel for role, rel in edition.splits[split].items()}


def _present(folder: Path, edition: Edition, split: str) -> bool:
    if edition.local is not None:
        return all(p.exists() for p in _local_roles(edition, split).values())
    return all(
        (folder / f.name).is_file() and f.size_ok((folder / f.name).stat().st_size)
        for f in edition.files_for(split).values()
    )


def fetch_edition(
    spec: DatasetSpec, splits: Sequence[str], root: Path, *, progress: bool = True
) -> tuple[Edition, dict[str, Path]]:
    """Files of the first edition that covers ``splits``: present in the cache, else fetched.

    Returns the edition and ``{file name: local path}``.

    Raises:
        FetchError: no edition could be fetched (every edition's error is included).
    """
    folder = downloads_dir(root, spec.name)
    editions = [e for e in spec.editions if all(s in e.splits for s in splits)]
    if not editions:
        raise FetchError(f"no edition of {spec.name} holds the splits {list(splits)}")
    for ed in editions:
        if all(_present(folder, ed, s) for s in splits):
            if ed.local is not None:
                return ed, {}
            return ed, {f.name: folder / f.name for s in splits for f in ed.files_for(s).values()}
    local = [ed for ed in editions if ed.local is not None]
    if local:
        missing = [str(p) for s in splits for p in _local_roles(local[0], s).values()]
        raise FetchError(
            f"{spec.name} is a local image folder and {', '.join(missing)} is no longer there; "
            f"put it back, or register the folder again with `imagesets prepare-folder PATH "
            f"--name {spec.name}`"
        )
    if spec.manual:
        raise _manual_error(spec, folder)
    errors: list[str] = []
    for ed in editions:
        files = list({f.name: f for s in splits for f in ed.files_for(s).values()}.values())
        try:
            return ed, fetch.ensure_files(spec.name, files, folder, progress=progress)
        except FetchError as exc:
            if len(editions) == 1 or is_offline():
                raise
            errors.append(f"edition {ed.name}: {exc}")
    raise FetchError(f"no edition of {spec.name} could be fetched:\n" + "\n".join(errors))


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


def ensure_split(
    spec: DatasetSpec,
    split: str,
    *,
    root: Path | None = None,
    sample: bool = False,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> Located:
    """The prepared split, building it first if it is missing or stale."""
    spec.split(split)  # unknown split -> clear error
    base = cache_root(root, create=False)
    found = locate(spec, split, base, Variant.of(sample, options))
    return found or prepare_split(
        spec, split, root=root, sample=sample, progress=progress, options=options
    )


def prepare_split(
    spec: DatasetSpec,
    split: str,
    *,
    root: Path | None = None,
    sample: bool = False,
    progress: bool = True,
    force: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Located:
    """Build one split into the store (under the dataset's lock), unless a fresh one exists."""
    base = cache_root(root)
    variant = Variant.of(sample, options)
    variant_dir = store.split_dir(base, spec.name, variant.name, split).parent
    variant_dir.mkdir(parents=True, exist_ok=True)
    with variant_lock(variant_dir):
        store.remove_leftovers(variant_dir)
        found = None if force else locate(spec, split, base, variant)
        return found or _build(spec, split, base, variant, progress)


def variant_lock(variant_dir: Path) -> AbstractContextManager[Any]:
    return FileLock(str(variant_dir.parent / f".{variant_dir.name}.lock"))


def _sources(
    spec: DatasetSpec, split: str, root: Path, variant: Variant, progress: bool
) -> tuple[Edition, dict[str, Path]]:
    if variant.sample:
        if spec.sample is None:
            raise CacheError(f"{spec.name} has no bundled sample; load the full data instead")
        folder = bundled_dir(spec.name)
        return spec.sample, {f.name: folder / f.name for f in spec.sample.files}
    return fetch_edition(spec, [split], root, progress=progress)


def _build(spec: DatasetSpec, split: str, root: Path, variant: Variant, progress: bool) -> Located:
    edition, paths = _sources(spec, split, root, variant, progress)
    if edition.local is not None:
        roles = _local_roles(edition, split)
    else:
        roles = {role: paths[f.name] for role, f in edition.files_for(split).items()}
    target = store.split_dir(root, spec.name, variant.name, split)
    options = {**edition.options, **dict(variant.options)}
    started = time.perf_counter()
    with store.SplitBuilder(target) as builder, _progress(spec, split, progress) as tick:
        count = edition.counts.get(split, spec.split(split).count)
        request = ReadRequest(spec.name, split, roles, options, count, tick)
        extras = get_reader(edition.format)(request, builder.writer)
        _check_output(spec, split, edition, builder.writer.arrays, extras, bool(variant.options))
        extras = {**extras, **_hierarchy(spec, split, builder.writer.arrays)}
        manifest = _manifest(spec, split, variant, edition, extras)
        located = Located(target, builder.commit(manifest))
    log.info("prepared %s %s in %.2f s", spec.name, split, time.perf_counter() - started)
    return located


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
        "sources": _expected_sources(edition, split),
        "classes": list(extras.get("classes", spec.classes)),
        "imagesets_version": __version__,
        **{k: v for k, v in extras.items() if k != "classes"},
    }


def _check_output(
    spec: DatasetSpec,
    split: str,
    edition: Edition,
    arrays: Mapping[str, np.ndarray[Any, Any]],
    extras: Mapping[str, Any],
    has_options: bool = False,
) -> None:
    """Counts, image shape and label range against the catalog, before anything is visible.

    The count expected is the catalog's less the files the reader reports as skipped. Reader
    options may change the count (a 90/10 split of Cats & Dogs instead of 80/20): for such a
    variant the reader's own ``count`` is what every array must hold.
    """
    expected = edition.counts.get(split, spec.split(split).count) - len(extras.get("skipped", ()))
    if has_options and "count" in extras:
        expected = int(extras["count"])
    where = f"{spec.name} {split} (edition {edition.name})"
    for name, arr in arrays.items():
        if (name == "images" or name.endswith("labels")) and arr.shape[0] != expected:
            raise FormatError(f"{where}: {name} holds {arr.shape[0]} items, expected {expected}")
    images = arrays.get("images")
    if images is not None and spec.image_shape and images.shape[1:] != spec.image_shape:
        raise FormatError(
            f"{where}: one image has shape {images.shape[1:]}, expected {spec.image_shape}"
        )
    labels = arrays.get("labels")
    indices = extras.get("labels_are_class_indices", True)
    if labels is not None and spec.classes and len(labels) and indices:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= len(spec.classes):
            raise FormatError(
                f"{where}: labels range over {low}..{high}, expected 0..{len(spec.classes) - 1}"
            )


def _hierarchy(
    spec: DatasetSpec, split: str, arrays: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, Any]:
    """``fine_to_coarse``, derived from the label arrays (never typed in), when both exist.

    Raises:
        FormatError: a fine class that appears under two coarse classes.
    """
    fine, coarse = arrays.get("labels"), arrays.get("coarse_labels")
    if fine is None or coarse is None or not len(fine):
        return {}
    pairs = np.unique(np.stack([np.asarray(fine), np.asarray(coarse)], axis=1), axis=0)
    counts = np.bincount(pairs[:, 0])
    if counts.max() > 1:
        bad = int(np.argmax(counts > 1))
        found = pairs[pairs[:, 0] == bad][:, 1].tolist()
        raise FormatError(
            f"{spec.name} {split}: fine class {bad} appears under coarse classes {found}; "
            "expected exactly one"
        )
    mapping = np.full(int(pairs[:, 0].max()) + 1, -1, dtype=np.int64)
    mapping[pairs[:, 0]] = pairs[:, 1]
    return {"fine_to_coarse": mapping.tolist()}


class _progress:
    """A tqdm bar on stderr (only on a terminal), exposed as a ``tick(n)`` callable."""

    def __init__(self, spec: DatasetSpec, split: str, show: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=None,
            desc=f"prepare {spec.name} {split}",
            unit="img",
            file=sys.stderr,
            leave=False,
            disable=not (show and sys.stderr.isatty()),
        )

    def __enter__(self) -> Callable[[int], None]:
        return self._tick

    def _tick(self, n: int) -> None:
        if n:
            self.bar.update(n)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
