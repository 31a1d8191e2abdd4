"""STL-10 (issue 13): column-major planes served upright, 1-based labels, folds, unlabeled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imagesets import catalog
from imagesets.errors import FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest, get_reader
from imagesets.testing import MemoryWriter
from imagesets.testing.archives import write_tgz
from imagesets.testing.stl10 import (
    FakeStl10Split,
    fake_stl10_split,
    stl10_bytes,
    write_fake_stl10,
)

CLASSES = catalog.builtin_entry("stl10")["classes"]


def _read(path: Path, split: str, count: int | None = None) -> MemoryWriter:
    out = MemoryWriter()
    get_reader("stl10-binary")(ReadRequest("stl10", split, {"archive": path}, count=count), out)
    return out


def _fakes(tmp_path: Path) -> tuple[Path, dict[str, FakeStl10Split]]:
    data = {
        "train": fake_stl10_split(10, 10, seed=1, folds=True),
        "test": fake_stl10_split(6, 10, seed=2),
        "unlabeled": fake_stl10_split(4, 10, seed=3, labeled=False),
    }
    return write_fake_stl10(tmp_path / "stl10_binary.tar.gz", data, CLASSES), data


def test_an_asymmetric_image_comes_out_upright(tmp_path: Path) -> None:
    image = np.zeros((1, 96, 96, 3), np.uint8)
    image[0, 2, 70, 0] = 255  # red, row 2, column 70
    image[0, 90, 1, 2] = 7  # blue, row 90, column 1
    raw = stl10_bytes(image)
    assert raw[70 * 96 + 2] == 255  # the file is column-major: byte x * 96 + y of plane 0
    assert raw[2 * 9216 + 1 * 96 + 90] == 7
    data = {"test": FakeStl10Split(image, np.zeros(1, np.uint8))}
    path = write_fake_stl10(tmp_path / "stl10_binary.tar.gz", data, CLASSES)
    got = _read(path, "test").arrays["images"]
    assert got[0, 2, 70, 0] == 255 and got[0, 70, 2, 0] == 0
    assert got[0, 90, 1, 2] == 7 and int(got.sum()) == 255 + 7


def test_every_split_as_published(tmp_path: Path) -> None:
    path, data = _fakes(tmp_path)
    train = _read(path, "train", count=10).arrays
    assert set(train) == {"images", "labels", "folds"}
    np.testing.assert_array_equal(train["images"], data["train"].images)
    np.testing.assert_array_equal(train["labels"], data["train"].labels)
    assert train["labels"].dtype == np.uint8 and int(train["labels"].max()) <= 9
    assert train["folds"].shape == (10, 10) and train["folds"].dtype == bool
    for k, fold in enumerate(data["train"].folds):
        assert np.flatnonzero(train["folds"][:, k]).tolist() == list(fold)
    test = _read(path, "test").arrays
    assert set(test) == {"images", "labels"}
    np.testing.assert_array_equal(test["labels"], data["test"].labels)
    unlabeled = _read(path, "unlabeled").arrays
    assert set(unlabeled) == {"images"}
    np.testing.assert_array_equal(unlabeled["images"], data["unlabeled"].images)


def test_result_names_the_classes_and_says_labeled(tmp_path: Path) -> None:
    path, _ = _fakes(tmp_path)
    reader = get_reader("stl10-binary")
    result = reader(ReadRequest("stl10", "test", {"archive": path}), MemoryWriter())
    assert result.classes == tuple(CLASSES) and result.extras["labeled"] is True
    result = reader(ReadRequest("stl10", "unlabeled", {"archive": path}), MemoryWriter())
    assert result.extras["labeled"] is False


def _tar(tmp_path: Path, members: dict[str, bytes]) -> Path:
    return write_tgz(tmp_path / "stl10_binary.tar.gz", members)


def _members(n: int = 2, labels: bytes | None = None) -> dict[str, bytes]:
    names = "".join(f"{c}\n" for c in CLASSES).encode()
    return {
        "stl10_binary/class_names.txt": names,
        "stl10_binary/test_X.bin": bytes(n * 27648),
        "stl10_binary/test_y.bin": labels if labels is not None else bytes([1] * n),
    }


@pytest.mark.parametrize("bad", [0, 11])
def test_a_label_outside_1_to_10_is_refused(tmp_path: Path, bad: int) -> None:
    path = _tar(tmp_path, _members(labels=bytes([1, bad])))
    with pytest.raises(FormatError, match=r"test_y\.bin: labels range over .*expected 1\.\.10"):
        _read(path, "test")


def test_counts_that_differ_are_refused(tmp_path: Path) -> None:
    path = _tar(tmp_path, _members(labels=bytes([1, 2, 3])))
    with pytest.raises(FormatError, match="holds 3 labels for 2 images"):
        _read(path, "test")
    with pytest.raises(FormatError, match="holds 2 images, the catalog expects 5"):
        _read(_tar(tmp_path, _members()), "test", count=5)


def test_a_partial_image_is_refused_before_allocating(tmp_path: Path) -> None:
    members = _members()
    members["stl10_binary/test_X.bin"] = bytes(27648 + 5)
    with pytest.raises(FormatError, match="not a whole number of at most 100000 images"):
        _read(_tar(tmp_path, members), "test")


def test_a_missing_member_is_named(tmp_path: Path) -> None:
    members = _members()
    del members["stl10_binary/test_y.bin"]
    with pytest.raises(FormatError, match=r"no member stl10_binary/test_y\.bin"):
        _read(_tar(tmp_path, members), "test")


def test_an_unknown_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="'val'"):
        _read(_tar(tmp_path, _members()), "val")


def test_fold_indices_outside_train_are_refused(tmp_path: Path) -> None:
    members = {k.replace("test", "train"): v for k, v in _members().items()}
    members["stl10_binary/fold_indices.txt"] = b"0 1\n" * 9 + b"0 2\n"
    with pytest.raises(FormatError, match=r"fold_indices\.txt line 10: index 2 is outside"):
        _read(_tar(tmp_path, members), "train")
    members["stl10_binary/fold_indices.txt"] = b"0 1\n" * 9
    with pytest.raises(FormatError, match="expected 10 lines of indices, found 9"):
        _read(_tar(tmp_path, members), "train")


def test_an_unsafe_member_refuses_the_archive(tmp_path: Path) -> None:
    members = {"../evil": b"x", **_members()}
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./evil'"):
        _read(_tar(tmp_path, members), "test")


def test_the_entry_fetches_unlabeled_only_on_request() -> None:
    spec = catalog.get("stl10")
    assert [(s.name, s.count, s.optional) for s in spec.splits] == [
        ("train", 5000, False), ("test", 8000, False), ("unlabeled", 100000, True)]  # fmt: skip
    f = spec.editions[0].files[0]
    assert f.size == 2640397119 and "tensorflow_datasets/url_checksums/stl10.txt" in spec.provenance
