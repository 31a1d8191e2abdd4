"""What a dataset is, as the library reports it (no numpy: ``imagesets info`` stays fast)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DatasetInfo"]


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
            "splits": dict(self.splits),
            "image_shape": list(self.image_shape),
            "label_names": {k: list(v) for k, v in self.label_names.items()},
            "edition": self.edition,
            "sample": self.sample,
            "path": str(self.path) if self.path else None,
        }
