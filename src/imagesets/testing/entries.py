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
import hashlib
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from .._registry import ALIASES
from . import eurosat, flowers102, food101, imagenette, oxford_pet, stl10, tiny_imagenet
from .edition_writers import (  # re-exported: the writers' types and helpers live there
    FakeFiles,
    FakeRequest,
    Writer,
    fake_counts,
    write_cifar_binary_edition,
    write_cifar_python_edition,
    write_emnist_edition,
    write_idx_edition,
    write_ilsvrc2012_edition,
    write_petimages_edition,
    write_svhn_full_edition,
    write_svhn_mat_edition,
)

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
    "tiny-imagenet": tiny_imagenet.write_tiny_imagenet_edition,
}
FAKE_WRITERS.update({old: FAKE_WRITERS[new] for old, new in ALIASES.items() if new in FAKE_WRITERS})


# --------------------------------------------------------------------------- retargeting


class Retargeted(NamedTuple):
    """:func:`retarget_with_fakes`'s result: the entry and, per edition name, what was written."""

    entry: dict[str, Any]
    fakes: dict[str, FakeFiles]


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
