"""What a notebook shows: a Split/Dataset card (_repr_html_), an Example with a captioned
picture (_repr_png_), split.grid (the CLI's picture), for every kind of split (issue 12)."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imagesets
from imagesets import catalog, notebook
from imagesets.cli import main
from imagesets.dataset import Split
from imagesets.errors import ArgumentError
from imagesets.testing.images import make_fake_tree
from imagesets.testing.server import LoopbackServer

TREE = {"train/cat": 3, "train/dog": 4, "test/cat": 2, "test/dog": 2}
URI = re.compile(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'")


def _boxed(tmp_path: Path, server: LoopbackServer) -> str:
    from imagesets.testing.svhn_full import register_fake_svhn_full

    return register_fake_svhn_full("nb-boxed", tmp_path, server)


@pytest.fixture(params=["arrays", "packed", "boxed"])
def split(
    request: pytest.FixtureRequest, tmp_path: Path, server: LoopbackServer
) -> Iterator[Split]:
    if request.param == "boxed":
        name = _boxed(tmp_path, server)
        yield imagesets.load(name, "train", progress=False)["train"]
    else:
        name = f"nb-{request.param}"
        make_fake_tree(tmp_path / "pics", TREE, extras=False)
        size = 16 if request.param == "arrays" else None
        yield imagesets.from_folder(tmp_path / "pics", name=name, size=size, progress=False)[
            "train"
        ]
    catalog.unregister(name)


def _thumbs(card: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(m))) for m in URI.findall(card)]


def test_mnist_card_names_counts_and_shows_one_thumbnail_per_class() -> None:
    ds = imagesets.load("fashion-mnist", sample=True, progress=False)
    card = ds["train"]._repr_html_()
    assert "Split &#x27;train&#x27;" in card and "1,000 examples" in card
    assert "(1000, 28, 28) uint8" in card and "10 classes" in card
    counts = np.bincount(ds["train"].labels, minlength=10)
    for label, name in enumerate(ds["train"].classes):
        assert (
            f"<td>{label}</td><td>{name}</td><td style='text-align:right'>{counts[label]:,}</td>"
            in card
        )
    thumbs = _thumbs(card)
    assert [t.size for t in thumbs] == [(56, 56)] * 10  # 28 px enlarged twice
    first = [int(np.flatnonzero(ds["train"].labels == c)[0]) for c in range(10)]
    assert re.findall(r"title='\[(\d+)\]", card) == [str(i) for i in first]
    assert np.array_equal(np.asarray(thumbs[0])[::2, ::2], ds["train"][first[0]][0])


def test_dataset_card_holds_each_split() -> None:
    ds = imagesets.load("mnist", sample=True, progress=False)
    card = ds._repr_html_()
    assert card.count("class='imagesets-card'") == len(ds) == 2
    assert "mnist train" in card and "mnist test" in card


def test_card_of_each_kind_decodes_only_its_thumbnails(
    split: Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = type(split.source).image

    def counting(self: object, i: int, **kw: object) -> np.ndarray:
        calls.append(i)
        return original(self, i, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(type(split.source), "image", counting)
    card = split._repr_html_()
    thumbs = _thumbs(card)
    assert 0 < len(thumbs) == len(calls) < len(split) or split.kind == "boxed"
    assert all(max(t.size) <= notebook.THUMB for t in thumbs)
    if split.kind != "arrays":
        assert "variable size, encoded" in card
    if split.kind == "boxed":
        assert "<th>digits</th>" in card
        assert len(thumbs) == len(calls) == min(len(split), notebook.STRIP // 2)
        plain = notebook.thumbnail(original(split.source, 0)).convert("RGB")  # type: ignore[arg-type]
        assert plain.size == thumbs[0].size
        assert not np.array_equal(np.asarray(plain), np.asarray(thumbs[0].convert("RGB")))


def test_card_escapes_class_names(tmp_path: Path) -> None:
    make_fake_tree(tmp_path / "t", {"train/<b>x": 2, "train/y&z": 2}, extras=False)
    ds = imagesets.from_folder(tmp_path / "t", name="nb-esc", size=8, progress=False)
    card = ds._repr_html_()
    catalog.unregister("nb-esc")
    assert "<b>x" not in card and "&lt;b&gt;x" in card and "y&amp;z" in card


def test_example_caption_array_pil_and_png() -> None:
    train = imagesets.load("fashion-mnist", sample=True, progress=False)["train"]
    ex = train.image(100)
    assert ex.caption == "train label [100] = 8 (Bag)"
    assert np.array_equal(ex.array, train[100][0]) and ex.label == 8 and ex.class_name == "Bag"
    assert np.array_equal(np.asarray(ex.pil()), ex.array)
    png = Image.open(io.BytesIO(ex._repr_png_()))
    assert png.width >= 28 * 8 and png.height == 28 * 8 + 20  # scaled to ~224, caption strip
    assert train.show(100).caption == ex.caption
    assert train.image(-1).index == len(train) - 1


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_image_refuses_a_non_int(bad: object) -> None:
    train = imagesets.load("mnist", sample=True, progress=False)["train"]
    with pytest.raises(ArgumentError, match=r"image\(index\): expected an int"):
        train.image(bad)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="out of range"):
        train.image(len(train))


def test_example_of_each_kind(split: Split) -> None:
    ex = split.image(1)
    picture = ex.picture(scale=2)
    assert picture.width >= ex.array.shape[1] * 2
    if split.kind == "boxed":
        assert ex.digits is not None and ex.label is None and "digits [1]" in ex.caption
    else:
        assert ex.caption.startswith("train label [1] = ")


def test_grid_is_the_cli_picture(tmp_path: Path) -> None:
    train = imagesets.load("mnist", sample=True, progress=False)["train"]
    out = tmp_path / "g.png"
    assert main(["grid", "mnist", "--sample", "--per-class", "3", "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(train.grid(per_class=3)))


def test_grid_of_each_kind(split: Split) -> None:
    picture = split.grid(per_class=2, size=None if split.kind == "arrays" else 12)
    assert picture.mode == "RGB" and picture.width > 2 * 12
    with pytest.raises(ArgumentError, match="no superclass labels"):
        split.grid(by="superclass")
    with pytest.raises(ArgumentError, match="by: expected 'class' or 'superclass'"):
        split.grid(by="fine")


def test_card_is_quick_to_build_on_cifar_shaped_data() -> None:
    """100 classes of 600 images: the strip shows the first 20 classes, the table 20 rows."""
    from imagesets.sources import ArraySource

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60000, 32, 32, 3), dtype=np.uint8)
    labels = rng.permutation(np.arange(60000) % 100).astype(np.uint8)
    split = Split("train", {"images": images, "labels": labels},
                  tuple(f"c{i}" for i in range(100)), source=ArraySource(images))  # fmt: skip
    card = split._repr_html_()
    assert len(_thumbs(card)) == notebook.STRIP and "... and 80 more classes" in card
