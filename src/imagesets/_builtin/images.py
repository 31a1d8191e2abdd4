"""Datasets of photographs: ImageNet (ILSVRC-2012) and Cats & Dogs (Microsoft's PetImages)."""

from __future__ import annotations

from typing import Any

from ._common import files as _files

_MICROSOFT = (
    "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/",
)

CATS_VS_DOGS: dict[str, Any] = {
    "name": "cats-vs-dogs",
    "aliases": ["cats_vs_dogs", "petimages", "cats-and-dogs"],
    "title": "Cats & Dogs (Microsoft PetImages, the Asirra CAPTCHA photos)",
    "description": (
        "25,000 photos of cats and dogs (12,500 each) of varying size. Files that do not "
        "decode are recorded with their reasons, never dropped silently; there is no official "
        "test split, so a seeded class-stratified 80/20 split is made and its members kept in "
        "the manifest. Without options the JPEGs are kept as they are in a packed store "
        "(`--option max_side=256` re-encodes them, `--option size=224` makes arrays)."
    ),
    "homepage": "https://www.microsoft.com/en-us/download/details.aspx?id=54765",
    "license": "CDLA-Permissive-2.0",
    "citation": (
        "Jeremy Elson, John R. Douceur, Jon Howell, Jared Saul. Asirra: A CAPTCHA that Exploits "
        "Interest-Aligned Manual Image Categorization. ACM CCS 2007."
    ),
    "image_shape": [],
    "classes": ["Cat", "Dog"],
    "splits": {"train": {"count": 20000}, "test": {"count": 5000}},
    "editions": [
        {
            "name": "zip",
            "format": "petimages",
            "options": {"test_fraction": 0.2, "seed": 0},
            "splits": {
                "train": {"archive": "kagglecatsanddogs_5340.zip"},
                "test": {"archive": "kagglecatsanddogs_5340.zip"},
            },
            "files": _files(
                _MICROSOFT,
                [
                    (
                        "kagglecatsanddogs_5340.zip",
                        824887076,
                        "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9",
                        None,
                    ),
                ],
            ),
        }
    ],
}


def _imagenet_names() -> list[str]:
    from ..formats.imagenet import imagenet_classes

    return imagenet_classes()[1]


IMAGENET: dict[str, Any] = {
    "name": "imagenet",
    "aliases": ["ilsvrc2012", "ilsvrc-2012", "imagenet-1k"],
    "title": "ImageNet Large Scale Visual Recognition Challenge 2012 (ILSVRC-2012)",
    "description": (
        "1,281,167 training and 50,000 validation photos of 1,000 classes; class index = "
        "sorted WordNet ids (0 = n01440764 tench ... 999 = n15075141 toilet tissue), as "
        "torchvision, TFDS and timm use. Without options the JPEGs are kept in a packed store "
        "(`--option max_side=256` re-encodes them, `--option size=224` makes arrays)."
    ),
    "homepage": "https://image-net.org/challenges/LSVRC/2012/",
    "license": "ImageNet terms of access: non-commercial research and education only",
    "citation": (
        "Olga Russakovsky, Jia Deng, Hao Su et al. ImageNet Large Scale Visual Recognition "
        "Challenge. IJCV, 115(3):211-252, 2015."
    ),
    "manual": (
        "the archives need a login: sign in at https://image-net.org, open the ILSVRC 2012 "
        "download page and fetch the three files below into one folder"
    ),
    "image_shape": [],
    "classes": _imagenet_names(),
    "splits": {"train": {"count": 1281167}, "val": {"count": 50000}},
    "editions": [
        {
            "name": "tars",
            "format": "ilsvrc2012",
            "splits": {
                "train": {"archive": "ILSVRC2012_img_train.tar"},
                "val": {
                    "archive": "ILSVRC2012_img_val.tar",
                    "devkit": "ILSVRC2012_devkit_t12.tar.gz",
                },
            },
            "files": [
                {
                    "name": "ILSVRC2012_img_train.tar",
                    "size": 147897477120,
                    "sha256": "b08200a27a8e34218a0e58fde36b0fe8f73bc377f4acea2d91602057c3ca45bb",
                    "md5": "1d675b47d978889d74fa0da5fadfb00e",
                },
                {
                    "name": "ILSVRC2012_img_val.tar",
                    "size": 6744924160,
                    "sha256": "c7e06a6c0baccf06d8dbeb6577d71efff84673a5dbdd50633ab44f8ea0456ae0",
                    "md5": "29b22e2961454d5413ddabcf34fc5622",
                },
                {
                    # only an md5 was ever published for the devkit: it is the check here
                    "name": "ILSVRC2012_devkit_t12.tar.gz",
                    "md5": "fa75699e90414af021442c21a62c3abf",
                },
            ],
        }
    ],
}
