"""Oxford 102 Flowers (issue 13): 1-based MAT labels read with our MAT reader, the published
train/val/test set ids, a plain-tar .tgz, bad MAT-files and archives refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, get_reader
from imagesets.testing import MemoryWriter
from imagesets.testing.entries import retarget
from imagesets.testing.flowers102 import FakeFlowers, write_fake_flowers102
from imagesets.testing.matlab import write_mat
from imagesets.testing.server import LoopbackServer

ENTRY = catalog.builtin_entry("flowers102")
CLASSES = tuple(ENTRY["editions"][0]["options"]["classes"])
NAMES = {"images": "102flowers.tgz", "labels": "imagelabels.mat", "setid": "setid.mat"}


def _fake(tmp_path: Path, counts: dict[str, int], seed: int = 0) -> tuple[dict[str, Path], Any]:
    fake = write_fake_flowers102(tmp_path, NAMES, counts, len(CLASSES), seed)
    return {r: tmp_path / n for r, n in NAMES.items()}, fake


def _read(files: dict[str, Path], split: str, **options: Any) -> tuple[Any, Any]:
    out = MemoryWriter()
    request = ReadRequest("flowers102", split, files, {"classes": CLASSES, **options})
    return out, get_reader("flowers102")(request, out)


def test_entry_names_102_classes_and_the_published_counts() -> None:
    spec = catalog.get("oxford_flowers102")
    assert spec.name == "flowers102" and spec.classes == CLASSES and len(CLASSES) == 102
    assert CLASSES[0] == "pink primrose" and CLASSES[-1] == "blackberry lily"
    counts = {s: spec.split(s).count for s in ("train", "val", "test")}
    assert counts == {"train": 1020, "val": 1020, "test": 6149}


def test_one_based_mat_labels_become_zero_based(tmp_path: Path) -> None:
    files, fake = _fake(tmp_path, {"train": 12, "val": 5, "test": 9})
    assert isinstance(fake, FakeFlowers) and min(fake.file_labels) >= 1
    for split in ("train", "val", "test"):
        out, result = _read(files, split)
        assert out.arrays["image_ids"].tolist() == fake.ids[split]
        expected = [fake.file_labels[n - 1] - 1 for n in fake.ids[split]]
        assert out.arrays["labels"].tolist() == expected == fake.labels[split]
        assert result.count == len(expected) and result.classes == CLASSES
    assert max(fake.file_labels) > 10  # labels past the first few classes


def test_fixed_size_arrays_and_a_plain_tar_named_tgz(tmp_path: Path) -> None:
    files, fake = _fake(tmp_path, {"train": 3, "val": 2, "test": 4}, seed=5)
    plain = tmp_path / "plain" / "102flowers.tgz"
    plain.parent.mkdir()
    with tarfile.open(files["images"]) as src, tarfile.open(plain, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    out, _ = _read({**files, "images": plain}, "test", size=16)
    assert out.arrays["images"].shape == (4, 16, 16, 3)
    assert out.arrays["labels"].tolist() == fake.labels["test"]


def test_an_undecodable_image_is_skipped_and_ids_stay_aligned(tmp_path: Path) -> None:
    files, fake = _fake(tmp_path, {"train": 6, "val": 1, "test": 1})
    with tarfile.open(files["images"]) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]
    bad = fake.ids["train"][2]
    members[f"jpg/image_{bad:05d}.jpg"] = b"\xff\xd8 not a jpeg"
    with tarfile.open(files["images"], "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out, result = _read(files, "train")
    assert [s.path for s in result.skipped] == [f"image_{bad:05d}.jpg"]
    keep = [i for i, n in enumerate(fake.ids["train"]) if n != bad]
    assert out.arrays["image_ids"].tolist() == [fake.ids["train"][i] for i in keep]
    assert out.arrays["labels"].tolist() == [fake.labels["train"][i] for i in keep]


def test_load_through_the_catalog(tmp_path: Path, server: LoopbackServer) -> None:
    counts = {"train": 4, "val": 3, "test": 5}
    entry = retarget(ENTRY, tmp_path / "f", server.url("/fake/"), counts=counts)
    for f in entry["editions"][0]["files"]:
        server.add(f"/fake/{f['name']}", (tmp_path / "f" / f["name"]).read_bytes())
    spec = catalog.register(entry)
    try:
        split = imagesets.load(spec.name, ["val"], progress=False)["val"]
        assert len(split) == 3 and split.packed and split.classes == CLASSES
    finally:
        catalog.unregister(spec.name)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([[1.0, 103.0, 2.0]]), r"value 103\.0 at column 2, expected whole numbers"),
        (np.array([[1.0, 0.0, 2.0]]), "value 0.0 at column 2"),
        (np.array([[1.0, 1.5, 2.0]]), "value 1.5 at column 2"),
        (np.array([[1.0, np.nan, 2.0]]), "value nan at column 2"),
        (np.ones((2, 3)), r"dims \(2, 3\), expected 1xK"),
        ("abc", "<U3 values, expected numbers|str values, expected numbers"),
    ],
)
def test_bad_labels_are_refused(tmp_path: Path, labels: Any, match: str) -> None:
    files, _ = _fake(tmp_path, {"train": 2, "val": 1, "test": 0})
    write_mat(files["labels"], {"labels": labels})
    with pytest.raises(FormatError, match=match):
        _read(files, "train")


def test_bad_set_ids_missing_images_and_bad_options_are_refused(tmp_path: Path) -> None:
    files, fake = _fake(tmp_path, {"train": 3, "val": 2, "test": 2})
    good = {"trnid": np.array([fake.ids["train"]], np.float64)}
    write_mat(files["setid"], {**good, "valid": np.array([[1.0, 1.0]]), "tstid": np.ones((1, 1))})
    with pytest.raises(FormatError, match="'valid' lists an image number twice"):
        _read(files, "val")
    write_mat(files["setid"], {**good, "valid": np.array([[8.0]]), "tstid": np.ones((1, 1))})
    with pytest.raises(
        FormatError, match=r"value 8\.0 at column 1, expected whole numbers in 1\.\.7"
    ):
        _read(files, "val")
    write_mat(files["setid"], good)
    with pytest.raises(FormatError, match="'tstid'"):
        _read(files, "test")
    with tarfile.open(files["images"], "w:gz") as tf:
        info = tarfile.TarInfo("jpg/image_00001.jpg")
        tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(FormatError, match=r"image.*of the split missing"):
        _read(files, "train")
    with pytest.raises(CatalogError, match="option 'classes'"):
        _read(files, "train", classes=[])
    with pytest.raises(CatalogError, match="not 'validation'"):
        _read(files, "validation")
