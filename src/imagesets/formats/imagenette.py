"""Imagenette (fast.ai): ``imagenette2*.tgz``, a gzipped tar of WordNet-id folders.

Layout (``R`` is the archive's one top folder, e.g. ``imagenette2-320``)::

    R/train/<wnid>/<name>.JPEG      R/val/<wnid>/<name>.JPEG
    R/noisy_imagenette.csv          path,noisy_labels_0,noisy_labels_1,noisy_labels_5,
                                    noisy_labels_25,noisy_labels_50,is_valid
                                    (path ``train/<wnid>/<name>.JPEG``, labels as wnids)

Format ``imagenette``: entry options ``wnids`` (the class index: the sorted wnids, as
torchvision's ImageFolder numbers them) and ``noisy_csv`` (the CSV's file name); user options
``size`` / ``max_side`` / ``workers`` of the image sink. One streamed pass yields the split's
images (archive order) to :mod:`imagesets.formats.image_sink` (label: the index of the folder's
wnid) and keeps the CSV; then, for the images written, each column ``noisy_labels_K`` with
K > 0 becomes an int64 array ``noisy_labels_K`` ``(N,)`` of class indices. Column
``noisy_labels_0`` must equal the folder's label and ``is_valid`` the split, or the read fails.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CatalogError, FormatError
from . import ReadRequest, ReadResult, SplitWriter
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["read_split"]

SPLITS = ("train", "val")
MAX_IMAGE_BYTES = 64 << 20  # one photo; the full-size edition's largest is a few MB
MAX_CSV_BYTES = 16 << 20  # 13,394 rows of about 100 bytes
_NOISY = "noisy_labels_"


@dataclass
class _Pass:
    """What one pass over the archive saw: the records yielded and the CSV's bytes."""

    names: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    csv: bytes | None = None


def _options(request: ReadRequest) -> tuple[dict[str, int], str]:
    wnids, name = request.options.get("wnids"), request.options.get("noisy_csv")
    if (
        not isinstance(wnids, list | tuple)
        or not wnids
        or not all(isinstance(w, str) for w in wnids)
        or len(set(wnids)) != len(wnids)
    ):
        raise request.option_error("wnids", "a list of distinct WordNet ids (the class index)")
    if not isinstance(name, str) or "/" in name or not name.endswith(".csv"):
        raise request.option_error("noisy_csv", "the file name of the noisy-labels CSV")
    return {w: i for i, w in enumerate(wnids)}, name


def _records(
    archive: Path, split: str, index: dict[str, int], csv_name: str, seen: _Pass
) -> Iterator[Record]:
    from ..archives import iter_files

    seen.names.clear()
    seen.labels.clear()
    seen.csv = None
    roots: set[str] = set()
    for member, reader in iter_files(archive):
        parts, where = member.name.split("/"), f"{archive}!{member.name}"
        roots.add(parts[0])
        if len(roots) > 1:
            raise FormatError(
                f"{where}: the archive has the top folders {sorted(roots)}, expected one "
                "(e.g. imagenette2-320); is this a fast.ai Imagenette archive?"
            )
        if parts[1:] == [csv_name]:
            if member.size > MAX_CSV_BYTES or seen.csv is not None:
                raise FormatError(f"{where}: a second or oversized ({member.size} bytes) CSV")
            seen.csv = reader.read(MAX_CSV_BYTES + 1)
            continue
        if len(parts) != 4 or parts[1] != split:
            continue  # the other split, or files beside the folders
        wnid = parts[2]
        if wnid not in index:
            raise FormatError(
                f"{where}: folder {wnid!r} is not one of the {len(index)} classes of the entry "
                f"({', '.join(sorted(index))}); is this the right archive for the entry?"
            )
        if member.size > MAX_IMAGE_BYTES:
            raise FormatError(f"{where}: {member.size} bytes, an image holds at most 64 MB")
        name = "/".join(parts[1:])
        seen.names.append(name)
        seen.labels.append(index[wnid])
        yield Record(name, index[wnid], reader.read(member.size))


def _noisy_columns(
    data: bytes, label: str, split: str, index: dict[str, int], kept: list[tuple[str, int]]
) -> dict[str, np.ndarray[Any, Any]]:
    """The noisy-label columns (K > 0) for the images ``kept`` (name, label), in their order.

    Raises:
        FormatError: not UTF-8 CSV with ``path``, ``is_valid`` and ``noisy_labels_K`` columns;
            an image with no row; a wnid that is not a class; ``noisy_labels_0`` or
            ``is_valid`` that contradicts the folders.
    """
    try:
        table = csv.DictReader(io.StringIO(data.decode("utf-8")))
        rows = list(table)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"{label}: not a readable CSV ({exc}); download it again") from None
    header = list(table.fieldnames or ())  # row dicts may also hold None: surplus fields
    noisy = [c for c in header if c.startswith(_NOISY) and c[len(_NOISY) :].isdigit()]
    if "path" not in header or "is_valid" not in header or not noisy:
        raise FormatError(
            f"{label}: expected the columns path, noisy_labels_K and is_valid, found {header}"
        )
    by_path = {row["path"]: row for row in rows if row["path"]}
    columns = {c: np.zeros(len(kept), np.int64) for c in noisy if c != f"{_NOISY}0"}
    valid = "True" if split == "val" else "False"
    for i, (name, true_label) in enumerate(kept):
        row = by_path.get(name)
        if row is None:
            raise FormatError(f"{label}: no row for the image {name}; download it again")
        if row["is_valid"] != valid:
            raise FormatError(
                f"{label}: {name} has is_valid {row['is_valid']!r}, expected {valid!r}"
            )
        for column in noisy:
            value = index.get(row[column] or "")
            if value is None:
                raise FormatError(
                    f"{label}: {name} has {column} {row[column]!r}, not one of the classes"
                )
            if column == f"{_NOISY}0":
                if value != true_label:
                    raise FormatError(
                        f"{label}: {name} has {column} {row[column]!r}, but its folder is "
                        "another class; the archive is damaged"
                    )
            else:
                columns[column][i] = value
    return columns


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``imagenette``: split ``train`` or ``val`` of an Imagenette archive (role
    ``archive``); arrays of the image sink plus the noisy-label columns (module docstring).

    Raises:
        FormatError: a folder that is not a class, the CSV missing or contradicting the folders,
            a count that is not the catalog's.
        CatalogError: a split other than train/val, or bad entry options.
    """
    request.check_split(SPLITS, "an Imagenette archive")
    index, csv_name = _options(request)
    opts = ImageOptions.parse(request)
    if opts.size is not None and request.count is None:
        raise CatalogError(
            f"dataset {request.dataset!r}, split {request.split!r}: fixed-size arrays are sized "
            "from the split's count before the single pass; give the count in the entry"
        )
    archive = Path(request.file("archive"))
    seen = _Pass()
    records = functools.partial(_records, archive, request.split, index, csv_name, seen)
    written = write_images(ImageSource(str(archive), records, request.count), opts, out,
                           request.progress)  # fmt: skip
    if seen.csv is None:
        raise FormatError(
            f"{archive}: no member <top folder>/{csv_name}; is this the fast.ai archive the "
            "entry names? Delete it and download it again"
        )
    dropped = {s.path for s in written.skipped}
    kept = [(n, lab) for n, lab in zip(seen.names, seen.labels, strict=True) if n not in dropped]
    if len(kept) != written.count:
        raise FormatError(f"{archive}: {written.count} images written, {len(kept)} listed")
    label = f"{archive}!{csv_name}"
    columns = _noisy_columns(seen.csv, label, request.split, index, kept)
    for name, column in columns.items():
        out.array(name, column.shape, np.int64)[:] = column
    return ReadResult(
        label_names={"wnids": tuple(sorted(index, key=index.__getitem__))},
        skipped=written.skipped,
        count=written.count,
        extras={**written.extras, "noisy_label_columns": sorted(columns)},
    )
