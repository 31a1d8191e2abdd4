"""Pictures: one image scaled up, a sprite grid of K images per class, a terminal preview.

All functions take uint8 images, ``(H, W)`` grayscale or ``(H, W, 3)`` RGB, values 0-255, and
return Pillow images (or text); :func:`save_picture` writes one, checking the path first.

Pictures are bounded so that a typo cannot allocate gigabytes: an enlarged image stays within
:data:`MAX_SIDE` pixels a side, a sprite within ``MAX_SIDE ** 2`` pixels. Every bad argument is
an :class:`imagesets.errors.ArgumentError` naming it and what is allowed.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Split
    from .sources import Pixels

__all__ = [
    "MAX_SIDE",
    "ascii_preview",
    "grid",
    "grid_rows",
    "pick_per_class",
    "save_picture",
    "scaled",
    "split_grid",
    "terminal_preview",
    "truecolor_terminal",
    "writable_extensions",
]

#: The largest side, in pixels, of an enlarged image; a sprite may hold ``MAX_SIDE ** 2`` pixels.
MAX_SIDE = 8192

Array = np.ndarray[Any, Any]
_SHADES = " .:-=+*#%@"


def _to_pil(image: Array) -> Image.Image:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:  # float in [0, 1] (normalize=True)
        arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(arr))


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError(f"{name}: expected an int >= 1, found {value!r}")
    return int(value)


def scaled(image: Array, scale: int = 8) -> Image.Image:
    """``image`` enlarged ``scale`` times with nearest-neighbour (pixels stay sharp squares).

    ``scale`` is an int >= 1; above 1, the picture must stay within :data:`MAX_SIDE` pixels a
    side (the error says the largest scale that fits).
    """
    pil = _to_pil(image)
    scale = _positive("scale", scale)
    longest = max(pil.width, pil.height, 1)
    if scale > 1 and longest * scale > MAX_SIDE:
        raise ArgumentError(
            f"scale: {scale} would make a {pil.width * scale} x {pil.height * scale} px picture"
            f" of this {pil.width} x {pil.height} image; the largest side is {MAX_SIDE} px,"
            f" so use a scale of at most {max(1, MAX_SIDE // longest)}"
        )
    return pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)


def pick_per_class(labels: Array, num_classes: int, per_class: int) -> list[list[int]]:
    """The first ``per_class`` indices of each class 0..num_classes-1 (fewer if scarce)."""
    per_class = _positive("per_class", per_class)
    labels = np.asarray(labels).reshape(-1)
    return [np.flatnonzero(labels == c)[:per_class].tolist() for c in range(num_classes)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def grid(images: Pixels, labels: Array, names: Sequence[str], *, per_class: int = 10,
         scale: int = 2, pad: int = 2) -> Image.Image:  # fmt: skip
    """A sprite: one row per class with its name on the left, ``per_class`` images per row.

    Args:
        images: uint8 ``(N, H, W)`` or ``(N, H, W, 3)``; may be memory-mapped, or a packed
            split's images decoded on access (:meth:`imagesets.dataset.Split.pixels`).
        labels: ``(N,)`` or ``(N, 1)`` integer labels indexing ``names``.
        names: one name per row (class names, or superclass names with their labels).
        per_class: images per row, the first ones of each class in index order.
        scale: nearest-neighbour enlargement of each image.

    Raises:
        ArgumentError: ``per_class`` or ``scale`` not an int >= 1, or a sprite of more than
            ``MAX_SIDE ** 2`` pixels. ``per_class`` above the largest class is lowered to it.
    """
    rows = pick_per_class(labels, len(names), per_class)
    scale = _positive("scale", scale)
    per_class = max((len(r) for r in rows), default=0)  # what the split holds, at most
    h, w = images.shape[1] * scale, images.shape[2] * scale
    font = _font(max(10, min(h // 2, 16)))
    label_w = 8 + max(int(font.getlength(n)) for n in names) if names else 0
    size = (label_w + per_class * (w + pad) + pad, len(names) * (h + pad) + pad)
    _check_sprite(size, len(names), per_class, scale)
    sheet = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(sheet)
    for r, (name, idx) in enumerate(zip(names, rows, strict=True)):
        top = pad + r * (h + pad)
        draw.text((4, top + h // 2), name, fill="black", font=font, anchor="lm")
        for c, i in enumerate(idx):
            tile = scaled(images[i], scale).convert("RGB")
            sheet.paste(tile, (label_w + pad + c * (w + pad), top))
    return sheet


def grid_rows(split: Split, by: str = "class") -> tuple[Array, list[str]]:
    """The labels that pick each row of a grid of ``split``, and the rows' names: classes
    (``by="class"``), superclasses (``by="superclass"``), or for a boxed split (no class
    labels) the number of digits.

    Raises:
        ArgumentError: ``by`` is neither, or the split has no such labels.
    """
    if by not in ("class", "superclass"):
        raise ArgumentError(f"by: expected 'class' or 'superclass', found {by!r}")
    if by == "superclass":
        if "coarse_labels" not in split.arrays or not split.superclasses:
            raise ArgumentError(
                f"by='superclass': split {split.name!r} has no superclass labels (only"
                " CIFAR-100 has them); use by='class'"
            )
        return split.arrays["coarse_labels"], list(split.superclasses)
    if split.kind == "boxed":
        counts = split.digits_per_image()
        most = int(counts.max()) if len(counts) else 0
        return counts - 1, [f"{k} digit{'s' * (k > 1)}" for k in range(1, most + 1)]
    labels, names = split.labels, list(split.classes)
    return labels, names or [str(i) for i in range(int(labels.max()) + 1)]


#: The side a packed split's images are decoded to for :func:`split_grid` without ``size``.
GRID_SIZE = 64


def split_grid(split: Split, *, per_class: int = 10, by: str = "class", scale: int = 2,
               size: int | None = None) -> Image.Image:  # fmt: skip
    """:func:`grid` of ``split``'s rows (:func:`grid_rows`): what ``imagesets grid`` draws.
    A packed split's images are decoded one by one to ``size`` x ``size`` (default
    :data:`GRID_SIZE`); an array split takes ``size`` None or its own side."""
    labels, names = grid_rows(split, by)
    if size is None and split.kind != "arrays":
        size = GRID_SIZE
    pixels = split.pixels(size)
    return grid(pixels, labels, names, per_class=per_class, scale=scale)


def _check_sprite(size: tuple[int, int], rows: int, per_class: int, scale: int) -> None:
    width, height = size
    if width * height > MAX_SIDE**2:
        raise ArgumentError(
            f"grid: {rows} rows of {per_class} images at scale {scale} make a {width} x {height}"
            f" px sprite ({width * height / 1e6:.0f} Mpx); the largest is"
            f" {MAX_SIDE**2 / 1e6:.0f} Mpx ({MAX_SIDE} x {MAX_SIDE}): lower per_class or scale"
        )


@functools.cache
def writable_extensions() -> dict[str, str]:
    """Every file extension Pillow can write here (lower case, with the dot) -> its format.

    Taken from Pillow's registry (``Image.registered_extensions`` with a save handler), less the
    formats whose handler is only a stub (BUFR, GRIB, HDF5, WMF without their plugins): each
    format is tried once on a 1-pixel RGB picture.
    """
    probe = Image.new("RGB", (1, 1))
    usable: dict[str, bool] = {}
    found: dict[str, str] = {}
    for ext, fmt in sorted(Image.registered_extensions().items()):
        if fmt not in Image.SAVE:
            continue
        if fmt not in usable:
            usable[fmt] = _can_write(probe, fmt)
        if usable[fmt]:
            found[ext.lower()] = fmt
    return found


def _can_write(picture: Image.Image, fmt: str) -> bool:
    try:
        picture.save(io.BytesIO(), format=fmt)
    except Exception:  # any failure means: not writable here
        return False
    return True


def _check_out(path: Path) -> str:
    """The Pillow format for ``path``, after checking its extension and its folder."""
    formats = writable_extensions()
    ext = path.suffix.lower()
    if ext not in formats:
        found = f"the extension {ext!r}" if ext else "no extension"
        raise ArgumentError(
            f"out: {str(path)!r} has {found}, which is not an image format Pillow can write;"
            f" use one of {' '.join(sorted(formats))} (e.g. .png)"
        )
    folder = path.parent
    if not folder.exists():
        raise ArgumentError(
            f"out: the folder {str(folder)!r} of {str(path)!r} does not exist; create it first"
        )
    if not folder.is_dir():
        raise ArgumentError(f"out: {str(folder)!r} is a file, not a folder; pick another path")
    if path.is_dir():
        example = str(path / "picture.png")
        raise ArgumentError(f"out: {str(path)!r} is a folder; give a file name such as {example!r}")
    return formats[ext]


def save_picture(picture: Image.Image, out: str | Path) -> Path:
    """Write ``picture`` to ``out`` in the format its extension names (``.png``, ``.jpg``, ...).

    The path is checked first: an extension Pillow cannot write (the error lists those it can),
    a missing folder, or a folder in place of a file name is an :class:`ArgumentError`.
    Returns the path written.
    """
    path = Path(out)
    fmt = _check_out(path)
    try:
        picture.save(path, format=fmt)
    except (ValueError, KeyError, OSError) as exc:
        if isinstance(exc, (PermissionError, FileNotFoundError)):
            raise
        raise ArgumentError(
            f"out: Pillow could not write this {picture.mode} {picture.width} x {picture.height}"
            f" picture as {fmt} ({exc}); use .png"
        ) from exc
    return path


def ascii_preview(image: Array, width: int = 28) -> str:
    """A text rendering of a (grayscale or RGB) image for a terminal, ``width`` columns wide."""
    pil = _to_pil(image).convert("L")
    height = max(1, round(pil.height * width / pil.width / 2))  # characters are ~2x tall
    small = np.asarray(pil.resize((width, height), Image.Resampling.BOX), dtype=np.float32)
    idx = np.minimum((small / 256 * len(_SHADES)).astype(int), len(_SHADES) - 1)
    return "\n".join("".join(_SHADES[v] for v in row) for row in idx)


def truecolor_terminal(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``COLORTERM`` says the terminal draws 24-bit colour (``truecolor``/``24bit``)."""
    env = os.environ if environ is None else environ
    return env.get("COLORTERM", "").lower() in ("truecolor", "24bit")


def terminal_preview(image: Array, width: int | None = None, *, truecolor: bool = True) -> str:
    """``image`` drawn with Unicode upper half-blocks, two pixel rows per text line.

    Args:
        image: uint8 ``(H, W)``/``(H, W, C)`` 0..255 (or float in [0, 1]).
        width: columns (pixels a row); default: twice the width of an image up to 32 px
            wide (MNIST's 28 px take 56 columns), else its width, at most 120 and the
            terminal's width.
        truecolor: 24-bit colour escapes (``ESC[38;2;r;g;bm``); False: the 24 grays of the
            256-colour palette (``ESC[38;5;232..255m``), for terminals without truecolour.

    Returns:
        the lines joined by ``\\n``, each ending with the reset escape ``ESC[0m``.
    """
    import shutil

    pil = _to_pil(image).convert("RGB")
    if width is None:
        columns = shutil.get_terminal_size((80, 24)).columns
        width = min(pil.width * 2 if pil.width <= 32 else pil.width, 120, max(8, columns - 1))
    width = _positive("width", width)
    height = max(2, round(pil.height * width / pil.width))
    height += height % 2
    resample = Image.Resampling.NEAREST if width >= pil.width else Image.Resampling.BOX
    rgb = np.asarray(pil.resize((width, height), resample), dtype=np.int64)
    if truecolor:
        cell = "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m\u2580"
        lines = [
            "".join(cell.format(*top, *bottom) for top, bottom in zip(rgb[y], rgb[y + 1],
                                                                     strict=True))
            for y in range(0, height, 2)
        ]  # fmt: skip
    else:
        gray = 232 + (rgb @ np.array([299, 587, 114]) * 24 // 256_000).clip(0, 23)
        cell = "\x1b[38;5;{}m\x1b[48;5;{}m\u2580"
        lines = [
            "".join(cell.format(t, b) for t, b in zip(gray[y], gray[y + 1], strict=True))
            for y in range(0, height, 2)
        ]
    return "\n".join(line + "\x1b[0m" for line in lines)
