"""The built-in catalog entries: one block of pure data per dataset.

Parsed by :func:`imagesets.catalog.spec_from_dict`, exactly like a user's TOML entry. Sizes and
sha256s come from the official files (``imagesets hash FILE`` prints these blocks); md5s are
the published ones, kept as a cross-check. Sources: ../shared/FACTS.md.
"""

from __future__ import annotations

from typing import Any

from .cifar import CIFAR10, CIFAR100
from .idx import FASHION_MNIST, MNIST
from .images import CATS_VS_DOGS, IMAGENET
from .svhn import SVHN, SVHN_FULL

__all__ = [
    "CATS_VS_DOGS",
    "CIFAR10",
    "CIFAR100",
    "ENTRIES",
    "FASHION_MNIST",
    "MNIST",
    "SVHN",
    "SVHN_FULL",
]

#: Every built-in entry, in the order ``imagesets list`` shows them.
ENTRIES: list[dict[str, Any]] = [
    MNIST,
    FASHION_MNIST,
    CIFAR10,
    CIFAR100,
    SVHN,
    SVHN_FULL,
    IMAGENET,
    CATS_VS_DOGS,
]
