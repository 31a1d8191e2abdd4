"""EuroSAT (RGB): ``EuroSAT.zip``, 64x64 Sentinel-2 JPEGs in one folder per land-cover class.

Layout: ``2750/<Class>/<Class>_<n>.jpg`` (files elsewhere are ignored). There is no official
split: format ``eurosat`` draws a seeded, class-stratified one. The image members are sorted
by name, labelled by their folder's index in the entry option ``classes`` (the sorted folder
names, as torchvision's ImageFolder numbers them), and cut by
:func:`imagesets.subsplits.stratified_parts` into ``test`` (``test_fraction`` of the images,
default 0.2; the total rounded half up, so 27,000 images give 5,400) and ``train`` (the rest),
seeded with ``seed`` (default 0): the same zip gives the same split on every machine. The
split's members go, in archive order, to :mod:`imagesets.formats.image_sink` (options
``size`` / ``max_side`` / ``workers``); the manifest records ``split_seed``,
``test_fraction`` and ``members`` (the member of each row). A class folder that is not in
``classes``, or a class with no image, fails the read; an image that does not decode is skipped
with its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, FormatError
from . import JSON, ReadRequest, ReadResult, SplitWriter
from .image_sink import ImageOptions, ImageSource, Record, write_images

__all__ = ["ROOT", "SPLITS", "plan_split", "read_split"]

ROOT = "2750"
SPLITS = ("train", "test")
MAX_IMAGE_BYTES = 1 << 20  # a 64x64 JPEG is a few KB
MAX_IMAGES = 1_000_000  # the real zip holds 27,000


@dataclass
class _Pass:
    names: list[str] = field(default_factory=list)


def _classes(request: ReadRequest) -> dict[str, int]:
    names = request.names_option(
        "classes", folders=True, what="the list of distinct class folder names"
    )
    return {c: i for i, c in enumerate(names)}


def _fraction(request: ReadRequest) -> float:
    value = request.options.get("test_fraction", 0.2)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise request.option_error("test_fraction", "a number strictly between 0 and 1")
    return float(value)


def _listing(path: Path, index: dict[str, int]) -> tuple[list[str], np.ndarray]:
    """The image members (sorted) and their labels; every class must have an image."""
    from ..archives import members

    names: list[str] = []
    for member in members(path):
        parts = member.name.split("/")
        if member.is_dir or len(parts) != 3 or parts[0] != ROOT or not parts[2].endswith(".jpg"):
            continue
        if parts[1] not in index:
            raise FormatError(
                f"{path}!{member.name}: folder {parts[1]!r} is not one of the {len(index)} "
                f"classes of the entry ({', '.join(index)}); is this the EuroSAT RGB zip?"
            )
        if len(names) == MAX_IMAGES:
            raise FormatError(f"{path}: more than {MAX_IMAGES} images; is this EuroSAT.zip?")
        names.append(member.name)
    names.sort()
    labels = np.fromiter((index[n.split("/")[1]] for n in names), np.int64, len(names))
    empty = [c for c, i in index.items() if not np.any(labels == i)]
    if empty:
        raise FormatError(
            f"{path}: no image under {ROOT}/{empty[0]}/ ({len(empty)} class(es) empty); is "
            "this the EuroSAT RGB zip (EuroSAT.zip, not EuroSATallBands.zip)?"
        )
    return names, labels


def plan_split(
    names: list[str], labels: np.ndarray, split: str, test_fraction: float, seed: int
) -> list[str]:
    """The members of ``split`` (``train`` or ``test``), sorted by name (module docstring)."""
    from ..subsplits import stratified_parts

    parts = stratified_parts(labels, {"test": test_fraction}, seed, rest="train", what="eurosat")
    return [names[i] for i in parts[split].tolist()]


def _records(path: Path, chosen: set[str], index: dict[str, int], seen: _Pass) -> Iterator[Record]:
    from ..archives import iter_files

    seen.names.clear()
    for member, reader in iter_files(path, select=lambda m: m.name in chosen):
        if member.size > MAX_IMAGE_BYTES:
            raise FormatError(
                f"{path}!{member.name}: {member.size} bytes, a 64x64 image holds at most 1 MB"
            )
        seen.names.append(member.name)
        yield Record(member.name, index[member.name.split("/")[1]], reader.read(member.size))


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Format ``eurosat``: split ``train`` or ``test`` of ``EuroSAT.zip`` (role ``archive``),
    through the image sink (module docstring).

    Raises:
        FormatError: an unknown class folder, an empty class, a count not the catalog's.
        CatalogError: another split, or bad options.
    """
    request.check_split(SPLITS, "the EuroSAT reader (drawn from the one zip)")
    index = _classes(request)
    opts = ImageOptions.parse(request)
    fraction, seed = _fraction(request), request.int_option("seed", low=0) or 0
    path = Path(request.file("archive"))
    names, labels = _listing(path, index)
    try:
        chosen = plan_split(names, labels, request.split, fraction, seed)
    except ArgumentError as exc:  # too few images for the fraction
        raise FormatError(f"{path}: {len(names)} images cannot be split: {exc}") from None
    seen = _Pass()
    records = functools.partial(_records, path, set(chosen), index, seen)
    written = write_images(ImageSource(str(path), records), opts, out, request.progress)
    dropped = {s.path for s in written.skipped}
    kept = [n for n in seen.names if n not in dropped]
    if len(kept) != written.count:
        raise FormatError(f"{path}: {written.count} images written, {len(kept)} listed")
    extras: dict[str, JSON] = {"split_seed": seed, "test_fraction": fraction, "members": kept}
    return ReadResult(
        classes=tuple(index),
        skipped=written.skipped,
        count=written.count,
        extras={**extras, **written.extras},
    )
