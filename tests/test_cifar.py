"""CIFAR-10 and CIFAR-100 end to end: fake archives of both editions over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.testing.cifar import CIFAR100_FINE_TO_COARSE
from imagesets.testing.entries import retarget_with_fakes
from imagesets.testing.server import LoopbackServer

N_TRAIN, N_TEST = 50, 20


def _serve_fake(variant: str, tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    """Both editions of the built-in ``variant`` retargeted at small fakes behind the loopback
    server, registered (``member_md5`` of the python edition follows the fake members)."""
    entry, fakes = retarget_with_fakes(
        catalog.builtin_entry(variant),
        tmp_path,
        server.url("/kriz/"),
        counts={"train": N_TRAIN, "test": N_TEST},
        seed=7,
    )
    paths = {}
    for edition in entry["editions"]:
        (f,) = edition["files"]
        server.add(f"/kriz/{f['name']}", (tmp_path / f["name"]).read_bytes())
        paths[edition["name"]] = f"/kriz/{f['name']}"
    spec = catalog.register(entry)
    yield {
        "variant": variant,
        "spec": spec,
        "data": fakes["python"].facts,
        "server": server,
        **paths,
    }
    catalog.unregister(spec.name)


@pytest.fixture(params=["cifar10", "cifar100"])
def fake_cifar(
    request: pytest.FixtureRequest, tmp_path: Path, server: LoopbackServer
) -> Iterator[dict[str, Any]]:
    yield from _serve_fake(request.param, tmp_path, server)


@pytest.fixture
def fake_cifar10(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    yield from _serve_fake("cifar10", tmp_path, server)


@pytest.fixture
def fake_cifar100(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    yield from _serve_fake("cifar100", tmp_path, server)


def test_keras_contract(fake_cifar: dict[str, Any]) -> None:
    name, data = fake_cifar["spec"].name, fake_cifar["data"]
    (x, y), (xt, yt) = imagesets.load_data(name, progress=False)
    assert x.shape == (N_TRAIN, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (N_TRAIN, 1) and yt.shape == (N_TEST, 1) and y.dtype == np.uint8
    assert np.array_equal(x, data["train"].images) and np.array_equal(y[:, 0], data["train"].labels)
    assert np.array_equal(xt, data["test"].images)


def test_either_edition_gives_identical_arrays(fake_cifar: dict[str, Any], cache: Path) -> None:
    name, server = fake_cifar["spec"].name, fake_cifar["server"]
    server.fail(fake_cifar["binary"], "404")  # only the python edition is reachable
    ds = imagesets.load(name, progress=False)
    assert ds.info.edition == "python"
    first = {s: {k: np.array(v) for k, v in ds[s].arrays.items()} for s in ("train", "test")}
    imagesets.api.clean(name, downloads=True)
    del server.rules[fake_cifar["binary"]]
    server.fail(fake_cifar["python"], "404")  # now only the binary edition
    ds2 = imagesets.load(name, progress=False)
    assert ds2.info.edition == "binary"
    for s in ("train", "test"):
        assert first[s].keys() == ds2[s].arrays.keys()
        for k, v in first[s].items():
            assert np.array_equal(v, ds2[s].arrays[k]), (s, k)


def test_a_present_edition_is_used_without_network(
    fake_cifar: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, server = fake_cifar["spec"].name, fake_cifar["server"]
    src = tmp_path / "given"
    src.mkdir()
    stem = "cifar-10" if fake_cifar["variant"] == "cifar10" else "cifar-100"
    (src / "renamed.tar.gz").write_bytes(server.files[f"/kriz/{stem}-python.tar.gz"])
    imagesets.import_files(name, [src], progress=False)
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    before = len(server.requests)
    ds = imagesets.load(name, progress=False)
    assert ds.info.edition == "python" and len(server.requests) == before


def test_cifar100_coarse_labels_and_hierarchy(fake_cifar100: dict[str, Any]) -> None:
    fake_cifar = fake_cifar100
    name, data = fake_cifar["spec"].name, fake_cifar["data"]
    (_, yc), _ = imagesets.load_data(name, label_mode="coarse", progress=False)
    assert yc.shape == (N_TRAIN, 1) and np.array_equal(yc[:, 0], data["train"].coarse_labels)
    train = imagesets.load(name, progress=False)["train"]
    assert len(train.classes) == 100 and len(train.superclasses) == 20
    seen = np.unique(train.labels)
    assert np.array_equal(train.fine_to_coarse[seen], CIFAR100_FINE_TO_COARSE[seen])


def test_stats_over_all_pixels(
    fake_cifar: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    name = fake_cifar["spec"].name
    train = imagesets.load(name, progress=False)["train"]
    result = train.stats()
    pixels = np.asarray(train.images, dtype=np.float64).reshape(-1, 3) / 255
    assert np.allclose(result.mean, pixels.mean(axis=0)) and np.allclose(
        result.std, pixels.std(axis=0)
    )
    assert result.class_counts.sum() == N_TRAIN
    assert main(["stats", name, "-q"]) == 0
    out = capsys.readouterr().out
    assert "mean" in out and f"{result.std[0]:.4f}" in out


def test_show_and_grid_in_colour(
    fake_cifar: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fake_cifar["spec"].name
    assert main(["show", name, "--index", "3", "--out", str(tmp_path / "one.png"), "-q"]) == 0
    assert "train_images shape : (50, 32, 32, 3)" in capsys.readouterr().out
    with Image.open(tmp_path / "one.png") as img:
        assert img.mode == "RGB" and img.size == (224, 224)
    by = ["--by", "superclass"] if fake_cifar["variant"] == "cifar100" else []
    assert (
        main(["grid", name, "--per-class", "3", "--out", str(tmp_path / "g.png"), "-q", *by]) == 0
    )
    rows = 20 if by else 10
    assert f"{rows} rows x 3" in capsys.readouterr().out


def test_superclass_grid_refused_without_coarse_labels(
    fake_cifar10: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_cifar = fake_cifar10
    name = fake_cifar["spec"].name
    assert main(["grid", name, "--by", "superclass", "--out", str(tmp_path / "g.png")]) == 1
    assert "no superclass labels" in capsys.readouterr().err


def test_builtin_entries_match_the_facts() -> None:
    c10, c100 = catalog.get("cifar10"), catalog.get("cifar-100")
    assert c10.classes[0] == "airplane" and c10.classes[-1] == "truck"
    assert c100.classes[26] == "crab" and len(c100.label_names["superclasses"]) == 20
    assert [e.name for e in c10.editions] == ["binary", "python"]
    py = c10.editions[1].files[0]
    assert (py.name, py.size, py.md5) == (
        "cifar-10-python.tar.gz",
        170498071,
        "c58f30108f718f92721af3b95e74349a",
    )
    assert py.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert c100.keras_labels == "column"


def test_dropin_modules_exist() -> None:
    from imagesets.datasets import cifar10, cifar100

    assert callable(cifar10.load_data) and callable(cifar100.load_data)
