"""The format registry: format name -> reader import path, and the options each reader takes.

Plain data with no imports, so the catalog can check a format name (and the orchestrator a
user's ``--option``) without importing numpy or any reader. A new format is one line in
``_FORMATS`` (and its reader module, and its fake writer in :mod:`imagesets.testing`).
"""

from __future__ import annotations

__all__ = ["ALIASES", "READERS", "READER_OPTIONS"]

_IMAGES = ("size", "max_side", "workers")

#: format name -> "module:function"; imported on first use by :func:`imagesets.formats.get_reader`.
#: Image sources have one name each; the image sink picks fixed-size arrays (option ``size``)
#: or the packed store (otherwise).
_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "idx": ("imagesets.formats.idx:read_split", ()),
    "emnist": ("imagesets.formats.emnist:read_split", ()),
    "cifar-python": ("imagesets.formats.cifar:read_python_split", ()),
    "cifar-binary": ("imagesets.formats.cifar:read_binary_split", ()),
    "svhn-mat": ("imagesets.formats.svhn:read_split", ("raw_labels",)),
    "svhn-full": ("imagesets.formats.svhn_full:read_split", ("raw_labels",)),
    "image-folder": ("imagesets.formats.image_tree:read_split", (*_IMAGES, "label_depth")),
    "ilsvrc2012": ("imagesets.formats.imagenet:read_split", _IMAGES),
    "petimages": ("imagesets.formats.petimages:read_split", (*_IMAGES, "seed", "test_fraction")),
    "stl10-binary": ("imagesets.formats.stl10:read_split", ()),
    "imagenette": ("imagesets.formats.imagenette:read_split", _IMAGES),
    "oxford-pet": ("imagesets.formats.oxford_pet:read_split", _IMAGES),
    "eurosat": ("imagesets.formats.eurosat:read_split", (*_IMAGES, "seed", "test_fraction")),
    "food101": ("imagesets.formats.food101:read_split", _IMAGES),
    "flowers102": ("imagesets.formats.flowers102:read_split", _IMAGES),
    "tiny-imagenet": ("imagesets.formats.tiny_imagenet:read_split", ("workers",)),
}

#: Older names a user's catalog entry may still give -> the format they now read as (the same
#: reader: ``size`` gives fixed-size arrays, no ``size`` the packed store).
ALIASES: dict[str, str] = {
    "image-tree": "image-folder",
    "image-tree-packed": "image-folder",
    "ilsvrc2012-fixed": "ilsvrc2012",
    "ilsvrc2012-packed": "ilsvrc2012",
    "petimages-fixed": "petimages",
    "petimages-packed": "petimages",
}

READERS: dict[str, str] = {
    name: _FORMATS[ALIASES.get(name, name)][0] for name in (*_FORMATS, *ALIASES)
}

#: format name -> the reader options a user may pass (``options=``, ``--option KEY=VALUE``);
#: each set of values is a variant of the prepared cache. Entry-only options (CIFAR's
#: ``variant`` and ``member_md5``, a folder's ``classes``) are not listed: users cannot set them.
READER_OPTIONS: dict[str, tuple[str, ...]] = {
    name: _FORMATS[ALIASES.get(name, name)][1] for name in (*_FORMATS, *ALIASES)
}
