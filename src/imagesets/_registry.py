"""The format registry: format name -> reader import path, and the options each reader takes.

Plain data with no imports, so the catalog can check a format name (and the orchestrator a
user's ``--option``) without importing numpy or any reader. A new format is one line in each
table (and its reader module, and its fake writer in :mod:`imagesets.testing`).
"""

from __future__ import annotations

__all__ = ["READERS", "READER_OPTIONS"]

#: format name -> "module:function"; imported on first use by :func:`imagesets.formats.get_reader`.
READERS: dict[str, str] = {
    "idx": "imagesets.formats.idx:read_split",
    "cifar-python": "imagesets.formats.cifar:read_python_split",
    "cifar-binary": "imagesets.formats.cifar:read_binary_split",
    "svhn-mat": "imagesets.formats.svhn:read_split",
    "svhn-full": "imagesets.formats.svhn_full:read_split",
    "image-tree": "imagesets.formats.image_tree:read_split",
    "image-tree-packed": "imagesets.formats.image_tree:read_split_packed",
    "image-folder": "imagesets.formats.image_tree:read_split_folder",
    "ilsvrc2012": "imagesets.formats.imagenet:read_split_any",
    "ilsvrc2012-fixed": "imagesets.formats.imagenet:read_split",
    "ilsvrc2012-packed": "imagesets.formats.imagenet:read_split_packed",
    "petimages": "imagesets.formats.petimages:read_split_any",
    "petimages-fixed": "imagesets.formats.petimages:read_split",
    "petimages-packed": "imagesets.formats.petimages:read_split_packed",
}

_IMAGES = ("size", "max_side", "workers")

#: format name -> the reader options a user may pass (``options=``, ``--option KEY=VALUE``);
#: each set of values is a variant of the prepared cache. Entry-only options (CIFAR's
#: ``variant`` and ``member_md5``, a folder's ``classes``) are not listed: users cannot set them.
READER_OPTIONS: dict[str, tuple[str, ...]] = {
    "idx": (),
    "cifar-python": (),
    "cifar-binary": (),
    "svhn-mat": ("raw_labels",),
    "svhn-full": ("raw_labels",),
    "image-tree": (*_IMAGES, "label_depth"),
    "image-tree-packed": (*_IMAGES, "label_depth"),
    "image-folder": (*_IMAGES, "label_depth"),
    "ilsvrc2012": _IMAGES,
    "ilsvrc2012-fixed": _IMAGES,
    "ilsvrc2012-packed": _IMAGES,
    "petimages": (*_IMAGES, "seed", "test_fraction"),
    "petimages-fixed": (*_IMAGES, "seed", "test_fraction"),
    "petimages-packed": (*_IMAGES, "seed", "test_fraction"),
}
