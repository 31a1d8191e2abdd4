"""Tiny ImageNet (issue 13): labels index the sorted wnids, val labels come from
val_annotations.txt, class names from words.txt, grayscale JPEGs are served as RGB, test is
unlabeled and fetched on request; every inconsistency of the zip names its member."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, get_reader
from imagesets.formats import tiny_imagenet as reader
from imagesets.testing import MemoryWriter
from imagesets.testing.entries import retarget
from imagesets.testing.server import LoopbackServer
from imagesets.testing.tiny_imagenet import FakeTinyImagenet, write_fake_tiny_imagenet

ENTRY = catalog.builtin_entry("tiny-imagenet")
WNIDS = ENTRY["editions"][0]["options"]["wnids"]
CLASSES = ENTRY["classes"]
R = "tiny-imagenet-200"
COUNTS = {"train": 12, "val": 7, "test": 4}


def _read(path: Path, split: str, wnids: list[str] = WNIDS) -> tuple[MemoryWriter, Any]:
    out = MemoryWriter()
    request = ReadRequest("tiny-imagenet", split, {"archive": path}, {"wnids": wnids,
                                                                     "workers": 1})  # fmt: skip
    return out, get_reader("tiny-imagenet")(request, out)


def _fake(tmp_path: Path, names: list[str] = CLASSES) -> tuple[Path, FakeTinyImagenet]:
    path = tmp_path / "tiny-imagenet-200.zip"
    return path, write_fake_tiny_imagenet(path, COUNTS, WNIDS, names, 0)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _rezip(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> None:
    items = list(members.items()) if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on a duplicate name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in items:
                zf.writestr(name, data)


def _edit(path: Path, name: str, edit: Any) -> None:
    members = _members(path)
    members[f"{R}/{name}"] = edit(members[f"{R}/{name}"].decode()).encode()
    _rezip(path, members)


def test_the_entry() -> None:
    spec = catalog.get("tiny_imagenet")
    assert spec.name == "tiny-imagenet" and catalog.get("tinyimagenet").name == "tiny-imagenet"
    assert [(s.name, s.count, s.optional) for s in spec.splits] == [
        ("train", 100_000, False), ("val", 10_000, False), ("test", 10_000, True)]  # fmt: skip
    f = spec.editions[0].files[0]
    assert (f.size, f.md5, f.sha256) == (248_100_043, "90528d7ca1a48142e341f4ef8d21d0de", None)
    assert len(spec.classes) == 200 and spec.image_shape == (64, 64, 3)
    assert list(spec.label_names["wnids"]) == sorted(WNIDS) == WNIDS and len(set(WNIDS)) == 200


def test_train_labels_index_the_sorted_wnids_not_the_file_order(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path)
    listed = _members(path)[f"{R}/wnids.txt"].decode().split()
    assert sorted(listed) == WNIDS and listed != WNIDS  # the fake's wnids.txt is not sorted
    out, result = _read(path, "train")
    assert out.arrays["images"].shape == (12, 64, 64, 3) and out.arrays["images"].dtype == np.uint8
    assert out.arrays["labels"].tolist() == fake.labels["train"] == list(range(12))
    assert result.label_names == {"wnids": tuple(WNIDS)} and result.extras["labeled"] is True
    assert "members" not in result.extras and result.count == 12


def test_class_names_are_the_first_names_of_words_txt(tmp_path: Path) -> None:
    names = [f"thing {k}" for k in range(200)]
    path, _ = _fake(tmp_path, names)
    assert f"{WNIDS[3]}\tthing 3, thing 3 (other name)" in _members(path)[f"{R}/words.txt"].decode()
    assert _read(path, "val")[1].classes == tuple(names)


def test_val_labels_come_from_the_annotations_in_any_order(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path)
    rows = _members(path)[f"{R}/val/val_annotations.txt"].decode().splitlines()
    assert rows[0].startswith("val_6.JPEG\t")  # rows in the reverse order of the images
    relabel = {f"val_2.JPEG\t{WNIDS[2]}": f"val_2.JPEG\t{WNIDS[150]}"}
    _edit(path, "val/val_annotations.txt", lambda t: t.replace(*relabel.popitem()))
    out, result = _read(path, "val")
    expected = [150 if i == 2 else label for i, label in enumerate(fake.labels["val"])]
    assert out.arrays["labels"].tolist() == expected
    assert result.extras["members"] == fake.names["val"] == [f"val/images/val_{i}.JPEG"
                                                             for i in range(7)]  # fmt: skip


def test_grayscale_jpegs_are_served_as_rgb(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path)
    images = _read(path, "train")[0].arrays["images"]
    gray = fake.gray["train"]
    assert gray.count(True) == 2
    for image, is_gray in zip(images, gray, strict=True):
        same = bool(
            (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
        )
        assert same == is_gray and image.std() > 0


def test_test_is_unlabeled_and_lists_its_files(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path)
    out, result = _read(path, "test")
    assert sorted(out.arrays) == ["images"] and out.arrays["images"].shape == (4, 64, 64, 3)
    assert result.extras == {"labeled": False, "members": fake.names["test"]}


def test_load_through_the_catalog_test_only_on_request(
    tmp_path: Path, server: LoopbackServer
) -> None:
    entry = retarget(ENTRY, tmp_path / "f", server.url("/fake/"), counts=COUNTS)
    for f in entry["editions"][0]["files"]:
        server.add(f"/fake/{f['name']}", (tmp_path / "f" / f["name"]).read_bytes())
    spec = catalog.register(entry)
    try:
        ds = imagesets.load(spec.name, progress=False)
        assert list(ds) == ["train", "val"] and ds["val"].classes == tuple(CLASSES)
        test = imagesets.load(spec.name, ["test"], progress=False)["test"]
        assert len(test) == 4 and "labels" not in test.arrays
        assert test.manifest["labeled"] is False and len(test.manifest["members"]) == 4
    finally:
        catalog.unregister(spec.name)


# --- failures, each naming the member ----------------------------------------------------------


def test_a_val_image_without_a_row(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "val/val_annotations.txt",
          lambda t: "\n".join(r for r in t.splitlines() if not r.startswith("val_3.")))  # fmt: skip
    with pytest.raises(FormatError, match=rf"!{R}/val/images/val_3\.JPEG: no row for val_3"):
        _read(path, "val")


def test_a_row_for_a_missing_image(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    members = _members(path)
    del members[f"{R}/val/images/val_5.JPEG"]
    _rezip(path, members)
    with pytest.raises(FormatError, match=r"val_annotations\.txt, line 2: a row for val_5\.JPEG"):
        _read(path, "val")


def test_a_row_whose_wnid_is_not_in_wnids_txt(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "val/val_annotations.txt", lambda t: t.replace(WNIDS[4], "n99999999"))
    with pytest.raises(FormatError, match=r"val_annotations\.txt, line 3: val_4\.JPEG has the "
                       r"wnid 'n99999999', which wnids\.txt does not list"):  # fmt: skip
        _read(path, "val")


@pytest.mark.parametrize("line", ["val_1.JPEG", "\tn01443537\t0\t0\t1\t1"])
def test_a_malformed_row(tmp_path: Path, line: str) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "val/val_annotations.txt", lambda t: line + "\n" + t)
    with pytest.raises(FormatError, match=r"val_annotations\.txt, line 1: expected"):
        _read(path, "val")


def test_a_row_listed_twice(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "val/val_annotations.txt", lambda t: t + t.splitlines()[0] + "\n")
    with pytest.raises(FormatError, match=r"line 8: val_6\.JPEG is listed twice"):
        _read(path, "val")


def test_a_train_folder_that_is_not_a_class(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    members = _members(path)
    stray = f"{R}/train/n99999999/images/n99999999_0.JPEG"
    members[stray] = members[f"{R}/train/{WNIDS[0]}/images/{WNIDS[0]}_0.JPEG"]
    _rezip(path, members)
    with pytest.raises(FormatError, match=rf"!{stray}: folder 'n99999999' is not one of the 200"):
        _read(path, "train")


def test_wnids_txt_must_list_the_entry_classes(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "wnids.txt", lambda t: t.replace(WNIDS[7], "n99999999"))
    with pytest.raises(FormatError, match=rf"!{R}/wnids\.txt: .*'n99999999'.*missing.*{WNIDS[7]}"):
        _read(path, "train")
    _edit(path, "wnids.txt", lambda t: t.replace("n99999999", WNIDS[7]) + WNIDS[0] + "\n")
    with pytest.raises(FormatError, match=rf"wnids\.txt, line 201: '{WNIDS[0]}' is listed twice"):
        _read(path, "train")


def test_words_txt_must_name_every_class(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    _edit(path, "words.txt",
          lambda t: "\n".join(r for r in t.splitlines() if not r.startswith(WNIDS[9])))  # fmt: skip
    with pytest.raises(FormatError, match=rf"!{R}/words\.txt: no line for the class\(es\) "
                       rf"\['{WNIDS[9]}'\]"):  # fmt: skip
        _read(path, "test")
    path, _ = _fake(tmp_path)
    _edit(path, "words.txt", lambda t: t + "no tab here\n")
    with pytest.raises(FormatError, match=r"words\.txt, line \d+: expected 'wnid<TAB>names'"):
        _read(path, "test")


def test_a_missing_text_member(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    members = _members(path)
    del members[f"{R}/val/val_annotations.txt"]
    _rezip(path, members)
    _read(path, "train")  # train does not need it
    with pytest.raises(FormatError, match=rf"no member {R}/val/val_annotations\.txt"):
        _read(path, "val")


def test_oversized_members_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _fake(tmp_path)
    members = _members(path)
    members[f"{R}/test/images/test_1.JPEG"] = bytes(reader.MAX_IMAGE_BYTES + 1)
    _rezip(path, members)
    with pytest.raises(FormatError, match=rf"!{R}/test/images/test_1\.JPEG: 1048577 bytes"):
        _read(path, "test")
    monkeypatch.setitem(reader.MAX_TEXT_BYTES, reader.WORDS, 100)
    with pytest.raises(FormatError, match=rf"!{R}/words\.txt: \d+ bytes, expected at most 100"):
        _read(path, "train")


def test_a_member_stored_twice(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    members = list(_members(path).items())
    image = next(m for m in members if m[0].endswith("test_2.JPEG"))
    _rezip(path, [*members, image])
    with pytest.raises(FormatError, match=rf"!{R}/test/images/test_2\.JPEG: the member occurs"):
        _read(path, "test")


def test_another_split_or_no_wnids_is_an_entry_error(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path)
    with pytest.raises(CatalogError, match="not 'extra'"):
        _read(path, "extra")
    with pytest.raises(CatalogError, match="option 'wnids'"):
        _read(path, "train", wnids=[])
