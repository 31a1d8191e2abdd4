"""Any class-per-folder tree as a dataset: ``imagesets.from_folder(path)``.

The tree is scanned once (:func:`imagesets.formats.image_tree.scan_tree`), described as a
catalog entry with a *local* edition (the folder itself; nothing to download), registered, and
loaded like any other dataset, so the prepared arrays, the manifest with skipped files, the
CLI and the training feeds all work the same. ``persist=True`` (what ``imagesets
prepare-folder`` does) also writes the entry to ``<root>/catalog/<name>.toml`` so later
processes know the name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import catalog
from .api import load
from .cache import Cache, check_name
from .catalog import DatasetSpec
from .errors import ArgumentError, CacheError, FormatError, ImagesetsError
from .folder_file import entry_of, write_entry
from .formats.image_tree import TreeScan, scan_tree, split_folders
from .listing import Change, diff, parse_rows, take
from .variant import Variant, local_edition, local_roles

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Dataset
    from .manifest import Manifest

__all__ = ["folder_entry", "from_folder", "refresh", "settle"]

#: A default name that is a built-in's gets this suffix: ``data/imagenet`` -> ``imagenet-folder``.
SUFFIX = "-folder"


def _is_builtin(name: str) -> bool:
    try:
        return catalog.get(name).source.startswith("builtin")
    except ImagesetsError:
        return False


def _name_for(path: Path) -> str:
    """The default name of the folder ``path``: its name as a slug, suffixed with ``-folder``
    when that is a built-in dataset's name or alias (``imagenet`` -> ``imagenet-folder``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-") or "folder"
    return slug + SUFFIX if _is_builtin(slug) else slug


def _check_root(path: Path) -> Path:
    root = path.expanduser().resolve()
    if root.is_file():
        raise ArgumentError(
            f"from_folder: {path} is a file; expected a folder of class folders "
            "(photos/cat/1.jpg, photos/dog/2.jpg)"
        )
    if not root.is_dir():
        raise ArgumentError(f"from_folder: no folder {path} (resolved to {root}); check the path")
    return root


def _check_images(root: Path, tree: TreeScan) -> None:
    """A FormatError for a tree with no image, or whose images are all outside class folders."""
    if any(scan.files for scan in tree.splits.values()):
        return
    loose = sum(s.ignored.get("outside_class_folder", 0) for s in tree.splits.values())
    if loose:
        raise FormatError(
            f"{root}: {loose} image(s) but no class folders: expected one folder per class "
            f"({root.name}/cat/1.jpg, {root.name}/dog/2.jpg); to make the whole folder one "
            f"class named {root.name!r}, pass label_depth=0 (CLI: --label-depth 0)"
        )
    ignored = sum(n for s in tree.splits.values() for n in s.ignored.values())
    raise FormatError(
        f"{root}: no images found ({ignored} other files ignored); expected class folders "
        f"holding images with the suffixes .jpg, .jpeg, .png, .gif, .bmp, .webp, .tif"
    )


def folder_entry(
    path: Path,
    *,
    name: str | None = None,
    label_depth: int | None = None,
    prepared: Mapping[str, Any] | None = None,
    racy_since: Mapping[str, int] | None = None,
    split_rule: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The catalog entry (plain data) of the tree at ``path``: one split per split folder
    (``train``, ``test``, ``val``) or ``all``, counts of candidate images, the class index,
    the variant it is prepared as (``prepared``: reader options) and each split's listing
    (fingerprint, see :mod:`imagesets.listing`; ``racy_since`` per split, as recorded).

    Raises:
        ArgumentError: ``path`` is a file or missing; ``name`` is a built-in's.
        FormatError: no images, or images but no class folders.
    """
    root = _check_root(path)
    if name is not None:
        check_name(name, "dataset name", "from_folder")
        if _is_builtin(name):
            raise ArgumentError(
                f"from_folder: name {name!r} is a built-in dataset; choose another, e.g. "
                f"name={name + SUFFIX!r} (the default for a folder named {name!r})"
            )
    tree = scan_tree(root, label_depth=label_depth, racy_since=racy_since or {})
    _check_images(root, tree)
    options: dict[str, Any] = {"classes": list(tree.classes)}
    if label_depth is not None:
        options["label_depth"] = label_depth
    options["prepared"] = dict(prepared or {})
    if split_rule is not None:
        options["split_rule"] = dict(split_rule)
    options["listings"] = {
        s: scan.listing.record() for s, scan in tree.splits.items() if scan.listing is not None
    }
    rel = {s: os.path.relpath(scan.root, root) for s, scan in tree.splits.items()}
    size = (prepared or {}).get("size")
    return {
        "name": name or _name_for(root),
        "title": f"image folder {root}",
        "description": f"class folders under {root}",
        "classes": list(tree.classes),
        "image_shape": [size, size, 3] if isinstance(size, int) else [],
        "splits": {s: {"count": len(scan.files)} for s, scan in tree.splits.items()},
        "editions": [
            {
                "name": "folder",
                "format": "image-folder",
                "local": str(root),
                "options": options,
                "counts": {s: len(scan.files) for s, scan in tree.splits.items()},
                "splits": {s: {"root": r} for s, r in rel.items()},
            }
        ],
    }


def from_folder(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    size: int | None = None,
    max_side: int | None = None,
    label_depth: int | None = None,
    root: str | os.PathLike[str] | None = None,
    persist: bool = False,
    progress: bool = True,
    force: bool = False,
    rebuild: bool = True,
    split_fractions: Mapping[str, int | float] | None = None,
    seed: int = 0,
) -> Dataset:
    """Prepare and load a class-per-folder image tree, as the folder is now.

    The first call scans the tree and builds the arrays; later calls check the folder's
    fingerprint (file paths, sizes and mtimes; see :mod:`imagesets.listing`) against what was
    built: when files were added, removed or changed (a ``touch`` counts), one warning line on
    the ``imagesets`` logger names the first changes, and the split is rebuilt.

    Args:
        path: the tree; leaf folders are classes at any depth, and each image keeps its label
            path (``animals/domestic/cat``); ``train/``, ``test/`` or ``val/`` at the top
            become splits, otherwise the whole tree is the split ``"all"``. An object-store URL
            (``s3://bucket/photos/``, the ``cloud`` extra) is copied into the cache first
            (:mod:`imagesets.remote_tree`).
        name: the dataset name (default: the folder's name, with ``-folder`` appended when it
            is a built-in's: ``data/imagenet`` is ``imagenet-folder``).
        size: fixed-size arrays, uint8 ``(N, size, size, 3)`` (shorter side resized, then
            centre crop); without it, a packed store of the JPEG bytes decoded on access.
        max_side: for the packed store, re-encode JPEGs with the longer side at most this.
        label_depth: labels cut to this many folder levels (``1`` gives ``animals``); ``0``
            makes every image one class named after the folder (for a flat folder of images).
        persist: also write the entry to ``<root>/catalog/<name>.toml``; it records ``size``,
            ``max_side`` and ``label_depth``, so ``load(name)`` opens this same form.
        force: rebuild even if nothing changed.
        rebuild: ``False`` raises a :class:`~imagesets.errors.CacheError` naming the changes
            instead of rebuilding a changed folder.
        split_fractions: divide a tree without split folders (its one split ``all``) into
            seeded, class-stratified parts, e.g. ``{"train": 0.8, "validation": 0.1,
            "test": 0.1}`` (see :func:`imagesets.load`); recorded in the entry with ``seed``,
            so ``load(name)`` and the CLI give the same parts later.
        seed: the seed of ``split_fractions``.

    Raises:
        ArgumentError: ``size`` and ``max_side`` together, out of range; ``path`` a file or
            missing; ``name`` a built-in's.
        FormatError: no images, or images but no class folders.
        CacheError: the folder changed and ``rebuild=False``.
    """
    if size is not None and max_side is not None:
        raise ArgumentError("from_folder: give size (fixed-size arrays) or max_side (packed)")
    if isinstance(path, str) and "://" in path:  # an object store: copied into the cache first
        from .remote_tree import default_name, is_object_url, local_copy

        if is_object_url(path):
            name = name or _name_for(Path(default_name(path)))
            path = local_copy(path, name, root, progress=progress)
    _check_side("size", size, MAX_SIZE)
    _check_side("max_side", max_side, MAX_SIDE)
    _check_side("label_depth", label_depth, 64, low=0)
    options: dict[str, Any] = {"size": size} if size is not None else {}
    if max_side is not None:
        options["max_side"] = max_side
    cache = Cache.at(root)
    if name is not None:
        check_name(name, "dataset name", "from_folder")
    entry_name = name or _name_for(_check_root(Path(path)))
    variant = Variant.of(False, options)
    built = _prepared(cache, entry_name, variant.name)
    since = {s: int(m["listing"]["racy_since"]) for s, m in built.items() if _listed(m)}
    rule = _split_rule(split_fractions, seed)
    entry = folder_entry(
        Path(path),
        name=name,
        label_depth=label_depth,
        prepared=options,
        racy_since=since,
        split_rule=rule,
    )
    spec = _register(entry, cache if persist else None)  # the load reports what changed
    _log_info("folder %s is the dataset %r", entry["editions"][0]["local"], spec.name)
    if force:
        from .api import prepare

        prepare(spec.name, list(spec.split_names), root=root, options=options, force=True,
                progress=progress)  # fmt: skip
    return load(spec.name, root=root, options=options, progress=progress,
                rebuild=rebuild)  # fmt: skip


def _split_rule(fractions: Mapping[str, int | float] | None, seed: int) -> dict[str, Any] | None:
    """The entry's record of ``split_fractions`` and ``seed`` (None without fractions); a
    malformed one is refused here, before anything is scanned."""
    from .subsplits import check_seed

    check_seed(seed, "from_folder")
    if fractions is None:
        return None
    if not isinstance(fractions, Mapping) or not fractions:
        raise ArgumentError(
            f"from_folder: split_fractions must be a dict of part name -> fraction or count, "
            f"found {fractions!r}"
        )
    for part, size in fractions.items():
        check_name(part, "split name", "from_folder: split_fractions")
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise ArgumentError(
                f"from_folder: split_fractions[{part!r}] must be a fraction or a count, "
                f"found {size!r}"
            )
    return {"fractions": dict(fractions), "seed": seed}


def _listed(manifest: Manifest) -> bool:
    listing = manifest.get("listing")
    return isinstance(listing, Mapping) and isinstance(listing.get("racy_since"), int)


def _prepared(cache: Cache, name: str, variant: str) -> dict[str, Manifest]:
    """The manifests of the prepared splits of the variant folder ``variant`` of ``name``."""
    from . import store

    try:
        splits = sorted(e.name for e in os.scandir(cache.variant(name, variant)))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found = {}
    for split in splits:
        if split.startswith("."):
            continue
        try:
            manifest = store.read_manifest(cache.split(name, variant, split))
        except (CacheError, ImagesetsError):
            continue  # a damaged split: the load reports it and rebuilds
        if manifest is not None:
            found[split] = manifest
    return found


def _changes(entry: Mapping[str, Any], built: Mapping[str, Manifest]) -> dict[str, Change]:
    """Per prepared split, how the folder (as ``entry`` lists it now) differs from what the
    split was built from; a split no longer in the tree is all removed."""
    edition = entry["editions"][0]
    listings, root = edition["options"]["listings"], Path(edition["local"])
    out: dict[str, Change] = {}
    for split, manifest in built.items():
        if listings.get(split) == manifest.get("listing"):
            continue
        old = _old_rows(manifest)
        if split in listings:
            new = parse_rows(take(root / edition["splits"][split]["root"]).rows)
            recent = "a file written just before the build (same size and mtime, other bytes)"
            out[split] = diff(old, new) or Change((), (), (recent,))
        else:
            out[split] = Change((), (f"{split}/",), ())
    return out


def _old_rows(manifest: Manifest) -> dict[str, tuple[int, int]]:
    blob = manifest.blobs.get("listing")
    if blob is None:
        return {}
    try:
        return parse_rows((manifest.path / blob.file).read_bytes())
    except (OSError, ValueError, IndexError):
        return {}


def _report(entry: Mapping[str, Any], built: Mapping[str, Manifest], cache: Cache, *,
            rebuild: bool) -> None:  # fmt: skip
    """One warning line naming the changes (and a rebuild), or with ``rebuild=False`` a
    CacheError naming them."""
    changes = _changes(entry, built)
    if not changes:
        return
    where = entry["editions"][0]["local"]
    what = "; ".join(f"{s}: {c.describe()}" for s, c in changes.items())
    line = f"{entry['name']}: the folder {where} changed since it was prepared ({what})"
    if not rebuild:
        raise CacheError(
            f"{line}; rebuild with rebuild=True (the default), or "
            f"`imagesets prepare-folder {where} --name {entry['name']}`"
        )
    import logging

    logging.getLogger("imagesets").warning("%s; rebuilding", line)


def _register(entry: dict[str, Any], persist_root: Cache | None) -> DatasetSpec:
    catalog.unregister(entry["name"])
    spec = catalog.register(entry)
    if persist_root is not None:
        write_entry(entry, persist_root.writable().root)
    return spec


def _persisted(spec: DatasetSpec, cache: Cache) -> bool:
    """True when ``<root>/catalog/<name>.toml`` exists: it shadows an entry registered in
    this process, so it is rewritten with every change of the entry."""
    try:
        return cache.catalog_entry(spec.name).is_file()
    except ImagesetsError:
        return False


def refresh(
    spec: DatasetSpec,
    cache: Cache,
    options: Mapping[str, Any] | None,
    *,
    rebuild: bool = True,
    building: bool = False,
) -> DatasetSpec:
    """``spec`` (a folder dataset) brought up to date with its folder before a load.

    One walk per split (:func:`imagesets.listing.take`) is compared with what the prepared
    splits were built from. Unchanged: ``spec`` as it is. Changed: one warning line naming
    the changes, then a rescanned entry (registered, and rewritten if it came from
    ``<root>/catalog``), so the load rebuilds. ``options`` other than the prepared form's,
    for a variant never prepared, are an error listing the prepared ones.

    Raises:
        CacheError: the folder changed and ``rebuild=False``.
        ArgumentError: an unprepared variant other than the recorded one.
        FetchError: the folder is gone (raised by the load).
    """
    edition = local_edition(spec)
    assert edition is not None
    variant = Variant.of(False, options, spec)
    built = _prepared(cache, spec.name, variant.name)
    recorded = edition.options.get("prepared")
    other = isinstance(recorded, Mapping) and dict(variant.options) != dict(recorded)
    if other and not built and not building:  # prepare() builds any variant asked
        raise _unprepared(spec, cache, variant, edition.local or "")
    root = Path(edition.local or ".")
    if not root.is_dir():
        return spec  # the load says the folder is gone
    if _unchanged(spec, edition, built, root):
        return settle(spec, cache, built)
    since = {s: int(m["listing"]["racy_since"]) for s, m in built.items() if _listed(m)}
    depth = edition.options.get("label_depth")
    rule = edition.options.get("split_rule")
    entry = folder_entry(
        root,
        name=spec.name,
        label_depth=depth if isinstance(depth, int) else None,
        prepared=recorded if isinstance(recorded, Mapping) else dict(variant.options),
        racy_since=since,
        split_rule=rule if isinstance(rule, Mapping) else None,
    )
    _report(entry, built, cache, rebuild=rebuild)
    return _register(entry, cache if _persisted(spec, cache) else None)


def _unchanged(spec: DatasetSpec, edition: Any, built: Mapping[str, Manifest], root: Path) -> bool:
    """True when every split is prepared, the layout is the same and each split's walk now
    matches the listing its manifest and the entry record (the cheap check: no scan)."""
    layout = split_folders(root)
    names = [n.lower() for n in layout] if layout else ["all"]
    if sorted(names) != sorted(spec.split_names) or set(built) < set(spec.split_names):
        return False
    listings = edition.options.get("listings") or {}
    for split in spec.split_names:
        recorded = built[split].get("listing")
        if not _listed(built[split]) or listings.get(split) != recorded:
            return False
        assert isinstance(recorded, Mapping)
        folder = local_roles(edition, split)["root"]
        if not take(folder, racy_since=recorded["racy_since"]).matches(recorded):
            return False
    return True


def _unprepared(spec: DatasetSpec, cache: Cache, variant: Variant, local: str) -> ArgumentError:
    have = [v for v in cache.variants(spec.name) if _prepared(cache, spec.name, v)]
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in variant.options)
    return ArgumentError(
        f"{spec.name}: the variant {variant.name!r} is not prepared (prepared: "
        f"{', '.join(have) or 'none'}); prepare it with `imagesets prepare-folder {local} "
        f"--name {spec.name} {flags}`, or call it without options"
    )


def settle(spec: DatasetSpec, cache: Cache, built: Mapping[str, Any]) -> DatasetSpec:
    """The entry of a folder dataset after its prepared form was built: split counts are
    images kept, listings those the splits were built from. Rewritten only when different."""
    edition = local_edition(spec)
    if edition is None or not built or not recorded_differs(spec, built):
        return spec
    entry = entry_of(spec)
    for split, manifest in built.items():
        if split in entry["splits"] and isinstance(manifest.get("count"), int):
            entry["splits"][split]["count"] = manifest["count"]
        if _listed(manifest):
            entry["editions"][0]["options"]["listings"][split] = dict(manifest["listing"])
    return _register(entry, cache if _persisted(spec, cache) else None)


def recorded_differs(spec: DatasetSpec, built: Mapping[str, Any]) -> bool:
    """True when the entry's counts or listings are not those of the prepared ``built``."""
    edition = local_edition(spec)
    assert edition is not None
    listings = edition.options.get("listings") or {}
    for split, manifest in built.items():
        if split not in spec.split_names:
            continue
        if manifest.get("count") != spec.split(split).count:
            return True
        if _listed(manifest) and listings.get(split) != manifest.get("listing"):
            return True
    return False


def _log_info(message: str, *args: object) -> None:
    import logging

    logging.getLogger("imagesets").info(message, *args)


#: The largest ``size`` (fixed-size arrays: N x size x size x 3 bytes) and ``max_side`` (packed
#: JPEGs) accepted: beyond them a typo (``size=100000``: 30 GB an image) is not a dataset.
MAX_SIZE = 4096
MAX_SIDE = 16384


def _check_side(key: str, value: object, most: int, low: int = 1) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= most:
        raise ArgumentError(
            f"from_folder: {key} must be an integer in {low}..{most}, found {value!r}"
        )
