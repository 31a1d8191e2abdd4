"""Every image source (arrays, packed, boxed) x every consumer of a Split.

Arrays: a folder tree loaded with ``size=16``; packed: the same tree without ``size`` (JPEGs
decoded on access); boxed: fake SVHN full numbers (PNGs of varying size with digit boxes),
served over loopback. A packed split decodes to the asked ``size`` or raises the one
ArgumentError saying to pass it.
"""

from __future__ import annotations

import ast
import json
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.cli import main
from imagesets.dataset import Split
from imagesets.errors import ArgumentError, FormatError
from imagesets.sources import (
    ArraySource,
    BoxedSource,
    DecodedImages,
    EncodedSource,
    PackedSource,
    source_of,
)
from imagesets.stats import channel_stats
from imagesets.testing.images import make_fake_tree
from imagesets.testing.server import LoopbackServer

SRC = Path(__file__).resolve().parents[1] / "src" / "imagesets"
KINDS = ("arrays", "packed", "boxed")
SIZE = 16
TREE = {"train/cat": 3, "train/dog": 4, "test/cat": 2, "test/dog": 2}
NEEDS_SIZE = r"packed store of variable-size images: pass size=N .*--size 64"


@dataclass(frozen=True)
class Case:
    """One kind of split: the dataset name, its train split, and how to name its variant."""

    kind: str
    name: str
    split: Split
    cli: tuple[str, ...]  # the --option of the variant
    options: dict[str, Any] | None


def _tree(tmp_path: Path) -> Path:
    make_fake_tree(tmp_path / "pics", TREE, extras=False)
    return tmp_path / "pics"


def _boxed(tmp_path: Path, server: LoopbackServer) -> str:
    from imagesets.testing.svhn_full import register_fake_svhn_full

    return register_fake_svhn_full("src-boxed", tmp_path, server)


@pytest.fixture(params=KINDS)
def case(request: pytest.FixtureRequest, tmp_path: Path, server: LoopbackServer) -> Iterator[Case]:
    kind = request.param
    if kind == "boxed":
        name = _boxed(tmp_path, server)
        split = imagesets.load(name, "train", progress=False)["train"]
        yield Case(kind, name, split, (), None)
    else:
        size = SIZE if kind == "arrays" else None
        name = f"src-{kind}"
        ds = imagesets.from_folder(_tree(tmp_path), name=name, size=size, progress=False)
        options = {"size": SIZE} if size else None
        yield Case(kind, name, ds["train"], ("--option", f"size={SIZE}") if size else (), options)
    catalog.unregister(name)


def _own_images(split: Split) -> list[np.ndarray]:
    return [split[i][0] for i in range(len(split))]


def _decoded(split: Split) -> np.ndarray:
    """Every image at SIZE x SIZE, one by one (not through the batch path)."""
    if split.kind == "arrays":
        return np.asarray(split.images)
    return np.stack([split.images.image(i, size=SIZE) for i in range(len(split))])


# --- the source each split holds -------------------------------------------------------------


def test_each_split_holds_one_source_of_its_kind(case: Case) -> None:
    split = case.split
    kinds = {"arrays": ArraySource, "packed": PackedSource, "boxed": BoxedSource}
    assert split.kind == case.kind and type(split.source) is kinds[case.kind]
    assert split.packed == (case.kind != "arrays")
    assert len(split) == 7 and len(split.source) == len(split)


def test_len_and_int_index(case: Case) -> None:
    split = case.split
    image, target = split[0]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    if case.kind == "boxed":
        assert target.dtype.names is not None and "label" in target.dtype.names
        np.testing.assert_array_equal(target, split.digits(0))
    else:
        assert int(target) == int(split.labels[0])
    if case.kind == "arrays":
        assert image.shape == (SIZE, SIZE, 3)
    with pytest.raises(IndexError, match="out of range"):
        split[len(split)]
    assert len(list(split)) == len(split)


@pytest.mark.parametrize(
    "rows", [slice(1, 4), [5, 0, 5], np.array([True, False] * 3 + [True])], ids=str
)
def test_slice_and_array_index_select_rows(case: Case, rows: Any) -> None:
    split = case.split
    sub = split[rows]
    picked = np.arange(len(split))[rows]
    assert isinstance(sub, Split) and sub.kind == split.kind and len(sub) == len(picked)
    for local, row in enumerate(picked):
        np.testing.assert_array_equal(sub[local][0], split[int(row)][0])
        if case.kind == "boxed":
            np.testing.assert_array_equal(sub.digits(local), split.digits(int(row)))
        else:
            assert sub.labels[local] == split.labels[row]
    again = sub[1:]  # a selection of a selection
    np.testing.assert_array_equal(again[0][0], split[int(picked[1])][0])


def test_shard_of_every_kind(case: Case) -> None:
    parts = [case.split.shard(i, 2) for i in range(2)]
    assert [len(p) for p in parts] == [4, 3]
    np.testing.assert_array_equal(parts[1][0][0], case.split[1][0])


# --- consumers, at a size ------------------------------------------------------------------------


def test_batches(case: Case) -> None:
    split = case.split
    got = list(split.batches(3, size=SIZE, shuffle=False))
    x = np.concatenate([b[0] for b in got])
    y = np.concatenate([b[1] for b in got])
    np.testing.assert_array_equal(x, _decoded(split))
    np.testing.assert_array_equal(y, split.targets())
    assert y.dtype == np.int64 and [len(b[0]) for b in got] == [3, 3, 1]
    if case.kind == "boxed":  # no class labels: the row numbers, to look the digits up
        assert y.tolist() == list(range(len(split)))


def test_stats(case: Case) -> None:
    split = case.split
    result = split.stats(size=SIZE)
    want = channel_stats(_decoded(split))
    assert result.channels == want and result.channels.count == len(split)
    if case.kind == "boxed":
        digits = sum(len(split.digits(i)) for i in range(len(split)))
        assert int(result.class_counts.sum()) == digits
        labels = np.concatenate([split.digits(i)["label"] for i in range(len(split))])
        assert result.class_counts.tolist() == np.bincount(labels, minlength=10).tolist()
    else:
        assert result.class_counts.tolist() == np.bincount(split.labels, minlength=2).tolist()
    assert split.normalizer(size=SIZE).mean == result.mean


def test_stats_of_a_selection_counts_its_rows(case: Case) -> None:
    sub = case.split[[0, 0, 2]]
    result = sub.stats(size=SIZE)
    assert result.channels.count == 3
    if case.kind == "boxed":
        assert int(result.class_counts.sum()) == 2 * len(sub.digits(0)) + len(sub.digits(2))


def test_to_dask(case: Case) -> None:
    split = case.split
    x, y = split.to_dask(chunks=3, size=SIZE)
    assert x.shape == (len(split), SIZE, SIZE, 3) and x.chunks[0] == (3, 3, 1)
    np.testing.assert_array_equal(x.compute(), _decoded(split))
    np.testing.assert_array_equal(y.compute(), split.targets())
    assert split.to_dask(chunks=3, size=SIZE)[0].name == x.name  # a stable token, no decoding


@pytest.mark.parametrize("case", ["packed", "boxed"], indirect=True)
def test_to_dask_decodes_each_chunk_on_one_thread(
    case: Case, monkeypatch: pytest.MonkeyPatch, sized_takes: list[tuple[int, str]]
) -> None:
    """dask's threads are the parallelism: a chunk is not decoded on the source's own pool."""
    split = case.split
    monkeypatch.setattr(split.source, "_workers", 3)  # the split's own pool: 3 threads
    x, _ = split.to_dask(chunks=3, size=SIZE)
    np.testing.assert_array_equal(x.compute(), _decoded(split))
    assert sized_takes and {w for w, _ in sized_takes} == {1}


def test_torch_feeds(case: Case) -> None:
    split = case.split
    images, labels = next(iter(split.torch_loader(4, size=SIZE, shuffle=False)))
    assert tuple(images.shape) == (4, 3, SIZE, SIZE) and labels.tolist() == [
        int(v) for v in split.targets()[:4]
    ]
    item, label = split.to_torch(size=SIZE)[1]
    assert tuple(item.shape) == (3, SIZE, SIZE) and label == int(split.targets()[1])


def test_tf_and_jax_feeds(case: Case) -> None:
    split = case.split
    x, _ = next(iter(split.jax_batches(4, size=SIZE, shuffle=False)))
    assert tuple(x.shape) == (4, SIZE, SIZE, 3)
    tx, _ = next(iter(split.to_tf(4, size=SIZE, shuffle=False)))
    np.testing.assert_array_equal(tx.numpy(), np.asarray(x))


# --- the one clear error -----------------------------------------------------------------------

CONSUMERS: dict[str, Callable[[Split], object]] = {
    "pixels": lambda s: s.pixels(),
    "stats": lambda s: s.stats(),
    "normalizer": lambda s: s.normalizer(),
    "to_dask": lambda s: s.to_dask(),
    "batches": lambda s: s.batches(4),
    "torch_loader": lambda s: s.torch_loader(4),
    "to_torch": lambda s: s.to_torch(),
    "to_tf": lambda s: s.to_tf(4),
    "jax_batches": lambda s: s.jax_batches(4),
}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_a_packed_split_without_size_says_to_pass_it(case: Case, consumer: str) -> None:
    if case.kind == "arrays":
        CONSUMERS[consumer](case.split)  # fixed-size arrays need no size
        return
    with pytest.raises(ArgumentError, match=NEEDS_SIZE):
        CONSUMERS[consumer](case.split)


def test_an_array_split_refuses_another_size(case: Case) -> None:
    if case.kind != "arrays":
        return
    with pytest.raises(ArgumentError, match=r"fixed-size 16 x 16 .* size=8 does not apply"):
        case.split.stats(size=8)


@pytest.mark.parametrize("size", [0, -3, 2.5, "64", True])
def test_a_bad_size_is_named(case: Case, size: Any) -> None:
    with pytest.raises(ArgumentError, match="size: expected an int >= 1"):
        case.split.pixels(size)


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_show_draws_each_kind_at_its_own_size(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    out = tmp_path / "one.png"
    argv = ["show", case.name, "--index", "2", "--out", str(out), "--scale", "2", "-q"]
    assert main([*argv, *case.cli]) == 0
    text = capsys.readouterr().out
    image = case.split[2][0]
    with Image.open(out) as picture:
        assert picture.size == (image.shape[1] * 2, image.shape[0] * 2)
    assert ("digits [2] =" if case.kind == "boxed" else "label [2] =") in text


def test_cli_grid_and_stats_at_a_size(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    out = tmp_path / "grid.png"
    argv = ["grid", case.name, "--out", str(out), "--size", str(SIZE), "--scale", "1", "-q"]
    assert main([*argv, *case.cli]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(out) as picture:
        assert picture.height > SIZE
    assert main(["stats", case.name, "--size", str(SIZE), "--json", "-q", *case.cli]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == len(case.split) and data["mean"] == list(case.split.stats(size=16).mean)


@pytest.mark.parametrize("command", ["grid", "stats"])
def test_cli_without_size_says_to_pass_it(
    case: Case, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--out", str(tmp_path / "g.png")] if command == "grid" else []
    code = main([command, case.name, "-q", *extra, *case.cli])
    err = capsys.readouterr().err
    if case.kind == "arrays":
        assert code == 0
    else:
        assert code == 1 and "pass size=N" in err and "--size 64" in err
        assert err.count("\n") == 1 and "Traceback" not in err


# --- load_data -----------------------------------------------------------------------------------


def test_load_data(case: Case) -> None:
    if case.kind == "arrays":
        (x, y), (xt, yt) = imagesets.load_data(case.name, options=case.options, progress=False)
        assert x.shape == (7, SIZE, SIZE, 3) and len(y) == 7 and xt.shape[0] == len(yt) == 4
    elif case.kind == "packed":
        with pytest.raises(ArgumentError, match=r"pass options=\{'size': N\}"):
            imagesets.load_data(case.name, progress=False)
    else:
        with pytest.raises(ArgumentError, match="digit boxes and no class labels"):
            imagesets.load_data(case.name, progress=False)


# --- the sources themselves ----------------------------------------------------------------------


def test_decoded_images_index_like_an_array(case: Case) -> None:
    if case.kind == "arrays":
        return
    pixels = case.split.pixels(SIZE)
    assert isinstance(pixels, DecodedImages)
    whole = _decoded(case.split)
    assert pixels.shape == whole.shape and pixels.dtype == np.uint8 and pixels.ndim == 4
    np.testing.assert_array_equal(pixels[3], whole[3])
    np.testing.assert_array_equal(pixels[-1], whole[-1])
    np.testing.assert_array_equal(pixels[1:5:2], whole[1:5:2])
    np.testing.assert_array_equal(pixels[[4, 0]], whole[[4, 0]])
    np.testing.assert_array_equal(pixels[2:4, :3, ..., 0], whole[2:4, :3, ..., 0])
    np.testing.assert_array_equal(pixels[..., 1], whole[..., 1])
    np.testing.assert_array_equal(np.asarray(pixels), whole)


def test_an_encoded_source_pickles_its_blob_by_path(case: Case) -> None:
    if case.kind == "arrays":
        return
    source = case.split[1:].images
    assert isinstance(source, EncodedSource)
    blob = case.split.blobs["data"]
    dumped = pickle.dumps(source)
    assert len(dumped) < blob.stat().st_size  # torch workers get the path, not the bytes
    back = pickle.loads(dumped)
    assert len(back) == len(source) and back.raw(0) == case.split.images.raw(1)
    np.testing.assert_array_equal(back.image(2, size=SIZE), source.image(2, size=SIZE))


def test_source_of_refuses_a_split_without_images() -> None:
    with pytest.raises(FormatError, match="re-prepare"):
        source_of({"labels": np.zeros(3, np.uint8)}, {})
    with pytest.raises(FormatError, match="blob 'data' is missing"):
        source_of({"offsets": np.zeros(1, np.int64)}, {})
    with pytest.raises(FormatError, match="expected uint8"):
        ArraySource(np.zeros((2, 3), np.float32))


def test_boxed_source_refuses_inconsistent_spans() -> None:
    boxes = np.zeros(1, [("image", "<i4"), ("label", "u1"), ("left", "<f4"), ("top", "<f4"),
                         ("width", "<f4"), ("height", "<f4")])  # fmt: skip
    arrays = {
        "spans": np.array([[4, 2]], np.int64),  # end before start
        "shapes": np.array([[1, 1]], np.int32),
        "boxes": boxes,
        "box_offsets": np.array([0, 1], np.int64),
    }
    with pytest.raises(FormatError, match="do not agree"):
        BoxedSource(arrays, b"x" * 8)


# --- the layers ----------------------------------------------------------------------------------

SERVING = ["dataset.py", "sources.py", "stats.py", "viz.py", "viz_boxes.py", "batching.py"]


@pytest.mark.parametrize(
    "module", SERVING + [f"adapters/{p.name}" for p in sorted((SRC / "adapters").glob("*.py"))]
)
def test_the_serving_layer_imports_no_format(module: str) -> None:
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = "." * node.level + (node.module or "")
            names = [target, *(f"{target}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        assert not any("formats" in n.split(".") for n in names), f"{module} imports {names}"
