"""Any class-folder tree as a dataset: from_folder, prepare-folder, packed and fixed forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.errors import ArgumentError, FetchError
from imagesets.imaging import backends
from imagesets.testing.images import make_fake_tree

SPEC = {
    "train/animals/domestic/cat": ["jpeg", "jpeg", "gray_jpeg", "cmyk_jpeg"],
    "train/animals/domestic/dog": ["jpeg", "png_as_jpg", "alpha_png", "truncated_jpeg"],
    "train/animals/wild/fox": ["jpeg", "palette_png", "zero_bytes", "not_image"],
    "test/animals/domestic/cat": 2,
    "test/animals/domestic/dog": 1,
    "test/animals/wild/fox": 2,
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    make_fake_tree(tmp_path / "zoo", SPEC)
    yield tmp_path / "zoo"
    catalog.unregister("zoo")


def test_fixed_size_arrays_with_label_paths_and_skips(tree: Path) -> None:
    ds = imagesets.from_folder(tree, size=32, progress=False)
    train, test = ds["train"], ds["test"]
    assert train.classes == ("animals/domestic/cat", "animals/domestic/dog", "animals/wild/fox")
    assert test.classes == train.classes
    assert train.images.shape == (9, 32, 32, 3) and train.images.dtype == np.uint8
    assert np.bincount(train.labels, minlength=3).tolist() == [4, 3, 2]
    assert sorted(s["reason"] for s in train.skipped) == ["not an image", "truncated", "zero bytes"]
    assert len(test) == 5 and not test.skipped
    assert train.manifest["imaging"] == backends()  # which libraries decoded and resized


def test_label_depth_cuts_the_paths(tree: Path) -> None:
    ds = imagesets.from_folder(tree, size=16, label_depth=1, name="zoo", progress=False)
    assert ds["train"].classes == ("animals",) and set(ds["train"].labels.tolist()) == {0}


def test_packed_store_decodes_on_access_and_batches(tree: Path) -> None:
    ds = imagesets.from_folder(tree, progress=False)
    train = ds["train"]
    assert train.packed and len(train) == 9
    assert train.manifest["imaging"] == backends()
    image, label = train[0]
    assert image.ndim == 3 and image.shape[2] == 3 and int(label) == 0
    x, y = next(iter(train.batches(4, size=24, shuffle=False)))
    assert x.shape == (4, 24, 24, 3) and y.tolist() == train.labels[:4].tolist()
    with pytest.raises(ValueError, match="size"):
        next(iter(train.batches(4)))
    sub = train[1:3]  # a packed split selects rows too, over the same blob
    assert sub.packed and len(sub) == 2 and sub.labels.tolist() == train.labels[1:3].tolist()
    assert sub.images.raw(0) == train.images.raw(1)


def test_prepare_folder_cli_persists_the_entry(
    tree: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prepare-folder", str(tree), "--name", "zoo", "--size", "32", "-q"]) == 0
    out = capsys.readouterr().out
    assert "14 images, 3 skipped: see imagesets info zoo --skipped" in out
    assert (cache / "catalog" / "zoo.toml").is_file()
    catalog.unregister("zoo")  # a new process would only know the TOML entry
    assert main(["info", "zoo", "--skipped"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 3 and all("default-size=32/train" in r for r in rows)
    assert main(["show", "zoo", "--option", "size=32", "--index", "2", "-q"]) == 0
    assert "train label [2] = 0 (animals/domestic/cat)" in capsys.readouterr().out


def test_every_command_without_option_uses_the_prepared_form_and_others_are_variants(
    tree: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --option, prepare (like show and the API) serves the form prepare-folder built,
    not the packed default; another size is another variant of the same entry."""
    assert main(["prepare-folder", str(tree), "--name", "zoo", "--size", "32", "-q"]) == 0
    capsys.readouterr()
    assert main(["prepare", "zoo", "--split", "test", "-q"]) == 0
    assert "zoo/default-size=32/test" in capsys.readouterr().out
    assert not (cache / "prepared" / "zoo" / "default").exists()
    assert main(["prepare", "zoo", "--split", "test", "--option", "size=8", "-q"]) == 0
    small = imagesets.load("zoo", "test", options={"size": 8}, progress=False)["test"]
    assert small.images.shape == (5, 8, 8, 3)
    assert imagesets.load("zoo", "test", progress=False)["test"].images.shape == (5, 32, 32, 3)


def test_a_tree_without_split_folders_is_one_split(tmp_path: Path) -> None:
    make_fake_tree(tmp_path / "flat", {"a": 2, "b": 3})
    ds = imagesets.from_folder(tmp_path / "flat", size=16, progress=False)
    assert list(ds.splits) == ["all"] and len(ds["all"]) == 5
    catalog.unregister("flat")


def test_errors(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="size"):
        imagesets.from_folder(tree, size=32, max_side=64)
    ds = imagesets.from_folder(tree, size=16, name="gone", progress=False)
    assert len(ds["train"]) == 9
    moved = tmp_path / "elsewhere"
    tree.rename(moved)
    imagesets.api.clean("gone")
    with pytest.raises(FetchError, match="no longer there"):
        imagesets.load("gone", options={"size": 16}, progress=False)
    catalog.unregister("gone")
