"""A folder dataset stays true to its folder: changes are detected, reported and rebuilt; it
remembers how it was prepared; its name never collides with a built-in; the README's commands.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.errors import ArgumentError, CacheError, FormatError
from imagesets.listing import take
from imagesets.testing.images import make_fake_tree, write_jpeg

PETS = {"cat": ["jpeg", "jpeg", "jpeg", "truncated_jpeg"], "dog": 3}


@pytest.fixture
def photos(tmp_path: Path, cache: Path) -> Iterator[Path]:
    make_fake_tree(tmp_path / "photos", PETS)
    yield tmp_path / "photos"
    for name in ("photos", "pets", "imagenet-folder", "mine"):
        catalog.unregister(name)


def _first_image(path: Path) -> str:
    return sorted(p.name for p in path.glob("img*.jpg"))[0]


def _rebuilt(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "changed since it was prepared" in r.message]


def test_add_remove_overwrite_are_rebuilt_with_one_line(
    photos: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "imagesets")
    ds = imagesets.from_folder(photos, size=16, progress=False)
    assert len(ds["all"]) == 6
    again = imagesets.from_folder(photos, size=16, progress=False)
    assert not _rebuilt(caplog) and np.array_equal(again["all"].images, ds["all"].images)

    write_jpeg(photos / "cat" / "new.jpg", 20, 20, 99)
    ds = imagesets.from_folder(photos, size=16, progress=False)
    assert len(ds["all"]) == 7
    (line,) = _rebuilt(caplog)
    assert "1 added: +cat/new.jpg" in line and line.endswith("rebuilding")

    caplog.clear()
    first = _first_image(photos / "dog")
    before = ds["all"].images[ds["all"].labels == 1][0].copy()
    write_jpeg(photos / "dog" / first, 40, 30, 1234)  # other bytes, same name
    (photos / "cat" / "new.jpg").unlink()
    ds = imagesets.load("photos", progress=False)  # by name: the same check
    (line,) = _rebuilt(caplog)
    assert "1 removed" in line and "-cat/new.jpg" in line and f"~dog/{first}" in line
    assert len(ds["all"]) == 6
    assert not np.array_equal(ds["all"].images[ds["all"].labels == 1][0], before)


def test_same_size_overwrite_within_the_timestamp_tick_is_seen(photos: Path) -> None:
    """A rewrite that keeps size and mtime (racy): the recent files' bytes are hashed."""
    imagesets.from_folder(photos, size=16, progress=False)
    target = photos / "dog" / _first_image(photos / "dog")
    info = target.stat()
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    with pytest.raises(CacheError, match="same size and mtime, other bytes"):
        imagesets.from_folder(photos, size=16, progress=False, rebuild=False)


def test_rebuild_false_names_the_first_changes_and_touch_counts(photos: Path) -> None:
    imagesets.from_folder(photos, size=16, progress=False, persist=True)
    for i in range(7):
        write_jpeg(photos / "dog" / f"extra{i}.jpg", 12, 12, i)
    with pytest.raises(CacheError) as err:
        imagesets.load("photos", rebuild=False, progress=False)
    message = str(err.value)
    assert "7 added" in message and "+dog/extra0.jpg" in message and "(2 more)" in message
    assert "rebuild=True" in message
    assert len(imagesets.load("photos", progress=False)["all"]) == 13

    # a touch alone (new mtime, same bytes) is a change: only reading could prove otherwise
    target = photos / "cat" / _first_image(photos / "cat")
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    with pytest.raises(CacheError, match=f"1 changed: ~cat/{target.name}"):
        imagesets.load("photos", rebuild=False, progress=False)


def test_unchanged_folder_is_not_rebuilt_and_force_rebuilds(photos: Path) -> None:
    ds = imagesets.from_folder(photos, size=16, progress=False)
    manifest = ds["all"].manifest.path
    stamp = manifest.stat().st_mtime_ns
    (photos / "notes.txt").write_text("not an image: not listed")
    (photos / "cat" / ".DS_Store").write_bytes(b"x")
    imagesets.from_folder(photos, size=16, progress=False)
    assert manifest.stat().st_mtime_ns == stamp
    imagesets.from_folder(photos, size=16, progress=False, force=True)
    assert manifest.stat().st_mtime_ns != stamp


def test_a_new_class_folder_changes_the_class_index(photos: Path) -> None:
    imagesets.from_folder(photos, size=16, progress=False, persist=True)
    make_fake_tree(photos, {"bird": 2})
    ds = imagesets.load("photos", progress=False)
    assert ds["all"].classes == ("bird", "cat", "dog") and len(ds["all"]) == 8
    assert ds.info.classes == ("bird", "cat", "dog")


def test_the_entry_remembers_the_variant(photos: Path, cache: Path) -> None:
    assert main(["prepare-folder", str(photos), "--name", "pets", "--size", "24", "-q"]) == 0
    catalog.unregister("pets")  # what a new process knows: the TOML entry
    ds = imagesets.load("pets", progress=False)
    assert ds["all"].images.shape == (6, 24, 24, 3)
    assert [p.name for p in (cache / "prepared" / "pets").glob("[!.]*")] == ["default-size=24"]
    with pytest.raises(ArgumentError, match=r"not prepared \(prepared: default-size=24\)"):
        imagesets.load("pets", options={"size": 32}, progress=False)


def test_load_data_opens_the_prepared_arrays(tmp_path: Path, cache: Path) -> None:
    make_fake_tree(tmp_path / "tt", {"train/a": 3, "train/b": 2, "test/a": 1, "test/b": 1})
    assert main(["prepare-folder", str(tmp_path / "tt"), "--size", "8", "-q"]) == 0
    catalog.unregister("tt")
    (x_train, y_train), (x_test, _) = imagesets.load_data("tt", progress=False)
    assert x_train.shape == (5, 8, 8, 3) and y_train.tolist() == [0, 0, 0, 1, 1]
    assert x_test.shape == (2, 8, 8, 3)
    assert [p.name for p in (cache / "prepared" / "tt").glob("[!.]*")] == ["default-size=8"]
    catalog.unregister("tt")


def test_readme_commands(
    photos: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's exact sequence, through the CLI, with no --split or --option."""
    monkeypatch.chdir(photos.parent)
    assert main(["prepare-folder", "photos/", "--name", "pets", "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "dataset pets: photos/ (64x64x3)" in out and "6 images, 1 skipped" in out
    catalog.unregister("pets")
    assert main(["show", "pets"]) == 0
    out = capsys.readouterr().out
    assert "all_images shape : (6, 64, 64, 3)" in out and "all label [0] = 0 (cat)" in out
    assert main(["grid", "pets", "--out", "g.png"]) == 0
    assert (photos.parent / "g.png").is_file()
    assert "wrote g.png (2 rows x 3)" in capsys.readouterr().out
    assert main(["stats", "pets"]) == 0
    out = capsys.readouterr().out
    assert "pets all: 6 images" in out and "cat" in out and "dog" in out
    assert main(["info", "pets"]) == 0
    out = capsys.readouterr().out
    assert "splits: all 6 (1 skipped)" in out and "image shape: 64x64x3, 2 classes" in out
    assert main(["list"]) == 0
    assert "all 6 (1 skipped)" in capsys.readouterr().out


def test_folder_named_like_a_builtin(tmp_path: Path, cache: Path) -> None:
    """The seed's nested layout in a folder named ``imagenet``: its default name is apart."""
    spec = {"animals/domestic/cat": 2, "animals/domestic/dog": 2, "animals/wild/fox": 1}
    make_fake_tree(tmp_path / "data" / "imagenet", spec)
    ds = imagesets.from_folder(tmp_path / "data" / "imagenet", size=8, progress=False)
    assert ds.info.name == "imagenet-folder" and "'imagenet-folder'" in repr(ds)
    assert ds["all"].classes == ("animals/domestic/cat", "animals/domestic/dog", "animals/wild/fox")
    with pytest.raises(ArgumentError, match="built-in dataset; choose another"):
        imagesets.from_folder(tmp_path / "data" / "imagenet", name="mnist")
    catalog.unregister("imagenet-folder")


def test_clear_errors_and_label_depth_zero(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "a" / "notes.txt").write_text("x")
    with pytest.raises(FormatError, match="no images found"):
        imagesets.from_folder(tmp_path / "empty")
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        write_jpeg(flat / f"{i}.jpg", 10, 10, i)
    with pytest.raises(FormatError, match=r"3 image.* but no class folders.*label_depth=0"):
        imagesets.from_folder(flat)
    ds = imagesets.from_folder(flat, size=8, label_depth=0, name="mine", progress=False)
    assert ds["all"].classes == ("flat",) and len(ds["all"]) == 3
    with pytest.raises(ArgumentError, match="is a file"):
        imagesets.from_folder(flat / "0.jpg")
    with pytest.raises(ArgumentError, match="no folder"):
        imagesets.from_folder(tmp_path / "nope")
    catalog.unregister("mine")


def test_listing_sees_folders_and_skips_what_cannot_matter(tmp_path: Path) -> None:
    make_fake_tree(tmp_path, {"a": 1})
    before = take(tmp_path)
    (tmp_path / "a" / "sub").mkdir()  # a new subfolder: "a" is no longer a leaf (a class)
    assert take(tmp_path).digest != before.digest
    (tmp_path / "a" / "sub").rmdir()
    (tmp_path / "a" / "readme.txt").write_text("x")
    (tmp_path / "a" / "Thumbs.db").write_bytes(b"x")
    assert take(tmp_path).digest == before.digest


def test_the_entry_remembers_its_split_rule(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_fake_tree(tmp_path / "flat", {"cat": 10, "dog": 10}, extras=False)
    ds = imagesets.from_folder(
        tmp_path / "flat",
        size=16,
        split_fractions={"train": 0.8, "validation": 0.2},
        seed=3,
        persist=True,
        progress=False,
    )
    assert {k: len(v) for k, v in ds.items()} == {"train": 16, "validation": 4}
    rows = ds["validation"].manifest["subsplit"]["indices_sha256"]
    catalog.unregister("flat")  # a later process: only the TOML entry is left
    again = imagesets.load("flat", progress=False)
    assert list(again) == ["train", "validation"]
    assert again["validation"].manifest["subsplit"]["indices_sha256"] == rows
    assert main(["show", "flat", "--split", "validation", "--index", "0", "-q"]) == 0
    assert "validation label [0]" in capsys.readouterr().out
    assert main(["stats", "flat"]) == 0  # train by default
    assert "flat train: 16 images" in capsys.readouterr().out
    assert main(["prepare-folder", str(tmp_path / "flat"), "--split-fractions", "x", "-q"]) == 1
    assert "NAME=FRACTION" in capsys.readouterr().err
    with pytest.raises(ArgumentError, match="split_fractions"):
        imagesets.from_folder(tmp_path / "flat", split_fractions={"train": "most"})
