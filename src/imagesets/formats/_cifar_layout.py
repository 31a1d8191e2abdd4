"""CIFAR tables and meta-name parsing, shared by both editions (see :mod:`.cifar`).

:data:`_VARIANTS` describes CIFAR-10 and CIFAR-100 (class counts, label field, meta names),
:data:`_LAYOUTS` the members of each (edition, variant) archive, :func:`_even_split` the batch
sizes a count implies; :func:`parse_python_meta` and :func:`parse_binary_meta` read the class
names (both re-exported by :mod:`imagesets.formats.cifar`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .._pickle import pickled_dict, pickled_field, restricted_loads
from ..errors import FormatError

__all__ = ["parse_binary_meta", "parse_python_meta"]


@dataclass(frozen=True)
class _Variant:
    title: str
    classes: int
    superclasses: int  # 0: no coarse labels
    label_field: str  # python edition
    python_meta: tuple[tuple[str, str], ...]  # (pickle field, returned key)
    binary_meta: tuple[tuple[str, str], ...]  # (member basename, returned key)


_VARIANTS: dict[str, _Variant] = {
    "cifar10": _Variant("CIFAR-10", 10, 0, "labels", (("label_names", "classes"),),
                        (("batches.meta.txt", "classes"),)),
    "cifar100": _Variant("CIFAR-100", 100, 20, "fine_labels",
                         (("fine_label_names", "classes"), ("coarse_label_names", "superclasses")),
                         (("fine_label_names.txt", "classes"),
                          ("coarse_label_names.txt", "superclasses"))),
}  # fmt: skip

_BATCHES_10 = tuple(f"data_batch_{k}" for k in range(1, 6))

#: (edition, variant) -> (root folder, {split: batch members in order}, meta members)
_LAYOUTS: dict[tuple[str, str], tuple[str, dict[str, tuple[str, ...]], tuple[str, ...]]] = {
    ("cifar-python", "cifar10"): (
        "cifar-10-batches-py", {"train": _BATCHES_10, "test": ("test_batch",)}, ("batches.meta",)),
    ("cifar-python", "cifar100"): (
        "cifar-100-python", {"train": ("train",), "test": ("test",)}, ("meta",)),
    ("cifar-binary", "cifar10"): (
        "cifar-10-batches-bin",
        {"train": tuple(f"{b}.bin" for b in _BATCHES_10), "test": ("test_batch.bin",)},
        ("batches.meta.txt",)),
    ("cifar-binary", "cifar100"): (
        "cifar-100-binary", {"train": ("train.bin",), "test": ("test.bin",)},
        ("fine_label_names.txt", "coarse_label_names.txt")),
}  # fmt: skip


def _even_split(total: int, batches: tuple[str, ...]) -> dict[str, int]:
    """Batch sizes of ``total`` images split as evenly as possible over ``batches`` in order,
    earlier batches taking the remainder (``50000`` over five batches: 10,000 each)."""
    per, extra = divmod(total, len(batches))
    return {name: per + (k < extra) for k, name in enumerate(batches)}


def _names(values: object, source: str, what: str, count: int) -> list[str]:
    if not isinstance(values, (list, tuple)) or len(values) != count:
        found = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise FormatError(f"{source}: expected {count} {what}, found {found}")
    return [v.decode("latin1") if isinstance(v, bytes) else str(v) for v in values]


def _count_for(variant: _Variant, key: str) -> int:
    return variant.classes if key == "classes" else variant.superclasses


def parse_python_meta(data: bytes, variant: str, source: str) -> dict[str, list[str]]:
    """Class names from a python-edition meta pickle (``batches.meta`` or CIFAR-100 ``meta``).

    Returns ``{"classes": [...]}`` (10 or 100 names) and, for ``"cifar100"``, ``"superclasses"``
    (20 names).
    """
    spec = _VARIANTS[variant]
    meta = pickled_dict(restricted_loads(data, source), source, "meta")
    return {
        key: _names(pickled_field(meta, name, source), f"{source} field {name!r}", key,
                    _count_for(spec, key))
        for name, key in spec.python_meta
    }  # fmt: skip


def parse_binary_meta(
    files: Mapping[str, bytes], variant: str, source: str
) -> dict[str, list[str]]:
    """Class names from the binary edition's text files (basename -> bytes), one per line."""
    spec = _VARIANTS[variant]
    result = {}
    for name, key in spec.binary_meta:
        lines = [s.strip() for s in files[name].decode("utf-8", "replace").splitlines()]
        result[key] = _names(
            [s for s in lines if s], f"{source}!{name}", key, _count_for(spec, key)
        )
    return result
