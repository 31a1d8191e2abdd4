"""Pillow mode conversion for :mod:`imagesets.imaging`: one entry per Pillow mode, each a
function from an image in that mode to an ``RGB`` image.

Grayscale, bilevel, CMYK, YCbCr, RGBX and HSV are converted; transparent modes (RGBA, LA, PA,
and palettes with a transparency key) are composited over white; 16-bit samples are scaled by
``>> 8``. A mode not in :data:`TO_RGB` is not decodable (the caller says so).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["TO_RGB"]

_WHITE = (255, 255, 255, 255)


def _convert(im: Image.Image) -> Image.Image:
    return im.convert("RGB")


def _composite(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")


def _palette(im: Image.Image) -> Image.Image:
    return _composite(im) if "transparency" in im.info else _convert(im)


def _sixteen_bit(im: Image.Image) -> Image.Image:
    wide = np.asarray(im).astype(np.int64)
    gray = (np.clip(wide, 0, 65535) >> 8).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


TO_RGB: dict[str, Callable[[Image.Image], Image.Image]] = {
    "RGB": lambda im: im,
    **dict.fromkeys(("1", "L", "CMYK", "YCbCr", "RGBX", "HSV"), _convert),
    **dict.fromkeys(("RGBA", "RGBa", "LA", "La", "PA"), _composite),
    "P": _palette,
    **dict.fromkeys(("I", "I;16", "I;16B", "I;16L", "I;16N"), _sixteen_bit),
}
