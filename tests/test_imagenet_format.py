"""ILSVRC-2012: the packaged class index and the ilsvrc2012 reader (fixed-size and packed)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest, Skip
from imagesets.formats.imagenet import (
    _ground_truth,
    _parse_index,
    imagenet_classes,
    read_split,
)
from imagesets.imaging import backends, decode, probe
from imagesets.packed import PackedImages
from imagesets.testing import MemoryWriter
from imagesets.testing.imagenet import (
    FakeIlsvrc,
    image_bytes,
    tar_bytes,
    write_fake_devkit,
    write_fake_ilsvrc,
)
from imagesets.testing.images import photo

SRC_DATA = Path(__file__).resolve().parents[1] / "src" / "imagesets" / "data"
REAL_INDEX = Path(__file__).resolve().parents[2] / "shared/real-data/imagenet"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> FakeIlsvrc:
    return write_fake_ilsvrc(tmp_path_factory.mktemp("ilsvrc"), truncated=True)


def _files(fake: FakeIlsvrc, split: str) -> dict[str, Path]:
    return (
        {"archive": fake.train}
        if split == "train"
        else {"archive": fake.val, "devkit": fake.devkit}
    )


def _request(
    files: Mapping[str, Path], split: str, count: int | None, **options: Any
) -> tuple[ReadRequest, list[int]]:
    done: list[int] = []
    opts = {"workers": 2, **options}
    return ReadRequest("imagenet", split, files, opts, count, done.append), done


def _expected(fake: FakeIlsvrc, split: str) -> tuple[tuple[str, ...], np.ndarray[Any, Any]]:
    if split == "train":
        return fake.train_names, fake.train_labels
    return fake.val_names, fake.val_labels


# --- class index -------------------------------------------------------------------------------


def test_class_index_facts() -> None:
    wnids, names = imagenet_classes()
    assert len(wnids) == len(names) == 1000
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000
    assert (wnids[0], names[0]) == ("n01440764", "tench")
    assert (wnids[999], names[999]) == ("n15075141", "toilet_tissue")
    assert (wnids[65], names[65]) == ("n01751748", "sea_snake")
    assert names.count("crane") == 2  # keras's names repeat: the wnid is the identity
    wnids.clear()  # callers get copies
    assert len(imagenet_classes()[0]) == 1000


def test_packaged_index_is_the_keras_file_and_matches_loc_mapping() -> None:
    packaged = (SRC_DATA / "imagenet_class_index.json").read_bytes()
    if REAL_INDEX.is_dir():
        assert packaged == (REAL_INDEX / "imagenet_class_index.json").read_bytes()
        loc = (REAL_INDEX / "LOC_synset_mapping.txt").read_text().splitlines()
        assert [line.split()[0] for line in loc] == imagenet_classes()[0]
    assert json.loads(packaged)["999"] == ["n15075141", "toilet_tissue"]


def _index(wnids: list[str]) -> dict[str, list[str]]:
    return {str(i): [w, f"name{i}"] for i, w in enumerate(wnids)}


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ([], "keys"),
        ({"0": ["n01440764", "tench"]}, "1 keys"),
        ({**_index([f"n{i:08d}" for i in range(1000)]), "5": ["n1", "x"]}, "pairs"),
        (_index([f"n{i:08d}" for i in reversed(range(1000))]), "increasing"),
    ],
)
def test_malformed_class_index_is_refused(raw: object, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        _parse_index(raw, "index.json")


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "val"])
def test_fixed_size_round_trip(fake: FakeIlsvrc, split: str) -> None:
    names, labels = _expected(fake, split)
    request, done = _request(_files(fake, split), split, len(names), size=16)
    out = MemoryWriter()
    facts = read_split(request, out)
    images = out.arrays["images"]
    assert images.shape == (len(names), 16, 16, 3) and images.dtype == np.uint8
    assert out.arrays["labels"].dtype == np.int64
    assert out.arrays["labels"].tolist() == labels.tolist()
    for row, name in enumerate(names):
        np.testing.assert_array_equal(images[row], decode(fake.files[name], size=16))
    assert facts.skipped == tuple(Skip(p, r) for p, r in fake.skipped.items()
                                  if (p.startswith("n")) == (split == "train"))  # fmt: skip
    assert facts.count == len(names) == sum(done) - len(facts.skipped)
    assert facts.classes == tuple(imagenet_classes()[1])
    assert facts.label_names["wnids"] == tuple(imagenet_classes()[0])
    manifest = facts.manifest()
    assert manifest["wnids"] == imagenet_classes()[0] and manifest["count"] == len(names)


@pytest.mark.parametrize("split", ["train", "val"])
def test_packed_round_trip_keeps_original_bytes(fake: FakeIlsvrc, split: str) -> None:
    names, labels = _expected(fake, split)
    request, done = _request(_files(fake, split), split, len(names))
    out = MemoryWriter()
    facts = read_split(request, out)
    data = out.blobs["data"].getvalue()
    images = PackedImages(data, out.arrays["offsets"])
    assert [images.raw(i) for i in range(len(images))] == [fake.files[n] for n in names]
    assert out.arrays["labels"].tolist() == labels.tolist()
    assert out.arrays["shapes"].tolist() == [[20, 28]] * len(names)
    assert facts.extras == {"max_side": None, "bytes": len(data), "imaging": backends()}
    assert [s.reason for s in facts.skipped or ()] == ["truncated"]
    assert sum(done) == len(names) + 1


def test_packed_reencodes_cmyk_and_png_at_max_side(fake: FakeIlsvrc) -> None:
    request, _ = _request(_files(fake, "train"), "train", None, max_side=14)
    out = MemoryWriter()
    read_split(request, out)
    images = PackedImages(out.blobs["data"].getvalue(), out.arrays["offsets"])
    assert out.arrays["shapes"].tolist() == [[10, 14]] * len(images)
    assert {probe(images.raw(i))[0] for i in range(len(images))} == {"JPEG"}
    assert {probe(images.raw(i))[3] for i in range(len(images))} == {"RGB"}


def test_cmyk_and_png_named_jpeg_are_decoded_not_skipped(fake: FakeIlsvrc) -> None:
    first, second = fake.train_names[:2]
    assert probe(fake.files[first])[::3] == ("JPEG", "CMYK")
    assert probe(fake.files[second])[0] == "PNG" and second.endswith(".JPEG")
    request, _ = _request(_files(fake, "train"), "train", len(fake.train_names), size=20)
    out = MemoryWriter()
    read_split(request, out)
    for row in (0, 1):  # the first tar's first pictures, seeds 0 and 1 (seed 0 of the fake)
        picture = decode(image_bytes(row, "png"), size=20).astype(int)
        assert np.abs(out.arrays["images"][row].astype(int) - picture).mean() < 8
    assert photo(20, 28, 0).std() > 10  # the comparison above is not between flat images


def test_val_labels_go_through_meta_not_id_order(fake: FakeIlsvrc) -> None:
    wnids = imagenet_classes()[0]
    ids = [fake.meta_ids[wnids[label]] for label in fake.val_labels]
    assert ids != [label + 1 for label in fake.val_labels]  # the shuffled meta order
    request, _ = _request(_files(fake, "val"), "val", len(fake.val_names), size=8)
    out = MemoryWriter()
    read_split(request, out)
    assert out.arrays["labels"].tolist() == fake.val_labels.tolist()


def test_first_real_val_image_maps_id_490_to_sea_snake(tmp_path: Path) -> None:
    wnids = imagenet_classes()[0]
    order = [w for w in wnids if w != "n01751748"]
    order.insert(489, "n01751748")  # ILSVRC2012_ID 490, as in the real meta.mat
    write_fake_devkit(tmp_path / "devkit.tar.gz", [490], order)
    members = [("ILSVRC2012_val_00000001.JPEG", image_bytes(3))]
    (tmp_path / "val.tar").write_bytes(tar_bytes(members))
    files = {"archive": tmp_path / "val.tar", "devkit": tmp_path / "devkit.tar.gz"}
    out = MemoryWriter()
    read_split(_request(files, "val", 1, size=8)[0], out)
    assert out.arrays["labels"].tolist() == [65]


@pytest.mark.skipif(not (REAL_INDEX / "test-samples").is_dir(), reason="no real ImageNet files")
def test_real_imagenet_jpegs_in_a_class_tar(tmp_path: Path) -> None:
    real = sorted((REAL_INDEX / "test-samples").glob("*.JPEG"))
    inner = [(f"n01440764_{i}.JPEG", p.read_bytes()) for i, p in enumerate(real)]
    files = _train_tar(tmp_path / "train.tar", [("n01440764.tar", inner)])
    out = MemoryWriter()
    read_split(_request(files, "train", len(real), size=32)[0], out)
    for row, (_, data) in enumerate(inner):
        np.testing.assert_array_equal(out.arrays["images"][row], decode(data, size=32))
    packed = MemoryWriter()
    read_split(_request(files, "train", len(real), max_side=64)[0], packed)
    assert packed.arrays["shapes"].max() == 64 and len(packed.arrays["labels"]) == len(real)


def test_truncated_jpeg_is_skipped_with_its_reason(fake: FakeIlsvrc) -> None:
    bad = next(p for p in fake.skipped if p.startswith("n"))
    request, _ = _request(_files(fake, "train"), "train", len(fake.train_names), size=8)
    facts = read_split(request, MemoryWriter())
    assert facts.skipped == (Skip(bad, "truncated"),)


# --- counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [-1, 1])
@pytest.mark.parametrize("options", [{"size": 8}, {}, {"max_side": 16}])
def test_wrong_count_is_a_format_error(
    fake: FakeIlsvrc, delta: int, options: dict[str, Any]
) -> None:
    count = len(fake.train_names) + delta
    request, _ = _request(_files(fake, "train"), "train", count, **options)
    found = f"more than {count}" if delta < 0 else f"only {count - 1}"
    tail = r" \(0 undecodable\)" if delta < 0 else r" \(1 undecodable: n01440764/.*\(truncated\)\)"
    with pytest.raises(
        FormatError, match=rf"found {found} decodable images, expected {count}{tail}"
    ):
        read_split(request, MemoryWriter())


def test_fixed_size_needs_a_count_and_one_size(fake: FakeIlsvrc) -> None:
    with pytest.raises(CatalogError, match="count"):
        read_split(_request(_files(fake, "train"), "train", None, size=8)[0], MemoryWriter())
    with pytest.raises(CatalogError, match="'max_side' must be absent when 'size' is given"):
        request = _request(_files(fake, "train"), "train", 3, size=8, max_side=8)[0]
        read_split(request, MemoryWriter())
    with pytest.raises(CatalogError, match="'workers'"):
        read_split(
            _request(_files(fake, "train"), "train", 3, size=8, workers=0)[0], MemoryWriter()
        )


def test_test_split_is_refused(fake: FakeIlsvrc) -> None:
    with pytest.raises(CatalogError, match="'test'"):
        read_split(_request(_files(fake, "val"), "test", None)[0], MemoryWriter())


# --- malformed train archives ------------------------------------------------------------------


def _train_tar(path: Path, outer: list[tuple[str, list[tuple[str, bytes]]]]) -> dict[str, Path]:
    path.write_bytes(tar_bytes((name, tar_bytes(inner)) for name, inner in outer))
    return {"archive": path}


GOOD = ("n01440764_1.JPEG", image_bytes(0))
TENCH = "n01440764.tar"
UNSAFE = UnsafeArchiveError


@pytest.mark.parametrize(
    ("outer", "error", "match"),
    [
        ([(TENCH, [GOOD, ("../n01440764_2.JPEG", image_bytes(1))])], UNSAFE, r"'\.\.'"),
        ([(TENCH, [("/etc/n01440764_2.JPEG", image_bytes(1))])], UNSAFE, "absolute"),
        ([("../n01440764.tar", [GOOD])], UNSAFE, r"'\.\.'"),
        ([("n99999999.tar", [GOOD])], FormatError, "n99999999, which is not one of the 1000"),
        ([("README.txt", [GOOD])], FormatError, "not a class tar"),
        ([(TENCH, [GOOD]), (TENCH, [GOOD])], FormatError, "twice"),
        ([(TENCH, [("n01443537_1.JPEG", image_bytes(1))])], FormatError, "not an image of this"),
        ([(TENCH, [("sub/n01440764_1.JPEG", image_bytes(1))])], FormatError, "not an image of"),
    ],
)  # fmt: skip
def test_malformed_train_archive_is_refused(
    tmp_path: Path, outer: list[tuple[str, list[tuple[str, bytes]]]], error: type, match: str
) -> None:
    files = _train_tar(tmp_path / "train.tar", outer)
    for options in ({"size": 8}, {}):
        with pytest.raises(error, match=match):
            read_split(_request(files, "train", 2, **options)[0], MemoryWriter())


def test_link_in_a_class_tar_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner.tar"
    with tarfile.open(inner, "w") as tf:
        link = tarfile.TarInfo("n01440764_1.JPEG")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    (tmp_path / "train.tar").write_bytes(tar_bytes([("n01440764.tar", inner.read_bytes())]))
    request = _request({"archive": tmp_path / "train.tar"}, "train", 1, size=8)[0]
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        read_split(request, MemoryWriter())


# --- malformed val archives and devkits --------------------------------------------------------


def _val(
    tmp_path: Path, names: list[str], truth: list[int], meta: list[str] | None = None
) -> dict[str, Path]:
    (tmp_path / "val.tar").write_bytes(tar_bytes((n, image_bytes(i)) for i, n in enumerate(names)))
    write_fake_devkit(tmp_path / "devkit.tar.gz", truth, meta)
    return {"archive": tmp_path / "val.tar", "devkit": tmp_path / "devkit.tar.gz"}


V1, V2 = "ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"
WNIDS = imagenet_classes()[0]


@pytest.mark.parametrize(
    ("names", "truth", "meta", "match"),
    [
        ([V1], [1, 2], None, "1 of the 2 images of the ground truth are missing.*00000002"),
        ([V1, V2, "ILSVRC2012_val_00000003.JPEG"], [1, 2], None, "not a validation image"),
        ([V1, "val/" + V2], [1, 2], None, "not a validation image"),
        ([V1, V1], [1, 1], None, "twice"),
        ([V1], [1001], None, "line 1 is '1001'.*leaf synset"),
        ([V1], [0], None, "line 1 is '0'"),
        ([V1], [], None, "no lines"),
        ([V1], [1], WNIDS[:999], "1000 leaf synsets.*found 999"),
        ([V1], [1], [*WNIDS[:999], "n99999999"], r"unknown wnids \['n99999999'\]"),
        ([V1], [1], [*WNIDS[:999], WNIDS[0]], "a wnid on two leaves"),
    ],
)  # fmt: skip
def test_malformed_val_files_are_refused(
    tmp_path: Path, names: list[str], truth: list[int], meta: list[str] | None, match: str
) -> None:
    files = _val(tmp_path, names, truth, meta)
    with pytest.raises(FormatError, match=match):
        read_split(_request(files, "val", None)[0], MemoryWriter())


@pytest.mark.parametrize("line", ["\u00b2", "+5", "5 5", "0x10", "1e2"])
def test_ground_truth_lines_must_be_plain_ids(line: str) -> None:
    data = f"7\n{line}\n".encode("latin-1")
    with pytest.raises(FormatError, match=r"gt\.txt: line 2 is"):
        _ground_truth(data, "gt.txt")
    assert _ground_truth(b"7\r\n 12 \n1000", "gt.txt").tolist() == [7, 12, 1000]


def test_devkit_without_ground_truth_is_refused(tmp_path: Path) -> None:
    devkit = tmp_path / "devkit.tar.gz"
    with tarfile.open(devkit, "w:gz") as tf:
        tf.addfile(tarfile.TarInfo("ILSVRC2012_devkit_t12/data/meta.mat"))
    files = {"archive": tmp_path / "val.tar", "devkit": devkit}
    with pytest.raises(FormatError, match=r"no member.*ground_truth\.txt"):
        read_split(_request(files, "val", 1, size=8)[0], MemoryWriter())


def test_corrupt_meta_mat_names_the_devkit_member(tmp_path: Path) -> None:
    devkit = tmp_path / "devkit.tar.gz"
    write_fake_devkit(devkit, [1])
    with tarfile.open(devkit) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]
    members["ILSVRC2012_devkit_t12/data/meta.mat"] = b"MATLAB 5.0 not really"
    (tmp_path / "devkit.tar").write_bytes(tar_bytes(members.items()))
    files = {"archive": tmp_path / "val.tar", "devkit": tmp_path / "devkit.tar"}
    with pytest.raises(FormatError, match=r"devkit\.tar!ILSVRC2012_devkit_t12/data/meta\.mat"):
        read_split(_request(files, "val", 1, size=8)[0], MemoryWriter())
