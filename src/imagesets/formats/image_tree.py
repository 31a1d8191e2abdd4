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
]

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
SPLIT_NAMES = frozenset({"train", "test", "val", "validation"})
_SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})
_REASONS = ("hidden", "system", "not_image", "outside_class_folder")

#: ignore reason -> test on a file name, tried in order.
_FILE_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("hidden", lambda name: name.startswith(".")),
    ("system", lambda name: name.lower() in _SYSTEM_FILES),
    ("not_image", lambda name: name[name.rfind(".") :].lower() not in IMAGE_SUFFIXES),
)


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
    """

    root: Path
    files: tuple[str, ...]
    label_paths: tuple[str, ...]
    ignored: Mapping[str, int]
    skipped: tuple[Skip, ...] = ()

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


def _label(parts: Sequence[str], is_leaf: bool, label_depth: int | None) -> str | None:
    """The label path of a file in the folder ``parts``, or None if outside a class folder."""
    if label_depth is None:
        return "/".join(parts) if parts and is_leaf else None
    if not parts or (not is_leaf and len(parts) < label_depth):
        return None
    return "/".join(parts[:label_depth])


def _walk(
    root: Path, counts: dict[str, int], loops: list[str]
) -> Iterator[tuple[tuple[str, ...], bool, str]]:
    """(folder parts, folder is a leaf, file name) under ``root``; counts hidden folders.

    Symlinked folders are followed (a symlinked class folder is a class like any other); a
    link back to a folder already on the walk (a loop) is not, and its path goes to ``loops``.
    """
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        info = Path(dirpath).stat()
        seen.add((info.st_dev, info.st_ino))
        hidden = [d for d in dirnames if d.startswith(".")]
        counts["hidden"] += len(hidden)
        keep = []
        for d in sorted(d for d in dirnames if not d.startswith(".")):
            target = Path(dirpath, d).stat()
            if (target.st_dev, target.st_ino) in seen:
                loops.append(Path(dirpath, d).relative_to(root).as_posix())
            else:
                keep.append(d)
        dirnames[:] = keep
        rel = Path(dirpath).relative_to(root)
        parts = () if rel == Path() else rel.parts
        for name in sorted(filenames):
            yield parts, not dirnames, name


def scan_split(root: Path, *, label_depth: int | None = None) -> SplitScan:
    """Scan one split folder (see the module docstring for the rules)."""
    if not root.is_dir():
        raise FormatError(f"{root}: expected a folder of class folders, found no folder")
    counts = dict.fromkeys(_REASONS, 0)
    files: list[str] = []
    labels: list[str] = []
    loops: list[str] = []
    for parts, is_leaf, name in _walk(root, counts, loops):
        reason = next((r for r, rule in _FILE_RULES if rule(name)), None)
        label = _label(parts, is_leaf, label_depth) if reason is None else None
        if reason is None and label is None:
            reason = "outside_class_folder"
        if reason is not None:
            counts[reason] += 1
            continue
        assert label is not None
        files.append("/".join([*parts, name]))
        labels.append(label)
    skipped = tuple(Skip(p, "symlink loop: not followed") for p in loops)
    return SplitScan(root, tuple(files), tuple(labels), counts, skipped)


def scan_tree(root: Path, *, label_depth: int | None = None) -> TreeScan:
    """Scan a tree; split folders at the top (``train``, ``test``, ``val``) become splits."""
    if not root.is_dir():
        raise FormatError(f"{root}: expected a folder, found none")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    folders = [p for p in entries if p.is_dir()]
    if not folders or any(p.name.lower() not in SPLIT_NAMES for p in folders):
        return TreeScan(root, {"all": scan_split(root, label_depth=label_depth)})
    splits = {p.name.lower(): scan_split(p, label_depth=label_depth) for p in folders}
    ignored = dict.fromkeys(_REASONS, 0)
    ignored["outside_class_folder"] = sum(1 for p in entries if not p.is_dir())
    ignored["hidden"] = sum(1 for p in root.iterdir() if p.name.startswith("."))
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
    split folder), ``count`` (N) and the extras ``ignored`` (reason -> count), plus ``max_side``
    and ``bytes`` when packed.
    """
    opts = ImageOptions.parse(request)
    given = request.options.get("classes")
    scan = scan_split(Path(request.file("root")), label_depth=request.int_option("label_depth"))
    classes = scan.classes if given is None else tuple(str(c) for c in given)
    source = ImageSource(str(scan.root), _records(scan, scan.labels(classes)))
    written = write_images(source, opts, out, request.progress)
    return ReadResult(
        classes=classes,
        skipped=(*scan.skipped, *written.skipped),
        count=written.count,
        extras={"ignored": dict(scan.ignored), **written.extras},
    )
