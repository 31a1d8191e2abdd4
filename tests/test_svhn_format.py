"""The SVHN cropped-digits reader (format "svhn-mat") on fake files in the real layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io as sio

from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, svhn
from imagesets.testing import MemoryWriter
from imagesets.testing.matlab import fake_svhn_images, write_fake_svhn, write_mat


def _read(path: Path, **options: Any) -> tuple[MemoryWriter, dict[str, Any], list[int]]:
    out, calls = MemoryWriter(), []
    request = ReadRequest("svhn", "test", {"mat": path}, options, progress=calls.append)
    facts = svhn.read_split(request, out).manifest()
    return out, facts, calls


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_nhwc_and_label_mapping(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "test_32x32.mat"
    raw = write_fake_svhn(path, n=50, seed=3, compress=compress)
    assert {1, 10} <= set(raw.tolist())
    out, facts, calls = _read(path)
    assert facts == {"raw_labels": False, "labels_are_class_indices": True}
    images, labels = out.arrays["images"], out.arrays["labels"]
    assert images.shape == (50, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, fake_svhn_images(50, seed=3))
    assert labels.dtype == np.uint8 and labels.tolist() == [v % 10 for v in raw.tolist()]
    assert sum(calls) == 50


def test_agrees_with_scipy_and_torchvision_recipe(tmp_path: Path) -> None:
    path = tmp_path / "train_32x32.mat"
    write_fake_svhn(path, n=20, seed=1)
    ref = sio.loadmat(path)
    out, _, _ = _read(path)
    np.testing.assert_array_equal(out.arrays["images"], ref["X"].transpose(3, 0, 1, 2))
    y = ref["y"].astype(np.int64).squeeze()
    np.place(y, y == 10, 0)  # torchvision's remap
    np.testing.assert_array_equal(out.arrays["labels"], y)


def test_raw_labels_keeps_ten(tmp_path: Path) -> None:
    path = tmp_path / "extra_32x32.mat"
    raw = write_fake_svhn(path, n=30, seed=5)
    out, facts, _ = _read(path, raw_labels=True)
    assert facts == {"raw_labels": True, "labels_are_class_indices": False}
    np.testing.assert_array_equal(out.arrays["labels"], raw)
    with pytest.raises(CatalogError, match="raw_labels"):
        _read(path, raw_labels="yes")


def test_chunks_across_image_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svhn, "_CHUNK_IMAGES", 3)
    path = tmp_path / "t.mat"
    write_fake_svhn(path, n=10, seed=2, chunk=4)
    out, _, calls = _read(path)
    assert calls == [3, 3, 3, 1]
    np.testing.assert_array_equal(out.arrays["images"], fake_svhn_images(10, seed=2))


@pytest.mark.parametrize("y_dtype", [np.uint8, np.float64, np.int32])
def test_label_classes_matlab_may_use(tmp_path: Path, y_dtype: type) -> None:
    path = tmp_path / "t.mat"
    x = np.zeros((32, 32, 3, 4), np.uint8)
    y = np.array([[10], [1], [9], [5]], dtype=y_dtype)
    write_mat(path, {"X": x, "y": y}, narrow=True)
    assert _read(path)[0].arrays["labels"].tolist() == [0, 1, 9, 5]


def test_empty_split(tmp_path: Path) -> None:
    path = tmp_path / "t.mat"
    write_mat(path, {"X": np.zeros((32, 32, 3, 0), np.uint8), "y": np.zeros((0, 1))})
    out, _, _ = _read(path)
    assert out.arrays["images"].shape == (0, 32, 32, 3) and out.arrays["labels"].shape == (0,)


def _bad(tmp_path: Path, **variables: Any) -> Path:
    path = tmp_path / "bad.mat"
    good = {"X": np.zeros((32, 32, 3, 3), np.uint8), "y": np.array([[1.0], [2.0], [3.0]])}
    write_mat(path, {**good, **variables})
    return path


BAD_VARIABLES: dict[str, tuple[dict[str, Any], str]] = {
    "x3d": ({"X": np.zeros((32, 32, 3), np.uint8)}, r"dims of X: expected \(32, 32, 3, N\)"),
    "x28": ({"X": np.zeros((28, 28, 3, 3), np.uint8)}, r"found \(28, 28, 3, 3\)"),
    "xclass": ({"X": np.zeros((32, 32, 3, 3))}, "class of X: expected uint8, found double"),
    "ylength": ({"y": np.ones((2, 1))}, r"dims of y: expected \(3, 1\).*found \(2, 1\)"),
    "yshape": ({"y": np.ones((3, 3))}, "dims of y"),
    "ychar": ({"y": "abc"}, "class of y"),
    "yzero": ({"y": np.array([[1.0], [0.0], [3.0]])}, r"y\[1\]: expected a label in 1..10"),
    "y11": ({"y": np.array([[11.0], [2.0], [12.0]])}, r"y\[0\] \(and 1 more\)"),
    "yfrac": ({"y": np.array([[1.0], [2.5], [3.0]])}, r"y\[1\]"),
    "ynan": ({"y": np.array([[1.0], [2.0], [np.nan]])}, r"y\[2\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_VARIABLES))
def test_wrong_variables_are_format_errors(tmp_path: Path, case: str) -> None:
    variables, message = BAD_VARIABLES[case]
    path = _bad(tmp_path, **variables)
    with pytest.raises(FormatError, match=message) as info:
        _read(path)
    assert str(path) in str(info.value)


def test_missing_variable(tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    write_mat(path, {"X": np.zeros((32, 32, 3, 1), np.uint8)})
    with pytest.raises(FormatError, match=r"a variable 'y', found \['X'\]"):
        _read(path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_and_corrupt_files(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "t.mat"
    write_fake_svhn(path, n=40, seed=0, compress=compress)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        _read(path)
    middle = len(data) // 3  # inside X's pixels
    flipped = bytes(255 - b for b in data[middle : middle + 64])
    path.write_bytes(data[:middle] + flipped + data[middle + 64 :])
    if compress:
        with pytest.raises(FormatError, match="zlib"):
            _read(path)
    else:  # raw pixels carry no check: the damage shows, but only in the pixels
        out, _, _ = _read(path)
        assert not np.array_equal(out.arrays["images"], fake_svhn_images(40, seed=0))


def test_not_a_mat_file(tmp_path: Path) -> None:
    path = tmp_path / "t.mat"
    path.write_bytes(b"<html>503 Service Unavailable</html>" * 10)
    with pytest.raises(FormatError, match="header text"):
        _read(path)


# --- bounded allocation (issue 9) --------------------------------------------------------------


def _bomb_mat(path: Path, claimed: int, nested: int = 0) -> Path:
    """X claims ``claimed`` images in a few bytes; y really holds ``claimed`` labels (1s)."""
    import zlib

    from imagesets.testing.matlab import HEADER_TEXT, _Encoder, _file_header

    enc = _Encoder("<", narrow=True)
    head = enc.header("uint8", (32, 32, 3, claimed), "X") + enc.u4(2, claimed * 3072)
    x = enc.u4(14, len(head) + claimed * 3072) + head + b"\0" * 64
    yhead = enc.header("double", (claimed, 1), "y") + enc.u4(2, claimed)
    squeezer = zlib.compressobj(9)
    y = squeezer.compress(enc.u4(14, len(yhead) + claimed) + yhead)
    y += squeezer.compress(b"\x01" * claimed) + squeezer.flush()
    with path.open("wb") as f:
        f.write(_file_header("<", HEADER_TEXT))
        for payload in (zlib.compress(x), y):
            f.write(enc.u4(15, len(payload)) + payload)
    return path


def test_labels_bomb_is_a_format_error_within_memory(tmp_path: Path) -> None:
    from imagesets.testing.limits import memory_cap

    path = _bomb_mat(tmp_path / "bomb.mat", 1_300_000)  # 4 GB of pixels claimed
    assert path.stat().st_size < 1 << 20
    with memory_cap(1 << 30), pytest.raises(FormatError, match=r"bomb\.mat"):
        svhn.read_split(ReadRequest("svhn", "train", {"mat": path}), MemoryWriter())


@pytest.mark.parametrize("bad", [float("nan"), 1.5, 1.7, 0.0, 11.0, -1.0])
def test_non_integer_or_out_of_range_labels_are_format_errors(tmp_path: Path, bad: float) -> None:
    from imagesets.testing.matlab import write_mat

    path = tmp_path / "bad.mat"
    y = np.array([[1.0], [bad]])
    write_mat(path, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": y}, compress=True)
    with pytest.raises(FormatError, match=r"bad.mat: y\[1\]: expected a label in 1..10"):
        svhn.read_split(ReadRequest("svhn", "train", {"mat": path}), MemoryWriter())
