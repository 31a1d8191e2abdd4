"""Decoding, resizing, re-encoding and probing single images (imagesets.imaging)."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from imagesets import imaging
from imagesets.errors import FormatError
from imagesets.imaging import (
    UndecodableImageError,
    check,
    decode,
    encode,
    imap_bounded,
    probe,
    reencode,
    resize_center_crop,
)
from imagesets.testing.images import (
    KINDS,
    photo,
    write_jpeg,
    write_not_image,
    write_png,
    write_truncated_jpeg,
    write_zero_bytes,
)

REAL = Path("/work/shared/real-data/imagenet/test-samples")
REAL_FILES = sorted(REAL.glob("*.JPEG")) if REAL.is_dir() else []
GOOD_KINDS = [k for k, kind in KINDS.items() if kind.reason is None]


@pytest.fixture(params=["simplejpeg", "pillow-only"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with simplejpeg, and again with its import failing (Pillow does everything)."""
    imaging._simplejpeg.cache_clear()
    if request.param == "pillow-only":
        monkeypatch.setitem(sys.modules, "simplejpeg", None)  # import raises ImportError
        assert imaging._simplejpeg() is None
    else:
        pytest.importorskip("simplejpeg")
    yield request.param
    imaging._simplejpeg.cache_clear()


def _mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("kind", GOOD_KINDS)
def test_every_kind_decodes_to_rgb(kind: str, tmp_path: Path, backend: str) -> None:
    path = KINDS[kind].write(tmp_path / f"x{KINDS[kind].suffix}", 30, 40, 7)
    img = decode(path.read_bytes())
    assert img.shape == (30, 40, 3) and img.dtype == np.uint8
    if kind in ("jpeg", "progressive_jpeg", "png_as_jpg"):
        assert _mean_abs(img, photo(30, 40, 7)) < 6


@pytest.mark.parametrize("mode", ["L", "LA", "P", "I;16"])
def test_gray_like_modes_have_equal_channels(mode: str, tmp_path: Path, backend: str) -> None:
    img = decode(write_png(tmp_path / "g.png", 20, 24, 3, mode).read_bytes())
    if mode != "P":
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    assert img.shape == (20, 24, 3)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    gray16 = decode(write_png(tmp_path / "a.png", 20, 24, 3, "I;16").read_bytes())
    gray8 = decode(write_png(tmp_path / "b.png", 20, 24, 3, "L").read_bytes())
    np.testing.assert_array_equal(gray16, gray8)  # v * 257 >> 8 == v


def test_alpha_is_composited_over_white(tmp_path: Path, backend: str) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)  # black, alpha 0 on the left half, 255 on the right
    rgba[:, 2:, 3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    img = decode(buf.getvalue())
    assert (img[:, :2] == 255).all() and (img[:, 2:] == 0).all()


def test_transparent_palette_is_composited(tmp_path: Path) -> None:
    img = decode(write_png(tmp_path / "p.png", 20, 24, 3, "P+t").read_bytes())
    palette = Image.open(tmp_path / "p.png")
    transparent = np.asarray(palette) == 0
    assert transparent.any() and (img[transparent] == 255).all()


def test_unsupported_mode_is_a_clean_error(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.ones((4, 4), np.float32)).save(buf, format="TIFF")
    with pytest.raises(UndecodableImageError) as info:
        decode(buf.getvalue(), source="f.tif")
    assert info.value.reason == "unsupported mode F" and "f.tif" in str(info.value)


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (write_zero_bytes, "zero bytes"),
        (write_truncated_jpeg, "truncated"),
        (write_not_image, "not an image"),
    ],
)
def test_broken_files_raise_format_error_with_reason(
    writer: Callable[[Path, int, int, int], Path], reason: str, tmp_path: Path, backend: str
) -> None:
    path = writer(tmp_path / "bad.jpg", 40, 50, 1)
    data = path.read_bytes()
    for call in (lambda: decode(data, source="bad.jpg"), lambda: check(data, source="bad.jpg")):
        with pytest.raises(FormatError) as info:
            call()
        assert isinstance(info.value, UndecodableImageError) and isinstance(info.value, ValueError)
        assert info.value.reason == reason and "bad.jpg" in str(info.value)


def test_decompression_bombs_are_refused(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_jpeg(tmp_path / "big.jpg", 100, 100, 1).read_bytes()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10,000 pixels > 2 x the limit
    for call in (lambda: decode(data, size=8), lambda: check(data)):
        with pytest.raises(UndecodableImageError, match="too large"):
            call()


def test_truncated_png_is_truncated(tmp_path: Path) -> None:
    data = write_png(tmp_path / "t.png", 40, 50, 1).read_bytes()
    with pytest.raises(UndecodableImageError, match="truncated"):
        decode(data[: len(data) // 2])


def test_size_and_max_side_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        decode(b"x", size=2, max_side=3)


@pytest.mark.parametrize("size", [64, 128, 224])
def test_dct_scaled_decode_is_close_to_full_decode(tmp_path: Path, backend: str, size: int) -> None:
    data = write_jpeg(tmp_path / "p.jpg", 375, 500, 11).read_bytes()
    reference = resize_center_crop(decode(data), size)
    scaled = decode(data, size=size)
    assert scaled.shape == (size, size, 3)
    assert _mean_abs(scaled, reference) < 4


def test_simplejpeg_is_asked_for_a_scaled_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sj = pytest.importorskip("simplejpeg")
    imaging._simplejpeg.cache_clear()
    seen: list[tuple[int, int]] = []
    real = sj.decode_jpeg

    def spy(data: bytes, **kw: object) -> np.ndarray:
        out: np.ndarray = real(data, **kw)
        seen.append(out.shape[:2])
        return out

    monkeypatch.setattr(sj, "decode_jpeg", spy)
    data = write_jpeg(tmp_path / "p.jpg", 375, 500, 11).read_bytes()
    decode(data, size=64)
    decode(data, max_side=100)
    assert seen == [(94, 125), (94, 125)]  # 2/8 scale: the smallest still >= the output


def test_pillow_uses_draft_when_output_is_at_most_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "simplejpeg", None)
    imaging._simplejpeg.cache_clear()
    loaded: list[tuple[int, int]] = []
    real_load = imaging._to_rgb

    def spy(im: Image.Image) -> np.ndarray:
        loaded.append(im.size)
        return real_load(im)

    monkeypatch.setattr(imaging, "_to_rgb", spy)
    data = write_jpeg(tmp_path / "p.jpg", 375, 500, 11).read_bytes()
    decode(data, size=64)
    decode(data, size=300)
    imaging._simplejpeg.cache_clear()
    assert loaded == [(125, 94), (500, 375)]


@pytest.mark.parametrize(("shape", "size"), [((100, 50, 3), 32), ((10, 20, 3), 32), ((7, 7, 3), 7)])
def test_resize_center_crop_shapes(shape: tuple[int, int, int], size: int) -> None:
    out = resize_center_crop(np.zeros(shape, np.uint8), size)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8


def test_resize_center_crop_keeps_the_centre() -> None:
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 100:200, 0] = 255  # a red centre square between black sides
    out = resize_center_crop(img, 10)
    assert (out[:, 1:-1, 0] == 255).all() and (out[..., 1:] == 0).all()


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_resize_center_crop_rejects_non_rgb(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"uint8 \(H, W, 3\)"):
        resize_center_crop(bad, 2)


def test_max_side_keeps_aspect_and_never_upscales(tmp_path: Path, backend: str) -> None:
    data = write_jpeg(tmp_path / "p.jpg", 375, 500, 2).read_bytes()
    assert decode(data, max_side=256).shape == (192, 256, 3)
    assert decode(data, max_side=1000).shape == (375, 500, 3)


def test_reencode_bounds_the_longer_side(tmp_path: Path, backend: str) -> None:
    data = write_jpeg(tmp_path / "p.jpg", 500, 375, 2).read_bytes()
    out = reencode(data, 256)
    assert probe(out)[:3] == ("JPEG", 192, 256)
    assert _mean_abs(decode(out), decode(data, max_side=256)) < 3


def test_reencode_keeps_small_jpegs_and_converts_others(tmp_path: Path) -> None:
    small = write_jpeg(tmp_path / "s.jpg", 60, 80, 2).read_bytes()
    assert reencode(small, 256) == small
    cmyk = write_jpeg(tmp_path / "c.jpg", 60, 80, 2, "CMYK").read_bytes()
    png = write_png(tmp_path / "p.jpg", 60, 80, 2, "RGBA").read_bytes()
    for data in (cmyk, png):
        assert probe(reencode(data, 256)) == ("JPEG", 80, 60, "RGB")
    with pytest.raises(UndecodableImageError, match="truncated"):
        reencode(small[: len(small) // 2], 256)


def test_encode_round_trip(backend: str) -> None:
    img = photo(40, 50, 5)
    assert _mean_abs(decode(encode(img, quality=95)), img) < 4


def test_probe_and_check(tmp_path: Path) -> None:
    data = write_jpeg(tmp_path / "g.jpg", 30, 40, 1, "L").read_bytes()
    assert probe(data) == ("JPEG", 40, 30, "L")
    assert check(data) == (30, 40)
    with pytest.raises(UndecodableImageError, match="not an image"):
        probe(b"hello")
    with pytest.raises(UndecodableImageError, match="zero bytes"):
        probe(b"")


def test_simplejpeg_and_pillow_agree(tmp_path: Path) -> None:
    pytest.importorskip("simplejpeg")
    data = write_jpeg(tmp_path / "p.jpg", 120, 160, 4).read_bytes()
    fast = decode(data)
    pillow = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert _mean_abs(fast, pillow) < 1.5


@pytest.mark.skipif(not REAL_FILES, reason="real ImageNet samples not available")
def test_real_imagenet_samples(backend: str) -> None:
    assert len(REAL_FILES) == 5
    for i, path in enumerate(REAL_FILES):
        data = path.read_bytes()
        fmt, width, height, mode = probe(data)
        img = decode(data)
        assert fmt == "JPEG" and img.shape == (height, width, 3)
        assert mode == ("L" if i == 0 else "RGB")
        if i == 0:
            assert (img[..., 0] == img[..., 2]).all()
        small = decode(data, size=224)
        assert small.shape == (224, 224, 3)
        assert _mean_abs(small, resize_center_crop(img, 224)) < 6


def test_imap_bounded_keeps_order_and_bounds_work_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def work(x: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.001)
        with lock:
            state["now"] -= 1
        return x * x

    assert list(imap_bounded(work, range(50), workers=4, window=3)) == [x * x for x in range(50)]
    assert 1 <= state["peak"] <= 3
    assert list(imap_bounded(work, range(5), workers=1)) == [0, 1, 4, 9, 16]


def test_imap_bounded_propagates_errors() -> None:
    def boom(x: int) -> int:
        if x == 3:
            raise RuntimeError("boom")
        return x

    with pytest.raises(RuntimeError, match="boom"):
        list(imap_bounded(boom, range(20), workers=2))


# --- bounded decoding (issue 9) --------------------------------------------------------------


def _huge_jpeg_header(height: int, width: int) -> bytes:
    """A small valid JPEG whose SOF0 header is rewritten to claim ``height`` x ``width``."""
    import struct as st

    data = bytearray(imaging.encode(np.zeros((8, 8, 3), np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = st.pack(">HH", height, width)
    return bytes(data) + bytes(3 << 20)


@pytest.mark.parametrize("func", ["decode", "check", "reencode"])
def test_three_gigapixel_jpeg_is_refused_before_decoding(func: str) -> None:
    from imagesets.testing.limits import memory_cap

    data = _huge_jpeg_header(60_000, 50_000)  # 3e9 pixels, 9 GB as RGB
    call = {
        "decode": lambda: imaging.decode(data, source="big.jpg"),
        "check": lambda: imaging.check(data, source="big.jpg"),
        "reencode": lambda: imaging.reencode(data, 256, source="big.jpg"),
    }[func]
    with memory_cap(1 << 30), pytest.raises(imaging.UndecodableImageError, match="too large"):
        call()


def test_pillow_bomb_warning_becomes_an_error() -> None:
    """Between MAX_PIXELS and Pillow's 2x limit Pillow only warns; we refuse (a PNG header)."""
    import struct as st
    import zlib as z

    def chunk(kind: bytes, body: bytes) -> bytes:
        return st.pack(">I", len(body)) + kind + body + st.pack(">I", z.crc32(kind + body))

    ihdr = st.pack(">IIBBBBB", 10_000, 10_000, 8, 2, 0, 0, 0)  # 1e8 pixels
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    with pytest.raises(imaging.UndecodableImageError, match="too large"):
        imaging.decode(png, source="big.png")


def test_read_file_refuses_fifo_and_devices(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    with pytest.raises(imaging.UndecodableImageError, match="not a regular file: FIFO"):
        imaging.read_file(fifo)  # without the check this blocks forever
    link = tmp_path / "zero.jpg"
    link.symlink_to("/dev/zero")
    with pytest.raises(imaging.UndecodableImageError, match="not a regular file"):
        imaging.read_file(link)
    big = tmp_path / "big.jpg"
    big.write_bytes(bytes(100))
    with pytest.raises(imaging.UndecodableImageError, match="too large: 100 bytes"):
        imaging.read_file(big, max_bytes=99)


# --- OpenCV resize (the ``fast`` extra), Pillow without it (issue 15) ---------------------------


class _FakeCv2:
    """Records what OpenCV is asked; returns a grey image of the asked size."""

    INTER_LINEAR, INTER_AREA, WARP_INVERSE_MAP, BORDER_REPLICATE = 1, 3, 16, 1

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.first_pixels: list[int] = []

    def resize(self, img: np.ndarray, dsize: tuple[int, int], interpolation: int) -> np.ndarray:
        self.calls.append(("resize", img.shape, dsize, interpolation))
        self.first_pixels.append(int(img[0, 0, 0]))
        return np.full((dsize[1], dsize[0], 3), 128, np.uint8)

    def warpAffine(
        self, img: np.ndarray, matrix: np.ndarray, dsize: tuple[int, int], **kw: int
    ) -> np.ndarray:
        self.calls.append(("warpAffine", img.shape, dsize, matrix.round(4).tolist(), kw))
        return np.full((dsize[1], dsize[0], 3), 128, np.uint8)


@pytest.mark.parametrize(
    ("shape", "size", "square", "flag"),
    [
        ((235, 313, 3), 224, (0, 39), "INTER_LINEAR"),  # after DCT scaling: shrink < 2
        ((375, 500, 3), 100, (0, 62), "INTER_AREA"),  # shrink >= 2: half offset rounded
        ((20, 30, 3), 64, (0, 5), "INTER_LINEAR"),  # upscaling
        ((300, 200, 3), 100, (50, 0), "INTER_AREA"),  # portrait
    ],
)
def test_resize_center_crop_with_opencv_resizes_the_centre_square(
    monkeypatch: pytest.MonkeyPatch,
    shape: tuple[int, ...],
    size: int,
    square: tuple[int, int],
    flag: str,
) -> None:
    fake = _FakeCv2()
    monkeypatch.setattr(imaging, "_cv2", lambda: fake)
    img = np.zeros(shape, np.uint8)
    img[square] = 255  # the first pixel of the square
    out = resize_center_crop(img, size)
    side = min(shape[:2])
    assert out.shape == (size, size, 3)
    assert fake.calls == [("resize", (side, side, 3), (size, size), getattr(_FakeCv2, flag))]
    assert fake.first_pixels == [255]


def test_half_pixel_centre_below_2x_is_a_subpixel_bilinear_warp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _FakeCv2()
    monkeypatch.setattr(imaging, "_cv2", lambda: fake)
    assert resize_center_crop(np.zeros((375, 500, 3), np.uint8), 224).shape == (224, 224, 3)
    scale = 375 / 224
    shift = 0.5 * scale - 0.5  # cv2.resize's pixel-centre mapping, moved by the offset 62.5
    matrix = [
        [round(scale, 4), 0.0, round(62.5 + shift, 4)],
        [0.0, round(scale, 4), round(shift, 4)],
    ]
    flags = {"flags": _FakeCv2.INTER_LINEAR | _FakeCv2.WARP_INVERSE_MAP, "borderMode": 1}
    assert fake.calls == [("warpAffine", (375, 500, 3), (224, 224), matrix, flags)]


def test_fit_asks_opencv_for_the_whole_image(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeCv2()
    monkeypatch.setattr(imaging, "_cv2", lambda: fake)
    out = imaging._fit(np.zeros((130, 170, 3), np.uint8), (130, 170), 40)
    assert out.shape == (31, 40, 3)
    assert fake.calls == [("resize", (130, 170, 3), (40, 31), _FakeCv2.INTER_AREA)]
    out = imaging._fit(np.zeros((33, 43, 3), np.uint8), (130, 170), 40)  # DCT-scaled first
    assert out.shape == (31, 40, 3) and fake.calls[-1][2:] == ((40, 31), _FakeCv2.INTER_LINEAR)


def test_resize_without_opencv_is_pillow_bilinear_of_the_centre_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imaging, "_cv2", lambda: None)
    img = photo(41, 60, 2)
    box = (9.5, 0.0, 50.5, 41.0)
    want = np.asarray(Image.fromarray(img).resize((16, 16), Image.Resampling.BILINEAR, box=box))
    np.testing.assert_array_equal(resize_center_crop(img, 16), want)


def test_opencv_resize_is_pixel_close_to_pillow() -> None:
    """OpenCV's result is within 2 grey levels of Pillow's on average, on photo-like images."""
    pytest.importorskip("cv2", reason="opencv is not installed: pip install 'imagesets[fast]'")
    assert imaging._cv2() is not None
    for shape, size in (((235, 313), 224), ((375, 500), 224), ((375, 500), 64), ((20, 30), 64)):
        img = photo(*shape, 11)
        fast = resize_center_crop(img, size)
        side = min(shape)
        left, top = (shape[1] - side) / 2, (shape[0] - side) / 2
        box = (left, top, left + side, top + side)
        pil = Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR, box=box)
        assert fast.shape == (size, size, 3) and fast.dtype == np.uint8
        assert _mean_abs(fast, np.asarray(pil)) < 2, shape
