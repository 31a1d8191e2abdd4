"""Pictures: bounded sizes, checked per-class counts and checked output paths (imagesets.viz)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from imagesets import viz
from imagesets.errors import ArgumentError
from imagesets.viz_boxes import draw_boxes

Array = np.ndarray[Any, Any]


def _digits(n: int = 40, side: int = 28) -> tuple[Array, Array]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
    return images, np.arange(n) % 4  # 10 images per class, 4 classes


@pytest.mark.parametrize("scale", [0, -3, 1.5, True, "2"])
def test_scale_must_be_a_positive_int(scale: Any) -> None:
    with pytest.raises(ArgumentError, match=r"scale: expected an int >= 1, found"):
        viz.scaled(np.zeros((28, 28), np.uint8), scale)


def test_scale_is_capped_by_the_largest_side_and_says_the_max() -> None:
    image = np.zeros((28, 20, 3), np.uint8)
    match = r"scale: 100000 would make a 2000000 x 2800000 px .* largest side is 8192 px.* 292"
    with pytest.raises(ArgumentError, match=match):
        viz.scaled(image, 100000)
    assert viz.scaled(image, 292).size == (20 * 292, 28 * 292)
    with pytest.raises(ArgumentError, match="at most 292"):
        viz.scaled(image, 293)
    assert viz.scaled(np.zeros((2, 9000), np.uint8), 1).size == (9000, 2)  # no enlargement


def test_draw_boxes_shares_the_scale_checks() -> None:
    boxes = np.array([(2, 1, 3, 4, 7)], dtype=[("left", "f4"), ("top", "f4"), ("width", "f4"),
                                               ("height", "f4"), ("label", "u1")])  # fmt: skip
    for bad in (0, -1, 10**6):
        with pytest.raises(ArgumentError, match="scale"):
            draw_boxes(np.zeros((8, 10, 3), np.uint8), boxes, scale=bad)
    with pytest.raises(ArgumentError, match="fields left, top"):
        draw_boxes(np.zeros((8, 10, 3), np.uint8), np.zeros(2), scale=2)


@pytest.mark.parametrize("per_class", [0, -1, 2.5, None])
def test_grid_per_class_must_be_a_positive_int(per_class: Any) -> None:
    images, labels = _digits()
    with pytest.raises(ArgumentError, match=r"per_class: expected an int >= 1, found"):
        viz.grid(images, labels, list("abcd"), per_class=per_class)


def test_grid_per_class_is_capped_by_what_the_split_holds() -> None:
    images, labels = _digits()
    huge = viz.grid(images, labels, list("abcd"), per_class=10**12, scale=1)
    exact = viz.grid(images, labels, list("abcd"), per_class=10, scale=1)
    assert huge.size == exact.size
    assert np.array_equal(np.asarray(huge), np.asarray(exact))
    with pytest.raises(ArgumentError, match="scale: expected an int >= 1"):
        viz.grid(images, labels, list("abcd"), scale=0)


def test_grid_larger_than_the_pixel_budget_is_refused() -> None:
    images = np.zeros((4000, 28, 28), np.uint8)
    labels = np.zeros(4000, np.int64)
    with pytest.raises(ArgumentError, match=r"grid: 1 rows of 4000 images at scale 40 .* Mpx"):
        viz.grid(images, labels, ["one"], per_class=4000, scale=40)


def test_save_picture_writes_the_format_its_extension_names(tmp_path: Path) -> None:
    picture = viz.scaled(np.arange(64, dtype=np.uint8).reshape(8, 8), 2)
    for name, fmt in (("a.png", "PNG"), ("b.JPG", "JPEG"), ("c.bmp", "BMP")):
        assert viz.save_picture(picture, tmp_path / name) == tmp_path / name
        with Image.open(tmp_path / name) as img:
            assert img.format == fmt and img.size == (16, 16)


@pytest.mark.parametrize("name", ["x.xyz", "noextension", "x.png.bak"])
def test_save_picture_unknown_extension_lists_the_writable_ones(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        ArgumentError, match=r"not an image format Pillow can write; use one of"
    ) as info:
        viz.save_picture(Image.new("L", (2, 2)), tmp_path / name)
    assert (
        ".png" in str(info.value)
        and ".jpg" in str(info.value)
        and ".xyz" not in viz.writable_extensions()
    )
    assert list(tmp_path.iterdir()) == []


def test_writable_extensions_come_from_pillows_registry() -> None:
    formats = viz.writable_extensions()
    assert formats[".png"] == "PNG" and formats[".jpeg"] == "JPEG" and formats[".tif"] == "TIFF"
    assert set(formats.values()) <= set(Image.SAVE)
    assert ".wmf" not in formats  # a save stub without its plugin: listed by Pillow, unusable


def test_save_picture_names_a_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "deeper" / "x.png"
    with pytest.raises(ArgumentError, match=r"the folder '.*deeper' of '.*x.png' does not exist"):
        viz.save_picture(Image.new("L", (2, 2)), out)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(ArgumentError, match=r"file\.png' is a file, not a folder"):
        viz.save_picture(Image.new("L", (2, 2)), tmp_path / "file.png" / "x.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(
        ArgumentError, match=r"dir.png' is a folder; give a file name such as '.*picture.png'"
    ):
        viz.save_picture(Image.new("L", (2, 2)), tmp_path / "dir.png")
