"""Decode straight into a row of a batch: :func:`decode_into`, the in-place form of
:func:`imagesets.imaging.decode` with ``size``.

It uses the decoders of :mod:`imagesets.imaging` (looked up there at call time, so tests and
benches that swap ``imaging._cv2`` reach it too) and writes the same pixels.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

from . import imaging
from .errors import ArgumentError
from .imaging import RGB, UndecodableImageError

__all__ = ["decode_into", "one_opencv_thread"]


def decode_into(out: RGB, data: bytes | memoryview, *, source: str = "<bytes>") -> None:
    """Decode image bytes resized and centre-cropped into ``out``: the pixels of
    ``decode(data, size=out.shape[0])``, written in place (e.g. into one row of a batch).

    A baseline or progressive JPEG, with simplejpeg and OpenCV installed, is decoded
    (DCT-scaled as :func:`~imagesets.imaging.decode` does) and resized straight into ``out``:
    no output array, no copy, and little per-image Python while the GIL is held. Anything
    else goes through :func:`~imagesets.imaging.decode` and is copied in.

    Args:
        out: uint8 ``(size, size, 3)``, C-contiguous, written whole.
        data: the encoded file, as bytes or a (read-only) memoryview of them.
        source: a name for error messages (a path).

    Raises:
        ArgumentError: ``out`` is not a C-contiguous uint8 ``(size, size, 3)`` array.
        UndecodableImageError: as :func:`~imagesets.imaging.decode`.
    """
    size = out.shape[0]
    if out.shape != (size, size, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ArgumentError(
            f"decode_into: out: expected a C-contiguous uint8 (size, size, 3) array, got "
            f"{out.dtype} {out.shape}"
        )
    try:
        done = _decode_fast_into(out, data, size)
    except UndecodableImageError as exc:
        raise UndecodableImageError(exc.reason, source) from None
    if not done:
        out[...] = imaging.decode(bytes(data), size=size, source=source)


def _decode_fast_into(out: RGB, data: bytes | memoryview, size: int) -> bool:
    """:func:`decode_into` by simplejpeg and OpenCV; False if either is missing or declines
    (``out`` untouched then): ``imaging._decode_fast``, then :func:`resize_center_crop`'s
    OpenCV path writing into ``out``."""
    cv2 = imaging._cv2()
    if cv2 is None:
        return False
    decoded = imaging._decode_fast(data, size, None)
    if decoded is None:
        return False
    image = decoded[0]
    if image.shape[0] == image.shape[1] == size:
        out[...] = image
        return True
    got = imaging._cv2_center(cv2, image, size, out)
    if got is not out:  # OpenCV allocated anew (never seen): keep the result all the same
        out[...] = got
    return True


_CV_LOCK = threading.Lock()
_cv_users = 0  # feeds inside one_opencv_thread now
_cv_saved = 0  # OpenCV's thread count before the first of them


@contextlib.contextmanager
def one_opencv_thread() -> Iterator[None]:
    """OpenCV single-threaded while a decode feed runs: the feed's own threads (one per core by
    default) are the parallelism, and OpenCV's pool on top of them only waits, costing 0.2-0.3
    ms of CPU an image (bench/bench_decode_workers.py ``--cv-threads``). Pixels do not change.

    ``cv2.setNumThreads`` is global to the process: nested and concurrent feeds share one
    setting, and the count from before the first of them is restored when the last one ends
    (or is closed). Without OpenCV (the ``fast`` extra) this does nothing.
    """
    cv2 = imaging._cv2()
    if cv2 is None:
        yield
        return
    global _cv_users, _cv_saved
    with _CV_LOCK:
        if _cv_users == 0:
            _cv_saved = int(cv2.getNumThreads())
            cv2.setNumThreads(1)
        _cv_users += 1
    try:
        yield
    finally:
        with _CV_LOCK:
            _cv_users -= 1
            if _cv_users == 0:
                cv2.setNumThreads(_cv_saved)
