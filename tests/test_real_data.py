"""The official MNIST and Fashion-MNIST files, served over loopback and loaded end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import imagesets
from imagesets.testing.server import LoopbackServer

MNIST_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def _official(path: Path, header: int) -> np.ndarray:
    """The file decoded independently of our reader: gunzip, skip the header, raw bytes."""
    return np.frombuffer(gzip.decompress(path.read_bytes())[header:], dtype=np.uint8)


@pytest.fixture
def mirror(real_data: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real files behind IMAGESETS_MIRROR (loopback), laid out as <base>/<dataset>/<file>."""
    for ds in ("mnist", "fashion-mnist"):
        for name in FILES:
            server.add(f"/m/{ds}/{name}", (real_data / ds / name).read_bytes())
    monkeypatch.setenv("IMAGESETS_MIRROR", server.url("/m"))
    return real_data


def test_mnist_end_to_end_equals_official_files(mirror: Path) -> None:
    (x, y), (xt, yt) = imagesets.load_data("mnist", progress=False)
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((60000, 28, 28), np.uint8, (60000,), np.uint8)
    assert (xt.shape, yt.shape) == ((10000, 28, 28), (10000,))
    assert np.array_equal(x.reshape(-1), _official(mirror / "mnist" / FILES[0], 16))
    assert np.array_equal(y, _official(mirror / "mnist" / FILES[1], 8))
    assert np.array_equal(xt.reshape(-1), _official(mirror / "mnist" / FILES[2], 16))
    assert np.array_equal(yt, _official(mirror / "mnist" / FILES[3], 8))
    assert y[100] == 5 and yt[100] == 6
    assert list(y[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(yt[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y, minlength=10).tolist() == MNIST_COUNTS


def test_fashion_mnist_end_to_end(mirror: Path) -> None:
    ds = imagesets.load("fashion_mnist", progress=False)
    train, test = ds["train"], ds["test"]
    assert ds.info.name == "fashion-mnist"
    image, label = train[100]
    assert label == 8 and train.class_name(label) == "Bag"
    assert np.bincount(train.labels, minlength=10).tolist() == [6000] * 10
    assert np.bincount(test.labels, minlength=10).tolist() == [1000] * 10
    assert np.array_equal(train.images.reshape(-1),
                          _official(mirror / "fashion-mnist" / FILES[0], 16))  # fmt: skip
    assert image.shape == (28, 28)


def test_sample_is_the_first_thousand_of_the_official_files(real_data: Path) -> None:
    for ds in ("mnist", "fashion-mnist"):
        (x, y), (xt, yt) = imagesets.load_data(ds, sample=True, progress=False)
        assert x.shape == (1000, 28, 28) and yt.shape == (1000,)
        assert np.array_equal(x.reshape(-1), _official(real_data / ds / FILES[0], 16)[:784000])
        assert np.array_equal(y, _official(real_data / ds / FILES[1], 8)[:1000])
        assert np.array_equal(xt.reshape(-1), _official(real_data / ds / FILES[2], 16)[:784000])
        assert np.array_equal(yt, _official(real_data / ds / FILES[3], 8)[:1000])


def test_import_real_files_then_offline_load(real_data: Path, monkeypatch: pytest.MonkeyPatch,
                                             cache: Path) -> None:  # fmt: skip
    result = imagesets.import_files("mnist", [real_data / "mnist"], progress=False)
    assert sorted(result.imported) == sorted(FILES)
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    (x, y), _ = imagesets.load_data("mnist", progress=False)
    assert y[100] == 5 and x.shape == (60000, 28, 28)
    assert (cache / "downloads" / "mnist" / FILES[0]).is_file()
