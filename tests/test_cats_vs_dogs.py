"""Cats & Dogs end to end: a fake PetImages zip with the real defects, over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.testing.entries import retarget_with_fakes
from imagesets.testing.server import LoopbackServer

PER_CLASS = 20


@pytest.fixture
def fake_pets(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    """The built-in entry retargeted at a fake zip of ``PER_CLASS`` files per class (train 32,
    test 8 with the entry's 0.2 test fraction), served over loopback."""
    counts = {"train": 32, "test": 8}
    entry, fakes = retarget_with_fakes(
        catalog.builtin_entry("cats-vs-dogs"), tmp_path, server.url("/ms/"), counts=counts, seed=4
    )
    assert {s: v["count"] for s, v in entry["splits"].items()} == counts
    (f,) = entry["editions"][0]["files"]
    server.add(f"/ms/{f['name']}", (tmp_path / f["name"]).read_bytes())
    spec = catalog.register(entry)
    fake = fakes["zip"].facts["zip"]
    assert len(fake.kinds) == 2 * PER_CLASS
    yield {"fake": fake, "spec": spec}
    catalog.unregister(spec.name)


def test_every_decodable_image_is_kept_and_the_rest_recorded(fake_pets: dict[str, Any]) -> None:
    ds = imagesets.load("fake-cats-vs-dogs", options={"size": 32}, progress=False)
    train, test = ds["train"], ds["test"]
    undecodable = fake_pets["fake"].undecodable
    skipped = {s["path"] for s in train.skipped + test.skipped}
    assert skipped == set(undecodable)
    assert len(train) + len(test) == 2 * PER_CLASS - len(undecodable)
    assert train.images.shape[1:] == (32, 32, 3) and train.classes == ("Cat", "Dog")
    members = set(train.manifest["members"]) | set(test.manifest["members"])
    assert not set(train.manifest["members"]) & set(test.manifest["members"])
    assert len(members) == len(train) + len(test)
    audit = train.manifest["audit"]
    assert audit["no_jfif"] >= audit["no_jfif_but_decodes"] > 0 and audit["undecodable"] > 0


def test_default_is_a_packed_store_and_the_split_is_reproducible(fake_pets: dict[str, Any]) -> None:
    ds = imagesets.load("fake-cats-vs-dogs", progress=False)
    train = ds["train"]
    assert train.packed and train.manifest["split_seed"] == 0
    image, label = train[0]
    assert image.ndim == 3 and int(label) in (0, 1)
    again = imagesets.load("fake-cats-vs-dogs", options={"size": 16}, progress=False)["train"]
    assert again.manifest["members"] == train.manifest["members"]
    other = imagesets.load("fake-cats-vs-dogs", options={"seed": 7}, progress=False)["train"]
    assert other.manifest["members"] != train.manifest["members"]
    assert np.bincount(other.labels).tolist() == np.bincount(train.labels).tolist()


def test_builtin_entry() -> None:
    spec = catalog.get("cats_vs_dogs")
    f = spec.editions[0].files[0]
    assert (f.name, f.size) == ("kagglecatsanddogs_5340.zip", 824887076)
    assert f.urls[0].startswith("https://download.microsoft.com/")
