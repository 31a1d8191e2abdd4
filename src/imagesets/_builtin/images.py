"""Datasets of photographs: Cats & Dogs (Microsoft's PetImages zip)."""

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
