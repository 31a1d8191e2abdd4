"""What a notebook shows: a card for a :class:`~imagesets.dataset.Split` or a
:class:`~imagesets.dataset.Dataset` (``_repr_html_``), and one example as a captioned picture
(:class:`Example`, ``_repr_png_``).

A card holds the split's name, count, image shape and dtype, a table of classes with their
counts and a strip of thumbnails: the first image of each of the first :data:`STRIP` classes
(the first images of a boxed split, their boxes drawn). Thumbnails are small PNG data URIs,
decoded one by one on demand: a card never decodes a whole packed split. Pillow is imported
only when a card or a picture is made.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .dataset import Dataset, Split

__all__ = ["STRIP", "TABLE_ROWS", "THUMB", "Example", "dataset_card", "split_card", "thumbnail"]

Array = np.ndarray[Any, Any]

#: Classes shown in a card's thumbnail strip (one image each).
STRIP = 20
#: Classes listed in a card's table before "... and N more".
TABLE_ROWS = 20
#: The side, in pixels, of the box a thumbnail fits in.
THUMB = 64
_SCAN = 1 << 16  # labels scanned at a time when looking for each class's first image


def thumbnail(image: Array, side: int = THUMB) -> Image.Image:
    """``image`` (uint8 ``(H, W)``/``(H, W, C)``, or float in [0, 1]) fitted in a
    ``side`` x ``side`` box, aspect kept: enlarged by an integer factor with sharp pixels
    (MNIST's 28 px become 56), or shrunk with a box filter."""
    from PIL import Image

    from .viz import _to_pil

    pil = _to_pil(image)
    longest = max(pil.width, pil.height, 1)
    if longest <= side:
        factor = max(1, side // longest)
        return pil.resize((pil.width * factor, pil.height * factor), Image.Resampling.NEAREST)
    ratio = side / longest
    size = (max(1, round(pil.width * ratio)), max(1, round(pil.height * ratio)))
    return pil.resize(size, Image.Resampling.BOX)


def png_bytes(picture: Image.Image) -> bytes:
    """``picture`` encoded as PNG."""
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


def data_uri(picture: Image.Image) -> str:
    """``picture`` as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode("ascii")


def first_of_each_class(labels: Array, wanted: int) -> dict[int, int]:
    """Class -> the index of its first image, for the classes ``0..wanted-1`` present in
    ``labels`` (``(N,)`` integers); scans ``labels`` in chunks and stops once each of those
    classes is found (a class-sorted ImageNet split stops within its first chunk)."""
    found: dict[int, int] = {}
    for start in range(0, len(labels), _SCAN):
        chunk = np.asarray(labels[start : start + _SCAN]).reshape(-1)
        values, first = np.unique(chunk, return_index=True)
        for value, index in zip(values.tolist(), first.tolist(), strict=True):
            if 0 <= value < wanted and value not in found:
                found[value] = start + index
        if len(found) == wanted:
            break
    return dict(sorted(found.items()))


def picture_of(split: Split, index: int) -> Image.Image:
    """Image ``index`` of ``split`` at its own size, a boxed split's digit boxes drawn."""
    image = split.source.image(index)
    if split.kind == "boxed":
        from .viz_boxes import draw_boxes

        return draw_boxes(image, split.digits(index), scale=1)
    from .viz import _to_pil

    return _to_pil(image)


def _shape_text(split: Split) -> str:
    if split.kind != "arrays":
        return "variable size, encoded (decoded on access)"
    pixels = split.pixels()
    dtype = "float32" if split.normalize else str(pixels.dtype)
    return f"{tuple(int(d) for d in pixels.shape)} {dtype}"


def _counts(split: Split) -> Array | None:
    """Examples per class (digits per label for a boxed split), or None without labels."""
    from .sources import BoxedSource

    if isinstance(split.source, BoxedSource):
        return split.source.label_counts(len(split.classes))
    if "labels" not in split.arrays:
        return None
    labels = np.asarray(split.labels).reshape(-1)
    if not len(labels):
        return np.zeros(len(split.classes), np.int64)
    return np.bincount(labels.astype(np.intp), minlength=len(split.classes))


def _class_table(split: Split) -> str:
    counts = _counts(split)
    if counts is None:
        return "<p>no class labels</p>"
    coarse = split.superclasses
    mapping = split.fine_to_coarse.tolist() if coarse and "fine_to_coarse" in split.manifest else []
    what = "digits" if split.kind == "boxed" else "images"
    head = "<tr><th>label</th><th>class</th>" + ("<th>superclass</th>" if mapping else "")
    rows = [head + f"<th>{what}</th></tr>"]
    for label, n in enumerate(counts.tolist()[:TABLE_ROWS]):
        cells = f"<td>{label}</td><td>{html.escape(split.class_name(label))}</td>"
        if mapping:
            c = mapping[label] if label < len(mapping) else -1
            cells += f"<td>{html.escape(coarse[c]) if 0 <= c < len(coarse) else ''}</td>"
        rows.append(f"<tr>{cells}<td style='text-align:right'>{n:,}</td></tr>")
    more = len(counts) - TABLE_ROWS
    tail = f"<p>... and {more:,} more classes</p>" if more > 0 else ""
    return f"<table class='imagesets-classes'>{''.join(rows)}</table>{tail}"


def _strip(split: Split) -> str:
    if not len(split):
        return ""
    if split.kind == "boxed" or "labels" not in split.arrays:
        chosen = [(i, "") for i in range(min(STRIP // 2, len(split)))]
    else:
        firsts = first_of_each_class(split.labels, min(len(split.classes) or STRIP, STRIP))
        chosen = [(i, split.class_name(c)) for c, i in firsts.items()]
    tiles = []
    for index, name in chosen:
        uri = data_uri(thumbnail(np.asarray(picture_of(split, index))))
        title = html.escape(f"[{index}] {name}".strip())
        tiles.append(
            f"<figure style='margin:2px;display:inline-block;text-align:center'>"
            f"<img src='{uri}' title='{title}' style='image-rendering:pixelated'>"
            f"<figcaption style='font-size:10px'>{html.escape(name or str(index))}"
            f"</figcaption></figure>"
        )
    return f"<div class='imagesets-strip'>{''.join(tiles)}</div>"


def split_card(split: Split, *, title: str | None = None) -> str:
    """The HTML card of ``split`` (see the module docstring); ``title`` defaults to
    ``Split 'name'``."""
    head = html.escape(title or f"Split {split.name!r}")
    facts = (
        f"{len(split):,} examples &middot; {html.escape(split.kind)} &middot; "
        f"images {html.escape(_shape_text(split))} &middot; {len(split.classes):,} classes"
    )
    skipped = f" &middot; {len(split.skipped):,} files skipped" if split.skipped else ""
    return (
        "<div class='imagesets-card' style='border:1px solid #ccc;padding:6px;margin:4px 0'>"
        f"<b>{head}</b><br><span>{facts}{skipped}</span>"
        f"{_strip(split)}<details><summary>classes</summary>{_class_table(split)}</details>"
        "</div>"
    )


def dataset_card(dataset: Dataset) -> str:
    """The HTML card of ``dataset``: its title and one :func:`split_card` per split."""
    info = dataset.info
    head = f"<h4 style='margin:2px 0'>{html.escape(info.name)}: {html.escape(info.title)}</h4>"
    cards = "".join(split_card(s, title=f"{info.name} {name}") for name, s in dataset.items())
    return f"<div class='imagesets-dataset'>{head}{cards}</div>"


@dataclass(frozen=True)
class Example:
    """One example of a split, shown as its picture with a caption in a notebook.

    Attributes:
        split: the split's name.
        index: the example's index in the split.
        array: the image, uint8 ``(H, W)``/``(H, W, C)`` 0..255 (float32 in [0, 1] for a
            normalized split), at its own size.
        label: the class index, or None (a boxed split has digits instead).
        class_name: the class's name (``""`` without a label).
        digits: a boxed split's digit records (see :meth:`~imagesets.dataset.Split.digits`).
    """

    split: str
    index: int
    array: Array
    label: int | None
    class_name: str
    digits: Array | None = None

    @property
    def caption(self) -> str:
        """The line the seed prints: ``train label [100] = 8 (Bag)`` (digits of a boxed
        split: ``train digits [3] = 1 9 (2 boxes)``)."""
        if self.digits is not None:
            text = " ".join(str(int(d) % 10) for d in self.digits["label"])
            return f"{self.split} digits [{self.index}] = {text} ({len(self.digits)} boxes)"
        if self.label is None:
            return f"{self.split} [{self.index}]"
        named = f" ({self.class_name})" if self.class_name != str(self.label) else ""
        return f"{self.split} label [{self.index}] = {self.label}{named}"

    def pil(self) -> Image.Image:
        """The image as a Pillow image at its own size (no boxes)."""
        from .viz import _to_pil

        return _to_pil(self.array)

    def picture(self, scale: int | None = None) -> Image.Image:
        """The image enlarged ``scale`` times (default: to about 224 pixels), its boxes drawn,
        with :attr:`caption` below it; an RGB Pillow image."""
        from PIL import Image, ImageDraw

        from .viz import _font, scaled

        h, w = self.array.shape[:2]
        scale = scale if scale is not None else max(1, 224 // max(h, w, 1))
        if self.digits is not None:
            from .viz_boxes import draw_boxes

            body = draw_boxes(self.pil_uint8(), self.digits, scale=scale)
        else:
            body = scaled(self.array, scale).convert("RGB")
        font = _font(12)
        width = max(body.width, int(font.getlength(self.caption)) + 8)
        sheet = Image.new("RGB", (width, body.height + 20), "white")
        sheet.paste(body, ((width - body.width) // 2, 0))
        ImageDraw.Draw(sheet).text((4, body.height + 4), self.caption, fill="black", font=font)
        return sheet

    def pil_uint8(self) -> Array:
        """The image as uint8 0..255 (a normalized split's floats scaled back)."""
        return np.asarray(self.pil())

    def _repr_png_(self) -> bytes:
        return png_bytes(self.picture())

    def __repr__(self) -> str:
        return f"Example({self.caption!r}, {self.array.dtype}{list(self.array.shape)})"
