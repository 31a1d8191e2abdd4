"""Oxford 102 Flowers: ``102flowers.tgz``, ``imagelabels.mat`` and ``setid.mat`` (VGG, Oxford).

Layout::

    102flowers.tgz    jpg/image_00001.jpg ... jpg/image_08189.jpg  (image number n = 1..N)
    imagelabels.mat   ``labels``: 1xN, the class 1..102 of image n at column n
    setid.mat         ``trnid``, ``valid``, ``tstid``: 1xK image numbers of each split

Format ``flowers102``: splits ``train`` (``trnid``), ``val`` (``valid``), ``test``
(``tstid``); roles ``images``, ``labels``, ``setid``; entry option ``classes`` (the class
names, class k at index k - 1); user options ``size`` / ``max_side`` / ``workers`` of the image
sink. Both MAT-files are read with :mod:`imagesets.formats.matlab` (numbers must be whole, in
range, and the split's image numbers distinct), then one streamed pass over the images (a
gzip-compressed or plain tar, whatever the name says) yields the split's images in archive
order to :mod:`imagesets.formats.image_sink`: labels int64 ``(N,)`` 0..101 (the file's 1-based
class - 1), and ``image_ids`` int64 ``(N,)``, the image numbers. An image of the split missing
from the archive or stored twice fails the read; an image that does not decode is skipped with
its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["SETID", "SPLITS", "read_numbers", "read_split"]

SPLITS = ("train", "val", "test")
SETID = {"train": "trnid", "val": "valid", "test": "tstid"}
MAX_IMAGES = 1_000_000  # the real dataset has 8,189
MAX_IMAGE_BYTES = 64 << 20  # one photo; the real ones are well under 1 MB


def _classes(request: ReadRequest) -> tuple[str, ...]:
    return request.names_option("classes", what="the list of distinct class names, class 1 first")


def read_numbers(path: Path, name: str, high: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Variable ``name`` of the MAT-file ``path`` as int64 ``(K,)``: a numeric 1xK (or Kx1)
    array of whole numbers in ``1..high``, K at most :data:`MAX_IMAGES`.

    Raises:
        FormatError: no such variable, another shape or class, a fraction or a number out of
            range (the MAT reader's own errors for a malformed file).
    """
    from .matlab import MatFile

    with MatFile(path) as mat:
        info = mat.info(name)
        where = f"{path}: variable {name!r}"
        if len(info.dims) != 2 or min(info.dims) != 1 or max(info.dims) > MAX_IMAGES:
            raise FormatError(
                f"{where}: dims {info.dims}, expected 1xK with K <= {MAX_IMAGES}; is this the "
                "published file? Download it again"
            )
        value = mat.read(name)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise FormatError(f"{where}: {kind} values, expected numbers; download it again")
    flat = value.reshape(-1)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(flat) & (flat == np.round(flat)) & (flat >= 1) & (flat <= high)
    if not whole.all():
        bad = flat[~whole][0]
        raise FormatError(
            f"{where}: value {bad.item()!r} at column {int(np.argmin(whole)) + 1}, expected whole "
            f"numbers in 1..{high}; download it again"
        )
    return flat.astype(np.int64)


def _records(path: Path, wanted: dict[int, int], found: list[tuple[int, str]]) -> Iterator[Record]:
    from ..archives import iter_tar_stream

    found.clear()
    seen: set[int] = set()
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"  # the name says .tgz; plain tar is read too
        f.seek(0)
        for member, reader in iter_tar_stream(f, str(path), "gz" if gzipped else ""):
            parts = member.name.split("/")
            if reader is None or len(parts) != 2 or parts[0] != "jpg":
                continue
            stem = parts[1].removesuffix(".jpg")
            if not (parts[1].endswith(".jpg") and stem.startswith("image_")):
                continue
            digits = stem.removeprefix("image_")
            if not (digits.isascii() and digits.isdigit()) or int(digits) not in wanted:
                continue  # another split's image, or a name the lists cannot give
            number, where = int(digits), f"{path}!{member.name}"
            if number in seen:
                raise FormatError(f"{where}: stored twice; download 102flowers.tgz again")
            if member.size > MAX_IMAGE_BYTES:
                raise FormatError(f"{where}: {member.size} bytes, an image holds at most 64 MB")
            seen.add(number)
            found.append((number, parts[1]))
            yield Record(parts[1], wanted[number], reader.read(member.size))
    missing = sorted(set(wanted) - seen)
    if missing:
        raise FormatError(
            f"{path}: {len(missing)} image(s) of the split missing, e.g. "
            f"jpg/image_{missing[0]:05d}.jpg; are 102flowers.tgz and setid.mat from the same "
            "release?"
        )


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``flowers102``: split ``train``, ``val`` or ``test`` (module docstring).

    Raises:
        FormatError: a bad MAT-file, an image number listed twice, an image missing.
        CatalogError: another split, or a bad ``classes`` option.
    """
    request.check_split(SPLITS, "Flowers-102")
    classes = _classes(request)
    opts = ImageOptions.parse(request)
    labels_path, setid_path = Path(request.file("labels")), Path(request.file("setid"))
    labels = read_numbers(labels_path, "labels", len(classes)) - 1
    ids = read_numbers(setid_path, SETID[request.split], len(labels))
    if len(np.unique(ids)) != len(ids):
        raise FormatError(
            f"{setid_path}: variable {SETID[request.split]!r} lists an image number twice; "
            "download setid.mat again"
        )
    wanted = {int(n): int(labels[n - 1]) for n in ids}
    images = Path(request.file("images"))
    found: list[tuple[int, str]] = []
    records = functools.partial(_records, images, wanted, found)
    written = write_images(ImageSource(str(images), records), opts, out, request.progress)
    dropped = {s.path for s in written.skipped}
    kept = [n for n, name in found if name not in dropped]
    if len(kept) != written.count:
        raise FormatError(f"{images}: {written.count} images written, {len(kept)} in the split")
    out.array("image_ids", (len(kept),), np.int64)[:] = np.asarray(kept, np.int64)
    return ReadResult(
        classes=classes,
        skipped=written.skipped,
        count=written.count,
        extras=dict(written.extras),
    )
