"""SVHN cropped digits end to end: fake .mat files in the real layout, over loopback."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.testing.matlab import fake_svhn_images, write_fake_svhn
from imagesets.testing.server import LoopbackServer

COUNTS = {"train": 40, "test": 24, "extra": 30}
SEEDS = {"train": 1, "test": 2, "extra": 3}


@pytest.fixture
def fake_svhn(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    entry = copy.deepcopy(catalog.builtin_entry("svhn"))
    entry["name"], entry["aliases"] = "fake-svhn", []
    raw: dict[str, np.ndarray] = {}
    files = entry["editions"][0]["files"]
    for split, n in COUNTS.items():
        entry["splits"][split]["count"] = n
        name = f"{split}_32x32.mat"
        raw[split] = write_fake_svhn(tmp_path / name, n, seed=SEEDS[split])
        data = (tmp_path / name).read_bytes()
        server.add(f"/svhn/{name}", data)
        f = next(f for f in files if f["name"] == name)
        f.update(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            urls=[server.url(f"/svhn/{name}")],
        )
        f.pop("md5")
    spec = catalog.register(entry)
    yield {"spec": spec, "raw": raw, "server": server}
    catalog.unregister(spec.name)


def test_train_and_test_never_fetch_extra(fake_svhn: dict[str, Any]) -> None:
    (x, y), (xt, _) = imagesets.load_data("fake-svhn", progress=False)
    assert x.shape == (40, 32, 32, 3) and xt.shape == (24, 32, 32, 3) and y.shape == (40,)
    assert fake_svhn["server"].hits("/svhn/extra_32x32.mat") == 0
    raw = fake_svhn["raw"]["train"]
    assert np.array_equal(y, raw % 10) and y.max() <= 9
    assert np.array_equal(x, fake_svhn_images(40, SEEDS["train"], 0, 40))


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
    from imagesets.testing.svhn_full import write_fake_svhn_full

    entry = copy.deepcopy(catalog.builtin_entry("svhn-full"))
    entry["name"], entry["aliases"] = "fake-svhn-full", []
    expected = {}
    for split, n in (("train", 9), ("test", 5), ("extra", 4)):
        entry["splits"][split]["count"] = n
        path = tmp_path / f"{split}.tar.gz"
        expected[split] = write_fake_svhn_full(path, n, seed=n)
        data = path.read_bytes()
        server.add(f"/full/{path.name}", data)
        f = next(f for f in entry["editions"][0]["files"] if f["name"] == path.name)
        f.update(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            urls=[server.url(f"/full/{path.name}")],
        )
    spec = catalog.register(entry)
    yield {"expected": expected, "server": server}
    catalog.unregister(spec.name)


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
