"""Cats & Dogs (PetImages zip): audit with both rules, seeded stratified split, readers."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest
from imagesets.formats.petimages import (
    CLASSES,
    audit,
    plan_split,
    read_split,
    stratified_split,
)
from imagesets.imaging import decode
from imagesets.packed import PackedImages
from imagesets.testing import MemoryWriter
from imagesets.testing.petimages import DEFECTS, FakePetImages, write_fake_petimages


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> FakePetImages:
    return write_fake_petimages(tmp_path_factory.mktemp("pets") / "pets.zip", per_class=20)


def _read(path: Path, split: str, **options: Any) -> tuple[MemoryWriter, dict[str, Any], list[int]]:
    """Read ``split``: fixed-size arrays when ``size`` is among ``options``, else packed."""
    done: list[int] = []
    opts = {"workers": 2, **options}
    request = ReadRequest("cats_vs_dogs", split, {"archive": path}, opts, progress=done.append)
    out = MemoryWriter()
    result = read_split(request, out)
    assert result.count == len(result.extras["members"])  # type: ignore[arg-type]
    return out, result.manifest(), done  # the manifest's keys, as every test reads them


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


# --- audit -------------------------------------------------------------------------------------


def test_audit_reports_both_rules_on_the_fake_zip(fake: FakePetImages) -> None:
    result = audit(fake.path, workers=2)
    assert result.summary() == fake.summary()
    assert result.no_jfif == fake.no_jfif()
    assert dict(result.undecodable) == fake.undecodable
    assert set(result.undecodable.values()) == {"zero bytes", "truncated", "not an image"}
    assert dict(result.ignored) == fake.ignored
    assert result.per_class == {"Cat": 20, "Dog": 20}
    kinds = {fake.kinds[m] for m in result.no_jfif_but_decodes}
    assert kinds == {"png", "bmp", "gif", "exif_jpeg"}
    assert {fake.kinds[m] for m in result.jfif_but_undecodable} == {"truncated_jpeg"}


def test_jfif_window_of_ten_also_drops_jfif_after_exif(fake: FakePetImages) -> None:
    literal = audit(fake.path, jfif_window=10, workers=1)
    late = literal.no_jfif - audit(fake.path, workers=1).no_jfif
    assert {fake.kinds[m] for m in late} == {"exif_then_jfif"}
    assert literal.summary() == fake.summary(window=10)


def test_audit_orders_members_by_class_then_number_not_archive_order(fake: FakePetImages) -> None:
    members = audit(fake.path, workers=1).members
    with zipfile.ZipFile(fake.path) as zf:
        archive_order = [n for n in zf.namelist() if n in fake.kinds]
    expected = [f"PetImages/{c}/{i}.jpg" for c in CLASSES for i in range(20)]
    assert list(members) == expected != archive_order
    assert audit(fake.path, workers=1).labels().tolist() == [0] * 20 + [1] * 20


def test_fake_writer_places_the_defects_and_is_deterministic(tmp_path: Path) -> None:
    a = write_fake_petimages(tmp_path / "a.zip", per_class=9, seed=3)
    b = write_fake_petimages(tmp_path / "b.zip", per_class=9, seed=3)
    c = write_fake_petimages(tmp_path / "c.zip", per_class=9, seed=4)
    assert a.kinds == b.kinds != c.kinds
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    for cls, defects in DEFECTS.items():
        assert sorted(k for m, k in a.kinds.items() if f"/{cls}/" in m and k != "jpeg") == sorted(
            defects
        )
    with pytest.raises(ValueError, match="per_class must be at least 8, found 5"):
        write_fake_petimages(tmp_path / "d.zip", per_class=5)


# --- refusals ----------------------------------------------------------------------------------


def _zip(path: Path, names: list[str], raw: bool = False) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("PetImages/Cat/0.jpg", _member_jpeg())
            for name in names:
                zf.writestr(zipfile.ZipInfo(name) if raw else name, _member_jpeg())
    return path


def _member_jpeg() -> bytes:
    from imagesets.imaging import encode

    return encode(np.full((8, 8, 3), 99, np.uint8))


@pytest.mark.parametrize(
    "name", ["PetImages/Cat/../../evil.jpg", "/etc/evil.jpg", "../PetImages/Cat/1.jpg"]
)
def test_unsafe_member_names_are_refused_by_audit_and_readers(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path / "bad.zip", [name], raw=True)
    with pytest.raises(UnsafeArchiveError, match=r"bad\.zip.*evil|bad\.zip.*\.\."):
        audit(path, workers=1)
    with pytest.raises(UnsafeArchiveError):
        _read(path, "train", size=8)


@pytest.mark.parametrize(
    "name", ["Other/1.jpg", "PetImages/Bird/1.jpg", "PetImages/Cat/deep/1.jpg", "PetImages/1.jpg"]
)
def test_members_outside_the_layout_are_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path / "odd.zip", [name])
    with pytest.raises(FormatError, match=rf"odd\.zip: member '{name}' is not where"):
        audit(path, workers=1)


def test_duplicate_members_and_corrupt_zips_are_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "dup.zip", ["PetImages/Cat/0.jpg"])
    with pytest.raises(FormatError, match=r"dup\.zip: members \['PetImages/Cat/0.jpg'\] appear"):
        audit(path, workers=1)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really a zip")
    with pytest.raises(FormatError, match=r"junk\.zip"):
        audit(junk, workers=1)


# --- split -------------------------------------------------------------------------------------


LABELS = np.array([0] * 50 + [1] * 30 + [2] * 7)


def test_split_is_deterministic_disjoint_complete_and_stratified() -> None:
    train, test = stratified_split(LABELS, 0.2, seed=5)
    again = stratified_split(LABELS, 0.2, seed=5)
    other = stratified_split(LABELS, 0.2, seed=6)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, other[1])
    assert not set(train) & set(test)
    assert sorted([*train, *test]) == list(range(len(LABELS)))
    assert np.bincount(LABELS[test]).tolist() == [10, 6, 1]  # 7 * 0.2 = 1.4 -> 1
    assert train.dtype == test.dtype == np.int64
    assert list(test) == sorted(test) and list(train) == sorted(train)


def test_split_counts_round_half_up_per_class() -> None:
    labels = np.array([0] * 5 + [1] * 15 + [2] * 25)
    counts = np.bincount(labels[stratified_split(labels, 0.1)[1]]).tolist()
    assert counts == [1, 2, 3]  # 0.5 -> 1, 1.5 -> 2, 2.5 -> 3
    assert len(stratified_split(labels, 0.0)[1]) == 0 == len(stratified_split(labels, 1.0)[0])


def test_split_is_pinned_to_the_raw_bit_stream() -> None:
    """Guards against numpy or code changes moving files between splits on other machines."""
    labels = [0] * 10 + [1] * 10
    assert stratified_split(labels, 0.3, seed=0)[1].tolist() == [1, 2, 3, 14, 15, 17]
    assert stratified_split(labels, 0.3, seed=1)[1].tolist() == [2, 4, 9, 13, 15, 16]


@pytest.mark.parametrize(
    ("labels", "fraction", "seed", "match"),
    [
        ([[0, 1]], 0.2, 0, "1-D array of non-negative integers"),
        ([0, -1], 0.2, 0, "non-negative integers"),
        ([0.5, 1.0], 0.2, 0, "integers, found float64"),
        ([0, 1], 1.5, 0, r"test_fraction must be in \[0, 1\], found 1.5"),
        ([0, 1], 0.2, -1, "seed must be a non-negative integer, found -1"),
    ],
)
def test_split_rejects_bad_arguments(labels: Any, fraction: float, seed: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stratified_split(labels, fraction, seed)


def test_plan_split_drops_undecodable_members_of_its_split(fake: FakePetImages) -> None:
    result = audit(fake.path, workers=1)
    train, test = (plan_split(result, s, test_fraction=0.25, seed=2) for s in ("train", "test"))
    assert (
        len(train.members) + len(train.skipped) == 30
        and len(test.skipped) + len(test.members) == 10
    )
    assert set(train.members) | set(test.members) == fake.decodable
    skipped = {s.path: s.reason for s in [*train.skipped, *test.skipped]}
    assert skipped == fake.undecodable
    with pytest.raises(ValueError, match="split must be one of"):
        plan_split(result, "val")


# --- readers -----------------------------------------------------------------------------------


def test_fixed_reader_keeps_every_decodable_image_and_records_members(fake: FakePetImages) -> None:
    seen: set[str] = set()
    skipped: dict[str, str] = {}
    for split in ("train", "test"):
        out, facts, done = _read(fake.path, split, size=16)
        images, labels = out.arrays["images"], out.arrays["labels"]
        n = len(facts["members"])
        assert images.shape == (n, 16, 16, 3) and images.dtype == np.uint8
        assert labels.dtype == np.int64 and sum(done) == n == facts["count"]
        assert labels.tolist() == [CLASSES.index(m.split("/")[1]) for m in facts["members"]]
        assert facts["classes"] == ["Cat", "Dog"] and facts["audit"] == fake.summary()
        assert (facts["split_seed"], facts["test_fraction"]) == (0, 0.2)
        assert n + len(facts["skipped"]) == {"train": 32, "test": 8}[split]
        seen.update(facts["members"])
        skipped.update({d["path"]: d["reason"] for d in facts["skipped"]})
        for row, name in enumerate(facts["members"]):
            assert np.array_equal(images[row], decode(_member(fake.path, name), size=16))
    assert seen == fake.decodable and skipped == fake.undecodable


def test_split_sizes_follow_the_fraction_per_class(fake: FakePetImages) -> None:
    _, facts, _ = _read(fake.path, "test", size=8, test_fraction=0.25, seed=1)
    chosen = facts["members"] + [d["path"] for d in facts["skipped"]]
    per_class = [sum(f"/{c}/" in m for m in chosen) for c in CLASSES]
    assert per_class == [5, 5]


def test_packed_reader_stores_original_bytes_in_the_same_order(fake: FakePetImages) -> None:
    fixed_out, fixed, _ = _read(fake.path, "train", size=8)
    out, facts, done = _read(fake.path, "train")
    assert facts["members"] == fixed["members"] and facts["skipped"] == fixed["skipped"]
    assert np.array_equal(out.arrays["labels"], fixed_out.arrays["labels"])
    images = PackedImages(out.blobs["data"].getvalue(), out.arrays["offsets"])
    assert len(images) == len(facts["members"]) == sum(done)
    assert facts["bytes"] == len(out.blobs["data"].getvalue()) and facts["max_side"] is None
    for i, name in enumerate(facts["members"]):
        original = _member(fake.path, name)
        assert images.raw(i) == original
        assert tuple(out.arrays["shapes"][i]) == decode(original).shape[:2]


def test_packed_reader_reencodes_at_max_side(fake: FakePetImages) -> None:
    out, facts, _ = _read(fake.path, "test", max_side=20)
    images = PackedImages(out.blobs["data"].getvalue(), out.arrays["offsets"])
    shapes = out.arrays["shapes"]
    assert shapes.shape == (len(facts["members"]), 2) and shapes.max() <= 20
    for i in range(len(images)):
        assert images[i].shape[:2] == tuple(shapes[i])
        assert images.raw(i)[:2] == b"\xff\xd8"  # PNG, BMP and GIF content became JPEG
    assert facts["max_side"] == 20


def test_different_seeds_give_different_members(fake: FakePetImages) -> None:
    a = _read(fake.path, "test", size=8, seed=0)[1]["members"]
    b = _read(fake.path, "test", size=8, seed=0, workers=1)[1]["members"]
    c = _read(fake.path, "test", size=8, seed=9)[1]["members"]
    assert a == b != c


@pytest.mark.parametrize(
    ("split", "options", "match"),
    [
        ("val", {"size": 8}, "split 'val' is not one of"),
        ("train", {"size": 0}, r"option 'size' must be a positive integer or None, found 0"),
        ("train", {"size": 8, "max_side": 64}, "'max_side' must be absent when 'size' is given"),
        ("train", {"size": 8, "test_fraction": 1.0}, "strictly between 0 and 1, found 1.0"),
        ("train", {"size": 8, "test_fraction": "0.2"}, "test_fraction"),
        ("train", {"size": 8, "seed": -2}, r"'seed' must be an integer >= 0 or None, found -2"),
        ("train", {"size": True}, "'size' must be"),
    ],
)
def test_bad_options_are_catalog_errors(
    fake: FakePetImages, split: str, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(CatalogError, match=match):
        _read(fake.path, split, **options)


def test_missing_archive_role_is_a_catalog_error(fake: FakePetImages) -> None:
    request = ReadRequest("cats_vs_dogs", "train", {"images": fake.path}, {"size": 8})
    with pytest.raises(CatalogError, match="role 'archive'"):
        read_split(request, MemoryWriter())
