"""The packed JPEG store (imagesets.packed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from imagesets.errors import FormatError
from imagesets.imaging import UndecodableImageError, decode, encode
from imagesets.packed import PackedImages, PackedWriter
from imagesets.testing.images import photo, write_jpeg, write_png

REAL = Path("/work/shared/real-data/imagenet/test-samples")


def _pack(blobs: list[bytes]) -> tuple[bytes, np.ndarray]:
    buf = io.BytesIO()
    writer = PackedWriter(buf)
    for i, blob in enumerate(blobs):
        assert writer.append(blob) == i
    assert len(writer) == len(blobs) and writer.nbytes == len(buf.getvalue())
    return buf.getvalue(), writer.offsets()


@pytest.fixture
def jpegs() -> list[bytes]:
    return [encode(photo(30 + i, 40, i)) for i in range(6)]


def test_writer_offsets(jpegs: list[bytes]) -> None:
    data, offsets = _pack(jpegs)
    assert offsets.dtype == np.int64 and offsets[0] == 0 and offsets[-1] == len(data)
    assert np.diff(offsets).tolist() == [len(j) for j in jpegs]


def test_raw_getitem_and_negative_index(jpegs: list[bytes]) -> None:
    packed = PackedImages(*_pack(jpegs))
    assert len(packed) == 6
    assert [packed.raw(i) for i in range(6)] == jpegs
    assert packed.raw(-1) == jpegs[-1]
    np.testing.assert_array_equal(packed[2], decode(jpegs[2]))
    with pytest.raises(IndexError, match="index 6 out of range for 6"):
        packed.raw(6)


@pytest.mark.parametrize("workers", [1, 3])
def test_take_random_order_with_size(jpegs: list[bytes], workers: int) -> None:
    packed = PackedImages(*_pack(jpegs), workers=workers)
    order = [*np.random.default_rng(0).permutation(6).tolist(), 0, 0]
    batch = packed.take(order, size=16)
    assert batch.shape == (8, 16, 16, 3) and batch.dtype == np.uint8
    for row, i in enumerate(order):
        np.testing.assert_array_equal(batch[row], decode(jpegs[i], size=16))


def test_take_without_size_needs_one_shape(jpegs: list[bytes]) -> None:
    same = [encode(photo(20, 24, i)) for i in range(3)]
    packed = PackedImages(*_pack(same))
    assert packed.take(np.array([2, 0])).shape == (2, 20, 24, 3)
    assert packed.take([]).shape == (0, 0, 0, 3)
    with pytest.raises(ValueError, match="pass size="):
        PackedImages(*_pack(jpegs)).take([0, 1])


def test_open_memory_maps_files(tmp_path: Path, jpegs: list[bytes]) -> None:
    data, offsets = _pack(jpegs)
    (tmp_path / "data.bin").write_bytes(data)
    np.save(tmp_path / "offsets.npy", offsets)
    packed = PackedImages.open(tmp_path / "data.bin", tmp_path / "offsets.npy", size=8)
    assert packed.raw(3) == jpegs[3] and packed.take([5, 1]).shape == (2, 8, 8, 3)
    assert packed.take([5], size=4).shape == (1, 4, 4, 3)


def test_empty_store(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"")
    packed = PackedImages(tmp_path / "data.bin", np.zeros(1, np.int64))
    assert len(packed) == 0 and packed.take([], size=4).shape == (0, 4, 4, 3)


@pytest.mark.parametrize(
    ("offsets", "match"),
    [
        ([1, 10], "from 0 to the data length 10, found 1 to 10"),
        ([0, 9], "found 0 to 9"),
        ([0, 6, 4, 10], "non-decreasing"),
        ([[0, 10]], "1-D integer array"),
        ([0.0, 10.0], "1-D integer array"),
        ([], "1-D integer array"),
    ],
)
def test_bad_offsets_are_format_errors(offsets: list[float], match: str) -> None:
    with pytest.raises(FormatError, match=match):
        PackedImages(b"x" * 10, np.array(offsets))


def test_corrupt_record_names_its_index() -> None:
    packed = PackedImages(*_pack([encode(photo(8, 8, 0)), b"garbage"]))
    with pytest.raises(UndecodableImageError, match=r"packed image 1.*not an image"):
        packed.take([0, 1], size=4)


def test_mixed_formats_and_real_photos(tmp_path: Path) -> None:
    blobs = [
        write_png(tmp_path / "a.png", 30, 20, 1, "RGBA").read_bytes(),
        write_jpeg(tmp_path / "b.jpg", 30, 20, 2, "CMYK").read_bytes(),
        *(p.read_bytes() for p in sorted(REAL.glob("*.JPEG"))),
    ]
    packed = PackedImages(*_pack(blobs), workers=2)
    batch = packed.take(list(range(len(blobs)))[::-1], size=64)
    assert batch.shape == (len(blobs), 64, 64, 3)
    np.testing.assert_array_equal(batch[-1], decode(blobs[0], size=64))
