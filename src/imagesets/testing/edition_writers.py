"""The fake writers of the built-in formats, and the types every fake writer uses.

A writer takes a :class:`FakeRequest` (an entry, one of its editions, a folder, the wanted split
counts, a seed), writes small files in the edition's real format named as its files, and returns
:class:`FakeFiles`. :data:`imagesets.testing.entries.FAKE_WRITERS` maps each format to its writer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = [
    "SMALL_COUNTS",
    "FakeFiles",
    "FakeRequest",
    "Writer",
    "fake_counts",
    "write_cifar_binary_edition",
    "write_cifar_python_edition",
    "write_emnist_edition",
    "write_idx_edition",
    "write_ilsvrc2012_edition",
    "write_petimages_edition",
    "write_svhn_full_edition",
    "write_svhn_mat_edition",
]

#: The split sizes a writer is asked for when the caller gives none (other splits: 8).
SMALL_COUNTS: Mapping[str, int] = {"train": 24, "test": 12, "val": 12, "validation": 12}
_OTHER = 8


@dataclass(frozen=True)
class FakeFiles:
    """What a writer wrote for one edition.

    Attributes:
        counts: split -> the number of examples the catalog must expect (for formats whose
            reader reports skipped files, such as PetImages' undecodable ones, they are counted).
        options: edition options to set in the retargeted entry (CIFAR's ``member_md5`` of the
            fake members), merged over the entry's.
        notes: facts a test may need to know (``"manual: import instead of download"``, ...).
        facts: split (or another key) -> what was written, format-specific: CIFAR's
            :class:`~imagesets.testing.cifar.FakeSplit`, SVHN's ``(images, raw_labels)``,
            :class:`~imagesets.testing.svhn_full.FakeSvhnFull`,
            :class:`~imagesets.testing.imagenet.FakeIlsvrc`,
            :class:`~imagesets.testing.petimages.FakePetImages`, IDX's ``(images, labels)``.
    """

    counts: dict[str, int]
    options: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)


class FakeRequest(NamedTuple):
    """What a writer is asked to write: the fakes of ``edition`` of ``entry`` into ``folder``
    for the split ``counts``, from ``seed``."""

    entry: Mapping[str, Any]
    edition: Mapping[str, Any]
    folder: Path
    counts: Mapping[str, int]
    seed: int


#: ``writer(FakeRequest(entry, edition, folder, counts, seed)) -> FakeFiles``: ``entry`` and
#: ``edition`` are plain data (``edition`` is one of ``entry["editions"]``), ``counts`` the
#: wanted split sizes (a writer whose format fixes the sizes picks the nearest it can and
#: returns them).
Writer = Callable[[FakeRequest], FakeFiles]


# --------------------------------------------------------------------------- helpers


def _roles(edition: Mapping[str, Any], split: str) -> Mapping[str, str]:
    roles: Mapping[str, str] = edition["splits"][split]
    return roles


def _file(edition: Mapping[str, Any], split: str, role: str) -> str:
    """The file name of ``role`` in ``split``; a clear error when the edition lacks it."""
    roles = _roles(edition, split)
    if role not in roles:
        raise ValueError(
            f"edition {edition.get('name', 'default')!r} (format {edition['format']!r}): split "
            f"{split!r} gives roles {sorted(roles)}, the fake writer needs {role!r}"
        )
    return roles[role]


def _only_splits(edition: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
    splits = list(edition["splits"])
    extra = [s for s in splits if s not in allowed]
    if extra:
        raise ValueError(
            f"edition {edition.get('name', 'default')!r} (format {edition['format']!r}) has "
            f"splits {extra}; the fake writer knows only {list(allowed)}"
        )
    return splits


def fake_counts(splits: Sequence[str], wanted: Mapping[str, int] | None = None) -> dict[str, int]:
    """Small sizes for ``splits``: ``wanted`` where given, else :data:`SMALL_COUNTS` (8 for a
    split it does not name)."""
    wanted = wanted or {}
    return {s: int(wanted.get(s, SMALL_COUNTS.get(s, _OTHER))) for s in splits}


# --------------------------------------------------------------------------- writers


def write_idx_edition(req: FakeRequest) -> FakeFiles:
    """IDX: per split ``images`` uint8 ``(n, *image_shape)`` and ``labels`` uint8 ``(n,)`` in
    ``0..len(classes)-1`` (gzip-compressed when the file name ends in ``.gz``). With the
    option ``label_columns`` (QMNIST), ``labels`` is an int32 table ``(n, K)``: column 0 the
    class, the others seeded integers in 0..2599. Facts: split -> ``(images, labels)``."""
    entry, edition, folder, counts, seed = req
    from .idx import idx_bytes

    shape = tuple(entry.get("image_shape") or (28, 28))
    classes = max(1, len(entry.get("classes", ())) or 10)
    columns = edition.get("options", {}).get("label_columns")
    facts: dict[str, Any] = {}
    for k, split in enumerate(edition["splits"]):
        n = counts[split]
        rng = np.random.default_rng([seed, k])
        images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        labels = (np.arange(n) % classes).astype(np.uint8 if classes <= 256 else np.int32)
        rng.shuffle(labels)
        if columns:
            extra = rng.integers(0, 2600, size=(n, len(columns) - 1), dtype=np.int32)
            labels = np.column_stack([labels.astype(np.int32), extra])
        for role, arr in (("images", images), ("labels", labels)):
            name = _file(edition, split, role)
            (folder / name).write_bytes(idx_bytes(arr, compress=name.endswith(".gz")))
        facts[split] = (images, labels)
    return FakeFiles(dict(counts), facts=facts)


def write_emnist_edition(req: FakeRequest) -> FakeFiles:
    """EMNIST ``gzip.zip`` for the edition's option ``variant``: per split upright images
    uint8 ``(n, 28, 28)`` (stored transposed) and labels among the entry's named classes, and
    the mapping file of the entry's classes. Facts: split -> ``(upright images, labels)``."""
    entry, edition, folder, counts, seed = req
    from .emnist import fake_emnist_split, write_fake_emnist

    splits = _only_splits(edition, ("train", "test"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(f"a fake EMNIST edition has one zip for every split, found {archives}")
    classes = list(entry.get("classes") or [str(d) for d in range(10)])
    data = {s: fake_emnist_split(counts[s], classes, seed + k) for k, s in enumerate(splits)}
    variant = str(edition.get("options", {}).get("variant"))
    write_fake_emnist(folder / archives.pop(), variant, data, classes)
    return FakeFiles(dict(counts), facts=dict(data))


_Variant = Literal["cifar10", "cifar100"]


def _cifar_variant(edition: Mapping[str, Any]) -> _Variant:
    variant = edition.get("options", {}).get("variant")
    if variant not in ("cifar10", "cifar100"):
        raise ValueError(
            f"edition {edition.get('name', 'default')!r}: option 'variant' must be 'cifar10' or "
            f"'cifar100' for a fake CIFAR archive, found {variant!r}"
        )
    return "cifar10" if variant == "cifar10" else "cifar100"


def _cifar_names(entry: Mapping[str, Any], variant: _Variant) -> dict[str, list[str]]:
    from .cifar import fake_names

    names = fake_names(variant)
    if entry.get("classes"):
        names["classes"] = list(entry["classes"])
    superclasses = entry.get("label_names", {}).get("superclasses")
    if variant == "cifar100" and superclasses:
        names["superclasses"] = list(superclasses)
    return names


def _member_md5(path: Path) -> dict[str, str]:
    """member basename -> md5 of each regular member of the tar at ``path``."""
    out: dict[str, str] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member) if member.isfile() else None
            if fh is not None:
                name = member.name.rsplit("/", 1)[-1]
                out[name] = hashlib.md5(fh.read(), usedforsecurity=False).hexdigest()
    return out


def _write_cifar(
    entry: Mapping[str, Any],
    edition: Mapping[str, Any],
    folder: Path,
    counts: Mapping[str, int],
    seed: int,
    python: bool,
) -> FakeFiles:
    from .cifar import make_fake_cifar, write_cifar_binary, write_cifar_python

    _only_splits(edition, ("train", "test"))
    variant = _cifar_variant(edition)
    archives = {_file(edition, s, "archive") for s in edition["splits"]}
    if len(archives) != 1:
        raise ValueError(
            f"a fake CIFAR edition has one archive for train and test, found {archives}"
        )
    path = folder / archives.pop()
    data = make_fake_cifar(variant, counts.get("train", 0), counts.get("test", 0), seed)
    write = write_cifar_python if python else write_cifar_binary
    write(path, variant, data["train"], data["test"], names=_cifar_names(entry, variant))
    options: dict[str, Any] = {}
    if python and "member_md5" in edition.get("options", {}):
        options["member_md5"] = _member_md5(path)
    return FakeFiles({s: counts[s] for s in edition["splits"]}, options, facts=dict(data))


def write_cifar_python_edition(req: FakeRequest) -> FakeFiles:
    """CIFAR python archive (option ``variant``) with the entry's class and superclass names;
    ``member_md5`` is replaced by the fake members' md5s. Facts: split -> ``FakeSplit``."""
    return _write_cifar(*req, python=True)


def write_cifar_binary_edition(req: FakeRequest) -> FakeFiles:
    """CIFAR binary archive; the same seed gives the same arrays as the python edition."""
    return _write_cifar(*req, python=False)


def write_svhn_mat_edition(req: FakeRequest) -> FakeFiles:
    """One ``*_32x32.mat`` per split (seed ``seed + k`` for the ``k``-th split). Facts: split ->
    ``(images (n, 32, 32, 3) uint8, raw labels (n,) uint8 in 1..10)``."""
    _entry, edition, folder, counts, seed = req
    from .matlab import fake_svhn_images, write_fake_svhn

    facts: dict[str, Any] = {}
    for k, split in enumerate(edition["splits"]):
        n = counts[split]
        labels = write_fake_svhn(folder / _file(edition, split, "mat"), n, seed=seed + k)
        facts[split] = (fake_svhn_images(n, seed + k), labels)
    return FakeFiles(dict(counts), facts=facts)


def write_svhn_full_edition(req: FakeRequest) -> FakeFiles:
    """One full-numbers ``.tar.gz`` per split (folder ``<split>/``, seed ``seed + k``). Facts:
    split -> ``FakeSvhnFull``."""
    _entry, edition, folder, counts, seed = req
    from .svhn_full import write_fake_svhn_full

    facts: dict[str, Any] = {}
    for k, split in enumerate(edition["splits"]):
        path = folder / _file(edition, split, "archive")
        facts[split] = write_fake_svhn_full(path, counts[split], seed=seed + k, split=split)
    return FakeFiles(dict(counts), facts=facts)


def write_ilsvrc2012_edition(req: FakeRequest) -> FakeFiles:
    """ILSVRC-2012: a train tar of the 4 class tars of
    :data:`~imagesets.testing.imagenet.DEFAULT_CLASSES` (``ceil(train / 4)`` images each, so the
    train count is rounded up to a multiple of 4), a val tar and a devkit. Labels are the real
    class indices (0, 65, 230 and 999), so the entry keeps its 1,000 classes. No image is
    broken: the counts are the decodable images. Facts: ``"ilsvrc"`` -> ``FakeIlsvrc`` (its
    paths are the files in ``folder``; a file the edition does not name is gone)."""
    _entry, edition, folder, counts, seed = req
    from .imagenet import DEFAULT_CLASSES, write_fake_ilsvrc

    splits = _only_splits(edition, ("train", "val"))
    per_class = max(1, math.ceil(counts.get("train", 8) / len(DEFAULT_CLASSES)))
    n_val = counts.get("val", 8)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fake = write_fake_ilsvrc(Path(tmp), per_class=per_class, n_val=n_val, seed=seed)
        written = {("train", "archive"): fake.train, ("val", "archive"): fake.val}
        written[("val", "devkit")] = fake.devkit
        for split in splits:
            for role in _roles(edition, split):
                if (split, role) not in written:
                    raise ValueError(
                        f"edition {edition.get('name', 'default')!r}: the fake ILSVRC-2012 "
                        f"writer has no file for split {split!r} role {role!r}"
                    )
                shutil.copyfile(written[(split, role)], folder / _file(edition, split, role))
    moved = {f"{s}_{r}": folder / _file(edition, s, r) for s in splits for r in _roles(edition, s)}
    fake = dataclasses.replace(
        fake,
        train=moved.get("train_archive", fake.train),
        val=moved.get("val_archive", fake.val),
        devkit=moved.get("val_devkit", fake.devkit),
    )
    found = {"train": len(fake.train_labels), "val": len(fake.val_labels)}
    notes = (
        "manual: import instead of download",
        f"train holds {per_class} images of each of the classes {list(DEFAULT_CLASSES)}",
    )
    return FakeFiles({s: found[s] for s in splits}, notes=notes, facts={"ilsvrc": fake})


def _test_count(n: int, fraction: float) -> int:
    """``n * fraction`` rounded half up (how PetImages' stratified split sizes each class)."""
    return math.floor(Fraction(repr(float(fraction))) * n + Fraction(1, 2))


def write_petimages_edition(req: FakeRequest) -> FakeFiles:
    """A PetImages zip with ``ceil((train + test) / 2)`` files per class (at least 8), the real
    defects included; counts follow the edition's ``test_fraction`` (0.2) per class and include
    the undecodable files (the reader lists them under ``skipped``). Facts: ``"zip"`` ->
    ``FakePetImages``."""
    _entry, edition, folder, counts, seed = req
    from .petimages import write_fake_petimages

    splits = _only_splits(edition, ("train", "test"))
    archives = {_file(edition, s, "archive") for s in splits}
    if len(archives) != 1:
        raise ValueError(
            f"a fake PetImages edition has one zip for train and test, found {archives}"
        )
    per_class = max(8, math.ceil(sum(counts.get(s, 0) for s in ("train", "test")) / 2))
    fake = write_fake_petimages(folder / archives.pop(), per_class=per_class, seed=seed)
    test = 2 * _test_count(per_class, edition.get("options", {}).get("test_fraction", 0.2))
    found = {"train": 2 * per_class - test, "test": test}
    notes = (f"{len(fake.undecodable)} undecodable files are counted and listed as skipped",)
    return FakeFiles({s: found[s] for s in splits}, notes=notes, facts={"zip": fake})
