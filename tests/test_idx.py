"""The IDX reader: every type code and rank, every broken header, isal vs zlib, real MNIST."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, ReadResult, get_reader, idx
from imagesets.formats.idx import read_array, read_header, read_split
from imagesets.testing import MemoryWriter
from imagesets.testing.idx import fake_mnist_arrays, idx_bytes, write_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
SHAPES = [(7,), (3, 5), (2, 3, 4), (2, 3, 4, 5)]
REAL_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}


def _values(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray[Any, Any]:
    """Values spanning the whole range of ``dtype`` (with inf, nan and -0.0 for floats)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        arr = (rng.standard_normal(shape) * 1e6).astype(dt)
        arr.reshape(-1)[:4] = [np.inf, -np.inf, np.nan, -0.0]
        return arr
    info = np.iinfo(dt)
    arr = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
    arr.reshape(-1)[:2] = [info.min, info.max]
    return arr


def _header(code: int, dims: tuple[int, ...], ndim: int | None = None) -> bytes:
    count = len(dims) if ndim is None else ndim
    return bytes([0, 0, code, count]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _write(tmp_path: Path, data: bytes, compress: bool, name: str = "f-idx") -> Path:
    path = tmp_path / (name + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def _format_error(call: Any, path: Path, *fragments: str) -> str:
    with pytest.raises(FormatError) as info:
        call(path)
    message = str(info.value)
    for fragment in (str(path), *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


@pytest.fixture(params=["isal", "zlib"])
def gzip_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with isal's igzip, then with the stdlib (isal's import made to fail)."""
    if request.param == "isal":
        pytest.importorskip("isal.igzip")
    else:
        monkeypatch.setitem(sys.modules, "isal", None)
        monkeypatch.setitem(sys.modules, "isal.igzip", None)
    return str(request.param)


# --------------------------------------------------------------------------- valid files


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_type_and_rank(
    tmp_path: Path, dtype: str, shape: tuple[int, ...], compress: bool
) -> None:
    arr = _values(dtype, shape)
    path = write_idx(tmp_path / "a.idx", arr, compress=compress)
    header = read_header(path)
    assert header.shape == shape
    assert header.dtype == np.dtype(dtype).newbyteorder(">") or header.dtype.itemsize == 1
    assert header.header_size == 4 + 4 * len(shape)
    assert header.nbytes == arr.nbytes
    out = read_array(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == shape
    np.testing.assert_array_equal(out, arr)


def test_big_endian_on_disk_native_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    path.write_bytes(_header(0x0B, (2,)) + b"\x01\x02\xff\xfe")
    out = read_array(path)
    assert out.dtype == np.dtype("=i2")
    assert out.tolist() == [0x0102, -2]


@pytest.mark.parametrize("shape", [(0, 28, 28), (3, 0), (1, 1, 1, 1, 1, 1, 2, 3)])
def test_empty_dimensions_and_eight_dimensions_read(tmp_path: Path, shape: tuple[int, ...]) -> None:
    arr = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    out = read_array(write_idx(tmp_path / "e.gz", arr))
    assert out.shape == shape
    np.testing.assert_array_equal(out, arr)


def test_read_array_fills_the_given_array_in_place(tmp_path: Path) -> None:
    images, _ = fake_mnist_arrays(4)
    path = write_idx(tmp_path / "i.gz", images)
    out = np.zeros((4, 28, 28), np.uint8)
    got = read_array(path, out)
    assert np.shares_memory(got, out)
    np.testing.assert_array_equal(out, images)


def test_read_array_refuses_an_out_of_another_shape(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "i.gz", np.zeros((4, 28, 28), np.uint8))
    _format_error(
        lambda p: read_array(p, np.zeros((5, 28, 28), np.uint8)),
        path,
        "shape",
        "expected (5, 28, 28)",
        "found (4, 28, 28)",
    )


def test_read_array_into_a_native_int16_out_gives_the_values(tmp_path: Path) -> None:
    arr = _values("int16", (3, 4))
    path = write_idx(tmp_path / "s.gz", arr)
    got = read_array(path, np.empty((3, 4), np.int16))
    np.testing.assert_array_equal(got, arr)


def test_read_array_refuses_an_out_of_another_dtype(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "u.gz", np.zeros((4, 28, 28), np.uint8))
    _format_error(lambda p: read_array(p, np.zeros((4, 28, 28), np.float32)), path, "dtype")


# --------------------------------------------------------------------------- read_split


def _request(images: Path, labels: Path, ticks: list[int] | None = None) -> ReadRequest:
    progress = ticks.append if ticks is not None else (lambda n: None)
    return ReadRequest("fake", "train", {"images": images, "labels": labels}, {}, progress=progress)


def test_read_split_through_memory_writer(tmp_path: Path) -> None:
    images, labels = fake_mnist_arrays(25, seed=3)
    ticks: list[int] = []
    request = _request(
        write_idx(tmp_path / "img.gz", images), write_idx(tmp_path / "lab.gz", labels), ticks
    )
    writer = MemoryWriter()
    assert get_reader("idx").__wrapped__ is read_split  # type: ignore[attr-defined]
    assert read_split(request, writer) == ReadResult()
    assert ReadResult().manifest() == {}  # an IDX split adds nothing to the manifest
    assert set(writer.arrays) == {"images", "labels"}
    assert writer.arrays["images"].dtype == np.uint8 and writer.arrays["images"].shape == (
        25,
        28,
        28,
    )
    assert writer.arrays["labels"].dtype == np.uint8 and writer.arrays["labels"].shape == (25,)
    np.testing.assert_array_equal(writer.arrays["images"], images)
    np.testing.assert_array_equal(writer.arrays["labels"], labels)
    assert sum(ticks) == 25


def test_read_split_multibyte_types_come_out_native(tmp_path: Path) -> None:
    images, labels = _values("float32", (6, 4, 4)), _values("int32", (6,))
    request = _request(
        write_idx(tmp_path / "img", images, compress=False), write_idx(tmp_path / "lab", labels)
    )
    writer = MemoryWriter()
    read_split(request, writer)
    assert writer.arrays["images"].dtype == np.dtype("=f4")
    assert writer.arrays["labels"].dtype == np.dtype("=i4")
    np.testing.assert_array_equal(writer.arrays["images"], images)
    np.testing.assert_array_equal(writer.arrays["labels"], labels)


def test_read_split_count_mismatch(tmp_path: Path) -> None:
    images, labels = fake_mnist_arrays(5)
    img, lab = write_idx(tmp_path / "img.gz", images), write_idx(tmp_path / "lab.gz", labels[:4])
    writer = MemoryWriter()
    with pytest.raises(FormatError) as info:
        read_split(_request(img, lab), writer)
    for fragment in ("fake train", "img.gz holds 5 images", "lab.gz holds 4 labels"):
        assert fragment in str(info.value)
    assert writer.arrays == {}  # refused before anything is allocated


@pytest.mark.parametrize(
    ("image_shape", "label_shape"), [((4, 28, 28), (4, 1)), ((4,), (4,))], ids=["labels2d", "img1d"]
)
def test_read_split_wrong_ranks(
    tmp_path: Path, image_shape: tuple[int, ...], label_shape: tuple[int, ...]
) -> None:
    img = write_idx(tmp_path / "img.gz", np.zeros(image_shape, np.uint8))
    lab = write_idx(tmp_path / "lab.gz", np.zeros(label_shape, np.uint8))
    with pytest.raises(FormatError) as info:
        read_split(_request(img, lab), MemoryWriter())
    message = str(info.value)
    for fragment in ("1-D labels", f"images {image_shape} in img.gz", f"labels {label_shape}"):
        assert fragment in message, message


def test_read_split_missing_role_is_a_catalog_error(tmp_path: Path) -> None:
    img = write_idx(tmp_path / "img.gz", np.zeros((2, 3, 3), np.uint8))
    request = ReadRequest("fake", "test", {"images": img})
    with pytest.raises(CatalogError, match="role 'labels'"):
        read_split(request, MemoryWriter())


def test_read_split_reports_a_broken_file_by_path(tmp_path: Path) -> None:
    img = write_idx(tmp_path / "img.gz", np.zeros((2, 3, 3), np.uint8))
    lab = tmp_path / "lab.gz"
    lab.write_bytes(b"<html>moved</html>")
    _format_error(lambda p: read_split(_request(img, p), MemoryWriter()), lab, "bad magic")


# --------------------------------------------------------------------------- broken headers

HTML = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n"
HEADER_CASES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "nonzero-magic": (
        b"\x08\x03\x08\x03" + _header(8, (1,))[4:] + b"\0",
        ("bad magic number", "expected two zero bytes", "found 08030803"),
    ),
    "html-page": (HTML, ("bad magic number", "found 3c21444f", "HTML page")),
    "unknown-type": (
        _header(0x0A, (2,)) + b"\0\0",
        ("unknown type code", "expected one of 0x8, 0x9, 0xb, 0xc, 0xd, 0xe", "found 0x0a"),
    ),
    "ndim-0": (_header(8, (), ndim=0), ("number of dimensions", "expected 1 to 8", "found 0")),
    "ndim-9": (_header(8, (1,) * 9) + b"\0", ("number of dimensions", "found 9")),
    "ndim-255": (_header(8, (), ndim=255), ("number of dimensions", "found 255")),
    "empty": (b"", ("truncated in the magic number", "expected 4 bytes, found 0")),
    "short-magic": (b"\0\0\x08", ("truncated in the magic number", "expected 4 bytes, found 3")),
    "short-dims": (
        _header(8, (2, 3, 4))[:12],
        ("truncated in the dimensions", "expected 12 bytes, found 8"),
    ),
}
DATA_CASES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "short-data": (
        _header(8, (2, 3, 4)) + bytes(10),
        ("truncated data", "header says (2, 3, 4) (24 bytes)", "found 10 bytes"),
    ),
    "short-data-int32": (
        _header(0x0C, (3,)) + bytes(11),
        ("truncated data", "(3,) (12 bytes)", "found 11 bytes"),
    ),
    "no-data": (_header(8, (5,)), ("truncated data", "(5,) (5 bytes)", "found 0 bytes")),
    "long-data": (
        _header(8, (2, 3)) + bytes(7),
        ("longer than its header says", "(2, 3)", "6 bytes of data"),
    ),
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_broken_header(tmp_path: Path, case: str, compress: bool) -> None:
    data, fragments = HEADER_CASES[case]
    path = _write(tmp_path, data, compress)
    _format_error(read_header, path, *fragments)
    _format_error(read_array, path, *fragments)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_data_length_disagrees_with_header(tmp_path: Path, case: str, compress: bool) -> None:
    data, fragments = DATA_CASES[case]
    path = _write(tmp_path, data, compress)
    assert read_header(path).shape  # the header alone is fine
    _format_error(read_array, path, *fragments)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_impossible_dimensions_are_a_format_error(tmp_path: Path, compress: bool) -> None:
    path = _write(tmp_path, _header(8, (2**31, 2**31, 2**31)), compress)
    _format_error(read_array, path, "truncated")


def test_every_truncation_is_a_format_error(tmp_path: Path) -> None:
    arr = _values("int16", (3, 4))
    for compress in (False, True):
        data = idx_bytes(arr, compress=compress)
        for cut in range(len(data)):
            path = tmp_path / f"cut-{compress}-{cut}"
            path.write_bytes(data[:cut])
            with pytest.raises(FormatError, match=str(path)):
                read_array(path)


def test_any_magic_or_type_byte_reads_or_is_a_format_error(tmp_path: Path) -> None:
    data = bytearray(idx_bytes(_values("int16", (3, 4)), compress=False))
    path = tmp_path / "m.idx"
    outcomes = {"ok": 0, "error": 0}
    trials = [(0, v) for v in range(0, 256, 15)] + [(1, v) for v in range(0, 256, 15)]
    for position, value in trials + [(2, v) for v in range(256)]:
        mutated = data.copy()
        mutated[position] = value
        path.write_bytes(bytes(mutated))
        try:
            read_array(path)
        except FormatError as exc:
            assert str(path) in str(exc)
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["ok"] == 3  # int16 as written, and the original's magic bytes 0 and 1
    assert outcomes["error"] == len(trials) + 256 - 3


# --------------------------------------------------------------------------- gzip streams


def _corruptions(gz: bytes) -> dict[str, bytes]:
    mid = len(gz) // 2
    flipped = bytearray(gz)
    flipped[mid : mid + 8] = bytes(b ^ 0xFF for b in flipped[mid : mid + 8])
    bad_crc = bytearray(gz)
    bad_crc[-8] ^= 0x01
    return {
        "flip-middle": bytes(flipped),
        "cut-trailer": gz[:-8],
        "cut-half": gz[:mid],
        "bad-crc": bytes(bad_crc),
        "trailing-garbage": gz + b"garbage!",
    }


@pytest.mark.parametrize(
    "case", ["flip-middle", "cut-trailer", "cut-half", "bad-crc", "trailing-garbage"]
)
def test_corrupt_gzip_stream(tmp_path: Path, gzip_impl: str, case: str) -> None:
    gz = idx_bytes(fake_mnist_arrays(40, seed=1)[0])
    path = tmp_path / "images.gz"
    path.write_bytes(_corruptions(gz)[case])
    _format_error(read_array, path, "gzip stream is corrupt or cut short", "download it again")


@pytest.mark.parametrize("dtype", DTYPES)
def test_isal_and_zlib_give_identical_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    pytest.importorskip("isal.igzip")
    path = write_idx(tmp_path / "a.gz", _values(dtype, (64, 9, 7), seed=5))
    with idx._open(path) as fh:
        assert type(fh).__module__.startswith("isal")
    fast = read_array(path)
    monkeypatch.setitem(sys.modules, "isal", None)
    monkeypatch.setitem(sys.modules, "isal.igzip", None)
    with idx._open(path) as fh:
        assert isinstance(fh, gzip.GzipFile)
    slow = read_array(path)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


def test_gzip_chosen_by_content_not_by_name(tmp_path: Path, gzip_impl: str) -> None:
    arr = _values("uint8", (3, 3))
    plain_named_gz = write_idx(tmp_path / "plain.gz", arr, compress=False)
    gz_named_plain = write_idx(tmp_path / "packed.idx", arr, compress=True)
    np.testing.assert_array_equal(read_array(plain_named_gz), arr)
    np.testing.assert_array_equal(read_array(gz_named_plain), arr)


# --------------------------------------------------------------------------- the real files


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_real_headers(real_data: Path, dataset: str) -> None:
    for name, shape in REAL_SHAPES.items():
        header = read_header(real_data / dataset / name)
        assert header.shape == shape
        assert header.dtype == np.uint8
        assert header.header_size == (16 if len(shape) == 3 else 8)


def test_real_mnist_labels_and_test_images(real_data: Path, gzip_impl: str) -> None:
    folder = real_data / "mnist"
    train = read_array(folder / "train-labels-idx1-ubyte.gz")
    test = read_array(folder / "t10k-labels-idx1-ubyte.gz")
    assert train.dtype == np.uint8 and train.shape == (60000,)
    assert train[:5].tolist() == [5, 0, 4, 1, 9] and test[:3].tolist() == [7, 2, 1]
    assert np.bincount(train).tolist()[:2] == [5923, 6742]
    assert set(np.unique(test).tolist()) == set(range(10))
    images = read_array(folder / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images[0].max() == 255 and images[0, 0].max() == 0
