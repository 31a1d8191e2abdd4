"""Duplicate audit (issue 12): planted exact and near duplicates (one-pixel shift, JPEG
re-encoding, brightness +5) are all found, within and across splits, and distinct images give
no pair; `imagesets audit` prints counts, --json the pairs, --out a PNG of the top pairs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import imagesets
from imagesets import audit as A
from imagesets.cli import main
from imagesets.dataset import Split
from imagesets.errors import ArgumentError
from imagesets.sources import ArraySource

Array = np.ndarray[Any, Any]


def _smooth(n: int, seed: int) -> Array:
    """uint8 (n, 32, 32, 3): random 4 x 4 colour fields enlarged bicubically (unrelated)."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(a).resize((32, 32), Image.Resampling.BICUBIC))
                     for a in low])  # fmt: skip


def _jpeg(image: Array) -> Array:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=90)
    return np.asarray(Image.open(buf).convert("RGB"))


CHANGES = {
    "exact": lambda a: a.copy(),
    "shift": lambda a: np.concatenate([a[:1], a[:-1]], axis=0),
    "jpeg": _jpeg,
    "bright": lambda a: np.clip(a.astype(np.int16) + 5, 0, 255).astype(np.uint8),
}


def _split(name: str, images: Array) -> Split:
    labels = np.zeros(len(images), np.uint8)
    return Split(name, {"images": images, "labels": labels}, ("x",), source=ArraySource(images))


def _planted() -> tuple[dict[str, Split], set[tuple[str, int, str, int, str]]]:
    train, test = _smooth(300, 0), _smooth(100, 1)
    planted = set()
    for k, (kind, change) in enumerate(CHANGES.items()):
        test[10 + k] = change(train[20 + k])  # across splits
        planted.add(("train", 20 + k, "test", 10 + k, kind))
        train[200 + k] = change(train[100 + k])  # within train
        planted.add(("train", 100 + k, "train", 200 + k, kind))
    return {"train": _split("train", train), "test": _split("test", test)}, planted


def test_every_planted_pair_is_found_and_nothing_else() -> None:
    splits, planted = _planted()
    report = A.audit(splits)
    found = {(r["a"], r["i"], r["b"], r["j"]) for r in report.table()}
    assert found == {p[:4] for p in planted}
    kinds = {(r["a"], r["i"], r["b"], r["j"]): r["kind"] for r in report.table()}
    for a, i, b, j, kind in planted:
        assert kinds[(a, i, b, j)] == ("exact" if kind == "exact" else "near")
    assert report.counts == {
        ("train", "train"): {"exact": 1, "near": 3, "images": 8},
        ("train", "test"): {"exact": 1, "near": 3, "images": 4},
        ("test", "test"): {"exact": 0, "near": 0, "images": 0},
    }


def test_distinct_images_give_no_pair() -> None:
    report = A.audit({"train": _split("train", _smooth(500, 7))})
    assert len(report) == 0 and report.counts[("train", "train")]["near"] == 0


def test_similar_drawings_are_candidates_but_not_pairs() -> None:
    """Two different strokes of the same slant: the fingerprints are close, the pixels not."""
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 4:24, 13:15] = 255
    images[1, 5:24, 13:15] = 255  # one pixel shorter
    images[1, 5:8, 15] = 255
    report = A.audit({"t": _split("t", images)}, threshold=0.5)
    assert report.candidates == 1 and len(report) == 0
    assert len(A.audit({"t": _split("t", images)}, threshold=0.5, pixel_threshold=0.5)) == 1


def test_a_brightness_change_of_a_flat_image_is_not_a_near_pair_but_an_exact_copy_is() -> None:
    images = np.zeros((3, 8, 8), np.uint8)
    images[1] = 5
    report = A.audit({"t": _split("t", images)})
    assert [(r["i"], r["j"], r["kind"]) for r in report.table()] == [(0, 2, "exact")]


def test_split_duplicates_and_the_picture() -> None:
    splits, _ = _planted()
    report = splits["train"].duplicates()
    assert report.counts == {("train", "train"): {"exact": 1, "near": 3, "images": 8}}
    picture = report.picture(top=3, scale=2)
    assert picture.height == 3 * (64 + 4) + 4 and picture.width > 2 * 64
    with pytest.raises(ArgumentError, match="no pairs to draw"):
        A.audit({"t": _split("t", _smooth(5, 3))}).picture()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0}, r"threshold: expected a number in \(0, 1\]"),
        ({"threshold": 1.5}, r"threshold: expected a number in \(0, 1\]"),
        ({"pixel_threshold": "x"}, r"pixel_threshold: expected a number"),
        ({"side": 1}, r"side: expected an int in 2..64"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ArgumentError, match=match):
        A.audit({"t": _split("t", _smooth(4, 0))}, **kwargs)


def test_splits_of_different_shapes_are_refused() -> None:
    a, b = _split("a", _smooth(3, 0)), _split("b", np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(ArgumentError, match="images of different shapes"):
        A.audit({"a": a, "b": b})


def test_cli_audit_counts_json_and_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["audit", "mnist", "--sample"]) == 0
    out = capsys.readouterr().out
    assert "train/test" in out and "exact" in out
    ds = imagesets.load("mnist", sample=True, progress=False)
    report = A.audit(ds.splits)
    png = tmp_path / "pairs.png"
    argv = ["audit", "mnist", "--sample", "--json", "--threshold", "0.9", "--out", str(png)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["threshold"] == 0.9 and set(data["counts"]) == {"train/train", "train/test",
                                                                "test/test"}  # fmt: skip
    loose = A.audit(ds.splits, threshold=0.9)
    assert data["pairs"] == loose.table(data["limit"]) and len(loose) >= len(report)
    if len(loose):
        assert Image.open(png).width > 0
