"""Decoding straight into a batch row (imaging.decode_into) and the packed sources' sized
``take`` built on it: the same pixels as ``decode(data, size=...)``, image by image."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from imagesets import imaging
from imagesets.imaging import UndecodableImageError, decode, encode
from imagesets.imaging_into import decode_into
from imagesets.packed import PackedWriter
from imagesets.sources import PackedSource
from imagesets.testing.images import KINDS, photo

#: (height, width): upscaled (with a half-pixel centre offset and without), shrunk below 2x
#: with half offsets on either axis, shrunk 2x and more (DCT scaling), exactly the size, portrait.
SHAPES = [(50, 61), (50, 60), (217, 256), (256, 217), (300, 301), (375, 500), (64, 64), (500, 333)]
GOOD = [k for k, kind in KINDS.items() if kind.reason is None]


@pytest.fixture(params=["fast", "no-opencv", "pillow-only"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """simplejpeg + OpenCV; simplejpeg without OpenCV; neither (Pillow does everything)."""
    pytest.importorskip("simplejpeg")
    pytest.importorskip("cv2")
    imaging._simplejpeg.cache_clear()
    imaging._cv2.cache_clear()
    if request.param != "fast":
        monkeypatch.setitem(sys.modules, "cv2", None)  # import raises ImportError
    if request.param == "pillow-only":
        monkeypatch.setitem(sys.modules, "simplejpeg", None)
    yield request.param
    imaging._simplejpeg.cache_clear()
    imaging._cv2.cache_clear()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [64, 224])
def test_decode_into_writes_what_decode_returns(
    shape: tuple[int, int], size: int, backend: str
) -> None:
    data = encode(photo(*shape, seed=shape[0] + shape[1]))
    out = np.full((size, size, 3), 7, np.uint8)
    decode_into(out, data)
    np.testing.assert_array_equal(out, decode(data, size=size))


@pytest.mark.parametrize("kind", GOOD)
def test_decode_into_every_kind_as_decode(kind: str, tmp_path: Path, backend: str) -> None:
    data = KINDS[kind].write(tmp_path / f"x{KINDS[kind].suffix}", 90, 130, 3).read_bytes()
    out = np.zeros((48, 48, 3), np.uint8)
    decode_into(out, memoryview(data))
    np.testing.assert_array_equal(out, decode(data, size=48))


def test_decode_into_resizes_in_place_with_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    img = photo(217, 256, 0)  # a half-pixel offset: the warp path
    for src in (img, img[:200]):  # and whole offsets: the resize path
        dst = np.empty((224, 224, 3), np.uint8)
        assert imaging._cv2_center(cv2, src, 224, dst) is dst
        np.testing.assert_array_equal(dst, imaging._cv2_center(cv2, src, 224))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 9, 3), np.uint8), np.zeros((8, 8, 3), np.float32), np.zeros((8, 16, 3))[:, ::2]],
)
def test_decode_into_refuses_a_bad_output(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="C-contiguous uint8"):
        decode_into(bad, encode(photo(20, 20, 0)))


@pytest.mark.parametrize("kind", ["truncated_jpeg", "not_image", "zero_bytes"])
def test_decode_into_names_the_source_of_a_bad_file(
    kind: str, tmp_path: Path, backend: str
) -> None:
    data = KINDS[kind].write(tmp_path / "bad.jpg", 60, 80, 0).read_bytes()
    with pytest.raises(UndecodableImageError, match="the-bad-file") as err:
        decode_into(np.zeros((16, 16, 3), np.uint8), data, source="the-bad-file")
    assert err.value.reason == KINDS[kind].reason


def _packed(tmp_path: Path, corrupt: int | None = None) -> tuple[list[bytes], Path, np.ndarray]:
    files = [encode(photo(*SHAPES[i % len(SHAPES)], seed=i)) for i in range(12)]
    if corrupt is not None:
        files[corrupt] = files[corrupt][: len(files[corrupt]) // 2]
    buf = io.BytesIO()
    writer = PackedWriter(buf)
    for data in files:
        writer.append(data)
    blob = tmp_path / "data.bin"
    blob.write_bytes(buf.getvalue())
    return files, blob, writer.offsets()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("memmap", [True, False])
def test_packed_take_is_decode_of_each_image(tmp_path: Path, workers: int, memmap: bool) -> None:
    files, blob, offsets = _packed(tmp_path)
    source = PackedSource(blob if memmap else blob.read_bytes(), offsets, workers=workers)
    idx = np.array([3, -1, 0, 3, 11, -12])
    got = source.take(idx, size=40)
    want = np.stack([decode(files[i], size=40) for i in idx])
    np.testing.assert_array_equal(got, want)
    chosen = source.select(np.array([5, 2, 7]))
    np.testing.assert_array_equal(
        chosen.take([2, 0], size=40), np.stack([decode(files[i], size=40) for i in (7, 5)])
    )
    assert source.take(np.array([], np.int64), size=40).shape == (0, 40, 40, 3)


def test_packed_take_checks_every_index_first(tmp_path: Path) -> None:
    _, blob, offsets = _packed(tmp_path)
    source = PackedSource(blob, offsets, workers=1)
    with pytest.raises(IndexError, match="image index 12 is out of range for 12 images"):
        source.take([0, 12], size=16)
    with pytest.raises(IndexError, match="image index -13"):
        source.take(np.array([-13]), size=16)


@pytest.mark.parametrize("workers", [1, 2])
def test_packed_take_names_the_stored_row_of_a_bad_image(tmp_path: Path, workers: int) -> None:
    _, blob, offsets = _packed(tmp_path, corrupt=4)
    source = PackedSource(blob, offsets, workers=workers).select(np.array([0, 4]))
    with pytest.raises(UndecodableImageError, match="packed image 4") as err:
        source.take([0, 1], size=16)
    assert err.value.reason == "truncated"


class _SpySource:
    """A sample source that records OpenCV's thread count while its batches are taken."""

    def __init__(self, n: int) -> None:
        self.seen: list[int] = []
        self.n = n

    def __len__(self) -> int:
        return self.n

    def take(self, indices: np.ndarray) -> np.ndarray:
        import cv2

        self.seen.append(cv2.getNumThreads())
        return np.zeros((len(indices), 4, 4, 3), np.uint8)


@pytest.mark.parametrize("workers", [1, 2])
def test_opencv_is_single_threaded_during_a_decode_feed_and_restored(workers: int) -> None:
    cv2 = pytest.importorskip("cv2")
    from imagesets.batching import batches

    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        source = _SpySource(40)
        feed = batches(source, np.zeros(40, np.int64), 8, seed=0, workers=workers)
        next(feed)
        assert cv2.getNumThreads() == 1  # while the epoch runs
        feed.close()  # an early break restores it too
        assert cv2.getNumThreads() == 3 and source.seen and set(source.seen) == {1}
        source.seen.clear()
        assert sum(len(y) for _, y in batches(source, np.zeros(40, np.int64), 8, seed=0)) == 40
        assert set(source.seen) == {1} and cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def test_nested_decode_feeds_share_the_opencv_setting() -> None:
    cv2 = pytest.importorskip("cv2")
    from imagesets.imaging_into import one_opencv_thread

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        with one_opencv_thread():
            with one_opencv_thread():
                assert cv2.getNumThreads() == 1
            assert cv2.getNumThreads() == 1  # the outer feed still runs
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
