"""Class-per-folder image trees: scanning, and the reader ``image-folder``.

A tree holds one folder per class, at any depth: ``animals/domestic/cat/cat1.jpg`` has the
label path ``animals/domestic/cat`` (``label_depth=1`` makes it ``animals``). Classes are the
leaf folders holding images; the class index is the sorted list of label paths. If every folder
at the top is a split name (``train``, ``test``, ``val``, ``validation``) each becomes a split,
otherwise the whole tree is the one split ``"all"``. Order is deterministic: folders by name,
depth first, a folder's files (by name) before its subfolders.

Ignored, and counted per reason: ``hidden`` (names starting with ``.``; a hidden folder counts
once and is not walked), ``system`` (``Thumbs.db``, ``desktop.ini``), ``not_image`` (another
suffix), ``outside_class_folder`` (a file at the split root, or in a folder with subfolders
shallower than ``label_depth``).

The reader (format ``image-folder``; ``request.files = {"root": split folder}``; options
``size`` or ``max_side``, ``label_depth``, ``workers``, ``classes``) hands the files, in that
order, to the image sink (:mod:`imagesets.formats.image_sink`): ``size`` gives fixed-size
``images`` uint8 ``(N, size, size, 3)`` and ``labels`` int64 ``(N,)`` (a check pass first, since
N is not known), otherwise the packed store. Undecodable files never stop a read: they are
returned as skipped with their reason. The file list costs about 100 bytes per file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import FormatError
from ..listing import IMAGE_SUFFIXES, Listing, take
from . import ReadRequest, ReadResult, Skip, SplitWriter
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = [
    "IMAGE_SUFFIXES",
    "SPLIT_NAMES",
    "SplitScan",
    "TreeScan",
    "read_split",
    "scan_split",
    "scan_tree",
    "split_folders",
]

SPLIT_NAMES = frozenset({"train", "test", "val", "validation"})
_REASONS = ("hidden", "system", "not_image", "outside_class_folder")


# --- scanning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitScan:
    """The images of one split folder, in sorted path order.

    Attributes:
        root: the split folder.
        files: posix paths relative to ``root``.
        label_paths: each file's label path (same length as ``files``).
        ignored: reason -> count of files left out (every reason present, maybe 0).
        skipped: folders left out with a reason: symlink loops.
        listing: the walk's fingerprint (:class:`imagesets.listing.Listing`), taken before
            any file is read.
    """

    root: Path
    files: tuple[str, ...]
    label_paths: tuple[str, ...]
    ignored: Mapping[str, int]
    skipped: tuple[Skip, ...] = ()
    listing: Listing | None = field(default=None, repr=False, compare=False)

    @property
    def classes(self) -> tuple[str, ...]:
        """The sorted label paths: the class index."""
        return tuple(sorted(set(self.label_paths)))

    def labels(self, classes: Sequence[str] | None = None) -> NDArray[np.int64]:
        """int64 ``(len(files),)``: each file's index in ``classes`` (default: its own)."""
        index = {name: i for i, name in enumerate(self.classes if classes is None else classes)}
        missing = sorted(set(self.label_paths) - set(index))
        if missing:
            raise FormatError(
                f"{self.root}: class folders {missing[:5]} are not among the {len(index)} "
                "classes given; expected the same class folders in every split"
            )
        return np.fromiter((index[p] for p in self.label_paths), np.int64, len(self.label_paths))


@dataclass(frozen=True)
class TreeScan:
    """A whole tree: its splits (``"all"`` when there are no split folders) and class index."""

    root: Path
    splits: Mapping[str, SplitScan]
    ignored: Mapping[str, int] = field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted label paths of all splits together: one class index for every split."""
        return tuple(sorted({p for split in self.splits.values() for p in split.label_paths}))


def _label(parts: Sequence[str], is_leaf: bool, label_depth: int | None, one: str) -> str | None:
    """The label path of a file in the folder ``parts``, or None if outside a class folder;
    ``label_depth=0`` puts every image in the one class ``one``."""
    if label_depth == 0:
        return one
    if label_depth is None:
        return "/".join(parts) if parts and is_leaf else None
    if not parts or (not is_leaf and len(parts) < label_depth):
        return None
    return "/".join(parts[:label_depth])


def scan_split(
    root: Path,
    *,
    label_depth: int | None = None,
    class_name: str | None = None,
    racy_since: int | None = None,
) -> SplitScan:
    """Scan one split folder (see the module docstring for the rules) in one walk, which also
    fingerprints it (:func:`imagesets.listing.take`). ``label_depth=0`` makes every image one
    class, ``class_name`` (default: the folder's name); ``racy_since``: see
    :func:`imagesets.listing.take`."""
    if not root.is_dir():
        raise FormatError(f"{root}: expected a folder of class folders, found no folder")
    listing = take(root, racy_since=racy_since)
    counts = {**dict.fromkeys(_REASONS, 0), **listing.ignored}
    one = class_name or root.name
    files: list[str] = []
    labels: list[str] = []
    for folder in listing.folders:
        label = _label(folder.parts, folder.is_leaf, label_depth, one)
        if label is None:
            counts["outside_class_folder"] += len(folder.files)
            continue
        prefix = "/".join(folder.parts)
        files.extend(f"{prefix}/{n}" if prefix else n for n, _, _ in folder.files)
        labels.extend([label] * len(folder.files))
    skipped = tuple(Skip(p, "symlink loop: not followed") for p in listing.loops)
    return SplitScan(root, tuple(files), tuple(labels), counts, skipped, listing)


def split_folders(root: Path) -> list[str]:
    """The split folder names at the top of ``root`` (``[]``: the tree is one split
    ``"all"``): every non-hidden folder there must be a split name (``train``, ``test``...)."""
    folders = [e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]
    if not folders or any(f.lower() not in SPLIT_NAMES for f in folders):
        return []
    return sorted(folders)


def scan_tree(
    root: Path,
    *,
    label_depth: int | None = None,
    class_name: str | None = None,
    racy_since: Mapping[str, int] | None = None,
) -> TreeScan:
    """Scan a tree; split folders at the top (``train``, ``test``, ``val``) become splits.
    ``label_depth=0``: one class, ``class_name`` (default: the tree's folder name);
    ``racy_since``: per split, see :func:`imagesets.listing.take`."""
    if not root.is_dir():
        raise FormatError(f"{root}: expected a folder, found none")
    one = class_name or root.name
    since = racy_since or {}
    names = split_folders(root)
    if not names:
        scan = scan_split(
            root, label_depth=label_depth, class_name=one, racy_since=since.get("all")
        )
        return TreeScan(root, {"all": scan})
    splits = {
        n.lower(): scan_split(
            root / n, label_depth=label_depth, class_name=one, racy_since=since.get(n.lower())
        )
        for n in names
    }
    entries = list(os.scandir(root))
    ignored = dict.fromkeys(_REASONS, 0)
    ignored["outside_class_folder"] = sum(
        1 for e in entries if not e.is_dir() and not e.name.startswith(".")
    )
    ignored["hidden"] = sum(1 for e in entries if e.name.startswith("."))
    return TreeScan(root, splits, ignored)


# --- the reader ------------------------------------------------------------------------------


def _records(scan: SplitScan, labels: NDArray[np.int64]) -> Callable[[], Iterator[Record]]:
    def records() -> Iterator[Record]:
        for rel, label in zip(scan.files, labels.tolist(), strict=True):
            yield Record(rel, label, scan.root / rel)

    return records


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``image-folder``: the split folder ``request.files["root"]`` through the sink.

    Returns ``classes`` (label paths, the class index), ``skipped`` (``path`` relative to the
    split folder), ``count`` (N) and the extras ``ignored`` (reason -> count) and ``listing``
    (the fingerprint of the walk, taken before any file is read), plus ``max_side`` and
    ``bytes`` when packed. The walk's rows go to the blob ``listing``, so a later check can
    name the files that changed.
    """
    opts = ImageOptions.parse(request)
    given = request.options.get("classes")
    depth = request.int_option("label_depth", low=0)
    one = str(given[0]) if depth == 0 and given else None
    scan = scan_split(Path(request.file("root")), label_depth=depth, class_name=one)
    classes = scan.classes if given is None else tuple(str(c) for c in given)
    source = ImageSource(str(scan.root), _records(scan, scan.labels(classes)))
    written = write_images(source, opts, out, request.progress)
    assert scan.listing is not None
    with out.blob("listing") as blob:
        blob.write(scan.listing.rows)
    return ReadResult(
        classes=classes,
        skipped=(*scan.skipped, *written.skipped),
        count=written.count,
        extras={
            "ignored": dict(scan.ignored),
            "listing": dict(scan.listing.record()),
            **written.extras,
        },
    )
