"""Tests of imagesets.store (the prepared cache) and of the pipeline's freshness rules.

The store by write-then-read round trips; freshness through ``imagesets.load`` on the fake
MNIST served by the loopback server.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import api, catalog, store
from imagesets.cache import Cache
from imagesets.errors import CacheError, FormatError
from imagesets.store import SplitBuilder, open_split, read_manifest

Array = np.ndarray[Any, Any]


def _arrays(n: int = 6) -> tuple[Array, Array]:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (n, 4, 5, 3), dtype=np.uint8), np.arange(n, dtype=np.int64)


def _build(target: Path, n: int = 6, tag: str = "x") -> dict[str, Any]:
    images, labels = _arrays(n)
    with SplitBuilder(target) as b:
        b.writer.array("images", images.shape, np.uint8)[:] = images
        b.writer.array("labels", labels.shape, np.int64)[:] = labels
        return b.commit({"dataset": tag})


def _tmp_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


# --------------------------------------------------------------------------- SplitBuilder


def test_round_trip_of_arrays_and_blobs(tmp_path: Path) -> None:
    target = Cache(tmp_path).split("ds", "default", "train")
    images, labels = _arrays()
    with SplitBuilder(target) as b:
        b.writer.array("images", images.shape, np.uint8)[:] = images
        b.writer.array("labels", labels.shape, np.int64)[:] = labels
        fh = b.writer.blob("jpegs")
        fh.write(b"\xff\xd8packed")
        written = b.commit({"dataset": "ds", "classes": ["a", "b"]})
    assert target == tmp_path / "prepared" / "ds" / "default" / "train"
    assert written["format_version"] == store.FORMAT_VERSION
    described = {
        k: {f: v.get(f) for f in ("shape", "dtype", "blob")} for k, v in written["arrays"].items()
    }
    assert described == {
        "images": {"shape": [6, 4, 5, 3], "dtype": "|u1", "blob": None},
        "labels": {"shape": [6], "dtype": "<i8", "blob": None},
        "jpegs": {"shape": None, "dtype": None, "blob": "jpegs.bin"},
    }
    manifest = read_manifest(target)
    assert manifest == written
    st = open_split(target, manifest)
    np.testing.assert_array_equal(st.arrays["images"], images)
    np.testing.assert_array_equal(st.arrays["labels"], labels)
    assert st.arrays["labels"].dtype == np.int64
    assert st.blobs["jpegs"].read_bytes() == b"\xff\xd8packed"
    assert _tmp_dirs(target.parent) == []


def test_empty_arrays_round_trip(tmp_path: Path) -> None:
    target = tmp_path / "split"
    with SplitBuilder(target) as b:
        b.writer.array("images", (0, 4, 4), np.uint8)
        manifest = b.commit({})
    assert open_split(target, manifest).arrays["images"].shape == (0, 4, 4)


@pytest.mark.parametrize("name", ["images", "../evil", "a/b", "", "x.npy"])
def test_writer_refuses_reused_or_unsafe_names(tmp_path: Path, name: str) -> None:
    with SplitBuilder(tmp_path / "split") as b:
        b.writer.array("images", (2,), np.uint8)
        with pytest.raises(ValueError, match="not a new identifier"):
            b.writer.array(name, (2,), np.uint8)
        with pytest.raises(ValueError, match="not a new identifier"):
            b.writer.blob(name)
    assert list(tmp_path.iterdir()) == []


def test_error_in_the_block_removes_the_temp_folder(tmp_path: Path) -> None:
    target = tmp_path / "prepared" / "train"
    with pytest.raises(RuntimeError, match="reader failed"), SplitBuilder(target) as b:
        b.writer.array("images", (10, 3), np.uint8)[:5] = 1
        b.writer.blob("raw").write(b"half")
        raise RuntimeError("reader failed")
    assert list(target.parent.iterdir()) == []


def test_error_leaves_an_existing_split_untouched(tmp_path: Path) -> None:
    target = tmp_path / "train"
    before = _build(target)
    files = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(RuntimeError), SplitBuilder(target) as b:
        b.writer.array("images", (2, 2), np.uint8)[:] = 9
        raise RuntimeError("boom")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == files
    assert read_manifest(target) == before
    assert _tmp_dirs(tmp_path) == []


def test_commit_replaces_a_stale_split(tmp_path: Path) -> None:
    target = tmp_path / "train"
    _build(target, n=3, tag="old")
    (target / "stale-extra.npy").write_bytes(b"old")
    new = _build(target, n=6, tag="new")
    assert read_manifest(target) == new
    assert sorted(p.name for p in target.iterdir()) == ["images.npy", "labels.npy", "manifest.json"]
    assert open_split(target, new).arrays["images"].shape == (6, 4, 5, 3)
    assert _tmp_dirs(tmp_path) == []


def test_remove_leftovers_only_removes_temp_folders(tmp_path: Path) -> None:
    _build(tmp_path / "train")
    (tmp_path / ".tmp-train-abc").mkdir()
    (tmp_path / ".tmp-old-test-def").mkdir()
    (tmp_path / ".tmp-old-test-def" / "images.npy").write_bytes(b"x")
    assert store.remove_leftovers(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"]
    assert store.remove_leftovers(tmp_path / "missing") == 0


# --------------------------------------------------------------------------- open_split


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    target = tmp_path / "train"
    return target, json.loads(json.dumps(dict(_build(target))))  # a plain dict to edit


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("shape", [6, 4, 5, 4], "(6, 4, 5, 4)"), ("dtype", "<i2", "<i2")],
)
def test_open_split_checks_arrays_against_the_manifest(
    built: tuple[Path, dict[str, Any]], field: str, value: Any, named: str
) -> None:
    target, manifest = built
    manifest["arrays"]["images"][field] = value
    with pytest.raises(CacheError) as err:
        open_split(target, manifest)
    msg = str(err.value)
    assert str(target / "images.npy") in msg
    assert "expected" in msg and named in msg and "found" in msg


@pytest.mark.parametrize(
    "other",
    [np.zeros((6, 5, 4, 3), np.uint8), np.zeros((6, 4, 5, 3), np.int8)],
    ids=["shape", "dtype"],
)
def test_open_split_checks_the_file_header_too(
    built: tuple[Path, dict[str, Any]], other: Array
) -> None:
    target, manifest = built
    np.save(target / "images.npy", other)  # same byte count, another array
    with pytest.raises(CacheError, match=r"images\.npy"):
        open_split(target, manifest)


def test_open_split_missing_array_is_a_cache_error(built: tuple[Path, dict[str, Any]]) -> None:
    target, manifest = built
    (target / "labels.npy").unlink()
    with pytest.raises(CacheError, match=r"labels\.npy cannot be opened"):
        open_split(target, manifest)


def test_open_split_refuses_pickled_arrays(built: tuple[Path, dict[str, Any]]) -> None:
    target, manifest = built
    np.save(target / "labels.npy", np.array([{"a": 1}] * 6, dtype=object), allow_pickle=True)
    with pytest.raises(CacheError, match=r"labels\.npy"):
        open_split(target, manifest)
    manifest["arrays"]["labels"] = {"shape": [6], "dtype": "|O"}  # an old manifest, no offset
    with pytest.raises(CacheError, match=r"arrays\.labels\.dtype.*numpy dtype, found '\|O'"):
        open_split(target, manifest)


def test_open_split_refuses_a_truncated_array(built: tuple[Path, dict[str, Any]]) -> None:
    target, manifest = built
    path = target / "images.npy"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(CacheError, match=r"images\.npy"):
        open_split(target, manifest)


def test_arrays_open_read_only(built: tuple[Path, dict[str, Any]]) -> None:
    target, manifest = built
    images = open_split(target, manifest).arrays["images"]
    assert not images.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        images[0] = 0


def test_copy_on_write_arrays_never_reach_the_file(built: tuple[Path, dict[str, Any]]) -> None:
    target, manifest = built
    before = (target / "images.npy").read_bytes()
    images = open_split(target, manifest, mode="c").arrays["images"]
    images[:] = 0
    assert int(images.max()) == 0
    del images
    assert (target / "images.npy").read_bytes() == before
    assert int(open_split(target, manifest).arrays["images"].max()) > 0


@pytest.mark.parametrize(("text", "why"), [("{not json", "not valid JSON"), ("[1, 2]", "object")])
def test_bad_manifest_is_a_cache_error(tmp_path: Path, text: str, why: str) -> None:
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(CacheError, match=why):
        read_manifest(tmp_path)
    assert read_manifest(tmp_path / "absent") is None


# --------------------------------------------------------------------------- pipeline freshness


def _manifest_path(cache: Path, split: str = "train") -> Path:
    return cache / "prepared" / "fake-mnist" / "default" / split / "manifest.json"


def _edit_manifest(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _load_and_count_builds(caplog: pytest.LogCaptureFixture) -> tuple[Any, int]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="imagesets"):
        ds = imagesets.load("fake-mnist", progress=False)
    built = [r for r in caplog.records if r.getMessage().startswith("prepared fake-mnist train in")]
    return ds, len(built)


def test_prepared_split_is_built_once_then_reused(
    fake_mnist: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    _, builds = _load_and_count_builds(caplog)
    assert builds == 1
    ds, builds = _load_and_count_builds(caplog)
    assert builds == 0
    expected = fake_mnist["files"]["train-images-idx3-ubyte.gz"]["array"]
    np.testing.assert_array_equal(ds["train"].images, expected)


def test_manifest_is_complete(fake_mnist: dict[str, Any], cache: Path) -> None:
    imagesets.load("fake-mnist", progress=False)
    m = json.loads(_manifest_path(cache).read_text())
    files = fake_mnist["files"]
    assert m["format_version"] == store.FORMAT_VERSION
    assert (m["dataset"], m["split"], m["variant"], m["edition"]) == (
        "fake-mnist",
        "train",
        "default",
        "idx",
    )
    assert m["sources"]["images"]["sha256"] == files["train-images-idx3-ubyte.gz"]["sha256"]
    assert m["arrays"]["images"]["shape"] == [60, 28, 28]
    assert m["arrays"]["images"]["dtype"] == "|u1"


@pytest.mark.parametrize(
    "change",
    [
        {"sources": {"images": {"name": "x", "sha256": "0" * 64, "size": 1}}},
        {"format_version": store.FORMAT_VERSION - 1},
        {"edition": "an-edition-that-no-longer-exists"},
        {"options": {"raw_labels": True}},
    ],
    ids=["other-sources", "older-format", "unknown-edition", "other-options"],
)
def test_stale_split_is_rebuilt_automatically(
    fake_mnist: dict[str, Any], cache: Path, caplog: pytest.LogCaptureFixture, change: Any
) -> None:
    imagesets.load("fake-mnist", progress=False)
    good = json.loads(_manifest_path(cache).read_text())
    _edit_manifest(_manifest_path(cache), **change)
    ds, builds = _load_and_count_builds(caplog)
    assert builds == 1
    assert any("stale" in r.getMessage() for r in caplog.records)
    fresh = json.loads(_manifest_path(cache).read_text())
    assert fresh["sources"] == good["sources"]
    assert fresh["format_version"] == store.FORMAT_VERSION
    expected = fake_mnist["files"]["train-labels-idx1-ubyte.gz"]["array"]
    np.testing.assert_array_equal(ds["train"].labels, expected)
    assert _tmp_dirs(_manifest_path(cache).parents[1]) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"dataset": "cifar10"}, "foreign"),
        ({"split": "test"}, "foreign"),
        ({"format_version": store.FORMAT_VERSION + 1}, "format version"),
        ({"format_version": "1"}, "format version"),
    ],
    ids=["other-dataset", "other-split", "newer-format", "not-an-int"],
)
def test_foreign_or_newer_split_names_the_rebuild_command(
    fake_mnist: dict[str, Any], cache: Path, change: Any, why: str
) -> None:
    imagesets.load("fake-mnist", progress=False)
    _edit_manifest(_manifest_path(cache), **change)
    with pytest.raises(CacheError) as err:
        imagesets.load("fake-mnist", progress=False)
    msg = str(err.value)
    assert why in msg
    assert "imagesets prepare fake-mnist --force" in msg
    assert json.loads(_manifest_path(cache).read_text())["format_version"] == change.get(
        "format_version", store.FORMAT_VERSION
    )  # left as it was: never overwritten silently


def test_load_data_writes_never_reach_the_cache(fake_mnist: dict[str, Any], cache: Path) -> None:
    (x_train, y_train), (x_test, _) = api.load_data("fake-mnist", progress=False)
    expected = fake_mnist["files"]["train-images-idx3-ubyte.gz"]["array"]
    assert x_train.shape == (60, 28, 28) and x_test.shape == (20, 28, 28)
    assert x_train.flags.writeable and y_train.flags.writeable
    x_train[:] = 0
    y_train[:] = 0
    del x_train, y_train
    on_disk = np.load(_manifest_path(cache).parent / "images.npy", allow_pickle=False)
    np.testing.assert_array_equal(on_disk, expected)
    (x_again, y_again), _ = api.load_data("fake-mnist", progress=False)
    np.testing.assert_array_equal(x_again, expected)
    np.testing.assert_array_equal(
        y_again, fake_mnist["files"]["train-labels-idx1-ubyte.gz"]["array"]
    )


def test_load_arrays_are_read_only(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", progress=False)
    with pytest.raises(ValueError, match="read-only"):
        ds["train"].images[0, 0, 0] = 1


def test_prepare_removes_leftovers_of_killed_preparers(
    fake_mnist: dict[str, Any], cache: Path
) -> None:
    variant = cache / "prepared" / "fake-mnist" / "default"
    (variant / ".tmp-train-0123456789ab").mkdir(parents=True)
    (variant / ".tmp-old-test-01234567").mkdir()
    imagesets.load("fake-mnist", progress=False)
    assert sorted(p.name for p in variant.iterdir()) == ["test", "train"]


def test_reader_output_that_fails_checks_leaves_no_split(
    fake_mnist: dict[str, Any], cache: Path, server: Any
) -> None:
    from conftest import fake_entry

    entry = fake_entry("fake-bad", fake_mnist["files"], [server.url("/fake/")])
    entry["splits"]["train"]["count"] = 61
    catalog.register(entry)
    try:
        with pytest.raises(FormatError, match="holds 60 items, expected 61"):
            imagesets.load("fake-bad", "train", progress=False)
    finally:
        catalog.unregister("fake-bad")
    assert list((cache / "prepared" / "fake-bad" / "default").iterdir()) == []
