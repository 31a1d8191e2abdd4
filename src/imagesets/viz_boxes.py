"""Boxes drawn on an image: digit boxes of SVHN full numbers, or any labelled box.

Boxes are a numpy structured array with the fields ``left``, ``top``, ``width``, ``height`` (in
pixels of the original image, floats allowed, ``left``/``top`` may be negative) and ``label``
(an integer), as :data:`imagesets.packed.BOX_DTYPE` holds them. Each label has its
own colour (``label % 10``, so the raw SVHN label 10 looks like 0).

>>> import numpy as np
>>> boxes = np.array([(2, 1, 3, 4, 7)], dtype=[("left", "f4"), ("top", "f4"), ("width", "f4"),
...                                            ("height", "f4"), ("label", "u1")])
>>> draw_boxes(np.zeros((8, 10, 3), np.uint8), boxes, scale=4).size
(40, 32)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ArgumentError
from .viz import scaled

__all__ = ["PALETTE", "draw_boxes"]

#: RGB outline colour of each digit 0..9 (a label ``l`` uses ``PALETTE[l % 10]``).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 59, 48), (255, 149, 0), (255, 214, 10), (52, 199, 89), (0, 199, 190),
    (10, 132, 255), (94, 92, 230), (191, 90, 242), (255, 55, 175), (172, 142, 104),
)  # fmt: skip
_FIELDS = ("left", "top", "width", "height", "label")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _check_boxes(boxes: np.ndarray[Any, Any]) -> None:
    missing = [f for f in _FIELDS if f not in (boxes.dtype.names or ())]
    if missing:
        raise ArgumentError(
            f"draw_boxes: boxes must be a structured array with fields {', '.join(_FIELDS)}; "
            f"found dtype {boxes.dtype} (missing {', '.join(missing)})"
        )


def _draw_one(draw: ImageDraw.ImageDraw, box: Any, scale: int, font: Font) -> None:
    """One outline of ``scale // 2`` pixels (at least 1) and its digit above (or inside) it."""
    x0, y0 = round(float(box["left"]) * scale), round(float(box["top"]) * scale)
    x1 = max(x0, x0 + round(float(box["width"]) * scale) - 1)
    y1 = max(y0, y0 + round(float(box["height"]) * scale) - 1)
    colour, line = PALETTE[int(box["label"]) % 10], max(1, scale // 2)
    draw.rectangle((x0, y0, x1, y1), outline=colour, width=line)
    text = str(int(box["label"]) % 10)
    top = draw.textbbox((0, 0), text, font=font, anchor="lb")[1]  # < 0: the text rises
    if y0 - line + top >= 0:  # room above the box
        draw.text((x0, y0 - line), text, fill=colour, font=font, anchor="lb")
    else:
        draw.text((x0 + line + 1, y0 + line + 1), text, fill=colour, font=font, anchor="lt")


def draw_boxes(image: np.ndarray[Any, Any], boxes: np.ndarray[Any, Any], *,
               scale: int = 4) -> Image.Image:  # fmt: skip
    """``image`` enlarged ``scale`` times (nearest) with each box outlined and labelled.

    Args:
        image: uint8 ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, values 0..255.
        boxes: a structured array ``(k,)`` with ``left``, ``top``, ``width``, ``height`` and
            ``label`` (e.g. ``split.digits(i)``); boxes may reach outside the image.
        scale: integer enlargement, >= 1, within :data:`imagesets.viz.MAX_SIDE` pixels a side.

    Returns:
        an RGB Pillow image of ``(W * scale, H * scale)`` pixels.
    """
    boxes = np.asarray(boxes).reshape(-1)
    _check_boxes(boxes)
    picture = scaled(image, scale).convert("RGB")  # checks scale (int >= 1, MAX_SIDE)
    draw, font = ImageDraw.Draw(picture), _font(max(10, 3 * scale))
    for box in boxes:
        _draw_one(draw, box, scale, font)
    return picture
