"""Class-per-folder trees: scanning and the image-folder reader (fixed-size and packed)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, Skip, image_sink
from imagesets.formats.image_tree import read_split, scan_split, scan_tree
from imagesets.imaging import decode, probe
from imagesets.packed import PackedImages
from imagesets.testing import MemoryWriter
from imagesets.testing.images import KINDS, make_fake_tree, write_jpeg

BROKEN = ["jpeg", "truncated_jpeg", "zero_bytes", "not_image", "gray_jpeg", "png_as_jpg"]
NESTED = {"animals/domestic/cat": BROKEN, "animals/domestic/dog": 2, "animals/wild/fox": 1}


def _request(root: Path, **options: Any) -> tuple[ReadRequest, list[int]]:
    done: list[int] = []
    request = ReadRequest("tree", "train", {"root": root}, options, progress=done.append)
    return request, done


def test_course_example_label_paths_and_depth(tmp_path: Path) -> None:
    (tmp_path / "animals/domestic/cat").mkdir(parents=True)
    write_jpeg(tmp_path / "animals/domestic/cat/cat1.jpg", 8, 8, 0)
    (tmp_path / "plants").mkdir()
    write_jpeg(tmp_path / "plants/rose.jpg", 8, 8, 1)
    scan = scan_split(tmp_path)
    assert scan.files == ("animals/domestic/cat/cat1.jpg", "plants/rose.jpg")
    assert scan.label_paths == ("animals/domestic/cat", "plants")
    assert scan_split(tmp_path, label_depth=1).label_paths == ("animals", "plants")
    assert scan_split(tmp_path, label_depth=2).label_paths == ("animals/domestic", "plants")


def test_nested_tree_classes_sorted_and_labels(tmp_path: Path) -> None:
    tree = make_fake_tree(tmp_path, {"b/y": 2, "a/z": 1, "a/x/deep": 1, "c": 1})
    scan = scan_tree(tmp_path)
    assert list(scan.splits) == ["all"]
    split = scan.splits["all"]
    assert split.classes == ("a/x/deep", "a/z", "b/y", "c") == tuple(tree.classes)
    assert list(split.files) == sorted(tree.files, key=lambda p: p.split("/"))
    assert split.labels().tolist() == [0, 1, 2, 2, 3]


def test_ignored_files_are_counted_per_reason(tmp_path: Path) -> None:
    tree = make_fake_tree(tmp_path, {"a/x": 1, "a/y": 1, "b": 1})
    (tmp_path / "loose.jpg").write_bytes(b"")  # at the split root
    (tmp_path / "a" / "between.jpg").write_bytes(b"")  # in a folder with subfolders
    scan = scan_split(tmp_path)
    assert dict(scan.ignored) == {**tree.ignored, "outside_class_folder": 2}
    assert tree.ignored == {"hidden": 9, "system": 6, "not_image": 6}
    assert len(scan.files) == 3


def test_label_depth_admits_files_of_shallower_folders(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"animals/cat": 1, "animals/dog": 1}, extras=False)
    write_jpeg(tmp_path / "animals" / "pet.jpg", 8, 8, 3)
    assert scan_split(tmp_path).ignored["outside_class_folder"] == 1
    by_top = scan_split(tmp_path, label_depth=1)
    assert by_top.classes == ("animals",) and len(by_top.files) == 3


def test_train_test_roots_become_splits_with_one_class_index(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"train/cat": 2, "train/dog": 1, "test/dog": 1, "val/eel": 1})
    (tmp_path / "README.md").write_text("about")
    scan = scan_tree(tmp_path)
    assert sorted(scan.splits) == ["test", "train", "val"]
    assert scan.classes == ("cat", "dog", "eel")
    assert scan.splits["test"].labels(scan.classes).tolist() == [1]
    assert scan.splits["val"].labels(scan.classes).tolist() == [2]
    assert scan.ignored["outside_class_folder"] == 1
    with pytest.raises(FormatError, match="not among the 2 classes"):
        scan.splits["val"].labels(["cat", "dog"])


def test_a_class_named_like_a_split_does_not_make_splits(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"train": 1, "zebra": 1}, extras=False)
    scan = scan_tree(tmp_path)
    assert list(scan.splits) == ["all"] and scan.classes == ("train", "zebra")


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="expected a folder"):
        scan_split(tmp_path / "nope")
    with pytest.raises(FormatError, match="expected a folder"):
        scan_tree(tmp_path / "nope")


@pytest.mark.parametrize("workers", [1, 3])
def test_fixed_size_reader_round_trip(tmp_path: Path, workers: int) -> None:
    tree = make_fake_tree(tmp_path, NESTED, h=40, w=56)
    request, done = _request(tmp_path, size=32, workers=workers)
    out = MemoryWriter()
    facts = read_split(request, out)
    kept = [p for p in sorted(tree.files, key=lambda p: p.split("/")) if p not in tree.skipped]
    assert facts.classes == tuple(tree.classes)
    assert facts.count == len(kept) == 6
    assert {s.path: s.reason for s in facts.skipped or ()} == tree.skipped
    assert set(tree.skipped.values()) == {"truncated", "zero bytes", "not an image"}
    assert facts.extras["ignored"] == {**tree.ignored, "outside_class_folder": 0}
    assert facts.extras["listing"]["files"] == 9 and "listing" in out.blobs
    images, labels = out.arrays["images"], out.arrays["labels"]
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels.tolist() == [tree.classes.index(p.rpartition("/")[0]) for p in kept]
    for row, rel in enumerate(kept):
        np.testing.assert_array_equal(images[row], decode((tmp_path / rel).read_bytes(), size=32))
    assert sum(done) == len(tree.files)


def test_fixed_size_reader_chunks_and_workers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fake_tree(tmp_path, {"a": 7, "b": ["jpeg", "zero_bytes", "jpeg"]}, extras=False)
    monkeypatch.setattr(image_sink, "CHUNK", 3)
    results = []
    for workers in (1, 2):
        out = MemoryWriter()
        request, done = _request(tmp_path, size=16, workers=workers)
        read_split(request, out)
        results.append(out.arrays["images"])
        assert done == [1, 3, 3, 3]  # the skipped file, then one call per chunk
    np.testing.assert_array_equal(results[0], results[1])
    assert results[0].shape == (9, 16, 16, 3) and results[0][-1].any()


def test_label_depth_and_given_classes_options(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"animals/cat": 1, "plants/rose": 1}, extras=False)
    out = MemoryWriter()
    facts = read_split(_request(tmp_path, size=8, label_depth=1)[0], out)
    assert facts.classes == ("animals", "plants")
    out = MemoryWriter()
    classes = ["animals/cat", "fungi/x", "plants/rose"]
    facts = read_split(_request(tmp_path, size=8, classes=classes)[0], out)
    assert facts.classes == tuple(classes) and out.arrays["labels"].tolist() == [0, 2]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"size": 0}, "positive integer"),
        ({"size": True}, "positive integer"),
        ({"size": 8, "workers": -1}, "positive integer"),
        ({"max_side": 0}, "positive integer"),
        ({"size": 8, "max_side": 64}, "'max_side' must be absent when 'size' is given"),
    ],
)
def test_bad_options_are_catalog_errors(
    tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    make_fake_tree(tmp_path, {"a": 1}, extras=False)
    with pytest.raises(CatalogError, match=match):
        read_split(_request(tmp_path, **options)[0], MemoryWriter())


def test_file_failing_only_in_the_main_pass_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fake_tree(tmp_path, {"a": 2}, extras=False)

    def broken(data: bytes, **kw: Any) -> np.ndarray:
        raise image_sink.UndecodableImageError("truncated", str(kw.get("source")))

    monkeypatch.setattr(image_sink, "decode", broken)
    with pytest.raises(FormatError, match="passed the check pass"):
        read_split(_request(tmp_path, size=8)[0], MemoryWriter())


def test_packed_reader_keeps_original_bytes(tmp_path: Path) -> None:
    tree = make_fake_tree(tmp_path, NESTED, h=40, w=56)
    out = MemoryWriter()
    request, done = _request(tmp_path, workers=2)
    facts = read_split(request, out)
    kept = [p for p in sorted(tree.files, key=lambda p: p.split("/")) if p not in tree.skipped]
    assert {s.path: s.reason for s in facts.skipped or ()} == tree.skipped
    assert facts.extras["max_side"] is None and facts.count == len(kept)
    packed = PackedImages(out.blobs["data"].getvalue(), out.arrays["offsets"])
    assert len(packed) == len(kept) and facts.extras["bytes"] == out.arrays["offsets"][-1]
    for i, rel in enumerate(kept):
        assert packed.raw(i) == (tmp_path / rel).read_bytes()
    assert out.arrays["shapes"].tolist() == [[40, 56]] * len(kept)
    assert out.arrays["labels"].tolist() == [tree.classes.index(p.rpartition("/")[0]) for p in kept]
    assert sum(done) == len(tree.files)


def test_packed_reader_reencodes_at_max_side(tmp_path: Path) -> None:
    tree = make_fake_tree(tmp_path, {"a": ["jpeg", "cmyk_jpeg", "alpha_png"], "b": 1}, h=90, w=120)
    (tmp_path / "b" / "small.jpg").write_bytes(
        write_jpeg(tmp_path / "s.jpg", 20, 30, 1).read_bytes()
    )
    (tmp_path / "s.jpg").unlink()
    out = MemoryWriter()
    facts = read_split(_request(tmp_path, max_side=64)[0], out)
    assert facts.skipped == () and facts.count == len(tree.files) + 1
    packed = PackedImages(out.blobs["data"].getvalue(), out.arrays["offsets"])
    shapes = out.arrays["shapes"].tolist()
    for i in range(len(packed)):
        fmt, width, height, _ = probe(packed.raw(i))
        assert fmt == "JPEG" and [height, width] == shapes[i] and max(height, width) <= 64
    assert shapes == [[48, 64]] * 4 + [[20, 30]]
    assert packed.raw(4) == (tmp_path / "b" / "small.jpg").read_bytes()  # small JPEG kept


def test_packed_reader_with_no_good_files(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"a": ["zero_bytes"]}, extras=False)
    out = MemoryWriter()
    facts = read_split(_request(tmp_path, max_side=64)[0], out)
    assert facts.count == 0 and out.arrays["offsets"].tolist() == [0]
    assert out.arrays["shapes"].shape == (0, 2)
    assert isinstance(out.blobs["data"], io.BytesIO) and out.blobs["data"].getvalue() == b""


def test_every_fake_kind_has_the_expected_outcome(tmp_path: Path) -> None:
    tree = make_fake_tree(tmp_path, {"k": list(KINDS)}, extras=False)
    facts = read_split(_request(tmp_path, size=8)[0], MemoryWriter())
    assert facts.count == sum(1 for k in KINDS.values() if k.reason is None)
    assert {s.path: s.reason for s in facts.skipped or ()} == tree.skipped


# --- special files and symlinks (issue 9) ------------------------------------------------------


def _tree_with_specials(root: Path) -> Path:
    import os

    from imagesets.testing.images import write_jpeg

    (root / "cat").mkdir(parents=True)
    write_jpeg(root / "cat" / "a.jpg", 20, 20, 1)
    os.mkfifo(root / "cat" / "x.jpg")
    (root / "cat" / "zero.jpg").symlink_to("/dev/zero")
    elsewhere = root.parent / "dogs-elsewhere"
    elsewhere.mkdir()
    write_jpeg(elsewhere / "d.jpg", 20, 20, 2)
    (root / "dog").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(elsewhere, target_is_directory=True)
    return root


@pytest.mark.parametrize("fmt", ["image-tree", "image-tree-packed", "image-folder"])
def test_fifo_dev_zero_and_symlinked_class_folder(tmp_path: Path, fmt: str) -> None:
    """A FIFO and a link to /dev/zero are skipped with reasons (never read: no hang, no memory
    bomb); a symlinked class folder is followed, a symlink loop reported, not walked."""
    from imagesets.formats import get_reader
    from imagesets.testing.limits import memory_cap

    root = _tree_with_specials(tmp_path / "tree")
    options = {"size": 8, "workers": 2} if fmt != "image-tree-packed" else {"workers": 2}
    out = MemoryWriter()
    with memory_cap(1 << 30):
        facts = get_reader(fmt)(ReadRequest("t", "all", {"root": root}, options), out)
    reasons = {s.path: s.reason for s in facts.skipped or ()}
    assert reasons["cat/x.jpg"] == "not a regular file: FIFO"
    assert reasons["cat/zero.jpg"].startswith("not a regular file")
    assert reasons["dog/loop"].startswith("symlink loop")
    assert facts.classes == ("cat", "dog") and facts.count == 2
    assert Skip("cat/x.jpg", "not a regular file: FIFO") in (facts.skipped or ())
    assert {"path": "cat/x.jpg", "reason": reasons["cat/x.jpg"]} in facts.manifest()["skipped"]
    assert out.arrays["labels"].tolist() == [0, 1]
