"""Retarget any catalog entry at small fake files in its real formats, for tests.

:data:`FAKE_WRITERS` maps a format name to a writer that writes small fake files for one
edition of an entry, named as that edition's files, and says what it wrote (:class:`FakeFiles`:
the per-split counts, option updates such as CIFAR's member md5s, notes, and the data itself).
:func:`retarget` writes the fakes of an entry and returns a copy of the entry that describes
them: every file's size, sha256 and md5 are the fakes', its URLs point at ``base_url``, the split
counts are the fakes', and the name is ``fake-<name>`` without aliases, so
:func:`imagesets.catalog.register` accepts it next to the original::

    entry = retarget(catalog.builtin_entry("cifar10"), tmp / "files", server.url("/fake/"))
    for f in entry["editions"][0]["files"]:
        server.add("/fake/" + f["name"], (tmp / "files" / f["name"]).read_bytes())
    catalog.register(entry)
    imagesets.load("fake-cifar10")

An entry with ``manual`` keeps it (its files are imported with :func:`imagesets.import_files`
from ``folder``, never downloaded). The ``sample`` edition (files bundled in the package) is
dropped. A format with no writer raises :class:`LookupError` naming the format.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

import numpy as np

from .._registry import ALIASES
from . import eurosat, flowers102, food101, imagenette, oxford_pet, stl10

__all__ = [
    "FAKE_WRITERS",
    "FakeFiles",
    "FakeRequest",
    "Retargeted",
    "Writer",
    "fake_counts",
    "retarget",
    "retarget_with_fakes",
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


class Retargeted(NamedTuple):
    """:func:`retarget_with_fakes`'s result: the entry and, per edition name, what was written."""

    entry: dict[str, Any]
    fakes: dict[str, FakeFiles]


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


#: format name -> its fake writer. A format missing here makes :func:`retarget` raise
#: :class:`LookupError` naming it (image folders are ``local`` editions: nothing to retarget).
FAKE_WRITERS: dict[str, Writer] = {
    "idx": write_idx_edition,
    "emnist": write_emnist_edition,
    "cifar-python": write_cifar_python_edition,
    "cifar-binary": write_cifar_binary_edition,
    "svhn-mat": write_svhn_mat_edition,
    "svhn-full": write_svhn_full_edition,
    "ilsvrc2012": write_ilsvrc2012_edition,
    "petimages": write_petimages_edition,
    "stl10-binary": stl10.write_stl10_edition,
    "imagenette": imagenette.write_imagenette_edition,
    "oxford-pet": oxford_pet.write_oxford_pet_edition,
    "eurosat": eurosat.write_eurosat_edition,
    "food101": food101.write_food101_edition,
    "flowers102": flowers102.write_flowers102_edition,
}
FAKE_WRITERS.update({old: FAKE_WRITERS[new] for old, new in ALIASES.items() if new in FAKE_WRITERS})


# --------------------------------------------------------------------------- retargeting


def _editions(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry's editions, the one-edition shorthand (top-level ``format`` and ``files``)
    turned into its one edition."""
    if "editions" in entry:
        editions: list[dict[str, Any]] = entry["editions"]
        return editions
    splits = entry.get("splits", {})
    return [
        {
            "name": "default",
            "format": entry.pop("format", None),
            "files": entry.pop("files", []),
            "options": entry.pop("options", {}),
            "splits": {s: v.pop("files", {}) for s, v in splits.items() if isinstance(v, dict)},
        }
    ]


def _choose(editions: list[dict[str, Any]], name: str | None, entry: str) -> list[dict[str, Any]]:
    if name is None:
        return editions
    chosen = [e for e in editions if e.get("name", "default") == name]
    if not chosen:
        known = [e.get("name", "default") for e in editions]
        raise ValueError(f"entry {entry!r} has no edition {name!r}; its editions are {known}")
    return chosen


def _writer(fmt: Any, edition: str, entry: str) -> Writer:
    writer = FAKE_WRITERS.get(fmt) if isinstance(fmt, str) else None
    if writer is None:
        raise LookupError(
            f"no fake writer for format {fmt!r} (entry {entry!r}, edition {edition!r}); add one "
            f"to imagesets.testing.entries.FAKE_WRITERS (known: {', '.join(sorted(FAKE_WRITERS))})"
        )
    return writer


def _retarget_file(f: dict[str, Any], folder: Path, base: str) -> None:
    """Size, sha256 and md5 of the fake file (those the original gives: an md5-only file stays
    md5-only), and one URL under ``base``."""
    data = (folder / f["name"]).read_bytes()
    md5_only = "sha256" not in f
    if not md5_only:
        f["sha256"] = hashlib.sha256(data).hexdigest()
    if not md5_only or "size" in f:
        f["size"] = len(data)
    if md5_only or "md5" in f:
        f["md5"] = hashlib.md5(data, usedforsecurity=False).hexdigest()
    f["urls"] = [base + quote(f["name"])]


def retarget_with_fakes(
    entry: Mapping[str, Any],
    folder: Path,
    base_url: str,
    *,
    edition: str | None = None,
    counts: Mapping[str, int] | None = None,
    seed: int | None = None,
) -> Retargeted:
    """:func:`retarget`, also returning each edition's :class:`FakeFiles` (the data written)."""
    out = copy.deepcopy(dict(entry))
    original = str(out.get("name", "entry"))
    seed = zlib.crc32(original.encode()) % 10_000 if seed is None else seed
    folder.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    editions = _choose(_editions(out), edition, original)
    written: dict[str, str] = {}
    fakes: dict[str, FakeFiles] = {}
    notes: list[str] = []
    for ed in editions:
        name = str(ed.get("name", "default"))
        writer = _writer(ed.get("format"), name, original)
        wanted = fake_counts(list(ed["splits"]), counts)
        fake = writer(FakeRequest(out, ed, folder, wanted, seed))
        for f in ed.get("files", []):
            if written.setdefault(f["name"], name) != name:
                raise ValueError(
                    f"entry {original!r}: file {f['name']!r} belongs to editions "
                    f"{written[f['name']]!r} and {name!r}; retarget one edition at a time"
                )
            _retarget_file(f, folder, base)
        ed["options"] = {**ed.get("options", {}), **fake.options}
        fakes[name] = fake
        notes += [n for n in fake.notes if n not in notes]
    first = fakes[str(editions[0].get("name", "default"))].counts
    for split, value in out.get("splits", {}).items():
        if split in first:
            value["count"] = first[split]
    for ed in editions:
        differ = {
            s: n
            for s, n in fakes[str(ed.get("name", "default"))].counts.items()
            if out["splits"][s]["count"] != n
        }
        if differ:
            ed["counts"] = differ
        else:
            ed.pop("counts", None)
    out.update(name=f"fake-{original}", aliases=[], editions=editions)
    out.pop("sample", None)
    out["description"] = (
        f"Small fake files in the formats of {original!r}, written by imagesets.testing.entries"
        + (": " + "; ".join(notes) if notes else "")
    )
    return Retargeted(out, fakes)


def retarget(
    entry: Mapping[str, Any],
    folder: Path,
    base_url: str,
    *,
    edition: str | None = None,
    counts: Mapping[str, int] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Write small fakes of ``entry``'s files into ``folder`` and return the entry retargeted.

    Args:
        entry: a catalog entry as plain data (``catalog.builtin_entry(name)`` or a user's);
            it is not changed.
        folder: where the fake files go, named as the entry's files.
        base_url: every file's only URL becomes ``base_url + name``.
        edition: keep only this edition (default: every edition, each written).
        counts: split -> wanted size (default :data:`SMALL_COUNTS`); a format that fixes sizes
            rounds them (see each writer).
        seed: default derived from the entry's name (the same fakes on every run).

    Returns:
        a new entry named ``fake-<name>`` without aliases or ``sample``, with the fakes' sizes,
        hashes (those the original gives), URLs, split counts and option updates (CIFAR's
        ``member_md5``); ``manual`` kept. Register it with :func:`imagesets.catalog.register`.

    Raises:
        LookupError: an edition's format has no writer in :data:`FAKE_WRITERS`.
        ValueError: an edition the writer cannot fake (unknown split or role, no such edition).
    """
    return retarget_with_fakes(
        entry, folder, base_url, edition=edition, counts=counts, seed=seed
    ).entry
