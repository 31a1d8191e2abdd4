"""Oxford-IIIT Pet (issue 13): 37 breeds from the list files, species as coarse labels, the
trainval/test lists, undecodable images skipped, a bad list or archive refused."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest, get_reader
from imagesets.formats.oxford_pet import parse_list
from imagesets.testing import MemoryWriter
from imagesets.testing.archives import write_tgz
from imagesets.testing.entries import retarget
from imagesets.testing.oxford_pet import write_fake_oxford_pet
from imagesets.testing.server import LoopbackServer

ENTRY = catalog.builtin_entry("oxford-iiit-pet")
BREEDS = tuple(ENTRY["editions"][0]["options"]["breeds"])


def _fakes(tmp_path: Path, counts: dict[str, int], seed: int = 0) -> tuple[Path, Path, Any]:
    images, annotations = tmp_path / "images.tar.gz", tmp_path / "annotations.tar.gz"
    return images, annotations, write_fake_oxford_pet(images, annotations, counts, BREEDS, seed)


def _read(images: Path, annotations: Path, split: str, **options: Any) -> tuple[Any, Any]:
    out = MemoryWriter()
    files = {"images": images, "annotations": annotations}
    request = ReadRequest("oxford-iiit-pet", split, files, {"breeds": list(BREEDS), **options})
    return out, get_reader("oxford-pet")(request, out)


def test_entry_names_37_breeds_12_of_them_cats() -> None:
    spec = catalog.get("oxford-iiit-pet")
    assert len(spec.classes) == 37 and spec.classes == BREEDS
    assert spec.label_names["superclasses"] == ("Cat", "Dog")
    assert sum(b[0].isupper() for b in BREEDS) == 12  # the README: capital first letter = cat
    assert {s: spec.split(s).count for s in ("trainval", "test")} == {"trainval": 3680,
                                                                      "test": 3669}  # fmt: skip


def test_breeds_and_species_follow_the_lists(tmp_path: Path) -> None:
    images, annotations, fake = _fakes(tmp_path, {"trainval": 40, "test": 9})
    for split in ("trainval", "test"):
        out, result = _read(images, annotations, split)
        assert out.arrays["labels"].tolist() == fake.breeds[split]
        assert out.arrays["coarse_labels"].dtype == np.int64
        assert out.arrays["coarse_labels"].tolist() == fake.species[split]
        assert result.count == len(fake.names[split]) and result.classes == BREEDS
        assert result.label_names == {"superclasses": ("Cat", "Dog")}
    assert set(fake.species["trainval"]) == {0, 1}


def test_fixed_size_arrays_keep_species_aligned(tmp_path: Path) -> None:
    images, annotations, fake = _fakes(tmp_path, {"trainval": 6, "test": 5}, seed=3)
    out, _ = _read(images, annotations, "test", size=16)
    assert out.arrays["images"].shape == (5, 16, 16, 3)
    assert out.arrays["coarse_labels"].tolist() == fake.species["test"]


def test_an_undecodable_image_is_skipped_and_the_rest_stay_aligned(tmp_path: Path) -> None:
    images, annotations, fake = _fakes(tmp_path, {"trainval": 6, "test": 2})
    with tarfile.open(images) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]
    bad = fake.names["trainval"][2]
    members[f"images/{bad}"] = b"\xff\xd8 not really a jpeg"
    write_tgz(images, members)
    out, result = _read(images, annotations, "trainval")
    assert [s.path for s in result.skipped] == [bad]
    keep = [i for i, n in enumerate(fake.names["trainval"]) if n != bad]
    assert out.arrays["labels"].tolist() == [fake.breeds["trainval"][i] for i in keep]
    assert out.arrays["coarse_labels"].tolist() == [fake.species["trainval"][i] for i in keep]


def test_load_through_the_catalog_derives_breed_to_species(
    tmp_path: Path, server: LoopbackServer
) -> None:
    entry = retarget(ENTRY, tmp_path / "f", server.url("/fake/"), counts={"trainval": 40})
    for f in entry["editions"][0]["files"]:
        server.add(f"/fake/{f['name']}", (tmp_path / "f" / f["name"]).read_bytes())
    spec = catalog.register(entry)
    try:
        split = imagesets.load(spec.name, ["trainval"], progress=False)["trainval"]
        mapping = split.fine_to_coarse
        assert mapping[BREEDS.index("Abyssinian")] == 0 and mapping[BREEDS.index("pug")] == 1
        assert split.superclasses == ("Cat", "Dog") and split.packed
    finally:
        catalog.unregister(spec.name)


def test_a_listed_image_missing_from_the_archive_fails(tmp_path: Path) -> None:
    images, annotations, fake = _fakes(tmp_path, {"trainval": 4, "test": 2})
    with tarfile.open(images) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]
    gone = fake.names["test"][1]
    del members[f"images/{gone}"]
    write_tgz(images, members)
    with pytest.raises(FormatError, match=f"1 listed image.*missing.*{gone}"):
        _read(images, annotations, "test")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("Abyssinian_1 2 1 1", "whose breed is 'american_bulldog'"),
        ("Abyssinian_1 38 1 1", r"CLASS-ID '38', expected an integer in 1\.\.37"),
        ("Abyssinian_1 1 3 1", "SPECIES '3'"),
        ("Abyssinian_1 1 1", "3 fields, expected 4"),
        ("Abyssinian_x 1 1 1", "whose breed is 'Abyssinian'"),
    ],
)
def test_bad_list_lines_are_refused(line: str, match: str) -> None:
    with pytest.raises(FormatError, match=f"t.txt line 2: .*{match}"):
        parse_list(f"Abyssinian_2 1 1 1\n{line}\n".encode(), BREEDS, "t.txt")


def test_a_breed_under_two_species_and_a_repeated_image_are_refused() -> None:
    with pytest.raises(FormatError, match="listed as Dog here and as Cat before"):
        parse_list(b"Abyssinian_1 1 1 1\nAbyssinian_2 1 2 1\n", BREEDS, "t.txt")
    with pytest.raises(FormatError, match="listed twice"):
        parse_list(b"Abyssinian_1 1 1 1\nAbyssinian_1 1 1 1\n", BREEDS, "t.txt")
    with pytest.raises(FormatError, match="not ASCII"):
        parse_list("Abyssinian_1 1 1 1 \u00e9\n".encode(), BREEDS, "t.txt")
    assert parse_list(b"#Image CLASS-ID SPECIES BREED ID\n\npug_1 26 2 15\n", BREEDS, "t") == [
        parse_list(b"pug_1 26 2 15", BREEDS, "t")[0]
    ]


def test_missing_list_oversized_list_unsafe_member_and_bad_options(tmp_path: Path) -> None:
    images, annotations, _ = _fakes(tmp_path, {"trainval": 2, "test": 2})
    empty = write_tgz(tmp_path / "a.tar.gz", {"annotations/README": b"x"})
    with pytest.raises(FormatError, match=r"no member annotations/test\.txt"):
        _read(images, empty, "test")
    big = write_tgz(tmp_path / "b.tar.gz", {"annotations/test.txt": b"#" * ((1 << 20) + 1)})
    with pytest.raises(FormatError, match=r"bytes, expected at most \d+; is this the"):
        _read(images, big, "test")
    evil = write_tgz(tmp_path / "c.tar.gz", {"../annotations/test.txt": b"pug_1 26 2 15\n"})
    with pytest.raises(UnsafeArchiveError):
        _read(images, evil, "test")
    with pytest.raises(CatalogError, match="option 'breeds'"):
        _read(images, annotations, "test", breeds=["a", "a"])
    with pytest.raises(CatalogError, match="not 'train'"):
        _read(images, annotations, "train")
