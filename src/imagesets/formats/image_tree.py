"""Class-per-folder image trees: scanning, and the readers ``image-tree`` / ``image-tree-packed``.

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

Readers (``request.files = {"root": split folder}``; options ``size``, ``max_side``,
``label_depth``, ``workers``, ``classes``):

* ``image-tree`` writes ``images`` uint8 ``(N, size, size, 3)`` and ``labels`` int64 ``(N,)``.
  N must be known before the arrays exist and some files fail to decode, so it runs two passes:
  a **check pass** decodes every file at 1/8 DCT scale (a truncated or corrupt file fails there
  as at full size; measured on 500x375 photos it costs a fifth of the main pass at size 224 and
  half of it at size 64), then the **main pass** decodes the N good files straight into the
  array. Probing headers alone would miss truncated files; a store able to shrink an array
  would allow a single pass.
* ``image-tree-packed`` writes the blob ``data`` (original bytes, or JPEGs re-encoded with the
  longer side at most ``max_side``), ``offsets`` int64 ``(N + 1,)``, ``labels`` int64 ``(N,)``
  and ``shapes`` int64 ``(N, 2)`` (stored height, width), in one pass.

Both decode on all cores with a bounded number of images in flight and write in chunks, so
image memory does not grow with N (the file list costs about 100 bytes per file); undecodable
files never stop a read: they are returned under ``skipped``.
"""

from __future__ import annotations

import array
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import FormatError
from ..imaging import (
    UndecodableImageError,
    check,
    decode,
    default_workers,
    imap_bounded,
    read_file,
    reencode,
    write_rows,
)
from ..packed import PackedWriter
from . import ReadRequest, SplitWriter

__all__ = [
    "IMAGE_SUFFIXES",
    "SPLIT_NAMES",
    "SplitScan",
    "TreeScan",
    "read_split",
    "read_split_folder",
    "read_split_packed",
    "scan_split",
    "scan_tree",
]

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
SPLIT_NAMES = frozenset({"train", "test", "val", "validation"})
_SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})
_REASONS = ("hidden", "system", "not_image", "outside_class_folder")
_CHUNK = 256  # rows buffered before a write to the output array

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
        skipped: folders left out with a reason (``{"path", "reason"}``): symlink loops.
    """

    root: Path
    files: tuple[str, ...]
    label_paths: tuple[str, ...]
    ignored: Mapping[str, int]
    skipped: tuple[dict[str, str], ...] = ()

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
    skipped = tuple({"path": p, "reason": "symlink loop: not followed"} for p in loops)
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


# --- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    size: int | None
    max_side: int | None
    label_depth: int | None
    workers: int
    classes: tuple[str, ...] | None


def _options(request: ReadRequest, *, fixed: bool) -> _Options:
    classes = request.options.get("classes")
    return _Options(
        size=request.int_option("size", required=fixed) if fixed else None,
        max_side=None if fixed else request.int_option("max_side"),
        label_depth=request.int_option("label_depth"),
        workers=request.int_option("workers") or default_workers(),
        classes=None if classes is None else tuple(str(c) for c in classes),
    )


def _scan(request: ReadRequest, opts: _Options) -> tuple[SplitScan, tuple[str, ...]]:
    scan = scan_split(Path(request.file("root")), label_depth=opts.label_depth)
    return scan, opts.classes if opts.classes is not None else scan.classes


def _manifest(
    scan: SplitScan, classes: Sequence[str], skipped: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "classes": list(classes),
        "skipped": [*scan.skipped, *skipped],
        "ignored": dict(scan.ignored),
        "count": len(scan.files) - len(skipped),
    }


# --- fixed-size reader -------------------------------------------------------------------------


def _check_file(path: Path) -> str | None:
    """None if ``path`` decodes, else the short reason."""
    try:
        check(read_file(path), source=str(path))
    except UndecodableImageError as exc:
        return exc.reason
    return None


def _check_pass(scan: SplitScan, workers: int) -> tuple[NDArray[np.intp], list[dict[str, str]]]:
    """Indices of the files that decode, and ``{"path", "reason"}`` for those that do not."""
    ok = np.ones(len(scan.files), bool)
    skipped: list[dict[str, str]] = []
    paths = (scan.root / rel for rel in scan.files)
    for i, reason in enumerate(imap_bounded(_check_file, paths, workers)):
        if reason is not None:
            ok[i] = False
            skipped.append({"path": scan.files[i], "reason": reason})
    return np.flatnonzero(ok), skipped


def _decode_pass(
    images: NDArray[np.uint8], paths: Iterable[Path], workers: int, progress: Callable[[int], None]
) -> None:
    """Decode ``paths`` (one per row) into ``images``, written in chunks of ``_CHUNK`` rows."""
    size = images.shape[1]

    def load(path: Path) -> NDArray[np.uint8]:
        try:
            return decode(read_file(path), size=size, source=str(path))
        except UndecodableImageError as exc:
            raise FormatError(
                f"{exc} (it passed the check pass: did it change meanwhile?)"
            ) from exc

    write_rows(images, imap_bounded(load, paths, workers), progress, _CHUNK)


def read_split(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``image-tree``: ``images`` uint8 ``(N, size, size, 3)``, ``labels`` int64 ``(N,)``.

    Returns ``classes`` (label paths, the class index), ``skipped`` (``path`` relative to the
    split folder and ``reason``), ``ignored`` (reason -> count) and ``count`` (N).
    """
    opts = _options(request, fixed=True)
    scan, classes = _scan(request, opts)
    all_labels = scan.labels(classes)
    good, skipped = _check_pass(scan, opts.workers)
    request.progress(len(skipped))
    assert opts.size is not None
    images = out.array("images", (len(good), opts.size, opts.size, 3), np.uint8)
    labels = out.array("labels", (len(good),), np.int64)
    labels[:] = all_labels[good]
    paths = (scan.root / scan.files[i] for i in good)
    _decode_pass(images, paths, opts.workers, request.progress)
    return _manifest(scan, classes, skipped)


# --- packed reader -----------------------------------------------------------------------------


def _pack_file(path: Path, max_side: int | None) -> tuple[bytes, int, int] | str:
    """(bytes to store, height, width), or the reason the file cannot be decoded."""
    try:
        data = read_file(path)
        if max_side is None:
            height, width = check(data, source=str(path))
            return data, height, width
        stored = reencode(data, max_side, source=str(path))
        height, width = check(stored, source=str(path))
        return stored, height, width
    except UndecodableImageError as exc:
        return exc.reason


def read_split_packed(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Reader ``image-tree-packed``: blob ``data``, ``offsets``, ``labels``, ``shapes``.

    Returns what :func:`read_split` returns, plus ``max_side`` and ``bytes`` (the data size).
    """
    opts = _options(request, fixed=False)
    scan, classes = _scan(request, opts)
    all_labels = scan.labels(classes)
    good = array.array("q")
    shapes = array.array("q")  # height, width, height, width, ...
    skipped: list[dict[str, str]] = []
    paths = (scan.root / rel for rel in scan.files)
    results = imap_bounded(lambda p: _pack_file(p, opts.max_side), paths, opts.workers)
    with out.blob("data") as fh:
        writer = PackedWriter(fh)
        for i, result in enumerate(results):
            if isinstance(result, str):
                skipped.append({"path": scan.files[i], "reason": result})
            else:
                writer.append(result[0])
                good.append(i)
                shapes.extend(result[1:])
            if (i + 1) % _CHUNK == 0 or i + 1 == len(scan.files):
                request.progress((i % _CHUNK) + 1)
    out.array("offsets", (len(good) + 1,), np.int64)[:] = writer.offsets()
    out.array("labels", (len(good),), np.int64)[:] = all_labels[np.frombuffer(good, np.int64)]
    out.array("shapes", (len(good), 2), np.int64)[:] = np.frombuffer(shapes, np.int64).reshape(
        -1, 2
    )
    return {**_manifest(scan, classes, skipped), "max_side": opts.max_side, "bytes": writer.nbytes}


def read_split_folder(request: ReadRequest, out: SplitWriter) -> dict[str, Any]:
    """Format ``image-folder``: fixed-size arrays when the option ``size`` is given, else the
    packed store (original bytes, or re-encoded at ``max_side``)."""
    reader = read_split if request.options.get("size") is not None else read_split_packed
    return reader(request, out)
