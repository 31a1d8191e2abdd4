"""Single images: encoded bytes in, ``uint8`` RGB arrays ``(H, W, 3)`` out.

Decoding uses `simplejpeg <https://gitlab.com/jfolz/simplejpeg>`_ (the ``fast`` extra) for
baseline and progressive YCbCr/grayscale JPEGs and Pillow for everything else, per file: a PNG
named ``.jpg``, a CMYK JPEG or a JPEG with recoverable stream errors goes to Pillow, which decides.
The result is the same array either way (up to IDCT rounding); only the speed differs.

Choices, with the measurements behind them (bench/bench_jpeg.py, 500x375 photos, one core):

* **DCT-scaled decoding.** libjpeg can decode at M/8 of the full size for almost the cost of the
  smaller image. simplejpeg is asked for the smallest M/8 scale whose size is still at least the
  output (``min_height``/``min_width``; it never upscales), so no needed detail is lost; Pillow's
  ``Image.draft`` only offers 1/2, 1/4 and 1/8, so it helps when the output is at most half the
  source. To 224x224: 523 images/s against 319 for a full decode, 273 for plain Pillow; the mean
  absolute difference to a full decode + Lanczos reference is 3.3 grey levels (of 255), against
  2.9 for plain Pillow bilinear. ``fastdct`` gave no measurable gain, so it is off.
* **Resize filter.** With OpenCV (the ``fast`` extra): the sub-pixel centre square by
  ``cv2.resize``, ``INTER_LINEAR`` below a 2x shrink (after DCT scaling, always) and
  ``INTER_AREA`` from 2x on, or by a bilinear ``cv2.warpAffine`` when the square starts at a
  half pixel: 0.1-0.35 ms per 224x224 image against 0.8-2 ms for Pillow. Without OpenCV,
  Pillow ``BILINEAR`` (an antialiasing convolution in Pillow, not point sampling) over the
  centre square only (``resize(box=...)``); ``LANCZOS`` costs 36 % more time and was no closer
  to the reference.
* **Colour.** Every mode becomes RGB: grayscale and bilevel are replicated, CMYK/YCbCr converted,
  palettes expanded, 16-bit samples scaled by ``>> 8`` (not clipped). Transparent images are
  **composited over white** (not alpha-dropped: the colour under fully transparent pixels is
  arbitrary, often black). EXIF orientation is **not** applied, as in keras, torchvision and TFDS.

>>> import numpy as np
>>> from imagesets.imaging import decode, encode
>>> decode(encode(np.zeros((40, 60, 3), np.uint8)), size=16).shape
(16, 16, 3)
"""

from __future__ import annotations

import functools
import io
import math
import os
import stat
import struct
import threading
import warnings
import zlib
from types import ModuleType
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from ._parallel import default_workers, imap_bounded
from ._pil_modes import TO_RGB
from .errors import FormatError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "UndecodableImageError",
    "backends",
    "check",
    "decode",
    "default_workers",
    "encode",
    "imap_bounded",
    "probe",
    "read_file",
    "reencode",
    "resize_center_crop",
]

RGB = NDArray[np.uint8]
T = TypeVar("T")
R = TypeVar("R")

_JPEG_MAGIC = b"\xff\xd8\xff"
_SJ_COLORSPACES = frozenset({"YCbCr", "Gray", "RGB"})  # others (CMYK, YCCK) go to Pillow
#: Most pixels an image may claim in its header (Pillow's default bomb threshold: 268 MB as
#: RGB); larger ones are refused before decoding, whatever ``Image.MAX_IMAGE_PIXELS`` says.
MAX_PIXELS = 89_478_485
#: Largest image file read (the largest ImageNet JPEG is 15 MB).
MAX_FILE_BYTES = 256 << 20
#: Image.open runs Pillow's bomb check, which warns; the warning is turned into an error under
#: this lock (warning filters are process-wide).
_OPEN_LOCK = threading.Lock()


class UndecodableImageError(FormatError):
    """Bytes that are not an image we can decode; ``reason`` is short ("truncated", ...).

    What to do: re-download or remove the file; folder and photo datasets skip such files and
    list them (``split.skipped``, ``imagesets info NAME --skipped``).
    """

    def __init__(self, reason: str, source: str = "<bytes>") -> None:
        super().__init__(
            f"{source}: cannot decode the image ({reason}); expected a JPEG, PNG or another "
            "format Pillow reads in an RGB-convertible mode; re-download or remove the file"
        )
        self.reason = reason
        self.source = source


# --- errors -------------------------------------------------------------------------------

#: Exceptions Pillow and simplejpeg raise on bad input (Pillow's decoders are not uniform).
_DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                   TypeError, zlib.error, Image.DecompressionBombError,
                   Image.DecompressionBombWarning, MemoryError)  # fmt: skip


def _reason(exc: BaseException) -> str:
    """A short reason for a decoder exception: "not an image", "truncated", "corrupt: ..."."""
    text = str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image"
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return f"too large: {text}"
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return "truncated"
    return f"corrupt: {type(exc).__name__}: {text}"[:200]


# --- mode conversion: the table is in _pil_modes.py ----------------------------------------


def _to_rgb(im: Image.Image) -> RGB:
    try:
        converter = TO_RGB[im.mode]
    except KeyError:
        raise UndecodableImageError(f"unsupported mode {im.mode}") from None
    return np.asarray(converter(im), dtype=np.uint8)


# --- decoding ------------------------------------------------------------------------------


@functools.cache
def _simplejpeg() -> ModuleType | None:
    """simplejpeg when the ``fast`` extra is installed, else None (Pillow does everything)."""
    try:
        import simplejpeg
    except ImportError:
        return None
    module: ModuleType = simplejpeg
    return module


def _min_dims(height: int, width: int, size: int | None, max_side: int | None) -> tuple[int, int]:
    """The smallest (height, width) a scaled decode may produce and still serve the output."""
    if size is not None:
        scale = size / min(height, width)
    elif max_side is not None:
        scale = max_side / max(height, width)
    else:
        return height, width
    scale = min(scale, 1.0)
    return max(1, math.ceil(height * scale)), max(1, math.ceil(width * scale))


def _check_pixels(height: int, width: int) -> None:
    """Refuse a header claiming more than :data:`MAX_PIXELS` pixels (or Pillow's
    ``Image.MAX_IMAGE_PIXELS`` if lower), before any decoding."""
    limit = min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    if height * width > limit:
        raise UndecodableImageError(f"too large: {width}x{height} pixels, at most {limit}")


def _open(data: bytes) -> Image.Image:
    """``Image.open`` of ``data`` (header only), its size checked against :data:`MAX_PIXELS`;
    Pillow's DecompressionBombWarning becomes an error instead of a decode."""
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(data))
    try:
        _check_pixels(im.height, im.width)
    except UndecodableImageError:
        im.close()
        raise
    return im


def read_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the image file ``path``: symlinks resolved, then only a regular file of at
    most ``max_bytes`` is read (a FIFO would block forever, ``/dev/zero`` never ends).

    Raises:
        UndecodableImageError: not a regular file, too large, or unreadable (``reason`` says).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UndecodableImageError(f"unreadable: {exc.strerror}", str(path)) from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "device or special file"
            raise UndecodableImageError(f"not a regular file: {kind}", str(path))
        if info.st_size > max_bytes:
            why = f"too large: {info.st_size} bytes, at most {max_bytes}"
            raise UndecodableImageError(why, str(path))
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UndecodableImageError(f"too large: grew beyond {max_bytes} bytes", str(path))
    return data


def _decode_fast(
    data: bytes | memoryview, size: int | None, max_side: int | None
) -> tuple[RGB, tuple[int, int]] | None:
    """(image, full (height, width)) by simplejpeg, or None if it is missing or declines
    (``data`` may be a memoryview: a slice of a packed blob, not copied)."""
    sj = _simplejpeg()
    if sj is None or data[:3] != _JPEG_MAGIC:
        return None
    try:
        height, width, colorspace, _ = sj.decode_jpeg_header(data)
        _check_pixels(height, width)
        if colorspace not in _SJ_COLORSPACES:
            return None
        min_h, min_w = _min_dims(height, width, size, max_side)
        image: RGB = sj.decode_jpeg(data, colorspace="RGB", min_height=min_h, min_width=min_w)
    except UndecodableImageError:
        raise
    except ValueError:
        return None
    return image, (height, width)


def _decode_pillow(
    data: bytes, size: int | None, max_side: int | None
) -> tuple[RGB, tuple[int, int]]:
    """(image, full (height, width)) by Pillow, DCT-scaled by ``draft`` when it can."""
    try:
        with _open(data) as im:
            full = im.height, im.width
            min_h, min_w = _min_dims(*full, size, max_side)
            im.draft("RGB", (min_w, min_h))  # a no-op unless JPEG and reducible by 2 or more
            im.load()
            return _to_rgb(im), full
    except UndecodableImageError:
        raise
    except _DECODER_ERRORS as exc:
        raise UndecodableImageError(_reason(exc)) from None


def decode(
    data: bytes, *, size: int | None = None, max_side: int | None = None, source: str = "<bytes>"
) -> RGB:
    """Decode image bytes to a ``uint8`` RGB array, values 0..255.

    Args:
        data: the encoded file (JPEG, PNG, GIF, BMP, WebP, TIFF, ...).
        size: if given, the result is ``(size, size, 3)``: shorter side resized to ``size``,
            then centre-cropped (see :func:`resize_center_crop`).
        max_side: if given (and ``size`` is not), the longer side is at most ``max_side``,
            aspect ratio kept; smaller images are returned at their own size.
        source: a name for error messages (a path).

    Returns:
        ``(H, W, 3)`` uint8, C-contiguous.

    Raises:
        UndecodableImageError: the bytes are empty, truncated, not an image, or in a mode with
            no RGB meaning (``reason`` says which).
    """
    if size is not None and max_side is not None:
        raise ValueError("decode: give size or max_side, not both")
    if not data:
        raise UndecodableImageError("zero bytes", source)
    try:
        decoded = _decode_fast(data, size, max_side) or _decode_pillow(data, size, max_side)
    except UndecodableImageError as exc:
        raise UndecodableImageError(exc.reason, source) from None
    image, full = decoded
    if size is not None:
        return resize_center_crop(image, size)
    return _fit(image, full, max_side) if max_side is not None else image


def check(data: bytes, *, source: str = "<bytes>") -> tuple[int, int]:
    """Prove that ``data`` decodes, cheaply; return the full image's ``(height, width)``.

    JPEGs are decoded at 1/8 scale, which still reads the whole entropy-coded stream, so a
    truncated or corrupt file fails here exactly as it would at full size.
    """
    if not data:
        raise UndecodableImageError("zero bytes", source)
    sj = _simplejpeg()
    if sj is not None and data.startswith(_JPEG_MAGIC):
        try:
            height, width, colorspace, _ = sj.decode_jpeg_header(data)
            _check_pixels(height, width)
            if colorspace in _SJ_COLORSPACES:
                sj.decode_jpeg(data, min_height=1, min_width=1)
                return int(height), int(width)
        except UndecodableImageError as exc:
            raise UndecodableImageError(exc.reason, source) from None
        except ValueError:
            pass  # Pillow decides below
    try:
        with _open(data) as im:
            height, width = im.height, im.width
            im.draft("RGB", (1, 1))
            im.load()
            _to_rgb(im)
    except UndecodableImageError as exc:
        raise UndecodableImageError(exc.reason, source) from None
    except _DECODER_ERRORS as exc:
        raise UndecodableImageError(_reason(exc), source) from None
    return height, width


def probe(data: bytes) -> tuple[str, int, int, str]:
    """``(format, width, height, mode)`` read from the header only.

    >>> from imagesets.imaging import encode
    >>> probe(encode(np.zeros((30, 40, 3), np.uint8)))
    ('JPEG', 40, 30, 'RGB')
    """
    if not data:
        raise UndecodableImageError("zero bytes")
    try:
        with _open(data) as im:
            return str(im.format), im.width, im.height, im.mode
    except UndecodableImageError:
        raise
    except _DECODER_ERRORS as exc:
        raise UndecodableImageError(_reason(exc)) from None


# --- resizing and encoding -----------------------------------------------------------------


def _check_rgb(img: RGB) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, 3) array, got {img.dtype} {img.shape}")


@functools.cache
def _cv2() -> ModuleType | None:
    """OpenCV when the ``fast`` extra is installed, else None (Pillow resizes)."""
    import importlib  # cv2 ships no stubs everywhere: imported by name

    try:
        return importlib.import_module("cv2")
    except ImportError:
        return None


def backends() -> dict[str, str]:
    """Which libraries decode and resize here, with their versions: ``{"decoder": ...,
    "resizer": ...}``, recorded in the manifest of every split the image sink writes (OpenCV's
    and Pillow's resizes differ by 1-2 grey levels, so a cache says which made it)."""
    import PIL

    pillow = f"Pillow {PIL.__version__}"
    sj, cv2 = _simplejpeg(), _cv2()
    decoder = f"simplejpeg {sj.__version__} (JPEG), {pillow}" if sj is not None else pillow
    resizer = f"OpenCV {cv2.__version__}" if cv2 is not None else f"{pillow} (BILINEAR)"
    return {"decoder": decoder, "resizer": resizer}


#: From this shrink factor on, OpenCV's bilinear resize would skip source pixels (aliasing; on
#: 375x500 photos to 160 it was 1.86 grey levels from a Lanczos reference against 1.04 for
#: ``INTER_AREA``), so its pixel-area average is used; below it bilinear is as close and 3-5x
#: faster.
_AREA_FROM = 2.0


def _cv2_resize(cv2: ModuleType, img: RGB, width: int, height: int, dst: RGB | None = None) -> RGB:
    """``img`` resized to ``(height, width, 3)`` by OpenCV (releases the GIL); written into
    ``dst`` (C-contiguous uint8 of that shape) when given."""
    shrink = min(img.shape[1] / width, img.shape[0] / height)
    flag = cv2.INTER_AREA if shrink >= _AREA_FROM else cv2.INTER_LINEAR
    if dst is None:
        out: RGB = cv2.resize(img, (width, height), interpolation=flag)
    else:
        out = cv2.resize(img, (width, height), dst=dst, interpolation=flag)
    return out


def _cv2_center(cv2: ModuleType, img: RGB, size: int, dst: RGB | None = None) -> RGB:
    """The centre square of ``img`` resized to ``(size, size, 3)`` by OpenCV.

    The square starts at ``(left, top) = ((W - side) / 2, (H - side) / 2)``, half-integers
    included, as Pillow's box, so that the crop does not move with the scale a JPEG was decoded
    at. Whole offsets, or a shrink of 2x or more (``INTER_AREA``, where half a source pixel is
    at most a quarter of an output pixel), take ``cv2.resize`` of the square. Half offsets below
    a 2x shrink take a bilinear ``cv2.warpAffine`` with ``cv2.resize``'s mapping
    (``src = (dst + 0.5) * scale - 0.5``) moved by the offset: the same result for whole
    offsets, but 3.5x slower here, so used only when needed. With ``dst`` (C-contiguous uint8
    ``(size, size, 3)``) OpenCV writes the result there and returns it.
    """
    height, width = img.shape[:2]
    side = min(height, width)
    scale = side / size
    left, top = (width - side) / 2, (height - side) / 2
    if scale >= _AREA_FROM or (left.is_integer() and top.is_integer()):
        top_i, left_i = round(top), round(left)
        square = img[top_i : top_i + side, left_i : left_i + side]
        return _cv2_resize(cv2, square, size, size, dst)
    shift = 0.5 * scale - 0.5
    matrix = np.array([[scale, 0.0, left + shift], [0.0, scale, top + shift]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    where = {} if dst is None else {"dst": dst}
    out: RGB = cv2.warpAffine(
        img, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE, **where
    )
    return out


def resize_center_crop(img: RGB, size: int) -> RGB:
    """Resize the shorter side of ``img`` to ``size``, then centre-crop to ``(size, size, 3)``.

    Only the centre square is resized, so only the kept pixels are computed. Images smaller
    than ``size`` are upscaled.

    With OpenCV (the ``fast`` extra), 3-8x faster than Pillow's resize here: the same
    sub-pixel centre square, resized by ``cv2.resize`` (``INTER_LINEAR`` below a 2x shrink, which
    after DCT-scaled decoding is always, ``INTER_AREA`` from 2x on) or, for a half-pixel offset
    below 2x, a bilinear ``cv2.warpAffine``. Without it: one Pillow ``BILINEAR`` resize of the
    centre square (sub-pixel box). OpenCV's bilinear does not widen its kernel when shrinking
    (Pillow's does), so the two differ by about a grey level on average on photos, more on
    sharp edges (bench/bench_jpeg.py).
    """
    _check_rgb(img)
    height, width = img.shape[:2]
    if (height, width) == (size, size):
        return img
    side = min(height, width)
    cv2 = _cv2()
    if cv2 is not None:
        return _cv2_center(cv2, img, size)
    left, top = (width - side) / 2, (height - side) / 2
    box = (left, top, left + side, top + side)
    resized = Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(resized, dtype=np.uint8)


def _fit(img: RGB, full: tuple[int, int], max_side: int) -> RGB:
    """``img`` (maybe DCT-scaled from ``full`` (h, w)) resized to fit ``max_side``, no upscaling.

    The output size is computed from the full size, so it does not depend on the DCT scale.
    OpenCV resizes when installed, as in :func:`resize_center_crop`.
    """
    height, width = full
    scale = min(1.0, max_side / max(height, width))
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if img.shape[1::-1] == new:
        return img
    cv2 = _cv2()
    if cv2 is not None:
        return _cv2_resize(cv2, np.ascontiguousarray(img), *new)
    return np.asarray(Image.fromarray(img).resize(new, Image.Resampling.BILINEAR), np.uint8)


def encode(img: RGB, quality: int = 90) -> bytes:
    """JPEG bytes (4:2:0) of a ``uint8`` ``(H, W, 3)`` RGB array, with simplejpeg or Pillow."""
    _check_rgb(img)
    sj = _simplejpeg()
    if sj is not None:
        encoded: bytes = sj.encode_jpeg(
            np.ascontiguousarray(img), quality=quality, colorspace="RGB", colorsubsampling="420"
        )
        return encoded
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()


def reencode(data: bytes, max_side: int, quality: int = 90, *, source: str = "<bytes>") -> bytes:
    """JPEG bytes of the image in ``data`` with its longer side at most ``max_side``.

    An RGB or grayscale JPEG already within ``max_side`` is returned unchanged (after
    :func:`check`): re-encoding it would only lose quality. Anything else is decoded (DCT-scaled),
    resized and encoded at ``quality``.
    """
    fmt, width, height, mode = probe(data)
    if fmt == "JPEG" and mode in ("RGB", "L") and max(width, height) <= max_side:
        check(data, source=source)
        return data
    return encode(decode(data, max_side=max_side, source=source), quality)
