"""Exports (webdataset, parquet, folder, to_hf) read back through the real libraries."""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog, exports
from imagesets.cli import main
from imagesets.dataset import Split
from imagesets.errors import ArgumentError, MissingDependencyError
from imagesets.testing.images import make_fake_tree

Array = np.ndarray[Any, Any]


@pytest.fixture
def mnist() -> Split:
    """The bundled MNIST sample's test split: 1,000 uint8 (28, 28) images."""
    return imagesets.load("mnist", "test", sample=True, progress=False)["test"]


@pytest.fixture
def packed(tmp_path: Path) -> Iterator[Split]:
    """A packed split of JPEGs and PNGs (a folder tree loaded without size)."""
    spec = {
        "cat": ["jpeg", "gray_jpeg", "png_as_jpg"],
        "dog": ["cmyk_jpeg", "palette_png", "alpha_png", "gray16_png"],
        "fox": 2,
    }
    make_fake_tree(tmp_path / "pets", spec)
    yield imagesets.from_folder(tmp_path / "pets", progress=False)["all"]
    catalog.unregister("pets")


def with_extras(n: int = 40) -> Split:
    """An RGB array split with a second per-example array (CIFAR-100's coarse labels)."""
    rng = np.random.default_rng(0)
    arrays = {
        "images": rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8),
        "labels": (np.arange(n) % 4).astype(np.uint8),
        "coarse_labels": (np.arange(n) % 2).astype(np.uint8),
    }
    return Split.stored("train", arrays, {}, ("a", "b", "c", "d"))


def wds_rows(shards: list[Path], spec: str) -> Iterator[dict[str, Any]]:
    """The samples of ``shards`` through webdataset's tar reader and decoder (files closed)."""
    from webdataset.autodecode import Decoder, imagehandler
    from webdataset.tariterators import group_by_keys, tar_file_expander

    decode = Decoder([imagehandler(spec)])
    for path in shards:
        with open(path, "rb") as fh:
            files = tar_file_expander([{"url": str(path), "stream": fh}])
            yield from map(decode, group_by_keys(files))


def rgb(split: Split, i: int) -> Array:
    """Image ``i`` as decoders give it back: (H, W) stays, packed images are RGB."""
    return np.asarray(split[i][0])


def test_webdataset_round_trip_through_the_library(mnist: Split, tmp_path: Path) -> None:
    shards = exports.export_split(mnist, "webdataset", tmp_path / "wds", shard_size=300)
    assert [p.name for p in shards] == [f"test-00000{k}.tar" for k in range(4)]
    rows = [(r["__key__"], r["png"], r["cls"]) for r in wds_rows(shards, "l8")]
    assert [k for k, _, _ in rows] == [f"{i:08d}" for i in range(1000)]
    assert np.array_equal(np.stack([img for _, img, _ in rows]), mnist.images)
    assert [c for _, _, c in rows] == mnist.labels.tolist()


def test_webdataset_keeps_stored_jpeg_bytes_and_writes_extras(
    packed: Split, tmp_path: Path
) -> None:
    (shard,) = exports.export_split(packed, "webdataset", tmp_path / "a")
    with tarfile.open(shard) as tar:
        names = tar.getnames()
        first_jpg = next(n for n in names if n.endswith(".jpg"))
        member = tar.extractfile(first_jpg)
        assert member is not None
        assert member.read() == packed.images.raw(int(first_jpg[:8]))
    assert not any(n.endswith(".json") for n in names)
    for i, row in enumerate(wds_rows([shard], "rgb8")):
        assert np.array_equal(row.get("jpg", row.get("png")), rgb(packed, i))
        assert row["cls"] == int(packed.labels[i])

    split = with_extras()
    (shard,) = exports.export_split(split, "webdataset", tmp_path / "b")
    rows = list(wds_rows([shard], "rgb8"))
    assert [r["json"]["coarse_labels"] for r in rows] == split.arrays["coarse_labels"].tolist()
    assert np.array_equal(np.stack([r["png"] for r in rows]), split.images)


def test_parquet_round_trip_through_hf_datasets(mnist: Split, tmp_path: Path) -> None:
    import datasets

    shards = exports.export_split(mnist, "parquet", tmp_path / "pq", shard_size=400)
    assert [p.name for p in shards] == [f"test-0000{k}-of-00003.parquet" for k in range(3)]
    hf = datasets.load_dataset(
        "parquet",
        data_files={"test": [str(p) for p in shards]},
        split="test",
        cache_dir=str(tmp_path / "hf"),
    )
    assert isinstance(hf.features["image"], datasets.Image)
    assert hf.features["label"].names == list(mnist.classes)
    assert hf["label"] == mnist.labels.tolist()
    images = np.stack([np.asarray(im) for im in hf["image"]])
    assert np.array_equal(images, mnist.images)


def test_parquet_of_a_packed_split_and_extras(packed: Split, tmp_path: Path) -> None:
    import datasets
    import pyarrow.parquet as pq

    (shard,) = exports.export_split(packed, "parquet", tmp_path / "pq")
    hf = datasets.load_dataset("parquet", data_files=str(shard), split="train",
                               cache_dir=str(tmp_path / "hf"))  # fmt: skip
    for i, row in enumerate(hf):
        assert np.array_equal(np.asarray(row["image"].convert("RGB")), rgb(packed, i))
    assert hf.features["label"].names == list(packed.classes)

    split = with_extras()
    (shard,) = exports.export_split(split, "parquet", tmp_path / "x", shard_size=1000)
    table = pq.read_table(shard)
    assert table.column("coarse_labels").to_pylist() == split.arrays["coarse_labels"].tolist()
    assert pq.ParquetFile(shard).metadata.num_row_groups == 1  # 40 rows < one row group


def test_folder_export_is_read_back_by_from_folder(mnist: Split, tmp_path: Path) -> None:
    (folder,) = exports.export_split(mnist[:200], "folder", tmp_path / "tree", shard_size=64)
    assert folder == tmp_path / "tree" / "test"
    back = imagesets.from_folder(tmp_path / "tree", name="tree-back", progress=False)["test"]
    try:
        assert len(back) == 200 and back.classes == mnist.classes
        mine = sorted((mnist.class_name(y), img.tobytes()) for img, y in mnist[:200])
        found = []
        for img, y in back:
            assert np.array_equal(img[..., 0], img[..., 2])  # grey PNGs come back as RGB
            found.append((back.class_name(y), np.ascontiguousarray(img[..., 0]).tobytes()))
        assert sorted(found) == mine
    finally:
        catalog.unregister("tree-back")


def test_to_hf_is_arrow_backed_with_class_labels(packed: Split, tmp_path: Path) -> None:
    import datasets

    hf = packed.to_hf(tmp_path / "pets.arrow", progress=False)
    assert isinstance(hf, datasets.Dataset) and len(hf) == len(packed)
    assert hf.cache_files == [{"filename": str(tmp_path / "pets.arrow")}]
    assert hf.features["label"].names == list(packed.classes)
    assert hf["label"] == packed.labels.tolist()
    for i in range(len(packed)):
        assert np.array_equal(np.asarray(hf[i]["image"].convert("RGB")), rgb(packed, i))
    extra = with_extras().to_hf(tmp_path / "x.arrow", progress=False)
    assert extra["coarse_labels"] == with_extras().arrays["coarse_labels"].tolist()


def test_a_failed_shard_leaves_no_file(
    mnist: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = exports._png

    def failing(pixels: Array) -> bytes:
        calls["n"] += 1
        if calls["n"] == 150:
            raise OSError("disk went away")
        return real(pixels)

    monkeypatch.setattr(exports, "_png", failing)
    with pytest.raises(OSError, match="disk went away"):
        exports.export_split(mnist, "webdataset", tmp_path / "w", shard_size=100)
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["test-000000.tar"]


def test_bad_arguments_and_unexportable_splits(mnist: Split, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="one of webdataset, parquet, folder"):
        exports.export_split(mnist, "tfrecord", tmp_path)
    with pytest.raises(ArgumentError, match="shard_size"):
        exports.export_split(mnist, "webdataset", tmp_path, shard_size=0)
    odd = Split.stored(
        "train",
        {"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(2, np.uint8)},
        {},
        ("..",),
    )
    with pytest.raises(ArgumentError, match="cannot be a folder name"):
        exports.export_split(odd, "folder", tmp_path / "f")
    wide = Split.stored(
        "train",
        {"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(2, np.uint8),
         "boxes": np.zeros((2, 3), np.int64)},
        {},
        ("a",),
    )  # fmt: skip
    with pytest.raises(ArgumentError, match="'boxes' has shape"):
        exports.export_split(wide, "webdataset", tmp_path / "w")


def test_a_missing_extra_is_named(
    mnist: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"imagesets\[export\]"):
        exports.export_split(mnist, "parquet", tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(MissingDependencyError, match=r"imagesets\[export\]"):
        mnist.to_hf(tmp_path / "x.arrow")


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["export", "mnist", "--sample", "--split", "test", "--format", "webdataset",
            "--shard-size", "600", "-q", str(out)]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"test\t{out / 'test-000000.tar'}", f"test\t{out / 'test-000001.tar'}"]
    with tarfile.open(out / "test-000001.tar") as tar:
        assert len(tar.getnames()) == 2 * 400
    with pytest.raises(SystemExit):  # argparse: not a format
        main(["export", "mnist", "--sample", "--format", "zip", str(out)])
    code = main(["export", "mnist", "--sample", "--format", "folder", "--shard-size", "0",
                 "-q", str(out)])  # fmt: skip
    assert code == 1 and "shard_size" in capsys.readouterr().err


def test_export_json_extras_are_sorted_plain_json(tmp_path: Path) -> None:
    (shard,) = exports.export_split(with_extras(3), "webdataset", tmp_path)
    with tarfile.open(shard) as tar:
        member = tar.extractfile("00000001.json")
        assert member is not None
        assert json.loads(member.read()) == {"coarse_labels": 1}
