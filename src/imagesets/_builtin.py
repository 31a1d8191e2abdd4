"""The built-in catalog entries: one block of pure data per dataset.

Parsed by :func:`imagesets.catalog.spec_from_dict`, exactly like a user's TOML entry. Sizes and
sha256s come from the official files (``imagesets hash FILE`` prints these blocks); md5s are
the published ones, kept as a cross-check. Sources: ../shared/FACTS.md.
"""

from __future__ import annotations

from typing import Any

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror (permission, 2021)
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # CVDF, used by TFDS
    "http://yann.lecun.com/exdb/mnist/",  # the original host (403/404 since 2024)
)
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # the official host
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # keras's copy
)

_IDX_SPLITS = {
    "train": {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"},
    "test": {"images": "t10k-images-idx3-ubyte.gz", "labels": "t10k-labels-idx1-ubyte.gz"},
}


def _files(mirrors: tuple[str, ...], rows: list[tuple[str, int, str, str | None]]) -> list[Any]:
    return [
        {"name": n, "size": size, "sha256": sha, "md5": md5, "urls": [m + n for m in mirrors]}
        if md5
        else {"name": n, "size": size, "sha256": sha, "urls": [m + n for m in mirrors]}
        for n, size, sha, md5 in rows
    ]


def _sample(rows: list[tuple[str, int, str]]) -> dict[str, Any]:
    return {
        "format": "idx",
        "files": _files((), [(n, size, sha, None) for n, size, sha in rows]),
        "splits": _IDX_SPLITS,
        "counts": {"train": 1000, "test": 1000},
    }


MNIST: dict[str, Any] = {
    "name": "mnist",
    "title": "MNIST handwritten digits",
    "description": "70,000 28x28 grayscale images of handwritten digits 0-9.",
    "homepage": "http://yann.lecun.com/exdb/mnist/",
    "license": "CC BY-SA 3.0",
    "citation": (
        "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based learning applied to "
        "document recognition. Proceedings of the IEEE, 86(11):2278-2324, 1998."
    ),
    "image_shape": [28, 28],
    "classes": [str(d) for d in range(10)],
    "splits": {"train": {"count": 60000}, "test": {"count": 10000}},
    "keras_labels": "flat",
    "editions": [
        {
            "name": "idx",
            "format": "idx",
            "splits": _IDX_SPLITS,
            "files": _files(
                _MNIST_MIRRORS,
                [
                    (
                        "train-images-idx3-ubyte.gz",
                        9912422,
                        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    ),
                    (
                        "train-labels-idx1-ubyte.gz",
                        28881,
                        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                        "d53e105ee54ea40749a09fcbcd1e9432",
                    ),
                    (
                        "t10k-images-idx3-ubyte.gz",
                        1648877,
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                        "9fb629c4189551a2d022fa330f9573f3",
                    ),
                    (
                        "t10k-labels-idx1-ubyte.gz",
                        4542,
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                        "ec29112dd5afa0611ce80d1b7f02629c",
                    ),
                ],
            ),
        }
    ],
    "sample": _sample(
        [
            (
                "train-images-idx3-ubyte.gz",
                161728,
                "2ac99ff5a3d8394892213fcbf0383ba98c1a173e282a74877fccaae87917f1db",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                517,
                "2b1badd59c4bc6a1efc4497b4b464fcc1877ebddc952bd4753a017c8b0f7fc26",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                155853,
                "1107a88c1dcf1bde0925f29c9f47e943757cc4c8190862d72943ef6e4a638a2c",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                526,
                "59f1210430c03405bf13b88e2855be7b6adbf45b16966f8f6bf11013873bf815",
            ),
        ]
    ),
}

FASHION_MNIST: dict[str, Any] = {
    "name": "fashion-mnist",
    "aliases": ["fashion_mnist", "fashionmnist"],
    "title": "Fashion-MNIST (Zalando article images)",
    "description": "70,000 28x28 grayscale images of 10 kinds of clothing; a drop-in for MNIST.",
    "homepage": "https://github.com/zalandoresearch/fashion-mnist",
    "license": "MIT",
    "citation": (
        "Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for "
        "Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017."
    ),
    "image_shape": [28, 28],
    "classes": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "splits": {"train": {"count": 60000}, "test": {"count": 10000}},
    "keras_labels": "flat",
    "editions": [
        {
            "name": "idx",
            "format": "idx",
            "splits": _IDX_SPLITS,
            "files": _files(
                _FASHION_MIRRORS,
                [
                    (
                        "train-images-idx3-ubyte.gz",
                        26421880,
                        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    ),
                    (
                        "train-labels-idx1-ubyte.gz",
                        29515,
                        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                        "25c81989df183df01b3e8a0aad5dffbe",
                    ),
                    (
                        "t10k-images-idx3-ubyte.gz",
                        4422102,
                        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                        "bef4ecab320f06d8554ea6380940ec79",
                    ),
                    (
                        "t10k-labels-idx1-ubyte.gz",
                        5148,
                        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                        "bb300cfdad3c16e7a12a480ee83cd310",
                    ),
                ],
            ),
        }
    ],
    "sample": _sample(
        [
            (
                "train-images-idx3-ubyte.gz",
                430157,
                "aa4c3c4b134d437012c900d920d7d338d931fa5690faaa2a15e5d6be316353d3",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                525,
                "76269f24fac2b45d5ee2945ea87b81ad83d288ec89d1f3fa20e36438a3ee2e2b",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                440030,
                "54d129cc094c51d0496db5197d51ebc9ecc94cc743220d1d4077c752869991ca",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                524,
                "dbcee292a255fe70d571317bf37c89b845f3177427c61a23f68e4230b262a846",
            ),
        ]
    ),
}

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

#: Every built-in entry, in the order ``imagesets list`` shows them.
ENTRIES: list[dict[str, Any]] = [MNIST, FASHION_MNIST, CIFAR10, CIFAR100, SVHN]
