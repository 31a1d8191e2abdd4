"""What the library reports: what a dataset is (:class:`DatasetInfo`) and what ``verify``
found (:class:`CachedFile`). No numpy, and off the warm load path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["CachedFile", "DatasetInfo"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: counts, shapes, class names, license, citation, where it lives."""

    name: str
    title: str
    description: str
    homepage: str
    license: str
    citation: str
    classes: tuple[str, ...]
    splits: Mapping[str, int]
    image_shape: tuple[int, ...]
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    edition: str = ""
    sample: bool = False
    path: Path | None = None

    @property
    def num_classes(self) -> int:
        """The number of classes: ``len(classes)`` (10 for MNIST and CIFAR-10)."""
        return len(self.classes)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``imagesets info NAME --json``)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "homepage": self.homepage,
            "license": self.license,
            "citation": self.citation,
            "classes": list(self.classes),
            "num_classes": self.num_classes,
            "splits": dict(self.splits),
            "image_shape": list(self.image_shape),
            "label_names": {k: list(v) for k, v in self.label_names.items()},
            "edition": self.edition,
            "sample": self.sample,
            "path": str(self.path) if self.path else None,
        }


@dataclass(frozen=True)
class CachedFile:
    """One cached file of a dataset (an original, or a prepared array) and what ``verify``
    found: ``ok``, ``missing`` (an original not downloaded) or ``corrupt`` (with details)."""

    name: str
    path: Path
    status: Literal["ok", "missing", "corrupt"]
    detail: str = ""
