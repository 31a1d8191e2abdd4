"""ImageNet end to end: the manual-download error, import from a folder, prepare both forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.errors import ManualDownloadError, VerificationError
from imagesets.testing.entries import retarget_with_fakes


@pytest.fixture
def fake_imagenet(tmp_path: Path) -> Iterator[Any]:
    """The built-in entry retargeted at a fake train tar (4 classes x 3), val tar (8) and devkit
    in ``given/``; the devkit stays md5-only, as in the real entry."""
    counts = {"train": 12, "val": 8}
    entry, fakes = retarget_with_fakes(
        catalog.builtin_entry("imagenet"),
        tmp_path / "given",
        "http://127.0.0.1:1/",
        counts=counts,
        seed=2,
    )
    fake = fakes["tars"].facts["ilsvrc"]
    assert len(fake.train_labels) == 12 and entry["manual"]
    spec = catalog.register(entry)
    yield fake
    catalog.unregister(spec.name)


def test_download_says_where_and_how(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ManualDownloadError) as info:
        imagesets.download("imagenet")
    text = str(info.value)
    for name in (
        "ILSVRC2012_img_train.tar",
        "ILSVRC2012_img_val.tar",
        "ILSVRC2012_devkit_t12.tar.gz",
        "147897477120",
        "image-net.org",
        "imagesets import imagenet DIR",
    ):
        assert name in text
    assert main(["download", "imagenet"]) == 1


def test_class_index_is_sorted_wnids() -> None:
    spec = catalog.get("imagenet")
    assert len(spec.classes) == 1000
    assert spec.classes[0] == "tench" and spec.classes[999] == "toilet_tissue"


def test_import_then_prepare_both_forms(
    fake_imagenet: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_imagenet.train.parent
    assert main(["import", "fake-imagenet", str(folder), "-q", "--prepare"]) == 0
    assert capsys.readouterr().out.count("imported") == 3
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    val = imagesets.load("fake-imagenet", "val", options={"size": 24}, progress=False)["val"]
    assert val.images.shape == (8, 24, 24, 3)
    assert np.array_equal(val.labels, fake_imagenet.val_labels)
    train = imagesets.load("fake-imagenet", "train", progress=False)["train"]
    assert train.packed and np.array_equal(train.labels, fake_imagenet.train_labels)
    name = fake_imagenet.train_names[0]
    assert train.images.raw(0) == fake_imagenet.files[name]


def test_a_devkit_with_the_wrong_md5_is_refused(fake_imagenet: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ILSVRC2012_devkit_t12.tar.gz").write_bytes(b"not the devkit")
    with pytest.raises(VerificationError, match="md5"):
        imagesets.import_files("fake-imagenet", [bad], progress=False)
