"""Pictures: one image scaled up, a sprite grid of K images per class, a terminal preview.

All functions take uint8 images, ``(H, W)`` grayscale or ``(H, W, 3)`` RGB, values 0-255, and
return Pillow images (or text); saving is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["ascii_preview", "grid", "pick_per_class", "scaled"]

Array = np.ndarray[Any, Any]
_SHADES = " .:-=+*#%@"


def _to_pil(image: Array) -> Image.Image:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:  # float in [0, 1] (normalize=True)
        arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(arr))


def scaled(image: Array, scale: int = 8) -> Image.Image:
    """``image`` enlarged ``scale`` times with nearest-neighbour (pixels stay sharp squares)."""
    pil = _to_pil(image)
    return pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)


def pick_per_class(labels: Array, num_classes: int, per_class: int) -> list[list[int]]:
    """The first ``per_class`` indices of each class 0..num_classes-1 (fewer if scarce)."""
    labels = np.asarray(labels).reshape(-1)
    return [np.flatnonzero(labels == c)[:per_class].tolist() for c in range(num_classes)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def grid(images: Array, labels: Array, names: Sequence[str], *, per_class: int = 10,
         scale: int = 2, pad: int = 2) -> Image.Image:  # fmt: skip
    """A sprite: one row per class with its name on the left, ``per_class`` images per row.

    Args:
        images: uint8 ``(N, H, W)`` or ``(N, H, W, 3)``; may be memory-mapped.
        labels: ``(N,)`` or ``(N, 1)`` integer labels indexing ``names``.
        names: one name per row (class names, or superclass names with their labels).
        per_class: images per row, the first ones of each class in index order.
        scale: nearest-neighbour enlargement of each image.
    """
    rows = pick_per_class(labels, len(names), per_class)
    h, w = images.shape[1] * scale, images.shape[2] * scale
    font = _font(max(10, min(h // 2, 16)))
    label_w = 8 + max(int(font.getlength(n)) for n in names) if names else 0
    sheet = Image.new("RGB", (label_w + per_class * (w + pad) + pad, len(names) * (h + pad) + pad),
                      "white")  # fmt: skip
    draw = ImageDraw.Draw(sheet)
    for r, (name, idx) in enumerate(zip(names, rows, strict=True)):
        top = pad + r * (h + pad)
        draw.text((4, top + h // 2), name, fill="black", font=font, anchor="lm")
        for c, i in enumerate(idx):
            tile = scaled(images[i], scale).convert("RGB")
            sheet.paste(tile, (label_w + pad + c * (w + pad), top))
    return sheet


def ascii_preview(image: Array, width: int = 28) -> str:
    """A text rendering of a (grayscale or RGB) image for a terminal, ``width`` columns wide."""
    pil = _to_pil(image).convert("L")
    height = max(1, round(pil.height * width / pil.width / 2))  # characters are ~2x tall
    small = np.asarray(pil.resize((width, height), Image.Resampling.BOX), dtype=np.float32)
    idx = np.minimum((small / 256 * len(_SHADES)).astype(int), len(_SHADES) - 1)
    return "\n".join("".join(_SHADES[v] for v in row) for row in idx)
