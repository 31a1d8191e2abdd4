"""Every built-in catalog entry, each edition, end to end on small fakes in its real format.

Like TFDS's builder tests: the entry is retargeted at fakes (imagesets.testing.entries), served
by the loopback server (or imported, for manual-download entries), every split is loaded through
imagesets.load and checked against the entry: counts, image shape and dtype, label ranges and
class names. A new built-in entry in a known format needs no new test code; one in a format
with no fake writer fails here, naming the format.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.testing.entries import FAKE_WRITERS, retarget
from imagesets.testing.server import LoopbackServer


def _editions(name: str) -> list[str]:
    entry = catalog.builtin_entry(name)
    return [str(e.get("name", "default")) for e in entry.get("editions", [{}])]


CASES = [(name, ed) for name in catalog.names() for ed in _editions(name)]


def _check_images(split: Any, shape: tuple[int, ...]) -> None:
    if split.packed:
        for i in (0, len(split) - 1):
            image = split[i][0]
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, image.shape
        return
    images = split.arrays["images"]
    assert images.dtype == np.uint8 and images.shape[0] == len(split)
    if shape:
        assert images.shape[1:] == shape, (images.shape, shape)


def _check_labels(split: Any, entry: dict[str, Any]) -> None:
    classes = entry.get("classes", [])
    arrays = split.arrays
    if split.manifest.get("labeled") is False:  # a split the reader says is unlabeled (STL-10)
        assert "labels" not in arrays and "coarse_labels" not in arrays
        return
    found = [arrays[k] for k in ("labels",) if k in arrays]
    if "boxes" in arrays:
        found.append(arrays["boxes"]["label"])
    assert found, f"split {split.name} has no labels: {sorted(arrays)}"
    for labels in found:
        assert np.issubdtype(labels.dtype, np.integer) and labels.shape[0] >= len(split) > 0
        assert int(labels.min()) >= 0 and int(labels.max()) < len(classes)
    superclasses = entry.get("label_names", {}).get("superclasses")
    if "coarse_labels" in arrays:
        assert superclasses and int(arrays["coarse_labels"].max()) < len(superclasses)
        assert split.superclasses == tuple(superclasses)


def _serve_or_import(entry: dict[str, Any], folder: Path, server: LoopbackServer) -> None:
    if entry.get("manual"):
        result = imagesets.import_files(entry["name"], [folder], progress=False)
        assert result is not None
        return
    for ed in entry["editions"]:
        for f in ed["files"]:
            server.add(f"/fake/{f['name']}", (folder / f["name"]).read_bytes())


@pytest.mark.parametrize(("name", "edition"), CASES, ids=[f"{n}-{e}" for n, e in CASES])
def test_every_builtin_entry_loads_from_fakes(
    name: str, edition: str, tmp_path: Path, server: LoopbackServer
) -> None:
    original = catalog.builtin_entry(name)
    fmt = next(e["format"] for e in original["editions"] if e.get("name", "default") == edition)
    if fmt not in FAKE_WRITERS:
        pytest.fail(
            f"built-in entry {name!r} edition {edition!r}: format {fmt!r} has no fake writer in "
            "imagesets.testing.entries.FAKE_WRITERS; add one"
        )
    folder = tmp_path / "fakes"
    entry = retarget(original, folder, server.url("/fake/"), edition=edition)
    assert original == catalog.builtin_entry(name)  # the original is not changed
    spec = catalog.register(entry)
    try:
        _serve_or_import(entry, folder, server)
        splits = list(entry["editions"][0]["splits"])
        ds = imagesets.load(spec.name, splits, progress=False)
        assert ds.info.edition == edition and list(ds) == splits
        counts = {**{s: v["count"] for s, v in entry["splits"].items()},
                  **entry["editions"][0].get("counts", {})}  # fmt: skip
        shape = tuple(original.get("image_shape", ()))
        for s in splits:
            split = ds[s]
            assert len(split) + len(split.skipped) == counts[s] > 0, s
            assert split.classes == tuple(original["classes"])
            _check_images(split, shape)
            _check_labels(split, original)
    finally:
        catalog.unregister(spec.name)


def test_every_builtin_format_has_a_writer() -> None:
    for name, edition in CASES:
        entry = catalog.builtin_entry(name)
        fmt = next(e["format"] for e in entry["editions"] if e.get("name") == edition)
        assert fmt in FAKE_WRITERS, (name, edition, fmt)


def test_a_format_without_writer_is_named(tmp_path: Path) -> None:
    entry = copy.deepcopy(catalog.builtin_entry("mnist"))
    entry["editions"][0]["format"] = "image-tree-packed"
    with pytest.raises(LookupError, match="no fake writer for format 'image-tree-packed'"):
        retarget(entry, tmp_path, "http://127.0.0.1:1/")


def test_retarget_replaces_every_file_fact(tmp_path: Path) -> None:
    original = catalog.builtin_entry("imagenet")
    entry = retarget(original, tmp_path, "http://127.0.0.1:1/x")
    assert entry["name"] == "fake-imagenet" and entry["aliases"] == [] and entry["manual"]
    files = {f["name"]: f for f in entry["editions"][0]["files"]}
    for f in original["editions"][0]["files"]:
        fake = files[f["name"]]
        assert set(fake) == {*f, "urls"}  # the devkit stays md5-only
        assert all(fake[k] != f[k] for k in ("size", "sha256", "md5") if k in f)
        assert fake["urls"] == [f"http://127.0.0.1:1/x/{f['name']}"]
    assert len(entry["classes"]) == 1000
    assert {s: v["count"] for s, v in entry["splits"].items()} == {"train": 24, "val": 12}


def test_cifar_member_md5_follow_the_fakes(tmp_path: Path) -> None:
    entry = retarget(catalog.builtin_entry("cifar10"), tmp_path, "http://127.0.0.1:1/")
    python = next(e for e in entry["editions"] if e["name"] == "python")
    real = catalog.builtin_entry("cifar10")["editions"][1]["options"]["member_md5"]
    assert set(python["options"]["member_md5"]) >= set(real)
    assert not set(python["options"]["member_md5"].values()) & set(real.values())
    assert "sample" not in retarget(catalog.builtin_entry("mnist"), tmp_path / "m", "http://h/")


def test_every_reader_format_but_local_folders_has_a_writer() -> None:
    from imagesets._registry import READERS

    local = {"image-tree", "image-tree-packed", "image-folder"}  # local editions: no files
    assert set(READERS) - set(FAKE_WRITERS) == local
    assert set(FAKE_WRITERS) <= set(READERS)


def test_one_edition_or_a_clear_error(tmp_path: Path) -> None:
    entry = retarget(catalog.builtin_entry("cifar100"), tmp_path, "http://h/", edition="binary")
    assert [e["name"] for e in entry["editions"]] == ["binary"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-100-binary.tar.gz"]
    with pytest.raises(ValueError, match="no edition 'nope'; its editions are"):
        retarget(catalog.builtin_entry("cifar100"), tmp_path, "http://h/", edition="nope")


def test_a_shorthand_user_entry_is_retargeted(tmp_path: Path, server: LoopbackServer) -> None:
    full = catalog.builtin_entry("mnist")
    edition = full["editions"][0]
    user = {
        "name": "my-digits",
        "image_shape": [28, 28],
        "classes": full["classes"],
        "format": "idx",
        "files": edition["files"],
        "splits": {s: {"count": 9, "files": roles} for s, roles in edition["splits"].items()},
    }
    entry = retarget(user, tmp_path, server.url("/u/"), counts={"train": 5, "test": 3})
    for f in entry["editions"][0]["files"]:
        server.add(f"/u/{f['name']}", (tmp_path / f["name"]).read_bytes())
    catalog.register(entry)
    try:
        ds = imagesets.load("fake-my-digits", progress=False)
        assert (len(ds["train"]), len(ds["test"])) == (5, 3)
        assert ds["train"].images.shape == (5, 28, 28)
    finally:
        catalog.unregister("fake-my-digits")
