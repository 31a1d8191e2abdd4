"""MNIST and Fashion-MNIST: IDX files, with bundled 1,000 + 1,000 samples."""

from __future__ import annotations

from typing import Any

from ._common import files as _files

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
