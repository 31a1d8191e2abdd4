"""Food-101 (issue 13): 101 classes, train/test from meta/train.txt and meta/test.txt of the
one archive, undecodable images skipped, a bad list or archive refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError
from imagesets.formats import ReadRequest, get_reader
from imagesets.formats.food101 import parse_list
from imagesets.testing import MemoryWriter
from imagesets.testing.archives import write_tgz
from imagesets.testing.entries import retarget
from imagesets.testing.food101 import FakeFood101, write_fake_food101
from imagesets.testing.server import LoopbackServer

ENTRY = catalog.builtin_entry("food101")
CLASSES = tuple(ENTRY["editions"][0]["options"]["classes"])
INDEX = {c: i for i, c in enumerate(CLASSES)}


def _fake(tmp_path: Path, counts: dict[str, int], seed: int = 0) -> tuple[Path, FakeFood101]:
    path = tmp_path / "food-101.tar.gz"
    return path, write_fake_food101(path, counts, CLASSES, seed)


def _read(path: Path, split: str, **options: Any) -> tuple[Any, Any]:
    out = MemoryWriter()
    request = ReadRequest("food101", split, {"archive": path}, {"classes": CLASSES, **options})
    return out, get_reader("food101")(request, out)


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]


_tgz = write_tgz


def test_entry_has_101_sorted_classes_and_the_published_counts() -> None:
    spec = catalog.get("food-101")
    assert spec.name == "food101" and spec.classes == CLASSES and len(CLASSES) == 101
    assert list(CLASSES) == sorted(CLASSES)  # torchvision's numbering: sorted folder names
    assert CLASSES.index("cheese_plate") == 16 and CLASSES.index("cheesecake") == 17
    assert {s: spec.split(s).count for s in ("train", "test")} == {"train": 75750,
                                                                   "test": 25250}  # fmt: skip


def test_labels_follow_the_lists_whatever_the_archive_order(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path, {"train": 30, "test": 9})
    for split in ("train", "test"):
        out, result = _read(path, split)
        assert out.arrays["labels"].tolist() == fake.labels[split]
        assert result.count == len(fake.names[split]) and result.classes == CLASSES
    assert len(set(fake.labels["train"])) == 30  # 30 different classes, labels past 0..9


def test_fixed_size_arrays(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path, {"train": 4, "test": 3}, seed=2)
    out, _ = _read(path, "test", size=16)
    assert out.arrays["images"].shape == (3, 16, 16, 3)
    assert out.arrays["labels"].tolist() == fake.labels["test"]


def test_an_undecodable_image_is_skipped_and_the_rest_stay_aligned(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path, {"train": 6, "test": 2})
    members = _members(path)
    bad = fake.names["train"][3]
    members[f"food-101/images/{bad}"] = b"\xff\xd8 not really a jpeg"
    _tgz(path, members)
    out, result = _read(path, "train")
    assert [s.path for s in result.skipped] == [bad]
    keep = [i for i, n in enumerate(fake.names["train"]) if n != bad]
    assert out.arrays["labels"].tolist() == [fake.labels["train"][i] for i in keep]


def test_load_through_the_catalog(tmp_path: Path, server: LoopbackServer) -> None:
    entry = retarget(ENTRY, tmp_path / "f", server.url("/fake/"), counts={"test": 5})
    for f in entry["editions"][0]["files"]:
        server.add(f"/fake/{f['name']}", (tmp_path / "f" / f["name"]).read_bytes())
    spec = catalog.register(entry)
    try:
        split = imagesets.load(spec.name, ["test"], progress=False)["test"]
        assert len(split) == 5 and split.packed and split.classes == CLASSES
    finally:
        catalog.unregister(spec.name)


def test_listed_images_missing_or_stored_twice_fail(tmp_path: Path) -> None:
    path, fake = _fake(tmp_path, {"train": 4, "test": 3})
    members = _members(path)
    gone = fake.names["test"][1]
    del members[f"food-101/images/{gone}"]
    _tgz(path, members)
    with pytest.raises(FormatError, match=f"1 listed image.*missing.*{gone}"):
        _read(path, "test")
    again = fake.names["train"][0]
    data = _members(path)[f"food-101/images/{again}"]
    with tarfile.open(tmp_path / "d.tar", "w") as tf:
        for name, raw in [*_members(path).items(), (f"food-101/images/{again}", data)]:
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
    with pytest.raises(FormatError, match="stored twice"):
        _read(tmp_path / "d.tar", "train")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("pizza", "expected <class>/<image id>"),
        ("pizza/", "expected <class>/<image id>"),
        ("pizza/1/2", "expected <class>/<image id>"),
        ("Pizza/1", "class 'Pizza' is not one of the 101 classes"),
        ("pizza/1", "image 'pizza/1' is listed twice"),
    ],
)
def test_bad_list_lines_are_refused(line: str, match: str) -> None:
    with pytest.raises(FormatError, match=f"t.txt line 2: .*{match}"):
        parse_list(f"pizza/1\n{line}\n".encode(), INDEX, "t.txt")


def test_list_parsing() -> None:
    assert parse_list(b"apple_pie/1005649\n\nwaffles/99\n", INDEX, "t") == {
        "apple_pie/1005649": 0,
        "waffles/99": 100,
    }
    with pytest.raises(FormatError, match="not ASCII"):
        parse_list("pizza/1\u00e9\n".encode(), INDEX, "t.txt")
    with pytest.raises(FormatError, match="no entries"):
        parse_list(b"\n\n", INDEX, "t.txt")


def test_missing_list_oversized_list_unsafe_member_and_bad_options(tmp_path: Path) -> None:
    path, _ = _fake(tmp_path, {"train": 2, "test": 2})
    empty = _tgz(tmp_path / "a.tar.gz", {"food-101/images/pizza/1.jpg": b"x"})
    with pytest.raises(FormatError, match=r"no member food-101/meta/test\.txt"):
        _read(empty, "test")
    big = _tgz(tmp_path / "b.tar.gz", {"food-101/meta/test.txt": b"\n" * ((4 << 20) + 1)})
    with pytest.raises(FormatError, match=r"bytes, expected at most \d+; is this the"):
        _read(big, "test")
    evil = _tgz(tmp_path / "c.tar.gz", {"../food-101/meta/test.txt": b"pizza/1\n"})
    with pytest.raises(UnsafeArchiveError):
        _read(evil, "test")
    with pytest.raises(CatalogError, match="option 'classes'"):
        _read(path, "test", classes=["a", "a"])
    with pytest.raises(CatalogError, match="option 'classes'"):
        _read(path, "test", classes=["a/b"])
    with pytest.raises(CatalogError, match="not 'val'"):
        _read(path, "val")
