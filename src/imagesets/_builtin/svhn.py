"""Street View House Numbers: the cropped-digit MATLAB files (train, test, optional extra)."""

from __future__ import annotations

from typing import Any

from ._common import files as _files

_SVHN_HOST = ("http://ufldl.stanford.edu/housenumbers/",)  # HTTP only
_SVHN_CITATION = (
    "Yuval Netzer, Tao Wang, Adam Coates, Alessandro Bissacco, Bo Wu, Andrew Y. Ng. Reading "
    "Digits in Natural Images with Unsupervised Feature Learning. NIPS Workshop on Deep "
    "Learning and Unsupervised Feature Learning, 2011."
)

SVHN: dict[str, Any] = {
    "name": "svhn",
    "aliases": ["svhn-cropped", "svhn_cropped"],
    "title": "Street View House Numbers (cropped digits)",
    "description": (
        "32x32 colour crops of house-number digits from Google Street View; label 0-9 "
        "(the files' 10 means digit 0). The extra split (531,131) is fetched only on request."
    ),
    "homepage": "http://ufldl.stanford.edu/housenumbers/",
    "license": "non-commercial use only (see the homepage)",
    "citation": _SVHN_CITATION,
    "image_shape": [32, 32, 3],
    "classes": [str(d) for d in range(10)],
    "splits": {
        "train": {"count": 73257},
        "test": {"count": 26032},
        "extra": {"count": 531131, "optional": True},
    },
    "keras_labels": "flat",
    "editions": [
        {
            "name": "mat",
            "format": "svhn-mat",
            "splits": {
                "train": {"mat": "train_32x32.mat"},
                "test": {"mat": "test_32x32.mat"},
                "extra": {"mat": "extra_32x32.mat"},
            },
            "files": _files(
                _SVHN_HOST,
                [
                    (
                        "train_32x32.mat",
                        182040794,
                        "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8",
                        "e26dedcc434d2e4c54c9b2d4a06d8373",
                    ),
                    (
                        "test_32x32.mat",
                        64275384,
                        "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b",
                        "eb5a983be6a315427106f1b164d9cef3",
                    ),
                    (
                        "extra_32x32.mat",
                        1329278602,
                        "a133a4beb38a00fcdda90c9489e0c04f900b660ce8a316a5e854838379a71eb3",
                        "a93ce644f1a588dc4d68dda5feec44a7",
                    ),
                ],
            ),
        }
    ],
}

SVHN_FULL: dict[str, Any] = {
    "name": "svhn-full",
    "aliases": ["svhn_full", "svhn-full-numbers"],
    "title": "Street View House Numbers (full numbers with digit boxes)",
    "description": (
        "Variable-size house-number photos (PNG, kept as they are in a packed store) with a "
        "box and label per digit (label 0-9; the files' 10 means 0). Extra is on request."
    ),
    "homepage": "http://ufldl.stanford.edu/housenumbers/",
    "license": "non-commercial use only (see the homepage)",
    "citation": _SVHN_CITATION,
    "image_shape": [],
    "classes": [str(d) for d in range(10)],
    "splits": {
        "train": {"count": 33402},
        "test": {"count": 13068},
        "extra": {"count": 202353, "optional": True},
    },
    "editions": [
        {
            "name": "tar",
            "format": "svhn-full",
            "splits": {
                "train": {"archive": "train.tar.gz"},
                "test": {"archive": "test.tar.gz"},
                "extra": {"archive": "extra.tar.gz"},
            },
            "files": _files(
                _SVHN_HOST,
                [
                    (
                        "train.tar.gz",
                        404141560,
                        "4b17bb33b6cd8f963493168f80143da956f28ec406cc12f8e5745a9f91a51898",
                        None,
                    ),
                    (
                        "test.tar.gz",
                        276555967,
                        "57ac9ceb530e4aa85b55d991be8fc49c695b3d71c6f6a88afea86549efde7fb5",
                        None,
                    ),
                    (
                        "extra.tar.gz",
                        1955489752,
                        "e857e27d1e65bd1e7d3959b094061777f6506bbc39889a0df3bba6a729d60f9c",
                        None,
                    ),
                ],
            ),
        }
    ],
}
