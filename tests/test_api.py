"""The Python API: keras's contract, Dataset and Split views, normalisation, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets.datasets import fashion_mnist, mnist
from imagesets.errors import ArgumentError, ImagesetsError, UnknownDatasetError


def test_keras_contract_shapes_and_dtypes(fake_mnist: dict[str, Any]) -> None:
    (x, y), (xt, yt) = imagesets.load_data("fake-mnist", progress=False)
    assert x.shape == (60, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60,) and y.dtype == np.uint8
    assert xt.shape == (20, 28, 28) and yt.shape == (20,)
    files = fake_mnist["files"]
    assert np.array_equal(x, files["train-images-idx3-ubyte.gz"]["array"])
    assert np.array_equal(yt, files["t10k-labels-idx1-ubyte.gz"]["array"])


def test_load_data_arrays_are_writable_but_never_change_the_cache(
    fake_mnist: dict[str, Any],
) -> None:
    (x, _), _ = imagesets.load_data("fake-mnist", progress=False)
    original = int(x[0, 0, 0])
    x[0, 0, 0] = (original + 1) % 256  # keras users may write into their arrays
    (x2, _), _ = imagesets.load_data("fake-mnist", progress=False)
    assert int(x2[0, 0, 0]) == original


def test_dropin_modules_use_the_sample_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    (x, y), _ = mnist.load_data(sample=True)
    assert x.shape == (1000, 28, 28) and y[100] == 5
    (fx, fy), _ = fashion_mnist.load_data(sample=True)
    assert fy[100] == 8 and fx.dtype == np.uint8


def test_split_views_indexing_and_normalize(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", progress=False)
    train = ds["train"]
    assert ds.train is train and len(train) == 60 and list(ds) == ["train", "test"]
    image, label = train[5]
    assert image.shape == (28, 28) and label == train.labels[5]
    part = train[10:20]
    assert len(part) == 10 and np.shares_memory(part.images, train.images)
    picked = train[np.array([3, 1])]
    assert np.array_equal(picked.labels, train.labels[[3, 1]])
    assert not train.images.flags.writeable
    norm = imagesets.load("fake-mnist", normalize=True, progress=False)["train"]
    assert norm.images.dtype == np.float32
    assert float(norm.images.min()) >= 0.0 and float(norm.images.max()) <= 1.0
    assert np.allclose(norm.images, train.images / 255.0)
    assert norm[5][0].dtype == np.float32


def test_info_and_repr(fake_mnist: dict[str, Any]) -> None:
    info = imagesets.info("mnist")
    assert info.splits == {"train": 60000, "test": 10000}
    assert info.license == "CC BY-SA 3.0" and "LeCun" in info.citation
    ds = imagesets.load("fake-mnist", progress=False)
    assert "fake-mnist" in repr(ds) and "uint8" in repr(ds.train)
    assert ds.info.edition == "idx" and ds.info.path is not None
    assert ds.info.num_classes == 10 and len(ds) == 2 and list(ds.keys()) == ["train", "test"]


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownDatasetError, match="did you mean 'mnist'"):
        imagesets.load("mnsit")
    with pytest.raises(KeyError):
        imagesets.load_data("fashoin-mnist")


def test_unknown_split_and_label_mode(fake_mnist: dict[str, Any]) -> None:
    with pytest.raises(ImagesetsError, match="no split 'validation'"):
        imagesets.load("fake-mnist", "validation")
    with pytest.raises(KeyError, match="its splits are train, test; did you mean 'test'"):
        imagesets.load("fake-mnist", "tset")
    with pytest.raises(ArgumentError, match="did you mean 'train'"):
        imagesets.download("fake-mnist", "trian[:10%]")
    with pytest.raises(ImagesetsError, match="coarse"):
        imagesets.load_data("fake-mnist", label_mode="coarse", progress=False)


def test_clean_removes_prepared_and_reload_rebuilds(
    fake_mnist: dict[str, Any], cache: Path
) -> None:
    imagesets.load("fake-mnist", progress=False)
    removed = imagesets.api.clean("fake-mnist")
    assert removed and not (cache / "prepared" / "fake-mnist" / "default").exists()
    server = fake_mnist["server"]
    before = len(server.requests)
    imagesets.load("fake-mnist", progress=False)  # rebuilt from the kept downloads
    assert len(server.requests) == before


def test_importing_imagesets_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, imagesets; "
        "heavy = [m for m in ('numpy', 'requests', 'PIL', 'tqdm', 'torch') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
