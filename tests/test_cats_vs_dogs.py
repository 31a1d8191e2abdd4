"""Cats & Dogs end to end: a fake PetImages zip with the real defects, over loopback."""

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
from imagesets.testing.petimages import write_fake_petimages
from imagesets.testing.server import LoopbackServer

PER_CLASS = 20


@pytest.fixture
def fake_pets(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    path = tmp_path / "kagglecatsanddogs_5340.zip"
    fake = write_fake_petimages(path, per_class=PER_CLASS, seed=4)
    data = path.read_bytes()
    server.add(f"/ms/{path.name}", data)
    entry = copy.deepcopy(catalog.builtin_entry("cats-vs-dogs"))
    entry["name"], entry["aliases"] = "fake-pets", []
    entry["splits"] = {"train": {"count": 32}, "test": {"count": 8}}
    f = entry["editions"][0]["files"][0]
    f.update(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        urls=[server.url(f"/ms/{path.name}")],
    )
    spec = catalog.register(entry)
    yield {"fake": fake, "spec": spec}
    catalog.unregister(spec.name)


def test_every_decodable_image_is_kept_and_the_rest_recorded(fake_pets: dict[str, Any]) -> None:
    ds = imagesets.load("fake-pets", options={"size": 32}, progress=False)
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
    ds = imagesets.load("fake-pets", progress=False)
    train = ds["train"]
    assert train.packed and train.manifest["split_seed"] == 0
    image, label = train[0]
    assert image.ndim == 3 and int(label) in (0, 1)
    again = imagesets.load("fake-pets", options={"size": 16}, progress=False)["train"]
    assert again.manifest["members"] == train.manifest["members"]
    other = imagesets.load("fake-pets", options={"seed": 7}, progress=False)["train"]
    assert other.manifest["members"] != train.manifest["members"]
    assert np.bincount(other.labels).tolist() == np.bincount(train.labels).tolist()


def test_builtin_entry() -> None:
    spec = catalog.get("cats_vs_dogs")
    f = spec.editions[0].files[0]
    assert (f.name, f.size) == ("kagglecatsanddogs_5340.zip", 824887076)
    assert f.urls[0].startswith("https://download.microsoft.com/")
