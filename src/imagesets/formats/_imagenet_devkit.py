"""ILSVRC-2012 class index and devkit: wnids, names, and the validation labels.

:func:`imagenet_classes` gives the 1,000 classes in class-index order (sorted wnids, names from
keras's ``imagenet_class_index.json`` shipped in ``imagesets/data``). :func:`_val_labels` maps
the devkit's ``data/ILSVRC2012_validation_ground_truth.txt`` (ILSVRC2012_IDs) to class indices
through the leaf synsets of ``data/meta.mat``. See :mod:`imagesets.formats.imagenet`, which
re-exports :data:`N_CLASSES` and :func:`imagenet_classes`.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..archives import iter_files
from ..errors import FormatError
from .matlab import MatStruct, MatValue, read_variable

__all__ = ["N_CLASSES", "imagenet_classes"]

N_CLASSES = 1000
_INDEX_FILE = "imagenet_class_index.json"
_WNID = re.compile(r"n\d{8}")
_DIGITS = re.compile(r"[0-9]{1,9}")
_DEVKIT_DATA = "ILSVRC2012_devkit_t12/data/"
_META = _DEVKIT_DATA + "meta.mat"
_GROUND_TRUTH = _DEVKIT_DATA + "ILSVRC2012_validation_ground_truth.txt"


# --- class index -------------------------------------------------------------------------------


def _index_error(source: str, expected: str, found: object) -> FormatError:
    return FormatError(
        f"{source}: expected {expected}, found {found}; reinstall imagesets (the class index "
        "ships with it)"
    )


def _parse_index(raw: object, source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(wnids, names) from keras's ``{"0": [wnid, name], ...}``, checked complete and sorted."""
    keys = [str(i) for i in range(N_CLASSES)]
    if not isinstance(raw, dict) or sorted(raw) != sorted(keys):
        found = f"{len(raw)} keys" if isinstance(raw, dict) else type(raw).__name__
        raise _index_error(source, f'an object with keys "0".."{N_CLASSES - 1}"', found)
    pairs = [raw[k] for k in keys]
    bad = next((p for p in pairs if not _is_entry(p)), None)
    if bad is not None:
        raise _index_error(source, "[wnid, name] pairs with wnids like n01440764", repr(bad))
    wnids = tuple(p[0] for p in pairs)
    if any(a >= b for a, b in itertools.pairwise(wnids)):
        raise _index_error(source, "wnids in strictly increasing order", "an unsorted list")
    return wnids, tuple(p[1] for p in pairs)


def _is_entry(pair: object) -> bool:
    return (
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(x, str) for x in pair)
        and _WNID.fullmatch(pair[0]) is not None
    )


@functools.cache
def _class_index() -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = (resources.files("imagesets") / "data" / _INDEX_FILE).read_text("utf-8")
    return _parse_index(json.loads(text), f"imagesets/data/{_INDEX_FILE}")


def imagenet_classes() -> tuple[list[str], list[str]]:
    """``(wnids, names)``: the 1,000 ILSVRC-2012 classes in class-index order (sorted wnids).

    >>> wnids, names = imagenet_classes()
    >>> wnids[0], names[0], wnids[999], names[999]
    ('n01440764', 'tench', 'n15075141', 'toilet_tissue')
    """
    wnids, names = _class_index()
    return list(wnids), list(names)


@functools.cache
def _wnid_index() -> dict[str, int]:
    return {wnid: i for i, wnid in enumerate(_class_index()[0])}


# --- devkit: validation labels --------------------------------------------------------------


def _devkit_members(devkit: Path) -> dict[str, bytes]:
    wanted = (_META, _GROUND_TRUTH)
    found = {m.name: r.read() for m, r in iter_files(devkit, select=lambda m: m.name in wanted)}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise FormatError(
            f"{devkit}: no member {missing[0]!r}; expected the ILSVRC2012_devkit_t12.tar.gz "
            "development kit: download it again"
        )
    return found


def _read_synsets(data: bytes, source: str) -> MatStruct:
    """The ``synsets`` struct of meta.mat (the MAT reader reads files: a temporary copy)."""
    with tempfile.TemporaryDirectory(prefix="imagesets-devkit-") as tmp:
        path = Path(tmp) / "meta.mat"
        path.write_bytes(data)
        try:
            value = read_variable(path, "synsets")
        except FormatError as exc:
            raise FormatError(f"{source}: {exc}") from exc
    if not isinstance(value, MatStruct):
        raise FormatError(f"{source}: expected 'synsets' to be a struct array, found another type")
    return value


def _number(value: MatValue, source: str, field: str) -> int:
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        number = value.reshape(-1)[0]
        if number == int(number):
            return int(number)
    raise FormatError(f"{source}: synsets field {field} should hold one integer, found {value!r}")


def _leaves(synsets: MatStruct, source: str) -> dict[int, str]:
    """ILSVRC2012_ID -> wnid of the leaf synsets (``num_children == 0``)."""
    try:
        ids, wnids, kids = (synsets.column(f) for f in ("ILSVRC2012_ID", "WNID", "num_children"))
    except KeyError as exc:
        raise FormatError(f"{source}: {exc.args[0]}; is this the ILSVRC-2012 meta.mat?") from None
    leaves = [
        (_number(i, source, "ILSVRC2012_ID"), str(w))
        for i, w, k in zip(ids, wnids, kids, strict=True)
        if _number(k, source, "num_children") == 0
    ]
    table = dict(leaves)
    if len(leaves) != N_CLASSES or sorted(table) != list(range(1, N_CLASSES + 1)):
        span = f"{min(table)}..{max(table)}" if table else "none"
        raise FormatError(
            f"{source}: expected {N_CLASSES} leaf synsets (num_children == 0) with ILSVRC2012_IDs "
            f"1..{N_CLASSES}, found {len(leaves)} with IDs {span}; download the devkit again"
        )
    return table


def _id_to_class(synsets: MatStruct, source: str) -> NDArray[np.int64]:
    """int64 ``(1001,)``: class index of each ILSVRC2012_ID 1..1000 (entry 0 is -1)."""
    leaves = _leaves(synsets, source)
    unknown = sorted(set(leaves.values()) - set(_wnid_index()))
    if unknown or len(set(leaves.values())) != N_CLASSES:
        found = f"unknown wnids {unknown[:3]}" if unknown else "a wnid on two leaves"
        raise FormatError(
            f"{source}: expected the leaf synsets to be the {N_CLASSES} ILSVRC-2012 classes, "
            f"found {found}; download the devkit again"
        )
    table = np.full(N_CLASSES + 1, -1, np.int64)
    for ilsvrc_id, wnid in leaves.items():
        table[ilsvrc_id] = _wnid_index()[wnid]
    return table


def _ground_truth(data: bytes, source: str) -> NDArray[np.int64]:
    """int64 ``(n,)``: the ILSVRC2012_ID (1..1000) of validation image 1..n."""
    lines = data.decode("latin-1").splitlines()
    for number, line in enumerate(lines, 1):
        value = line.strip()
        if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= N_CLASSES:
            raise FormatError(
                f"{source}: line {number} is {line[:40]!r}; expected an ILSVRC2012_ID 1.."
                f"{N_CLASSES} (a leaf synset of meta.mat); download the devkit again"
            )
    if not lines:
        raise FormatError(f"{source}: expected one ILSVRC2012_ID per line, found no lines")
    return np.array([int(line) for line in lines], np.int64)


def _val_labels(devkit: Path) -> NDArray[np.int64]:
    """int64 ``(n,)``: the class index of validation image 1..n, from the devkit."""
    members = _devkit_members(devkit)
    ids = _ground_truth(members[_GROUND_TRUTH], f"{devkit}!{_GROUND_TRUTH}")  # cheap: first
    table = _id_to_class(_read_synsets(members[_META], f"{devkit}!{_META}"), f"{devkit}!{_META}")
    return table[ids]
