"""CIFAR-10 and CIFAR-100: the binary and the python editions of the Toronto archives."""

from __future__ import annotations

from typing import Any

from ._common import files as _files

_TORONTO = ("https://www.cs.toronto.edu/~kriz/",)

_CIFAR100_FINE = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
]

_CIFAR100_COARSE = [
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2",
]

_CIFAR_CITATION = (
    "Alex Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Technical report, "
    "University of Toronto, 2009."
)


def _cifar(
    variant: str, python: tuple[int, str, str], binary: tuple[int, str], member_md5: dict[str, str]
) -> list[dict[str, Any]]:
    """The two editions of a CIFAR dataset: binary records first (no pickle), then python."""
    stem = "cifar-10" if variant == "cifar10" else "cifar-100"
    py_name, bin_name = f"{stem}-python.tar.gz", f"{stem}-binary.tar.gz"
    return [
        {
            "name": "binary",
            "format": "cifar-binary",
            "options": {"variant": variant},
            "files": _files(_TORONTO, [(bin_name, binary[0], binary[1], None)]),
            "splits": {"train": {"archive": bin_name}, "test": {"archive": bin_name}},
        },
        {
            "name": "python",
            "format": "cifar-python",
            "options": {"variant": variant, "member_md5": member_md5},
            "files": _files(_TORONTO, [(py_name, python[0], python[1], python[2])]),
            "splits": {"train": {"archive": py_name}, "test": {"archive": py_name}},
        },
    ]


CIFAR10: dict[str, Any] = {
    "name": "cifar10",
    "aliases": ["cifar-10", "cifar_10"],
    "title": "CIFAR-10",
    "description": "60,000 32x32 colour images in 10 classes, 6,000 per class.",
    "homepage": "https://www.cs.toronto.edu/~kriz/cifar.html",
    "license": "unspecified (free to use with citation of the technical report)",
    "citation": _CIFAR_CITATION,
    "image_shape": [32, 32, 3],
    "classes": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
    "splits": {"train": {"count": 50000}, "test": {"count": 10000}},
    "keras_labels": "column",
    "editions": _cifar(
        "cifar10",
        (
            170498071,
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            "c58f30108f718f92721af3b95e74349a",
        ),
        (170052171, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
        {
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        },
    ),
}

CIFAR100: dict[str, Any] = {
    "name": "cifar100",
    "aliases": ["cifar-100", "cifar_100"],
    "title": "CIFAR-100",
    "description": (
        "60,000 32x32 colour images in 100 classes (600 each) grouped into 20 superclasses."
    ),
    "homepage": "https://www.cs.toronto.edu/~kriz/cifar.html",
    "license": "unspecified (free to use with citation of the technical report)",
    "citation": _CIFAR_CITATION,
    "image_shape": [32, 32, 3],
    "classes": _CIFAR100_FINE,
    "label_names": {"superclasses": _CIFAR100_COARSE},
    "splits": {"train": {"count": 50000}, "test": {"count": 10000}},
    "keras_labels": "column",
    "editions": _cifar(
        "cifar100",
        (
            169001437,
            "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
            "eb9058c3a382ffc7106e4002c42a8d85",
        ),
        (168513733, "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"),
        {
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
            "meta": "7973b15100ade9c7d40fb424638fde48",
        },
    ),
}
