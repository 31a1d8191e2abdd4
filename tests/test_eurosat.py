"""EuroSAT (issue 13): class folders of 64x64 JPEGs, a seeded class-stratified split that is
recorded, the same on every run, and follows the seed and fraction options."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets import catalog
from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest, get_reader
from imagesets.testing import MemoryWriter
from imagesets.testing.eurosat import write_fake_eurosat
from imagesets.testing.imagenet import image_bytes

ENTRY = catalog.builtin_entry("eurosat")
CLASSES = ENTRY["classes"]


def _read(path: Path, split: str, **options: Any) -> tuple[MemoryWriter, Any]:
    out = MemoryWriter()
    request = ReadRequest("eurosat", split, {"archive": path}, {"classes": CLASSES, **options})
    return out, get_reader("eurosat")(request, out)


def _fake(tmp_path: Path, per_class: int = 10) -> tuple[Path, Any]:
    path = tmp_path / "EuroSAT.zip"
    return path, write_fake_eurosat(path, CLASSES, [per_class] * len(CLASSES), 0)


def test_entry_counts_are_the_80_20_split_of_27000() -> None:
    spec = catalog.get("eurosat")
    assert spec.split("train").count + spec.split("test").count == 27_000
    assert spec.split("test").count == 27_000 // 5 and list(spec.classes) == sorted(CLASSES)


def test_split_is_stratified_complete_disjoint_and_recorded(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path)
    (_, r_train), (test, r_test) = _read(path, "train"), _read(path, "test")
    assert r_test.count == 20 and r_train.count == 80  # 2 of 10 per class
    assert np.bincount(test.arrays["labels"], minlength=10).tolist() == [2] * 10
    members = r_train.extras["members"] + r_test.extras["members"]
    assert sorted(members) == sorted(fake.names) and len(set(members)) == 100
    label_of = dict(zip(fake.names, fake.labels, strict=True))
    assert test.arrays["labels"].tolist() == [label_of[m] for m in r_test.extras["members"]]
    assert r_test.extras["split_seed"] == 0 and r_test.extras["test_fraction"] == 0.2
    assert _read(path, "test")[1].extras["members"] == r_test.extras["members"]  # seeded


def test_seed_and_fraction_options_change_the_split(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    base = _read(path, "test")[1].extras["members"]
    other = _read(path, "test", seed=1)[1].extras["members"]
    assert len(other) == len(base) and other != base
    assert _read(path, "test", test_fraction=0.5)[1].count == 50


def test_fixed_size_arrays(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path, per_class=3)
    out, result = _read(path, "test", size=64)
    assert out.arrays["images"].shape == (result.count, 64, 64, 3) and result.count == 6  # 30 x 0.2


def test_an_undecodable_image_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "EuroSAT.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for cls in CLASSES:
            for n in range(1, 6):
                bad = cls == "Forest" and n == 1
                data = b"not a jpeg" if bad else image_bytes(n, size=(64, 64))
                zf.writestr(f"2750/{cls}/{cls}_{n}.jpg", data)
    skipped = []
    for split in ("train", "test"):
        _, result = _read(path, split)
        skipped += [s.path for s in result.skipped]
    assert skipped == ["2750/Forest/Forest_1.jpg"]


def test_bad_zips_and_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "EuroSAT.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("2750/Desert/Desert_1.jpg", image_bytes(0))
    with pytest.raises(FormatError, match="folder 'Desert' is not one of the 10 classes"):
        _read(path, "train")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("2750/Forest/Forest_1.jpg", image_bytes(0))
    with pytest.raises(FormatError, match="class\\(es\\) empty"):
        _read(path, "train")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../2750/Forest/Forest_1.jpg", image_bytes(0))
    with pytest.raises(UnsafeArchiveError):
        _read(path, "train")
    good, _ = _fake(tmp_path, 2)
    with pytest.raises(CatalogError, match="option 'test_fraction'"):
        _read(good, "test", test_fraction=1.5)
    with pytest.raises(CatalogError, match="option 'classes'"):
        _read(good, "test", classes=[])
    with pytest.raises(CatalogError, match="not 'val'"):
        _read(good, "val")
