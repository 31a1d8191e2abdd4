"""STL-10: ``stl10_binary.tar.gz``, raw uint8 files in one gzipped tar.

Members (all under ``stl10_binary/``)::

    train_X.bin  test_X.bin  unlabeled_X.bin   N images of 3 x 96 x 96 bytes each: the red,
                                               green, then blue plane, each plane COLUMN-major
                                               (byte ``c * 9216 + x * 96 + y`` is row y, column x)
    train_y.bin  test_y.bin                    N labels, one byte each, 1..10
    class_names.txt                            10 lines: the class of label 1, 2, ...
    fold_indices.txt                           10 lines of 0-based train indices (1,000 each)

:func:`read_split` writes ``images`` uint8 ``(N, 96, 96, 3)`` upright (HWC), ``labels`` uint8
``(N,)`` 0..9 (the files' 1..10 less one) for ``train`` and ``test`` (``unlabeled`` has none),
and for ``train`` ``folds`` bool ``(N, 10)``: ``folds[i, k]`` is True when train image ``i`` is in
the published fold ``k``. Class names come from ``class_names.txt``. Every size is bounded
(by the expected count, the largest published file and what the compressed archive can hold)
before anything is allocated.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter

__all__ = ["IMAGE_BYTES", "MEMBERS", "read_split", "to_hwc"]

SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE
ROOT = "stl10_binary"
#: split -> (images member, labels member or None)
MEMBERS: dict[str, tuple[str, str | None]] = {
    "train": ("train_X.bin", "train_y.bin"),
    "test": ("test_X.bin", "test_y.bin"),
    "unlabeled": ("unlabeled_X.bin", None),
}
CLASS_NAMES = "class_names.txt"
FOLDS = "fold_indices.txt"
N_FOLDS = 10
MAX_IMAGES = 100_000  # the largest published file (unlabeled_X.bin)
_MAX_TEXT = 1 << 20  # class names and fold indices: a few tens of KB
_MAX_RATIO = 1032  # deflate cannot expand more than about 1032:1
_CHUNK = 256  # images converted at a time: 7 MB


def to_hwc(raw: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``(k, 27648)`` uint8 STL-10 records -> ``(k, 96, 96, 3)`` upright HWC images."""
    hwc: np.ndarray[Any, Any] = raw.reshape(-1, 3, SIDE, SIDE).transpose(0, 3, 2, 1)
    return hwc


def _read_exact(reader: Any, n: int, label: str) -> bytes:
    parts, left = [], n
    while left:
        data = reader.read(left)
        if not data:
            raise FormatError(
                f"{label}: the member ends {left} bytes early; the archive is truncated: "
                "delete it and download it again"
            )
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _image_count(request: ReadRequest, size: int, label: str, limit: int) -> int:
    """How many images a member of ``size`` bytes holds, refused unless it is a whole number
    within the expected count, :data:`MAX_IMAGES` and what the archive can hold."""
    n, rest = divmod(size, IMAGE_BYTES)
    if rest or n > MAX_IMAGES or size > limit:
        raise FormatError(
            f"{label}: {size} bytes is not a whole number of at most {MAX_IMAGES} images of "
            f"{IMAGE_BYTES} bytes that the archive can hold; the file is damaged: download it again"
        )
    if request.count is not None and n != request.count:
        raise FormatError(
            f"{label}: holds {n} images, the catalog expects {request.count} for split "
            f"{request.split!r}; the archive is not the published one: download it again"
        )
    return n


def _read_images(
    request: ReadRequest, reader: Any, n: int, label: str, out: SplitWriter
) -> np.ndarray[Any, Any]:
    images = out.array("images", (n, SIDE, SIDE, 3), np.uint8)
    for start in range(0, n, _CHUNK):
        k = min(_CHUNK, n - start)
        raw = np.frombuffer(_read_exact(reader, k * IMAGE_BYTES, label), np.uint8)
        images[start : start + k] = to_hwc(raw)
        request.progress(k)
    return images


def _read_text(member: Any, reader: Any, label: str) -> str:
    if member.size > _MAX_TEXT:
        raise FormatError(
            f"{label}: {member.size} bytes, expected at most {_MAX_TEXT}; the file is damaged"
        )
    try:
        return _read_exact(reader, member.size, label).decode("ascii")
    except UnicodeDecodeError:
        raise FormatError(f"{label}: not ASCII text; the file is damaged") from None


def parse_class_names(text: str, label: str) -> tuple[str, ...]:
    """The class names, one per non-empty line (label 1 is the first)."""
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not 1 <= len(names) <= 255 or len(set(names)) != len(names):
        raise FormatError(
            f"{label}: expected 1..255 distinct class names, one a line, found {len(names)}"
        )
    return names


def parse_folds(text: str, n: int, label: str) -> np.ndarray[Any, Any]:
    """``fold_indices.txt`` -> bool ``(n, 10)``: row ``i``, column ``k`` True when train image
    ``i`` is in fold ``k``.

    Raises:
        FormatError: not 10 lines of integers in ``0..n-1``.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != N_FOLDS:
        raise FormatError(f"{label}: expected {N_FOLDS} lines of indices, found {len(lines)}")
    folds = np.zeros((n, N_FOLDS), bool)
    for k, line in enumerate(lines):
        fields = line.split()
        if not all(f.isdigit() and len(f) <= 6 for f in fields):
            raise FormatError(
                f"{label} line {k + 1}: expected 0-based indices, found {line[:60]!r}"
            )
        idx = np.array([int(f) for f in fields], np.int64)
        if len(idx) and int(idx.max()) >= n:
            raise FormatError(
                f"{label} line {k + 1}: index {int(idx.max())} is outside the {n} train images"
            )
        folds[idx, k] = True
    return folds


def _labels(data: bytes, n: int, classes: int, label: str) -> np.ndarray[Any, Any]:
    """The files' 1..``classes`` labels as 0-based uint8, after checking count and range."""
    labels = np.frombuffer(data, np.uint8)
    if len(labels) != n:
        raise FormatError(f"{label}: holds {len(labels)} labels for {n} images")
    if len(labels) and (int(labels.min()) < 1 or int(labels.max()) > classes):
        raise FormatError(
            f"{label}: labels range over {int(labels.min())}..{int(labels.max())}, expected "
            f"1..{classes}; the file is damaged"
        )
    return labels - 1


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read split ``train``, ``test`` or ``unlabeled`` from ``stl10_binary.tar.gz`` (role
    ``archive``); the arrays are in the module docstring.

    Raises:
        FormatError: a member missing, damaged or of the wrong size, labels outside the class
            names, fold indices outside the train images.
        UnsafeArchiveError: a member with an unsafe name.
    """
    from ..archives import iter_files

    if request.split not in MEMBERS:
        raise FormatError(
            f"STL-10 {request.dataset}: the archive holds the splits {sorted(MEMBERS)}, the "
            f"split is {request.split!r}; fix the entry's split names"
        )
    path = request.file("archive")
    images_name, labels_name = MEMBERS[request.split]
    wanted = {images_name, CLASS_NAMES}
    if labels_name is not None:
        wanted.add(labels_name)
    if request.split == "train":
        wanted.add(FOLDS)
    roots = {f"{ROOT}/{name}": name for name in wanted}
    limit = path.stat().st_size * _MAX_RATIO
    n: int | None = None
    texts: dict[str, str] = {}
    raw_labels: bytes | None = None
    files = iter_files(path, select=lambda m: m.name in roots)
    with contextlib.closing(files):
        for member, reader in files:
            name, label = roots[member.name], f"{path}!{member.name}"
            if name in texts or (name == images_name and n is not None):
                raise FormatError(f"{label}: the member occurs twice in the archive")
            if name == images_name:
                n = _image_count(request, member.size, label, limit)
                _read_images(request, reader, n, label, out)
            elif name == labels_name:
                if raw_labels is not None:
                    raise FormatError(f"{label}: the member occurs twice in the archive")
                if member.size > MAX_IMAGES:
                    raise FormatError(f"{label}: {member.size} labels, at most {MAX_IMAGES}")
                raw_labels = _read_exact(reader, member.size, label)
            else:
                texts[name] = _read_text(member, reader, label)
    found = {images_name} if n is not None else set()
    found |= set(texts)
    if labels_name is not None and raw_labels is not None:
        found.add(labels_name)
    missing = sorted(wanted - found)
    if missing or n is None:
        raise FormatError(
            f"{path}: no member {', '.join(f'{ROOT}/{m}' for m in missing)}; is this "
            "stl10_binary.tar.gz? Delete it and download it again"
        )
    classes = parse_class_names(texts[CLASS_NAMES], f"{path}!{ROOT}/{CLASS_NAMES}")
    if raw_labels is not None:
        labels = _labels(raw_labels, n, len(classes), f"{path}!{ROOT}/{labels_name}")
        out.array("labels", (n,), np.uint8)[:] = labels
    if FOLDS in texts:
        folds = parse_folds(texts[FOLDS], n, f"{path}!{ROOT}/{FOLDS}")
        out.array("folds", folds.shape, bool)[:] = folds
    return ReadResult(classes=classes, extras={"labeled": raw_labels is not None})
