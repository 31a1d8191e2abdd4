"""The SVHN full-numbers reader (format "svhn-full"), its accessor and draw_boxes, on fakes."""

from __future__ import annotations

import io
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from PIL import Image

from imagesets import store
from imagesets.errors import CatalogError, FormatError, MissingDependencyError
from imagesets.formats import ReadRequest, svhn_full
from imagesets.formats.svhn_full import BOX_DTYPE, read_split
from imagesets.sources import BoxedSource
from imagesets.testing import MemoryWriter
from imagesets.testing.svhn_full import (
    MATLAB_HEADER,
    FakeSvhnFull,
    fake_boxes,
    fake_png,
    write_digit_struct,
    write_fake_svhn_full,
    write_tar,
)
from imagesets.viz_boxes import PALETTE, draw_boxes


def _read(
    path: Path, count: int | None = None, **options: Any
) -> tuple[MemoryWriter, dict[str, Any], list[int]]:
    out, calls = MemoryWriter(), []
    request = ReadRequest("svhn-full", "train", {"archive": path}, options, count, calls.append)
    facts = read_split(request, out).manifest()
    return out, facts, calls


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeSvhnFull]:
    path = tmp_path_factory.mktemp("svhn") / "train.tar.gz"
    return path, write_fake_svhn_full(path, n=12, seed=5)


def _pieces(n: int, seed: int = 0) -> tuple[list[bytes], Any, Any]:
    rng = np.random.default_rng(seed)
    shapes = np.full((n, 2), 12, np.int32)
    boxes, offsets = fake_boxes(rng, shapes)
    return [fake_png(rng, 12, 12) for _ in range(n)], boxes, offsets


def _archive(path: Path, pngs: Sequence[tuple[str, bytes]], struct: bytes | None) -> Path:
    members = list(pngs) + ([("train/digitStruct.mat", struct)] if struct is not None else [])
    write_tar(path, members, folder="train/")
    return path


def _good_struct(n: int, boxes: Any, offsets: Any) -> bytes:
    return write_digit_struct([f"{i + 1}.png" for i in range(n)], boxes, offsets)


# --- round trip -----------------------------------------------------------------------------------


def test_round_trip_arrays(fake: tuple[Path, FakeSvhnFull]) -> None:
    path, expected = fake
    out, facts, calls = _read(path, count=12)
    assert facts == {
        "image_format": "png",
        "raw_labels": False,
        "ignored_members": ["train/see_bboxes.m"],
    }
    assert sum(calls) == 12
    a = out.arrays
    assert a["spans"].dtype == np.int64 and a["spans"].shape == (12, 2)
    assert a["shapes"].dtype == np.int32
    np.testing.assert_array_equal(a["shapes"], expected.shapes)
    assert a["digit_count"].dtype == np.uint8
    np.testing.assert_array_equal(a["digit_count"], np.diff(expected.box_offsets))
    assert a["box_offsets"].dtype == np.int64
    np.testing.assert_array_equal(a["box_offsets"], expected.box_offsets)
    assert a["boxes"].dtype == BOX_DTYPE


def test_png_bytes_identical_and_ordered_despite_shuffled_tar(
    fake: tuple[Path, FakeSvhnFull],
) -> None:
    path, expected = fake
    with tarfile.open(path) as tf:
        pngs = [n for n in tf.getnames() if n.endswith(".png")]
    assert pngs != sorted(pngs, key=lambda n: int(n.split("/")[1][:-4]))  # really shuffled
    out, _, _ = _read(path)
    data, spans = out.blobs["data"].getvalue(), out.arrays["spans"]
    assert len(data) == sum(len(p) for p in expected.pngs)
    assert np.any(np.diff(spans[:, 0]) < 0)  # the bytes stay in archive order
    for i, png in enumerate(expected.pngs):
        assert data[spans[i, 0] : spans[i, 1]] == png


def test_boxes_single_and_multi_digit_with_label_10_as_0(fake: tuple[Path, FakeSvhnFull]) -> None:
    path, expected = fake
    out, _, _ = _read(path)
    boxes, counts = out.arrays["boxes"], out.arrays["digit_count"]
    assert counts[0] == 1 and counts[1] == 2 and counts.max() > 2
    assert expected.boxes["label"][1] == 10 and boxes["label"][1] == 0
    assert set(expected.boxes["label"].tolist()) - {10} <= set(range(1, 10))
    np.testing.assert_array_equal(boxes["label"], expected.boxes["label"] % 10)
    for name in ("image", "left", "top", "width", "height"):
        np.testing.assert_array_equal(boxes[name], expected.boxes[name])
    assert (boxes["left"] < 0).any() or (boxes["top"] < 0).any()  # negative coordinates survive


def test_raw_labels_option_keeps_10(fake: tuple[Path, FakeSvhnFull]) -> None:
    path, expected = fake
    out, facts, _ = _read(path, raw_labels=True)
    assert facts["raw_labels"] is True
    np.testing.assert_array_equal(out.arrays["boxes"]["label"], expected.boxes["label"])
    with pytest.raises(CatalogError, match="raw_labels"):
        _read(path, raw_labels="yes")


def test_large_digit_struct_goes_through_a_temporary_file(
    fake: tuple[Path, FakeSvhnFull], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = fake
    monkeypatch.setattr(svhn_full, "_SPOOL_BYTES", 4096)
    folders: list[str] = []
    real = svhn_full.tempfile.TemporaryDirectory

    def spy(*args: Any, **kwargs: Any) -> Any:
        folders.append(kwargs.get("prefix", ""))
        return real(*args, **kwargs)

    monkeypatch.setattr(svhn_full.tempfile, "TemporaryDirectory", spy)
    out, _, _ = _read(path)
    assert folders == ["imagesets-svhn-"]
    np.testing.assert_array_equal(out.arrays["box_offsets"], expected.box_offsets)
    np.testing.assert_array_equal(out.arrays["boxes"]["width"], expected.boxes["width"])


def test_fake_digit_struct_is_matlab_v73_layout(fake: tuple[Path, FakeSvhnFull]) -> None:
    path, _ = fake
    with tarfile.open(path) as tf:
        member = tf.extractfile("train/digitStruct.mat")
        assert member is not None
        raw = member.read()
    assert raw.startswith(b"MATLAB 7.3 MAT-file") and raw[:128] == MATLAB_HEADER
    with h5py.File(io.BytesIO(raw), "r") as f:
        assert f.userblock_size == 512
        bbox = f["digitStruct/bbox"]
        assert bbox.shape == (12, 1) and h5py.check_ref_dtype(bbox.dtype) is h5py.Reference
        single, multi = f[bbox[0, 0]]["label"], f[bbox[1, 0]]["label"]
        assert single.shape == (1, 1) and single.dtype == np.float64
        assert multi.shape == (2, 1) and h5py.check_ref_dtype(multi.dtype) is h5py.Reference
        assert f[multi[0, 0]][()].tolist() == [[10.0]]


# --- accessor -------------------------------------------------------------------------------------


def test_accessor_images_digits_and_take(fake: tuple[Path, FakeSvhnFull], tmp_path: Path) -> None:
    path, expected = fake
    out, _, _ = _read(path)
    blob = tmp_path / "data.bin"
    blob.write_bytes(out.blobs["data"].getvalue())
    arrays = dict(out.arrays, boxes=out.arrays["boxes"].view(f"V{BOX_DTYPE.itemsize}"))
    split = BoxedSource(arrays, blob)  # a path, and boxes as the store maps a void dtype
    assert len(split) == 12
    for i in (0, 5, -1):
        want = np.asarray(Image.open(io.BytesIO(expected.pngs[i])).convert("RGB"))
        np.testing.assert_array_equal(split.image(i), want)
        assert split.raw(i) == expected.pngs[i]
    digits = split.digits(1)
    assert digits.dtype == BOX_DTYPE and digits["label"].tolist()[0] == 0
    assert split.take([3, 0, 3], size=16).shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="size"):
        split.take([0, 1])
    with pytest.raises(IndexError, match="out of range"):
        split.image(12)


def test_through_the_store(fake: tuple[Path, FakeSvhnFull], tmp_path: Path) -> None:
    path, expected = fake
    request = ReadRequest("svhn-full", "train", {"archive": path}, count=12)
    with store.SplitBuilder(tmp_path / "train") as builder:
        manifest = builder.commit(read_split(request, builder.writer).manifest())
    stored = store.open_split(tmp_path / "train", manifest)
    split = BoxedSource(stored.arrays, stored.blobs["data"])
    assert [split.raw(i) for i in range(12)] == expected.pngs
    np.testing.assert_array_equal(split.digits(3)["width"], expected.digits(3)["width"])
    assert split.boxes.dtype == BOX_DTYPE and len(split.boxes) == len(expected.boxes)


def test_accessor_refuses_inconsistent_arrays(fake: tuple[Path, FakeSvhnFull]) -> None:
    path, _ = fake
    out, _, _ = _read(path)
    data = out.blobs["data"].getvalue()
    with pytest.raises(FormatError, match="re-prepare"):
        BoxedSource(out.arrays, data[:-1])
    with pytest.raises(FormatError, match="re-prepare"):
        BoxedSource(dict(out.arrays, box_offsets=out.arrays["box_offsets"][:-1]), data)
    with pytest.raises(FormatError, match="boxes: expected dtype"):
        BoxedSource(dict(out.arrays, boxes=np.zeros(len(out.arrays["boxes"]), "V8")), data)


# --- failures -------------------------------------------------------------------------------------


def test_missing_png(tmp_path: Path) -> None:
    pngs, boxes, offsets = _pieces(4)
    members = [(f"train/{i + 1}.png", p) for i, p in enumerate(pngs) if i != 2]
    path = _archive(tmp_path / "train.tar.gz", members, _good_struct(4, boxes, offsets))
    with pytest.raises(FormatError, match=r"expected 1\.png \.\. 4\.png, found no 3\.png"):
        _read(path)


def test_png_not_in_digit_struct(tmp_path: Path) -> None:
    pngs, boxes, offsets = _pieces(3)
    members = [(f"train/{i + 1}.png", p) for i, p in enumerate(pngs)]
    struct = _good_struct(2, boxes[: offsets[2]], offsets[:3])
    path = _archive(tmp_path / "train.tar.gz", members, struct)
    with pytest.raises(FormatError, match=r"3\.png: expected only 1\.png \.\. 2\.png"):
        _read(path)


def test_wrong_count(fake: tuple[Path, FakeSvhnFull]) -> None:
    with pytest.raises(FormatError, match=r"image count: expected 13 \(the catalog\), found 12"):
        _read(fake[0], count=13)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("train/2.png", b"GIF89a" + bytes(40), "PNG signature"),
        ("train/2.png", b"\x89PNG\r\n\x1a\n" + bytes(30), "IHDR"),
        ("train/02.png", b"", "no leading zeros"),
        ("other/1.png", b"", "one file per image number"),
    ],
)
def test_bad_png_members(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    pngs, boxes, offsets = _pieces(2)
    members = [("train/1.png", pngs[0]), (name, data or pngs[1])]
    path = _archive(tmp_path / "train.tar.gz", members, _good_struct(2, boxes, offsets))
    with pytest.raises(FormatError, match=message):
        _read(path)


def _struct_without_group() -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("other", data=[1])
    return buf.getvalue()


def _struct_with_bad_label() -> bytes:
    _, boxes, offsets = _pieces(2)
    boxes["label"][0] = 11
    return _good_struct(2, boxes, offsets)


def _struct_with_wrong_name() -> bytes:
    _, boxes, offsets = _pieces(2)
    return write_digit_struct(["1.png", "7.png"], boxes, offsets)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"MATLAB 5.0 MAT-file, not HDF5" + bytes(200), "an HDF5 \\(MATLAB v7.3\\) file"),
        (_struct_without_group, "digitStruct/name: expected a dataset"),
        (_struct_with_bad_label, r"digit label of image 1\.png: expected 1\.\.10, found 11"),
        (_struct_with_wrong_name, r"entry 2 name: expected '2\.png', found '7\.png'"),
    ],
)
def test_corrupt_digit_struct(tmp_path: Path, make: Any, message: str) -> None:
    pngs, _, _ = _pieces(2)
    members = [(f"train/{i + 1}.png", p) for i, p in enumerate(pngs)]
    path = _archive(tmp_path / "train.tar.gz", members, make())
    with pytest.raises(FormatError, match=message) as info:
        _read(path)
    assert "digitStruct.mat" in str(info.value) and "download it again" in str(info.value)


def test_truncated_digit_struct_entry(tmp_path: Path) -> None:
    pngs, boxes, offsets = _pieces(2)
    buf = io.BytesIO(_good_struct(2, boxes, offsets))
    with h5py.File(buf, "r+") as f:
        group = f[f["digitStruct/bbox"][1, 0]]
        del group["width"]
    members = [(f"train/{i + 1}.png", p) for i, p in enumerate(pngs)]
    path = _archive(tmp_path / "train.tar.gz", members, buf.getvalue())
    with pytest.raises(FormatError, match="digitStruct entry 2: expected a readable name and bbox"):
        _read(path)


def test_missing_digit_struct(tmp_path: Path) -> None:
    pngs, _, _ = _pieces(2)
    path = _archive(tmp_path / "train.tar.gz", [("train/1.png", pngs[0])], None)
    with pytest.raises(FormatError, match=r"expected a digitStruct\.mat, found none"):
        _read(path)


def test_missing_h5py_names_the_extra(
    fake: tuple[Path, FakeSvhnFull], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'imagesets\[svhn\]'"):
        _read(fake[0])


# --- draw_boxes -----------------------------------------------------------------------------------


def _boxes(*rows: tuple[float, float, float, float, int]) -> Any:
    boxes = np.zeros(len(rows), BOX_DTYPE)
    for i, (left, top, width, height, label) in enumerate(rows):
        boxes[i] = (0, label, left, top, width, height)
    return boxes


def test_draw_boxes_size_and_coloured_outlines() -> None:
    image = np.full((20, 30, 3), 100, np.uint8)
    boxes = _boxes((3, 6, 5, 10, 10), (12, 4, 6, 12, 7))
    picture = np.asarray(draw_boxes(image, boxes, scale=4))
    assert picture.shape == (80, 120, 3)
    assert tuple(picture[6 * 4 + 20, 3 * 4]) == PALETTE[0]  # left edge of the label-10 box
    assert tuple(picture[4 * 4 + 20, (12 + 6) * 4 - 1]) == PALETTE[7]  # right edge of the 7
    assert tuple(picture[6 * 4 + 20, 3 * 4 + 8]) == (100, 100, 100)  # inside stays the image
    above = picture[6 * 4 - 14 : 6 * 4 - 1, 3 * 4 : 3 * 4 + 12]
    assert (above != 100).any()  # the label is written above the box


def test_draw_boxes_grayscale_and_bad_arguments() -> None:
    picture = draw_boxes(np.zeros((5, 6), np.uint8), _boxes((0, 0, 2, 2, 1)), scale=2)
    assert picture.mode == "RGB" and picture.size == (12, 10)
    assert picture.getpixel((0, 0)) == PALETTE[1]
    with pytest.raises(ValueError, match="scale"):
        draw_boxes(np.zeros((5, 6), np.uint8), _boxes(), scale=0)
    with pytest.raises(ValueError, match="structured array"):
        draw_boxes(np.zeros((5, 6), np.uint8), np.zeros((1, 4)))


# --- bounded reads and strict values (issue 9) ------------------------------------------------


def _struct_with(field: str, value: float) -> bytes:
    """A digitStruct whose first digit has ``value`` (a double, as h5py stores it) in ``field``."""
    _, boxes, offsets = _pieces(2)
    buf = io.BytesIO(_good_struct(2, boxes, offsets))
    with h5py.File(buf, "r+") as f:
        ds = f[f["digitStruct/bbox"][0, 0]][field]
        if h5py.check_ref_dtype(ds.dtype) is not None:
            ds = f[ds[0, 0]]
        ds[0, 0] = value
    return buf.getvalue()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("label", 1.5, r"digit label of image 1\.png: expected 1\.\.10, found 1\.5"),
    ("label", float("nan"), r"digit label of image 1\.png: expected 1\.\.10, found nan"),
    ("label", 0.0, r"digit label of image 1\.png: expected 1\.\.10"),
    ("left", float("inf"), r"box of image 1\.png: expected finite coordinates"),
    ("top", 1e300, r"box of image 1\.png: expected finite coordinates that fit float32"),
])  # fmt: skip
def test_bad_digit_values_are_format_errors(field: str, value: float, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        svhn_full.read_digit_struct(io.BytesIO(_struct_with(field, value)))


def test_fifty_million_char_name_is_refused_before_reading() -> None:
    from imagesets.testing.limits import memory_cap

    _, boxes, offsets = _pieces(1)
    buf = io.BytesIO(_good_struct(1, boxes, offsets))
    with h5py.File(buf, "r+") as f:
        name = f["#refs#"].create_dataset(
            "huge", shape=(50_000_000, 1), dtype=np.uint16, chunks=(1 << 20, 1),
            compression="gzip", fillvalue=1000,  # not a cached int
        )  # fmt: skip
        f["digitStruct/name"][0, 0] = name.ref
    data = buf.getvalue()
    assert len(data) < 1 << 20
    with memory_cap(1 << 30), pytest.raises(FormatError, match="digitStruct entry 1"):
        svhn_full.read_digit_struct(io.BytesIO(data))
