"""Cats & Dogs (PetImages zip): the member layout, the audit and the seeded train/test split.

:func:`audit` reads the zip once and reports both "bad file" rules (TFDS's ``no_jfif`` and
``undecodable``); :func:`stratified_split` and :func:`plan_split` choose each split's members.
See :mod:`imagesets.formats.petimages` (which re-exports every public name) for the rules.
"""

from __future__ import annotations

import functools
import itertools
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from .._parallel import unit_engine
from ..archives import Member, iter_files, members, safe_name
from ..errors import FormatError
from ..imaging import UndecodableImageError, check, default_workers, imap_bounded
from ..subsplits import exact, half_up, take_runs
from . import JSON, Skip

__all__ = [
    "CLASSES",
    "SPLITS",
    "TFDS_JFIF_WINDOW",
    "Audit",
    "SplitPlan",
    "audit",
    "plan_split",
    "stratified_split",
]

ROOT = "PetImages"
CLASSES = ("Cat", "Dog")
SPLITS = ("train", "test")
TFDS_JFIF_WINDOW = 512  # what ZipExtFile.peek(10) returns at most
_SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})


# --- layout ------------------------------------------------------------------------------------


def _classify(archive: str, name: str) -> str | None:
    """None for an image member, else why it is ignored; FormatError for a foreign layout."""
    parts = name.split("/")
    if len(parts) == 1:
        return "top_level"  # CDLA-Permissive-2.0.pdf, readme[1].txt
    if len(parts) != 3 or parts[0] != ROOT or parts[1] not in CLASSES:
        raise FormatError(
            f"{archive}: member {name!r} is not where a PetImages zip keeps files; expected "
            f"{ROOT}/<{'|'.join(CLASSES)}>/<file> or a file at the top level; this is not "
            "kagglecatsanddogs_5340.zip: delete it and download it again"
        )
    return "system" if parts[2].lower() in _SYSTEM_FILES else None


def _label(name: str) -> int:
    return CLASSES.index(name.split("/")[1])


def _order_key(name: str) -> tuple[int, int, int, str]:
    """Class, then numbered files by number (``2.jpg`` before ``10.jpg``), then others by name."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    return (_label(name), 0, int(stem), name) if stem.isdigit() else (_label(name), 1, 0, name)


# --- audit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """What one pass over the zip found.

    Attributes:
        archive: the zip's path.
        members: the image members (``PetImages/<class>/<file>``), by class then file number.
        no_jfif: members without ``b"JFIF"`` in their first ``jfif_window`` bytes (TFDS's rule).
        undecodable: member -> reason it does not decode (``"zero bytes"``, ``"truncated"``...).
        shapes: member -> ``(height, width)`` for every member that decodes.
        ignored: member -> reason (``"system"`` for Thumbs.db, ``"top_level"``); never read.
        jfif_window: the number of leading bytes the JFIF rule looked at.
    """

    archive: Path
    members: tuple[str, ...]
    no_jfif: frozenset[str]
    undecodable: Mapping[str, str]
    shapes: Mapping[str, tuple[int, int]]
    ignored: Mapping[str, str]
    jfif_window: int

    def labels(self) -> NDArray[np.int64]:
        """int64 ``(len(members),)``: 0 for ``Cat``, 1 for ``Dog``."""
        return np.fromiter((_label(m) for m in self.members), np.int64, len(self.members))

    @property
    def per_class(self) -> dict[str, int]:
        """Class name -> number of image members."""
        counts = np.bincount(self.labels(), minlength=len(CLASSES))
        return {name: int(n) for name, n in zip(CLASSES, counts, strict=True)}

    @property
    def no_jfif_but_decodes(self) -> frozenset[str]:
        """Members TFDS drops although they decode (PNG, BMP, GIF, Exif-only JPEG...)."""
        return frozenset(m for m in self.no_jfif if m not in self.undecodable)

    @property
    def jfif_but_undecodable(self) -> frozenset[str]:
        """Members TFDS keeps although they do not decode (a truncated JPEG...)."""
        return frozenset(m for m in self.undecodable if m not in self.no_jfif)

    def summary(self) -> dict[str, JSON]:
        """The counts, for a manifest (JSON-ready)."""
        return {
            "images": len(self.members),
            "per_class": self.per_class,
            "decodable": len(self.members) - len(self.undecodable),
            "undecodable": len(self.undecodable),
            "no_jfif": len(self.no_jfif),
            "no_jfif_but_decodes": len(self.no_jfif_but_decodes),
            "jfif_but_undecodable": len(self.jfif_but_undecodable),
            "jfif_window": self.jfif_window,
            "ignored": dict(sorted(self.ignored.items())),
        }


class _Finding(NamedTuple):
    name: str
    jfif: bool
    shape: tuple[int, int] | None
    reason: str | None


def _inspect(name: str, data: bytes, window: int) -> _Finding:
    jfif = b"JFIF" in data[:window]
    try:
        return _Finding(name, jfif, check(data, source=name), None)
    except UndecodableImageError as exc:
        return _Finding(name, jfif, None, exc.reason)


#: Members per unit of a distributed audit.
AUDIT_UNIT = 256


def _inspect_unit(path: Path, window: int, names: tuple[str, ...]) -> list[_Finding]:
    """One range of members, read by random access from the zip and inspected (a Ray task)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {safe_name(info.filename, str(path)): info for info in zf.infolist()}
            return [_inspect(name, zf.read(infos[name]), window) for name in names]
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError) as exc:
        raise FormatError(
            f"{path}: reading members {names[0]!r}..{names[-1]!r} failed ({exc}): the zip is "
            "corrupt or changed while it was read; delete it and download it again"
        ) from exc


def _findings(path: Path, window: int, workers: int, ignored: dict[str, str]) -> list[_Finding]:
    def admit(member: Member) -> bool:
        reason = _classify(str(path), member.name)
        if reason is not None:
            ignored[member.name] = reason
        return reason is None

    engine = unit_engine.get()
    if engine is not None:  # a distributed engine: tasks read ranges of members themselves
        names = [m.name for m in members(path) if not m.is_dir and m.name and admit(m)]
        units: Iterable[tuple[str, ...]] = (
            tuple(names[i : i + AUDIT_UNIT]) for i in range(0, len(names), AUDIT_UNIT)
        )
        task = functools.partial(_inspect_unit, path, window)
        return list(itertools.chain.from_iterable(engine(task, units)))
    items = ((m.name, r.read()) for m, r in iter_files(path, select=admit))
    return list(imap_bounded(lambda item: _inspect(*item, window), items, workers))


def audit(
    zip_path: Path, *, jfif_window: int = TFDS_JFIF_WINDOW, workers: int | None = None
) -> Audit:
    """Read the zip once (streamed, nothing extracted) and check every image member.

    Args:
        zip_path: ``kagglecatsanddogs_5340.zip`` or a fake in the same layout.
        jfif_window: leading bytes searched for ``b"JFIF"`` (512: TFDS's rule as it runs; 10:
            its literal reading).
        workers: decoding threads (default: the cores this process may use).

    Raises:
        UnsafeArchiveError: an unsafe member name or type (nothing was read).
        FormatError: a member outside the PetImages layout, a duplicate name, a corrupt zip.
    """
    path = Path(zip_path)
    ignored: dict[str, str] = {}
    found = _findings(path, jfif_window, workers or default_workers(), ignored)
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        twice = sorted(n for n, k in Counter(names).items() if k > 1)
        raise FormatError(f"{path}: members {twice[:5]} appear twice; the zip is not genuine")
    return Audit(
        archive=path,
        members=tuple(sorted(names, key=_order_key)),
        no_jfif=frozenset(f.name for f in found if not f.jfif),
        undecodable={f.name: f.reason for f in found if f.reason is not None},
        shapes={f.name: f.shape for f in found if f.shape is not None},
        ignored=ignored,
        jfif_window=jfif_window,
    )


# --- split -------------------------------------------------------------------------------------


def _test_count(n: int, test_fraction: float) -> int:
    """``n * test_fraction`` rounded half up, exactly, on the decimal the caller wrote."""
    return half_up(exact(test_fraction) * n)


def _check_split_args(labels: NDArray[Any], test_fraction: float, seed: int) -> None:
    if labels.ndim != 1 or (labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0)):
        raise ValueError(
            f"stratified_split: labels must be a 1-D array of non-negative integers, found "
            f"{labels.dtype} {labels.shape}"
        )
    if isinstance(test_fraction, bool) or not 0 <= test_fraction <= 1:
        raise ValueError(
            f"stratified_split: test_fraction must be in [0, 1], found {test_fraction}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"stratified_split: seed must be a non-negative integer, found {seed!r}")


def stratified_split(
    labels: npt.ArrayLike, test_fraction: float = 0.2, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A seeded, class-stratified train/test split of ``range(len(labels))``.

    Class ``c`` with ``n`` items puts ``round_half_up(n * test_fraction)`` of them in the test
    split: the first ones of a permutation seeded with ``[seed, c]``
    (:func:`imagesets.subsplits.permutation`, numpy's raw bit stream). The same inputs give the
    same split on every machine. (Unlike :func:`imagesets.subsplits.stratified_parts` each
    class is rounded on its own, as this dataset's published split always was.)

    Returns:
        ``(train_idx, test_idx)``, int64, each sorted ascending, disjoint, together complete.

    >>> labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> train, test = stratified_split(labels, 0.2, seed=0)
    >>> len(train), len(test), labels[test].tolist()
    (8, 2, [0, 1])
    """
    arr = np.asarray(labels)
    _check_split_args(arr, test_fraction, seed)
    per_class = np.unique(arr, return_counts=True)[1]
    tests = [_test_count(int(n), test_fraction) for n in per_class]
    counts = np.array([[t, n - t] for t, n in zip(tests, per_class, strict=True)], np.int64)
    test, train = take_runs(arr, counts.reshape(-1, 2), seed)
    return train, test


@dataclass(frozen=True)
class SplitPlan:
    """One split of an audited zip.

    Attributes:
        members: the decodable members of the split, in output order.
        labels: int64 ``(len(members),)``.
        skipped: the split's members that do not decode, with their reasons.
    """

    members: tuple[str, ...]
    labels: NDArray[np.int64]
    skipped: tuple[Skip, ...]


def plan_split(
    result: Audit, split: str, *, test_fraction: float = 0.2, seed: int = 0
) -> SplitPlan:
    """The members of ``split`` (``"train"`` or ``"test"``) of an audited zip."""
    if split not in SPLITS:
        raise ValueError(f"plan_split: split must be one of {SPLITS}, found {split!r}")
    chosen = stratified_split(result.labels(), test_fraction, seed)[SPLITS.index(split)]
    names = [result.members[i] for i in chosen]
    kept = tuple(n for n in names if n not in result.undecodable)
    skipped = tuple(Skip(n, result.undecodable[n]) for n in names if n not in kept)
    labels = np.fromiter((_label(n) for n in kept), np.int64, len(kept))
    return SplitPlan(kept, labels, skipped)
