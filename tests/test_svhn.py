"""SVHN cropped digits end to end: fake .mat files in the real layout, over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.testing.entries import retarget_with_fakes
from imagesets.testing.matlab import fake_svhn_images
from imagesets.testing.server import LoopbackServer

COUNTS = {"train": 40, "test": 24, "extra": 30}
SEED = 1  # the k-th split's file is written with seed SEED + k


def _serve(
    name: str, tmp_path: Path, server: LoopbackServer, prefix: str, counts: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The built-in ``name`` retargeted at fakes served under ``prefix``, registered; returns
    the entry and what was written per split."""
    entry, fakes = retarget_with_fakes(
        catalog.builtin_entry(name), tmp_path, server.url(prefix), counts=counts, seed=SEED
    )
    for f in entry["editions"][0]["files"]:
        server.add(prefix + f["name"], (tmp_path / f["name"]).read_bytes())
    catalog.register(entry)
    return entry, fakes[entry["editions"][0]["name"]].facts


@pytest.fixture
def fake_svhn(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    entry, facts = _serve("svhn", tmp_path, server, "/svhn/", COUNTS)
    raw = {split: labels for split, (_, labels) in facts.items()}
    images = {split: x for split, (x, _) in facts.items()}
    yield {"raw": raw, "images": images, "server": server}
    catalog.unregister(entry["name"])


def test_train_and_test_never_fetch_extra(fake_svhn: dict[str, Any]) -> None:
    (x, y), (xt, _) = imagesets.load_data("fake-svhn", progress=False)
    assert x.shape == (40, 32, 32, 3) and xt.shape == (24, 32, 32, 3) and y.shape == (40,)
    assert fake_svhn["server"].hits("/svhn/extra_32x32.mat") == 0
    raw = fake_svhn["raw"]["train"]
    assert np.array_equal(y, raw % 10) and y.max() <= 9
    assert np.array_equal(x, fake_svhn["images"]["train"])
    assert np.array_equal(x, fake_svhn_images(40, SEED, 0, 40))


def test_extra_on_request_and_raw_labels(fake_svhn: dict[str, Any]) -> None:
    extra = imagesets.load("fake-svhn", "extra", progress=False)["extra"]
    assert len(extra) == 30 and fake_svhn["server"].hits("/svhn/extra_32x32.mat") == 1
    raw = imagesets.load("fake-svhn", "train", options={"raw_labels": True}, progress=False)
    labels = raw["train"].labels
    assert np.array_equal(labels, fake_svhn["raw"]["train"]) and labels.min() >= 1
    assert raw.info.path is not None and raw.info.path.name == "default-raw_labels=True"


def test_cli_option_selects_the_variant(
    fake_svhn: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "fake-svhn", "--index", "0", "--option", "raw_labels=true", "-q"]) == 0
    label = int(fake_svhn["raw"]["train"][0])
    assert f"train label [0] = {label}" in capsys.readouterr().out
    assert main(["show", "fake-svhn", "--option", "nonsense", "-q"]) == 1
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_builtin_entry() -> None:
    spec = catalog.get("svhn")
    assert [(s.name, s.count, s.optional) for s in spec.splits] == [
        ("train", 73257, False),
        ("test", 26032, False),
        ("extra", 531131, True),
    ]
    assert spec.editions[0].file("extra_32x32.mat").size == 1329278602


@pytest.fixture
def fake_full(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    counts = {"train": 9, "test": 5, "extra": 4}
    entry, expected = _serve("svhn-full", tmp_path, server, "/full/", counts)
    yield {"expected": expected, "server": server}
    catalog.unregister(entry["name"])


def test_full_numbers_packed_pngs_and_digit_boxes(fake_full: dict[str, Any]) -> None:
    ds = imagesets.load("fake-svhn-full", progress=False)
    train = ds["train"]
    expected = fake_full["expected"]["train"]
    assert len(train) == 9 and fake_full["server"].hits("/full/extra.tar.gz") == 0
    assert train.packed and train.images.raw(3) == expected.pngs[3]
    image, digits = train[1]
    assert image.shape == (*expected.shapes[1], 3)
    raw = expected.digits(1)
    assert digits["label"].tolist() == [int(v) % 10 for v in raw["label"]]
    assert np.array_equal(digits["left"], raw["left"])


def test_show_draws_the_boxes(
    fake_full: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    out = tmp_path / "boxes.png"
    assert main(["show", "fake-svhn-full", "--index", "1", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "train digits [1] = " in text and "(2 boxes)" in text
    with Image.open(out) as img:
        shape = fake_full["expected"]["train"].shapes[1]
        assert img.width >= int(shape[1]) and img.mode == "RGB"
